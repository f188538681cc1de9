# shellcheck shell=bash
# The end-to-end checks on the real node (tests/e2e/node.sh): sourced by run.sh, which calls
# node_hold before its first pod and node_checks after its node-less checks, when with-cluster.sh
# started a node (E2E_NODE_NAME and the other E2E_NODE_* exports of `node.sh env`).
#
# While the node-less checks run, the node carries a NoSchedule taint, so their pods stay
# unscheduled as on a cluster without nodes. node_checks then removes what they left (webhook
# configurations, workloads, pods), lifts the taint and checks, on the node:
#   - a pod runs (the sandbox image, the goinject image), on the pod network, without a default
#     route;
#   - the README's Helm commands, as written: the webhook pods Ready behind the Service, and the
#     API server's reviews answered by them (a pod's annotations, the pods' logs); upgrade,
#     uninstall leaving nothing behind; the chart with an existing Secret;
#   - the runtime proof: tests/runtime/e2e -node, with goinject installed three times by helm
#     (cloud-native with the glibc probe, with the musl probe, classic);
#   - helm upgrade rolling the webhook pods while pods are created in a steady stream;
#   - the README's plain-manifests commands, as written.
# Needs: E2E_RUNTIME_BIN (the tests/runtime programs, tests/runtime/build.sh), E2E_IMAGE (the
# goinject image), E2E_BASE_IMAGE (the Debian base of the test images), E2E_BUILD.

NODE_TAINT="e2e.goinject.io/hold"
NODE_NS_PREFIX="e2e-node"

node_cidr_prefix() { local c="${E2E_NODE_POD_CIDR%.0/24}"; printf '%s.' "$c"; }

