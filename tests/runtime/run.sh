#!/bin/sh
# Runtime proof (make e2e-runtime): builds the test programs and runs tests/runtime/e2e.
# usage: run.sh BUILD_DIR GOINJECT_BINARY GOINJECT_IMAGE BASE_IMAGE
# Needs root (the probe checks switch users; the init container's files are owned by 65532), a
# Docker engine, Go and a C compiler with static glibc (for the cgo image). GO names the go
# command (default: go on PATH, else /usr/local/go/bin/go).
set -eu
build=${1:?usage: run.sh BUILD_DIR GOINJECT_BINARY GOINJECT_IMAGE BASE_IMAGE}
goinject=${2:?} image=${3:?} base=${4:?}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
case $build in /*) ;; *) build=$root/$build ;; esac
case $goinject in /*) ;; *) goinject=$root/$goinject ;; esac
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
out=$build/runtime

docker info >/dev/null 2>&1 || { echo "e2e-runtime: the Docker engine is not reachable" >&2; exit 1; }
GO="$GO" "$here/build.sh" "$out"
cd "$here"
"$GO" vet ./...
"$GO" test -count=1 ./...
exec "$out/bin/e2e" -goinject "$goinject" -podrun "$out/bin/podrun" -bin "$out/bin" \
    -probe "$build/probe" -repo "$root" -image "$image" -base "$base" -work "$out/work"
