#!/usr/bin/env bash
# goinject's end-to-end suite, against the real control plane of cluster.sh.
# Run it through with-cluster.sh (or `make e2e`), on a fresh cluster:
#
#   tests/e2e/with-cluster.sh tests/e2e/run.sh
#
# It checks, in order:
#   1. the chart (helm lint, helm template in each certificate mode) and deploy/
#      pass a server-side dry run;
#   2. the README's "Install in a cluster" command blocks work as written;
#   3. two goinject processes on loopback (classic and cloud-native), registered
#      through the chart's MutatingWebhookConfiguration (webhook.url), mutate
#      pods per the rules table, through dry runs and real creates, with the
#      warnings kubectl prints (also past the API server's warning budget);
#      v1beta1 reviews; selection (excluded namespace, opt-out, the release
#      namespace), Pod Security routing, reinvocation after a second webhook
#      adds a container, certificate rotation under load, and fail-open when
#      goinject is down;
#   4. (right after the rule rows of 3) two more goinject processes with the
#      registry layer on, reading the images of the project's test registry
#      (Bearer tokens, a dockerconfigjson):
#      pods of the rule rows WITHOUT annotations get exactly what their
#      annotated twins get from the no-registry processes; a lookup past the
#      budget, and credentials the registry refuses, still admit the pod.
#      Skipped, with a SKIP line, when Docker cannot build the fixture images.
# tests/e2e/README.md describes each check.
#
# Environment: KUBECONFIG (set by with-cluster.sh), GOINJECT_BIN (default
# build/goinject), E2E_LATE_WEBHOOK_BIN (default: built from latewebhook/),
# E2E_REGISTRY_BIN (default: built from tests/registry), E2E_BUILD (where the
# fixture images are built and cached, under inspect/; default build),
# E2E_VERBOSE=1 prints the output of passing checks too, E2E_KEEP=1 keeps the
# work directory (goinject's logs, the API server's answers).
#
# The last line is "e2e: N passed, M failed"; the exit status is non-zero when
# a check failed.
set -euo pipefail

: "${KUBECONFIG:?KUBECONFIG is not set: run this through tests/e2e/with-cluster.sh}"

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
GOINJECT_BIN="$(realpath "${GOINJECT_BIN:-$repo/build/goinject}")"
E2E_VERSION="$(cat "$repo/VERSION")"
CHART="$repo/charts/goinject"
MODES="classic cloud-native"

for tool in kubectl helm jq openssl curl go; do
    command -v "$tool" >/dev/null || { echo "e2e: $tool is not on PATH" >&2; exit 2; }
done
[[ -x "$GOINJECT_BIN" ]] || { echo "e2e: $GOINJECT_BIN missing: run make" >&2; exit 2; }

E2E_WORK="$(mktemp -d "${TMPDIR:-/tmp}/goinject-e2e-run.XXXXXX")"
# shellcheck source=tests/e2e/lib.sh
source "$here/lib.sh"
# shellcheck source=tests/e2e/node-checks.sh
source "$here/node-checks.sh"

