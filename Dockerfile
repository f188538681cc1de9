# goinject container image: the webhook and the agent bundle its init container copies.
# See README.md, "Container image". Build it with `make image`.
#
# BASE_IMAGE is any Debian 12 (bookworm) image. The default is built locally by
# docker/base-image.sh, because the machines this is built on cannot pull images; where a
# registry is reachable, `--build-arg BASE_IMAGE=debian:bookworm-slim` works unchanged.
# The Dockerfile keeps to what the classic builder understands (no BuildKit-only syntax).
ARG BASE_IMAGE=localhost/goinject-base/debian:bookworm

# ---- build: compile goinject and tini, stage exactly what the final image holds -----------
FROM ${BASE_IMAGE} AS build

ARG DEBIAN_FRONTEND=noninteractive
ARG DEBIAN_MIRROR=http://deb.debian.org/debian

# Build dependencies; tini (Debian's binary is the glibc tini of the bundle); musl and cmake to
# build the musl tini from Debian's tini source (hence the deb-src line).
RUN set -eu; \
    echo "deb-src ${DEBIAN_MIRROR} bookworm main" >/etc/apt/sources.list.d/goinject-deb-src.list; \
    apt-get update; \
    apt-get install -y --no-install-recommends \
        build-essential pkg-config libmicrohttpd-dev libgnutls28-dev libjansson-dev libssl-dev zlib1g-dev \
        libzstd-dev libcurl4-openssl-dev ca-certificates \
        tini musl musl-dev musl-tools cmake dpkg-dev binutils

# The agent bundle, part one: tini/glibc/tini and tini/musl/tini, both dynamically linked, so that the
# static Go child is started by a dynamically linked parent the APM agent can load into.
# apt-get source downloads as the unprivileged _apt user when that user may write the directory.
# The checks at the end: both tinis are dynamic executables asking for the right loader (musl's
# needs only musl's libc.so), both run, and both pass the child's exit status through.
WORKDIR /src/tini
RUN set -eu; \
    agent=/stage/opt/goinject/agent; \
    chown _apt /src/tini; \
    apt-get source --only-source tini; \
    cd tini-*/; \
    mkdir build-musl; cd build-musl; \
    CC=musl-gcc cmake -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_EXE_LINKER_FLAGS='-Wl,-z,now' .. >/dev/null; \
    make tini; \
    install -d -m 0755 /stage /stage/opt /stage/opt/goinject "$agent" "$agent/tini" \
        "$agent/tini/glibc" "$agent/tini/musl"; \
    install -m 0755 /usr/bin/tini "$agent/tini/glibc/tini"; \
    install -m 0755 tini "$agent/tini/musl/tini"; \
    readelf -lW "$agent/tini/glibc/tini" | grep -F '[Requesting program interpreter: /lib64/ld-linux-x86-64.so.2]'; \
    readelf -lW "$agent/tini/musl/tini" | grep -F '[Requesting program interpreter: /lib/ld-musl-x86_64.so.1]'; \
    readelf -dW "$agent/tini/musl/tini" | grep -F 'Shared library: [libc.so]'; \
    test -e /lib/ld-musl-x86_64.so.1; \
    "$agent/tini/glibc/tini" --version; \
    "$agent/tini/musl/tini" --version; \
    "$agent/tini/glibc/tini" -s -- /bin/true; \
    "$agent/tini/musl/tini" -s -- /bin/true; \
    if "$agent/tini/glibc/tini" -s -- /bin/false; then exit 1; fi; \
    if "$agent/tini/musl/tini" -s -- /bin/false; then exit 1; fi

