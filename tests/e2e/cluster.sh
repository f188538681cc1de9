#!/usr/bin/env bash
# A real, node-less Kubernetes control plane for goinject's end-to-end tests.
#
#   cluster.sh build   build etcd, kube-apiserver, kube-controller-manager,
#                      kubelet, kube-scheduler and helm from source through the
#                      Go module proxy (cached); kubectl too when the machine has
#                      none (GOINJECT_E2E_NODE=0: no kubelet, no kube-scheduler)
#   cluster.sh up      start etcd, kube-apiserver and kube-controller-manager on
#                      loopback; print `export KUBECONFIG=...`
#   cluster.sh down    stop what `up` started and remove its data (idempotent);
#                      a node (node.sh) on the cluster is taken down first
#   cluster.sh env     print the exports (KUBECONFIG, PATH) for a running cluster
#   cluster.sh bindir  print the directory of the built binaries
#   cluster.sh status  exit 0 if a component recorded in the state dir runs
#   cluster.sh logs    print the last 30 lines of each component's log
#
# Environment:
#   GOINJECT_E2E_CACHE  build cache   (default: $HOME/.cache/goinject-e2e)
#   GOINJECT_E2E_STATE  runtime state (default: /tmp/goinject-e2e)
#
# The control plane has no nodes: pods are created and admitted but never
# scheduled. node.sh adds a real node (containerd, CNI, kubelet, scheduler).
set -euo pipefail

# ---- version pins ----------------------------------------------------------
# Kubernetes: within kubectl v1.32.4's skew (1.31-1.33); newest 1.33 patch the
# module proxy serves. etcd: the release Kubernetes 1.33 requires in its go.mod
# (and ships as its default etcd). helm: newest v3 release.
K8S_VERSION="v1.33.13"
ETCD_VERSION="v3.5.21"
HELM_VERSION="v3.22.0"

CACHE_DIR="${GOINJECT_E2E_CACHE:-$HOME/.cache/goinject-e2e}"
STATE_DIR="${GOINJECT_E2E_STATE:-/tmp/goinject-e2e}"
BIN_DIR="$CACHE_DIR/bin-$K8S_VERSION"
SRC_DIR="$CACHE_DIR/src"

LOG_DIR="$STATE_DIR/logs"
PID_DIR="$STATE_DIR/pids"
PKI_DIR="$STATE_DIR/pki"
DATA_DIR="$STATE_DIR/etcd-data"
KUBECONFIG_ADMIN="$STATE_DIR/admin.kubeconfig"
COMPONENTS="etcd kube-apiserver kube-controller-manager"

SERVICE_CIDR="10.0.0.0/24"
SERVICE_FIRST_IP="10.0.0.1"
READY_TIMEOUT="${GOINJECT_E2E_READY_TIMEOUT:-180}"

say() { printf '%s\n' "cluster.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

# ---- build -----------------------------------------------------------------

go_env() {
    export GOWORK=off
    export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
    export GOFLAGS="${GOFLAGS:-} -mod=mod"
    export GOMAXPROCS="${GOMAXPROCS:-2}"
    export CGO_ENABLED=0
}

# stamp NAME: the identity of a cached binary (its pinned version and the Go
# that built it), so a changed pin or toolchain triggers a rebuild.
stamp() {
    local name="$1" ver
    case "$name" in
        etcd) ver="$ETCD_VERSION" ;;
        helm) ver="$HELM_VERSION" ;;
        *) ver="$K8S_VERSION" ;;
    esac
    printf '%s %s %s\n' "$name" "$ver" "$(go env GOVERSION)"
}

is_built() {
    local name="$1"
    [[ -x "$BIN_DIR/$name" && -f "$BIN_DIR/.$name.stamp" ]] &&
        [[ "$(cat "$BIN_DIR/.$name.stamp")" == "$(stamp "$name")" ]]
}

# new_module DIR GO_DIRECTIVE_LINES: a throwaway main module in DIR.
new_module() {
    local dir="$1" header="$2"
    rm -rf "$dir"
    mkdir -p "$dir"
    printf 'module goinject.invalid/e2e-build\n\n%s\n' "$header" >"$dir/go.mod"
}

# go_build DIR PKG NAME LDFLAGS: build PKG inside module DIR into $BIN_DIR/NAME.
go_build() {
    local dir="$1" pkg="$2" name="$3" ldflags="$4"
    say "building $name ($pkg) ..."
    local t0=$SECONDS
    (cd "$dir" && go build -p 2 -trimpath -ldflags "$ldflags" -o "$BIN_DIR/.$name.tmp" "$pkg")
    mv -f "$BIN_DIR/.$name.tmp" "$BIN_DIR/$name"
    stamp "$name" >"$BIN_DIR/.$name.stamp"
    say "built $name in $((SECONDS - t0))s"
}

