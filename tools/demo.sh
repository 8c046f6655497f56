#!/usr/bin/env bash
# demo.sh — set up, build and run the main job.  Until the daemon lands
# this is the deterministic simulator's narrated run of a 3-node cluster
# (elections, a leader crash with torn writes, a partition, recovery),
# every step checked against the Raft safety properties.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
exec build/bin/fabraft-sim --demo "$@"
