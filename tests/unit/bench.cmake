# fabraft-bench cluster --quick, once: the harness works (every driver,
# valid results, nothing left running, SIGINT cleans up).  Not a speed test.
# Skips (77) without etcd or redis-server.  RUN_SERIAL: it starts clusters.
add_test(NAME bench_cluster_quick
	COMMAND bash ${CMAKE_SOURCE_DIR}/tests/e2e/bench_cluster_quick.sh
		$<TARGET_FILE:fabraft-bench>)
set_tests_properties(bench_cluster_quick PROPERTIES
	SKIP_RETURN_CODE 77 TIMEOUT 240 RUN_SERIAL TRUE LABELS e2e)

# Unit test of the harness parts that would skew results silently:
# histogram percentiles, Prometheus sums, flag validation, the plan.
fabraft_test(test_bench_cluster
	SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_bench_cluster.c
		${CMAKE_SOURCE_DIR}/tools/bench_cluster_hist.c
		${CMAKE_SOURCE_DIR}/tools/bench_cluster_net.c
		${CMAKE_SOURCE_DIR}/tools/bench_cluster_proc.c
		${CMAKE_SOURCE_DIR}/tools/bench_cluster_opts.c
		${CMAKE_SOURCE_DIR}/tools/bench_cluster_plan.c
	TIMEOUT 60)
target_include_directories(test_bench_cluster PRIVATE
	${CMAKE_SOURCE_DIR}/tools)
