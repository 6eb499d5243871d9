#!/bin/bash
# run-tests.sh — run every test and print one summary line.
#   1. build/unit-tests (Check); its `UNIT-SUMMARY N passed, M failed`
#      line gives the unit counts;
#   2. every tests/integration/*.sh (except lib.sh, which they source),
#      each one test, each under a time limit.
# Failures are listed with their output; the last line is
# `N passed, N failed` over both; the exit status is non-zero on any
# failure.  Integration tests need root (network namespaces, TUN): without
# it they are reported as failed, never skipped silently.
# Run from anywhere; expects `make all build/unit-tests` to have run.
set -u

cd "$(dirname "$0")/.." || exit 2
UNIT_TIMEOUT=${UNIT_TIMEOUT:-600}
TEST_TIMEOUT=${TEST_TIMEOUT:-300}
OUT=$(mktemp -d /tmp/netshim-tests.XXXXXX)
trap 'rm -rf "$OUT"' EXIT

passed=0
failed=0
failures=()

note_failure() { # name logfile
	failures+=("$1")
	cp "$2" "$OUT/fail.${#failures[@]}"
}

# ---- unit tests ------------------------------------------------------------
echo "== unit tests"
if [ ! -x build/unit-tests ]; then
	echo "build/unit-tests is missing: run make build/unit-tests" >"$OUT/unit.log"
	failed=$((failed + 1))
	note_failure unit-tests "$OUT/unit.log"
else
	timeout "$UNIT_TIMEOUT" build/unit-tests >"$OUT/unit.log" 2>&1
	rc=$?
	cat "$OUT/unit.log"
	summary=$(grep -E '^UNIT-SUMMARY [0-9]+ passed, [0-9]+ failed$' "$OUT/unit.log" | tail -n 1)
	if [ -z "$summary" ]; then
		# crashed or timed out before its summary: one failure
		echo "(unit-tests exited $rc without a UNIT-SUMMARY line)" >>"$OUT/unit.log"
		failed=$((failed + 1))
		note_failure unit-tests "$OUT/unit.log"
	else
		up=$(echo "$summary" | awk '{ print $2 }')
		uf=$(echo "$summary" | awk '{ print $4 }')
		passed=$((passed + up))
		failed=$((failed + uf))
		if [ "$uf" -gt 0 ] || [ "$rc" != 0 ]; then
			[ "$uf" -gt 0 ] || failed=$((failed + 1)) # odd exit status
			note_failure unit-tests "$OUT/unit.log"
		fi
	fi
fi

# ---- integration tests -----------------------------------------------------
echo "== integration tests"
root=1
[ "$(id -u)" = 0 ] || root=0
for t in tests/integration/*.sh; do
	[ -e "$t" ] || continue
	name=$(basename "$t" .sh)
	[ "$name" = lib ] && continue
	log="$OUT/$name.log"
	start=$(date +%s)
	# a test that says "# needs: nothing" in its first lines runs anywhere
	if [ "$root" = 0 ] && ! head -n 5 "$t" | grep -q '^# needs: nothing'; then
		echo "$name: not run: integration tests need root (network namespaces and a TUN device); run as root" >"$log"
		rc=1
	else
		timeout -k 10 "$TEST_TIMEOUT" bash "$t" >"$log" 2>&1
		rc=$?
		[ "$rc" = 124 ] && echo "$name: timed out after $TEST_TIMEOUT s" >>"$log"
	fi
	secs=$(($(date +%s) - start))
	if [ "$rc" = 0 ]; then
		passed=$((passed + 1))
		echo "PASS $name (${secs}s)"
	else
		failed=$((failed + 1))
		echo "FAIL $name (exit $rc, ${secs}s)"
		note_failure "$name" "$log"
	fi
done

# ---- report ----------------------------------------------------------------
if [ "${#failures[@]}" -gt 0 ]; then
	echo
	echo "== failures"
	for i in "${!failures[@]}"; do
		echo "---- ${failures[$i]}"
		cat "$OUT/fail.$((i + 1))"
	done
	echo
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