# ran_pod NS NAME: record the pod when one of its containers started on the node.
ran_pod() {
    kubectl -n "$1" get pod "$2" -o json | jq -r --arg node "$E2E_NODE_NAME" '
        select(.spec.nodeName == $node and
            ([.status.containerStatuses[]?, .status.initContainerStatuses[]?
              | .state.running.startedAt // .state.terminated.startedAt // empty] | length > 0))
        | .metadata.uid' >>"$E2E_WORK/pods-ran"
}

# ---- hold and release ------------------------------------------------------------------------

node_hold() {
    kubectl get node "$E2E_NODE_NAME" -o json >"$E2E_WORK/node.json"
    assert_json "$E2E_WORK/node.json" '.status.conditions[] | select(.type == "Ready") | .status' '"True"'
    kubectl taint node "$E2E_NODE_NAME" "$NODE_TAINT=node-less-checks:NoSchedule" --overwrite
    jq -r '"node \(.metadata.name): kubelet \(.status.nodeInfo.kubeletVersion), \(.status.nodeInfo.containerRuntimeVersion), \(.status.addresses | map(.type + " " + .address) | join(", "))"' \
        "$E2E_WORK/node.json"
}

no_pods_left() { [[ -z "$(kubectl get pods -A -o name)" ]]; }

# Every pod whose containers start on the node is counted for the summary line: a watch of all
# pods from here to node_finish.
node_watch_pods() {
    kubectl get pods -A --watch -o json >"$E2E_WORK/pods.watch" 2>/dev/null &
    track pods-watch "$!" "$(command -v kubectl)"
}

node_finish() {
    local pid
    if [[ -f "$E2E_WORK/pids/pods-watch.pid" ]]; then
        pid="$(tracked_pid pods-watch)"
        kill -TERM "$pid" 2>/dev/null || true
        rm -f "$E2E_WORK/pids/pods-watch.pid"
    fi
    [[ -s "$E2E_WORK/pods.watch" ]] || return 0
    jq -r --arg node "$E2E_NODE_NAME" 'select(.kind == "Pod" and .spec.nodeName == $node)
        | select([.status.containerStatuses[]?, .status.initContainerStatuses[]?
                  | .state.running.startedAt // .state.terminated.startedAt // empty] | length > 0)
        | .metadata.uid' "$E2E_WORK/pods.watch" >>"$E2E_WORK/pods-ran" 2>/dev/null || true
}

node_release() {
    # What the node-less checks left: webhook configurations that point at processes that are
    # gone, workloads and pods that were never scheduled.
    kubectl delete mutatingwebhookconfigurations,validatingwebhookconfigurations --all --wait=false
    kubectl delete deployments,statefulsets,daemonsets,replicasets,jobs,cronjobs --all -A --wait=false
    kubectl delete pods --all -A --wait=false --grace-period=0 --force 2>&1 | grep -v '^Warning: Immediate deletion' || true
    poll 90 no_pods_left || { kubectl get pods -A; fail "pods of the node-less checks are still there"; }
    kubectl taint node "$E2E_NODE_NAME" "$NODE_TAINT-"
    local ns
    for ns in plain readme stream; do
        namespace "$NODE_NS_PREFIX-$ns"
    done | kubectl apply -f -
    poll 60 node_default_sa "$NODE_NS_PREFIX-plain" "$NODE_NS_PREFIX-readme" "$NODE_NS_PREFIX-stream" ||
        fail "no default service accounts"
}

node_default_sa() {
    local ns
    for ns in "$@"; do
        kubectl -n "$ns" get serviceaccount default >/dev/null 2>&1 || return 1
    done
}

# ---- a pod runs ------------------------------------------------------------------------------

pod_phase_is() { [[ "$(kubectl -n "$1" get pod "$2" -o jsonpath='{.status.phase}')" == "$3" ]]; }

node_pod_runs() {
    local ns="$NODE_NS_PREFIX-plain" out="$E2E_WORK/node-pod"
    cat <<EOF | kubectl -n "$ns" create -f -
apiVersion: v1
kind: Pod
metadata: {name: sandbox-image}
spec:
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 5
  containers:
    - {name: pause, image: "$E2E_NODE_SANDBOX_IMAGE", imagePullPolicy: Never}
---
apiVersion: v1
kind: Pod
metadata: {name: goinject-version}
spec:
  automountServiceAccountToken: false
  restartPolicy: Never
  containers:
    - name: goinject
      image: "$E2E_IMAGE"
      imagePullPolicy: Never
      args: [version]
EOF
    poll 120 pod_phase_is "$ns" sandbox-image Running || { kubectl -n "$ns" describe pod sandbox-image | tail -20; fail "not Running"; }
    poll 120 pod_phase_is "$ns" goinject-version Succeeded || { kubectl -n "$ns" describe pod goinject-version | tail -20; fail "not Succeeded"; }
    ran_pod "$ns" sandbox-image
    ran_pod "$ns" goinject-version
    kubectl -n "$ns" get pod sandbox-image -o json >"$out.json"
    assert_json "$out.json" .spec.nodeName "\"$E2E_NODE_NAME\""
    local ip
    ip="$(jq -r .status.podIP "$out.json")"
    [[ "$ip" == "$(node_cidr_prefix)"* ]] || fail "pod IP $ip is not in the pod CIDR $E2E_NODE_POD_CIDR"
    echo "sandbox-image: Running on $E2E_NODE_NAME, IP $ip"
    # Inside the pod's network namespace: only the route of the pod subnet, no default route.
    local cid pid
    cid="$(jq -r '.status.containerStatuses[0].containerID | sub("^containerd://"; "")' "$out.json")"
    pid="$(ctr --address "$E2E_NODE_CTR_ADDRESS" -n k8s.io tasks ls | awk -v id="$cid" '$1 == id { print $2 }')"
    [[ -n "$pid" ]] || fail "no task for container $cid"
    nsenter -t "$pid" -n ip -4 route show >"$out.routes"
    sed 's/^/  route: /' "$out.routes"
    assert_no_grep "the pod's routes" "$out.routes" '^default'
    assert_eq "number of routes in the pod" 1 "$(grep -c . "$out.routes")"
    assert_grep "the pod's routes" "$out.routes" "^${E2E_NODE_POD_CIDR//./\\.} dev eth0 .*src ${ip//./\\.}( |\$)"
    kubectl -n "$ns" logs goinject-version >"$out.version"
    assert_grep "goinject version in the pod's log" "$out.version" "^goinject $E2E_VERSION "
    kubectl -n "$ns" delete pod sandbox-image goinject-version --wait=true --timeout=60s
    # No registry is reached: containerd's pulls go to a proxy on loopback where nothing listens.
    printf '%s\n' "apiVersion: v1" "kind: Pod" "metadata: {name: no-pull}" \
        "spec: {automountServiceAccountToken: false, containers: [{name: c, image: registry.invalid/e2e/none:1}]}" |
        kubectl -n "$ns" create -f -
    pull_refused() {
        kubectl -n "$ns" get events --field-selector involvedObject.name=no-pull -o json |
            jq -e '[.items[] | select(.reason == "Failed") | .message | select(test("127\\.0\\.0\\.1:9.*connection refused"))] | length > 0' >/dev/null
    }
    poll 60 pull_refused || { kubectl -n "$ns" describe pod no-pull | tail -8; fail "the pull did not end at the loopback proxy"; }
    kubectl -n "$ns" get events --field-selector involvedObject.name=no-pull -o json |
        jq -r '[.items[] | select(.reason == "Failed") | .message][0]' | sed 's/.*failed to do request: /  /'
    kubectl -n "$ns" delete pod no-pull --wait=false
}

# ---- goinject in the cluster ------------------------------------------------------------------

# release_pods_ready NS RELEASE N: N pods of the release, all Ready, none terminating.
release_pods_ready() { pods_ready "$1" "app.kubernetes.io/instance=$2" "$3"; }

# pods_ready NS SELECTOR N: N pods, all Ready, none terminating.
pods_ready() {
    kubectl -n "$1" get pods -l "$2" -o json |
        jq -e --argjson n "$3" '[.items[] | select(.metadata.deletionTimestamp == null)
            | select(.status.conditions[]? | .type == "Ready" and .status == "True")] | length == $n' >/dev/null
}

# mutated_as NS MODE OUT: a pod (named anew each time, the name in OUT.name) sent to the API
# server (server dry run) in NS comes back mutated by goinject in MODE; the answer in OUT.
mutated_as() {
    local name
    name="$(basename "$3")-$RANDOM"
    printf '%s\n' "$name" >"$3.name"
    static_pod "$name" | kubectl -n "$1" create --dry-run=server -o json -f - >"$3" 2>/dev/null &&
        jq -e --arg mode "$2" '.metadata.annotations["goinject.io/status"] // "{}" | fromjson | .mode == $mode' "$3" >/dev/null
}

# serves_through_service NS SERVICE SELECTOR MODE: the Service's ready endpoints are the
# Deployment's Ready pods on the node; a pod sent to the API server (server dry run) comes back
# mutated in MODE, and one of those pods logged its review. After an upgrade the API server may
# keep using a connection to an old pod while that pod's shutdown delay lasts (its answers are
# the old configuration's), so MODE is waited for.
serves_through_service() {
    local ns="$1" svc="$2" selector="$3" mode="$4" out="$E2E_WORK/serves-$1-$RANDOM"
    kubectl -n "$ns" get pods -l "$selector" -o json >"$out.pods.json"
    jq -r --arg node "$E2E_NODE_NAME" '[.items[] | select(.metadata.deletionTimestamp == null and .spec.nodeName == $node)
        | select(.status.conditions[]? | .type == "Ready" and .status == "True") | .status.podIP] | sort | join(" ")' \
        "$out.pods.json" >"$out.pod-ips"
    [[ -n "$(cat "$out.pod-ips")" ]] || fail "no Ready pods of $selector in $ns"
    endpoints_are_pods() {
        kubectl -n "$ns" get endpointslices -l "kubernetes.io/service-name=$svc" -o json >"$out.eps.json"
        jq -e --arg ips "$(cat "$out.pod-ips")" '[.items[].endpoints[]? | select(.conditions.ready) | .addresses[]] | sort | join(" ") == $ips' \
            "$out.eps.json" >/dev/null
    }
    poll 30 endpoints_are_pods || {
        jq -c '[.items[].endpoints[]? | {addresses, conditions}]' "$out.eps.json"
        fail "the Service's ready endpoints are not the pods $(cat "$out.pod-ips")"
    }
    # The webhook's port, and the metrics listener's (the chart's and deploy/'s default).
    assert_json "$out.eps.json" '[.items[].ports[]? | {(.name): .port}] | unique | add' '{"https":8443,"metrics":8080}'
    local ip
    for ip in $(cat "$out.pod-ips"); do
        [[ "$ip" == "$(node_cidr_prefix)"* ]] || fail "endpoint $ip is not in the pod CIDR"
    done
    echo "Service $ns/$svc: ready endpoints $(cat "$out.pod-ips") (pods on $E2E_NODE_NAME)"
    local pod
    poll 30 mutated_as "$NODE_NS_PREFIX-readme" "$mode" "$out.dry" || {
        cat "$out.dry"
        fail "a pod sent to the API server did not come back mutated ($mode) within 30 s"
    }
    pod="$(cat "$out.dry.name")"
    echo "pod $pod sent to the API server came back mutated ($mode): $(jq -r '.metadata.annotations["goinject.io/reason"]' "$out.dry")"
    # The review, in the log of one of the Ready pods behind the Service.
    served_by() {
        kubectl -n "$ns" logs -l "$selector" --tail=-1 --prefix --max-log-requests=10 2>/dev/null |
            grep -F "\"pod\":\"$pod\"" | grep -F '"msg":"review"' >"$out.served"
    }
    poll 20 served_by || fail "no pod behind the Service logged the review of $pod"
    local by
    by="$(sed -E 's/^\[pod\/([^/]+)\/.*/\1/' "$out.served" | sort -u | tr '\n' ' ')"
    echo "reviewed by: $by"
    jq -r --arg by "${by% }" '.items[] | select(.metadata.name == $by) | .status.podIP' "$out.pods.json" | grep -q . ||
        fail "the review was logged by $by, not by one of the Ready pods"
}

# nothing_left SELECTOR: no object of any kind the chart or deploy/ makes carries the labels, in
# any namespace, and helm knows no such release.
nothing_left() {
    local selector="$1"
    gone() {
        [[ -z "$(kubectl get pods,deployments,replicasets,services,endpoints,configmaps,secrets,serviceaccounts,poddisruptionbudgets,roles,rolebindings \
            -A -l "$selector" -o name 2>/dev/null)" ]] &&
            [[ -z "$(kubectl get clusterroles,clusterrolebindings,mutatingwebhookconfigurations,validatingwebhookconfigurations \
                -l "$selector" -o name 2>/dev/null)" ]]
    }
    poll 90 gone || {
        kubectl get pods,deployments,services,endpoints,configmaps,secrets,serviceaccounts,poddisruptionbudgets -A -l "$selector"
        fail "objects labelled $selector are left"
    }
    echo "nothing labelled $selector is left"
}

# no_release NAME NS: a release an earlier, failed check left is uninstalled, its namespace gone.
no_release() {
    if helm status "$1" --namespace "$2" >/dev/null 2>&1; then
        echo "(uninstalling $1 left in $2 by an earlier check)"
        helm uninstall "$1" --namespace "$2" --wait >/dev/null || true
    fi
    kubectl delete mutatingwebhookconfiguration -l "app.kubernetes.io/instance=$1" --ignore-not-found >/dev/null
    kubectl get namespace "$2" >/dev/null 2>&1 && namespace_gone "$2"
    return 0
}

namespace_gone() {
    kubectl delete namespace "$1" --wait=false --ignore-not-found
    poll 120 not_exists namespace "$1" || fail "namespace $1 was not deleted"
}

# run_readme_command, for the node: the commands exactly as written (a rollout status waits for
# real pods), under a time limit.
run_node_readme_command() {
    local dir="$1" cmd="$2"
    echo "\$ $cmd"
    (cd "$dir" && timeout 300 bash -euo pipefail -c "$cmd" </dev/null) 2>&1 | sed 's/^/  | /'
}

node_readme_helm() {
    local dir cmd ran=""
    no_release goinject goinject-system
    dir="$(readme_sandbox node-helm)"
    readme_commands "With Helm" >"$E2E_WORK/node-readme-helm.cmds"
    assert_grep "README Helm block" "$E2E_WORK/node-readme-helm.cmds" '^kubectl -n goinject-system rollout status deployment/goinject$'
    local ca_before=""
    while IFS= read -r cmd; do
        run_node_readme_command "$dir" "$cmd"
        case "$cmd" in
            "helm install "*)
                install_objects_exist goinject
                ca_before="$(jq -r '.webhooks[0].clientConfig.caBundle' "$E2E_WORK/mwc.json")"
                ran+=" install"
                ;;
            *"rollout status"*)
                release_pods_ready goinject-system goinject 2 || fail "the Deployment's 2 pods are not Ready after rollout status"
                serves_through_service goinject-system goinject app.kubernetes.io/instance=goinject cloud-native
                ran+=" rollout"
                ;;
            "helm upgrade "*)
                install_objects_exist goinject
                assert_eq "caBundle after helm upgrade" "$ca_before" \
                    "$(jq -r '.webhooks[0].clientConfig.caBundle' "$E2E_WORK/mwc.json")"
                # The configuration changed: the pods roll, and the new ones answer.
                kubectl -n goinject-system rollout status deployment/goinject --timeout=180s
                poll 30 release_pods_ready goinject-system goinject 2 || fail "not 2 Ready pods after the upgrade"
                [[ "$cmd" == *"mode=classic"* ]] || fail "the README's upgrade no longer sets mode=classic: adapt this check"
                serves_through_service goinject-system goinject app.kubernetes.io/instance=goinject classic
                ran+=" upgrade"
                ;;
            "helm uninstall "*)
                install_objects_gone goinject
                nothing_left app.kubernetes.io/instance=goinject
                helm list -A -a -q >"$E2E_WORK/helm-list"
                assert_no_grep "helm releases" "$E2E_WORK/helm-list" '^goinject$'
                ran+=" uninstall"
                ;;
        esac
    done <"$E2E_WORK/node-readme-helm.cmds"
    assert_eq "README Helm commands that were checked" " install rollout upgrade uninstall" "$ran"
    namespace_gone goinject-system
}

