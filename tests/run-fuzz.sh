#!/bin/sh
# Runs every fuzz target for SECS seconds each, seeded from testdata; prints
# "N passed, N failed" (a target fails when libFuzzer finds a crash or a
# sanitizer report).
set -u
dir=${1:-build/fuzz}
secs=${2:-10}
pass=0
fail=0
for f in "$dir"/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	corpus=$(mktemp -d)
	seeds=""
	[ "$name" = fuzz_elf ] && seeds=testdata/elf
	[ "$name" = fuzz_pcapng_read ] && seeds=testdata/pcapng
	[ "$name" = fuzz_http1 ] && seeds=testdata/http/seeds-h1
	[ "$name" = fuzz_http2 ] && seeds=testdata/http/seeds-h2
	[ "$name" = fuzz_startup ] && seeds="testdata/elf testdata/placement"
	if "$f" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=0 \
		-artifact_prefix="$dir/$name-" "$corpus" $seeds >"$dir/$name.log" 2>&1; then
		echo "PASS $name ($secs s, $(grep -c . "$dir/$name.log") log lines)"
		pass=$((pass + 1))
	else
		echo "FAIL $name: see $dir/$name.log"
		tail -30 "$dir/$name.log"
		fail=$((fail + 1))
	fi
	rm -rf "$corpus"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
