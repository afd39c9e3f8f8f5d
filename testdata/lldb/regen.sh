#!/usr/bin/env bash
# Regenerates the lldb reference outputs used by minidump tests: what Debian's
# lldb (an independent minidump reader) says about each Windows dump of the
# shared corpus. Needs `apt-get install lldb`. Run from the project root.
set -euo pipefail
corpus=${CORPUS:-../shared/corpus/minidump}
out=testdata/lldb
for d in "$corpus"/*/*.dmp; do
	name=$(basename "$(dirname "$d")")_$(basename "$d" .dmp)
	case "$name" in rust-minidump_invalid-range|rust-minidump_invalid-record-count|lldb_regions-memlist64|breakpad_linux_null_read_av) continue ;; esac
	# lldb prints Python start-up noise on stderr on Debian; only stdout is kept.
	PYTHONPATH= timeout 120 lldb --batch -o "target create --core $d" -o "image list" -o "thread list" 2>/dev/null |
		grep -E '^\[ *[0-9]+\]|^[ *]+thread #' >"$out/$name.txt" || true
done