node_chart_secret() {
    local ns=goinject-secret dir="$E2E_WORK/node-secret"
    no_release goinject goinject-system
    no_release goinject "$ns"
    namespace "$ns" pod-security.kubernetes.io/enforce=restricted | kubectl apply -f -
    "$GOINJECT_BIN" certgen --out "$dir" --host "goinject.$ns.svc" --host "goinject.$ns.svc.cluster.local"
    kubectl -n "$ns" create secret tls my-webhook-tls --cert "$dir/tls.crt" --key "$dir/tls.key"
    helm install goinject "$CHART" --namespace "$ns" --set certificates.mode=secret \
        --set certificates.secretName=my-webhook-tls --set "certificates.caBundle=$(base64 -w0 "$dir/ca.crt")" \
        --wait --timeout 3m
    kubectl get mutatingwebhookconfiguration goinject -o json >"$E2E_WORK/secret-mwc.json"
    assert_json "$E2E_WORK/secret-mwc.json" '[.webhooks[].clientConfig.caBundle] | unique' "[\"$(base64 -w0 "$dir/ca.crt")\"]"
    assert_json "$E2E_WORK/secret-mwc.json" '[.webhooks[].clientConfig.service.namespace] | unique' "[\"$ns\"]"
    # The chart made no Secret of its own.
    [[ -z "$(kubectl -n "$ns" get secrets -l app.kubernetes.io/instance=goinject -o name)" ]] || fail "the chart made a Secret"
    release_pods_ready "$ns" goinject 2 || fail "not 2 Ready pods"
    serves_through_service "$ns" goinject app.kubernetes.io/instance=goinject cloud-native
    helm uninstall goinject --namespace "$ns" --wait
    nothing_left app.kubernetes.io/instance=goinject
    kubectl -n "$ns" get secret my-webhook-tls >/dev/null || fail "helm uninstall removed the user's Secret"
    namespace_gone "$ns"
}

