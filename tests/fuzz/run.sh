#!/bin/sh
# `make fuzz`: runs every libFuzzer target for FUZZ_SECONDS (default 60) each,
# on a scratch copy of its seed corpus (so the checked-in corpus stays small),
# with the dictionary where there is one. A crash leaves its input in
# build/fuzz/crashes/TARGET/ and fails the run: turn it into a regression file
# under tests/fuzz/regressions/TARGET/ (replayed by `make test`) with the fix.
#
# usage: run.sh FUZZ_BUILD_DIR
set -u
dir=${1:?usage: run.sh FUZZ_BUILD_DIR}
seconds=${FUZZ_SECONDS:-60}
here=$(cd "$(dirname "$0")" && pwd)
failed=0
passed=0
for target in review review_json patch config; do
    bin="$dir/fuzz_$target"
    corpus_name=$target
    [ "$target" = review_json ] && corpus_name=review
    work="$dir/corpus/$target"
    crashes="$dir/crashes/$target"
    mkdir -p "$work" "$crashes"
    cp -n "$here/corpus/$corpus_name"/* "$work"/ 2>/dev/null
    [ -d "$here/regressions/$corpus_name" ] && cp -n "$here/regressions/$corpus_name"/* "$work"/ 2>/dev/null
    dict=""
    [ -f "$here/$corpus_name.dict" ] && dict="-dict=$here/$corpus_name.dict"
    echo "fuzz: $target for ${seconds}s"
    # shellcheck disable=SC2086 # $dict is one optional word
    if ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -artifact_prefix="$crashes/" -print_final_stats=1 $dict "$work" >"$dir/$target.log" 2>&1; then
        passed=$((passed + 1))
        grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb" "$dir/$target.log" | tr '\n' ' '
        grep -Eo "cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*" "$dir/$target.log" | tail -1
    else
        failed=$((failed + 1))
        echo "fuzz: $target FAILED; see $dir/$target.log and $crashes/"
        grep -E "ERROR|SUMMARY|invariant" "$dir/$target.log" | head -5
    fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" = 0 ]
