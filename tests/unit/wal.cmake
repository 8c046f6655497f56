# Tests of the durable log (core/wal*, core/snap*).
fabraft_test(test_wal SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_wal.c
	LIBS fabraft_core TIMEOUT 120)
fabraft_test(test_wal_crash SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_wal_crash.c
	LIBS fabraft_core TIMEOUT 120)
fabraft_test(test_wal_corrupt
	SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_wal_corrupt.c
	LIBS fabraft_core TIMEOUT 120)
fabraft_test(test_wal_nospace
	SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_wal_nospace.c
	LIBS fabraft_core TIMEOUT 60)
fabraft_test(test_wal_spare SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_wal_spare.c
	LIBS fabraft_core TIMEOUT 60)