# Processes this suite starts are recorded (track NAME PID BINARY); only
# those are stopped at the end, and only while the pid still runs BINARY.
mkdir -p "$E2E_WORK/pids"
track() { printf '%s %s\n' "$2" "$(realpath "$3")" >"$E2E_WORK/pids/$1.pid"; }
tracked_pid() { cut -d' ' -f1 "$E2E_WORK/pids/$1.pid"; }
ours() { [[ "$(readlink "/proc/$1/exe" 2>/dev/null)" == "$2" ]]; }
cleanup() {
    local f pid bin
    touch "$E2E_WORK/rotation/stop" 2>/dev/null || true
    for f in "$E2E_WORK"/pids/*.pid; do
        [[ -f "$f" ]] || continue
        read -r pid bin <"$f"
        if ours "$pid" "$bin"; then kill -TERM "$pid" 2>/dev/null || true; fi
    done
    if [[ -n "${E2E_KEEP:-}" ]]; then
        echo "e2e: work directory kept: $E2E_WORK" >&2
    else
        rm -rf "$E2E_WORK"
    fi
}
trap cleanup EXIT

# abort_unless_ok: stop here when the check just run failed (later checks
# depend on what it set up).
abort_unless_ok() {
    if ((E2E_FAILED > 0)) && [[ "${E2E_FAILED_NAMES[-1]}" == "$1" ]]; then
        echo "e2e: cannot go on without: $1" >&2
        summary
        exit 1
    fi
}

# setup NAME FUNCTION: a check that later checks need.
setup() {
    check "$@"
    abort_unless_ok "$1"
}

ns_of() { printf 'e2e-%s' "$1"; }
release_of() { printf 'goinject-%s' "$1"; }
release_ns_of() { printf 'e2e-gi-%s' "$1"; }

# ---- certificates (openssl; the CA key is kept to sign rotated leaves) ----

CERTS="$E2E_WORK/certs"

make_ca() {
    mkdir -p "$CERTS"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$CERTS/ca.key" -out "$CERTS/ca.crt" -days 2 -subj "/CN=goinject e2e CA" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

# make_leaf NAME: $CERTS/NAME.crt and NAME.key for 127.0.0.1, signed by the CA.
make_leaf() {
    local name="$1"
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$CERTS/$name.key" -out "$CERTS/$name.csr" -subj "/CN=127.0.0.1" 2>/dev/null
    printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
        "extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1" >"$CERTS/$name.ext"
    openssl x509 -req -in "$CERTS/$name.csr" -CA "$CERTS/ca.crt" -CAkey "$CERTS/ca.key" \
        -set_serial "0x$(openssl rand -hex 8)" -days 2 -sha256 -extfile "$CERTS/$name.ext" \
        -out "$CERTS/$name.crt" 2>/dev/null
    rm -f "$CERTS/$name.csr" "$CERTS/$name.ext"
}

fingerprint() { openssl x509 -noout -fingerprint -sha256 -in "$1"; }

# served_fingerprint PORT: the certificate a new TLS handshake gets, which
# must verify against the CA for 127.0.0.1 (as the API server checks it).
served_fingerprint() {
    openssl s_client -connect "127.0.0.1:$1" -CAfile "$CERTS/ca.crt" -verify_ip 127.0.0.1 \
        -verify_return_error </dev/null 2>/dev/null |
        openssl x509 -noout -fingerprint -sha256
}

# metric MODE NAME_WITH_LABELS: one sample of goinject's /metrics.
metric() {
    local port
    port="$(cat "$E2E_WORK/$1.port")"
    curl -sS --fail --cacert "$CERTS/ca.crt" "https://127.0.0.1:$port/metrics" |
        awk -v m="$2" '$1 == m { print $2; found = 1 } END { exit !found }'
}

# reviews MODE NAMESPACE POD: goinject's log lines for the reviews of that
# pod, as a JSON array.
reviews() {
    jq -cs --arg ns "$2" --arg pod "$3" '[.[] | select(.msg == "review" and .namespace == $ns and .pod == $pod)]' \
        "$E2E_WORK/$1.log"
}

# ---- running pods through the API server ----------------------------------

# dry_run NS OUT: the pod on stdin through `kubectl create --dry-run=server`;
# the answer in OUT.json, kubectl's stderr in OUT.err.
dry_run() {
    kubectl -n "$1" create --dry-run=server -o json -f - >"$2.json" 2>"$2.err" ||
        { cat "$2.err" >&2; return 1; }
}

# create_pod NS OUT: the pod on stdin created for real, then read back with
# `kubectl get -o json` into OUT.json; stderr of the create in OUT.err.
create_pod() {
    local name
    name="$(kubectl -n "$1" create -o jsonpath='{.metadata.name}' -f - 2>"$2.err")" ||
        { cat "$2.err" >&2; return 1; }
    kubectl -n "$1" get pod "$name" -o json >"$2.json"
}

# A static Go pod that any selected namespace would mutate.
static_pod() {
    cat <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $1
  annotations:
    goinject.io/static-go: "true"
    goinject.io/shell: /bin/sh
${2:-}
spec:
  containers:
    - name: app
      image: registry.invalid/e2e/app:1
      command: ["/app", "--port", "8080"]
EOF
}

# ===========================================================================
# 1. The chart and deploy/ against the API server
# ===========================================================================

CA_B64=""

# namespace NAME LABEL=VALUE...: a Namespace object.
namespace() {
    local name="$1" label
    shift
    printf -- '---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n  labels:\n' "$name"
    for label in "$@"; do
        printf '    %s: "%s"\n' "${label%%=*}" "${label#*=}"
    done
}

# The test namespaces. Each mode serves the namespaces labelled with it:
# e2e-MODE (the rules), e2e-MODE-excluded (in goinject's excludedNamespaces),
# e2e-MODE-restricted (Pod Security restricted), e2e-MODE-late (the second
# webhook's), and e2e-gi-MODE (the release's own).
test_namespaces() {
    # e2e-chart enforces Pod Security restricted, which the chart's pods must pass.
    namespace e2e-chart pod-security.kubernetes.io/enforce=restricted
    local mode ns
    for mode in $MODES; do
        ns="$(ns_of "$mode")"
        namespace "$ns" "goinject-e2e/mode=$mode"
        namespace "$ns-excluded" "goinject-e2e/mode=$mode"
        namespace "$ns-restricted" "goinject-e2e/mode=$mode" pod-security.kubernetes.io/enforce=restricted
        namespace "$ns-late" "goinject-e2e/mode=$mode" goinject-e2e/late=true
        namespace "$(release_ns_of "$mode")" "goinject-e2e/mode=$mode"
    done
}

# Pods need their namespace's default service account, which the controller
# manager makes.
default_service_accounts() {
    local have ns
    have="$(kubectl get serviceaccounts -A --field-selector metadata.name=default \
        -o jsonpath='{range .items[*]}{.metadata.namespace}{" "}{end}')"
    for ns in $(test_namespaces | sed -n 's/^  name: //p'); do
        [[ " $have " == *" $ns "* ]] || return 1
    done
}

setup_cluster_objects() {
    make_ca
    make_leaf classic-1
    make_leaf cloud-native-1
    make_leaf late
    make_leaf classic-2
    make_leaf cloud-native-2
    test_namespaces | kubectl apply -f -
    poll 60 default_service_accounts || fail "the namespaces got no default service account within 60 s"
}

# With a node (with-cluster.sh, node.sh), it holds the pods of the node-less checks back until
# node_checks, at the end.
if [[ -n "${E2E_NODE_NAME:-}" ]]; then
    setup "node: $E2E_NODE_NAME is Ready; tainted NoSchedule while the node-less checks run" node_hold
fi

setup "setup: certificates (openssl CA and leaves) and namespaces" setup_cluster_objects
CA_B64="$(base64 -w0 "$CERTS/ca.crt")"

chart_lint() {
    local args
    for args in "" \
        "--set certificates.mode=cert-manager" \
        "--set certificates.mode=secret --set certificates.caBundle=$CA_B64 --set webhook.url=https://127.0.0.1:8443/mutate" \
        "--set registry.podPullSecrets=true --set registry.credentials.secretName=regcred --set registry.ca.configMap=company-ca"; do
        echo "\$ helm lint --strict charts/goinject $args"
        # shellcheck disable=SC2086 # args split on purpose
        helm lint --strict "$CHART" $args >"$E2E_WORK/lint.out" 2>&1 || { cat "$E2E_WORK/lint.out"; return 1; }
        cat "$E2E_WORK/lint.out"
        assert_no_grep "helm lint $args" "$E2E_WORK/lint.out" '\[(WARNING|ERROR)\]'
        assert_grep "helm lint $args" "$E2E_WORK/lint.out" '1 chart\(s\) linted, 0 chart\(s\) failed'
    done
}
check "chart: helm lint --strict is clean (generate, cert-manager and secret modes; registry files and podPullSecrets)" chart_lint

# render NAME HELM_ARGS...: helm template of the chart into e2e-chart, then a
# server-side dry run of every object; the API server's answers as a List in
# $E2E_WORK/render-NAME.json. kubectl must print no warnings (Pod Security
# restricted included).
render() {
    local name="$1"
    shift
    helm template goinject "$CHART" --namespace e2e-chart "$@" >"$E2E_WORK/render-$name.yaml"
    kubectl apply --dry-run=server -o json -f "$E2E_WORK/render-$name.yaml" \
        >"$E2E_WORK/render-$name.json" 2>"$E2E_WORK/render-$name.err" ||
        { cat "$E2E_WORK/render-$name.err"; return 1; }
    assert_lines "kubectl's stderr for the $name render" "$E2E_WORK/render-$name.err"
    jq -r '.items[] | "\(.kind)/\(.metadata.name) passed the server-side dry run"' "$E2E_WORK/render-$name.json"
}

# obj FILE KIND NAME: jq filter for one object of a rendered List.
obj() { printf '(.items[] | select(.kind == "%s" and .metadata.name == "%s"))' "$1" "$2"; }

# The rules of the workload webhooks: the API server sends these to goinject for their warnings.
WORKLOAD_RULES='[{"operations": ["CREATE", "UPDATE"], "apiGroups": ["apps"], "apiVersions": ["v1"],
                  "resources": ["deployments", "statefulsets", "daemonsets", "replicasets"], "scope": "Namespaced"},
                 {"operations": ["CREATE", "UPDATE"], "apiGroups": ["batch"], "apiVersions": ["v1"],
                  "resources": ["jobs", "cronjobs"], "scope": "Namespaced"}]'

# The webhook configuration the contract asks for, in every mode.
expect_webhook_configuration() {
    local f="$1" mwc
    mwc="$(obj MutatingWebhookConfiguration goinject)"
    assert_json "$f" "[$mwc | .webhooks[] | {name, admissionReviewVersions, sideEffects, failurePolicy, timeoutSeconds, reinvocationPolicy, rules}]" '[
        {"name": "pods.goinject.io", "admissionReviewVersions": ["v1"], "sideEffects": "None",
         "failurePolicy": "Ignore", "timeoutSeconds": 10, "reinvocationPolicy": "IfNeeded",
         "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"], "scope": "Namespaced"}]},
        {"name": "pods-pod-security.goinject.io", "admissionReviewVersions": ["v1"], "sideEffects": "None",
         "failurePolicy": "Ignore", "timeoutSeconds": 10, "reinvocationPolicy": "IfNeeded",
         "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"], "scope": "Namespaced"}]},
        {"name": "workloads.goinject.io", "admissionReviewVersions": ["v1"], "sideEffects": "None",
         "failurePolicy": "Ignore", "timeoutSeconds": 5, "reinvocationPolicy": "Never",
         "rules": '"$WORKLOAD_RULES"'},
        {"name": "workloads-pod-security.goinject.io", "admissionReviewVersions": ["v1"], "sideEffects": "None",
         "failurePolicy": "Ignore", "timeoutSeconds": 5, "reinvocationPolicy": "Never",
         "rules": '"$WORKLOAD_RULES"'}]'
    assert_json "$f" "[$mwc | .webhooks[] | .namespaceSelector.matchExpressions]" '[
        [{"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system", "e2e-chart"]},
         {"key": "pod-security.kubernetes.io/enforce", "operator": "NotIn", "values": ["baseline", "restricted"]}],
        [{"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system", "e2e-chart"]},
         {"key": "pod-security.kubernetes.io/enforce", "operator": "In", "values": ["baseline", "restricted"]}],
        [{"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system", "e2e-chart"]},
         {"key": "pod-security.kubernetes.io/enforce", "operator": "NotIn", "values": ["baseline", "restricted"]}],
        [{"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system", "e2e-chart"]},
         {"key": "pod-security.kubernetes.io/enforce", "operator": "In", "values": ["baseline", "restricted"]}]]'
    assert_json "$f" "[$mwc | .webhooks[] | .objectSelector] | unique" '[
        {"matchExpressions": [{"key": "app.kubernetes.io/name", "operator": "NotIn", "values": ["goinject"]}]}]'
    assert_json "$f" "[$mwc | .webhooks[] | .objectSelector] | length" 4
    # The Deployment mounts the Secret the certificate mode provides.
    assert_json "$f" "$(obj Deployment goinject) | .spec.template.spec.volumes[] | select(.name == \"tls\") | .secret.secretName" \
        "\"${2:-goinject-tls}\""
}

# serve_as_deployed NAME LIST_JSON NAMESPACE: the goinject container of the
# Deployment in a rendered List, checked against the binary: the files its
# arguments name are where its volumes put them, goinject starts with exactly
# those arguments (the port and the mounted paths mapped to this machine),
# its probes answer 200, and after SIGTERM it stays up unready.
serve_as_deployed() {
    local name="$1" f="$2" ns="$3" container a dir file vol
    container="$(obj Deployment goinject) | .spec.template.spec.containers[] | select(.name == \"goinject\")"
    jq -r "$container | .args[]" "$f" >"$E2E_WORK/$name.args"
    for a in tls-cert tls-key config; do
        file="$(sed -n "s/^--$a=//p" "$E2E_WORK/$name.args")"
        [[ -n "$file" ]] || fail "the container has no --$a=FILE argument"
        dir="$(dirname "$file")"
        vol="$(jq -r --arg d "$dir" "$container | .volumeMounts[] | select(.mountPath == \$d) | .name" "$f")"
        [[ -n "$vol" ]] || fail "--$a=$file: nothing is mounted at $dir"
        # The volume provides that file: a TLS Secret's keys, or the ConfigMap's.
        case "$(jq -r --arg v "$vol" "$(obj Deployment goinject) | .spec.template.spec.volumes[] | select(.name == \$v) | keys - [\"name\"] | .[0]" "$f")" in
            secret) [[ "$(basename "$file")" == tls.crt || "$(basename "$file")" == tls.key ]] ||
                fail "--$a=$file: a kubernetes.io/tls Secret has no $(basename "$file")" ;;
            configMap) assert_json "$f" "$(obj ConfigMap goinject) | .data | has(\"$(basename "$file")\")" true ;;
            *) fail "--$a=$file: volume $vol is neither a Secret nor a ConfigMap" ;;
        esac
        echo "--$a=$file is in volume $vol"
    done
    jq -r "$(obj ConfigMap goinject) | .data[\"config.json\"]" "$f" >"$E2E_WORK/$name.config.json"
    local run=()
    while IFS= read -r a; do
        case "$a" in
            --listen=*) run+=("--listen=127.0.0.1:0") ;;
            --metrics-listen=*) run+=("--metrics-listen=127.0.0.1:0") ;;
            --tls-cert=*) run+=("--tls-cert=$CERTS/late.crt") ;;
            --tls-key=*) run+=("--tls-key=$CERTS/late.key") ;;
            --config=*) run+=("--config=$E2E_WORK/$name.config.json") ;;
            *) run+=("$a") ;;
        esac
    done <"$E2E_WORK/$name.args"
    assert_json "$f" "$container | .command" null
    echo "goinject ${run[*]}"
    POD_NAMESPACE="$ns" "$GOINJECT_BIN" "${run[@]}" </dev/null >/dev/null 2>"$E2E_WORK/$name.log" &
    track "$name" "$!" "$GOINJECT_BIN"
    poll 10 grep -q '"msg":"listening"' "$E2E_WORK/$name.log" || { cat "$E2E_WORK/$name.log"; fail "goinject did not start"; }
    local port url probe
    port="$(jq -r 'select(.msg == "listening") | .port' "$E2E_WORK/$name.log")"
    for probe in readinessProbe livenessProbe; do
        assert_json "$f" "$container | .$probe.httpGet | {port, scheme}" '{"port": "https", "scheme": "HTTPS"}'
        url="https://127.0.0.1:$port$(jq -r "$container | .$probe.httpGet.path" "$f")"
        assert_eq "$probe $url" 200 "$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$CERTS/ca.crt" "$url")"
    done
    assert_json "$f" "$container | .ports" '[{"name": "https", "containerPort": 8443, "protocol": "TCP"}, {"name": "metrics", "containerPort": 8080, "protocol": "TCP"}]'
    kill -TERM "$(tracked_pid "$name")"
    sleep 0.5
    assert_eq "/readyz right after SIGTERM (--shutdown-delay)" 503 \
        "$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$CERTS/ca.crt" "https://127.0.0.1:$port/readyz")"
}

chart_generate() {
    local f="$E2E_WORK/render-generate.json"
    render generate
    expect_webhook_configuration "$f"
    assert_json "$f" "[$(obj MutatingWebhookConfiguration goinject) | .webhooks[] | .clientConfig.service]" '[
        {"name": "goinject", "namespace": "e2e-chart", "path": "/mutate", "port": 443},
        {"name": "goinject", "namespace": "e2e-chart", "path": "/mutate/pod-security-enforced", "port": 443},
        {"name": "goinject", "namespace": "e2e-chart", "path": "/mutate", "port": 443},
        {"name": "goinject", "namespace": "e2e-chart", "path": "/mutate/pod-security-enforced", "port": 443}]'
    # The generated CA is the caBundle, and it signed the serving certificate
    # for the Service's DNS names.
    local secret ca
    secret="$(obj Secret goinject-tls)"
    assert_json "$f" "$secret | .type" '"kubernetes.io/tls"'
    ca="$(jq -r "$secret | .data[\"ca.crt\"]" "$f")"
    assert_json "$f" "[$(obj MutatingWebhookConfiguration goinject) | .webhooks[] | .clientConfig.caBundle] | unique" "[\"$ca\"]"
    jq -r "$secret | .data[\"ca.crt\"]" "$f" | base64 -d >"$E2E_WORK/generated-ca.crt"
    jq -r "$secret | .data[\"tls.crt\"]" "$f" | base64 -d >"$E2E_WORK/generated-tls.crt"
    openssl verify -CAfile "$E2E_WORK/generated-ca.crt" "$E2E_WORK/generated-tls.crt"
    openssl x509 -noout -ext subjectAltName -in "$E2E_WORK/generated-tls.crt" | tee "$E2E_WORK/generated-san"
    assert_grep "serving certificate names" "$E2E_WORK/generated-san" 'DNS:goinject\.e2e-chart\.svc(,|$)'
    assert_grep "serving certificate names" "$E2E_WORK/generated-san" 'DNS:goinject\.e2e-chart\.svc\.cluster\.local'
    serve_as_deployed chart-deployment "$f" e2e-chart
}
check "chart: certificates.mode=generate renders objects the API server accepts (dry run), caBundle signs the served names, the Deployment's goinject starts" chart_generate

chart_cert_manager() {
    # Hand-written stand-in CRDs (see the file): cert-manager is not installable here.
    kubectl apply -f "$here/cert-manager-crds.yaml"
    kubectl wait --for=condition=Established --timeout=60s \
        crd/certificates.cert-manager.io crd/issuers.cert-manager.io
    local f="$E2E_WORK/render-cert-manager.json" mwc
    render cert-manager --set certificates.mode=cert-manager
    expect_webhook_configuration "$f"
    mwc="$(obj MutatingWebhookConfiguration goinject)"
    # cert-manager's cainjector fills the caBundle from the Certificate named here.
    assert_json "$f" "$mwc | .metadata.annotations[\"cert-manager.io/inject-ca-from\"]" '"e2e-chart/goinject"'
    assert_json "$f" "[$mwc | .webhooks[] | .clientConfig.caBundle]" '[null, null, null, null]'
    assert_json "$f" "$(obj Certificate goinject) | .spec | {secretName, dnsNames, issuerRef}" '{
        "secretName": "goinject-tls",
        "dnsNames": ["goinject.e2e-chart.svc", "goinject.e2e-chart.svc.cluster.local"],
        "issuerRef": {"name": "goinject-ca", "kind": "Issuer"}}'
    # No issuer given: a self-signed Issuer signs a CA Certificate, whose
    # Secret backs the CA Issuer.
    assert_json "$f" "$(obj Certificate goinject-ca) | .spec | {isCA, secretName, issuerRef}" '{
        "isCA": true, "secretName": "goinject-ca", "issuerRef": {"name": "goinject-selfsigned", "kind": "Issuer"}}'
    assert_json "$f" "$(obj Issuer goinject-ca) | .spec" '{"ca": {"secretName": "goinject-ca"}}'
    assert_json "$f" "$(obj Issuer goinject-selfsigned) | .spec" '{"selfSigned": {}}'
    assert_json "$f" '[.items[] | select(.kind == "Secret")] | length' 0

    # With an existing issuer: only the serving Certificate.
    f="$E2E_WORK/render-cert-manager-issuer.json"
    render cert-manager-issuer --set certificates.mode=cert-manager \
        --set certificates.certManager.issuerRef.name=company-ca \
        --set certificates.certManager.issuerRef.kind=ClusterIssuer
    assert_json "$f" '[.items[] | select(.apiVersion == "cert-manager.io/v1") | "\(.kind)/\(.metadata.name)"]' '["Certificate/goinject"]'
    assert_json "$f" "$(obj Certificate goinject) | .spec.issuerRef" '{"name": "company-ca", "kind": "ClusterIssuer"}'
}
check "chart: certificates.mode=cert-manager renders objects the API server accepts (dry run; stand-in cert-manager CRDs)" chart_cert_manager

chart_secret() {
    local f="$E2E_WORK/render-secret.json"
    render secret --set certificates.mode=secret --set certificates.secretName=company-tls \
        --set certificates.caBundle="$CA_B64"
    expect_webhook_configuration "$f" company-tls
    assert_json "$f" "[$(obj MutatingWebhookConfiguration goinject) | .webhooks[] | .clientConfig.caBundle]" "[\"$CA_B64\", \"$CA_B64\", \"$CA_B64\", \"$CA_B64\"]"
    assert_json "$f" '[.items[] | select(.kind == "Secret")] | length' 0
    # webhook.url: the API server calls the URL, the Pod Security route beside it.
    f="$E2E_WORK/render-secret-url.json"
    render secret-url --set certificates.mode=secret --set certificates.caBundle="$CA_B64" \
        --set webhook.url=https://127.0.0.1:8443/mutate
    assert_json "$f" "[$(obj MutatingWebhookConfiguration goinject) | .webhooks[] | .clientConfig]" "[
        {\"url\": \"https://127.0.0.1:8443/mutate\", \"caBundle\": \"$CA_B64\"},
        {\"url\": \"https://127.0.0.1:8443/mutate/pod-security-enforced\", \"caBundle\": \"$CA_B64\"},
        {\"url\": \"https://127.0.0.1:8443/mutate\", \"caBundle\": \"$CA_B64\"},
        {\"url\": \"https://127.0.0.1:8443/mutate/pod-security-enforced\", \"caBundle\": \"$CA_B64\"}]"
    # Without a caBundle the chart refuses to render.
    if helm template goinject "$CHART" --set certificates.mode=secret >"$E2E_WORK/no-ca.out" 2>&1; then
        fail "certificates.mode=secret without caBundle rendered"
    fi
    assert_grep "the chart says what is missing" "$E2E_WORK/no-ca.out" 'certificates.caBundle is required'
}
check "chart: certificates.mode=secret (and webhook.url) renders objects the API server accepts (dry run)" chart_secret

# config_of NAME: the config.json of render NAME's ConfigMap, which must be
# valid JSON, in $E2E_WORK/render-NAME.config.json.
config_of() {
    jq -r "$(obj ConfigMap goinject) | .data[\"config.json\"]" "$E2E_WORK/render-$1.json" >"$E2E_WORK/render-$1.config.json"
    jq -e 'type == "object"' "$E2E_WORK/render-$1.config.json" >/dev/null ||
        fail "render $1: config.json is not a JSON object"
}

# template_fails NAME ERE HELM_ARGS...: helm template refuses these values,
# with a message matching ERE.
template_fails() {
    local name="$1" ere="$2"
    shift 2
    echo "\$ helm template charts/goinject $*"
    if helm template goinject "$CHART" --namespace e2e-chart "$@" >"$E2E_WORK/fails-$name.out" 2>&1; then
        fail "helm template $* rendered; it should have refused"
    fi
    cat "$E2E_WORK/fails-$name.out"
    assert_grep "helm template's message for $name" "$E2E_WORK/fails-$name.out" "$ere"
}

# The registry values: by default the registry block in config.json, a
# writable /tmp, and no access to the API server at all; every file that
# config.json names is mounted; the Secrets grant and the token only with
# registry.podPullSecrets; budgets the webhook timeout cannot hold and
# malformed values are refused before anything is installed.
chart_registry() {
    local f pod container
    pod="$(obj Deployment goinject) | .spec.template.spec"
    container="$pod | .containers[] | select(.name == \"goinject\")"
    # What no render without registry.podPullSecrets may contain.
    local no_api='[.items[] | select(.kind | test("Role"))] | length'

    f="$E2E_WORK/render-registry-default.json"
    render registry-default
    config_of registry-default
    assert_json "$E2E_WORK/render-registry-default.config.json" .registry '{"enabled": true, "budgetMs": 2000,
        "platform": "linux/amd64", "insecureHosts": [], "podPullSecrets": false, "mirrors": {}, "tagTTLSeconds": 300}'
    assert_json "$f" "$no_api" 0
    assert_json "$f" "$pod | .automountServiceAccountToken" false
    assert_json "$f" "$(obj ServiceAccount goinject) | .automountServiceAccountToken" false
    assert_json "$f" "$pod | .volumes[] | select(.name == \"tmp\")" '{"name": "tmp", "emptyDir": {"sizeLimit": "2Gi"}}'
    assert_json "$f" "[$container | .volumeMounts[] | select(.mountPath == \"/tmp\")]" '[{"name": "tmp", "mountPath": "/tmp"}]'
    assert_json "$f" "[$pod | .volumes[].name]" '["tls", "config", "tmp"]'

    # podPullSecrets: exactly `get` on secrets, bound to goinject's account,
    # and the token mounted.
    f="$E2E_WORK/render-registry-pull-secrets.json"
    render registry-pull-secrets --set registry.podPullSecrets=true
    config_of registry-pull-secrets
    assert_json "$E2E_WORK/render-registry-pull-secrets.config.json" .registry.podPullSecrets true
    assert_json "$f" '[.items[] | select(.kind | test("Role")) | "\(.kind)/\(.metadata.name)"]' \
        '["ClusterRole/goinject-pull-secrets", "ClusterRoleBinding/goinject-pull-secrets"]'
    assert_json "$f" "$(obj ClusterRole goinject-pull-secrets) | .rules" \
        '[{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]'
    assert_json "$f" "$(obj ClusterRoleBinding goinject-pull-secrets) | {roleRef, subjects}" '{
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "goinject-pull-secrets"},
        "subjects": [{"kind": "ServiceAccount", "name": "goinject", "namespace": "e2e-chart"}]}'
    assert_json "$f" "$pod | .automountServiceAccountToken" true

    # A disabled layer reads nothing, whatever else is set.
    f="$E2E_WORK/render-registry-disabled.json"
    render registry-disabled --set registry.enabled=false --set registry.podPullSecrets=true \
        --set registry.credentials.secretName=regcred
    config_of registry-disabled
    assert_json "$E2E_WORK/render-registry-disabled.config.json" .registry '{"enabled": false}'
    assert_json "$f" "$no_api" 0
    assert_json "$f" "$pod | .automountServiceAccountToken" false
    assert_json "$f" "[$pod | .volumes[].name]" '["tls", "config", "tmp"]'

    # Credentials, a CA, insecure hosts and mirrors: config.json names the
    # files where the Deployment mounts them, read-only, from those objects.
    f="$E2E_WORK/render-registry-files.json"
    render registry-files --set registry.credentials.secretName=regcred \
        --set registry.ca.configMap=company-ca --set registry.ca.key=bundle.pem \
        --set-json 'registry.insecureHosts=["localhost:5000"]' \
        --set-json 'registry.mirrors={"docker.io": "mirror.example.com"}' \
        --set registry.tmpSizeLimit=2Gi
    config_of registry-files
    local cfg="$E2E_WORK/render-registry-files.config.json"
    assert_json "$cfg" .registry '{"enabled": true, "budgetMs": 2000, "platform": "linux/amd64",
        "insecureHosts": ["localhost:5000"], "podPullSecrets": false, "mirrors": {"docker.io": "mirror.example.com"},
        "tagTTLSeconds": 300, "caFile": "/etc/goinject/registry-ca/bundle.pem",
        "credentialsFile": "/etc/goinject/registry-credentials/.dockerconfigjson"}'
    assert_json "$f" "[$container | .volumeMounts[] | select(.name | startswith(\"registry-\"))]" '[
        {"name": "registry-ca", "mountPath": "/etc/goinject/registry-ca", "readOnly": true},
        {"name": "registry-credentials", "mountPath": "/etc/goinject/registry-credentials", "readOnly": true}]'
    assert_json "$f" "$pod | .volumes[] | select(.name == \"registry-credentials\") | .secret | {secretName, items}" \
        '{"secretName": "regcred", "items": [{"key": ".dockerconfigjson", "path": ".dockerconfigjson"}]}'
    assert_json "$f" "$pod | .volumes[] | select(.name == \"registry-ca\") | .configMap | {name, items}" \
        '{"name": "company-ca", "items": [{"key": "bundle.pem", "path": "bundle.pem"}]}'
    assert_json "$f" "$pod | .volumes[] | select(.name == \"tmp\") | .emptyDir" '{"sizeLimit": "2Gi"}'
    assert_json "$f" "$no_api" 0
    assert_json "$f" "$pod | .automountServiceAccountToken" false
    # A CA from a Secret instead.
    f="$E2E_WORK/render-registry-ca-secret.json"
    render registry-ca-secret --set registry.ca.secret=company-ca
    config_of registry-ca-secret
    assert_json "$E2E_WORK/render-registry-ca-secret.config.json" .registry.caFile '"/etc/goinject/registry-ca/ca.crt"'
    assert_json "$f" "$pod | .volumes[] | select(.name == \"registry-ca\") | .secret | {secretName, items}" \
        '{"secretName": "company-ca", "items": [{"key": "ca.crt", "path": "ca.crt"}]}'

    # The budget must end at least 1 s before the webhook timeout.
    template_fails budget-timeout 'registry\.budgetMs=9001 is too close to webhook\.timeoutSeconds=10: .*at most 9000' \
        --set registry.budgetMs=9001
    template_fails budget-short-timeout 'registry\.budgetMs=2000 is too close to webhook\.timeoutSeconds=2: .*at most 1000' \
        --set webhook.timeoutSeconds=2
    helm template goinject "$CHART" --set registry.budgetMs=9000 >/dev/null
    helm template goinject "$CHART" --set webhook.timeoutSeconds=3 >/dev/null
    template_fails budget-small "registry/budgetMs': minimum" --set registry.budgetMs=50
    template_fails budget-small-no-schema 'registry\.budgetMs=50 is too small' --set registry.budgetMs=50 --skip-schema-validation
    # The schema: platform os/arch[/variant], host[:port] names, no unknown fields.
    template_fails platform "registry/platform': 'linux' does not match pattern" --set registry.platform=linux
    template_fails platform-case "registry/platform': 'Linux/AMD64' does not match pattern" --set registry.platform=Linux/AMD64
    template_fails insecure-url "registry/insecureHosts/0': 'http://localhost:5000' does not match" \
        --set-json 'registry.insecureHosts=["http://localhost:5000"]'
    template_fails mirror-url "registry/mirrors/docker.io': 'https://mirror.example.com' does not match" \
        --set-json 'registry.mirrors={"docker.io": "https://mirror.example.com"}'
    template_fails ttl "registry/tagTTLSeconds': minimum" --set registry.tagTTLSeconds=-1
    template_fails unknown "registry': additional properties 'budget' not allowed" --set registry.budget=1000
    template_fails two-cas 'registry\.ca: set configMap or secret, not both' \
        --set registry.ca.configMap=a --set registry.ca.secret=b
}
check "chart: registry values render a config.json whose files are mounted; Secrets RBAC and the token only with registry.podPullSecrets; bad budgets and values refused" chart_registry

deploy_manifests() {
    # Namespaced objects need their namespace to exist for a server-side dry run.
    kubectl apply --dry-run=server -f "$repo/deploy/00-namespace.yaml"
    kubectl apply -f "$repo/deploy/00-namespace.yaml"
    local f
    {
        for f in "$repo"/deploy/0[1-5]-*.yaml; do
            cat "$f"
            printf -- '---\n'
        done
        sed "s|CA_BUNDLE|$CA_B64|" "$repo/deploy/06-mutatingwebhookconfiguration.yaml"
    } >"$E2E_WORK/deploy.yaml"
    # goinject-system enforces restricted: Pod Security warns about a
    # Deployment whose pods would be rejected; there must be no warning.
    kubectl apply --dry-run=server -o json -f "$E2E_WORK/deploy.yaml" >"$E2E_WORK/deploy.json" 2>"$E2E_WORK/deploy.err" ||
        { cat "$E2E_WORK/deploy.err"; return 1; }
    assert_lines "kubectl's stderr for deploy/" "$E2E_WORK/deploy.err"
    jq -r '.items[] | "\(.kind)/\(.metadata.name) passed the server-side dry run"' "$E2E_WORK/deploy.json"
    assert_json "$E2E_WORK/deploy.json" '[.items[].kind]' \
        '["ServiceAccount", "ConfigMap", "Deployment", "PodDisruptionBudget", "Service", "MutatingWebhookConfiguration"]'
    assert_json "$E2E_WORK/deploy.json" "[$(obj MutatingWebhookConfiguration goinject) | .webhooks[] | .clientConfig.caBundle] | unique" "[\"$CA_B64\"]"
    # The Deployment gives goinject a writable /tmp for registry blobs, and no token.
    assert_json "$E2E_WORK/deploy.json" "$(obj Deployment goinject) | .spec.template.spec.volumes[] | select(.name == \"tmp\")" \
        '{"name": "tmp", "emptyDir": {"sizeLimit": "2Gi"}}'
    assert_json "$E2E_WORK/deploy.json" "$(obj Deployment goinject) | .spec.template.spec.automountServiceAccountToken" false
    # The configuration in the ConfigMap is one goinject accepts.
    jq -r "$(obj ConfigMap goinject) | .data[\"config.json\"]" "$E2E_WORK/deploy.json" >"$E2E_WORK/deploy-config.json"
    assert_json "$E2E_WORK/deploy-config.json" .registry '{"enabled": true, "budgetMs": 2000, "platform": "linux/amd64",
        "insecureHosts": [], "podPullSecrets": false, "mirrors": {}, "tagTTLSeconds": 300}'
    "$GOINJECT_BIN" config --config "$E2E_WORK/deploy-config.json" >/dev/null
    serve_as_deployed deploy-deployment "$E2E_WORK/deploy.json" goinject-system
    kubectl delete namespace goinject-system --wait=false
    poll 90 not_exists namespace goinject-system || fail "goinject-system was not deleted"
}
not_exists() { ! kubectl get "$@" >/dev/null 2>&1; }
check "deploy/: every manifest (CA_BUNDLE replaced) passes a server-side dry run, without Pod Security warnings; the Deployment's goinject starts" deploy_manifests

# ===========================================================================
# 2. The README's install commands, as written
# ===========================================================================

# readme_commands SUBSECTION: the commands of the ```sh blocks under
# "### SUBSECTION" of the README's "## Install in a cluster", one per line
# (backslash continuations joined).
readme_commands() {
    awk -v want="### $1" '
        /^## /  { in_install = ($0 == "## Install in a cluster"); in_sub = 0 }
        /^### / { in_sub = in_install && ($0 == want) }
        in_sub && /^```sh$/ { in_code = 1; next }
        in_code && /^```$/  { in_code = 0; next }
        in_code {
            line = $0
            if (line ~ /\\$/) { sub(/\\$/, "", line); acc = acc line; next }
            acc = acc line
            if (acc !~ /^[[:space:]]*(#|$)/) print acc
            acc = ""
        }' "$repo/README.md"
}

# A sandbox that looks like the repository to the README's relative paths
# (charts/, deploy/, build/goinject), so its build/certs lands there.
readme_sandbox() {
    local dir="$E2E_WORK/readme-$1"
    mkdir -p "$dir/build"
    ln -sfn "$repo/charts" "$dir/charts"
    ln -sfn "$repo/deploy" "$dir/deploy"
    ln -sfn "$GOINJECT_BIN" "$dir/build/goinject"
    printf '%s\n' "$dir"
}

# run_readme_command DIR CMD: run one README command in DIR, adapting only
# what cannot work on a cluster without nodes.
run_readme_command() {
    local dir="$1" cmd="$2"
    case "$cmd" in
        *"rollout status"*)
            # No node runs the pods, so a rollout never completes: the
            # Deployment must exist and be valid instead.
            echo "\$ $cmd"
            cmd="${cmd/rollout status/get}"
            echo "  (adapted, no nodes here: $cmd)"
            ;;
        *) echo "\$ $cmd" ;;
    esac
    (cd "$dir" && bash -euo pipefail -c "$cmd" </dev/null) 2>&1 | sed 's/^/  | /'
}

# install_objects_exist MWC_NAME: what the README says gets installed is there.
install_objects_exist() {
    local ns=goinject-system
    kubectl -n "$ns" get deployment/goinject service/goinject poddisruptionbudget/goinject \
        serviceaccount/goinject configmap/goinject secret/goinject-tls
    kubectl get mutatingwebhookconfiguration "$1"
    kubectl -n "$ns" get secret goinject-tls -o json >"$E2E_WORK/tls-secret.json"
    assert_json "$E2E_WORK/tls-secret.json" '.type' '"kubernetes.io/tls"'
    kubectl get mutatingwebhookconfiguration "$1" -o json >"$E2E_WORK/mwc.json"
    assert_json "$E2E_WORK/mwc.json" '[.webhooks[] | .clientConfig.service | {name, namespace, path, port}]' '[
        {"name": "goinject", "namespace": "goinject-system", "path": "/mutate", "port": 443},
        {"name": "goinject", "namespace": "goinject-system", "path": "/mutate/pod-security-enforced", "port": 443},
        {"name": "goinject", "namespace": "goinject-system", "path": "/mutate", "port": 443},
        {"name": "goinject", "namespace": "goinject-system", "path": "/mutate/pod-security-enforced", "port": 443}]'
    # The caBundle is a CA that signed the Secret's serving certificate, for the Service's name.
    jq -r '.webhooks[0].clientConfig.caBundle' "$E2E_WORK/mwc.json" | base64 -d >"$E2E_WORK/install-ca.crt"
    assert_json "$E2E_WORK/mwc.json" '[.webhooks[] | .clientConfig.caBundle] | unique | length' 1
    jq -r '.data["tls.crt"]' "$E2E_WORK/tls-secret.json" | base64 -d >"$E2E_WORK/install-tls.crt"
    openssl verify -CAfile "$E2E_WORK/install-ca.crt" "$E2E_WORK/install-tls.crt"
    openssl x509 -noout -ext subjectAltName -in "$E2E_WORK/install-tls.crt" >"$E2E_WORK/install-san"
    assert_grep "serving certificate names the Service" "$E2E_WORK/install-san" 'DNS:goinject\.goinject-system\.svc(,|$)'
    # The controller manager turns the Deployment into pods: they pass
    # admission (Pod Security included) even though nothing runs them.
    poll 60 pods_exist "$ns" 2 || {
        kubectl -n "$ns" describe replicaset | tail -n 20
        fail "the Deployment's 2 pods were not created"
    }
    echo "installed: Deployment, Service, PodDisruptionBudget, ServiceAccount, ConfigMap, Secret, MutatingWebhookConfiguration; 2 pods admitted"
}

# pods_exist NS N: at least N goinject pods (an upgrade surges one more).
pods_exist() {
    (($(kubectl -n "$1" get pods -l app.kubernetes.io/name=goinject -o name | wc -l) >= $2))
}

install_objects_gone() {
    not_exists mutatingwebhookconfiguration "$1" || fail "MutatingWebhookConfiguration $1 is still there"
    local what
    for what in deployment/goinject service/goinject poddisruptionbudget/goinject \
        serviceaccount/goinject configmap/goinject secret/goinject-tls; do
        not_exists -n goinject-system "$what" || fail "$what is still there"
    done
    echo "uninstalled: all of it is gone"
}

readme_helm() {
    local dir cmd ran=""
    dir="$(readme_sandbox helm)"
    readme_commands "With Helm" >"$E2E_WORK/readme-helm.cmds"
    assert_grep "README Helm block" "$E2E_WORK/readme-helm.cmds" '^helm install '
    assert_grep "README Helm block" "$E2E_WORK/readme-helm.cmds" '^helm upgrade '
    assert_grep "README Helm block" "$E2E_WORK/readme-helm.cmds" '^helm uninstall '
    local ca_before=""
    while IFS= read -r cmd; do
        run_readme_command "$dir" "$cmd"
        case "$cmd" in
            "helm install "*)
                install_objects_exist goinject
                ca_before="$(jq -r '.webhooks[0].clientConfig.caBundle' "$E2E_WORK/mwc.json")"
                ran+=" install"
                ;;
            "helm upgrade "*)
                install_objects_exist goinject
                # The generated CA is kept across upgrades: the caBundle never
                # changes under a running webhook.
                assert_eq "caBundle after helm upgrade" "$ca_before" \
                    "$(jq -r '.webhooks[0].clientConfig.caBundle' "$E2E_WORK/mwc.json")"
                if [[ "$cmd" == *"mode=classic"* ]]; then
                    kubectl -n goinject-system get configmap goinject -o json |
                        jq -r '.data["config.json"]' >"$E2E_WORK/upgraded-config.json"
                    assert_json "$E2E_WORK/upgraded-config.json" '.mode' '"classic"'
                fi
                ran+=" upgrade"
                ;;
            "helm uninstall "*)
                install_objects_gone goinject
                ran+=" uninstall"
                ;;
        esac
    done <"$E2E_WORK/readme-helm.cmds"
    assert_eq "README Helm commands that were checked" " install upgrade uninstall" "$ran"
    # helm leaves the namespace it created; start the plain manifests from scratch.
    kubectl delete namespace goinject-system --wait=false
    poll 90 not_exists namespace goinject-system || fail "goinject-system was not deleted"
}
if [[ -n "${E2E_NODE_NAME:-}" ]]; then
    echo "skip - README: 'Install in a cluster' commands without a node: run for real on the node below"
else
    check "README: 'Install in a cluster / With Helm' commands work as written (install, upgrade, uninstall)" readme_helm
fi

readme_manifests() {
    local dir cmd ran=""
    dir="$(readme_sandbox manifests)"
    readme_commands "With plain manifests" >"$E2E_WORK/readme-manifests.cmds"
    assert_grep "README manifests block" "$E2E_WORK/readme-manifests.cmds" 'goinject certgen'
    assert_grep "README manifests block" "$E2E_WORK/readme-manifests.cmds" 'CA_BUNDLE'
    assert_grep "README manifests block" "$E2E_WORK/readme-manifests.cmds" '^kubectl delete namespace goinject-system'
    while IFS= read -r cmd; do
        run_readme_command "$dir" "$cmd"
        case "$cmd" in
            *CA_BUNDLE*)
                install_objects_exist goinject
                # caBundle is the CA that certgen wrote.
                assert_eq "caBundle" "$(base64 -w0 "$dir/build/certs/ca.crt")" \
                    "$(jq -r '.webhooks[0].clientConfig.caBundle' "$E2E_WORK/mwc.json")"
                # goinject-system enforces restricted: the pods were admitted, so they pass it.
                kubectl get namespace goinject-system -o jsonpath='{.metadata.labels.pod-security\.kubernetes\.io/enforce}' |
                    grep -qx restricted
                ran+=" install"
                ;;
            "kubectl delete namespace "*)
                poll 90 not_exists namespace goinject-system || fail "goinject-system was not deleted"
                install_objects_gone goinject
                ran+=" uninstall"
                ;;
        esac
    done <"$E2E_WORK/readme-manifests.cmds"
    assert_eq "README manifest commands that were checked" " install uninstall" "$ran"
}
if [[ -z "${E2E_NODE_NAME:-}" ]]; then
    check "README: 'Install in a cluster / With plain manifests' commands work as written (certgen, secret, apply, uninstall)" readme_manifests
fi

# ===========================================================================
# 3. goinject on loopback, registered through the chart
# ===========================================================================

# Two goinject processes: classic serves namespaces labelled
# goinject-e2e/mode=classic, cloud-native those labelled cloud-native. Each
# runs with the configuration the chart renders into its ConfigMap, and the
# chart's MutatingWebhookConfiguration (certificates.mode=secret, webhook.url)
# sends the API server to it. The cloud-native one reads its certificate
# through a Kubernetes Secret volume layout (..data symlinks).

values_of() {
    cat <<EOF
mode: $1
excludedNamespaces: [kube-system, kube-public, kube-node-lease, $(ns_of "$1")-excluded]
certificates:
  mode: secret
  caBundle: $CA_B64
webhook:
  podSecurityAware: true
  namespaceSelectorExpressions:
    - {key: goinject-e2e/mode, operator: In, values: [$1]}
EOF
}

# install_certs MODE GENERATION: put leaf MODE-GENERATION where goinject MODE reads it.
install_certs() {
    local mode="$1" gen="$2" dir="$E2E_WORK/tls-$1"
    mkdir -p "$dir"
    if [[ "$mode" == classic ]]; then
        # Plain files, replaced by rename: the key first, then the
        # certificate, 0.4 s apart, as a tool that writes one after the other
        # might. goinject checks every second: a check may see the new key
        # with the old certificate, and must wait for the pair (it retries
        # once) instead of failing.
        cp "$CERTS/$mode-$gen.key" "$dir/.tls.key.new"
        cp "$CERTS/$mode-$gen.crt" "$dir/.tls.crt.new"
        mv -f "$dir/.tls.key.new" "$dir/tls.key"
        [[ "$gen" == 1 ]] || sleep 0.4
        mv -f "$dir/.tls.crt.new" "$dir/tls.crt"
    else
        # A Secret volume as the kubelet writes it: files in a timestamped
        # directory, ..data a symlink to it, tls.* symlinks through ..data.
        # An update swaps ..data with a rename.
        local ts old=""
        ts="..$(date +%Y_%m_%d_%H_%M_%S.%N)"
        [[ -L "$dir/..data" ]] && old="$(readlink "$dir/..data")"
        mkdir "$dir/$ts"
        cp "$CERTS/$mode-$gen.crt" "$dir/$ts/tls.crt"
        cp "$CERTS/$mode-$gen.key" "$dir/$ts/tls.key"
        ln -sfn "$ts" "$dir/..data_tmp"
        mv -T "$dir/..data_tmp" "$dir/..data"
        [[ -L "$dir/tls.crt" ]] || ln -s ..data/tls.crt "$dir/tls.crt"
        [[ -L "$dir/tls.key" ]] || ln -s ..data/tls.key "$dir/tls.key"
        [[ -z "$old" ]] || rm -rf "${dir:?}/$old"
    fi
}

start_goinject() {
    local mode="$1" dir="$E2E_WORK/tls-$1"
    "$GOINJECT_BIN" serve --no-registry --listen 127.0.0.1:0 --tls-cert "$dir/tls.crt" --tls-key "$dir/tls.key" \
        --mode "$mode" --config "$E2E_WORK/$mode.config.json" \
        </dev/null >/dev/null 2>>"$E2E_WORK/$mode.log" &
    track "goinject-$mode" "$!" "$GOINJECT_BIN"
    poll 10 grep -q '"msg":"listening"' "$E2E_WORK/$mode.log" || { cat "$E2E_WORK/$mode.log"; fail "goinject $mode did not start"; }
    jq -r 'select(.msg == "listening") | .port' "$E2E_WORK/$mode.log" >"$E2E_WORK/$mode.port"
    echo "goinject --mode $mode listens on 127.0.0.1:$(cat "$E2E_WORK/$mode.port")"
}

# probe_mutated MODE: a pod sent now comes back mutated (the API server has
# picked up the webhook configuration).
probe_mutated() {
    printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"probe"},"spec":{"containers":[{"name":"c","image":"registry.invalid/probe"}]}}' |
        kubectl -n "$(ns_of "$1")" create --dry-run=server -o json -f - |
        jq -e '.metadata.annotations["goinject.io/status"] != null' >/dev/null
}

setup_goinject() {
    local mode="$1" release ns
    release="$(release_of "$mode")"
    ns="$(release_ns_of "$mode")"
    values_of "$mode" >"$E2E_WORK/$mode.values.yaml"
    # goinject's configuration is what the chart puts into its ConfigMap.
    helm template "$release" "$CHART" --namespace "$ns" -f "$E2E_WORK/$mode.values.yaml" \
        --show-only templates/configmap.yaml |
        kubectl create --dry-run=client -o json -f - | jq -r '.data["config.json"]' >"$E2E_WORK/$mode.config.json"
    assert_json "$E2E_WORK/$mode.config.json" '{mode, excludedNamespaces}' "{\"mode\": \"$mode\",
        \"excludedNamespaces\": [\"kube-system\", \"kube-public\", \"kube-node-lease\", \"$(ns_of "$mode")-excluded\", \"$ns\"]}"
    install_certs "$mode" 1
    start_goinject "$mode"
    local port
    port="$(cat "$E2E_WORK/$mode.port")"
    helm install "$release" "$CHART" --namespace "$ns" -f "$E2E_WORK/$mode.values.yaml" \
        --set webhook.url="https://127.0.0.1:$port/mutate"
    # What was installed: the same configuration, and the webhooks pointing here.
    kubectl -n "$ns" get configmap "$release" -o json | jq -r '.data["config.json"]' >"$E2E_WORK/$mode.installed-config.json"
    assert_json "$E2E_WORK/$mode.installed-config.json" . "$(cat "$E2E_WORK/$mode.config.json")"
    kubectl get mutatingwebhookconfiguration "$release" -o json >"$E2E_WORK/$mode.mwc.json"
    assert_json "$E2E_WORK/$mode.mwc.json" '[.webhooks[] | .clientConfig]' "[
        {\"url\": \"https://127.0.0.1:$port/mutate\", \"caBundle\": \"$CA_B64\"},
        {\"url\": \"https://127.0.0.1:$port/mutate/pod-security-enforced\", \"caBundle\": \"$CA_B64\"},
        {\"url\": \"https://127.0.0.1:$port/mutate\", \"caBundle\": \"$CA_B64\"},
        {\"url\": \"https://127.0.0.1:$port/mutate/pod-security-enforced\", \"caBundle\": \"$CA_B64\"}]"
    poll 30 probe_mutated "$mode" || fail "pods in $(ns_of "$mode") are not mutated 30 s after helm install"
}

for mode in $MODES; do
    setup "setup: goinject --mode $mode on loopback, config from the chart, registered by helm install (webhook.url, certificates.mode=secret)" \
        setup_goinject "$mode"
done

# ---- the rules table, row by row, in both modes ----------------------------
#
# Each row is a pod (pod_ROW prints it) and the expectations for both modes
# (expect_ROW MODE FILE), checked on the API server's answer to a dry run.
# Real creates of the same pods come after.

# shellcheck disable=SC2016 # the wrapper's script, literally
SHELL_WRAP='exec \"$0\" \"$@\"'
TINI_GLIBC=/goinject-agent/tini/glibc/tini
TINI_MUSL=/goinject-agent/tini/musl/tini
ROWS=""
declare -A ROW_TITLE

# Row: not a static Go entrypoint (or unknown) -> classic: nothing;
# cloud-native: agent mount.
ROWS+=" not-static-go"
ROW_TITLE[not-static-go]="not a static Go entrypoint (static-go false, or no facts)"
pod_not-static-go() {
    cat <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: rule-not-static-go
  annotations:
    static-go.goinject.io/web: "false"
spec:
  containers:
    - name: web
      image: registry.invalid/e2e/python:3
      command: ["python3", "-m", "http.server"]
    - name: nofacts
      image: registry.invalid/e2e/nginx:1
EOF
}
expect_not-static-go() {
    local mode="$1" p="$2" c
    assert_warnings "${p%.json}.err"
    expect_argv "$p" web '["python3", "-m", "http.server"]' null
    expect_argv "$p" nofacts null null
    for c in web nofacts; do expect_no_ptrace "$p" "$c"; done
    if [[ "$mode" == classic ]]; then
        for c in web nofacts; do expect_no_agent_mount "$p" "$c"; done
        expect_no_agent_pod "$p"
        expect_status "$p" classic '{"web": "none", "nofacts": "none"}' false "web: none, nofacts: none"
    else
        for c in web nofacts; do expect_agent_mount "$p" "$c"; done
        expect_agent_pod "$p"
        expect_status "$p" cloud-native '{"web": "agent", "nofacts": "agent"}' true "web: agent, nofacts: agent"
    fi
}

# Row: static Go, unsupported (cgo, libc none) -> warning, nothing else.
ROWS+=" unsupported"
ROW_TITLE[unsupported]="static Go, unsupported (cgo; libc none)"
pod_unsupported() {
    cat <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: rule-unsupported
  annotations:
    static-go.goinject.io/cgo: "true"
    cgo.goinject.io/cgo: "true"
    static-go.goinject.io/scratch: "true"
    libc.goinject.io/scratch: "none"
    shell.goinject.io/scratch: "none"
spec:
  containers:
    - name: cgo
      image: registry.invalid/e2e/cgo-app:1
      command: ["/cgo-app"]
    - name: scratch
      image: registry.invalid/e2e/scratch-app:1
      command: ["/scratch-app", "--port", "8080"]
EOF
}
expect_unsupported() {
    local mode="$1" p="$2" c
    assert_warnings "${p%.json}.err" \
        'container "cgo": static Go binary with cgo cannot be monitored; link libc dynamically (go build -ldflags=-linkmode=external, without -static)' \
        'container "scratch": image has no C library (libc none), so the agent cannot run; use a base image with glibc or musl instead of scratch'
    expect_argv "$p" cgo '["/cgo-app"]' null
    expect_argv "$p" scratch '["/scratch-app", "--port", "8080"]' null
    for c in cgo scratch; do
        expect_no_ptrace "$p" "$c"
        expect_no_agent_mount "$p" "$c"
    done
    expect_no_agent_pod "$p"
    expect_status "$p" "$mode" '{"cgo": "unsupported", "scratch": "unsupported"}' false "cgo: unsupported, scratch: unsupported"
}

# Row: static Go, E[0] already a shell or an init -> classic: SYS_PTRACE;
# cloud-native: SYS_PTRACE + agent mount. The argv is kept.
ROWS+=" under-parent"
ROW_TITLE[under-parent]="static Go, E[0] already a shell or an init (sh, tini, dumb-init)"
pod_under-parent() {
    cat <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: rule-under-parent
  annotations:
    goinject.io/static-go: "true"
    entrypoint.goinject.io/dumb: '["/usr/bin/dumb-init", "--"]'
    cmd.goinject.io/dumb: '["/app", "serve"]'
spec:
  containers:
    - name: sh
      image: registry.invalid/e2e/app:1
      command: ["/bin/sh", "-c", "exec /app --port 8080"]
    - name: tini
      image: registry.invalid/e2e/app:1
      command: ["/sbin/tini", "--", "/app"]
      args: ["serve"]
    - name: dumb
      image: registry.invalid/e2e/app:1
EOF
}
expect_under-parent() {
    local mode="$1" p="$2" c
    assert_warnings "${p%.json}.err"
    expect_argv "$p" sh '["/bin/sh", "-c", "exec /app --port 8080"]' null
    expect_argv "$p" tini '["/sbin/tini", "--", "/app"]' '["serve"]'
    expect_argv "$p" dumb null null
    for c in sh tini dumb; do expect_ptrace "$p" "$c"; done
    if [[ "$mode" == classic ]]; then
        for c in sh tini dumb; do expect_no_agent_mount "$p" "$c"; done
        expect_no_agent_pod "$p"
        expect_status "$p" classic '{"sh": "ptrace", "tini": "ptrace", "dumb": "ptrace"}' true "sh: ptrace, tini: ptrace, dumb: ptrace"
    else
        for c in sh tini dumb; do expect_agent_mount "$p" "$c"; done
        expect_agent_pod "$p"
        expect_status "$p" cloud-native '{"sh": "ptrace+agent", "tini": "ptrace+agent", "dumb": "ptrace+agent"}' true \
            "sh: ptrace+agent, tini: ptrace+agent, dumb: ptrace+agent"
    fi
}

# Row: static Go, shell known -> classic: SYS_PTRACE, entrypoint kept;
# cloud-native: shell wrapper. The per-container shell fact beats the
# pod-wide one; arguments that a quoting wrapper would break survive.
ROWS+=" shell-known"
ROW_TITLE[shell-known]="static Go, shell known (hostile arguments kept byte for byte)"
# shellcheck disable=SC2016 # literal strings a quoting wrapper would break
HOSTILE_ARGS='["--greeting", "it'"'"'s \"quoted\"", "two  words", "$(POD_NAME)", "$$(POD_NAME)", "`id`; echo $HOME", "", "tab\there"]'
pod_shell-known() {
    cat <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: rule-shell-known
  annotations:
    goinject.io/static-go: "true"
    goinject.io/shell: "none"
    shell.goinject.io/api: /bin/bash
    entrypoint.goinject.io/api: '["/usr/local/bin/api"]'
    shell.goinject.io/cli: /bin/sh
spec:
  containers:
    - name: api
      image: registry.invalid/e2e/api:1
      args: $HOSTILE_ARGS
      env:
        - name: POD_NAME
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
    - name: cli
      image: registry.invalid/e2e/cli:1
      command: ["/app", "--config", "/etc/app.yaml"]
      args: ["--verbose"]
EOF
}
expect_shell-known() {
    local mode="$1" p="$2" c
    assert_warnings "${p%.json}.err"
    for c in api cli; do expect_ptrace "$p" "$c"; done
    if [[ "$mode" == classic ]]; then
        expect_argv "$p" api null "$HOSTILE_ARGS"
        expect_argv "$p" cli '["/app", "--config", "/etc/app.yaml"]' '["--verbose"]'
        for c in api cli; do expect_no_agent_mount "$p" "$c"; done
        expect_no_agent_pod "$p"
        expect_status "$p" classic '{"api": "ptrace", "cli": "ptrace"}' true "api: ptrace, cli: ptrace"
    else
        # E = ENTRYPOINT + args; the shell gets E[0] as $0 and the rest as "$@".
        expect_argv "$p" api "[\"/bin/bash\", \"-c\", \"$SHELL_WRAP\", \"/usr/local/bin/api\"]" "$HOSTILE_ARGS"
        # E = command + args.
        expect_argv "$p" cli "[\"/bin/sh\", \"-c\", \"$SHELL_WRAP\", \"/app\"]" '["--config", "/etc/app.yaml", "--verbose"]'
        for c in api cli; do expect_agent_mount "$p" "$c"; done
        expect_agent_pod "$p"
        expect_status "$p" cloud-native '{"api": "shell-wrapper", "cli": "shell-wrapper"}' true "api: shell-wrapper, cli: shell-wrapper"
    fi
}

# Row: static Go, shell none or unknown -> classic: SYS_PTRACE, entrypoint
# kept; cloud-native: tini wrapper, glibc flavor (also when libc is unknown).
ROWS+=" shell-none"
ROW_TITLE[shell-none]="static Go, shell none or unknown (glibc tini)"
pod_shell-none() {
    cat <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: rule-shell-none
  annotations:
    static-go.goinject.io/api: "true"
    shell.goinject.io/api: "none"
    libc.goinject.io/api: "glibc"
    entrypoint.goinject.io/api: '["/api"]'
    cmd.goinject.io/api: '["serve", "--port", "9000"]'
    static-go.goinject.io/worker: "true"
    cmd.goinject.io/worker: '["ignored", "because", "command", "is", "set"]'
spec:
  containers:
    - name: api
      image: registry.invalid/e2e/distroless-api:1
    - name: worker
      image: registry.invalid/e2e/worker:1
      command: ["/worker", "-v"]
EOF
}
expect_shell-none() {
    local mode="$1" p="$2" c
    assert_warnings "${p%.json}.err"
    for c in api worker; do expect_ptrace "$p" "$c"; done
    if [[ "$mode" == classic ]]; then
        expect_argv "$p" api null null
        expect_argv "$p" worker '["/worker", "-v"]' null
        for c in api worker; do expect_no_agent_mount "$p" "$c"; done
        expect_no_agent_pod "$p"
        expect_status "$p" classic '{"api": "ptrace", "worker": "ptrace"}' true "api: ptrace, worker: ptrace"
    else
        # E = ENTRYPOINT + CMD.
        expect_argv "$p" api "[\"$TINI_GLIBC\", \"--\", \"/api\"]" '["serve", "--port", "9000"]'
        # E = command (the image CMD is ignored).
        expect_argv "$p" worker "[\"$TINI_GLIBC\", \"--\", \"/worker\"]" '["-v"]'
        for c in api worker; do expect_agent_mount "$p" "$c"; done
        expect_agent_pod "$p"
        expect_status "$p" cloud-native '{"api": "tini-wrapper", "worker": "tini-wrapper"}' true "api: tini-wrapper, worker: tini-wrapper"
    fi
}

# Row: static Go, libc musl -> cloud-native: the musl tini.
ROWS+=" musl"
ROW_TITLE[musl]="static Go, shell none, libc musl (musl tini)"
pod_musl() {
    cat <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: rule-musl
  annotations:
    goinject.io/static-go: "true"
    goinject.io/shell: "none"
    goinject.io/libc: "musl"
spec:
  containers:
    - name: app
      image: registry.invalid/e2e/alpine-app:1
      command: ["/app"]
EOF
}
expect_musl() {
    local mode="$1" p="$2"
    assert_warnings "${p%.json}.err"
    expect_ptrace "$p" app
    if [[ "$mode" == classic ]]; then
        expect_argv "$p" app '["/app"]' null
        expect_no_agent_mount "$p" app
        expect_no_agent_pod "$p"
        expect_status "$p" classic '{"app": "ptrace"}' true "app: ptrace"
    else
        # E has one element: E[1:] is empty, and an empty args is the same as none.
        assert_json "$p" "$(c app) | .command" "[\"$TINI_MUSL\", \"--\", \"/app\"]"
        assert_json "$p" "$(c app) | .args // []" '[]'
        expect_agent_mount "$p" app
        expect_agent_pod "$p"
        expect_status "$p" cloud-native '{"app": "tini-wrapper"}' true "app: tini-wrapper"
    fi
}

# Row: static Go, E unknown -> classic: SYS_PTRACE; cloud-native: warning,
# SYS_PTRACE + agent mount, entrypoint kept.
ROWS+=" argv-unknown"
ROW_TITLE[argv-unknown]="static Go, image ENTRYPOINT or CMD unknown"
pod_argv-unknown() {
    cat <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: rule-argv-unknown
  annotations:
    goinject.io/static-go: "true"
    goinject.io/shell: /bin/sh
    entrypoint.goinject.io/nocmd: '["/srv"]'
spec:
  containers:
    - name: search
      image: registry.invalid/e2e/search:1
    - name: nocmd
      image: registry.invalid/e2e/srv:1
EOF
}
expect_argv-unknown() {
    local mode="$1" p="$2" c
    for c in search nocmd; do
        expect_ptrace "$p" "$c"
        expect_argv "$p" "$c" null null
    done
    if [[ "$mode" == classic ]]; then
        assert_warnings "${p%.json}.err"
        for c in search nocmd; do expect_no_agent_mount "$p" "$c"; done
        expect_no_agent_pod "$p"
        expect_status "$p" classic '{"search": "ptrace", "nocmd": "ptrace"}' true "search: ptrace, nocmd: ptrace"
    else
        assert_warnings "${p%.json}.err" \
            'container "search": static Go not wrapped, image ENTRYPOINT unknown; set command/args or annotate entrypoint.goinject.io/search' \
            'container "nocmd": static Go not wrapped, image CMD unknown; set command/args or annotate cmd.goinject.io/nocmd'
        for c in search nocmd; do expect_agent_mount "$p" "$c"; done
        expect_agent_pod "$p"
        expect_status "$p" cloud-native '{"search": "ptrace+agent", "nocmd": "ptrace+agent"}' true \
            "search: ptrace+agent, nocmd: ptrace+agent"
    fi
}

# Row (selection): one container opted out, the others handled.
ROWS+=" container-opt-out"
ROW_TITLE[container-opt-out]="one container opted out (inject.goinject.io/<container>: false)"
pod_container-opt-out() {
    cat <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: rule-container-opt-out
  annotations:
    goinject.io/static-go: "true"
    goinject.io/shell: /bin/sh
    inject.goinject.io/proxy: "false"
spec:
  containers:
    - name: app
      image: registry.invalid/e2e/app:1
      command: ["/app"]
    - name: proxy
      image: registry.invalid/e2e/proxy:1
      command: ["/proxy"]
EOF
}
expect_container-opt-out() {
    local mode="$1" p="$2"
    assert_warnings "${p%.json}.err"
    expect_ptrace "$p" app
    expect_no_ptrace "$p" proxy
    expect_no_agent_mount "$p" proxy
    expect_argv "$p" proxy '["/proxy"]' null
    if [[ "$mode" == classic ]]; then
        expect_argv "$p" app '["/app"]' null
        expect_no_agent_pod "$p"
        expect_status "$p" classic '{"app": "ptrace", "proxy": "opted-out"}' true "app: ptrace, proxy: opted-out"
    else
        expect_argv "$p" app "[\"/bin/sh\", \"-c\", \"$SHELL_WRAP\", \"/app\"]" null
        expect_agent_mount "$p" app
        expect_agent_pod "$p"
        expect_status "$p" cloud-native '{"app": "shell-wrapper", "proxy": "opted-out"}' true "app: shell-wrapper, proxy: opted-out"
    fi
}


# Row (the patch): a pod with no annotations and no volumes at all, so the
# patch must create /metadata/annotations, /spec/volumes,
# /spec/initContainers and volumeMounts.
ROWS+=" bare"
ROW_TITLE[bare]="a bare pod (no annotations, no volumes): what is missing is created"
pod_bare() {
    cat <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: rule-bare
spec:
  automountServiceAccountToken: false
  containers:
    - name: app
      image: registry.invalid/e2e/app:1
EOF
}
expect_bare() {
    local mode="$1" p="$2"
    assert_warnings "${p%.json}.err"
    expect_argv "$p" app null null
    expect_no_ptrace "$p" app
    assert_json "$p" '.metadata.annotations | keys' '["goinject.io/injected", "goinject.io/reason", "goinject.io/status"]'
    if [[ "$mode" == classic ]]; then
        assert_json "$p" '.spec.volumes' null
        assert_json "$p" "$(c app) | .volumeMounts" null
        expect_no_agent_pod "$p"
        expect_status "$p" classic '{"app": "none"}' false "app: none"
    else
        assert_json "$p" '.spec.volumes' '[{"name": "goinject-agent", "emptyDir": {}}]'
        assert_json "$p" "$(c app) | .volumeMounts" '[{"name": "goinject-agent", "mountPath": "/goinject-agent", "readOnly": true}]'
        assert_json "$p" '[.spec.initContainers[].name]' '["goinject-agent"]'
        expect_agent_pod "$p"
        expect_status "$p" cloud-native '{"app": "agent"}' true "app: agent"
    fi
}

# Row (the patch): existing init containers, one of them a native sidecar
# (restartPolicy: Always, a field a re-serialising webhook could drop). The
# agent's init container goes last; the others are not touched.
ROWS+=" init-containers"
ROW_TITLE[init-containers]="existing init containers and a native sidecar are kept, the agent's goes last"
pod_init-containers() {
    cat <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: rule-init-containers
  annotations:
    goinject.io/static-go: "true"
    goinject.io/shell: /bin/sh
spec:
  initContainers:
    - name: migrate
      image: registry.invalid/e2e/migrate:1
      command: ["/migrate", "--up"]
    - name: proxy
      image: registry.invalid/e2e/proxy:1
      restartPolicy: Always
      command: ["/proxy"]
  containers:
    - name: app
      image: registry.invalid/e2e/app:1
      command: ["/app"]
EOF
}
expect_init-containers() {
    local mode="$1" p="$2"
    assert_warnings "${p%.json}.err"
    expect_ptrace "$p" app
    assert_json "$p" '[.spec.initContainers[] | select(.name != "goinject-agent") |
        {name, command, restartPolicy, caps: .securityContext.capabilities,
         mounts: [.volumeMounts // [] | .[] | select(.name == "goinject-agent")]}]' '[
        {"name": "migrate", "command": ["/migrate", "--up"], "restartPolicy": null, "caps": null, "mounts": []},
        {"name": "proxy", "command": ["/proxy"], "restartPolicy": "Always", "caps": null, "mounts": []}]'
    if [[ "$mode" == classic ]]; then
        expect_argv "$p" app '["/app"]' null
        assert_json "$p" '[.spec.initContainers[].name]' '["migrate", "proxy"]'
        expect_status "$p" classic '{"app": "ptrace"}' true "app: ptrace"
    else
        expect_argv "$p" app "[\"/bin/sh\", \"-c\", \"$SHELL_WRAP\", \"/app\"]" null
        assert_json "$p" '[.spec.initContainers[].name]' '["migrate", "proxy", "goinject-agent"]'
        expect_agent_mount "$p" app
        expect_agent_pod "$p"
        expect_status "$p" cloud-native '{"app": "shell-wrapper"}' true "app: shell-wrapper"
    fi
}

rows_dir() { printf '%s/rows/%s' "$E2E_WORK" "$1"; }

row_dry_run() {
    local row="$1" mode="$2" out
    out="$(rows_dir "$mode")/$row"
    mkdir -p "$(dirname "$out")"
    "pod_$row" | dry_run "$(ns_of "$mode")" "$out"
    "expect_$row" "$mode" "$out.json"
}

for mode in $MODES; do
    for row in $ROWS; do
        check "rules ($mode, dry run): ${ROW_TITLE[$row]}" row_dry_run "$row" "$mode"
    done
done

# Real creates: the pods of every row, created and read back, are what the
# dry runs showed (up to the generated token volume's name, uid and times),
# and kubectl printed the same warnings.
normalize='del(.metadata.uid, .metadata.resourceVersion, .metadata.creationTimestamp, .metadata.managedFields, .status)
    | walk(if type == "string" and test("^kube-api-access-[a-z0-9]+$") then "kube-api-access-*" else . end)'

rows_created() {
    local mode="$1" ns row dir
    ns="$(ns_of "$mode")"
    dir="$(rows_dir "$mode")"
    for row in $ROWS; do
        "pod_$row"
        printf -- '---\n'
    done >"$dir/all.yaml"
    kubectl -n "$ns" create -f "$dir/all.yaml" >"$dir/create.out" 2>"$dir/create.err" || { cat "$dir/create.err"; return 1; }
    cat "$dir/create.out"
    goinject_warnings "$dir/create.err" | sort >"$dir/create.warnings"
    for row in $ROWS; do goinject_warnings "$dir/$row.err"; done | sort >"$dir/dry-run.warnings"
    diff -u "$dir/dry-run.warnings" "$dir/create.warnings" ||
        fail "the real creates' warnings differ from the dry runs'"
    for row in $ROWS; do
        kubectl -n "$ns" get pod "rule-$row" -o json >"$dir/$row.created.json"
        jq -S "$normalize" "$dir/$row.json" >"$dir/$row.dry.norm"
        jq -S "$normalize" "$dir/$row.created.json" >"$dir/$row.created.norm"
        # The dry run's answer passed the row's expectations; the stored
        # pod is the same object, so it does too.
        diff -u "$dir/$row.dry.norm" "$dir/$row.created.norm" || fail "created pod rule-$row differs from its dry run"
        echo "pod/rule-$row as stored = its dry run"
    done
}

for mode in $MODES; do
    check "rules ($mode, created for real): every row's stored pod is mutated as in its dry run" rows_created "$mode"
done

# ---- agent env by libc, through a reload -------------------------------------
#
# The chart's agent.env with glibc and musl sets, rendered into config.json and
# reloaded by the running cloud-native goinject: a glibc container gets any +
# glibc, a musl one any + musl, one whose libc is unknown only any and a
# warning; the status says which. A bad agent.env is refused on reload and the
# configuration in service stays. The chart's own configuration is put back.

LIBC_PROBE=/goinject-agent/probe
libc_env_values() {
    cat <<EOF
agent:
  env:
    any: [{name: GOINJECT_PROBE_DIR, value: /tmp}]
    glibc: [{name: LD_PRELOAD, value: $LIBC_PROBE/glibc/libgoinject-probe.so}]
    musl: [{name: LD_PRELOAD, value: $LIBC_PROBE/musl/libgoinject-probe.so}]
EOF
}
pod_libc_env() {
    cat <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: libc-env
  annotations:
    libc.goinject.io/deb: glibc
    libc.goinject.io/alpine: musl
spec:
  containers:
    - name: deb
      image: registry.invalid/e2e/debian-app:1
    - name: alpine
      image: registry.invalid/e2e/alpine-app:1
    - name: nofacts
      image: registry.invalid/e2e/app:1
EOF
}
config_reloads_above() { (($(metric "$1" "goinject_config_reloads_total{result=\"$2\"}") > $3)); }
# swap_config MODE FILE RESULT: FILE replaces goinject MODE's config.json (by
# rename, a new inode), which counts a reload with RESULT (success, failure).
swap_config() {
    local mode="$1" result="$3" before
    before="$(metric "$mode" "goinject_config_reloads_total{result=\"$result\"}")"
    cp "$2" "$E2E_WORK/$mode.config.json.new"
    mv -f "$E2E_WORK/$mode.config.json.new" "$E2E_WORK/$mode.config.json"
    poll 10 config_reloads_above "$mode" "$result" "$before" ||
        fail "goinject $mode counted no config reload ($result) within 10 s"
}
expect_libc_env() {
    assert_json "$1" '[.spec.containers[] | {(.name): .env}] | add' "{
        \"deb\": [{\"name\": \"GOINJECT_PROBE_DIR\", \"value\": \"/tmp\"},
                  {\"name\": \"LD_PRELOAD\", \"value\": \"$LIBC_PROBE/glibc/libgoinject-probe.so\"}],
        \"alpine\": [{\"name\": \"GOINJECT_PROBE_DIR\", \"value\": \"/tmp\"},
                     {\"name\": \"LD_PRELOAD\", \"value\": \"$LIBC_PROBE/musl/libgoinject-probe.so\"}],
        \"nofacts\": [{\"name\": \"GOINJECT_PROBE_DIR\", \"value\": \"/tmp\"}]}"
    assert_json "$1" '.metadata.annotations["goinject.io/status"] | fromjson | .agentEnv' \
        '{"deb": "glibc", "alpine": "musl", "nofacts": "unknown"}'
}
agent_env_by_libc() {
    local mode=cloud-native out="$E2E_WORK/libc-env"
    cp "$E2E_WORK/$mode.config.json" "$out.chart.json"
    # The chart's configuration goes back even when an assertion ends the check.
    # shellcheck disable=SC2064 # expanded now, on purpose
    trap "cp '$out.chart.json' '$E2E_WORK/$mode.config.json.new' && mv -f '$E2E_WORK/$mode.config.json.new' '$E2E_WORK/$mode.config.json'" EXIT
    libc_env_values >"$out.values.yaml"
    helm template "$(release_of "$mode")" "$CHART" --namespace "$(release_ns_of "$mode")" \
        -f "$E2E_WORK/$mode.values.yaml" -f "$out.values.yaml" --show-only templates/configmap.yaml |
        kubectl create --dry-run=client -o json -f - | jq -r '.data["config.json"]' >"$out.config.json"
    swap_config "$mode" "$out.config.json" success
    pod_libc_env | dry_run "$(ns_of "$mode")" "$out"
    assert_warnings "$out.err" \
        'container "nofacts": libc unknown, so only agent.env.any was set; annotate libc.goinject.io/nofacts with glibc or musl'
    expect_libc_env "$out.json"
    # A bad agent.env is refused on reload, and the configuration in service stays.
    jq '.agent.env.musl[0].vaule = "x"' "$out.config.json" >"$out.bad.json"
    swap_config "$mode" "$out.bad.json" failure
    assert_grep "goinject $mode log" "$E2E_WORK/$mode.log" \
        'configuration not reloaded.*agent\.env\.musl\[0\]\.vaule: unknown field'
    pod_libc_env | dry_run "$(ns_of "$mode")" "$out.kept"
    expect_libc_env "$out.kept.json"
    trap - EXIT
    swap_config "$mode" "$out.chart.json" success
}
check "agent env by libc (cloud-native, reloaded from chart values): glibc and musl containers get any + their set, an unknown libc only any and a warning; a bad agent.env is refused on reload" \
    agent_env_by_libc

# ===========================================================================
# 4. Image facts from a registry: the rule rows again, without annotations
# ===========================================================================
#
# The project's test registry (tests/registry) on loopback (TLS with its own
# CA), seeded with the inspect fixture images, then switched to Bearer tokens
# for one user. Two more goinject processes, registry-classic and
# registry-cloud-native, run with the registry layer on: the chart's
# config.json (registry.budgetMs, registry.credentials.secretName,
# registry.ca.configMap), whose caFile and credentialsFile name local copies
# of the ConfigMap's CA and of the Secret `kubectl create secret
# docker-registry` made. helm install registers each for the namespaces
# labelled goinject-e2e/mode=registry-MODE.
#
# Each row is a pod without any goinject annotation, sent to the registry
# process, and the same pod annotated with the facts `goinject inspect
# --annotations` reads from the registry, sent to the no-registry process of
# the same mode: the containers, init containers, volumes, goinject's
# annotations (but the registry's "facts") and warnings must be the same.

REG_MODES="classic cloud-native"
REG_DIR="$E2E_WORK/registry"
E2E_BUILD="$(realpath -m "${E2E_BUILD:-$repo/build}")"
REG_USER=e2e-puller
REG_PASSWORD='pull-me-9f2c'
# Under the chart's webhook.timeoutSeconds (10) by more than 1 s, and long
# enough for a cold lookup of several images on a loaded machine.
REG_BUDGET_MS=8000

reg_name() { printf 'registry-%s' "$1"; }
reg_addr() { jq -r ".$1" "$REG_DIR/state/addr.json"; }

# reg_control METHOD PATH [BODY]: the test registry's control API; fails
# unless it answers 200.
reg_control() {
    local code
    code="$(curl -sS --max-time 10 --cacert "$(reg_addr ca)" -X "$1" ${3:+-d "$3"} -o "$REG_DIR/control.out" \
        -w '%{http_code}' "https://$(reg_addr main)/_control/$2")"
    [[ "$code" == 200 ]] || fail "registry control $1 $2: HTTP $code: $(cat "$REG_DIR/control.out")"
}

setup_registry() {
    local bin="${E2E_REGISTRY_BIN:-}" main ca ref
    mkdir -p "$REG_DIR"
    if [[ -z "$bin" ]]; then
        bin="$E2E_WORK/testregistry"
        (cd "$repo/tests/registry" && GOWORK=off GOTOOLCHAIN=local go build -o "$bin" .)
    fi
    # The fixture images, as tests/registry/smoke.sh builds them (cached in
    # $E2E_BUILD/inspect).
    "$repo/tests/inspect/build-binaries.sh" "$E2E_BUILD/inspect/bin"
    "$repo/tests/inspect/build-images.sh" "$E2E_BUILD/inspect/bin" "$E2E_BUILD/inspect/images"
    "$bin" serve -state "$REG_DIR/state" -exit-after 30m </dev/null >/dev/null 2>>"$E2E_WORK/testregistry.log" &
    track testregistry "$!" "$bin"
    poll 10 test -s "$REG_DIR/state/addr.json" || { cat "$E2E_WORK/testregistry.log"; fail "the test registry did not start"; }
    main="$(reg_addr main)"
    ca="$(reg_addr ca)"
    echo "test registry on https://$main"
    "$bin" seed -addr "$main" -ca "$ca" -images "$E2E_BUILD/inspect/images" -out "$REG_DIR/seed.json"
    # Images only one check each looks up, so that no other lookup has
    # cached them: slow (a delayed manifest), locked (wrong credentials).
    for ref in slow locked; do
        "$bin" push -addr "$main" -ca "$ca" "$E2E_BUILD/inspect/images/shell.tar" "goinject/$ref:test" |
            tee -a "$REG_DIR/pushed"
    done
    jq -R 'split(" ") | {key: .[0], value: .[1]}' "$REG_DIR/pushed" | jq -s 'from_entries' |
        jq -s '.[0] + .[1]' "$REG_DIR/seed.json" - >"$REG_DIR/digests.json"
    # From now on the registry wants a token, which only the user gets.
    reg_control PUT auth "{\"mode\": \"bearer\", \"user\": \"$REG_USER\", \"password\": \"$REG_PASSWORD\"}"
    assert_eq "anonymous manifest HEAD" 401 "$(curl -sS -I --cacert "$ca" -o /dev/null -w '%{http_code}' \
        "https://$main/v2/goinject/shell/manifests/test")"
    assert_eq "a token for $REG_USER" 200 "$(curl -sS --cacert "$ca" -u "$REG_USER:$REG_PASSWORD" -o /dev/null -w '%{http_code}' \
        "https://$main/token?service=testregistry&scope=repository:goinject/shell:pull")"
}

reg_values() {
    cat <<EOV
mode: $1
certificates:
  mode: secret
  caBundle: $CA_B64
webhook:
  podSecurityAware: true
  namespaceSelectorExpressions:
    - {key: goinject-e2e/mode, operator: In, values: [$(reg_name "$1")]}
registry:
  budgetMs: $REG_BUDGET_MS
  credentials: {secretName: registry-credentials}
  ca: {configMap: registry-ca}
EOV
}

# reg_probe MODE: the registry process of MODE answers for its namespace (a
# pod whose facts are all settled, so that nothing is looked up).
reg_probe() {
    printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"probe","annotations":{"goinject.io/static-go":"false"}},
        "spec":{"containers":[{"name":"c","image":"registry.invalid/probe"}]}}' |
        kubectl -n "$(ns_of "$(reg_name "$1")")" create --dry-run=server -o json -f - |
        jq -e '.metadata.annotations["goinject.io/status"] != null' >/dev/null
}

setup_registry_goinject() {
    local mode="$1" name release ns rel_ns main port
    name="$(reg_name "$mode")"
    release="$(release_of "$name")"
    ns="$(ns_of "$name")"
    rel_ns="$(release_ns_of "$name")"
    main="$(reg_addr main)"
    { namespace "$ns" "goinject-e2e/mode=$name"; namespace "$rel_ns" "goinject-e2e/mode=$name"; } | kubectl apply -f -
    poll 60 kubectl -n "$ns" get serviceaccount default || fail "no default service account in $ns"
    # What a cluster would hold: the credentials Secret and the CA ConfigMap
    # the chart mounts.
    kubectl -n "$rel_ns" create secret docker-registry registry-credentials \
        --docker-server="$main" --docker-username="$REG_USER" --docker-password="$REG_PASSWORD"
    kubectl -n "$rel_ns" create configmap registry-ca --from-file=ca.crt="$(reg_addr ca)"
    reg_values "$mode" >"$E2E_WORK/$name.values.yaml"
    helm template "$release" "$CHART" --namespace "$rel_ns" -f "$E2E_WORK/$name.values.yaml" \
        --show-only templates/configmap.yaml |
        kubectl create --dry-run=client -o json -f - | jq -r '.data["config.json"]' >"$REG_DIR/$mode.chart-config.json"
    assert_json "$REG_DIR/$mode.chart-config.json" '.registry | {enabled, budgetMs, caFile, credentialsFile}' "{
        \"enabled\": true, \"budgetMs\": $REG_BUDGET_MS,
        \"caFile\": \"/etc/goinject/registry-ca/ca.crt\",
        \"credentialsFile\": \"/etc/goinject/registry-credentials/.dockerconfigjson\"}"
    # On loopback the mounted files are local copies of the ConfigMap's and
    # the Secret's data; the rest of config.json is the chart's.
    kubectl -n "$rel_ns" get secret registry-credentials -o json |
        jq -r '.data[".dockerconfigjson"] | @base64d' >"$REG_DIR/$mode.dockerconfigjson"
    kubectl -n "$rel_ns" get configmap registry-ca -o json | jq -r '.data["ca.crt"]' >"$REG_DIR/$mode.ca.crt"
    jq --arg ca "$REG_DIR/$mode.ca.crt" --arg creds "$REG_DIR/$mode.dockerconfigjson" \
        '.registry.caFile = $ca | .registry.credentialsFile = $creds' \
        "$REG_DIR/$mode.chart-config.json" >"$E2E_WORK/$name.config.json"
    make_leaf "$name"
    mkdir -p "$E2E_WORK/tls-$name"
    cp "$CERTS/$name.crt" "$E2E_WORK/tls-$name/tls.crt"
    cp "$CERTS/$name.key" "$E2E_WORK/tls-$name/tls.key"
    # As start_goinject, but with the registry layer on.
    "$GOINJECT_BIN" serve --listen 127.0.0.1:0 --tls-cert "$E2E_WORK/tls-$name/tls.crt" \
        --tls-key "$E2E_WORK/tls-$name/tls.key" --mode "$mode" --config "$E2E_WORK/$name.config.json" \
        </dev/null >/dev/null 2>>"$E2E_WORK/$name.log" &
    track "goinject-$name" "$!" "$GOINJECT_BIN"
    poll 10 grep -q '"msg":"listening"' "$E2E_WORK/$name.log" || { cat "$E2E_WORK/$name.log"; fail "goinject $name did not start"; }
    jq -r 'select(.msg == "listening") | .port' "$E2E_WORK/$name.log" >"$E2E_WORK/$name.port"
    port="$(cat "$E2E_WORK/$name.port")"
    echo "goinject --mode $mode (registry layer on) listens on 127.0.0.1:$port"
    helm install "$release" "$CHART" --namespace "$rel_ns" -f "$E2E_WORK/$name.values.yaml" \
        --set webhook.url="https://127.0.0.1:$port/mutate"
    poll 30 reg_probe "$mode" || fail "pods in $ns are not mutated 30 s after helm install"
}

# ---- the rows ------------------------------------------------------------------
#
# reg_pod_ROW prints the pod (JSON, no goinject annotation; images in the
# test registry); reg_expect_ROW MODE FILE checks the registry process's
# answer on its own terms, as the rows of section 3 do.

REG_ROWS=""
declare -A REG_TITLE

# reg_image NAME: the fixture image NAME in the test registry.
reg_image() { printf '%s/goinject/%s:test' "$REG_MAIN" "$1"; }

# reg_pod NAME CONTAINERS_JSON [SPEC_JSON]: an unannotated pod.
reg_pod() {
    local spec="${3:-}"
    [[ -n "$spec" ]] || spec='{}'
    jq -n --arg name "$1" --argjson containers "$2" --argjson spec "$spec" \
        '{apiVersion: "v1", kind: "Pod", metadata: {name: $name}, spec: ({containers: $containers} + $spec)}'
}

# reg_expect_wrapped MODE POD CONTAINER CN_COMMAND CN_ARGS CLASSIC_ARGS: a
# static Go container that cloud-native wraps (command and args as given)
# and classic leaves as it is (no command, CLASSIC_ARGS), with SYS_PTRACE.
reg_expect_wrapped() {
    local mode="$1" p="$2" c="$3"
    expect_ptrace "$p" "$c"
    if [[ "$mode" == classic ]]; then
        expect_argv "$p" "$c" null "$6"
        expect_no_agent_mount "$p" "$c"
    else
        expect_argv "$p" "$c" "$4" "$5"
        expect_agent_mount "$p" "$c"
    fi
}

# reg_expect_status POD MODE ACTIONS_JSON INJECTED REASON: expect_status,
# but for the "facts" the registry layer adds to goinject.io/status.
reg_expect_status() {
    local pod="$1" mode="$2" actions="$3" injected="$4" reason="$5"
    assert_json "$pod" '.metadata.annotations["goinject.io/status"] | fromjson | del(.facts)' \
        "{\"version\": \"$E2E_VERSION\", \"mode\": \"$mode\", \"containers\": $actions}"
    assert_json "$pod" '.metadata.annotations["goinject.io/injected"]' "\"$injected\""
    assert_json "$pod" '.metadata.annotations["goinject.io/reason"]' "$(jq -n --arg r "$reason" '$r')"
}

# reg_expect_pod MODE POD CLASSIC_ACTIONS CLASSIC_INJECTED CN_ACTIONS: the
# status, and the agent's init container and volume exactly when
# cloud-native injected something.
reg_expect_pod() {
    local mode="$1" p="$2" actions injected reason
    if [[ "$mode" == classic ]]; then
        actions="$3" injected="$4"
        expect_no_agent_pod "$p"
    else
        actions="$5" injected=true
        expect_agent_pod "$p"
    fi
    reason="$(jq -rn --argjson a "$actions" '$a | to_entries | map("\(.key): \(.value)") | join(", ")')"
    reg_expect_status "$p" "$mode" "$actions" "$injected" "$reason"
}

REG_ROWS+=" shell"
REG_TITLE[shell]="static Go with a shell (debian base): shell wrapper"
reg_pod_shell() {
    reg_pod reg-shell "[{\"name\": \"app\", \"image\": \"$(reg_image shell)\"},
        {\"name\": \"cli\", \"image\": \"$(reg_image shell)\", \"args\": [\"--port\", \"9090\", \"two  words\"]}]"
}
reg_expect_shell() {
    local mode="$1" p="$2"
    assert_warnings "${p%.json}.err"
    # E = ENTRYPOINT + CMD; E = ENTRYPOINT + args.
    reg_expect_wrapped "$mode" "$p" app "[\"/bin/sh\", \"-c\", \"$SHELL_WRAP\", \"/app/server\"]" '["--port", "8080"]' null
    reg_expect_wrapped "$mode" "$p" cli "[\"/bin/sh\", \"-c\", \"$SHELL_WRAP\", \"/app/server\"]" \
        '["--port", "9090", "two  words"]' '["--port", "9090", "two  words"]'
    reg_expect_pod "$mode" "$p" '{"app": "ptrace", "cli": "ptrace"}' true '{"app": "shell-wrapper", "cli": "shell-wrapper"}'
}

REG_ROWS+=" distroless"
REG_TITLE[distroless]="static Go, no shell, glibc (distroless): glibc tini wrapper"
reg_pod_distroless() {
    reg_pod reg-distroless "[{\"name\": \"api\", \"image\": \"$(reg_image distroless)\"}]"
}
reg_expect_distroless() {
    local mode="$1" p="$2"
    assert_warnings "${p%.json}.err"
    reg_expect_wrapped "$mode" "$p" api "[\"$TINI_GLIBC\", \"--\", \"/server\"]" '["serve"]' null
    reg_expect_pod "$mode" "$p" '{"api": "ptrace"}' true '{"api": "tini-wrapper"}'
}

REG_ROWS+=" zstd"
REG_TITLE[zstd]="static Go, no shell, glibc, zstd layers: glibc tini wrapper"
reg_pod_zstd() {
    reg_pod reg-zstd "[{\"name\": \"api\", \"image\": \"$(reg_image zstd)\"}]"
}
reg_expect_zstd() { reg_expect_distroless "$@"; }

REG_ROWS+=" unsupported"
REG_TITLE[unsupported]="static Go, unsupported (static cgo; scratch, libc none): warnings only"
reg_pod_unsupported() {
    reg_pod reg-unsupported "[{\"name\": \"cgo\", \"image\": \"$(reg_image cgo-static)\"},
        {\"name\": \"scratch\", \"image\": \"$(reg_image scratch)\", \"args\": [\"--port\", \"8080\"]}]"
}
reg_expect_unsupported() {
    local mode="$1" p="$2" c
    assert_warnings "${p%.json}.err" \
        'container "cgo": static Go binary with cgo cannot be monitored; link libc dynamically (go build -ldflags=-linkmode=external, without -static)' \
        'container "scratch": image has no C library (libc none), so the agent cannot run; use a base image with glibc or musl instead of scratch'
    expect_argv "$p" cgo null null
    expect_argv "$p" scratch null '["--port", "8080"]'
    for c in cgo scratch; do
        expect_no_ptrace "$p" "$c"
        expect_no_agent_mount "$p" "$c"
    done
    expect_no_agent_pod "$p"
    reg_expect_status "$p" "$mode" '{"cgo": "unsupported", "scratch": "unsupported"}' false "cgo: unsupported, scratch: unsupported"
}

REG_ROWS+=" dynamic"
REG_TITLE[dynamic]="not a static Go entrypoint (dynamic musl binary; /bin/sleep): agent mount only"
reg_pod_dynamic() {
    reg_pod reg-dynamic "[{\"name\": \"musl\", \"image\": \"$(reg_image musl)\"},
        {\"name\": \"sleeper\", \"image\": \"$(reg_image dynamic)\"}]"
}
reg_expect_dynamic() {
    local mode="$1" p="$2" c
    assert_warnings "${p%.json}.err"
    for c in musl sleeper; do
        expect_argv "$p" "$c" null null
        expect_no_ptrace "$p" "$c"
        if [[ "$mode" == classic ]]; then expect_no_agent_mount "$p" "$c"; else expect_agent_mount "$p" "$c"; fi
    done
    if [[ "$mode" == classic ]]; then
        expect_no_agent_pod "$p"
        reg_expect_status "$p" classic '{"musl": "none", "sleeper": "none"}' false "musl: none, sleeper: none"
    else
        reg_expect_pod "$mode" "$p" - - '{"musl": "agent", "sleeper": "agent"}'
    fi
}

REG_ROWS+=" path-symlink"
REG_TITLE[path-symlink]="static Go found through PATH and symlinks (ENTRYPOINT [\"server\"]): shell wrapper of E[0]=server"
reg_pod_path-symlink() {
    reg_pod reg-path-symlink "[{\"name\": \"app\", \"image\": \"$(reg_image path-symlink)\"}]"
}
reg_expect_path-symlink() {
    local mode="$1" p="$2"
    assert_warnings "${p%.json}.err"
    reg_expect_wrapped "$mode" "$p" app "[\"/bin/sh\", \"-c\", \"$SHELL_WRAP\", \"server\"]" '["run", "--verbose"]' null
    reg_expect_pod "$mode" "$p" '{"app": "ptrace"}' true '{"app": "shell-wrapper"}'
}

REG_ROWS+=" multiarch-arm64"
REG_TITLE[multiarch-arm64]="multi-arch index, nodeSelector arm64 (the distroless image): glibc tini wrapper"
reg_pod_multiarch-arm64() {
    reg_pod reg-multiarch-arm64 "[{\"name\": \"app\", \"image\": \"$(reg_image multiarch)\"}]" \
        '{"nodeSelector": {"kubernetes.io/os": "linux", "kubernetes.io/arch": "arm64"}}'
}
reg_expect_multiarch-arm64() {
    local mode="$1" p="$2"
    assert_warnings "${p%.json}.err"
    reg_expect_wrapped "$mode" "$p" app "[\"$TINI_GLIBC\", \"--\", \"/server\"]" '["serve"]' null
    reg_expect_pod "$mode" "$p" '{"app": "ptrace"}' true '{"app": "tini-wrapper"}'
}

REG_ROWS+=" multiarch-amd64"
REG_TITLE[multiarch-amd64]="multi-arch index, nodeSelector amd64 (the shell image): shell wrapper"
reg_pod_multiarch-amd64() {
    reg_pod reg-multiarch-amd64 "[{\"name\": \"app\", \"image\": \"$(reg_image multiarch)\"}]" \
        '{"nodeSelector": {"kubernetes.io/arch": "amd64"}}'
}
reg_expect_multiarch-amd64() {
    local mode="$1" p="$2"
    assert_warnings "${p%.json}.err"
    reg_expect_wrapped "$mode" "$p" app "[\"/bin/sh\", \"-c\", \"$SHELL_WRAP\", \"/app/server\"]" '["--port", "8080"]' null
    reg_expect_pod "$mode" "$p" '{"app": "ptrace"}' true '{"app": "shell-wrapper"}'
}

REG_ROWS+=" multiarch-both"
REG_TITLE[multiarch-both]="multi-arch index, node affinity arch In [amd64, arm64]: facts that differ are unknown (ENTRYPOINT unknown)"
reg_pod_multiarch-both() {
    reg_pod reg-multiarch-both "[{\"name\": \"app\", \"image\": \"$(reg_image multiarch)\"}]" \
        '{"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64", "arm64"]}]}]}}}}'
}
reg_expect_multiarch-both() {
    local mode="$1" p="$2"
    expect_ptrace "$p" app
    expect_argv "$p" app null null
    if [[ "$mode" == classic ]]; then
        assert_warnings "${p%.json}.err"
        expect_no_agent_mount "$p" app
    else
        assert_warnings "${p%.json}.err" \
            'container "app": static Go not wrapped, image ENTRYPOINT unknown; set command/args or annotate entrypoint.goinject.io/app'
        expect_agent_mount "$p" app
    fi
    reg_expect_pod "$mode" "$p" '{"app": "ptrace"}' true '{"app": "ptrace+agent"}'
}

# reg_platforms POD_FILE: the platforms (os/arch) the pod may land on, as
# goinject reads them: nodeSelector, else required node affinity, else the
# configured default.
reg_platforms() {
    jq -r '[.spec.nodeSelector["kubernetes.io/arch"] // empty] +
        [.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[]?
         .matchExpressions[] | select(.key == "kubernetes.io/arch") | .values[]]
        | if length == 0 then ["amd64"] else . end | .[] | "linux/" + .' "$1"
}

# reg_annotate ROW: the row's pod, annotated with the facts `goinject
# inspect --annotations` reads from the registry for each container and each
# platform it may land on (only the facts all platforms agree on), in
# $REG_DIR/rows/ROW.annotated.json.
reg_annotate() {
    local row="$1" dir="$REG_DIR/rows" c image platform rc
    mkdir -p "$dir"
    "reg_pod_$row" >"$dir/$row.pod.json"
    echo '{}' >"$dir/$row.facts.json"
    while read -r c image; do
        for platform in $(reg_platforms "$dir/$row.pod.json"); do
            # Exit 1: the image has an unsupported problem (cgo, no libc).
            rc=0
            "$GOINJECT_BIN" inspect --annotations "$c" --platform "$platform" \
                --config "$E2E_WORK/$(reg_name cloud-native).config.json" "$image" \
                </dev/null >"$dir/$row.$c.${platform//\//-}.json" 2>>"$dir/inspect.log" || rc=$?
            ((rc <= 1)) || { tail -n 5 "$dir/inspect.log"; fail "goinject inspect $image exited $rc"; }
        done
        # Per container: the facts every platform has with the same value.
        jq -s 'reduce .[1:][] as $p (.[0]; with_entries(select(.value == $p[.key])))' \
            "$dir/$row.$c".linux-*.json | jq -s '.[0] + .[1]' "$dir/$row.facts.json" - >"$dir/$row.facts.new"
        mv "$dir/$row.facts.new" "$dir/$row.facts.json"
    done < <(jq -r '.spec.containers[] | "\(.name) \(.image)"' "$dir/$row.pod.json")
    jq --slurpfile facts "$dir/$row.facts.json" '.metadata.annotations = $facts[0]' \
        "$dir/$row.pod.json" >"$dir/$row.annotated.json"
    echo "$row: $(jq -c .metadata.annotations "$dir/$row.annotated.json")"
}

reg_annotate_all() {
    local row
    for row in $REG_ROWS; do reg_annotate "$row"; done
    # What follows is goinject serve's traffic only.
    reg_control DELETE log
}

# What must be the same in the answers for a pod and for its annotated twin:
# the containers, init containers and volumes (the generated token volume's
# name aside), and goinject's annotations, the registry's "facts" aside.
reg_same_filter='{containers: .spec.containers, initContainers: .spec.initContainers, volumes: .spec.volumes,
    status: (.metadata.annotations["goinject.io/status"] | fromjson | del(.facts)),
    injected: .metadata.annotations["goinject.io/injected"], reason: .metadata.annotations["goinject.io/reason"]}
    | walk(if type == "string" and test("^kube-api-access-[a-z0-9]+$") then "kube-api-access-*" else . end)'

# reg_facts_from_registry POD_FILE STATES_JSON: goinject.io/status has
# "facts" for every container, from the registry, in one of STATES, with the
# digest the image was pushed with (the index's, for a multi-arch image).
reg_facts_from_registry() {
    local p="$1" states="$2"
    jq --slurpfile d "$REG_DIR/digests.json" --arg reg "$REG_MAIN/" --argjson states "$states" '
        (.metadata.annotations["goinject.io/status"] | fromjson | .facts // {}) as $facts
        | [.spec.containers[] | {name,
            want: {registry: true, state: true, digest: $d[0][.image | ltrimstr($reg)]},
            got: {registry: ($facts[.name].from // [] | index("registry") != null),
                  state: ([$facts[.name].registry] | inside($states)), digest: $facts[.name].digest}}
          | select(.want != .got)]' "$p" >"$p.facts-mismatch"
    jq -e 'length == 0' "$p.facts-mismatch" >/dev/null && return 0
    printf 'FAILED: goinject.io/status facts of %s: containers whose facts are not the registry'"'"'s (want/got):\n' "$(basename "$p")" >&2
    jq -c '.[]' "$p.facts-mismatch" >&2
    jq -c '.metadata.annotations["goinject.io/status"] | fromjson | .facts' "$p" >&2
    return 1
}

reg_row() {
    local mode="$1" row="$2" dir reg ann
    dir="$REG_DIR/rows/$mode"
    mkdir -p "$dir"
    reg="$dir/$row.registry"
    ann="$dir/$row.annotated"
    dry_run "$(ns_of "$(reg_name "$mode")")" "$reg" <"$REG_DIR/rows/$row.pod.json"
    dry_run "$(ns_of "$mode")" "$ann" <"$REG_DIR/rows/$row.annotated.json"
    echo "registry process: $(jq -r '.metadata.annotations["goinject.io/reason"]' "$reg.json")"
    "reg_expect_$row" "$mode" "$reg.json"
    reg_facts_from_registry "$reg.json" '["fetched", "hit"]'
    # The annotated twin, through the no-registry process: the same answer.
    jq -S "$reg_same_filter" "$ann.json" >"$ann.same"
    jq -S "$reg_same_filter" "$reg.json" >"$reg.same"
    diff -u "$ann.same" "$reg.same" || fail "the unannotated pod's answer differs from the annotated one's"
    goinject_warnings "$ann.err" >"$ann.warnings"
    goinject_warnings "$reg.err" >"$reg.warnings"
    diff -u "$ann.warnings" "$reg.warnings" || fail "kubectl printed other warnings for the unannotated pod"
}

# reg_created MODE: the shell row created for real, through the registry
# process, and read back: the pod of its dry run, the facts now a cache hit.
reg_created() {
    local mode="$1" dir out
    dir="$REG_DIR/rows/$mode"
    out="$dir/shell.created"
    create_pod "$(ns_of "$(reg_name "$mode")")" "$out" <"$REG_DIR/rows/shell.pod.json"
    reg_expect_shell "$mode" "$out.json"
    reg_facts_from_registry "$out.json" '["hit"]'
    local norm="$normalize | .metadata.annotations[\"goinject.io/status\"] |= (fromjson | del(.facts[].registry) | tojson)"
    jq -S "$norm" "$dir/shell.registry.json" >"$out.dry.norm"
    jq -S "$norm" "$out.json" >"$out.norm"
    diff -u "$out.dry.norm" "$out.norm" || fail "the stored pod differs from its dry run"
}

# reg_registry_auth: every image request goinject made went with a token, and
# goinject got its tokens with the user's credentials.
reg_registry_auth() {
    reg_control GET log
    # What the registry saw, by kind of request.
    jq -c 'def kind: "\(.method) \(.path | sub("/v2/goinject/[^/]+/"; "/v2/REPO/") | sub("sha256:[0-9a-f]+"; "DIGEST"))";
        group_by([kind, .status, .auth]) | map({request: (.[0] | kind), status: .[0].status, auth: .[0].auth, n: length}) | .[]' \
        "$REG_DIR/control.out"
    cp "$REG_DIR/control.out" "$REG_DIR/rows.log.json"
    local mode
    for mode in $REG_MODES; do
        assert_grep "goinject $(reg_name "$mode") read the dockerconfigjson" "$E2E_WORK/$(reg_name "$mode").log" \
            "\"msg\":\"registry credentials loaded from ${REG_DIR//./\\.}/$mode\\.dockerconfigjson: 1 registries\""
    done
    # Tokens: asked with Basic credentials, issued.
    assert_true "$REG_DIR/rows.log.json" '[.[] | select(.path == "/token")] | length > 0 and all(.auth == "basic" and .status == 200)'
    # Every answered image request (200) carried a token; the others were 401s.
    assert_true "$REG_DIR/rows.log.json" '[.[] | select(.path | startswith("/v2/goinject/"))] | length > 0 and
        all(if .status == 200 then .auth == "bearer" else .status == 401 and .auth == "none" end)'
}

# ---- a lookup past the budget; credentials the registry refuses ---------------

# reg_lookup_done NAME IMAGE: goinject NAME logged a finished lookup of IMAGE.
reg_lookup_done() {
    jq -se --arg image "$2" 'any(.[]; .msg == "registry lookup" and .image == $image and .result == "ok")' \
        "$E2E_WORK/$1.log" >/dev/null
}

# lookups_metric NAME RESULT: goinject_facts_lookups_total{result=RESULT} of goinject NAME (0 when absent).
lookups_metric() { metric "$1" "goinject_facts_lookups_total{result=\"$2\"}" || echo 0; }

reg_pending() {
    local mode=cloud-native name ns out ref t0 t1 before
    name="$(reg_name "$mode")"
    ns="$(ns_of "$name")"
    out="$REG_DIR/slow"
    ref="$(reg_image slow)"
    # The manifest HEAD of this image (only, once) answers after 10 s: past
    # the budget, well within the 60 s a lookup may go on in the background.
    reg_control PUT faults '[{"match": "^/v2/goinject/slow/manifests/", "method": "HEAD", "kind": "delay", "delayMs": 10000, "count": 1}]'
    before="$(lookups_metric "$name" timeout)"
    t0="$(now_ms)"
    reg_pod reg-slow "[{\"name\": \"app\", \"image\": \"$ref\"}]" | dry_run "$ns" "$out-1"
    t1="$(now_ms)"
    reviews "$name" "$ns" reg-slow >"$out-1.reviews"
    echo "the first dry run took $((t1 - t0)) ms, goinject's review $(jq '.[0].durationMs' "$out-1.reviews") ms (budgetMs $REG_BUDGET_MS, timeoutSeconds 10)"
    # goinject waited for its budget, no longer, and the API server had its
    # answer before its timeout (else, failurePolicy Ignore, the pod would
    # have come back without goinject's annotations).
    assert_true "$out-1.reviews" ".[0].durationMs >= $REG_BUDGET_MS - 50 and .[0].durationMs < $REG_BUDGET_MS + 1000"
    ((t1 - t0 < 10000)) || fail "the dry run took $((t1 - t0)) ms: more than the webhook's timeoutSeconds"
    assert_warnings "$out-1.err" "container \"app\": image facts for $ref are not known yet; later pods of this image get the full rules"
    # Nothing known about the image: the row of an unknown static-go fact.
    expect_argv "$out-1.json" app null null
    expect_no_ptrace "$out-1.json" app
    expect_agent_mount "$out-1.json" app
    expect_agent_pod "$out-1.json"
    reg_expect_status "$out-1.json" cloud-native '{"app": "agent"}' true "app: agent; image facts pending"
    assert_json "$out-1.json" '.metadata.annotations["goinject.io/status"] | fromjson | .facts.app.registry' '"pending"'
    assert_eq "goinject_facts_lookups_total{result=timeout} increase" 1 $(($(lookups_metric "$name" timeout) - before))
    # The lookup finishes in the background...
    poll 30 reg_lookup_done "$name" goinject/slow || fail "goinject logged no finished lookup of goinject/slow within 30 s"
    jq -c 'select(.msg == "registry lookup" and .image == "goinject/slow")' "$E2E_WORK/$name.log"
    # ...and the next pod of the image gets the full rules, promptly.
    t0="$(now_ms)"
    reg_pod reg-slow "[{\"name\": \"app\", \"image\": \"$ref\"}]" | dry_run "$ns" "$out-2"
    t1="$(now_ms)"
    echo "the second dry run took $((t1 - t0)) ms"
    assert_warnings "$out-2.err"
    reg_expect_shell_app cloud-native "$out-2.json"
    reg_facts_from_registry "$out-2.json" '["hit"]'
    reg_control PUT faults '[]'
}

# reg_expect_shell_app MODE POD: container app of the shell image, no
# command or args, handled as that row's.
reg_expect_shell_app() {
    reg_expect_wrapped "$1" "$2" app "[\"/bin/sh\", \"-c\", \"$SHELL_WRAP\", \"/app/server\"]" '["--port", "8080"]' null
    reg_expect_pod "$1" "$2" '{"app": "ptrace"}' true '{"app": "shell-wrapper"}'
}

# reg_wrong_credentials MODE: the registry's password changes under
# goinject (its dockerconfigjson is now wrong); a pod of an image it never
# read is admitted without the image's facts, with a warning.
reg_wrong_credentials() {
    local mode="$1" name ns out ref t0 t1
    name="$(reg_name "$mode")"
    ns="$(ns_of "$name")"
    out="$REG_DIR/locked-$mode"
    ref="$(reg_image locked)"
    reg_control PUT auth "{\"mode\": \"bearer\", \"user\": \"$REG_USER\", \"password\": \"changed-$RANDOM\"}"
    # Whatever happens, the password is the dockerconfigjson's again after this check.
    # shellcheck disable=SC2064 # expanded now, on purpose
    trap "reg_control PUT auth '{\"mode\": \"bearer\", \"user\": \"$REG_USER\", \"password\": \"$REG_PASSWORD\"}'" EXIT
    reg_control DELETE log
    t0="$(now_ms)"
    reg_pod reg-locked "[{\"name\": \"app\", \"image\": \"$ref\"}]" | dry_run "$ns" "$out"
    t1="$(now_ms)"
    echo "the dry run took $((t1 - t0)) ms"
    ((t1 - t0 < REG_BUDGET_MS)) || fail "a refused token took the whole budget ($((t1 - t0)) ms)"
    goinject_warnings "$out.err"
    assert_warnings "$out.err" "container \"app\": image facts for $ref could not be read from its registry (token: HTTP 401 (credentials refused or missing)); annotate the pod or add a catalog rule"
    expect_argv "$out.json" app null null
    expect_no_ptrace "$out.json" app
    if [[ "$mode" == classic ]]; then
        expect_no_agent_mount "$out.json" app
        expect_no_agent_pod "$out.json"
        reg_expect_status "$out.json" classic '{"app": "none"}' false "app: none"
    else
        expect_agent_mount "$out.json" app
        expect_agent_pod "$out.json"
        reg_expect_status "$out.json" cloud-native '{"app": "agent"}' true "app: agent"
    fi
    assert_json "$out.json" '.metadata.annotations["goinject.io/status"] | fromjson | .facts.app.registry' '"failed"'
    # goinject sent the user's credentials for a token, and was refused.
    reg_control GET log
    jq -c '.[] | {method, path, status, auth}' "$REG_DIR/control.out"
    assert_true "$REG_DIR/control.out" 'any(.[]; .path == "/token" and .auth == "basic" and .status == 401)'
    assert_true "$REG_DIR/control.out" 'all(.[]; .status != 200)'
}

# ---- podPullSecrets: the pod's own imagePullSecrets, read through the API server -------------
#
# A third registry process: cloud-native, registry.podPullSecrets on, no
# credentials of its own. It reads Secrets with the token of the ServiceAccount
# the chart creates (and binds to get secrets); on loopback the API server's
# address, that token and the cluster CA stand in for the in-cluster files.

PS_NAME=registry-pullsecrets

ps_values() {
    cat <<EOV
mode: cloud-native
certificates:
  mode: secret
  caBundle: $CA_B64
webhook:
  podSecurityAware: true
  namespaceSelectorExpressions:
    - {key: goinject-e2e/mode, operator: In, values: [$PS_NAME]}
registry:
  budgetMs: $REG_BUDGET_MS
  ca: {configMap: registry-ca}
  podPullSecrets: true
EOV
}

setup_pullsecrets_goinject() {
    local release ns rel_ns port server
    release="$(release_of "$PS_NAME")"
    ns="$(ns_of "$PS_NAME")"
    rel_ns="$(release_ns_of "$PS_NAME")"
    { namespace "$ns" "goinject-e2e/mode=$PS_NAME"; namespace "$rel_ns" "goinject-e2e/mode=$PS_NAME"; } | kubectl apply -f -
    poll 60 kubectl -n "$ns" get serviceaccount default || fail "no default service account in $ns"
    kubectl -n "$rel_ns" create configmap registry-ca --from-file=ca.crt="$(reg_addr ca)"
    ps_values >"$E2E_WORK/$PS_NAME.values.yaml"
    helm template "$release" "$CHART" --namespace "$rel_ns" -f "$E2E_WORK/$PS_NAME.values.yaml" \
        --show-only templates/configmap.yaml |
        kubectl create --dry-run=client -o json -f - | jq -r '.data["config.json"]' >"$REG_DIR/$PS_NAME.chart-config.json"
    assert_json "$REG_DIR/$PS_NAME.chart-config.json" '.registry | {podPullSecrets, credentialsFile}' \
        '{"podPullSecrets": true, "credentialsFile": null}'
    jq --arg ca "$(reg_addr ca)" '.registry.caFile = $ca' "$REG_DIR/$PS_NAME.chart-config.json" \
        >"$E2E_WORK/$PS_NAME.config.json"
    # The API server and its CA, as the kubeconfig names them.
    server="$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')"
    kubectl config view --minify --raw -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' |
        base64 -d >"$REG_DIR/kube-ca.crt" 2>/dev/null || true
    [[ -s "$REG_DIR/kube-ca.crt" ]] ||
        cp "$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.certificate-authority}')" "$REG_DIR/kube-ca.crt"
    make_leaf "$PS_NAME"
    mkdir -p "$E2E_WORK/tls-$PS_NAME"
    cp "$CERTS/$PS_NAME.crt" "$E2E_WORK/tls-$PS_NAME/tls.crt"
    cp "$CERTS/$PS_NAME.key" "$E2E_WORK/tls-$PS_NAME/tls.key"
    GOINJECT_KUBE_API="$server" GOINJECT_KUBE_TOKEN_FILE="$REG_DIR/$PS_NAME.token" \
        GOINJECT_KUBE_CA_FILE="$REG_DIR/kube-ca.crt" \
        "$GOINJECT_BIN" serve --listen 127.0.0.1:0 --tls-cert "$E2E_WORK/tls-$PS_NAME/tls.crt" \
        --tls-key "$E2E_WORK/tls-$PS_NAME/tls.key" --config "$E2E_WORK/$PS_NAME.config.json" \
        </dev/null >/dev/null 2>>"$E2E_WORK/$PS_NAME.log" &
    track "goinject-$PS_NAME" "$!" "$GOINJECT_BIN"
    poll 10 grep -q '"msg":"listening"' "$E2E_WORK/$PS_NAME.log" || { cat "$E2E_WORK/$PS_NAME.log"; fail "goinject $PS_NAME did not start"; }
    port="$(jq -r 'select(.msg == "listening") | .port' "$E2E_WORK/$PS_NAME.log")"
    helm install "$release" "$CHART" --namespace "$rel_ns" -f "$E2E_WORK/$PS_NAME.values.yaml" \
        --set webhook.url="https://127.0.0.1:$port/mutate"
    # The token of the ServiceAccount the Deployment would run as, bound by the chart's RBAC.
    kubectl -n "$rel_ns" create token "$release" --duration=1h >"$REG_DIR/$PS_NAME.token"
    assert_eq "the chart's ServiceAccount may get Secrets" yes \
        "$(kubectl auth can-i get secrets -n "$ns" --as="system:serviceaccount:$rel_ns:$release")"
    assert_eq "and nothing else" no \
        "$(kubectl auth can-i list secrets -n "$ns" --as="system:serviceaccount:$rel_ns:$release")"
    # The pods' pull secret: the registry user's credentials, in the pods' namespace.
    kubectl -n "$ns" create secret docker-registry pull-creds \
        --docker-server="$REG_MAIN" --docker-username="$REG_USER" --docker-password="$REG_PASSWORD"
    kubectl -n "$ns" create secret docker-registry pull-creds-late \
        --docker-server="$REG_MAIN" --docker-username="$REG_USER" --docker-password="$REG_PASSWORD"
    poll 30 ps_probe || fail "pods in $ns are not mutated 30 s after helm install"
}

ps_probe() {
    printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"probe","annotations":{"goinject.io/static-go":"false"}},
        "spec":{"containers":[{"name":"c","image":"registry.invalid/probe"}]}}' |
        kubectl -n "$(ns_of "$PS_NAME")" create --dry-run=server -o json -f - |
        jq -e '.metadata.annotations["goinject.io/status"] != null' >/dev/null
}

# ps_pod NAME IMAGE [SECRET]: a pod of IMAGE, naming SECRET as its imagePullSecret.
ps_pod() {
    local spec='{}'
    [[ -z "${3:-}" ]] || spec="{\"imagePullSecrets\": [{\"name\": \"$3\"}]}"
    reg_pod "$1" "[{\"name\": \"app\", \"image\": \"$2\"}]" "$spec"
}

pull_secrets() {
    local ns out
    ns="$(ns_of "$PS_NAME")"
    out="$REG_DIR/pullsecrets"
    # With the pod's pull secret: the facts are read and the shell wrapper written.
    ps_pod ps-with "$(reg_image shell)" pull-creds | dry_run "$ns" "$out-with"
    assert_warnings "$out-with.err"
    reg_expect_shell_app cloud-native "$out-with.json"
    assert_json "$out-with.json" '.metadata.annotations["goinject.io/status"] | fromjson | .facts.app | {from, registry}' \
        '{"from": ["registry"], "registry": "fetched"}'
    # Without one: goinject has no credentials of its own for this registry.
    ps_pod ps-without "$(reg_image musl)" | dry_run "$ns" "$out-without"
    assert_grep "no pull secret, no facts" "$out-without.err" \
        'image facts for .*/goinject/musl:test could not be read from its registry \(.*(credentials|password)'
    # A Secret goinject may not read (the ClusterRoleBinding gone): a warning, the pod admitted.
    kubectl delete clusterrolebinding "$(release_of "$PS_NAME")-pull-secrets"
    poll 10 bash -c "[[ \$(kubectl auth can-i get secrets -n $ns --as=system:serviceaccount:$(release_ns_of "$PS_NAME"):$(release_of "$PS_NAME")) == no ]]"
    ps_pod ps-forbidden "$(reg_image path-symlink)" pull-creds-late | dry_run "$ns" "$out-forbidden"
    assert_grep "a Secret goinject may not read" "$out-forbidden.err" \
        'image facts for .*/goinject/path-symlink:test could not be read from its registry'
    assert_grep "goinject says why" "$E2E_WORK/$PS_NAME.log" 'pull secret [^ ]*/pull-creds-late: goinject may not read Secrets'
    expect_argv "$out-forbidden.json" app null null
}

if ! docker info >/dev/null 2>&1; then
    echo "SKIP - registry facts (section 4): Docker is not usable here, so there are no fixture images to seed the test registry with"
else
    setup "setup: the test registry (tests/registry) on loopback, seeded with the inspect fixture images, Bearer tokens for one user" \
        setup_registry
    REG_MAIN="$(reg_addr main)"
    for mode in $REG_MODES; do
        setup "setup: goinject --mode $mode with the registry layer on (chart config: budgetMs, credentials Secret, CA ConfigMap), registered by helm install" \
            setup_registry_goinject "$mode"
    done
    setup "setup: the rows' pods annotated with the facts goinject inspect reads from the registry" reg_annotate_all
    for mode in $REG_MODES; do
        for row in $REG_ROWS; do
            check "registry facts ($mode, dry run, no annotation = annotated twin): ${REG_TITLE[$row]}" reg_row "$mode" "$row"
        done
    done
    check "registry facts: goinject read every image with a Bearer token it got with the dockerconfigjson's credentials" reg_registry_auth
    for mode in $REG_MODES; do
        check "registry facts ($mode, created for real): the stored pod is its dry run's, its facts a cache hit" reg_created "$mode"
    done
    check "registry facts (cloud-native): a lookup past the budget: the pod is answered in time, unwrapped, 'not known yet'; the next pod of the image is wrapped" \
        reg_pending
    for mode in $REG_MODES; do
        check "registry facts ($mode): credentials the registry refuses: the pod is admitted without the image's facts, 'could not be read from its registry'" \
            reg_wrong_credentials "$mode"
    done
    setup "setup: goinject with registry.podPullSecrets (no credentials of its own), the chart's ServiceAccount and RBAC, pull secrets in the pods' namespace" \
        setup_pullsecrets_goinject
    check "registry facts (podPullSecrets): a pod's imagePullSecret gives goinject the registry's credentials; without one, or when RBAC forbids reading it, a warning" \
        pull_secrets
fi

# ---- warnings past the API server's budget ------------------------------------
#
# The API server passes on about 4 KiB of warnings per request and truncates
# or drops the rest. goinject sends what fits its budget and a last line that
# says how many it left out; kubectl must print every one of those, whole.

many_containers_pod() {
    printf '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "many",
        "annotations": {"goinject.io/static-go": "true", "goinject.io/shell": "/bin/sh"}}, "spec": {"containers": ['
    local i
    for i in $(seq -w 1 40); do
        ((10#$i == 1)) || printf ','
        printf '{"name": "worker-%s", "image": "registry.invalid/e2e/worker:1"}' "$i"
    done
    printf ']}}\n'
}

warnings_budget() {
    local out="$E2E_WORK/many" i n left
    many_containers_pod | dry_run "$(ns_of cloud-native)" "$out"
    # All 40 containers were handled, each with the E-unknown warning.
    assert_json "$out.json" '[.metadata.annotations["goinject.io/status"] | fromjson | .containers[]] | unique' '["ptrace+agent"]'
    for i in $(seq -w 1 40); do
        printf 'Warning: goinject: container "worker-%s": static Go not wrapped, image ENTRYPOINT unknown; set command/args or annotate entrypoint.goinject.io/worker-%s\n' "$i" "$i"
    done >"$out.all"
    goinject_warnings "$out.err" >"$out.printed"
    n="$(wc -l <"$out.printed")"
    echo "kubectl printed $n goinject warnings, $(wc -c <"$out.printed") bytes"
    ((n > 1 && n < 40)) || fail "expected some, not all, of the 40 warnings, got $n"
    # The first n-1 are the first n-1 warnings, whole and in order...
    diff -u <(head -n $((n - 1)) "$out.all") <(head -n $((n - 1)) "$out.printed") ||
        fail "the printed warnings are not the first ones, whole"
    # ...and the last one counts the others.
    left=$((40 - (n - 1)))
    assert_eq "the last warning" \
        "Warning: goinject: $left more warnings left out; the webhook log lists them all" \
        "$(tail -n 1 "$out.printed")"
    # The log has them all.
    reviews cloud-native "$(ns_of cloud-native)" many >"$out.reviews"
    assert_json "$out.reviews" '.[0].warnings | length' 40
}
check "warnings: 40 containers' warnings fit the API server's budget whole, the last line counts the rest, the log has all" warnings_budget

# ---- admission.k8s.io/v1beta1 ------------------------------------------------
#
# The chart registers admissionReviewVersions [v1]; a configuration that asks
# for v1beta1 only gets v1beta1 reviews from the API server, and goinject's
# v1beta1 answers must be accepted.

v1beta1_review() {
    local ns=e2e-v1beta1 port out
    port="$(cat "$E2E_WORK/cloud-native.port")"
    kubectl create namespace "$ns"
    kubectl label namespace "$ns" goinject-e2e/v1beta1=true
    poll 60 kubectl -n "$ns" get serviceaccount default || fail "no default service account in $ns"
    kubectl apply -f - <<EOF
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: goinject-e2e-v1beta1
webhooks:
  - name: v1beta1.e2e.goinject.test
    admissionReviewVersions: ["v1beta1"]
    sideEffects: None
    failurePolicy: Fail
    timeoutSeconds: 10
    clientConfig:
      url: https://127.0.0.1:$port/mutate
      caBundle: $CA_B64
    rules:
      - operations: ["CREATE"]
        apiGroups: [""]
        apiVersions: ["v1"]
        resources: ["pods"]
    namespaceSelector:
      matchLabels:
        goinject-e2e/v1beta1: "true"
EOF
    out="$E2E_WORK/v1beta1"
    # failurePolicy Fail: an answer the API server cannot use fails the create.
    poll 30 v1beta1_probe "$ns" || { v1beta1_probe "$ns" || true; fail "no mutated pod through the v1beta1 webhook within 30 s"; }
    static_pod v1beta1 | dry_run "$ns" "$out"
    expect_argv "$out.json" app "[\"/bin/sh\", \"-c\", \"$SHELL_WRAP\", \"/app\"]" '["--port", "8080"]'
    expect_ptrace "$out.json" app
    expect_agent_pod "$out.json"
    expect_status "$out.json" cloud-native '{"app": "shell-wrapper"}' true "app: shell-wrapper"
    kubectl delete mutatingwebhookconfiguration goinject-e2e-v1beta1
}
v1beta1_probe() {
    static_pod probe | kubectl -n "$1" create --dry-run=server -o json -f - |
        jq -e '.metadata.annotations["goinject.io/status"] != null' || return 1
}
check "admission.k8s.io/v1beta1: a webhook registered for v1beta1 only gets goinject's answers accepted" v1beta1_review

# ---- selection ---------------------------------------------------------------


excluded_namespace() {
    local mode="$1" ns out before
    ns="$(ns_of "$mode")-excluded"
    out="$E2E_WORK/excluded-$mode"
    before="$(metric "$mode" 'goinject_skips_total{reason="namespace"}')"
    static_pod excluded | dry_run "$ns" "$out"
    expect_untouched "$out.json"
    expect_argv "$out.json" app '["/app", "--port", "8080"]' null
    assert_warnings "$out.err"
    # The namespaceSelector let it through; goinject's own configuration skipped it.
    assert_eq "goinject_skips_total{reason=namespace} increase" 1 \
        $(($(metric "$mode" 'goinject_skips_total{reason="namespace"}') - before))
    reviews "$mode" "$ns" excluded >"$out.reviews"
    assert_json "$out.reviews" '[.[].result]' '["skipped"]'
}

pod_opt_out() {
    local mode="$1" ns out before
    ns="$(ns_of "$mode")"
    out="$E2E_WORK/opt-out-$mode"
    before="$(metric "$mode" 'goinject_skips_total{reason="pod-opt-out"}')"
    static_pod opted-out '    goinject.io/inject: "false"' | dry_run "$ns" "$out"
    expect_untouched "$out.json"
    expect_argv "$out.json" app '["/app", "--port", "8080"]' null
    assert_warnings "$out.err"
    assert_eq "goinject_skips_total{reason=pod-opt-out} increase" 1 \
        $(($(metric "$mode" 'goinject_skips_total{reason="pod-opt-out"}') - before))
}

release_namespace() {
    local mode="$1" ns out
    ns="$(release_ns_of "$mode")"
    out="$E2E_WORK/release-ns-$mode"
    # The namespace carries this mode's label, so only the chart's exclusion
    # of its own namespace keeps the pod away from goinject.
    static_pod in-release-ns | create_pod "$ns" "$out"
    expect_untouched "$out.json"
    assert_warnings "$out.err"
    # goinject was not even asked: the namespaceSelector excludes the namespace.
    reviews "$mode" "$ns" in-release-ns >"$out.reviews"
    assert_json "$out.reviews" 'length' 0
}

for mode in $MODES; do
    check "selection ($mode): a namespace in excludedNamespaces is left untouched (goinject skips it)" excluded_namespace "$mode"
    check "selection ($mode): a pod with goinject.io/inject: \"false\" is left untouched" pod_opt_out "$mode"
    check "selection ($mode): a pod in the webhook's release namespace is left untouched (never sent)" release_namespace "$mode"
done

# ---- Pod Security ------------------------------------------------------------
#
# webhook.podSecurityAware: namespaces labelled enforce=restricted go to
# /mutate/pod-security-enforced. A static Go pod there gets no SYS_PTRACE
# (which restricted forbids), a warning, and is admitted by Pod Security.

restricted_pod() {
    cat <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: restricted
  annotations:
    static-go.goinject.io/app: "true"
    shell.goinject.io/app: /bin/sh
    static-go.goinject.io/sidecar: "false"
spec:
  securityContext:
    runAsNonRoot: true
    runAsUser: 1000
    seccompProfile: {type: RuntimeDefault}
  containers:
    - name: app
      image: registry.invalid/e2e/app:1
      command: ["/app"]
      securityContext:
        allowPrivilegeEscalation: false
        capabilities: {drop: [ALL]}
    - name: sidecar
      image: registry.invalid/e2e/sidecar:1
      securityContext:
        allowPrivilegeEscalation: false
        capabilities: {drop: [ALL]}
EOF
}

pod_security() {
    local mode="$1" ns out
    ns="$(ns_of "$mode")-restricted"
    out="$E2E_WORK/restricted-$mode"
    # Pod Security really enforces restricted here: SYS_PTRACE is refused.
    if restricted_pod | sed 's/drop: \[ALL\]}/drop: [ALL], add: [SYS_PTRACE]}/' |
        kubectl -n "$ns" create --dry-run=server -o json -f - >"$out.control" 2>&1; then
        fail "Pod Security admitted a pod that adds SYS_PTRACE in $ns"
    fi
    assert_grep "Pod Security's refusal" "$out.control" 'violates PodSecurity "restricted:latest"'
    # goinject's pod: created for real, so Pod Security admitted it.
    restricted_pod | create_pod "$ns" "$out"
    assert_warnings "$out.err" \
        "container \"app\": static Go needs SYS_PTRACE, which this namespace's Pod Security level forbids; not injected. Label the namespace pod-security.kubernetes.io/enforce=privileged to monitor it"
    expect_no_ptrace "$out.json" app
    expect_no_ptrace "$out.json" sidecar
    expect_argv "$out.json" app '["/app"]' null
    expect_no_agent_mount "$out.json" app
    if [[ "$mode" == classic ]]; then
        expect_no_agent_pod "$out.json"
        expect_status "$out.json" classic '{"app": "pod-security", "sidecar": "none"}' false "app: pod-security, sidecar: none"
    else
        # The sidecar still gets the agent, and the init container passes restricted.
        expect_agent_mount "$out.json" sidecar
        expect_agent_pod "$out.json"
        expect_status "$out.json" cloud-native '{"app": "pod-security", "sidecar": "agent"}' true "app: pod-security, sidecar: agent"
    fi
}

for mode in $MODES; do
    check "pod security ($mode): static Go in a restricted namespace gets no SYS_PTRACE, a warning, and is admitted" pod_security "$mode"
done

# ---- workloads: warnings where the person is ------------------------------------
#
# kubectl apply of a Deployment, a StatefulSet and a CronJob whose pod templates hit
# warning rows: goinject answers each with the warnings its pods would get, no patch,
# and kubectl prints them. The controllers still create the pods, which goinject
# handles at their own creation, as always.

workloads_yaml() {
    cat <<EOF
apiVersion: apps/v1
kind: Deployment
metadata:
  name: wl-deploy
spec:
  replicas: $1
  selector:
    matchLabels: {app: wl-deploy}
  template:
    metadata:
      labels: {app: wl-deploy}
      annotations:
        goinject.io/static-go: "true"
        goinject.io/cgo: "true"
    spec:
      containers:
        - name: app
          image: registry.invalid/e2e/cgo-app:1
          command: ["/cgo-app"]
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: wl-stateful
spec:
  serviceName: wl-stateful
  selector:
    matchLabels: {app: wl-stateful}
  template:
    metadata:
      labels: {app: wl-stateful}
      annotations:
        static-go.goinject.io/db: "true"
        shell.goinject.io/db: /bin/sh
    spec:
      containers:
        - name: db
          image: registry.invalid/e2e/db:1
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: wl-cron
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        metadata:
          annotations:
            static-go.goinject.io/compact: "true"
            cgo.goinject.io/compact: "true"
        spec:
          restartPolicy: OnFailure
          containers:
            - name: compact
              image: registry.invalid/e2e/compact:1
              command: ["/compact"]
EOF
}

workload_warnings() {
    local ns out before
    ns="$(ns_of cloud-native)"
    out="$E2E_WORK/workloads"
    before="$(metric cloud-native 'goinject_reviews_total{result="workload"}')"
    local cgo='static Go binary with cgo cannot be monitored; link libc dynamically (go build -ldflags=-linkmode=external, without -static)'
    local expected=(
        "container \"app\": $cgo"
        'container "db": static Go not wrapped, image ENTRYPOINT unknown; set command/args or annotate entrypoint.goinject.io/db'
        "container \"compact\": $cgo")
    workloads_yaml 1 | kubectl -n "$ns" apply --server-side -f - >"$out.out" 2>"$out.err" || { cat "$out.err"; return 1; }
    cat "$out.out"
    assert_warnings "$out.err" "${expected[@]}"
    # Stored as sent: goinject never patches a workload.
    kubectl -n "$ns" get deployment wl-deploy -o json >"$out.deploy.json"
    assert_json "$out.deploy.json" '.spec.template.spec.containers | map({name, command})' '[{"name": "app", "command": ["/cgo-app"]}]'
    assert_json "$out.deploy.json" '.spec.template.metadata.annotations | keys' '["goinject.io/cgo", "goinject.io/static-go"]'
    # An UPDATE gets the same warnings.
    workloads_yaml 2 | kubectl -n "$ns" apply --server-side -f - >"$out.update.out" 2>"$out.update.err" || { cat "$out.update.err"; return 1; }
    cat "$out.update.out"
    assert_warnings "$out.update.err" "${expected[@]}"
    (($(metric cloud-native 'goinject_reviews_total{result="workload"}') - before >= 6)) ||
        fail "goinject_reviews_total{result=workload} grew by less than 6"
    # The Deployment's ReplicaSet creates the pods; goinject handled each at its creation.
    poll 60 workload_pods_marked "$ns" || { kubectl -n "$ns" get pods -l app=wl-deploy -o json; fail "no marked pods of wl-deploy"; }
    kubectl -n "$ns" get pods -l app=wl-deploy -o json >"$out.pods.json"
    assert_json "$out.pods.json" '[.items[] | .metadata.annotations["goinject.io/reason"]] | unique' '["app: unsupported"]'
    kubectl -n "$ns" delete --wait=false deployment/wl-deploy statefulset/wl-stateful cronjob/wl-cron
}
workload_pods_marked() {
    kubectl -n "$1" get pods -l app=wl-deploy -o json |
        jq -e '.items | length >= 2 and all(.metadata.annotations["goinject.io/reason"] != null)' >/dev/null
}
check "workloads: kubectl apply of a Deployment, a StatefulSet and a CronJob (created, then updated) prints the warnings their pods would get; no patch; the Deployment's pods carry goinject.io/reason" workload_warnings

# ---- the README's dry-run commands -------------------------------------------

readme_check_pod() {
    local dir cmd n=0
    dir="$(readme_sandbox check-pod)"
    # A cloud-native pod whose image ENTRYPOINT is unknown: goinject warns.
    cat >"$dir/pod.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: checked
  namespace: $(ns_of cloud-native)
  annotations:
    goinject.io/static-go: "true"
    goinject.io/shell: /bin/sh
spec:
  containers:
    - name: app
      image: registry.invalid/e2e/app:1
EOF
    local warning='Warning: goinject: container "app": static Go not wrapped, image ENTRYPOINT unknown; set command/args or annotate entrypoint.goinject.io/app'
    readme_commands "Check a pod before you create it" >"$E2E_WORK/readme-check.cmds"
    while IFS= read -r cmd; do
        n=$((n + 1))
        echo "\$ $cmd"
        (cd "$dir" && bash -euo pipefail -c "$cmd") >"$dir/out.$n" 2>"$dir/err.$n" || { cat "$dir/err.$n"; return 1; }
        # "Both print goinject's warnings and the mutated pod." The webhook here runs without the
        # registry; `goinject mutate` reads it, cannot reach registry.invalid, and says so too.
        if [[ "$cmd" == *"goinject mutate"* ]]; then
            grep -qxF -- "$warning" "$dir/err.$n" || { echo "FAILED: warnings of: $cmd" >&2; cat "$dir/err.$n" >&2; return 1; }
            assert_grep "registry warning of: $cmd" "$dir/err.$n" \
                '^Warning: goinject: container "app": image facts for registry.invalid/e2e/app:1 could not be read from its registry'
            assert_no_grep "only warnings on stderr: $cmd" "$dir/err.$n" '^[^W]|^W[^a]'
        else
            assert_lines "warnings of: $cmd" "$dir/err.$n" "$warning"
        fi
        assert_grep "mutated pod from: $cmd" "$dir/out.$n" 'goinject.io/status'
        assert_grep "mutated pod from: $cmd" "$dir/out.$n" 'SYS_PTRACE'
    done <"$E2E_WORK/readme-check.cmds"
    assert_eq "README commands run" 2 "$n"
}
check "README: 'Check a pod before you create it' commands print the warning and the mutated pod" readme_check_pod

# ---- reinvocation --------------------------------------------------------------
#
# A second webhook, ordered after goinject (configurations run in name
# order), adds a static Go container. The API server reinvokes goinject
# (reinvocationPolicy IfNeeded), which handles that container and only it.

setup_late_webhook() {
    local bin="${E2E_LATE_WEBHOOK_BIN:-}"
    if [[ -z "$bin" ]]; then
        bin="$E2E_WORK/latewebhook"
        (cd "$here/latewebhook" && GOWORK=off go build -o "$bin" .)
    fi
    "$bin" --tls-cert "$CERTS/late.crt" --tls-key "$CERTS/late.key" --port-file "$E2E_WORK/late.port" \
        </dev/null >/dev/null 2>>"$E2E_WORK/late.log" &
    track latewebhook "$!" "$bin"
    poll 10 test -s "$E2E_WORK/late.port" || { cat "$E2E_WORK/late.log"; fail "the late webhook did not start"; }
    kubectl apply -f - <<EOF
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: zz-e2e-late
webhooks:
  - name: late.e2e.goinject.test
    admissionReviewVersions: ["v1"]
    sideEffects: None
    # Fail, so a broken late webhook shows as an error, not as a pod without it.
    failurePolicy: Fail
    timeoutSeconds: 10
    reinvocationPolicy: IfNeeded
    clientConfig:
      url: https://127.0.0.1:$(cat "$E2E_WORK/late.port")/mutate
      caBundle: $CA_B64
    rules:
      - operations: ["CREATE"]
        apiGroups: [""]
        apiVersions: ["v1"]
        resources: ["pods"]
    namespaceSelector:
      matchLabels:
        goinject-e2e/late: "true"
EOF
    # Names sort: goinject-classic, goinject-cloud-native, zz-e2e-late.
    kubectl get mutatingwebhookconfigurations -o name | sort
    poll 30 late_probe || fail "the late webhook is not called 30 s after registration"
}

late_probe() {
    printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"probe"},"spec":{"containers":[{"name":"c","image":"registry.invalid/probe"}]}}' |
        kubectl -n "$(ns_of classic)-late" create --dry-run=server -o json -f - |
        jq -e '[.spec.containers[].name] == ["c", "late"]' >/dev/null
}

reinvocation() {
    local mode="$1" ns out c
    ns="$(ns_of "$mode")-late"
    out="$E2E_WORK/reinvoked-$mode"
    static_pod reinvoked | create_pod "$ns" "$out"
    assert_warnings "$out.err"
    local p="$out.json"
    assert_json "$p" '[.spec.containers[].name]' '["app", "late"]'
    for c in app late; do expect_ptrace "$p" "$c"; done
    if [[ "$mode" == classic ]]; then
        expect_argv "$p" app '["/app", "--port", "8080"]' null
        expect_argv "$p" late '["/late"]' '["--from", "the late webhook"]'
        expect_no_agent_pod "$p"
        expect_status "$p" classic '{"app": "ptrace", "late": "ptrace"}' true "app: ptrace, late: ptrace"
    else
        expect_argv "$p" app "[\"/bin/sh\", \"-c\", \"$SHELL_WRAP\", \"/app\"]" '["--port", "8080"]'
        expect_argv "$p" late "[\"$TINI_MUSL\", \"--\", \"/late\"]" '["--from", "the late webhook"]'
        for c in app late; do expect_agent_mount "$p" "$c"; done
        # One init container and one volume, however often goinject was called.
        expect_agent_pod "$p"
        assert_json "$p" '[.spec.initContainers[].name]' '["goinject-agent"]'
        expect_status "$p" cloud-native '{"app": "shell-wrapper", "late": "tini-wrapper"}' true "app: shell-wrapper, late: tini-wrapper"
    fi
    # goinject saw the pod twice: first without the late container, then,
    # reinvoked, with it.
    reviews "$mode" "$ns" reinvoked >"$out.reviews"
    jq -c '.[] | {result, actions}' "$out.reviews"
    assert_json "$out.reviews" '[.[].result]' '["patched", "patched"]'
    # The second time, only the new container was planned.
    if [[ "$mode" == classic ]]; then
        assert_json "$out.reviews" '[.[].actions]' '[{"app": "ptrace"}, {"late": "ptrace"}]'
    else
        assert_json "$out.reviews" '[.[].actions]' '[{"app": "shell-wrapper"}, {"late": "tini-wrapper"}]'
    fi
    assert_grep "the late webhook added its container" "$E2E_WORK/late.log" "namespace=$ns pod=reinvoked containers=1: added late container"
}

setup "setup: a second webhook (tests/e2e/latewebhook) after goinject, reinvocationPolicy IfNeeded" setup_late_webhook
for mode in $MODES; do
    check "reinvocation ($mode): goinject handles the container a later webhook added, once" reinvocation "$mode"
done

# ---- certificate rotation under load ------------------------------------------
#
# While dry runs keep both goinject processes busy, each gets a new serving
# certificate signed by the same CA: classic by renaming the key, then the
# certificate, over the old files; cloud-native by the kubelet's ..data
# symlink swap. No request may fail and every answer must be mutated.

# Two pods per goinject, so each kubectl run makes four admission calls.
ROTATION_PODS=4
rotation_pods() {
    local mode sep=""
    printf '{"apiVersion": "v1", "kind": "List", "items": ['
    for mode in $MODES $MODES; do
        printf '%s{"apiVersion": "v1", "kind": "Pod", "metadata": {"generateName": "rotation-", "namespace": "%s",
            "annotations": {"goinject.io/static-go": "true", "goinject.io/shell": "/bin/sh"}},
            "spec": {"containers": [{"name": "app", "image": "registry.invalid/e2e/app:1", "command": ["/app"]}]}}' \
            "$sep" "$(ns_of "$mode")"
        sep=,
    done
    printf ']}\n'
}

