#!/bin/sh
# build.sh OUT_DIR: the runtime tests' programs into OUT_DIR/bin: goapp (the static Go program of
# the test images), goapp-cgo (the same with cgo, linked statically), podrun (the pod runner) and
# e2e (the checks; -node runs them on a real node). Used by run.sh (make e2e-runtime) and by
# make e2e (the runtime proof on the e2e node). GO names the go command.
set -eu
out=${1:?usage: build.sh OUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
mkdir -p "$out/bin"
cd "$here"
# The programs in the images: static Go without cgo (as the contract's static Go binary), and
# static with cgo. -trimpath and no VCS stamp keep the binaries, hence the image hashes, stable.
CGO_ENABLED=0 "$GO" build -trimpath -buildvcs=false -o "$out/bin/goapp" ./goapp
CGO_ENABLED=1 "$GO" build -trimpath -buildvcs=false \
    -ldflags '-linkmode external -extldflags -static' -o "$out/bin/goapp-cgo" ./goapp
"$GO" build -o "$out/bin/podrun" ./podrun
"$GO" build -o "$out/bin/e2e" ./e2e
