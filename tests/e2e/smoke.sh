#!/usr/bin/env bash
# Smoke test of the e2e control plane. Run it through with-cluster.sh:
#   tests/e2e/with-cluster.sh tests/e2e/smoke.sh
set -euo pipefail

: "${KUBECONFIG:?KUBECONFIG is not set: run this through with-cluster.sh}"

ns=default
passed=0
failed=0
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

check() {
    local name="$1"
    shift
    if "$@" >"$work/out" 2>&1; then
        passed=$((passed + 1))
        printf 'ok   - %s\n' "$name"
    else
        failed=$((failed + 1))
        printf 'FAIL - %s\n' "$name"
        sed 's/^/       /' "$work/out" | tail -n 30
    fi
}

# poll SECONDS CMD...: retry CMD once a second until it succeeds.
poll() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        ((SECONDS < deadline)) || return 1
        sleep 1
    done
}

pod_manifest() {
    cat <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: smoke-dry-run
  labels:
    app: smoke-dry-run
spec:
  containers:
  - name: app
    image: registry.invalid/smoke:1
EOF
}

deployment_manifest() {
    cat <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: smoke
spec:
  replicas: 1
  selector:
    matchLabels:
      app: smoke
  template:
    metadata:
      labels:
        app: smoke
    spec:
      containers:
      - name: app
        image: registry.invalid/smoke:1
EOF
}

# Note: check() runs these in an `if`, where `set -e` does not apply, so every
# step that can fail ends in `|| return 1`.

# A server-side dry run goes through authentication, authorization and the
# whole admission chain (the ServiceAccount plugin fills in the account).
dry_run_pod() {
    pod_manifest | kubectl -n "$ns" create --dry-run=server -o json -f - >"$work/pod.json" || return 1
    grep -q '"kind": "Pod"' "$work/pod.json" || return 1
    grep -q '"serviceAccountName": "default"' "$work/pod.json" || { cat "$work/pod.json"; return 1; }
    # A dry run must not persist anything.
    if kubectl -n "$ns" get pod smoke-dry-run >/dev/null 2>&1; then
        echo "dry-run pod was persisted"
        return 1
    fi
}

replicaset_exists() {
    [[ -n "$(kubectl -n "$ns" get replicaset -l app=smoke -o name 2>/dev/null)" ]]
}

pod_exists() {
    [[ -n "$(kubectl -n "$ns" get pod -l app=smoke -o name 2>/dev/null)" ]]
}

deployment_creates_pod() {
    deployment_manifest | kubectl -n "$ns" apply -f - || return 1
    poll 60 replicaset_exists || { echo "no ReplicaSet after 60s"; kubectl -n "$ns" describe deployment smoke; return 1; }
    poll 60 pod_exists || { echo "no Pod after 60s"; kubectl -n "$ns" describe replicaset -l app=smoke; return 1; }
    kubectl -n "$ns" get deployment,replicaset,pod -l app=smoke -o wide || return 1
    # Owned by the ReplicaSet, i.e. created by the controller manager.
    kubectl -n "$ns" get pod -l app=smoke \
        -o jsonpath='{.items[0].metadata.ownerReferences[0].kind}' | grep -x ReplicaSet >/dev/null
}

helm_version() {
    helm version || return 1
    helm version --short | grep '^v3\.' >/dev/null
}

helm_install() {
    mkdir -p "$work/chart/templates" || return 1
    printf 'apiVersion: v2\nname: smoke\nversion: 0.1.0\n' >"$work/chart/Chart.yaml" || return 1
    cat >"$work/chart/templates/configmap.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-smoke
data:
  release: {{ .Release.Name | quote }}
EOF
    helm install smoke-release "$work/chart" --namespace "$ns" || return 1
    kubectl -n "$ns" get configmap smoke-release-smoke -o jsonpath='{.data.release}' | grep -x smoke-release >/dev/null || return 1
    helm uninstall smoke-release --namespace "$ns"
}

check "apiserver /readyz" kubectl get --raw /readyz
check "server-side dry run of a pod" dry_run_pod
check "deployment creates a replicaset and a pod" deployment_creates_pod
check "helm version" helm_version
check "helm install and uninstall of a chart" helm_install

kubectl -n "$ns" delete deployment smoke --ignore-not-found >/dev/null 2>&1 || true

printf 'smoke: %d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