# goinject itself: only what `make` needs is copied, so documentation edits keep this cached.
# Staged: the stripped binary; its shared libraries and the loader at the paths ldd resolves them
# to (symlinks followed); passwd and group with the nonroot user 65532. The staged tree alone must
# then run goinject (chroot), so no library can be missing from the image.
WORKDIR /src/goinject
COPY Makefile VERSION ./
COPY webhook/ webhook/
ARG VERSION=unknown
ARG REVISION=unknown
RUN set -eu; \
    if [ "$VERSION" != unknown ] && [ "$VERSION" != "$(cat VERSION)" ]; then \
        echo "build-arg VERSION=$VERSION but the VERSION file says $(cat VERSION)" >&2; exit 1; \
    fi; \
    make -j"$(nproc)" GOINJECT_DEPS=0 REVISION="$REVISION"; \
    install -d -m 0755 /stage/usr /stage/usr/local /stage/usr/local/bin /stage/etc \
        /stage/etc/goinject /stage/etc/goinject/tls; \
    strip --strip-unneeded -o /stage/usr/local/bin/goinject build/goinject; \
    chmod 0755 /stage/usr/local/bin/goinject; \
    ldd build/goinject | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' \
        | sort -u >/tmp/libs; \
    test -s /tmp/libs; \
    while read -r lib; do \
        dir=$(dirname "$lib"); \
        mkdir -p "/stage$dir"; \
        cp -L "$lib" "/stage$lib"; \
    done </tmp/libs; \
    find /stage -type d -exec chmod 0755 {} +; \
    printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' \
        'nonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin' >/stage/etc/passwd; \
    printf '%s\n' 'root:x:0:' 'nonroot:x:65532:' >/stage/etc/group; \
    chmod 0644 /stage/etc/passwd /stage/etc/group; \
    install -d -m 0755 /stage/etc/ssl /stage/etc/ssl/certs; \
    install -m 0644 /etc/ssl/certs/ca-certificates.crt /stage/etc/ssl/certs/ca-certificates.crt; \
    chroot /stage /usr/local/bin/goinject version; \
    chroot --userspec=65532:65532 /stage /usr/local/bin/goinject config >/dev/null

# The probe agent (agent/probe.c, `make probe`): probe/glibc and probe/musl, LD_PRELOAD libraries
# that record each process they are loaded into (README, "Proof at runtime"). Checked here: each
# needs only its C library, and loaded into the tini of its flavor it leaves exactly one record
# naming that libc and that tini; without GOINJECT_PROBE_DIR it leaves nothing and prints nothing.
COPY agent/ agent/
RUN set -eu; \
    agent=/stage/opt/goinject/agent; \
    make probe GOINJECT_DEPS=0 MUSL_CC=musl-gcc; \
    install -d -m 0755 "$agent/probe" "$agent/probe/glibc" "$agent/probe/musl"; \
    for libc in glibc musl; do \
        so="$agent/probe/$libc/libgoinject-probe.so"; \
        strip --strip-unneeded -o "$so" "build/probe/$libc/libgoinject-probe.so"; \
        chmod 0644 "$so"; \
        out=$(mktemp -d); \
        LD_PRELOAD="$so" GOINJECT_PROBE_DIR="$out" "$agent/tini/$libc/tini" --version >/dev/null; \
        test "$(ls "$out" | wc -l)" = 1; \
        grep -F "\"libc\":\"$libc\"" "$out"/*.json; \
        grep -F "\"exe\":\"$agent/tini/$libc/tini\"" "$out"/*.json >/dev/null; \
        test -z "$(LD_PRELOAD="$so" "$agent/tini/$libc/tini" --version 2>&1 | grep -v '^tini version')"; \
        rm -rf "$out"; \
    done; \
    readelf -dW "$agent/probe/glibc/libgoinject-probe.so" | grep -F 'Shared library: [libc.so.6]'; \
    readelf -dW "$agent/probe/musl/libgoinject-probe.so" | grep -F 'Shared library: [libc.so]'; \
    test "$(readelf -dW "$agent/probe/glibc/libgoinject-probe.so" | grep -c NEEDED)" = 1; \
    test "$(readelf -dW "$agent/probe/musl/libgoinject-probe.so" | grep -c NEEDED)" = 1; \
    find /stage | sort

# ---- the image: no shell, no package manager, non-root --------------------------------------
FROM scratch

ARG VERSION=unknown
ARG REVISION=unknown
ARG BASE_IMAGE=localhost/goinject-base/debian:bookworm
LABEL org.opencontainers.image.title="goinject" \
      org.opencontainers.image.description="Kubernetes mutating admission webhook that starts static Go entrypoints from a dynamically linked parent so APM agents can monitor them; also holds the agent bundle (tini and the probe agent, for glibc and musl)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="${BASE_IMAGE}"

COPY --from=build /stage/ /

USER 65532:65532
EXPOSE 8443
ENTRYPOINT ["/usr/local/bin/goinject"]
CMD ["serve", "--listen", ":8443", "--tls-cert", "/etc/goinject/tls/tls.crt", "--tls-key", "/etc/goinject/tls/tls.key"]
