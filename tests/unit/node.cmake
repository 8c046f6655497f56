# Unit tests of the runtime's private helpers (core/node*.c).
fabraft_test(test_node_vec SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_node_vec.c
	LIBS fabraft_core)