# ---- the runtime proof -----------------------------------------------------------------------------

RT_NS="e2e-rt"

rt_values() {
    local which="$1"
    printf 'replicaCount: 1\npodDisruptionBudget: {enabled: false}\n'
    if [[ "$which" == classic ]]; then
        printf 'mode: classic\n'
    else
        printf 'mode: cloud-native\nagent:\n  env:\n'
        printf '    - {name: LD_PRELOAD, value: /goinject-agent/probe/%s/libgoinject-probe.so}\n' "$which"
        printf '    - {name: GOINJECT_PROBE_DIR, value: /probe}\n'
    fi
    printf 'webhook:\n  namespaceSelectorExpressions:\n'
    printf '    - {key: e2e.goinject.io/webhook, operator: In, values: [%s]}\n' "$which"
}

node_runtime_setup() {
    # A release an earlier check left when it failed would mutate these namespaces too.
    no_release goinject goinject-system
    no_release goinject goinject-secret
    {
        namespace "$RT_NS-glibc" e2e.goinject.io/webhook=glibc
        namespace "$RT_NS-musl" e2e.goinject.io/webhook=musl
        namespace "$RT_NS-classic" e2e.goinject.io/webhook=classic
        namespace "$RT_NS-restricted" e2e.goinject.io/webhook=glibc pod-security.kubernetes.io/enforce=restricted
        namespace "$RT_NS-plain"
    } | kubectl apply -f -
    local which pids=()
    for which in glibc musl classic; do
        rt_values "$which" >"$E2E_WORK/rt-$which.values.yaml"
        helm install "rt-$which" "$CHART" --namespace "$RT_NS-gi-$which" --create-namespace \
            -f "$E2E_WORK/rt-$which.values.yaml" --wait --timeout 3m >"$E2E_WORK/rt-$which.helm.out" 2>&1 &
        pids+=("$!")
    done
    local rc=0 p
    for p in "${pids[@]}"; do
        wait "$p" || rc=1
    done
    cat "$E2E_WORK"/rt-*.helm.out | grep -E '^(NAME|STATUS|Error)' || true
    ((rc == 0)) || fail "helm install of the runtime releases failed"
    poll 60 node_default_sa "$RT_NS-glibc" "$RT_NS-musl" "$RT_NS-classic" "$RT_NS-restricted" "$RT_NS-plain" ||
        fail "no default service accounts"
    for which in glibc musl classic; do
        release_pods_ready "$RT_NS-gi-$which" "rt-$which" 1 || fail "rt-$which is not Ready"
    done
    # The API server calls each once the Service's endpoint reached it.
    local mode
    for which in glibc musl classic; do
        mode=cloud-native
        [[ "$which" == classic ]] && mode=classic
        poll 30 mutated_as "$RT_NS-$which" "$mode" "$E2E_WORK/rt-probe-$which" ||
            fail "pods in $RT_NS-$which are not mutated ($mode) 30 s after helm install"
    done
}

