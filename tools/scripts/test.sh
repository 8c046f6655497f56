#!/usr/bin/env bash
# test.sh — set up, check and test everything; docs/development.md lists
# each step with its time on the 2-core CI machine:
#   format    clang-format --dry-run --Werror on every tracked C file
#   release   Release build (assertions on) + every ctest
#   clang-tidy  .clang-tidy on every C source of the build; fails on
#             findings not in tools/scripts/tidy-baseline.txt
#   sanitize  Debug ASan+UBSan build + every ctest
#   tsan      ThreadSanitizer build (clang) + the WAL and fabric tests
#   fuzz      clang libFuzzer targets, a fixed number of runs each
# Exits non-zero on any failure; ends with a summary (one line per step,
# with its time) and "tests: N passed, N failed" (format and clang-tidy
# count as one test each).
#
#   tools/scripts/test.sh            everything
#   tools/scripts/test.sh --quick    format and the Release build only
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
	local t0=$SECONDS
	shift 4
	echo "=== $name: configure and build ($dir)"
	mkdir -p "$dir"
	if ! cmake -S . -B "$dir" "$@" >"$dir/configure.log" 2>&1; then
		cat "$dir/configure.log"
		echo "test.sh: $name: configure failed"
		fail=1
		total_fail=$((total_fail + 1))
		summary+=("$name: configure FAILED")
		return
	fi
	# target: empty (all), or a list; "@tests" in it stands for every test
	# matching the filter that is also a build target (a cmocka test is
	# its own target), so a new test_wal_* is built without editing this.
	local targets=() t n known names
	for t in $target; do
		if [ "$t" != "@tests" ]; then
			targets+=("$t")
			continue
		fi
		known=$(cmake --build "$dir" --target help 2>/dev/null |
			sed -n -E 's/^\.\.\. ([^ ]+).*/\1/p')
		mapfile -t names < <(ctest --test-dir "$dir" -N \
			${filter:+-R "$filter"} |
			sed -n -E 's/^ *Test +#[0-9]+: (.*)$/\1/p')
		for n in "${names[@]}"; do
			if grep -qx -- "$n" <<<"$known"; then
				targets+=("$n")
			fi
		done
	done
	if ! cmake --build "$dir" -j"$jobs" \
		${targets[0]:+--target "${targets[@]}"} \
		>"$dir/build.log" 2>&1; then
		grep -E "error|warning" -A3 "$dir/build.log" | head -60
		echo "test.sh: $name: build failed"
		fail=1
		total_fail=$((total_fail + 1))
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
	summary+=("$name: ${line:-no ctest summary} ($((SECONDS - t0)) s)")
	# A skipped test printed its reason above; name the skips here too, so
	# a summary never hides what did not run.
	local skipped
	skipped=$(sed -nE 's/^[[:space:]]*[0-9]+ - ([^ ]+) \(Skipped\)$/\1/p' "$out" |
		tr '\n' ' ')
	[ -z "$skipped" ] || summary+=("$name: skipped (reason in the log): $skipped")
	if [[ $line =~ ([0-9]+)\ tests?\ failed\ out\ of\ ([0-9]+) ]]; then
		total_fail=$((total_fail + BASH_REMATCH[1]))
		total_pass=$((total_pass + BASH_REMATCH[2] - BASH_REMATCH[1]))
	else
		total_fail=$((total_fail + 1))
	fi
	rm -f "$out"
	[ "$rc" -eq 0 ] || fail=1
}

# check NAME COMMAND...: a check that is not a ctest run counts as one test.
check() {
	local name=$1 t0=$SECONDS
	shift
	echo "=== $name"
	if "$@"; then
		summary+=("$name: passed ($((SECONDS - t0)) s)")
		total_pass=$((total_pass + 1))
	else
		summary+=("$name: FAILED ($((SECONDS - t0)) s)")
		total_fail=$((total_fail + 1))
		fail=1
	fi
}

# Every tracked C file is formatted with the repository's .clang-format
# (clang-format 14: other versions format some constructs differently).
format_check() {
	local fmt files bad
	fmt=$(command -v clang-format-14 || command -v clang-format || true)
	if [ -z "$fmt" ]; then
		echo "format: clang-format-14 not found"
		return 1
	fi
	if git rev-parse --git-dir >/dev/null 2>&1; then
		mapfile -t files < <(git ls-files '*.c' '*.h')
	else
		mapfile -t files < <(find core fabric kvcache tools tests \
			-name '*.[ch]' | sort)
	fi
	# One process for all files (one per file takes half a minute on a
	# loaded machine); it names each offending file in its diagnostics.
	local out rc
	out=$("$fmt" --dry-run --Werror "${files[@]}" 2>&1)
	rc=$?
	mapfile -t bad < <(printf '%s\n' "$out" |
		sed -n -E 's/^([^:]+):[0-9]+:[0-9]+: error: .*/\1/p' | sort -u)
	if [ $rc -ne 0 ] && [ ${#bad[@]} -eq 0 ]; then
		printf '%s\n' "$out" | head -20
		bad=("(clang-format failed, output above)")
	fi
	if [ ${#bad[@]} -ne 0 ]; then
		printf 'format: not clang-formatted: %s\n' "${bad[@]}"
		echo "format: fix with: $fmt -i FILE"
		return 1
	fi
	echo "format: ${#files[@]} files clean"
}

check format format_check
run_suite release build "" "" -DCMAKE_BUILD_TYPE=Release
if [ $quick -eq 0 ]; then
	# Uses build/compile_commands.json from the release configure.
	check clang-tidy bash tools/scripts/clang-tidy.sh build
	run_suite sanitize build-san "" "" -DCMAKE_BUILD_TYPE=Debug \
		-DFABRAFT_SANITIZE=ON
	# The threaded code: the WAL writer and its submitters, the fabric
	# endpoints (libfabric progress) and the multi-process fabric runs.
	# Only what these tests run is built: less time, and a full clang
	# build stops today at -Wfor-loop-analysis in tools/cli/fabraft.c.
	# clang: gcc's -Wrestrict misfires on TSan-instrumented fabraftd.c.
	# halt_on_error: a race aborts at once (exit 66), also in a forked
	# child that leaves with _exit() (fab_mp), which skips TSan's exit hook.
	export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/tools/scripts/tsan.supp"
	run_suite tsan build-tsan \
		"^(test_wal|test_fab|fabric_tcp_|fabric_shm_|bench_wal_smoke|bench_floor$)" \
		"@tests fab_mp fabraft-bench" \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
		-DFABRAFT_TSAN=ON
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
