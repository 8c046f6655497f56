# Unit and socket tests of the RESP client front (kvcache/resp*).
if(TARGET fabraft_resp)
	fabraft_test(test_resp_parse
		SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_resp_parse.c
		LIBS fabraft_resp TIMEOUT 60)
endif()
if(TARGET fabraft_resp)
	fabraft_test(test_resp_server
		SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_resp_server.c
		LIBS fabraft_resp TIMEOUT 120)
endif()
