#!/bin/sh
# Golden AdmissionReview fixtures: tests/golden/cases/<case>/review.json is a
# request; for each mode the expected outputs sit beside it:
#   <mode>.answer.json    `goinject review` output, byte for byte (the server's answer)
#   <mode>.pod.json       `goinject mutate` output: the mutated pod, for human review
#   <mode>.warnings.txt   what `goinject mutate` printed on stderr
# A case may carry config.json, passed with --config. The cases state their facts in
# annotations and the catalog, so the registry layer is off (--no-registry); the
# registry suite (tests/registry) tests that layer against a real registry.
#
# usage: run.sh [--update] GOINJECT_BINARY
# GOINJECT_WRAPPER (e.g. "valgrind -q --error-exitcode=99") runs the binary under a tool.
set -u
update=0
if [ "${1:-}" = "--update" ]; then
    update=1
    shift
fi
bin=${1:?usage: run.sh [--update] GOINJECT_BINARY}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

check() { # name expected actual
    if [ "$update" = 1 ]; then
        cp "$3" "$2"
    elif cmp -s "$2" "$3"; then
        return 0
    else
        echo "FAIL $1: $(basename "$2") differs:"
        diff -u "$2" "$3" | head -40
        return 1
    fi
}

for dir in "$here"/cases/*/; do
    case_name=$(basename "$dir")
    config=""
    [ -f "$dir/config.json" ] && config="--config $dir/config.json"
    for mode in classic cloud-native; do
        name="$case_name/$mode"
        ok=1
        # shellcheck disable=SC2086 # word splitting of the wrapper and config is intended
        ${GOINJECT_WRAPPER:-} "$bin" review --no-registry --mode "$mode" $config "$dir/review.json" \
            >"$work/answer" 2>"$work/review.err" || { ok=0; echo "FAIL $name: review exited $?"; cat "$work/review.err"; }
        # shellcheck disable=SC2086
        ${GOINJECT_WRAPPER:-} "$bin" mutate --no-registry --mode "$mode" $config "$dir/review.json" \
            >"$work/pod" 2>"$work/warnings" || { ok=0; echo "FAIL $name: mutate exited $?"; cat "$work/warnings"; }
        check "$name" "$dir/$mode.answer.json" "$work/answer" || ok=0
        check "$name" "$dir/$mode.pod.json" "$work/pod" || ok=0
        check "$name" "$dir/$mode.warnings.txt" "$work/warnings" || ok=0
        if [ "$ok" = 1 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
    done
done
[ "$update" = 1 ] && echo "golden: updated $((passed + failed)) expectations" && exit 0
echo "golden: $passed passed, $failed failed"
[ "$failed" = 0 ]
