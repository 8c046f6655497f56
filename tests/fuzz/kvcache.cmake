# libFuzzer target for the kvcache entry decoder, command validation and
# snapshot loader.
if(TARGET fabraft_kvcache)
	fabraft_fuzz(fuzz_kvc SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_kvc.c
		LIBS fabraft_kvcache fabraft_raft RUNS 20000)
endif()
# Coverage feedback needs the library instrumented too.
if(TARGET fabraft_kvcache)
	target_compile_options(fabraft_kvcache PRIVATE
		-fsanitize=fuzzer-no-link)
endif()
