#!/bin/sh
# Runs every cmocka unit test binary in OUTPUT/tests; prints "N passed, N failed".
set -u
out=${1:-build}
pass=0
fail=0
for t in "$out"/tests/test_*; do
	[ -x "$t" ] || continue
	log=$(mktemp)
	"$t" >"$log" 2>&1
	rc=$?
	cat "$log"
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	pass=$((pass + ${p:-0}))
	fail=$((fail + ${f:-0}))
	# A crash or a nonzero exit without a cmocka verdict is a failure too.
	if [ "$rc" -ne 0 ] && [ -z "$f" ]; then
		echo "$t: exited $rc without a verdict"
		fail=$((fail + 1))
	fi
	rm -f "$log"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
