#!/bin/sh
# Runs every fuzz target and prints "N passed, N failed" (a target fails when
# libFuzzer finds a crash, a leak or a sanitizer report).
#
#   run-fuzz.sh DIR --runs N   deterministic (make test): the seed corpus and
#                              the regression corpus (testdata/fuzz/TARGET,
#                              every crash ever found), then N mutations from
#                              a fixed seed; the same result on every run
#   run-fuzz.sh DIR SECS       random, for SECS seconds each (make fuzz)
set -u
dir=${1:-build/fuzz}
mode=${2:-10}
runs=
secs=
if [ "$mode" = "--runs" ]; then
	runs=${3:?run-fuzz.sh: --runs needs a count}
else
	secs=$mode
fi
pass=0
fail=0
for f in "$dir"/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	case "$name" in *.*) continue ;; esac
	corpus=$(mktemp -d)
	seeds=""
	[ "$name" = fuzz_elf ] && seeds=testdata/elf
	[ "$name" = fuzz_go_elf ] && seeds=testdata/go
	[ "$name" = fuzz_pcapng_read ] && seeds=testdata/pcapng
	[ "$name" = fuzz_http1 ] && seeds=testdata/http/seeds-h1
	[ "$name" = fuzz_http2 ] && seeds=testdata/http/seeds-h2
	[ "$name" = fuzz_startup ] && seeds="testdata/elf testdata/placement"
	[ "$name" = fuzz_container ] && seeds=testdata/cgroups
	[ -d "testdata/fuzz/$name" ] && seeds="$seeds testdata/fuzz/$name"
	if [ -n "$runs" ]; then
		# A fixed seed and count, one process: nothing depends on timing.
		limit="-seed=1 -runs=$runs"
		what="seed 1, $runs runs"
	else
		limit="-max_total_time=$secs"
		what="$secs s"
	fi
	# shellcheck disable=SC2086
	if "$f" $limit -timeout=10 -rss_limit_mb=2048 -print_final_stats=0 \
		-artifact_prefix="$dir/$name-" "$corpus" $seeds >"$dir/$name.log" 2>&1; then
		echo "PASS $name ($what, $(grep -c . "$dir/$name.log") log lines)"
		pass=$((pass + 1))
	else
		echo "FAIL $name: see $dir/$name.log; add the crashing input to testdata/fuzz/$name/"
		tail -30 "$dir/$name.log"
		fail=$((fail + 1))
	fi
	rm -rf "$corpus"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
