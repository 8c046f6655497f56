set(FABRAFT_BENCH_LIBS_fabric fabraft_fabric)
# fab_test.h: the loopback free-port helper the fabric tests use too.
target_include_directories(fabraft-bench
	PRIVATE ${CMAKE_SOURCE_DIR}/tests/fabric)
