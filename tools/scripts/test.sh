#!/usr/bin/env bash
# test.sh — set up, build and run every test: a Release build (assertions
# on), an AddressSanitizer + UndefinedBehaviorSanitizer build, and the
# libFuzzer targets for a fixed number of runs.  Exits non-zero on any
# failure; ends with ctest's summary.
#
#   tools/scripts/test.sh            everything
#   tools/scripts/test.sh --quick    the Release build only
set -uo pipefail
cd "$(dirname "$0")/../.."
quick=0
[ "${1:-}" = "--quick" ] && quick=1
jobs=$(nproc 2>/dev/null || echo 2)

bash tools/scripts/setup.sh || { echo "test.sh: setup failed"; exit 1; }

fail=0
summary=()
total_pass=0
total_fail=0
run_suite() { # name builddir ctest-filter build-target cmake-args...
	local name=$1 dir=$2 filter=$3 target=$4
	shift 4
	echo "=== $name: configure and build ($dir)"
	mkdir -p "$dir"
	if ! cmake -S . -B "$dir" "$@" >"$dir/configure.log" 2>&1; then
		cat "$dir/configure.log"
		echo "test.sh: $name: configure failed"
		fail=1
		summary+=("$name: configure FAILED")
		return
	fi
	if ! cmake --build "$dir" -j"$jobs" ${target:+--target "$target"} \
		>"$dir/build.log" 2>&1; then
		grep -E "error|warning" -A3 "$dir/build.log" | head -60
		echo "test.sh: $name: build failed"
		fail=1
		summary+=("$name: build FAILED")
		return
	fi
	echo "=== $name: ctest"
	local out
	out=$(mktemp)
	ctest --test-dir "$dir" --output-on-failure -j"$jobs" \
		${filter:+-R "$filter"} 2>&1 | tee "$out"
	local rc=${PIPESTATUS[0]}
	local line
	line=$(grep -E 'tests passed, [0-9]+ tests? failed out of' "$out" | tail -1)
	summary+=("$name: ${line:-no ctest summary}")
	if [[ $line =~ ([0-9]+)\ tests?\ failed\ out\ of\ ([0-9]+) ]]; then
		total_fail=$((total_fail + BASH_REMATCH[1]))
		total_pass=$((total_pass + BASH_REMATCH[2] - BASH_REMATCH[1]))
	else
		total_fail=$((total_fail + 1))
	fi
	rm -f "$out"
	[ "$rc" -eq 0 ] || fail=1
}

run_suite release build "" "" -DCMAKE_BUILD_TYPE=Release
if [ $quick -eq 0 ]; then
	run_suite sanitize build-san "" "" -DCMAKE_BUILD_TYPE=Debug \
		-DFABRAFT_SANITIZE=ON
	# clang build: the libFuzzer targets, a fixed number of runs each
	run_suite fuzz build-fuzz "^fuzz_" fuzz \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCMAKE_C_COMPILER=clang -DFABRAFT_FUZZ=ON
fi

echo
echo "=== summary"
for s in "${summary[@]}"; do echo "$s"; done
echo "tests: $total_pass passed, $total_fail failed"
exit $fail
