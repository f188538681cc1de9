#!/bin/sh
# smoke.sh - check the test registry itself with curl, before the C client relies on it.
#
#   tests/registry/smoke.sh BUILD
#
# Builds BUILD/registry/testregistry and the inspect images (cached under BUILD/inspect, as
# tests/inspect/run.sh does), starts `testregistry serve` in a temporary state directory, seeds
# it, then checks the Bearer token flow, Basic auth, the request log and every fault kind, and
# stops the server. Needs Go, curl, jq, and Docker for the images (skipped without it).
# Ends with "registry smoke: N passed, M failed"; exits non-zero when something failed.
set -u
build=${1:?usage: smoke.sh BUILD}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$build/registry" "$build/inspect"
build=$(cd "$build" && pwd)
bin=$build/registry/testregistry
go=$(command -v go 2>/dev/null || echo /usr/local/go/bin/go)
work=$(mktemp -d)
pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
passed=0
failed=0

pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
# check NAME COMMAND...: passes when COMMAND succeeds
check() {
    _name=$1
    shift
    if "$@"; then pass; else fail "$_name"; fi
}
finish() {
    echo "registry smoke: $passed passed, $failed failed"
    [ "$failed" = 0 ]
    exit
}

# ---- build -----------------------------------------------------------------------------------
if ! (cd "$here" && GOWORK=off GOTOOLCHAIN=local "$go" build -o "$bin" .); then
    fail "building testregistry"
    finish
fi
if ! "$here/../inspect/build-binaries.sh" "$build/inspect/bin"; then
    fail "build-binaries.sh"
    finish
fi
"$here/../inspect/build-images.sh" "$build/inspect/bin" "$build/inspect/images"
rc=$?
if [ "$rc" = 3 ]; then
    echo "SKIP: Docker is not usable here: no images to seed the registry with"
    finish
elif [ "$rc" != 0 ]; then
    fail "build-images.sh"
    finish
fi

# ---- serve -----------------------------------------------------------------------------------
state=$work/state
"$bin" serve -state "$state" -exit-after 10m 2>"$work/serve.log" &
pid=$!
for _ in $(seq 100); do
    [ -f "$state/addr.json" ] && break
    sleep 0.05
done
if [ ! -f "$state/addr.json" ]; then
    fail "no addr.json: $(cat "$work/serve.log")"
    finish
fi
main=$(jq -r .main "$state/addr.json")
other=$(jq -r .other "$state/addr.json")
plain=$(jq -r .plain "$state/addr.json")
ca=$(jq -r .ca "$state/addr.json")
check "addr.json pid" [ "$(jq -r .pid "$state/addr.json")" = "$pid" ]
check "other on 127.0.0.2" [ "${other%:*}" = 127.0.0.2 ]
check "ca.crt" grep -q 'BEGIN CERTIFICATE' "$ca"

c() { curl -sS --max-time 10 --cacert "$ca" "$@"; }
control() { # control METHOD PATH [BODY]
    c -X "$1" ${3:+-d "$3"} -o "$work/control.out" -w '%{http_code}' "https://$main/_control/$2"
}
# hdr FILE NAME: the value of header NAME in a curl -D dump
hdr() { tr -d '\r' <"$1" | sed -n "s/^$2: //Ip" | tail -n 1; }
accept='-H Accept:application/vnd.oci.image.index.v1+json -H Accept:application/vnd.oci.image.manifest.v1+json
 -H Accept:application/vnd.docker.distribution.manifest.list.v2+json -H Accept:application/vnd.docker.distribution.manifest.v2+json'

# ---- seed ------------------------------------------------------------------------------------
if "$bin" seed -addr "$main" -ca "$ca" -images "$build/inspect/images" >"$work/seed.out" 2>&1; then
    pass
else
    fail "seed: $(cat "$work/seed.out")"
    finish
