#!/usr/bin/env bash
# rxe-test.sh — run the fabric tests and benchmark on a soft-RoCE (rxe) device.
#
# Needs root and a kernel with the rdma_rxe module (this development machine
# has neither RDMA nor rxe: there the verbs tests skip with a reason).
#   tools/scripts/rxe-test.sh [BUILD_DIR] [NETDEV]
# Creates rxe0 on NETDEV (default: the interface of the default route) if no
# verbs device exists, runs `ctest -L fabric` (the fabric_verbs_* tests then run
# instead of skipping) and `fabraft-bench fabric --providers verbs,tcp`, and
# removes the device it created.
set -euo pipefail

BUILD=${1:-build}
NETDEV=${2:-$(ip route show default | awk '{print $5; exit}')}
created=0

if ! command -v rdma >/dev/null; then
	echo "rxe-test: the 'rdma' tool (iproute2) is missing" >&2
	exit 2
fi
if [ -z "$(ibv_devices 2>/dev/null | awk 'NR>2 {print $1}')" ]; then
	if ! modprobe rdma_rxe 2>/dev/null; then
		echo "rxe-test: SKIP: kernel has no rdma_rxe module" >&2
		exit 77
	fi
	rdma link add rxe0 type rxe netdev "$NETDEV"
	created=1
fi
cleanup() {
	if [ "$created" = 1 ]; then
		rdma link delete rxe0 || true
	fi
}
trap cleanup EXIT

# The tests and the benchmark bind to an address of the rxe interface.
FAB_TEST_HOST=$(ip -4 -o addr show dev "$NETDEV" | awk '{sub(/\/.*/, "", $4); print $4; exit}')
export FAB_TEST_HOST FAB_BENCH_HOST=$FAB_TEST_HOST
ibv_devices
fi_info -p verbs -t FI_EP_RDM | head -5
ctest --test-dir "$BUILD" -L fabric --output-on-failure
"$BUILD/bin/fabraft-bench" fabric --providers verbs,tcp