node_runtime() {
    local out="$E2E_WORK/node-runtime.out" rc=0
    "$E2E_RUNTIME_BIN/e2e" -node -goinject "$GOINJECT_BIN" -bin "$E2E_RUNTIME_BIN" -repo "$repo" \
        -image "$E2E_IMAGE" -base "$E2E_BASE_IMAGE" -work "$E2E_BUILD/runtime/node-work" \
        -kubelet-root "$E2E_NODE_ROOT" -ctr-address "$E2E_NODE_CTR_ADDRESS" -ran-file "$E2E_WORK/pods-ran" \
        -ns-glibc "$RT_NS-glibc" -ns-musl "$RT_NS-musl" -ns-classic "$RT_NS-classic" \
        -ns-restricted "$RT_NS-restricted" -ns-plain "$RT_NS-plain" >"$out" 2>&1 || rc=$?
    external_checks "runtime on the node" "$out"
    if ((rc != 0)) && ! grep -q '^FAIL ' "$out"; then
        E2E_FAILED=$((E2E_FAILED + 1))
        E2E_FAILED_NAMES+=("runtime on the node: exited $rc")
        printf 'FAIL - runtime on the node: tests/runtime/e2e -node exited %d\n' "$rc"
    fi
}

node_runtime_teardown() {
    local which
    for which in glibc musl classic; do
        helm uninstall "rt-$which" --namespace "$RT_NS-gi-$which" --wait
        nothing_left "app.kubernetes.io/instance=rt-$which"
    done
    local ns
    for ns in glibc musl classic restricted plain gi-glibc gi-musl gi-classic; do
        kubectl delete namespace "$RT_NS-$ns" --wait=false
    done
}

