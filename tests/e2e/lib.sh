# shellcheck shell=bash
# The end-to-end suite's small test library: checks, assertions, and helpers
# to look at pods. Sourced by run.sh; needs bash, jq and $E2E_WORK (a scratch
# directory).
#
# A check is a function run in a subshell with `set -e`: the first failed
# command or assertion ends it, and what it printed is shown under its name.
#
#   check "what it proves" some_function ARGS...
#
# Assertions print what was expected and what was found, and return 1.

E2E_PASSED=0
E2E_FAILED=0
E2E_FAILED_NAMES=()

# check NAME FUNCTION [ARGS...]
# E2E_ONLY=PREFIX (for working on the suite) runs only the checks whose name starts with PREFIX,
# and every "setup:" step (later steps depend on them).
check() {
    local name="$1" out="$E2E_WORK/check.out" rc t0 t1
    if [[ -n "${E2E_ONLY:-}" && "$name" != "$E2E_ONLY"* && "$name" != setup:* ]]; then
        return 0
    fi
    shift
    t0=$(date +%s%N)
    # Not inside `if`/`||`: there bash would ignore `set -e` in the subshell.
    set +e
    (
        set -e
        "$@"
    ) >"$out" 2>&1 </dev/null
    rc=$?
    set -e
    t1=$(date +%s%N)
    local took
    took=$(awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.1fs", ns / 1e9 }')
    if ((rc == 0)); then
        E2E_PASSED=$((E2E_PASSED + 1))
        printf 'ok   - %s (%s)\n' "$name" "$took"
        [[ -n "${E2E_VERBOSE:-}" ]] && sed 's/^/       /' "$out"
    else
        E2E_FAILED=$((E2E_FAILED + 1))
        E2E_FAILED_NAMES+=("$name")
        printf 'FAIL - %s (%s)\n' "$name" "$took"
        sed 's/^/       /' "$out" | tail -n 60
    fi
    return 0
}

# external_checks PREFIX FILE: count the check lines another program printed into FILE
# ("ok   GROUP: NAME" and "FAIL GROUP: NAME: WHY", as tests/runtime/e2e prints them) as checks
# of this suite, and print them in this suite's format; other lines are indented.
external_checks() {
    local prefix="$1" line
    while IFS= read -r line; do
        case "$line" in
            "ok   "*)
                E2E_PASSED=$((E2E_PASSED + 1))
                printf 'ok   - %s: %s\n' "$prefix" "${line#ok   }"
                ;;
            "FAIL "*)
                E2E_FAILED=$((E2E_FAILED + 1))
                E2E_FAILED_NAMES+=("$prefix: ${line#FAIL }")
                printf 'FAIL - %s: %s\n' "$prefix" "${line#FAIL }"
                ;;
            *) printf '       %s\n' "$line" ;;
        esac
    done <"$2"
}

# summary: the failed checks again, then the last line: "e2e: N passed, M failed", and with a
# node (tests/e2e/node.sh) "(node NAME Ready, K pods ran)": K is the number of pods whose
# containers started on it.
summary() {
    local n node=""
    if ((E2E_FAILED > 0)); then
        printf 'failed checks:\n'
        for n in "${E2E_FAILED_NAMES[@]}"; do
            printf '  - %s\n' "$n"
        done
    fi
    if [[ -n "${E2E_NODE_NAME:-}" ]]; then
        local ready ran
        # The pods-watch of node-checks.sh, when it ran.
        if declare -F node_finish >/dev/null; then node_finish; fi
        ready="$(kubectl get node "$E2E_NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null || true)"
        [[ "$ready" == True ]] && ready=Ready || ready="not Ready"
        ran="$(sort -u "$E2E_WORK/pods-ran" 2>/dev/null | grep -c . || true)"
        node=" (node $E2E_NODE_NAME $ready, $ran pods ran)"
    fi
    printf 'e2e: %d passed, %d failed%s\n' "$E2E_PASSED" "$E2E_FAILED" "$node"
}

fail() {
    printf 'FAILED: %s\n' "$*" >&2
    return 1
}

