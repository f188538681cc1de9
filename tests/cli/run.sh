#!/bin/sh
# Command-line contract of goinject: exit codes, one-line errors, defaults
# without a config file, config errors naming the field, copy-agent.
# usage: run.sh GOINJECT_BINARY
set -u
bin=${1:?usage: run.sh GOINJECT_BINARY}
here=$(cd "$(dirname "$0")" && pwd)
cases="$here/../golden/cases"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

# expect_exit NAME STATUS CMD...: runs CMD, keeps stdout/stderr in $work/out and $work/err
expect_exit() {
    name=$1 want=$2
    shift 2
    "$@" >"$work/out" 2>"$work/err"
    got=$?
    if [ "$got" = "$want" ]; then pass; else fail "$name: exit $got, want $want: $(head -c 300 "$work/err")"; fi
}

# expect_stderr_line NAME PATTERN: stderr is exactly one line and matches PATTERN
expect_stderr_line() {
    lines=$(wc -l <"$work/err")
    if [ "$lines" = 1 ] && grep -q -- "$2" "$work/err"; then pass; else fail "$1: stderr was: $(cat "$work/err")"; fi
}

# -- review
expect_exit "review of a fixture" 0 "$bin" review --no-registry "$cases/static-go-shell/review.json"
grep -q '"patchType":"JSONPatch"' "$work/out" && pass || fail "review answer has no patch"
expect_exit "review from stdin" 0 sh -c "\"$bin\" review - < \"$cases/static-go-shell/review.json\""
expect_exit "review of a Pod is not an AdmissionReview" 2 "$bin" review --no-registry "$here/pod.json"
expect_stderr_line "review error" "not an AdmissionReview: kind must be AdmissionReview"
printf '{"kind":' >"$work/broken.json"
expect_exit "review of malformed JSON" 2 "$bin" review --no-registry "$work/broken.json"
expect_stderr_line "malformed JSON error" "malformed JSON"
# jansson quotes the input near the error; a newline there must not break the line (fuzz_config found it in config).
printf '{"a":"\\\n"}' >"$work/newline.json"
expect_exit "review of JSON broken at a newline" 2 "$bin" review --no-registry "$work/newline.json"
expect_stderr_line "malformed JSON error stays one line" "invalid escape near"
expect_exit "mutate of JSON broken at a newline" 2 "$bin" mutate --no-registry "$work/newline.json"
expect_stderr_line "mutate's malformed JSON error stays one line" "invalid escape near"
expect_exit "review of a missing file" 2 "$bin" review --no-registry "$work/does-not-exist.json"
expect_stderr_line "missing file error" "cannot open"
[ ! -s "$work/out" ] && pass || fail "nothing is printed on stdout for bad input"

# -- modes and config
expect_exit "bad --mode" 2 "$bin" review --no-registry --mode hybrid "$cases/static-go-shell/review.json"
expect_stderr_line "bad mode error" "\-\-mode"
printf '{"agent": {"mountPath": "relative/path"}}' >"$work/bad-config.json"
expect_exit "invalid config" 2 "$bin" review --no-registry --config "$work/bad-config.json" "$cases/static-go-shell/review.json"
expect_stderr_line "config error names the field" "agent.mountPath"
printf '{"agnet": {}}' >"$work/typo-config.json"
expect_exit "unknown config field" 2 "$bin" mutate --no-registry --config "$work/typo-config.json" "$here/pod.json"
expect_stderr_line "unknown field is named" "agnet: unknown field"
printf '{"mode": "classic"}' >"$work/classic.json"
expect_exit "config file sets the mode" 0 "$bin" config --config "$work/classic.json"
grep -q '"mode": "classic"' "$work/out" && pass || fail "config --config did not set mode"
expect_exit "--mode overrides the file" 0 "$bin" config --config "$work/classic.json" --mode cloud-native
grep -q '"mode": "cloud-native"' "$work/out" && pass || fail "--mode did not override the file"
expect_exit "defaults without a file" 0 "$bin" config
grep -q '"annotationPrefix": "goinject.io"' "$work/out" && pass || fail "default prefix"
printf '{"podSecurityDefault": "Restricted"}' >"$work/bad-level.json"
expect_exit "invalid podSecurityDefault" 2 "$bin" config --config "$work/bad-level.json"
expect_stderr_line "podSecurityDefault error names the field" "podSecurityDefault"