fi
seed=$build/inspect/registry-seed.json
check "seed printed 12 refs" [ "$(wc -l <"$work/seed.out")" = 12 ]
check "registry-seed.json has 12 refs" [ "$(jq length "$seed")" = 12 ]
shell_digest=$(jq -r '."goinject/shell:test"' "$seed")

# Without auth, a manifest HEAD answers the seeded digest, on main and on plain.
# shellcheck disable=SC2086 # $accept is meant to split
c -I $accept -o /dev/null -D "$work/h" "https://$main/v2/goinject/shell/manifests/test"
check "anonymous HEAD digest" [ "$(hdr "$work/h" Docker-Content-Digest)" = "$shell_digest" ]
# shellcheck disable=SC2086
curl -sS --max-time 10 -I $accept -o /dev/null -D "$work/h" "http://$plain/v2/goinject/shell/manifests/test"
check "plain listener HEAD digest" [ "$(hdr "$work/h" Docker-Content-Digest)" = "$shell_digest" ]
# The multi-arch index: two platforms and an attestation for the first.
# shellcheck disable=SC2086
c $accept "https://$main/v2/goinject/multiarch/manifests/test" >"$work/index.json"
check "multiarch index" [ "$(jq -c '[.mediaType, [.manifests[].platform | .os + "/" + .architecture],
    .manifests[2].annotations["vnd.docker.reference.type"],
    .manifests[2].annotations["vnd.docker.reference.digest"] == .manifests[0].digest]' "$work/index.json")" = \
    '["application/vnd.oci.image.index.v1+json",["linux/amd64","linux/arm64","unknown/unknown"],"attestation-manifest",true]' ]

# ---- Bearer ----------------------------------------------------------------------------------
check "auth bearer" [ "$(control PUT auth '{"mode":"bearer","user":"u","password":"p"}')" = 200 ]
c -o "$work/401.json" -D "$work/h" "https://$main/v2/goinject/shell/manifests/test"
check "401 without a token" grep -q '^HTTP/[0-9.]* 401' "$work/h"
check "challenge" [ "$(hdr "$work/h" WWW-Authenticate)" = \
    "Bearer realm=\"https://$main/token\",service=\"testregistry\",scope=\"repository:goinject/shell:pull,push\"" ]