# assert_eq WHAT EXPECTED ACTUAL
assert_eq() {
    [[ "$2" == "$3" ]] && return 0
    printf 'FAILED: %s\n  expected: %s\n  actual:   %s\n' "$1" "$2" "$3" >&2
    return 1
}

# assert_json FILE JQ_FILTER EXPECTED_JSON: the filter's result equals the
# expected JSON value (compared as JSON: key order and spacing do not matter).
assert_json() {
    local file="$1" filter="$2" expected="$3" actual want
    # One jq run when it holds (jq compares values, not text).
    jq -e --argjson want "$expected" "[$filter] == [\$want]" "$file" >/dev/null 2>&1 && return 0
    actual="$(jq -cS "$filter" "$file")" || fail "jq '$filter' on $file" || return 1
    want="$(jq -cSn "$expected")" || fail "bad expected JSON: $expected" || return 1
    printf 'FAILED: %s: %s\n  expected: %s\n  actual:   %s\n' "$(basename "$file")" "$filter" "$want" "$actual" >&2
    return 1
}

# assert_true FILE JQ_FILTER: the filter yields true.
assert_true() {
    assert_json "$1" "$2" true
}

# assert_lines WHAT FILE EXPECTED_LINE...: FILE holds exactly these lines, in order.
assert_lines() {
    local what="$1" file="$2"
    shift 2
    local expected=""
    (($# == 0)) || expected="$(printf '%s\n' "$@")"
    local actual
    actual="$(cat "$file")"
    [[ "$actual" == "$expected" ]] && return 0
    printf 'FAILED: %s\n' "$what" >&2
    diff -u <(printf '%s' "$expected") <(printf '%s' "$actual") | sed 's/^/  /' >&2 || true
    return 1
}

# assert_grep WHAT FILE ERE: some line of FILE matches.
assert_grep() {
    grep -Eq -- "$3" "$2" && return 0
    printf 'FAILED: %s: no line of %s matches /%s/\n' "$1" "$(basename "$2")" "$3" >&2
    tail -n 20 "$2" | sed 's/^/  | /' >&2
    return 1
}

# assert_no_grep WHAT FILE ERE: no line of FILE matches.
assert_no_grep() {
    grep -Eq -- "$3" "$2" || return 0
    printf 'FAILED: %s: %s has lines matching /%s/:\n' "$1" "$(basename "$2")" "$3" >&2
    grep -E -- "$3" "$2" | head -n 10 | sed 's/^/  | /' >&2
    return 1
}

# poll SECONDS CMD...: run CMD every 0.2 s until it succeeds or time is up.
poll() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ---- pods ----------------------------------------------------------------

# The goinject warnings kubectl printed (its stderr, FILE), one per line.
goinject_warnings() {
    grep -E '^Warning: goinject: ' "$1" || true
}

# assert_warnings FILE EXPECTED_WARNING...: kubectl printed exactly these
# goinject warnings ("Warning: goinject: " is added to each), in order.
assert_warnings() {
    local file="$1" w
    shift
    local expected=()
    for w in "$@"; do
        expected+=("Warning: goinject: $w")
    done
    goinject_warnings "$file" >"$file.goinject"
    assert_lines "goinject warnings on kubectl's stderr" "$file.goinject" "${expected[@]}"
}

# container POD_JSON NAME: the jq path of that container.
c() { printf '(.spec.containers[] | select(.name == "%s"))' "$1"; }

# expect_argv POD CONTAINER COMMAND_JSON ARGS_JSON: the container's command and
# args, exactly; null means the field is absent.
expect_argv() {
    assert_json "$1" "$(c "$2") | .command" "$3"
    assert_json "$1" "$(c "$2") | .args" "$4"
}

# expect_ptrace POD CONTAINER: SYS_PTRACE is added, exactly once.
expect_ptrace() {
    assert_json "$1" "[$(c "$2") | .securityContext.capabilities.add // [] | .[] | select(. == \"SYS_PTRACE\")] | length" 1
}

expect_no_ptrace() {
    assert_json "$1" "[$(c "$2") | .securityContext.capabilities.add // [] | .[] | select(. == \"SYS_PTRACE\")] | length" 0
}

# expect_agent_mount POD CONTAINER: the agent volume is mounted read-only at
# /goinject-agent, once.
expect_agent_mount() {
    assert_json "$1" "[$(c "$2") | .volumeMounts // [] | .[] | select(.name == \"goinject-agent\")]" \
        '[{"name": "goinject-agent", "mountPath": "/goinject-agent", "readOnly": true}]'
}

expect_no_agent_mount() {
    assert_json "$1" "[$(c "$2") | .volumeMounts // [] | .[] | select(.name == \"goinject-agent\" or .mountPath == \"/goinject-agent\")] | length" 0
}

# expect_agent_pod POD: one goinject-agent init container, last of the init
# containers, that passes Pod Security restricted and has requests and
# limits, and one emptyDir volume for it. (The API server's ServiceAccount
# admission also mounts the pod's token into it, like into every container
# of a pod that automounts it: that mount is not goinject's and is ignored.)
expect_agent_pod() {
    local pod="$1"
    assert_json "$pod" '[.spec.initContainers // [] | .[] | select(.name == "goinject-agent")] | length' 1
    assert_json "$pod" '.spec.initContainers[-1].name' '"goinject-agent"'
    assert_json "$pod" '.spec.initContainers[-1] | {image, command, args,
        volumeMounts: [.volumeMounts[] | select(.name | startswith("kube-api-access-") | not)]}' '{
        "image": "goinject/goinject:0.1.0",
        "command": ["/usr/local/bin/goinject", "copy-agent"],
        "args": ["/opt/goinject/agent", "/goinject-agent"],
        "volumeMounts": [{"name": "goinject-agent", "mountPath": "/goinject-agent"}]}'
    assert_json "$pod" '.spec.initContainers[-1].securityContext | {allowPrivilegeEscalation, runAsNonRoot, readOnlyRootFilesystem, capabilities, seccompProfile}' '{
        "allowPrivilegeEscalation": false, "runAsNonRoot": true, "readOnlyRootFilesystem": true,
        "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}'
    assert_true "$pod" '.spec.initContainers[-1].resources | (.requests.cpu and .requests.memory and .limits.cpu and .limits.memory) != null'
    assert_json "$pod" '[.spec.volumes[] | select(.name == "goinject-agent")]' '[{"name": "goinject-agent", "emptyDir": {}}]'
}

# expect_no_agent_pod POD: no init container and no volume of goinject's.
expect_no_agent_pod() {
    assert_json "$1" '[.spec.initContainers // [] | .[] | select(.name == "goinject-agent")] | length' 0
    assert_json "$1" '[.spec.volumes // [] | .[] | select(.name == "goinject-agent")] | length' 0
}

# expect_status POD MODE ACTIONS_JSON INJECTED REASON: the three annotations
# goinject writes. ACTIONS_JSON maps container names to actions.
expect_status() {
    local pod="$1" mode="$2" actions="$3" injected="$4" reason="$5"
    assert_json "$pod" '.metadata.annotations["goinject.io/status"] | fromjson' \
        "{\"version\": \"$E2E_VERSION\", \"mode\": \"$mode\", \"containers\": $actions}"
    assert_json "$pod" '.metadata.annotations["goinject.io/injected"]' "\"$injected\""
    assert_json "$pod" '.metadata.annotations["goinject.io/reason"]' "$(jq -n --arg r "$reason" '$r')"
}

# expect_untouched POD: none of goinject's marks on the pod.
expect_untouched() {
    local pod="$1"
    assert_json "$pod" '.metadata.annotations // {} | with_entries(select(.key | test("^goinject\\.io/(status|injected|reason)$")))' '{}'
    assert_json "$pod" '[.spec.containers[] | .securityContext.capabilities.add // [] | .[] | select(. == "SYS_PTRACE")] | length' 0
    expect_no_agent_pod "$pod"
    assert_json "$pod" '[.spec.containers[] | .volumeMounts // [] | .[] | select(.name == "goinject-agent")] | length' 0
}
