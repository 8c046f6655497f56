# Unit tests of the runtime's private helpers (core/node*.c).
fabraft_test(test_node_vec SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_node_vec.c
	LIBS fabraft_core)

# The runtime in-process (one-node cluster, bad options, allocation
# failures in node_open).  Its registration was lost from e2e.cmake in
# 3996ec6 (re-enabling e2e_basic_shm), which left test_node.c unbuilt.
fabraft_test(test_node SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_node.c
	${CMAKE_SOURCE_DIR}/tools/fabraft_resp.c
	LIBS fabraft_core TIMEOUT 120)
target_include_directories(test_node PRIVATE ${CMAKE_SOURCE_DIR}/tools)
