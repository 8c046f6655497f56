# fabraft-bench wal: the durable log against raw pwrite+fdatasync.
set(FABRAFT_BENCH_LIBS_wal fabraft_core)
