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
# A test server (tiny in-memory SET/GET backend; not the product) and the
# test that runs redis-cli, redis-py and redis-benchmark against it.
if(TARGET fabraft_resp)
	add_executable(resp_kvserver
		${CMAKE_CURRENT_LIST_DIR}/test_resp_kvserver.c)
	target_link_libraries(resp_kvserver PRIVATE fabraft_resp)
	set_target_properties(resp_kvserver PROPERTIES
		RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
	fabraft_test(test_resp_tools
		SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_resp_tools.c
		TIMEOUT 120)
	target_compile_definitions(test_resp_tools PRIVATE
		RESP_KVSERVER="$<TARGET_FILE:resp_kvserver>")
	add_dependencies(test_resp_tools resp_kvserver)
	set_tests_properties(test_resp_tools PROPERTIES SKIP_RETURN_CODE 77)
endif()
