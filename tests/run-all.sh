#!/bin/sh
# The whole suite: unit tests (plain and under ASan/UBSan), then end-to-end
# tests with the real BPF programs. Closes with "N passed, N failed".
set -u
out=${1:-build}
asan=${2:-build/asan}
total_pass=0
total_fail=0

tally() {
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -1)
	p=$(echo "$line" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
	f=$(echo "$line" | sed -n 's/^[0-9]* passed, \([0-9]*\) failed.*/\1/p')
	if [ -z "$line" ]; then
		echo "$2: no result line"
		f=1
		p=0
	fi
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
}

log=$(mktemp)
echo "== unit tests"
./tests/run-unit.sh "$out" | tee "$log"
tally "$log" "unit tests"

echo "== unit tests under AddressSanitizer and UndefinedBehaviorSanitizer"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	./tests/run-unit.sh "$asan" | tee "$log"
tally "$log" "sanitized unit tests"

echo "== fuzz targets: corpora, then a fixed-seed run (make fuzz runs them at random)"
./tests/run-fuzz.sh "$out/fuzz" --runs "${FUZZ_RUNS:-20000}" | tee "$log"
tally "$log" "fuzz targets"

echo "== shape of the sources: files of at most 600 lines, functions of at most 100"
/usr/bin/python3 tests/shape/check.py . | tee "$log"
tally "$log" "shape check"

echo "== deploy/: the DaemonSet, the Containerfile and the systemd unit, without a cluster"
/usr/bin/python3 tests/deploy/check.py "$out/tlstap" | tee "$log"
tally "$log" "deploy check"

echo "== end-to-end tests"
/usr/bin/python3 tests/e2e/run.py --tlstap "$out/tlstap" | tee "$log"
tally "$log" "end-to-end tests"
rm -f "$log"

echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
