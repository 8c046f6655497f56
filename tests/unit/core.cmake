# Unit tests of the pure core.
fabraft_test(test_crc32c SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_crc32c.c
	LIBS fabraft_raft)