# -- the cluster-wide Pod Security default, and a namespace labelled privileged
ps_case="$cases/pod-security-cluster-default"
expect_exit "cluster-wide default enforces" 0 "$bin" review --no-registry --config "$ps_case/config.json" "$ps_case/review.json"
grep -q "Pod Security level forbids" "$work/out" && pass || fail "cluster-wide default: no Pod Security warning"
expect_exit "labelled privileged overrides the default" 0 "$bin" review --no-registry --pod-security-privileged --config "$ps_case/config.json" "$ps_case/review.json"
grep -q "Pod Security level forbids" "$work/out" && fail "--pod-security-privileged: still a Pod Security warning" || pass

# -- mutate
expect_exit "mutate a Pod" 0 "$bin" mutate --no-registry "$here/pod.json"
grep -q '"exec \\"\$0\\" \\"\$@\\""' "$work/out" && pass || fail "mutate did not wrap the static Go entrypoint"
grep -q '^Warning: goinject: ' "$work/err" && fail "unexpected warning: $(cat "$work/err")" || pass
expect_exit "mutate a List" 0 sh -c "printf '{\"kind\":\"List\",\"apiVersion\":\"v1\",\"items\":[%s]}' \"\$(cat \"$here/pod.json\")\" | \"$bin\" mutate --no-registry"
grep -q '"goinject.io/injected": "true"' "$work/out" && pass || fail "List item not mutated"
expect_exit "mutate something else" 2 sh -c "echo '{\"kind\":\"Deployment\"}' | \"$bin\" mutate --no-registry"
expect_stderr_line "mutate error" "not a Pod, a workload, a List of them or an AdmissionReview"
jq .request.object "$cases/workload-deployment/review.json" >"$work/deployment.json"
expect_exit "mutate a Deployment" 0 "$bin" mutate --no-registry "$work/deployment.json"
jq -e --slurpfile want "$work/deployment.json" '. == $want[0]' "$work/out" >/dev/null && pass || fail "the Deployment was changed"
grep -q '^Warning: goinject: container "ingest": static Go binary with cgo' "$work/err" && pass || fail "the template's warning is missing: $(cat "$work/err")"
expect_exit "mutate prints warnings on stderr" 0 "$bin" mutate --no-registry "$cases/entrypoint-unknown/review.json"
grep -q '^Warning: goinject: container "search"' "$work/err" && pass || fail "warning missing"

# -- certgen and copy-agent
expect_exit "certgen" 0 "$bin" certgen --out "$work/certs" --host localhost --host 127.0.0.1
[ -s "$work/certs/ca.crt" ] && [ -s "$work/certs/tls.crt" ] && [ -s "$work/certs/tls.key" ] && pass || fail "certgen files"
expect_exit "certgen needs a host" 2 "$bin" certgen --out "$work/certs"
mkdir -p "$work/bundle/tini/glibc" "$work/dest"
printf '#!/bin/true\n' >"$work/bundle/tini/glibc/tini"
chmod 0755 "$work/bundle/tini/glibc/tini"
ln -s tini/glibc/tini "$work/bundle/tini-link"
expect_exit "copy-agent" 0 "$bin" copy-agent "$work/bundle" "$work/dest"
[ -x "$work/dest/tini/glibc/tini" ] && [ -L "$work/dest/tini-link" ] && pass || fail "copy-agent tree"
expect_exit "copy-agent from a missing dir" 1 "$bin" copy-agent "$work/nope" "$work/dest"
expect_exit "unknown command" 2 "$bin" frobnicate

# -- make run: the printed curl line gets a patched answer
port=$((20000 + $$ % 20000))
GOINJECT_LISTEN="127.0.0.1:$port" "$here/../run.sh" "$bin" >"$work/run.out" 2>"$work/run.err" &
run_pid=$!
curl_line=""
for _ in $(seq 50); do
    curl_line=$(grep -o "curl -sS .*/mutate" "$work/run.out" 2>/dev/null || true)
    [ -n "$curl_line" ] && grep -q '"msg":"listening"' "$work/run.err" 2>/dev/null && break
    sleep 0.1
done
if [ -n "$curl_line" ] && sh -c "$curl_line" >"$work/run.answer" 2>&1 &&
    grep -q '"patchType":"JSONPatch"' "$work/run.answer"; then
    pass
else
    fail "make run: the printed curl line got no patched answer: $(cat "$work/run.answer" "$work/run.err" 2>/dev/null | head -c 400)"
fi
kill -TERM "$run_pid" 2>/dev/null
wait "$run_pid" 2>/dev/null && pass || fail "make run: the server did not exit 0 on SIGTERM"

echo "cli: $passed passed, $failed failed"
[ "$failed" = 0 ]