# ---- helm upgrade under a steady stream of pods ------------------------------------------------

# stream_loop DIR LOOP: create pods, five to a kubectl call, until DIR/stop appears. They ask
# for a node that does not exist, so they stay Pending: created for real (persisted, admitted
# through goinject), never run. DIR/results gets "ok NAME NANOSECONDS" per created pod and
# "fail BATCH NANOSECONDS" per failed call (its stderr in DIR/BATCH.err).
stream_loop() {
    local dir="$1" loop="$2" i=0 j batch t
    while [[ ! -e "$dir/stop" ]]; do
        i=$((i + 1))
        batch="$(printf 'stream-%s-%04d' "$loop" "$i")"
        for j in 1 2 3 4 5; do
            static_pod "$batch-$j" | sed 's/^spec:$/spec:\n  nodeSelector: {e2e.goinject.io\/none: "true"}/'
            printf -- '---\n'
        done >"$dir/$batch.yaml"
        if kubectl -n "$NODE_NS_PREFIX-stream" create -o name -f "$dir/$batch.yaml" >"$dir/$batch.out" 2>"$dir/$batch.err"; then
            t="$(date +%s%N)"
            sed "s|^pod/\(.*\)|ok \1 $t|" "$dir/$batch.out" >>"$dir/results"
        else
            printf 'fail %s %s\n' "$batch" "$(date +%s%N)" >>"$dir/results"
        fi
    done
}

