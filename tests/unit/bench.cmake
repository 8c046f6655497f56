# fabraft-bench cluster --quick, once: the harness works (every driver,
# valid results, nothing left running, SIGINT cleans up).  Not a speed test.
# Skips (77) without etcd or redis-server.  RUN_SERIAL: it starts clusters.
add_test(NAME bench_cluster_quick
	COMMAND bash ${CMAKE_SOURCE_DIR}/tests/e2e/bench_cluster_quick.sh
		$<TARGET_FILE:fabraft-bench>)
set_tests_properties(bench_cluster_quick PROPERTIES
	SKIP_RETURN_CODE 77 TIMEOUT 240 RUN_SERIAL TRUE LABELS e2e)
