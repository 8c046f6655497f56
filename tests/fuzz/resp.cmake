# libFuzzer target of the RESP request parser (kvcache/resp_parse.c).
if(TARGET fabraft_resp)
	fabraft_fuzz(fuzz_resp_parse
		SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_resp_parse.c
		LIBS fabraft_resp)
endif()
