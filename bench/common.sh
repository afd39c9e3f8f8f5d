# Shared set-up of bench/strings.sh and bench/carve.sh; sourced, not run.
# After `bench_setup RUNS "$@"`: $size, $runs, $keep, $root, $work (removed on
# exit), $work/remnant (built, or copied from $REMNANT_BIN), $corpus (the
# reproducible memory-like corpus of $size bytes, generated once under
# ${REMNANT_BENCH_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/remnant-bench} and read
# into the page cache) and $bytes; and timed().

bench_setup() {
	runs=$1
	shift
	size=$((1 << 30))
	keep=0
	local opt OPTIND=1
	while getopts "s:r:k" opt; do
		case $opt in
		s) size=$OPTARG ;;
		r) runs=$OPTARG ;;
		k) keep=1 ;;
		*) echo "usage: $0 [-s size] [-r runs] [-k]" >&2; exit 2 ;;
		esac
	done
	root=$(cd "$(dirname "$0")/.." && pwd)
	local dir=${REMNANT_BENCH_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/remnant-bench}
	mkdir -p "$dir"
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT

	command -v strings >/dev/null || { echo "GNU strings (binutils) is required" >&2; exit 1; }
	[ -x /usr/bin/time ] || { echo "/usr/bin/time (Debian package time) is required" >&2; exit 1; }

	if [ -n "${REMNANT_BIN:-}" ]; then
		cp "$REMNANT_BIN" "$work/remnant"
	else
		echo "== building remnant" >&2
		(cd "$root" && go build -o "$work/remnant" ./cmd/remnant)
	fi

	corpus="$dir/corpus-$size.bin"
	if [ ! -s "$corpus" ]; then
		echo "== generating $corpus" >&2
		(cd "$root" && go run ./bench/mkcorpus -o "$corpus.tmp" -size "$size") && mv "$corpus.tmp" "$corpus"
	fi
	bytes=$(stat -L -c %s "$corpus")
	cat "$corpus" >/dev/null # into the page cache
}

# timed NAME CMD: runs CMD (a shell string) once, appends "wall cpu maxrss_kb"
# to $work/NAME.t.
timed() {
	local name=$1
	shift
	sync # the previous command's output is written back before this one starts
	/usr/bin/time -f "%e %U %S %M" -o "$work/t" bash -c "$*"
	awk '{printf "%s %.3f %s\n", $1, $2 + $3, $4}' "$work/t" >>"$work/$name.t"
}
