#!/bin/sh
# build-images.sh - build the test images with Docker and `docker save` each to a tarball.
#
#   tests/inspect/build-images.sh BINDIR OUTDIR
#
# BINDIR holds the binaries of build-binaries.sh. Writes OUTDIR/<name>.tar for each image below
# (tagged localhost/goinject-inspect/<name>:test). No registry is needed: the images start FROM
# scratch or FROM the local Debian base image (docker/base-image.sh builds it when missing).
# Exits 3 (and writes nothing) when Docker is not usable, so callers can skip.
set -eu
bindir=$(cd "${1:?usage: build-images.sh BINDIR OUTDIR}" && pwd)
out=${2:?usage: build-images.sh BINDIR OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
base=${GOINJECT_BASE_IMAGE:-localhost/goinject-base/debian:bookworm}
say() { echo "build-images: $*" >&2; }

if ! docker info >/dev/null 2>&1; then
    say "docker is not usable here"
    exit 3
fi
if ! docker image inspect "$base" >/dev/null 2>&1; then
    say "building the base image $base"
    "$here/../../docker/base-image.sh" "$base" || exit 3
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
# Cached: nothing is rebuilt while the binaries, this script and the base image are unchanged.
stamp=$( (cat "$bindir/.stamp" "$0"; docker image inspect -f '{{.Id}}' "$base") | sha256sum | cut -c1-64)
if [ -f "$out/.stamp" ] && [ "$(cat "$out/.stamp")" = "$stamp" ]; then
    exit 0
fi
rm -f "$out"/*.tar "$out/.stamp"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# image NAME: builds $work/NAME (a Dockerfile and its files) and saves it as $out/NAME.tar.
image() {
    tag=localhost/goinject-inspect/$1:test
    DOCKER_BUILDKIT=0 docker build -q -t "$tag" "$work/$1" >"$work/$1.log" 2>&1 ||
        { cat "$work/$1.log" >&2; exit 1; }
    docker save -o "$out/$1.tar" "$tag"
}

# A static Go binary in the Debian base: /bin/sh is dash (through the merged-usr /bin symlink).
mkdir -p "$work/shell"
cp "$bindir/static" "$work/shell/server"
cat >"$work/shell/Dockerfile" <<EOF
FROM $base
COPY server /app/server
ENTRYPOINT ["/app/server"]
CMD ["--port", "8080"]
EOF
image shell

# FROM scratch: no shell, no C library.
mkdir -p "$work/scratch"
cp "$bindir/static" "$work/scratch/server"
cat >"$work/scratch/Dockerfile" <<'EOF'
FROM scratch
COPY server /server
ENTRYPOINT ["/server"]
EOF
image scratch

# A static busybox as /bin/sh (a symlink to it): a shell, but not one the agent can load into.
mkdir -p "$work/busybox/root/bin"
cp /bin/busybox "$work/busybox/root/bin/busybox"
ln -s busybox "$work/busybox/root/bin/sh"
cp "$bindir/static" "$work/busybox/root/app"
cat >"$work/busybox/Dockerfile" <<'EOF'
FROM scratch
COPY root/ /
ENTRYPOINT ["/app"]
EOF
image busybox

# Distroless-like: glibc's loader and libc, no shell.
mkdir -p "$work/distroless/root/lib/x86_64-linux-gnu" "$work/distroless/root/lib64"
cp -L /lib/x86_64-linux-gnu/libc.so.6 /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 \
    "$work/distroless/root/lib/x86_64-linux-gnu/"
ln -s ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$work/distroless/root/lib64/ld-linux-x86-64.so.2"
cp "$bindir/static" "$work/distroless/root/server"
cat >"$work/distroless/Dockerfile" <<'EOF'
FROM scratch
COPY root/ /
ENTRYPOINT ["/server"]
CMD ["serve"]
EOF
image distroless

# The entrypoint found through PATH and symlinks: /usr/local/bin/server -> /opt/app/current/server
# (absolute), /opt/app/current -> bin-1.0 (relative, a directory).
mkdir -p "$work/path-symlink/root/usr/local/bin" "$work/path-symlink/root/opt/app/bin-1.0"
cp "$bindir/static" "$work/path-symlink/root/opt/app/bin-1.0/server"
ln -s bin-1.0 "$work/path-symlink/root/opt/app/current"
ln -s /opt/app/current/server "$work/path-symlink/root/usr/local/bin/server"
cat >"$work/path-symlink/Dockerfile" <<EOF
FROM $base
COPY root/ /
ENTRYPOINT ["server"]
CMD ["run", "--verbose"]
EOF
image path-symlink

# A shell that starts the program: the static Go binary behind /bin/sh -c.
mkdir -p "$work/shell-c"
cp "$bindir/static" "$work/shell-c/server"
cat >"$work/shell-c/Dockerfile" <<EOF
FROM $base
COPY server /app/server
ENTRYPOINT ["/bin/sh", "-c", "exec /app/server \"\$@\"", "server"]
CMD ["--port", "9090"]
EOF
image shell-c

# musl: its loader and a Go binary externally linked against it; no shell.
mkdir -p "$work/musl/root/lib"
cp -L /lib/ld-musl-x86_64.so.1 "$work/musl/root/lib/ld-musl-x86_64.so.1"
cp "$bindir/musl-external" "$work/musl/root/app"
cat >"$work/musl/Dockerfile" <<'EOF'
FROM scratch
COPY root/ /
ENTRYPOINT ["/app"]
EOF
image musl

# A static cgo binary in the Debian base: unsupported.
mkdir -p "$work/cgo-static"
cp "$bindir/cgo-static" "$work/cgo-static/app"
cat >"$work/cgo-static/Dockerfile" <<EOF
FROM $base
COPY app /usr/bin/app
CMD ["app"]
EOF
image cgo-static

echo "$stamp" >"$out/.stamp"
say "saved $(ls "$out" | wc -l) images in $out"
