#!/usr/bin/env bash
# Runs every test suite `make test` covers and ends with one line: "N passed, N failed[, N skipped]".
# Unit tests run from source; integration and conformance tests run the compiled bin/ as a runtime would.
set -uo pipefail
cd "$(dirname "$0")/.."
BUN=node_modules/.bin/bun
out=.test-out
mkdir -p "$out"

export CNI_TEST_BIN="$PWD/bin"
"$BUN" test --timeout 120000 pkg plugins ipam meta cnitool test 2>&1 | tee "$out/bun-test.log"
status=${PIPESTATUS[0]}

count() { grep -E "^ *[0-9]+ $1\$" "$out/bun-test.log" | tail -n 1 | awk '{print $1}'; }
passed=$(count pass); failed=$(count fail); skipped=$(count skip)
passed=${passed:-0}; failed=${failed:-0}; skipped=${skipped:-0}
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  # bun exited non-zero without a failed test (an error outside a test, or no tests found): count it.
  failed=1
fi

line="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && line="$line, $skipped skipped"
echo
echo "$line"
[ "$failed" -eq 0 ]
