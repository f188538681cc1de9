#!/bin/sh
# run.sh - libFuzzer runs of every tests/fuzz/fuzz_*.c target.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]     (default: 60 seconds, every target)
#
# Builds the webhook's sources and each target with clang -fsanitize=fuzzer,address,undefined
# (installing clang and libclang-rt-14-dev with apt-get when they are missing), seeds the corpus
# from tests/fuzz/seeds.c, tests/fuzz/corpus/<target>, the regression inputs and any test binaries
# already built (with tests/fuzz/<target>.dict as a dictionary where there is one), and runs
# each target for SECONDS. Corpora are kept in build/fuzz/corpus/<target> between runs. A crash,
# leak or timeout is saved in build/fuzz/artifacts/<target>/ and makes the script fail: copy it
# to tests/fuzz/regressions/<target>/ so `make test` replays it for good.
set -eu
seconds=${1:-60}
[ $# -gt 0 ] && shift
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/build/fuzz
say() { echo "fuzz: $*" >&2; }

if ! command -v clang >/dev/null 2>&1 || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
    say "installing clang and libclang-rt-14-dev"
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev >/dev/null
fi

pkgs="libmicrohttpd jansson openssl gnutls zlib libcurl libzstd"
flags="-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined"
mkdir -p "$out/obj" "$out/corpus" "$out/artifacts"
objs=""
for src in "$root"/webhook/*.c; do
    name=$(basename "$src" .c)
    [ "$name" = main ] && continue
    obj=$out/obj/$name.o
    if [ ! -f "$obj" ] || [ -n "$(find "$src" "$root/webhook" -name '*.[ch]' -newer "$obj" | head -n 1)" ]; then
        # shellcheck disable=SC2086,SC2046 # flag lists are meant to split
        clang $flags -fsanitize=fuzzer-no-link $(pkg-config --cflags $pkgs) -c -o "$obj" "$src"
    fi
    objs="$objs $obj"
done
# The tests' own code (tests/support), which goinject does not ship.
for src in "$root"/tests/support/*.c; do
    obj=$out/obj/support-$(basename "$src" .c).o
    if [ ! -f "$obj" ] || [ -n "$(find "$src" "$root/tests/support" "$root/webhook" -name '*.[ch]' -newer "$obj" | head -n 1)" ]; then
        # shellcheck disable=SC2086,SC2046 # flag lists are meant to split
        clang $flags -fsanitize=fuzzer-no-link -I"$root/webhook" $(pkg-config --cflags $pkgs) -c -o "$obj" "$src"
    fi
    objs="$objs $obj"
done
# shellcheck disable=SC2086
cc -std=c11 -D_GNU_SOURCE -O1 -I"$root/webhook" -I"$root/tests/unit" -o "$out/seeds" "$root/tests/fuzz/seeds.c" "$root/webhook/buf.c" -lz -lzstd
rm -rf "$out/seeds-corpus"
"$out/seeds" "$out/seeds-corpus"
# Small real executables make good ELF seeds when the inspect tests have built them.
for f in gccgo linkshared; do
    [ -f "$root/build/inspect/bin/$f" ] && cp "$root/build/inspect/bin/$f" "$out/seeds-corpus/fuzz_elf/real-$f"
done

targets=$*
[ -n "$targets" ] || targets=$(cd "$root/tests/fuzz" && ls fuzz_*.c | sed 's/\.c$//')
# A target whose source has a JSON-aware custom mutator also runs as <target>_json.
if [ -z "$*" ]; then
    for t in $targets; do
        grep -q JSON_MUTATOR "$root/tests/fuzz/$t.c" && targets="$targets ${t}_json"
    done
fi
status=0
for t in $targets; do
    src=$t
    variant=""
    case $t in *_json) src=${t%_json} variant=-DJSON_MUTATOR ;; esac
    # shellcheck disable=SC2086,SC2046
    clang $flags $variant -fsanitize=fuzzer -I"$root/webhook" -I"$root/tests/support" $(pkg-config --cflags $pkgs) -o "$out/$t" \
        "$root/tests/fuzz/$src.c" $objs $(pkg-config --libs $pkgs) -lpthread
    mkdir -p "$out/corpus/$t" "$out/artifacts/$t"
    seeds=""
    for d in "$out/seeds-corpus/$src" "$root/tests/fuzz/corpus/$src" "$root/tests/fuzz/regressions/$src"; do
        [ -d "$d" ] && seeds="$seeds $d"
    done
    dict=""
    [ -f "$root/tests/fuzz/$src.dict" ] && dict="-dict=$root/tests/fuzz/$src.dict"
    say "$t for ${seconds}s"
    # shellcheck disable=SC2086
    if ! "$out/$t" -max_total_time="$seconds" -max_len=131072 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$out/artifacts/$t/" $dict "$out/corpus/$t" $seeds \
        >"$out/$t.log" 2>&1; then
        say "$t FAILED: $(grep -m1 -E 'ERROR|SUMMARY' "$out/$t.log" || tail -n 3 "$out/$t.log")"
        say "artifacts: $(ls "$out/artifacts/$t")"
        status=1
    else
        say "$t: $(grep -E '^stat::number_of_executed_units' "$out/$t.log" | awk '{print $2}') runs, corpus $(ls "$out/corpus/$t" | wc -l), no crash"
    fi
done
exit $status