# load_loop DIR: dry runs of both pods until DIR/stop exists (at most 3
# minutes); one result line each in DIR/results.
load_loop() {
    local dir="$1" i=0 deadline=$((SECONDS + 180))
    set +e
    while [[ ! -e "$dir/stop" ]] && ((SECONDS < deadline)); do
        i=$((i + 1))
        # kubectl prints one JSON object per pod.
        if kubectl create --dry-run=server -o json -f "$dir/pods.json" >"$dir/out" 2>"$dir/err"; then
            if jq -se --argjson n "$ROTATION_PODS" 'length == $n and all(.[]; .metadata.annotations["goinject.io/status"] != null
                    and (.spec.containers[0].securityContext.capabilities.add // [] | index("SYS_PTRACE")))' "$dir/out" >/dev/null; then
                echo "ok $i"
            else
                echo "FAIL $i: not mutated: $(jq -sc '[.[] | .metadata.annotations]' "$dir/out" 2>&1 | head -c 400)"
            fi
        else
            echo "FAIL $i: kubectl: $(head -c 400 "$dir/err")"
        fi
    done >>"$dir/results"
}

reloads() { grep -c '"msg":"serving certificate reloaded"' "$E2E_WORK/$1.log" || true; }
ok_count() { grep -c '^ok ' "$1/results" 2>/dev/null || true; }

# wait_reload MODE BEFORE: goinject MODE logged one more reload than BEFORE.
reloaded() { (($(reloads "$1") > $2)); }

rotate_one() {
    local mode="$1" dir="$2" port before_log before_ok before_success before_failure
    port="$(cat "$E2E_WORK/$mode.port")"
    before_log="$(reloads "$mode")"
    before_success="$(metric "$mode" 'goinject_certificate_reloads_total{result="success"}')"
    before_failure="$(metric "$mode" 'goinject_certificate_reloads_total{result="failure"}')"
    assert_eq "$mode serves its first certificate" "$(fingerprint "$CERTS/$mode-1.crt")" "$(served_fingerprint "$port")"
    before_ok="$(ok_count "$dir")"
    install_certs "$mode" 2
    echo "$mode: certificate files replaced after $before_ok good answers"
    poll 10 reloaded "$mode" "$before_log" || fail "goinject $mode did not log 'serving certificate reloaded' within 10 s"
    assert_eq "$mode serves the new certificate to a new handshake" "$(fingerprint "$CERTS/$mode-2.crt")" "$(served_fingerprint "$port")"
    assert_eq "$mode goinject_certificate_reloads_total{result=success} increase" 1 \
        $(($(metric "$mode" 'goinject_certificate_reloads_total{result="success"}') - before_success))
    assert_eq "$mode goinject_certificate_reloads_total{result=failure} increase" 0 \
        $(($(metric "$mode" 'goinject_certificate_reloads_total{result="failure"}') - before_failure))
    # Keep the load on for a few more answers after the swap.
    poll 30 more_ok "$dir" $((before_ok + 4)) || fail "the load stalled after the $mode rotation"
}
more_ok() { (($(ok_count "$1") >= $2)); }

rotation() {
    local dir="$E2E_WORK/rotation" loop_pid
    mkdir -p "$dir"
    rotation_pods >"$dir/pods.json"
    load_loop "$dir" &
    loop_pid=$!
    # Whatever happens, the load stops with this check.
    # shellcheck disable=SC2064 # expanded now, on purpose
    trap "touch '$dir/stop'; wait $loop_pid 2>/dev/null || true" EXIT
    poll 30 more_ok "$dir" 3 || fail "the load did not get going"
    # Not `(...) || rc=$?`: bash would ignore set -e inside.
    local rc
    set +e
    (
        set -e
        rotate_one classic "$dir"
        rotate_one cloud-native "$dir"
    )
    rc=$?
    set -e
    touch "$dir/stop"
    wait "$loop_pid" || true
    local total failures
    total="$(wc -l <"$dir/results")"
    failures="$(grep -c '^FAIL' "$dir/results" || true)"
    echo "$total dry runs of $ROTATION_PODS pods each during the rotations, $failures failed"
    grep '^FAIL' "$dir/results" | head -n 10 || true
    ((rc == 0)) || return "$rc"
    assert_eq "failed or unmutated answers during rotation" 0 "$failures"
    ((total >= 8)) || fail "only $total dry runs: not enough load"
    assert_no_grep "goinject logs" "$E2E_WORK/classic.log" 'serving certificate not reloaded'
    assert_no_grep "goinject logs" "$E2E_WORK/cloud-native.log" 'serving certificate not reloaded'
}
check "certificate rotation under load (rename key then cert; ..data swap): no failure, every answer mutated, reload logged and counted" rotation

# ---- fail open -------------------------------------------------------------------

webhook_down() {
    local pid out t0 t1
    pid="$(tracked_pid goinject-classic)"
    ours "$pid" "$GOINJECT_BIN" || fail "goinject classic (pid $pid) is not running"
    kill -TERM "$pid"
    poll 30 not_running "$pid" || fail "goinject classic did not stop"
    rm -f "$E2E_WORK/pids/goinject-classic.pid"
    out="$E2E_WORK/down"
    static_pod while-down >"$out.yaml"
    t0="$(now_ms)"
    kubectl -n "$(ns_of classic)" create -f "$out.yaml" 2>"$out.err"
    t1="$(now_ms)"
    echo "kubectl create took $((t1 - t0)) ms with goinject down (timeoutSeconds is 10)"
    kubectl -n "$(ns_of classic)" get pod while-down -o json >"$out.json"
    expect_untouched "$out.json"
    expect_argv "$out.json" app '["/app", "--port", "8080"]' null
    assert_warnings "$out.err"
    # A webhook that hung would cost the full 10 s; a refused connection, nothing.
    ((t1 - t0 < 5000)) || fail "the create took $((t1 - t0)) ms: the refused connection should fail fast"
}
not_running() { ! kill -0 "$1" 2>/dev/null; }
check "fail open: with goinject stopped, a pod is admitted unmutated, in well under timeoutSeconds (failurePolicy Ignore)" webhook_down

# ===========================================================================
# 5. On the node (tests/e2e/node-checks.sh)
# ===========================================================================

if [[ -n "${E2E_NODE_NAME:-}" ]]; then
    node_checks
fi

summary
((E2E_FAILED == 0))
