#!/bin/sh
# Runs every Check unit test binary given as an argument. Each prints Check's
# summary line; the script fails if any of them fails. With VALGRIND=1 each
# runs under valgrind memcheck in no-fork mode, so leaks count as failures.
set -u
# Check's 4 s default is for a test that hangs, not for a loaded machine: a suite that
# needs longer sets its own. Keep an outer bound that still catches a hang.
: "${CK_DEFAULT_TIMEOUT:=60}"
export CK_DEFAULT_TIMEOUT
failed=0
for t in "$@"; do
    if [ "${VALGRIND:-0}" = 1 ]; then
        CK_FORK=no valgrind -q --error-exitcode=99 --leak-check=full \
            --errors-for-leak-kinds=definite,indirect "$t" || failed=1
    else
        "$t" || failed=1
    fi
done
[ "$failed" = 0 ] && echo "unit: all suites passed" || echo "unit: FAILED"
exit "$failed"
