#!/usr/bin/env bash
# clang-tidy.sh — run clang-tidy (.clang-tidy) on every C source the build
# compiles (core, fabric, kvcache, tools, tests; headers through them) and
# fail on any finding that tools/scripts/tidy-baseline.txt does not list.  The baseline holds the findings that existed when the
# check was introduced; it may only shrink (docs/development.md):
#   - a finding that is not in it (a new file, a new oversized function, one
#     more finding of a check in a file) fails;
#   - a baseline line that no longer matches (fixed, moved, renamed) fails
#     too, so the list is trimmed in the same change that fixes it.
#
#   tools/scripts/clang-tidy.sh [BUILD_DIR]           check (default: build)
#   tools/scripts/clang-tidy.sh --update [BUILD_DIR]  rewrite the baseline
#
# BUILD_DIR must hold compile_commands.json (every CMake configure writes it).
# Sources the build does not compile (the fuzz targets in a non-fuzz build)
# are not checked.
set -uo pipefail
cd "$(dirname "$0")/../.."
update=0
if [ "${1:-}" = "--update" ]; then
	update=1
	shift
fi
build=${1:-build}
baseline=tools/scripts/tidy-baseline.txt
jobs=$(nproc 2>/dev/null || echo 2)
runner=$(command -v run-clang-tidy-14 || command -v run-clang-tidy || true)
if [ -z "$runner" ]; then
	echo "clang-tidy: run-clang-tidy(-14) not found (tools/scripts/setup.sh)"
	exit 1
fi
if [ ! -f "$build/compile_commands.json" ]; then
	echo "clang-tidy: $build/compile_commands.json missing: configure first"
	exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$(pwd)
# Positional arguments of run-clang-tidy are regexes on the absolute path.
# TIDY_OUTPUT=FILE compares a saved run-clang-tidy output instead (to test
# this script, or to look at one run again without waiting minutes).
if [ -n "${TIDY_OUTPUT:-}" ]; then
	cp "$TIDY_OUTPUT" "$tmp/out"
	: >"$tmp/err"
else
	"$runner" -p "$build" -j"$jobs" -quiet \
		"^$root/(core|fabric|kvcache|tools|tests)/.*\\.c\$" \
		>"$tmp/out" 2>"$tmp/err"
fi

# One key per finding site kind: "check path count", or for the function
# size "check path function count" (lines move on every edit; function
# names and per-file counts do not).  A header included by several files is
# reported once per file: findings are deduplicated by position first.
awk -v root="$root/" '
{
	gsub(/\x1b\[[0-9;]*m/, "")
	if (!match($0, /^\/[^:]+:[0-9]+:[0-9]+: (warning|error): .*\[[^]]+\]$/))
		next
	split($0, a, ":")
	path = a[1]
	sub("^" root, "", path)
	check = $0
	sub(/.*\[/, "", check)
	sub(/\]$/, "", check)
	sub(/,-warnings-as-errors$/, "", check)
	site = path ":" a[2] ":" a[3] ":" check
	if (site in seen)
		next
	seen[site] = 1
	key = check " " path
	if (check == "readability-function-size" &&
	    match($0, /function \047[^\047]+\047/))
		key = key " " substr($0, RSTART + 10, RLENGTH - 11)
	n[key]++
	# The full message, for the report of new findings.
	msg[key] = msg[key] $0 "\n"
}
END {
	for (k in n)
		printf "%s %d\n", k, n[k] > "'"$tmp"'/now"
	for (k in msg)
		printf "%s", msg[k] > "'"$tmp"'/msgs"
}' "$tmp/out"
touch "$tmp/now" "$tmp/msgs"
sort -o "$tmp/now" "$tmp/now"
nfiles=$(grep -c '^clang-tidy' "$tmp/out" || true)

if [ $update -eq 1 ]; then
	{
		echo "# Findings of tools/scripts/clang-tidy.sh that predate it: one line"
		echo "# per check and file (and function, for the function size), with"
		echo "# the number of findings.  May only shrink: fix, then delete or"
		echo "# lower the line.  Regenerate with tools/scripts/clang-tidy.sh --update"
		echo "# only after merging, and review the diff (docs/development.md)."
		cat "$tmp/now"
	} >"$baseline"
	echo "clang-tidy: wrote $baseline ($(wc -l <"$tmp/now") lines)"
	exit 0
fi

grep -v '^#' "$baseline" 2>/dev/null | sort >"$tmp/base"
# Compare key by key: the last field is the count.
awk '
function key(line,    k) { k = line; sub(/ [0-9]+$/, "", k); return k }
FNR == NR { b[key($0)] = $NF; next }
{ c[key($0)] = $NF }
END {
	for (k in c)
		if (c[k] > (k in b ? b[k] : 0))
			printf "NEW %s: %d finding(s), baseline %d\n", k, c[k], (k in b ? b[k] : 0)
	for (k in b)
		if ((k in c ? c[k] : 0) < b[k])
			printf "FIXED %s: %d finding(s), baseline %d\n", k, (k in c ? c[k] : 0), b[k]
}' "$tmp/base" "$tmp/now" | sort >"$tmp/diff"

total=$(awk '{ s += $NF } END { print s + 0 }' "$tmp/now")
echo "clang-tidy: $nfiles files, $total findings; per check:"
awk '{ n[$1] += $NF } END { for (c in n) printf "  %5d %s\n", n[c], c }' \
	"$tmp/now" | sort -rn
if grep -q -E 'clang-diagnostic-error|error while processing' "$tmp/out" "$tmp/err"; then
	grep -E 'error' "$tmp/err" | head -20
fi
if [ -s "$tmp/diff" ]; then
	grep '^NEW' "$tmp/diff" | while read -r _ k; do
		k=${k%%:*}
		# check path [function]: print the matching messages
		set -- $k
		grep -F -- "[$1" "$tmp/msgs" | grep -F -- "$2:" |
			grep -F -- "${3:-}" | head -20
	done
	cat "$tmp/diff"
	if grep -q '^FIXED' "$tmp/diff"; then
		echo "clang-tidy: FIXED lines: lower or delete them in $baseline"
	fi
	echo "clang-tidy: FAILED"
	exit 1
fi
echo "clang-tidy: no new findings ($(wc -l <"$tmp/base") baseline lines)"