# The go.mod of a module version, fetched through the proxy.
module_gomod() {
    local gomod
    gomod="$(go mod download -json "$1" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
    [[ -n "$gomod" && -f "$gomod" ]] || die "could not download $1"
    printf '%s\n' "$gomod"
}

# go and godebug directives of a go.mod, to build with the same defaults.
go_directives() {
    grep -E '^(go|godebug)[[:space:]]' "$1" || true
}

# kubectl: the machine's if it has one (within the skew of $K8S_VERSION), else
# built here from the same module, so a fresh machine (Debian 12 ships only a
# kubectl 1.20) needs none. Once built, it is kept up to date.
want_kubectl() {
    [[ -x "$BIN_DIR/kubectl" ]] || ! command -v kubectl >/dev/null
}

build_kubernetes() {
    local names="kube-apiserver kube-controller-manager" name all_built=1
    [[ "${GOINJECT_E2E_NODE:-auto}" == 0 ]] || names+=" kubelet kube-scheduler"
    want_kubectl && names+=" kubectl"
    for name in $names; do
        is_built "$name" || all_built=0
    done
    if ((all_built)); then
        say "$names $K8S_VERSION already built"
        return 0
    fi
    local gomod dir staging_ver mod err
    gomod="$(module_gomod "k8s.io/kubernetes@$K8S_VERSION")"
    # k8s.io/kubernetes points its staging modules (k8s.io/api, client-go, ...)
    # at local directories, which `go build` of a dependency cannot follow.
    # Each staging module is published on its own as v0.<minor>.<patch>; point
    # the replace at that instead. The list comes from this version's go.mod.
    staging_ver="v0.${K8S_VERSION#v1.}"
    dir="$SRC_DIR/kubernetes-$K8S_VERSION"
    new_module "$dir" "$(go_directives "$gomod")"
    {
        printf '\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$K8S_VERSION"
        sed -n 's#^[[:space:]]*\(k8s\.io/[^[:space:]]*\)[[:space:]]*=>[[:space:]]*\./staging/.*#\1#p' "$gomod" |
        while IFS= read -r mod; do
            if err="$(go list -m "$mod@$staging_ver" 2>&1 >/dev/null)"; then
                printf '\t%s => %s %s\n' "$mod" "$mod" "$staging_ver"
            elif grep -qiE 'not available|not found|unknown revision|invalid version|40[34]|410' <<<"$err"; then
                # Not served (e.g. a sample module); nothing we build imports it.
                say "note: $mod@$staging_ver is not served; leaving it out"
            else
                die "looking up $mod@$staging_ver: $err"
            fi
        done
        printf ')\n'
    } >>"$dir/go.mod"
    local major minor x ldflags=""
    major="${K8S_VERSION#v}"; major="${major%%.*}"
    minor="${K8S_VERSION#v*.}"; minor="${minor%%.*}"
    for x in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
        ldflags+=" -X $x.gitVersion=$K8S_VERSION -X $x.gitMajor=$major -X $x.gitMinor=$minor"
        ldflags+=" -X $x.gitTreeState=clean -X $x.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    done
    ldflags="-s -w$ldflags"
    for name in $names; do
        is_built "$name" || go_build "$dir" "k8s.io/kubernetes/cmd/$name" "$name" "$ldflags"
    done
}

build_etcd() {
    if is_built etcd; then
        say "etcd $ETCD_VERSION already built"
        return 0
    fi
    # In etcd 3.5 the server module's root package is the etcd binary. Its own
    # replace directives point at sibling directories, but its requirements
    # name real released versions, so plainly requiring it is enough.
    local gomod dir
    gomod="$(module_gomod "go.etcd.io/etcd/server/v3@$ETCD_VERSION")"
    dir="$SRC_DIR/etcd-$ETCD_VERSION"
    new_module "$dir" "$(go_directives "$gomod")"
    printf '\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" >>"$dir/go.mod"
    go_build "$dir" go.etcd.io/etcd/server/v3 etcd "-s -w"
}

build_helm() {
    if is_built helm; then
        say "helm $HELM_VERSION already built"
        return 0
    fi
    local gomod dir
    gomod="$(module_gomod "helm.sh/helm/v3@$HELM_VERSION")"
    dir="$SRC_DIR/helm-$HELM_VERSION"
    new_module "$dir" "$(go_directives "$gomod")"
    printf '\nrequire helm.sh/helm/v3 %s\n' "$HELM_VERSION" >>"$dir/go.mod"
    go_build "$dir" helm.sh/helm/v3/cmd/helm helm \
        "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
}

