#!/usr/bin/env bash
# demo.sh — set up, build and run the main job: `fabraft demo` starts a
# 3-node fabraft cluster on loopback, runs a KV-cache placement workload
# (storage nodes, KVC.PUT of block chains, KVC.LOOKUP of prefixes) with a
# live progress line while 4 inference engines replay the first 1000
# requests of the shipped Mooncake conversation trace
# (tools/bench/traces/), SIGKILLs the leader halfway through both, shows
# the new election, checks that no acknowledged write was lost, and prints
# a summary with the trace's prefix hit ratio and lookup/put latencies.
#
#   tools/scripts/demo.sh              the cluster demo
#   tools/scripts/demo.sh --sim        the deterministic simulator's narrated run
set -euo pipefail
cd "$(dirname "$0")/../.."
bash tools/scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
if [ "${1:-}" = "--sim" ]; then
	shift
	exec build/bin/fabraft-sim --demo "$@"
fi
exec build/bin/fabraft demo "$@"
