#!/usr/bin/env bash
# Benchmark of `remnant strings` against GNU strings on a reproducible
# memory-like corpus (see bench/mkcorpus), side by side in one run:
#
#   remnant strings --raw FILE > out        both encodings, one pass, output to a file
#   strings -a -t d FILE > out; strings -a -t d -e l FILE > out
#                                           GNU strings, the two passes a user runs today
#   cat FILE > /dev/null                    a plain read: the limit
#
# Each is run RUNS times (default 5) with the corpus in the page cache; the
# table shows medians of wall time and of CPU time (user+sys), throughput and
# ratios. On a machine shared with other work, wall time depends on the load
# (printed); CPU time does less. Usage:
#
#   bench/strings.sh [-s SIZE_BYTES] [-r RUNS] [-k]     (-k keeps the outputs)
#
# REMNANT_BIN=path uses a prebuilt binary instead of building ./cmd/remnant.
# The corpus is generated once under ${REMNANT_BENCH_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/remnant-bench}.
set -euo pipefail

. "$(dirname "$0")/common.sh"
bench_setup 5 "$@"

for i in $(seq "$runs"); do
	echo "== run $i/$runs (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
	timed remnant "'$work/remnant' strings --no-progress --raw '$corpus' > '$work/remnant.out'"
	timed gnu_ascii "LC_ALL=C strings -a -t d '$corpus' > '$work/gnu_a.out'"
	timed gnu_utf16 "LC_ALL=C strings -a -t d -e l '$corpus' > '$work/gnu_l.out'"
	timed cat "cat '$corpus' > /dev/null"
done
paste -d' ' "$work/gnu_ascii.t" "$work/gnu_utf16.t" | awk '{print $1 + $4, $2 + $5, ($3 > $6 ? $3 : $6)}' >"$work/gnu_both.t"

median() { # column file
	sort -g -k"$1","$1" "$2" | awk -v c="$1" '{v[NR] = $c} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

# Sanity: the same strings. remnant prints "offset encoding text", GNU
# "offset text": compare counts per encoding.
ra=$(grep -c '^ *[0-9]* ascii ' "$work/remnant.out" || true)
ru=$(grep -c '^ *[0-9]* utf16le ' "$work/remnant.out" || true)
ga=$(wc -l <"$work/gnu_a.out")
gu=$(wc -l <"$work/gnu_l.out")

gnu_wall=$(median 1 "$work/gnu_both.t")
cat_wall=$(median 1 "$work/cat.t")
echo
echo "corpus: $corpus ($bytes bytes); $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')); load now $(cut -d' ' -f1-3 /proc/loadavg); runs: $runs; $(go version | cut -d' ' -f3)"
echo "strings found: remnant ascii $ra, utf16le $ru; GNU ascii $ga, utf16le $gu; output: remnant $(stat -L -c %s "$work/remnant.out") bytes, GNU $(($(stat -L -c %s "$work/gnu_a.out") + $(stat -L -c %s "$work/gnu_l.out"))) bytes"
echo
gnu_cpu=$(median 2 "$work/gnu_both.t")
printf "%-34s %8s %7s %8s %7s %9s %9s %8s\n" "tool" "wall s" "GB/s" "CPU s" "RSS" "GNUx2/wall" "GNUx2/CPU" "cat/wall"
for t in remnant gnu_both gnu_ascii gnu_utf16 cat; do
	w=$(median 1 "$work/$t.t")
	c=$(median 2 "$work/$t.t")
	m=$(median 3 "$work/$t.t")
	case $t in
	remnant) label="remnant strings (both, to file)" ;;
	gnu_both) label="GNU strings ascii + -e l" ;;
	gnu_ascii) label="  GNU strings -a" ;;
	gnu_utf16) label="  GNU strings -a -e l" ;;
	cat) label="cat > /dev/null" ;;
	esac
	awk -v l="$label" -v w="$w" -v c="$c" -v m="$m" -v b="$bytes" -v g="$gnu_wall" -v gc="$gnu_cpu" -v k="$cat_wall" 'BEGIN {
		printf "%-34s %8.3f %7.3f %8.3f %5.0fMB %9.1fx %9.1fx %7.2fx\n", l, w, b / w / 1e9, c, m / 1024, g / w, gc / c, k / w
	}'
done
if [ "$ra" != "$ga" ] || [ "$ru" != "$gu" ]; then
	echo "WARNING: string counts differ from GNU strings" >&2
fi
if [ "$keep" = 1 ]; then
	mkdir -p "$dir/out" && cp "$work"/*.out "$dir/out/" && echo "outputs kept in $dir/out" >&2
fi
