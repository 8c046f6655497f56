# libFuzzer target for the consensus core: hostile message sequences into
# raft_step().  The core's sources are compiled into the target so that
# libFuzzer gets coverage of them, with ASan and UBSan.
file(GLOB FUZZ_RAFT_SRC ${CMAKE_SOURCE_DIR}/core/raft*.c
	${CMAKE_SOURCE_DIR}/core/log.c)
fabraft_fuzz(fuzz_raft
	SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_raft.c ${FUZZ_RAFT_SRC}
		${CMAKE_SOURCE_DIR}/core/err.c ${CMAKE_SOURCE_DIR}/core/heap.c
		${CMAKE_SOURCE_DIR}/core/crc32c.c
	RUNS 300000)
target_include_directories(fuzz_raft PRIVATE ${CMAKE_SOURCE_DIR}/core)
if(NOT FABRAFT_SANITIZE)
	target_compile_options(fuzz_raft PRIVATE
		-fsanitize=address,undefined -fno-sanitize-recover=all)
	target_link_options(fuzz_raft PRIVATE -fsanitize=address,undefined)
endif()
