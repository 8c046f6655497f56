# Tests of the durable log (core/wal*, core/snap*).
fabraft_test(test_wal SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_wal.c
	LIBS fabraft_core TIMEOUT 120)
