# fabraft-bench kvcache: the pure state machine only.
set(FABRAFT_BENCH_LIBS_kvcache fabraft_kvcache)
# A smoke run on a small state (not a timed test: it only has to finish and
# find its own results consistent).
add_test(NAME bench_kvcache_smoke
	COMMAND fabraft-bench kvcache --blocks 20000 --ops 20000)
set_tests_properties(bench_kvcache_smoke PROPERTIES TIMEOUT 120)
