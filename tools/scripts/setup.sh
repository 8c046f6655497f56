#!/usr/bin/env bash
# setup.sh — install every Debian package fabraft needs to build, test and benchmark.
# Idempotent: installs only what is missing and runs `apt-get update` only then.
set -euo pipefail

PKGS=(
	# build
	build-essential cmake pkg-config clang libclang-rt-14-dev
	# checks (tools/scripts/test.sh): formatting, clang-tidy
	clang-format-14 clang-tidy-14
	# transport: libfabric, verbs, rdmacm, hwloc
	libfabric-dev libfabric-bin libibverbs-dev librdmacm-dev rdma-core
	ibverbs-providers ibverbs-utils libhwloc-dev hwloc
	# storage and checksums, handshake HMAC
	libisal-dev liburing-dev libssl-dev
	# tests
	libcmocka-dev iproute2 procps
	# e2e_lincheck_pause drops a paused leader's peer packets
	nftables
	# clients, peers and references for end-to-end tests and benchmarks
	redis-tools redis-server etcd-server etcd-client python3-redis
	gnuplot-nox libcurl4-openssl-dev
	# the RESP client library (fabraft_respc)
	libhiredis-dev
	# fabraft-bench trace reads the shipped gzip trace (zlib)
	zlib1g-dev
	# the Python package tools/python/fabraft: its tests (python3), an
	# offline install (pip install --no-index --no-build-isolation)
	python3 python3-pip python3-setuptools python3-venv
)

missing=()
for p in "${PKGS[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "setup: all ${#PKGS[@]} packages present"
	exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	SUDO="sudo"
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# redis-server and etcd-server start system services on install; the tests
# start their own instances on other ports, so stop the packaged ones.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
	$SUDO systemctl disable --now redis-server etcd >/dev/null 2>&1 || true
fi
echo "setup: done"