check "401 body" [ "$(jq -r '.errors[0].code' "$work/401.json")" = UNAUTHORIZED ]
c -o /dev/null -D "$work/h" "https://$main/v2/"
check "ping needs a token too" grep -q '^HTTP/[0-9.]* 401' "$work/h"
tokurl="https://$main/token?service=testregistry&scope=repository:goinject/shell:pull"
check "token without credentials: 401" [ "$(c -o /dev/null -w '%{http_code}' "$tokurl")" = 401 ]
check "token with a wrong password: 401" [ "$(c -u u:x -o /dev/null -w '%{http_code}' "$tokurl")" = 401 ]
c -u u:p "$tokurl" >"$work/token.json"
token=$(jq -r .token "$work/token.json")
check "token answer" [ "$(jq -c '[.access_token == .token, .expires_in, (.issued_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T"))]' "$work/token.json")" = '[true,60,true]' ]
# shellcheck disable=SC2086
c -I $accept -H "Authorization: Bearer $token" -o /dev/null -D "$work/h" "https://$main/v2/goinject/shell/manifests/test"
check "HEAD with the token: 200" grep -q '^HTTP/[0-9.]* 200' "$work/h"
check "HEAD with the token: digest" [ "$(hdr "$work/h" Docker-Content-Digest)" = "$shell_digest" ]
c -I -H "Authorization: Bearer $token" -o /dev/null -D "$work/h" "https://$main/v2/goinject/scratch/manifests/test"
check "token of another repository: 401 insufficient_scope" grep -qi '^www-authenticate: .*error="insufficient_scope"' "$work/h"
check "plain listener: same rule" [ "$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "http://$plain/v2/")" = 401 ]
# The tools push through the token flow, and fail without credentials.
check "push -zstd with bearer" "$bin" push -addr "$main" -ca "$ca" -user u -password p -zstd \
    "$build/inspect/images/scratch.tar" goinject/smoke:zstd >/dev/null
check "anonymous push refused" [ "$("$bin" push -addr "$main" -ca "$ca" \
    "$build/inspect/images/scratch.tar" goinject/smoke:anon >/dev/null 2>&1; echo $?)" = 1 ]
# Expiry: a token of a 1-second TTL is refused after 1 second.
control PUT auth '{"mode":"bearer","tokenTTL":1}' >/dev/null
short=$(c "https://$main/token?service=testregistry&scope=repository:goinject/shell:pull" | jq -r .token)
check "short token works" [ "$(c -I -H "Authorization: Bearer $short" -o /dev/null -w '%{http_code}' "https://$main/v2/goinject/shell/manifests/test")" = 200 ]
sleep 1.2
c -I -H "Authorization: Bearer $short" -o /dev/null -D "$work/h" "https://$main/v2/goinject/shell/manifests/test"
check "expired token: 401 invalid_token" grep -qi '^www-authenticate: .*error="invalid_token"' "$work/h"

# ---- Basic -----------------------------------------------------------------------------------
control PUT auth '{"mode":"basic","user":"u","password":"p"}' >/dev/null
c -o /dev/null -D "$work/h" "https://$main/v2/"
check "basic: challenge" [ "$(hdr "$work/h" WWW-Authenticate)" = 'Basic realm="testregistry"' ]
check "basic: with credentials" [ "$(c -u u:p -o /dev/null -w '%{http_code}' "https://$main/v2/")" = 200 ]

# ---- the log ---------------------------------------------------------------------------------
control PUT auth '{"mode":"bearer","user":"u","password":"p"}' >/dev/null
check "log reset" [ "$(control DELETE log)" = 200 ]
token=$(c -u u:p "$tokurl" | jq -r .token)
c -I -o /dev/null "https://$main/v2/goinject/shell/manifests/test"
c -I -H "Authorization: Bearer $token" -o /dev/null "https://$main/v2/goinject/shell/manifests/test"
control GET log >/dev/null
check "log entries" [ "$(jq -c '[.[] | [.listener, .method, .path, .status, .auth]]' "$work/control.out")" = \
    '[["main","GET","/token",200,"basic"],["main","HEAD","/v2/goinject/shell/manifests/test",401,"none"],["main","HEAD","/v2/goinject/shell/manifests/test",200,"bearer"]]' ]
check "log query and time" [ "$(jq -r '.[0] | (.query | contains("scope=")) and (.time | test("^[0-9]{4}-"))' "$work/control.out")" = true ]

# ---- faults ----------------------------------------------------------------------------------
auth="Authorization: Bearer $token"
manifest=https://$main/v2/goinject/shell/manifests/test
# The config blob (small) and the top layer (the static Go binary) of goinject/shell.
# shellcheck disable=SC2086
c $accept -H "$auth" "$manifest" >"$work/manifest.json"
config=$(jq -r .config.digest "$work/manifest.json")
layer=$(jq -r '.layers[-1].digest' "$work/manifest.json")
blob=https://$main/v2/goinject/shell/blobs

check "429 fault set" [ "$(control PUT faults '[{"match":"/manifests/","method":"GET","kind":"status","status":429,"retryAfter":"2","count":1}]')" = 200 ]
c -H "$auth" -o "$work/429.json" -D "$work/h" "$manifest"
check "429" grep -q '^HTTP/[0-9.]* 429' "$work/h"
check "429 Retry-After" [ "$(hdr "$work/h" Retry-After)" = 2 ]
check "429 body" [ "$(jq -r '.errors[0].code' "$work/429.json")" = TOOMANYREQUESTS ]
check "429 count used up" [ "$(c -H "$auth" -o /dev/null -w '%{http_code}' "$manifest")" = 200 ]

control PUT faults '[{"match":"/manifests/","method":"HEAD","kind":"status","status":503}]' >/dev/null
check "503 on HEAD" [ "$(c -I -H "$auth" -o /dev/null -w '%{http_code}' "$manifest")" = 503 ]
check "503 not on GET" [ "$(c -H "$auth" -o /dev/null -w '%{http_code}' "$manifest")" = 200 ]

# Redirect: curl drops the Authorization header when it follows to another host.
control PUT faults '[{"match":"/blobs/","method":"GET","kind":"redirect"}]' >/dev/null
control DELETE log >/dev/null
c -H "$auth" -o /dev/null -D "$work/h" "$blob/$layer"
check "redirect: 307" grep -q '^HTTP/[0-9.]* 307' "$work/h"
check "redirect: to other" expr "$(hdr "$work/h" Location)" : "https://$other/v2/goinject/shell/blobs/$layer?" >/dev/null
c -L -H "$auth" -o "$work/layer" "$blob/$layer"
check "redirect: the same bytes" [ "sha256:$(sha256sum <"$work/layer" | cut -c1-64)" = "$layer" ]
control GET log >/dev/null
check "redirect: logged, no auth on other" [ "$(jq -c '[.[] | select(.listener == "other") | [.status, .auth]]' "$work/control.out")" = '[[200,"none"]]' ]
check "other serves blobs only" [ "$(c -o /dev/null -w '%{http_code}' "https://$other/v2/goinject/shell/manifests/test")" = 404 ]

# Tamper: same length and headers, one byte changed.
control PUT faults '[]' >/dev/null
c -H "$auth" -o "$work/config.good" "$blob/$config"
control PUT faults '[{"match":"/blobs/","kind":"tamper","count":1}]' >/dev/null
c -H "$auth" -o "$work/config.bad" -D "$work/h" "$blob/$config"
check "tamper: digest header kept" [ "$(hdr "$work/h" Docker-Content-Digest)" = "$config" ]
check "tamper: length kept" [ "$(hdr "$work/h" Content-Length)" = "$(wc -c <"$work/config.good")" ]
check "tamper: one byte changed" [ "$(cmp -l "$work/config.good" "$work/config.bad" 2>&1 | wc -l)" = 1 ]
c -H "$auth" -o "$work/config.again" "$blob/$config"
check "tamper: count used up" cmp -s "$work/config.good" "$work/config.again"

# Delay and hang.
control PUT faults '[{"match":"/manifests/","kind":"delay","delayMs":400}]' >/dev/null
t=$(c -I -H "$auth" -o /dev/null -w '%{time_total}' "$manifest")
check "delay: >= 0.4 s ($t)" awk "BEGIN { exit !($t >= 0.4) }"
control PUT faults '[{"match":"/manifests/","kind":"hang"}]' >/dev/null
control DELETE log >/dev/null
c -I -H "$auth" -o /dev/null --max-time 1 "$manifest" 2>/dev/null
check "hang: curl times out" [ $? = 28 ]
sleep 0.2
control GET log >/dev/null
check "hang: logged unanswered" [ "$(jq -c '[.[] | [.status, .fault]]' "$work/control.out")" = '[[0,"hang"]]' ]

check "bad fault refused" [ "$(control PUT faults '[{"match":"(","kind":"hang"}]')" = 400 ]
check "faults cleared" [ "$(control PUT faults '[]')" = 200 ]
check "normal again" [ "$(c -I -H "$auth" -o /dev/null -w '%{http_code}' "$manifest")" = 200 ]

# ---- stop ------------------------------------------------------------------------------------
kill -TERM "$pid"
wait "$pid"
check "SIGTERM: clean exit" [ $? = 0 ]
pid=""
check "addr.json removed at exit" [ ! -e "$state/addr.json" ]

finish
