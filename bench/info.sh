#!/usr/bin/env bash
# Shows that opening a process dump costs its directory, not its size:
# `remnant info` (and cmdline) on the sample and on the same dump grown to
# several hundred MiB of captured memory. Hashing, which must read every
# byte, is measured apart (info without --no-hash), beside `cat` as the read
# limit. Prints medians of RUNS runs.
#
#   bash bench/info.sh            # sizes 256 and 768 MiB, 7 runs
#   SIZES="128 1024" RUNS=5 bash bench/info.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${SIZES:-"256 768"}
RUNS=${RUNS:-7}
work=${WORK:-$(mktemp -d)}
trap 'rm -rf "$work"' EXIT
go build -o "$work/remnant" ./cmd/remnant
sample=testdata/sample/nc64.dmp
files=("$sample")
for mb in $SIZES; do
	go run ./bench/mkbigdump -mb "$mb" -o "$work/big$mb.dmp" "$sample"
	files+=("$work/big$mb.dmp")
done

# median of RUNS wall-clock seconds of a command
median() {
	local ts=()
	for _ in $(seq "$RUNS"); do
		local t0 t1
		t0=$(date +%s.%N)
		"$@" >/dev/null 2>&1 || true
		t1=$(date +%s.%N)
		ts+=("$(echo "$t1 - $t0" | bc -l)")
	done
	printf '%s\n' "${ts[@]}" | sort -g | awk '{a[NR]=$1} END {printf "%.4f", a[int((NR+1)/2)]}'
}

printf '%-12s %10s %16s %16s %16s %12s\n' file MiB "info --no-hash s" "cmdline s" "info+sha256 s" "cat s"
for f in "${files[@]}"; do
	mib=$(($(stat -c %s "$f") / 1048576))
	cat "$f" >/dev/null # warm the page cache
	a=$(median "$work/remnant" info --no-hash "$f")
	b=$(median "$work/remnant" cmdline "$f")
	c=$(median "$work/remnant" info "$f")
	d=$(median cat "$f")
	printf '%-12s %10d %16s %16s %16s %12s\n' "$(basename "$f")" "$mib" "$a" "$b" "$c" "$d"
done