cmd_build() {
    command -v go >/dev/null || die "go is not on PATH"
    go_env
    mkdir -p "$BIN_DIR" "$SRC_DIR"
    local t0=$SECONDS
    build_etcd
    build_helm
    build_kubernetes
    say "all binaries in $BIN_DIR ($((SECONDS - t0))s)"
}

# ---- up / down ---------------------------------------------------------------

cmd_env() {
    printf 'export KUBECONFIG=%q\n' "$KUBECONFIG_ADMIN"
    # shellcheck disable=SC2016 # $PATH is for the shell that evals this
    printf 'export PATH=%q:"$PATH"\n' "$BIN_DIR"
}

print_logs() {
    local f
    for f in "$LOG_DIR"/*.log; do
        [[ -f "$f" ]] || continue
        printf '==== last 30 lines of %s ====\n' "$f" >&2
        tail -n 30 "$f" >&2 || true
    done
}

# port_in_use, free_port
. "$(cd "$(dirname "$0")" && pwd)/ports.sh"

# pid_alive NAME: the recorded process for NAME is running and is ours.
pid_alive() {
    local f="$PID_DIR/$1.pid" pid
    [[ -f "$f" ]] || return 1
    pid="$(cat "$f")"
    [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] || return 1
    # Compare argv[0] (up to the first NUL), so a reused pid is never ours.
    local argv0=""
    IFS= read -r -d '' argv0 <"/proc/$pid/cmdline" 2>/dev/null || true
    [[ "$argv0" == "$BIN_DIR/$1" ]]
}

start() {
    local name="$1"
    shift
    "$BIN_DIR/$name" "$@" </dev/null >>"$LOG_DIR/$name.log" 2>&1 &
    printf '%s\n' "$!" >"$PID_DIR/$name.pid"
}

# gen_ca NAME CN: a self-signed CA.
gen_ca() {
    openssl req -x509 -newkey rsa:2048 -nodes -days 7 -sha256 \
        -keyout "$PKI_DIR/$1.key" -out "$PKI_DIR/$1.crt" -subj "/CN=$2" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
}

# gen_cert CA NAME CN ORG [SAN]: a key and a certificate signed by CA.
gen_cert() {
    local ca="$1"
    shift
    local name="$1" cn="$2" org="$3" san="${4:-}" ext="$PKI_DIR/$1.ext" subj
    subj="/CN=$cn"
    [[ -n "$org" ]] && subj="/O=$org$subj"
    openssl genrsa -out "$PKI_DIR/$name.key" 2048 2>/dev/null
    openssl req -new -key "$PKI_DIR/$name.key" -subj "$subj" -out "$PKI_DIR/$name.csr" 2>/dev/null
    {
        printf 'basicConstraints=critical,CA:FALSE\n'
        printf 'keyUsage=critical,digitalSignature,keyEncipherment\n'
        if [[ -n "$san" ]]; then
            printf 'extendedKeyUsage=serverAuth,clientAuth\n'
            printf 'subjectAltName=%s\n' "$san"
        else
            printf 'extendedKeyUsage=clientAuth\n'
        fi
    } >"$ext"
    openssl x509 -req -in "$PKI_DIR/$name.csr" -CA "$PKI_DIR/$ca.crt" -CAkey "$PKI_DIR/$ca.key" \
        -CAcreateserial -days 7 -sha256 -extfile "$ext" -out "$PKI_DIR/$name.crt" 2>/dev/null
    rm -f "$PKI_DIR/$name.csr" "$ext"
}

gen_pki() {
    mkdir -p "$PKI_DIR"
    gen_ca ca goinject-e2e-ca
    gen_cert ca apiserver kube-apiserver "" \
        "DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:127.0.0.1,IP:$SERVICE_FIRST_IP"
    gen_cert ca admin goinject-e2e-admin system:masters
    gen_cert ca controller-manager system:kube-controller-manager ""
    # The API server's client certificate towards kubelets (logs, exec).
    gen_cert ca apiserver-kubelet-client kube-apiserver-kubelet-client system:masters
    # Aggregation layer (request-header authentication), so that components
    # reading extension-apiserver-authentication find a complete config.
    gen_ca front-proxy-ca goinject-e2e-front-proxy-ca
    gen_cert front-proxy-ca front-proxy-client front-proxy-client ""
    openssl genrsa -out "$PKI_DIR/sa.key" 2048 2>/dev/null
    openssl rsa -in "$PKI_DIR/sa.key" -pubout -out "$PKI_DIR/sa.pub" 2>/dev/null
    chmod 600 "$PKI_DIR"/*.key
}

# write_kubeconfig FILE USER_CERT_NAME SERVER
write_kubeconfig() {
    local file="$1" user="$2" server="$3"
    rm -f "$file"
    kubectl config --kubeconfig="$file" set-cluster goinject-e2e \
        --server="$server" --certificate-authority="$PKI_DIR/ca.crt" --embed-certs=true >/dev/null
    kubectl config --kubeconfig="$file" set-credentials "$user" \
        --client-certificate="$PKI_DIR/$user.crt" --client-key="$PKI_DIR/$user.key" --embed-certs=true >/dev/null
    kubectl config --kubeconfig="$file" set-context goinject-e2e \
        --cluster=goinject-e2e --user="$user" --namespace=default >/dev/null
    kubectl config --kubeconfig="$file" use-context goinject-e2e >/dev/null
    chmod 600 "$file"
}

# wait_for WHAT CMD...: poll CMD until it succeeds, the timeout passes, or a
# component dies.
wait_for() {
    local what="$1" deadline=$((SECONDS + READY_TIMEOUT)) c
    shift
    say "waiting for $what ..."
    until "$@" >/dev/null 2>&1; do
        for c in $COMPONENTS; do
            [[ -f "$PID_DIR/$c.pid" ]] || continue
            pid_alive "$c" || { say "$c exited"; return 1; }
        done
        ((SECONDS < deadline)) || { say "timed out after ${READY_TIMEOUT}s waiting for $what"; return 1; }
        sleep 1
    done
}

sa_ready() {
    kubectl --kubeconfig="$KUBECONFIG_ADMIN" -n default get serviceaccount default
}

readyz() {
    [[ "$(kubectl --kubeconfig="$KUBECONFIG_ADMIN" get --raw /readyz 2>/dev/null)" == ok ]]
}

cmd_up() {
    local c
    # A kubectl built by `build` (see want_kubectl) comes first.
    export PATH="$BIN_DIR:$PATH"
    for c in etcd kube-apiserver kube-controller-manager; do
        [[ -x "$BIN_DIR/$c" ]] || die "$BIN_DIR/$c missing: run '$0 build' first"
    done
    command -v kubectl >/dev/null || die "kubectl is not on PATH: run '$0 build' to build one"
    command -v openssl >/dev/null || die "openssl is not on PATH"
    for c in $COMPONENTS; do
        pid_alive "$c" && die "$c is already running (state in $STATE_DIR): run '$0 down' first"
    done
    cmd_down >/dev/null 2>&1 || true
    rm -rf "$LOG_DIR"
    mkdir -p "$STATE_DIR" "$LOG_DIR" "$PID_DIR" "$DATA_DIR"
    chmod 700 "$STATE_DIR" "$DATA_DIR"

    trap 'rc=$?; if ((rc != 0)); then say "up failed"; print_logs; cmd_down >/dev/null 2>&1 || true; fi' EXIT

    gen_pki
    local etcd_port etcd_peer_port api_port kcm_port
    free_port etcd_port
    free_port etcd_peer_port
    free_port api_port
    free_port kcm_port
    printf '%s\n' "$api_port" >"$STATE_DIR/apiserver.port"
    local server="https://127.0.0.1:$api_port"
    write_kubeconfig "$KUBECONFIG_ADMIN" admin "$server"
    write_kubeconfig "$STATE_DIR/controller-manager.kubeconfig" controller-manager "$server"

    say "starting etcd $ETCD_VERSION on 127.0.0.1:$etcd_port"
    start etcd \
        --name=goinject-e2e \
        --data-dir="$DATA_DIR" \
        --listen-client-urls="http://127.0.0.1:$etcd_port" \
        --advertise-client-urls="http://127.0.0.1:$etcd_port" \
        --listen-peer-urls="http://127.0.0.1:$etcd_peer_port" \
        --initial-advertise-peer-urls="http://127.0.0.1:$etcd_peer_port" \
        --initial-cluster="goinject-e2e=http://127.0.0.1:$etcd_peer_port" \
        --listen-metrics-urls="" \
        --unsafe-no-fsync=true \
        --log-level=warn

    say "starting kube-apiserver $K8S_VERSION on $server"
    start kube-apiserver \
        --etcd-servers="http://127.0.0.1:$etcd_port" \
        --bind-address=127.0.0.1 \
        --advertise-address=127.0.0.1 \
        --secure-port="$api_port" \
        --tls-cert-file="$PKI_DIR/apiserver.crt" \
        --tls-private-key-file="$PKI_DIR/apiserver.key" \
        --client-ca-file="$PKI_DIR/ca.crt" \
        --requestheader-client-ca-file="$PKI_DIR/front-proxy-ca.crt" \
        --requestheader-allowed-names=front-proxy-client \
        --requestheader-username-headers=X-Remote-User \
        --requestheader-group-headers=X-Remote-Group \
        --requestheader-extra-headers-prefix=X-Remote-Extra- \
        --proxy-client-cert-file="$PKI_DIR/front-proxy-client.crt" \
        --proxy-client-key-file="$PKI_DIR/front-proxy-client.key" \
        --authorization-mode=Node,RBAC \
        --enable-admission-plugins=PodSecurity,MutatingAdmissionWebhook,ValidatingAdmissionWebhook \
        --service-cluster-ip-range="$SERVICE_CIDR" \
        --service-account-issuer=https://kubernetes.default.svc.cluster.local \
        --service-account-key-file="$PKI_DIR/sa.pub" \
        --service-account-signing-key-file="$PKI_DIR/sa.key" \
        --enable-aggregator-routing=true \
        --kubelet-client-certificate="$PKI_DIR/apiserver-kubelet-client.crt" \
        --kubelet-client-key="$PKI_DIR/apiserver-kubelet-client.key" \
        --kubelet-preferred-address-types=InternalIP \
        --endpoint-reconciler-type=none \
        --allow-privileged=true \
        --profiling=false \
        --v=1

    # The controller manager needs the RBAC bootstrap policy, which /readyz
    # waits for.
    wait_for "kube-apiserver /readyz" readyz

    say "starting kube-controller-manager $K8S_VERSION"
    start kube-controller-manager \
        --kubeconfig="$STATE_DIR/controller-manager.kubeconfig" \
        --authentication-kubeconfig="$STATE_DIR/controller-manager.kubeconfig" \
        --authorization-kubeconfig="$STATE_DIR/controller-manager.kubeconfig" \
        --bind-address=127.0.0.1 \
        --secure-port="$kcm_port" \
        --leader-elect=false \
        --use-service-account-credentials=true \
        --service-account-private-key-file="$PKI_DIR/sa.key" \
        --root-ca-file="$PKI_DIR/ca.crt" \
        --cluster-signing-cert-file="$PKI_DIR/ca.crt" \
        --cluster-signing-key-file="$PKI_DIR/ca.key" \
        --service-cluster-ip-range="$SERVICE_CIDR" \
        --controllers='*,-node-ipam-controller' \
        --flex-volume-plugin-dir="$STATE_DIR/flexvolume" \
        --profiling=false \
        --v=1

    wait_for "the default service account" sa_ready
    trap - EXIT
    say "cluster is up (state in $STATE_DIR)"
    cmd_env
}

# stop NAME: TERM, then KILL after 15s, the recorded process if it is ours.
stop() {
    local name="$1" f="$PID_DIR/$1.pid" pid
    [[ -f "$f" ]] || return 0
    pid="$(cat "$f")"
    if pid_alive "$name"; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 30); do
            pid_alive "$name" || break
            sleep 0.5
        done
        if pid_alive "$name"; then
            say "$name did not stop; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
}

cmd_down() {
    local c here
    # A node on this cluster first: its kubelet still talks to the API server.
    here="$(cd "$(dirname "$0")" && pwd)"
    if [[ -d "$STATE_DIR/node" ]]; then
        "$here/node.sh" down || say "warning: node.sh down failed"
    fi
    # Reverse start order: the controller manager first, etcd last.
    for c in kube-controller-manager kube-apiserver etcd; do
        stop "$c"
    done
    rm -rf "$DATA_DIR" "$PKI_DIR" "$PID_DIR" \
        "$KUBECONFIG_ADMIN" "$STATE_DIR/controller-manager.kubeconfig" "$STATE_DIR/apiserver.port"
    say "down (logs kept in $LOG_DIR)"
}

cmd_status() {
    local c running=1
    for c in $COMPONENTS; do
        if pid_alive "$c"; then
            printf '%s is running (pid %s)\n' "$c" "$(cat "$PID_DIR/$c.pid")"
            running=0
        fi
    done
    ((running == 0)) || printf 'no cluster is running in %s\n' "$STATE_DIR"
    return "$running"
}

main() {
    local cmd="${1:-}"
    case "$cmd" in
        build) cmd_build ;;
        up) cmd_up ;;
        down) cmd_down ;;
        env) cmd_env ;;
        bindir) printf '%s\n' "$BIN_DIR" ;;
        status) cmd_status ;;
        logs) print_logs ;;
        *)
            sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' >&2
            exit 2
            ;;
    esac
}

main "$@"
