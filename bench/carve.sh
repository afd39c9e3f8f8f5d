#!/usr/bin/env bash
# Benchmark of `remnant carve` (all carvers, one pass, both text encodings
# and console cells) against `strings | grep -E` on the same anchors, side
# by side in one run, on the strings benchmark's reproducible memory-like
# corpus (bench/mkcorpus; the file is shared with bench/strings.sh):
#
#   remnant carve --raw -f jsonl FILE > out     records, all carvers
#   strings -a -t d FILE | grep -E ANCHORS; strings -a -t d -e l FILE | grep -E ANCHORS
#                                               candidate lines only, no decoding
#   cat FILE > /dev/null                        a plain read: the limit
#
# Each is run RUNS times (default 3) with the corpus in the page cache; the
# table shows medians of wall and CPU time (user+sys), throughput and peak
# memory. On a machine shared with other work, wall time depends on the load
# (printed); CPU time does less. Usage:
#
#   bench/carve.sh [-s SIZE_BYTES] [-r RUNS] [-k]     (-k keeps the outputs)
#
# REMNANT_BIN=path uses a prebuilt binary instead of building ./cmd/remnant.
set -euo pipefail

. "$(dirname "$0")/common.sh"
bench_setup 3 "$@"
anchors=$(cd "$root" && go run ./bench/carveanchors)

printf '%s\n' "$anchors" >"$work/anchors"
for i in $(seq "$runs"); do
	echo "== run $i/$runs (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
	timed remnant "'$work/remnant' carve --no-progress --raw -f jsonl '$corpus' > '$work/remnant.out'"
	timed grep "{ LC_ALL=C strings -a -t d '$corpus' | LC_ALL=C grep -E -f '$work/anchors'; LC_ALL=C strings -a -t d -e l '$corpus' | LC_ALL=C grep -E -f '$work/anchors'; } > '$work/grep.out' || true"
	timed cat "cat '$corpus' > /dev/null"
done

median() { # column file
	sort -g -k"$1","$1" "$2" | awk -v c="$1" '{v[NR] = $c} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

echo
echo "corpus: $corpus ($bytes bytes); $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')); load now $(cut -d' ' -f1-3 /proc/loadavg); runs: $runs; $(go version | cut -d' ' -f3)"
echo "remnant records: $(wc -l <"$work/remnant.out") ($(grep -o '"carver":"[a-z0-9]*"' "$work/remnant.out" | sort | uniq -c | awk '{printf "%s %s, ", substr($2, 11, length($2) - 11), $1}' | sed 's/, $//')); strings|grep lines: $(wc -l <"$work/grep.out")"
echo
grep_wall=$(median 1 "$work/grep.t")
grep_cpu=$(median 2 "$work/grep.t")
printf "%-40s %8s %7s %8s %7s %9s %9s\n" "tool" "wall s" "GB/s" "CPU s" "RSS" "grep/wall" "grep/CPU"
for t in remnant grep cat; do
	w=$(median 1 "$work/$t.t")
	c=$(median 2 "$work/$t.t")
	m=$(median 3 "$work/$t.t")
	case $t in
	remnant) label="remnant carve (all carvers, jsonl)" ;;
	grep) label="strings -a (+ -e l) | grep -E anchors" ;;
	cat) label="cat > /dev/null" ;;
	esac
	awk -v l="$label" -v w="$w" -v c="$c" -v m="$m" -v b="$bytes" -v g="$grep_wall" -v gc="$grep_cpu" 'BEGIN {
		printf "%-40s %8.3f %7.3f %8.3f %5.0fMB %8.1fx %8.1fx\n", l, w, b / w / 1e9, c, m / 1024, g / w, gc / c
	}'
done
if [ "$keep" = 1 ]; then
	mkdir -p "$dir/out" && cp "$work"/*.out "$dir/out/" && echo "outputs kept in $dir/out" >&2
fi
