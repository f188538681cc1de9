#!/bin/sh
# build-binaries.sh - build the test programs in every build mode of the limitations list.
#
#   tests/inspect/build-binaries.sh OUTDIR
#
# Writes OUTDIR/<mode> for each mode below, and OUTDIR/<mode>.skip (one line: why) for a mode
# this machine cannot build. The result is cached: nothing is rebuilt while the sources, this
# script and the Go version are unchanged (OUTDIR/.stamp). Needs Go (PATH or /usr/local/go/bin),
# gcc, musl-gcc (musl-tools); gccgo-12 is optional (the non-gc mode is skipped without it).
# Offline: GOPROXY=off, the vendored dependency is a local replacement.
set -eu
out=${1:?usage: build-binaries.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
src=$here/src
PATH=$PATH:/usr/local/go/bin
export PATH GOTOOLCHAIN=local GOPROXY=off GOFLAGS='' GOWORK=off GO111MODULE=on
go=$(command -v go) || { echo "build-binaries: Go not found" >&2; exit 1; }
mkdir -p "$out"
out=$(cd "$out" && pwd)

stamp=$( (go version; cat "$0"; find "$src" -type f | LC_ALL=C sort | xargs cat) | sha256sum | cut -c1-64)
if [ -f "$out/.stamp" ] && [ "$(cat "$out/.stamp")" = "$stamp" ]; then
    exit 0
fi
rm -f "$out"/* "$out/.stamp"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$src"/. "$work"/

say() { echo "build-binaries: $*" >&2; }
skip() { mode=$1; shift; echo "$*" >"$out/$mode.skip"; say "$mode skipped: $*"; }

# build MODE PROGRAM [VAR=VALUE...] -- [go build flags...]
build() {
    mode=$1 prog=$2
    shift 2
    envs=""
    while [ "$1" != "--" ]; do envs="$envs $1"; shift; done
    shift
    # shellcheck disable=SC2086 # envs are VAR=VALUE words
    if (cd "$work/$prog" && env $envs "$go" build -o "$out/$mode" "$@" . >"$work/$mode.log" 2>&1); then
        :
    else
        skip "$mode" "go build failed: $(tail -n 1 "$work/$mode.log")"
    fi
}

build static hello CGO_ENABLED=0 --
build external hello CGO_ENABLED=1 -- -ldflags=-linkmode=external
build pie-nocgo hello CGO_ENABLED=0 -- -buildmode=pie
build pie-external hello CGO_ENABLED=1 -- -buildmode=pie -ldflags=-linkmode=external
build stripped hello CGO_ENABLED=0 -- -ldflags=-s
build race hello CGO_ENABLED=1 -- -race
build net-internal netlookup CGO_ENABLED=1 --
build cgo-dynamic cgo CGO_ENABLED=1 --
build cgo-static cgo CGO_ENABLED=1 -- "-ldflags=-linkmode=external -extldflags=-static"
build cgo-stripped cgo CGO_ENABLED=1 -- "-ldflags=-s -linkmode=external -extldflags=-static"
build plugin plugin CGO_ENABLED=1 --
if command -v musl-gcc >/dev/null 2>&1; then
    build musl-external cgo CC=musl-gcc CGO_ENABLED=1 -- -ldflags=-linkmode=external
    build musl-internal netlookup CC=musl-gcc CGO_ENABLED=1 -- -ldflags=-linkmode=internal
else
    skip musl-external "musl-gcc not installed (apt-get install musl-tools)"
    skip musl-internal "musl-gcc not installed (apt-get install musl-tools)"
fi

# Vendored: `go mod vendor` copies the local replacement into vendor/, and the build uses it.
if (cd "$work/vendored" && "$go" mod vendor >"$work/vendor.log" 2>&1); then
    build vendored vendored CGO_ENABLED=0 --
else
    skip vendored "go mod vendor failed: $(tail -n 1 "$work/vendor.log")"
fi

# Stripped after the build by binutils' strip, which also drops the section of symbol names.
if [ -f "$out/static" ] && command -v strip >/dev/null 2>&1; then
    strip -o "$out/strip-tool" "$out/static"
fi

# -linkshared needs Go packages built as a shared library first. The runtime alone (with
# sync/atomic, which it needs) is enough and takes seconds; all of std would take minutes.
if (cd "$work/hello" && CGO_ENABLED=1 "$go" install -buildmode=shared -pkgdir "$work/shared-std" \
    runtime sync/atomic >"$work/shared.log" 2>&1); then
    build linkshared hello CGO_ENABLED=1 -- -linkshared -pkgdir "$work/shared-std"
else
    skip linkshared "go install -buildmode=shared runtime failed: $(grep -v '^#' "$work/shared.log" | tail -n 1)"
fi

# A toolchain other than gc: Debian's gccgo.
gccgo=$(command -v gccgo-12 || command -v gccgo || true)
if [ -n "$gccgo" ]; then
    if ! "$gccgo" -O1 -o "$out/gccgo" "$work/hello/main.go" >"$work/gccgo.log" 2>&1; then
        skip gccgo "gccgo failed: $(tail -n 1 "$work/gccgo.log")"
    fi
else
    skip gccgo "gccgo not installed (apt-get install gccgo-12)"
fi

echo "$stamp" >"$out/.stamp"
built=0
for f in "$out"/*; do
    case $f in *.skip) ;; *) built=$((built + 1)) ;; esac
done
say "built $built binaries in $out"
