# libFuzzer target for fabric/'s decoders (wire frames, handshake, ring).
if(TARGET fabraft_fabric)
	# Imported targets are directory scoped: look OpenSSL up here too.
	find_package(OpenSSL REQUIRED COMPONENTS Crypto)
	# The decoders are compiled into the target itself (not linked from
	# fabraft_fabric) so that -fsanitize=fuzzer instruments them: libFuzzer
	# needs coverage of the code under test, not only of the harness.
	set(FAB_WIRE_FUZZ_SRC
		${CMAKE_SOURCE_DIR}/fabric/fab_wire.c
		${CMAKE_SOURCE_DIR}/fabric/fab_wire_msg.c
		${CMAKE_SOURCE_DIR}/fabric/fab_hello.c
		${CMAKE_SOURCE_DIR}/fabric/fab_ring.c)
	# libFuzzer adds new inputs to the FIRST corpus directory: give it a
	# scratch one in the build tree, so a ctest run never writes into the
	# committed seeds (the second directory, read only).
	set(FAB_WIRE_FUZZ_OUT ${CMAKE_BINARY_DIR}/fuzz/corpus_fab_wire)
	file(MAKE_DIRECTORY ${FAB_WIRE_FUZZ_OUT})
	fabraft_fuzz(fuzz_fab_wire
		SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_fab_wire.c
			${FAB_WIRE_FUZZ_SRC}
		LIBS fabraft_raft OpenSSL::Crypto
		CORPUS "${FAB_WIRE_FUZZ_OUT};${CMAKE_CURRENT_LIST_DIR}/corpus/fab_wire"
		RUNS 1000000)
	target_include_directories(fuzz_fab_wire PRIVATE
		${CMAKE_SOURCE_DIR}/fabric)
	if(NOT FABRAFT_SANITIZE)
		# A fuzzer without ASan/UBSan misses most memory errors.
		target_compile_options(fuzz_fab_wire PRIVATE
			-fsanitize=address,undefined -fno-sanitize-recover=all)
		target_link_options(fuzz_fab_wire PRIVATE
			-fsanitize=address,undefined)
	endif()
	# Regenerates the seed corpus: build/fuzz/fuzz_fab_wire_seeds DIR
	add_executable(fuzz_fab_wire_seeds
		${CMAKE_CURRENT_LIST_DIR}/fuzz_fab_wire_seeds.c)
	set_target_properties(fuzz_fab_wire_seeds PROPERTIES
		RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
	target_link_libraries(fuzz_fab_wire_seeds PRIVATE fabraft_fabric)
endif()
