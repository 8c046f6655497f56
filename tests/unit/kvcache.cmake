# Unit tests of the kvcache state machine.
if(TARGET fabraft_kvcache)
	fabraft_test(test_kvc SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_kvc.c
		${CMAKE_CURRENT_LIST_DIR}/test_kvc_util.c
		LIBS fabraft_kvcache TIMEOUT 120)
endif()
if(TARGET fabraft_kvcache)
	fabraft_test(test_kvc_prop
		SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_kvc_prop.c
		${CMAKE_CURRENT_LIST_DIR}/test_kvc_util.c
		LIBS fabraft_kvcache TIMEOUT 120)
endif()
