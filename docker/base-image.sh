#!/bin/sh
# base-image.sh - build the Debian 12 base image of the goinject image, locally.
#
#   docker/base-image.sh [TAG]
#
# The Dockerfile starts FROM a Debian bookworm image. Where no registry can be reached, nothing
# can be pulled, so this script makes one: debootstrap a minimal (--variant=minbase) bookworm
# root filesystem from the Debian mirror and `docker import` it as TAG (default
# localhost/goinject-base/debian:bookworm). The "localhost/" registry part means the name can
# never be resolved against Docker Hub or any other public registry, so it never shadows or is
# shadowed by a real image.
#
# Nothing is done when TAG already exists (set GOINJECT_BASE_REBUILD=1 to rebuild). Downloaded
# packages are kept in GOINJECT_DEBOOTSTRAP_CACHE (default /var/cache/goinject-debootstrap), so
# a rebuild on the same machine downloads nothing. Needs root (debootstrap) and docker.
#
#   GOINJECT_DEBIAN_MIRROR   default http://deb.debian.org/debian
#   GOINJECT_DEBIAN_SUITE    default bookworm
set -eu

tag=${1:-localhost/goinject-base/debian:bookworm}
mirror=${GOINJECT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=${GOINJECT_DEBIAN_SUITE:-bookworm}
cache=${GOINJECT_DEBOOTSTRAP_CACHE:-/var/cache/goinject-debootstrap}

say() { echo "base-image: $*" >&2; }

exists() { docker image inspect "$tag" >/dev/null 2>&1; }

if [ "${GOINJECT_BASE_REBUILD:-0}" != 1 ] && exists; then
    say "$tag exists, nothing to do"
    exit 0
fi

if [ "$(id -u)" != 0 ]; then
    say "debootstrap needs root; run as root (or sudo)"
    exit 1
fi

if ! command -v debootstrap >/dev/null 2>&1; then
    say "installing debootstrap"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi

mkdir -p "$cache"
# Two builds at once on one machine would share the cache; let the second wait, then reuse.
exec 9>"$cache/.lock"
flock 9
if [ "${GOINJECT_BASE_REBUILD:-0}" != 1 ] && exists; then
    say "$tag was built meanwhile, nothing to do"
    exit 0
fi

work=$(mktemp -d /var/tmp/goinject-base.XXXXXX)
cleanup() {
    # debootstrap mounts /proc and /sys in the target while it runs; never delete through a mount.
    for m in "$work/rootfs/proc" "$work/rootfs/sys" "$work/rootfs/dev/pts"; do
        if mountpoint -q "$m" 2>/dev/null; then umount -l "$m" || true; fi
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rootfs=$work/rootfs
say "debootstrap $suite (minbase) from $mirror, cache $cache"
start=$(date +%s)
if ! debootstrap --variant=minbase --cache-dir="$cache" --merged-usr "$suite" "$rootfs" "$mirror" \
    >"$work/debootstrap.log" 2>&1; then
    tail -n 30 "$work/debootstrap.log" >&2
    [ -f "$rootfs/debootstrap/debootstrap.log" ] && tail -n 30 "$rootfs/debootstrap/debootstrap.log" >&2
    say "debootstrap failed"
    exit 1
fi

# Make the tree a container image rather than a machine: the sources it updates from, no
# package lists or caches, nothing the container runtime provides itself.
cat >"$rootfs/etc/apt/sources.list" <<SOURCES
deb $mirror $suite main
deb $mirror $suite-updates main
deb ${mirror%/debian}/debian-security $suite-security main
SOURCES
cat >"$rootfs/etc/apt/apt.conf.d/90goinject-container" <<'APTCONF'
// Written by goinject's docker/base-image.sh: a container image keeps no downloaded packages
// and no translations.
APT::Keep-Downloaded-Packages "false";
Acquire::Languages "none";
APTCONF
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
    "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/archives/partial/* \
    "$rootfs"/var/log/apt/* "$rootfs"/tmp/* "$rootfs"/var/tmp/*
find "$rootfs/var/log" -type f -exec truncate -s 0 {} +
rm -f "$rootfs/etc/hostname" "$rootfs/etc/resolv.conf" "$rootfs/etc/hosts"
: >"$rootfs/etc/machine-id"

say "importing as $tag"
# /dev, /proc and /sys are provided by the runtime: import the directories, not their contents.
tar --numeric-owner -C "$rootfs" \
    --exclude=./dev/* --exclude=./proc/* --exclude=./sys/* -cf - . |
    docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["bash"]' \
        --message "debootstrap --variant=minbase $suite $mirror (goinject docker/base-image.sh)" \
        - "$tag" >/dev/null
say "built $tag in $(($(date +%s) - start))s ($(docker image inspect -f '{{.Size}}' "$tag") bytes)"
