#!/usr/bin/env bash
# `make quickstart`: the README's two commands on a fresh, minimal Debian 12.
#
# A container of the project's own base image (docker/base-image.sh: debootstrap
# --variant=minbase, no compiler, no libraries) gets the checkout and `make`, and
# Go mounted read-only for the tests, as the README's quick start assumes. Then:
#
#   1. `make run` installs what is missing, builds, and serves; the curl line it
#      prints is run as printed and must get an AdmissionReview answer with a patch;
#   2. `make test` installs what else is missing and runs the suite.
#
# Docker is not available inside the container, so the suites that need it skip
# with their reason, as they would on such a machine.
#
#   tests/quickstart/run.sh [BASE_IMAGE]
#
#   QUICKSTART_TEST=0   check `make run` only (CI: the host's own `make test` covers the suite)
set -euo pipefail

top="$(cd "$(dirname "$0")/../.." && pwd)"
image="${1:-localhost/goinject-base/debian:bookworm}"
go_root="${GOROOT_HOST:-/usr/local/go}"
name="goinject-quickstart-$$"
work="$(mktemp -d /tmp/goinject-quickstart.XXXXXX)"
t0=$SECONDS

say() { printf 'quickstart: %s\n' "$*" >&2; }
fail() {
    say "FAILED: $*"
    exit 1
}
cleanup() {
    docker rm -f "$name" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

command -v docker >/dev/null || fail "needs a Docker engine"
[[ -x "$go_root/bin/go" ]] || fail "needs Go at $go_root (set GOROOT_HOST)"
"$top/docker/base-image.sh" "$image"

# The checkout as a new user has it: tracked and new files, no build/.
mkdir -p "$work/src"
(cd "$top" && git ls-files -z --cached --others --exclude-standard |
    xargs -0 tar -cf - --no-recursion) | tar -xf - -C "$work/src"

docker run -d --name "$name" --network bridge -v "$work/src:/src" \
    -v "$go_root:/usr/local/go:ro" "$image" sleep infinity >/dev/null
in_box() { docker exec "$name" bash -euo pipefail -c "$1"; }

in_box 'command -v cc gcc make pkg-config >/dev/null' &&
    fail "the base image is not minimal: it already has a compiler or make"
say "installing make (the quick start's one assumption)"
in_box 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq make >/dev/null'

# 1. make run
say "make run"
docker exec -d "$name" bash -c 'cd /src && make run >/tmp/run.log 2>&1'
deadline=$((SECONDS + 1200))
until in_box 'grep -q "^  curl " /tmp/run.log' && in_box 'curl -sk -o /dev/null https://127.0.0.1:8443/healthz'; do
    ((SECONDS < deadline)) || { in_box 'tail -n 30 /tmp/run.log' || true; fail "make run did not serve within 20 minutes"; }
    in_box 'grep -qx -e make -e goinject /proc/[0-9]*/comm 2>/dev/null' || {
        in_box 'tail -n 30 /tmp/run.log' || true
        fail "make run stopped"
    }
    sleep 5
done
say "make run serves after $((SECONDS - t0)) s"
curl_line="$(in_box "sed -n 's/^  \\(curl .*\\)\$/\\1/p' /tmp/run.log")"
[[ "$curl_line" == "curl -sS --cacert /src/build/run-certs/ca.crt "* ]] || fail "unexpected curl line: $curl_line"
answer="$(in_box "$curl_line")"
grep -q '"allowed":true' <<<"$answer" || fail "the curl line's answer is not allowed: $answer"
grep -q '"patchType":"JSONPatch"' <<<"$answer" || fail "the curl line's answer has no patch: $answer"
say "the printed curl line got an answer with a patch"
in_box 'for p in /proc/[0-9]*; do [ "$(cat "$p/comm" 2>/dev/null)" = goinject ] && kill "${p#/proc/}"; done; true'

# 2. make test
if [[ "${QUICKSTART_TEST:-1}" == 0 ]]; then
    echo "quickstart: make run works on a fresh Debian 12 (make test not checked: QUICKSTART_TEST=0)"
    exit 0
fi
say "make test"
t1=$SECONDS
in_box 'cd /src && PATH=$PATH:/usr/local/go/bin make test' >"$work/test.log" 2>&1 || {
    tail -n 40 "$work/test.log"
    fail "make test failed"
}
grep -E '^(100%|[0-9]+%): Checks|passed|SKIP' "$work/test.log" | tail -n 20 >&2 || true
say "make test passed in $((SECONDS - t1)) s; all in $((SECONDS - t0)) s"
echo "quickstart: make run and make test work on a fresh Debian 12"