node_upgrade_under_load() {
    local ns=goinject-system dir="$E2E_WORK/stream"
    mkdir -p "$dir"
    no_release goinject goinject-system
    no_release goinject goinject-secret
    helm install goinject "$CHART" --namespace "$ns" --create-namespace --wait --timeout 3m >/dev/null
    release_pods_ready "$ns" goinject 2 || fail "not 2 Ready pods"
    serves_through_service "$ns" goinject app.kubernetes.io/instance=goinject cloud-native
    kubectl -n "$ns" get pods -l app.kubernetes.io/instance=goinject -o jsonpath='{.items[*].metadata.name}' >"$dir/old-pods"
    stream_loop "$dir" a &
    local loop_a=$!
    stream_loop "$dir" b &
    local loop_b=$!
    sleep 5
    local t0 t1
    t0="$(date +%s%N)"
    # A new pod template (an annotation), as an image or configuration change would give.
    helm upgrade goinject "$CHART" --namespace "$ns" --reuse-values \
        --set-string "podAnnotations.e2e\.goinject\.io/rolled=$(date +%s)" --wait --timeout 3m >/dev/null
    kubectl -n "$ns" rollout status deployment/goinject --timeout=180s
    # Until the old pods are gone for good (terminating ones still hold their shutdown delay).
    old_gone() {
        local p
        for p in $(cat "$dir/old-pods"); do
            kubectl -n "$ns" get pod "$p" >/dev/null 2>&1 && return 1
        done
        return 0
    }
    poll 90 old_gone || fail "the old webhook pods did not go"
    t1="$(date +%s%N)"
    sleep 5
    touch "$dir/stop"
    wait "$loop_a" "$loop_b"
    local total failed during
    total="$(grep -c . "$dir/results")"
    failed="$(grep -c '^fail ' "$dir/results" || true)"
    during="$(awk -v a="$t0" -v b="$t1" '$3 >= a && $3 <= b' "$dir/results" | grep -c . || true)"
    echo "$total pods created, $during of them while the webhook pods rolled ($(((t1 - t0) / 1000000)) ms), $failed failed"
    ((failed == 0)) || { cat "$dir"/stream-*.err | head -20; fail "$failed creates failed"; }
    ((during >= 20)) || fail "only $during pods were created during the roll"
    kubectl -n "$NODE_NS_PREFIX-stream" get pods -o json >"$dir/pods.json"
    assert_json "$dir/pods.json" '.items | length' "$total"
    # Every pod was mutated: none was let through unmutated by failurePolicy Ignore.
    assert_json "$dir/pods.json" '[.items[] | select(.metadata.annotations["goinject.io/status"] == null) | .metadata.name]' '[]'
    assert_json "$dir/pods.json" '[.items[] | .metadata.annotations["goinject.io/injected"]] | unique' '["true"]'
    local new
    new="$(kubectl -n "$ns" get pods -l app.kubernetes.io/instance=goinject -o jsonpath='{.items[*].metadata.name}')"
    echo "webhook pods: before $(cat "$dir/old-pods"), after $new"
    release_pods_ready "$ns" goinject 2 || fail "not 2 Ready pods after the upgrade"
    kubectl delete namespace "$NODE_NS_PREFIX-stream" --wait=false
    helm uninstall goinject --namespace "$ns" --wait
    nothing_left app.kubernetes.io/instance=goinject
    namespace_gone "$ns"
}

