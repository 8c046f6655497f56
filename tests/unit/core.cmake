# Unit tests of the pure core.
fabraft_test(test_crc32c SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_crc32c.c
	LIBS fabraft_raft)
if(TARGET fabraft_sim)
	fabraft_test(test_log SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_log.c
		LIBS fabraft_raft)
	fabraft_test(test_raft SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_raft.c
		LIBS fabraft_raft fabraft_sim)
	fabraft_test(test_scenarios
		SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_scenarios.c
		LIBS fabraft_raft fabraft_sim)
	fabraft_test(test_features
		SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_features.c
		LIBS fabraft_raft fabraft_sim TIMEOUT 300)
endif()
