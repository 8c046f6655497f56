#!/usr/bin/env bash
# tidy.sh — the pure files (consensus core, in-memory log, kvcache state
# machine) include no system, network, RDMA or thread header and call no
# clock or libc RNG.  Run by ctest as tidy_pure.
set -u
cd "$(dirname "$0")/../.."
# The pure libraries are whole folders: every C file in them is checked.
pure=$(find core/base core/raft kvcache -name '*.[ch]' | sort)
bad=0
for f in $pure; do
	if grep -n -E '^\s*#\s*include\s*<(sys/|rdma/|netinet/|arpa/|pthread\.h|unistd\.h|fcntl\.h|time\.h|signal\.h|hwloc|liburing|sodium|openssl|infiniband/|isa-l)' "$f"; then
		echo "tidy: $f includes a header a pure file must not use"
		bad=1
	fi
	if grep -n -E '\b(time|rand|srand|random|clock_gettime|gettimeofday)\s*\(' "$f" | grep -v -E '^\s*[0-9]+:\s*(/?\*|//)'; then
		echo "tidy: $f reads a clock or libc RNG"
		bad=1
	fi
done
n=$(echo "$pure" | wc -w)
if [ $bad -ne 0 ]; then
	echo "tidy: FAILED"
	exit 1
fi
echo "tidy: $n pure files clean"