# ---- deploy/, as the README installs it ----------------------------------------------------------

node_readme_manifests() {
    local dir cmd ran=""
    no_release goinject goinject-system
    kubectl delete mutatingwebhookconfiguration goinject --ignore-not-found >/dev/null
    dir="$(readme_sandbox node-manifests)"
    readme_commands "With plain manifests" >"$E2E_WORK/node-readme-manifests.cmds"
    while IFS= read -r cmd; do
        run_node_readme_command "$dir" "$cmd"
        case "$cmd" in
            *CA_BUNDLE*)
                install_objects_exist goinject
                kubectl -n goinject-system rollout status deployment/goinject --timeout=180s
                poll 30 pods_ready goinject-system app.kubernetes.io/name=goinject 2 || fail "not 2 Ready pods"
                serves_through_service goinject-system goinject app.kubernetes.io/name=goinject cloud-native
                ran+=" install"
                ;;
            "kubectl delete namespace "*)
                poll 120 not_exists namespace goinject-system || fail "goinject-system was not deleted"
                install_objects_gone goinject
                # deploy/ labels its objects with the name only (the chart adds instance).
                nothing_left "app.kubernetes.io/name=goinject,!app.kubernetes.io/instance"
                ran+=" uninstall"
                ;;
        esac
    done <"$E2E_WORK/node-readme-manifests.cmds"
    assert_eq "README manifest commands that were checked" " install uninstall" "$ran"
}

node_checks() {
    node_watch_pods
    setup "node: the node-less checks' leftovers removed, the hold lifted" node_release
    setup "node: a pod runs on $E2E_NODE_NAME (sandbox image, goinject image): pod network, no default route; pulls end at a loopback proxy" node_pod_runs
    check "node: README 'With Helm' as written: pods Ready behind the Service, reviews answered by them; upgrade rolls them; uninstall leaves nothing" node_readme_helm
    check "node: chart with an existing Secret (certificates.mode=secret): Ready, reviews through the Service, uninstall leaves the Secret and nothing else" node_chart_secret
    printf 'skip - node: chart with certificates.mode=cert-manager: no cert-manager controller runs here (see docs/e2e-node.md)\n'
    setup "node: runtime releases (helm install: cloud-native with the glibc probe, with the musl probe, classic)" node_runtime_setup
    node_runtime
    check "node: runtime releases uninstalled, nothing left" node_runtime_teardown
    check "node: helm upgrade rolls the webhook pods while pods are created in a steady stream: none fails, none misses its mutation" node_upgrade_under_load
    check "node: README 'With plain manifests' as written: pods Ready behind the Service, reviews answered by them; uninstall leaves nothing" node_readme_manifests
    node_finish
}
