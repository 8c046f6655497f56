# fabraft-bench wal: the durable log against raw pwrite+fdatasync.
set(FABRAFT_BENCH_LIBS_wal fabraft_core)
# Smoke run (not a timed test): both modes, a few threads, one slice per
# row; fails if an append fails or a sanitizer trips.
add_test(NAME bench_wal_smoke
	COMMAND fabraft-bench wal --seconds 0.25 --sizes 64,16384
		--appenders 1,16,64 --dir ${CMAKE_CURRENT_BINARY_DIR})
set_tests_properties(bench_wal_smoke PROPERTIES TIMEOUT 120)
