#!/usr/bin/env bash
# A real node for the e2e control plane of cluster.sh: a containerd of its own (beside
# Docker's), the CNI bridge, a kubelet and a kube-scheduler. Pods created with kubectl are
# scheduled, run and report their status like on any node.
#
#   node.sh check          exit 0 when this machine can run the node (else say why)
#   node.sh up [IMAGE...]  start the node on the running control plane, import the sandbox
#                          image and the Docker images named; print the node's exports
#   node.sh import IMAGE... import Docker images into the node's containerd (k8s.io namespace)
#   node.sh down           stop what `up` started and undo every change it made to the host
#                          (idempotent; safe after a failed or interrupted `up`)
#   node.sh env            print the exports (E2E_NODE_NAME, E2E_NODE_ROOT, ...) of a running node
#   node.sh status         exit 0 if a component of the node runs
#   node.sh logs           print the last 30 lines of the node components' logs
#
# Environment: GOINJECT_E2E_STATE and GOINJECT_E2E_CACHE as for cluster.sh (the node's state is
# STATE/node; its sockets are under /run/goinject-e2e-ID, ID derived from STATE), and
# GOINJECT_E2E_CNI_BIN (default /usr/lib/cni, Debian's containernetworking-plugins).
#
# Needs root, Debian's containerd (1.6) and runc, containernetworking-plugins (bridge,
# host-local, loopback), iptables, iproute2, a C compiler (the sandbox program), and kubelet and
# kube-scheduler built by `cluster.sh build`. Nothing is pulled: the sandbox ("pause") image is
# built here, the other images come from Docker. containerd is told to reach registries only
# through a proxy on 127.0.0.1:9, where nothing listens, so nothing leaves the machine, and pods
# get no default route and no masquerading.
#
# What `up` changes on the host, and `down` undoes (recorded in STATE/node/host before it is
# done): the bridge gie2eID and its address; one FORWARD rule accepting traffic from the pod
# CIDR to the pod CIDR (Docker sets the FORWARD policy to DROP); the cgroup /goinject-e2e-ID in
# every cgroup hierarchy; the kubelet's sysctls (vm.overcommit_memory, vm.panic_on_oom,
# kernel.panic, kernel.panic_on_oops, kernel.keys.root_maxkeys, kernel.keys.root_maxbytes); the
# iptables chains the kubelet adds; the paths the kubelet, containerd and CNI use whatever they
# are told (/var/lib/kubelet/device-plugins, /var/log/containers, /var/lib/cni, /run/netns
# entries, /run/containerd).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
CLUSTER="$here/cluster.sh"
# port_in_use, free_port
. "$here/ports.sh"

STATE_DIR="${GOINJECT_E2E_STATE:-/tmp/goinject-e2e}"
NODE_DIR="$STATE_DIR/node"
LOG_DIR="$STATE_DIR/logs"
KUBECONFIG_ADMIN="$STATE_DIR/admin.kubeconfig"
CLUSTER_PKI="$STATE_DIR/pki"
HOST_DIR="$NODE_DIR/host"
PID_DIR="$NODE_DIR/pids"
PKI_DIR="$NODE_DIR/pki"
KUBELET_ROOT="$NODE_DIR/kubelet"
POD_LOGS="$NODE_DIR/pod-logs"
CTR_ROOT="$NODE_DIR/containerd"
CNI_CONF_DIR="$NODE_DIR/cni/net.d"
CNI_IPAM_DIR="$NODE_DIR/cni/ipam"
CNI_BIN="${GOINJECT_E2E_CNI_BIN:-/usr/lib/cni}"

# One identity per state directory: two checkouts on one machine run two nodes side by side.
ID="$(printf '%s' "$(realpath -m "$STATE_DIR")" | sha256sum | cut -c1-6)"
NODE_NAME="goinject-e2e-$ID"
RUN_DIR="/run/goinject-e2e-$ID"
CTR_STATE="$RUN_DIR/containerd"
CTR_SOCK="$RUN_DIR/containerd.sock"
RUNC_ROOT="$RUN_DIR/runc"
BRIDGE="gie2e$ID"
CGROUP_ROOT="/goinject-e2e-$ID"
CNI_NETWORK="goinject-e2e-$ID"
SANDBOX_IMAGE="localhost/goinject-e2e/pause:$ID"
# Where registries would be reached: a port on loopback where nothing listens.
NO_REGISTRY_PROXY="http://127.0.0.1:9"

SYSCTLS="vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes net.ipv4.ip_forward"
# Paths the node's components use whatever their configuration says.
HOST_PATHS="/var/lib/kubelet /var/lib/kubelet/device-plugins /var/log/containers /var/lib/cni /var/lib/cni/results /var/lib/cni/networks /run/netns /run/containerd /run/containerd/s"
IPT_TABLES="filter nat mangle raw"
READY_TIMEOUT="${GOINJECT_E2E_READY_TIMEOUT:-180}"

# DOWN_LOG: where `down` also writes what it says (with-cluster.sh silences it).
DOWN_LOG=""
say() {
    printf '%s\n' "node.sh: $*" >&2
    [[ -z "$DOWN_LOG" ]] || printf '%s %s\n' "$(date +%T)" "$*" >>"$DOWN_LOG" 2>/dev/null || true
}
die() { say "error: $*"; exit 1; }

bin_dir() { "$CLUSTER" bindir; }

kc() { kubectl --kubeconfig="$KUBECONFIG_ADMIN" "$@"; }
ctr_() { ctr --address "$CTR_SOCK" --namespace k8s.io "$@"; }

# ---- checks ----------------------------------------------------------------------------------

# why_not: print why this machine cannot run the node; nothing when it can.
why_not() {
    local b c
    [[ "$(id -u)" == 0 ]] || { echo "not root"; return; }
    for c in containerd containerd-shim-runc-v2 ctr runc iptables ip6tables ip findmnt sha256sum jq tar; do
        command -v "$c" >/dev/null || { echo "$c is not installed"; return; }
    done
    command -v musl-gcc >/dev/null || command -v cc >/dev/null || { echo "no C compiler"; return; }
    for c in bridge host-local loopback; do
        [[ -x "$CNI_BIN/$c" ]] || { echo "$CNI_BIN/$c missing (apt-get install containernetworking-plugins)"; return; }
    done
    [[ -d /sys/fs/cgroup ]] || { echo "no /sys/fs/cgroup"; return; }
    b="$(bin_dir)"
    for c in kubelet kube-scheduler; do
        [[ -x "$b/$c" ]] || { echo "$b/$c missing: run cluster.sh build"; return; }
    done
}

cmd_check() {
    local why
    why="$(why_not)"
    [[ -z "$why" ]] || { say "cannot run a node here: $why"; return 1; }
}

# ---- processes ---------------------------------------------------------------------------------

# pid_alive NAME: the recorded process for NAME runs and is the binary recorded with it.
pid_alive() {
    local f="$PID_DIR/$1.pid" pid exe
    [[ -f "$f" ]] || return 1
    read -r pid exe <"$f" || return 1
    [[ -n "$pid" && "$(readlink "/proc/$pid/exe" 2>/dev/null)" == "$exe" ]]
}

# start NAME BINARY ARGS...: start in the background, log to LOG_DIR/NAME.log, record the pid.
start() {
    local name="$1" binary="$2"
    shift 2
    "$binary" "$@" </dev/null >>"$LOG_DIR/$name.log" 2>&1 &
    printf '%s %s\n' "$!" "$(realpath "$binary")" >"$PID_DIR/$name.pid"
}

# stop NAME [SECONDS]: TERM, then KILL after SECONDS (default 15).
stop() {
    local name="$1" secs="${2:-15}" pid exe
    [[ -f "$PID_DIR/$name.pid" ]] || return 0
    read -r pid exe <"$PID_DIR/$name.pid" || true
    if pid_alive "$name"; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 $((secs * 5))); do
            pid_alive "$name" || break
            sleep 0.2
        done
        if pid_alive "$name"; then
            say "$name did not stop; killing it"
            kill -KILL "$pid" 2>/dev/null || true
            sleep 0.2
        fi
    fi
    rm -f "$PID_DIR/$name.pid"
}

# The containerd shims of this node's containerd: found by the socket they were given.
our_shims() {
    local p arg prev
    for p in /proc/[0-9]*; do
        [[ "$(readlink "$p/exe" 2>/dev/null)" == */containerd-shim-runc-v2 ]] || continue
        prev=""
        while IFS= read -r -d '' arg; do
            if [[ "$prev" == "-address" && "$arg" == "$CTR_SOCK" ]]; then
                printf '%s\n' "${p#/proc/}"
                break
            fi
            prev="$arg"
        done <"$p/cmdline" 2>/dev/null || true
    done
}

# Another node of this kind (another state directory) that is running now.
other_node_running() {
    local d f pid exe
    for d in /run/goinject-e2e-*; do
        [[ -d "$d" && "$d" != "$RUN_DIR" ]] || continue
        f="$d/node-state"
        [[ -f "$f" ]] || continue
        for pid in $(cat "$d/pids" 2>/dev/null || true); do
            exe="$(readlink "/proc/$pid/exe" 2>/dev/null || true)"
            case "$exe" in */containerd | */kubelet | */kube-scheduler) return 0 ;; esac
        done
    done
    return 1
}

# ---- recording host state (before it is changed) ---------------------------------------------

record() { printf '%s\n' "$*" >>"$HOST_DIR/changes"; }

record_host() {
    local s p t
    mkdir -p "$HOST_DIR"
    : >"$HOST_DIR/changes"
    for s in $SYSCTLS; do
        printf '%s %s\n' "$s" "$(sysctl -n "$s")" >>"$HOST_DIR/sysctl"
    done
    for p in $HOST_PATHS; do
        if [[ -e "$p" || -L "$p" ]]; then
            printf '%s\n' "$p" >>"$HOST_DIR/paths-existing"
        fi
    done
    touch "$HOST_DIR/paths-existing"
    for t in $IPT_TABLES; do
        iptables -t "$t" -S 2>/dev/null | awk '$1 == "-N" { print $2 }' >"$HOST_DIR/ipt4.$t" || true
        ip6tables -t "$t" -S 2>/dev/null | awk '$1 == "-N" { print $2 }' >"$HOST_DIR/ipt6.$t" || true
    done
    ls -1 /run/netns 2>/dev/null >"$HOST_DIR/netns" || : >"$HOST_DIR/netns"
}

# ---- network -----------------------------------------------------------------------------------

# pick_cidr: a /24 in 10.77.0.0/16 no route or address of this host overlaps.
pick_cidr() {
    local start n x cidr
    start=$((16#${ID:0:2}))
    for n in $(seq 0 255); do
        x=$(((start + n) % 256))
        cidr="10.77.$x.0/24"
        if [[ -z "$(ip -4 route show root "$cidr" 2>/dev/null)" ]] &&
            [[ -z "$(ip -4 route show match "$cidr" 2>/dev/null | grep -v '^default ' || true)" ]] &&
            ! ip -4 -o addr show | grep -q " 10\.77\.$x\."; then
            printf '%s\n' "$x"
            return 0
        fi
    done
    die "no free /24 in 10.77.0.0/16"
}

setup_network() {
    local x
    x="$(pick_cidr)"
    POD_CIDR="10.77.$x.0/24"
    NODE_IP="10.77.$x.1"
    printf '%s %s\n' "$POD_CIDR" "$NODE_IP" >"$NODE_DIR/network"

    # The bridge exists before the first pod, with the node's address on it: the kubelet listens
    # there (a node's IP may not be loopback) and the API server reaches pods through it.
    record "bridge $BRIDGE"
    ip link add name "$BRIDGE" type bridge
    ip addr add "$NODE_IP/24" dev "$BRIDGE"
    ip link set "$BRIDGE" up

    # Pod to pod across the bridge (br_netfilter sends bridged traffic through FORWARD, whose
    # policy Docker sets to DROP); nothing else.
    record "forward $POD_CIDR"
    iptables -I FORWARD 1 -s "$POD_CIDR" -d "$POD_CIDR" -m comment --comment "$CNI_NETWORK" -j ACCEPT

    mkdir -p "$CNI_CONF_DIR" "$CNI_IPAM_DIR"
    # isGateway gives the bridge the gateway address, no route: the pods get only the route of
    # their subnet (no default route), and no masquerading. host-local keeps its leases here.
    jq -n --arg name "$CNI_NETWORK" --arg bridge "$BRIDGE" --arg subnet "$POD_CIDR" \
        --arg gw "$NODE_IP" --arg data "$CNI_IPAM_DIR" '{
        cniVersion: "0.4.0", name: $name,
        plugins: [{type: "bridge", bridge: $bridge, isGateway: true, isDefaultGateway: false,
                   ipMasq: false, hairpinMode: true,
                   ipam: {type: "host-local", ranges: [[{subnet: $subnet, gateway: $gw}]],
                          dataDir: $data}}]}' >"$CNI_CONF_DIR/10-$CNI_NETWORK.conflist"
}

# ---- cgroups -----------------------------------------------------------------------------------

# The cgroup v1 hierarchies (and the v2 one) mounted on this host.
cgroup_mounts() {
    findmnt -rn -t cgroup,cgroup2 -o TARGET
}

setup_cgroups() {
    local m
    record "cgroup $CGROUP_ROOT"
    while IFS= read -r m; do
        mkdir -p "$m$CGROUP_ROOT"
        if [[ -f "$m/cpuset.cpus" && -f "$m$CGROUP_ROOT/cpuset.cpus" ]]; then
            cat "$m/cpuset.cpus" >"$m$CGROUP_ROOT/cpuset.cpus"
            cat "$m/cpuset.mems" >"$m$CGROUP_ROOT/cpuset.mems"
        fi
    done < <(cgroup_mounts)
}

# remove_cgroups: kill what is left in our cgroups (only pods of this node run there), then
# remove them, deepest first.
remove_cgroups() {
    local m d pid
    while IFS= read -r m; do
        [[ -d "$m$CGROUP_ROOT" ]] || continue
        for _ in 1 2 3 4 5; do
            local left=0
            while IFS= read -r d; do
                while IFS= read -r pid; do
                    [[ -n "$pid" ]] || continue
                    left=1
                    kill -KILL "$pid" 2>/dev/null || true
                done <"$d/cgroup.procs" 2>/dev/null || true
            done < <(find "$m$CGROUP_ROOT" -depth -type d)
            ((left)) || break
            sleep 0.5
        done
        find "$m$CGROUP_ROOT" -depth -type d -exec rmdir {} + 2>/dev/null || true
        [[ -d "$m$CGROUP_ROOT" ]] && say "warning: could not remove $m$CGROUP_ROOT"
    done < <(cgroup_mounts)
    return 0
}

# ---- certificates --------------------------------------------------------------------------------

# client_cert NAME CN ORG: a client certificate signed by the cluster's CA, and a kubeconfig.
client_cert() {
    local name="$1" cn="$2" org="$3" subj server
    subj="/CN=$cn"
    [[ -n "$org" ]] && subj="/O=$org$subj"
    openssl genrsa -out "$PKI_DIR/$name.key" 2048 2>/dev/null
    openssl req -new -key "$PKI_DIR/$name.key" -subj "$subj" -out "$PKI_DIR/$name.csr" 2>/dev/null
    printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
        "extendedKeyUsage=clientAuth" >"$PKI_DIR/$name.ext"
    openssl x509 -req -in "$PKI_DIR/$name.csr" -CA "$CLUSTER_PKI/ca.crt" -CAkey "$CLUSTER_PKI/ca.key" \
        -set_serial "0x$(openssl rand -hex 8)" -days 7 -sha256 -extfile "$PKI_DIR/$name.ext" \
        -out "$PKI_DIR/$name.crt" 2>/dev/null
    rm -f "$PKI_DIR/$name.csr" "$PKI_DIR/$name.ext"
    chmod 600 "$PKI_DIR/$name.key"
    server="https://127.0.0.1:$(cat "$STATE_DIR/apiserver.port")"
    local file="$NODE_DIR/$name.kubeconfig"
    rm -f "$file"
    kubectl config --kubeconfig="$file" set-cluster goinject-e2e --server="$server" \
        --certificate-authority="$CLUSTER_PKI/ca.crt" --embed-certs=true >/dev/null
    kubectl config --kubeconfig="$file" set-credentials "$name" --client-certificate="$PKI_DIR/$name.crt" \
        --client-key="$PKI_DIR/$name.key" --embed-certs=true >/dev/null
    kubectl config --kubeconfig="$file" set-context goinject-e2e --cluster=goinject-e2e --user="$name" >/dev/null
    kubectl config --kubeconfig="$file" use-context goinject-e2e >/dev/null
    chmod 600 "$file"
}

# ---- the sandbox image ---------------------------------------------------------------------------

# pause_archive FILE: an OCI image archive holding the static pause program as /pause, named
# $SANDBOX_IMAGE for containerd's import. Built here, byte for byte the same every time.
pause_archive() {
    local out="$1" work cc
    work="$(mktemp -d "$NODE_DIR/pause.XXXXXX")"
    mkdir -p "$work/root" "$work/oci/blobs/sha256"
    if command -v musl-gcc >/dev/null; then cc=musl-gcc; else cc=cc; fi
    "$cc" -static -O2 -s -std=c11 -Wall -Wextra -Werror -o "$work/root/pause" "$here/node/pause.c"
    chmod 0755 "$work/root/pause"
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --format=posix \
        --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
        -C "$work/root" -cf "$work/layer.tar" pause
    local layer layer_size config config_size manifest manifest_size
    layer="$(sha256sum "$work/layer.tar" | cut -d' ' -f1)"
    layer_size="$(stat -c %s "$work/layer.tar")"
    mv "$work/layer.tar" "$work/oci/blobs/sha256/$layer"
    jq -cn --arg diff "sha256:$layer" '{architecture: "amd64", os: "linux",
        config: {Entrypoint: ["/pause"], User: "65535:65535"},
        rootfs: {type: "layers", diff_ids: [$diff]}}' >"$work/config.json"
    config="$(sha256sum "$work/config.json" | cut -d' ' -f1)"
    config_size="$(stat -c %s "$work/config.json")"
    mv "$work/config.json" "$work/oci/blobs/sha256/$config"
    jq -cn --arg c "sha256:$config" --argjson cs "$config_size" --arg l "sha256:$layer" --argjson ls "$layer_size" '{
        schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs},
        layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar", digest: $l, size: $ls}]}' \
        >"$work/manifest.json"
    manifest="$(sha256sum "$work/manifest.json" | cut -d' ' -f1)"
    manifest_size="$(stat -c %s "$work/manifest.json")"
    mv "$work/manifest.json" "$work/oci/blobs/sha256/$manifest"
    jq -cn --arg m "sha256:$manifest" --argjson ms "$manifest_size" --arg name "$SANDBOX_IMAGE" '{
        schemaVersion: 2, manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json",
        digest: $m, size: $ms, platform: {architecture: "amd64", os: "linux"},
        annotations: {"io.containerd.image.name": $name}}]}' >"$work/oci/index.json"
    printf '{"imageLayoutVersion":"1.0.0"}' >"$work/oci/oci-layout"
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$work/oci" -cf "$out" .
    rm -rf "$work"
}

# ---- containerd ------------------------------------------------------------------------------------

# overlay_works DIR: an overlay mount can be made on DIR's file system (as containerd's
# overlayfs snapshotter needs).
overlay_works() {
    local d
    d="$(mktemp -d "$1/overlay-check.XXXXXX")"
    mkdir -p "$d/lower" "$d/upper" "$d/work" "$d/merged"
    local ok=1
    if mount -t overlay overlay -o "lowerdir=$d/lower,upperdir=$d/upper,workdir=$d/work" "$d/merged" 2>/dev/null; then
        umount "$d/merged"
        ok=0
    fi
    rm -rf "$d"
    return "$ok"
}

write_containerd_config() {
    local snapshotter="$1"
    cat >"$NODE_DIR/containerd.toml" <<EOF
# Written by tests/e2e/node.sh: the e2e node's own containerd, beside Docker's.
version = 2
root = "$CTR_ROOT"
state = "$CTR_STATE"
oom_score = 0

[grpc]
  address = "$CTR_SOCK"

[ttrpc]
  address = "$RUN_DIR/containerd.sock.ttrpc"

[debug]
  address = ""
  level = "info"

[metrics]
  address = ""

[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = "$CTR_ROOT/opt"
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "$SANDBOX_IMAGE"
    # No CAP_SYS_RESOURCE here: a sandbox may not be given an oom_score_adj below ours.
    restrict_oom_score_adj = true
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
    enable_selinux = false
    max_container_log_line_size = 16384
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "$snapshotter"
      default_runtime_name = "runc"
      discard_unpacked_layers = false
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          SystemdCgroup = false
          BinaryName = "$(command -v runc)"
          Root = "$RUNC_ROOT"
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "$CNI_BIN"
      conf_dir = "$CNI_CONF_DIR"
      max_conf_num = 1
EOF
}

start_containerd() {
    local snapshotter=native
    if overlay_works "$CTR_ROOT"; then
        snapshotter=overlayfs
    else
        say "overlay mounts do not work under $CTR_ROOT: using the native snapshotter"
    fi
    printf '%s\n' "$snapshotter" >"$NODE_DIR/snapshotter"
    write_containerd_config "$snapshotter"
    say "starting containerd $(containerd --version | awk '{print $3}') on $CTR_SOCK ($snapshotter)"
    HTTP_PROXY="$NO_REGISTRY_PROXY" HTTPS_PROXY="$NO_REGISTRY_PROXY" NO_PROXY="" \
        http_proxy="$NO_REGISTRY_PROXY" https_proxy="$NO_REGISTRY_PROXY" no_proxy="" \
        start containerd "$(command -v containerd)" --config "$NODE_DIR/containerd.toml"
    wait_for "containerd" ctr --address "$CTR_SOCK" version
}

# import_images IMAGE...: docker save | ctr import, into the k8s.io namespace, unpacked for the
# node's snapshotter.
cmd_import() {
    (($# > 0)) || return 0
    local snapshotter
    snapshotter="$(cat "$NODE_DIR/snapshotter")"
    command -v docker >/dev/null || die "docker is not installed: cannot import $*"
    say "importing $*"
    docker save "$@" | ctr_ images import --snapshotter "$snapshotter" - >/dev/null
}

# ---- kubelet and scheduler ---------------------------------------------------------------------------

write_kubelet_config() {
    local port="$1"
    jq -n --arg address "$NODE_IP" --argjson port "$port" --arg ca "$CLUSTER_PKI/ca.crt" \
        --arg cgroupRoot "$CGROUP_ROOT" --arg logs "$POD_LOGS" --arg endpoint "unix://$CTR_SOCK" \
        --arg plugins "$NODE_DIR/volume-plugins" '{
        kind: "KubeletConfiguration", apiVersion: "kubelet.config.k8s.io/v1beta1",
        address: $address, port: $port, readOnlyPort: 0, healthzPort: 0,
        authentication: {anonymous: {enabled: false}, webhook: {enabled: false},
                         x509: {clientCAFile: $ca}},
        authorization: {mode: "AlwaysAllow"},
        containerRuntimeEndpoint: $endpoint, imageServiceEndpoint: $endpoint,
        cgroupDriver: "cgroupfs", cgroupRoot: $cgroupRoot, cgroupsPerQOS: true,
        enforceNodeAllocatable: ["pods"], failCgroupV1: false,
        oomScoreAdj: 0, failSwapOn: false, protectKernelDefaults: false,
        makeIPTablesUtilChains: false,
        imageGCHighThresholdPercent: 100, imageGCLowThresholdPercent: 99,
        evictionHard: {"memory.available": "1Mi", "nodefs.available": "1%",
                       "nodefs.inodesFree": "1%", "imagefs.available": "1%"},
        podLogsDir: $logs, volumePluginDir: $plugins,
        serializeImagePulls: false, registerNode: true, maxPods: 110,
        nodeStatusUpdateFrequency: "4s", syncFrequency: "10s",
        shutdownGracePeriod: "0s", shutdownGracePeriodCriticalPods: "0s",
        containerLogMaxSize: "10Mi", containerLogMaxFiles: 2,
        resolvConf: "/etc/resolv.conf", kernelMemcgNotification: false}' >"$NODE_DIR/kubelet.json"
}

node_ready() {
    [[ "$(kc get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]]
}

# wait_for WHAT CMD...: poll CMD until it succeeds, the timeout passes, or a component dies.
wait_for() {
    local what="$1" deadline=$((SECONDS + READY_TIMEOUT)) c
    shift
    say "waiting for $what ..."
    until "$@" >/dev/null 2>&1; do
        for c in containerd kube-scheduler kubelet; do
            [[ -f "$PID_DIR/$c.pid" ]] || continue
            pid_alive "$c" || { say "$c exited"; return 1; }
        done
        ((SECONDS < deadline)) || { say "timed out after ${READY_TIMEOUT}s waiting for $what"; return 1; }
        sleep 0.5
    done
}

print_logs() {
    local c
    for c in containerd kube-scheduler kubelet; do
        [[ -f "$LOG_DIR/$c.log" ]] || continue
        printf '==== last 30 lines of %s ====\n' "$LOG_DIR/$c.log" >&2
        tail -n 30 "$LOG_DIR/$c.log" >&2 || true
    done
}

cmd_env() {
    local net
    [[ -f "$NODE_DIR/network" ]] || die "no node in $STATE_DIR"
    net="$(cat "$NODE_DIR/network")"
    printf 'export E2E_NODE_NAME=%q\n' "$NODE_NAME"
    printf 'export E2E_NODE_ROOT=%q\n' "$KUBELET_ROOT"
    printf 'export E2E_NODE_POD_LOGS=%q\n' "$POD_LOGS"
    printf 'export E2E_NODE_CTR_ADDRESS=%q\n' "$CTR_SOCK"
    printf 'export E2E_NODE_POD_CIDR=%q\n' "${net%% *}"
    printf 'export E2E_NODE_IP=%q\n' "${net##* }"
    printf 'export E2E_NODE_SANDBOX_IMAGE=%q\n' "$SANDBOX_IMAGE"
}

cmd_up() {
    local why b c
    why="$(why_not)"
    [[ -z "$why" ]] || die "cannot run a node here: $why"
    [[ -f "$KUBECONFIG_ADMIN" && -f "$CLUSTER_PKI/ca.key" ]] || die "no control plane in $STATE_DIR: run cluster.sh up first"
    kc get --raw /readyz >/dev/null 2>&1 || die "the control plane in $STATE_DIR does not answer"
    for c in containerd kube-scheduler kubelet; do
        pid_alive "$c" && die "$c is already running (state in $NODE_DIR): run '$0 down' first"
    done
    cmd_down >/dev/null 2>&1 || true
    b="$(bin_dir)"
    export PATH="$b:$PATH"

    mkdir -p "$NODE_DIR" "$PID_DIR" "$PKI_DIR" "$LOG_DIR" "$KUBELET_ROOT" "$POD_LOGS" "$CTR_ROOT" \
        "$NODE_DIR/volume-plugins"
    chmod 700 "$NODE_DIR"
    mkdir -p "$RUN_DIR"
    chmod 700 "$RUN_DIR"
    printf '%s\n' "$NODE_DIR" >"$RUN_DIR/node-state"
    trap 'rc=$?; if ((rc != 0)); then say "up failed"; print_logs; cmd_down >/dev/null 2>&1 || true; fi' EXIT

    local t0=$SECONDS
    record_host
    setup_network
    setup_cgroups
    client_cert kubelet "system:node:$NODE_NAME" system:nodes
    client_cert scheduler system:kube-scheduler ""

    start_containerd
    pause_archive "$NODE_DIR/pause.tar"
    ctr_ images import --snapshotter "$(cat "$NODE_DIR/snapshotter")" "$NODE_DIR/pause.tar" >/dev/null
    rm -f "$NODE_DIR/pause.tar"
    cmd_import "$@"

    local sched_port kubelet_port
    free_port sched_port
    free_port kubelet_port
    say "starting kube-scheduler on 127.0.0.1:$sched_port"
    start kube-scheduler "$b/kube-scheduler" \
        --kubeconfig="$NODE_DIR/scheduler.kubeconfig" \
        --authentication-kubeconfig="$NODE_DIR/scheduler.kubeconfig" \
        --authorization-kubeconfig="$NODE_DIR/scheduler.kubeconfig" \
        --bind-address=127.0.0.1 --secure-port="$sched_port" \
        --leader-elect=false --profiling=false --v=1

    write_kubelet_config "$kubelet_port"
    say "starting kubelet $NODE_NAME on $NODE_IP:$kubelet_port (pods in $POD_CIDR)"
    start kubelet "$b/kubelet" \
        --config="$NODE_DIR/kubelet.json" \
        --kubeconfig="$NODE_DIR/kubelet.kubeconfig" \
        --root-dir="$KUBELET_ROOT" \
        --cert-dir="$KUBELET_ROOT/pki" \
        --hostname-override="$NODE_NAME" \
        --node-ip="$NODE_IP" \
        --v=1
    # The pids of the node, for other_node_running in other checkouts.
    printf '%s\n' "$(cut -d' ' -f1 "$PID_DIR"/*.pid)" >"$RUN_DIR/pids"

    wait_for "node $NODE_NAME Ready" node_ready
    trap - EXIT
    say "node $NODE_NAME is Ready ($((SECONDS - t0))s; state in $NODE_DIR)"
    cmd_env
}

# ---- down ----------------------------------------------------------------------------------------

# Pods still on the node (any phase).
pods_on_node() {
    kc get pods -A --field-selector "spec.nodeName=$NODE_NAME" -o name 2>/dev/null | grep -c . || true
}

running_tasks() {
    ctr_ tasks ls -q 2>/dev/null | grep -c . || true
}

# drain: delete the node's pods through the API (finalizers removed), so that the kubelet stops
# them the ordinary way; wait until containerd runs no task of them.
drain() {
    pid_alive kubelet || return 0
    kc get --raw /readyz >/dev/null 2>&1 || return 0
    local ns name
    # No new pods here (controllers replace the ones deleted below).
    kc cordon "$NODE_NAME" >/dev/null 2>&1 || true
    # Finalizers (the runtime checks keep deleted pods with one) would hold the pods.
    while read -r ns name; do
        [[ -n "$name" ]] || continue
        kc -n "$ns" patch pod "$name" --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1 || true
    done < <(kc get pods -A --field-selector "spec.nodeName=$NODE_NAME" -o json 2>/dev/null |
        jq -r '.items[] | select(.metadata.finalizers // [] | length > 0) | "\(.metadata.namespace) \(.metadata.name)"' || true)
    kc delete pods -A --field-selector "spec.nodeName=$NODE_NAME" --grace-period=2 --wait=false >/dev/null 2>&1 || true
    local deadline=$((SECONDS + 45)) t0=$SECONDS
    while ((SECONDS < deadline)); do
        if [[ "$(running_tasks)" == 0 && "$(pods_on_node)" == 0 ]]; then
            say "drained in $((SECONDS - t0))s"
            return 0
        fi
        sleep 0.5
    done
    say "warning: pods still running after 45s; stopping them through containerd: $(kc get pods -A \
        --field-selector "spec.nodeName=$NODE_NAME" -o name 2>/dev/null | tr '\n' ' ')"
}

# sweep_containerd: whatever containerd still holds: tasks killed, containers removed; the
# network namespaces of the sandboxes recorded for unmounting.
sweep_containerd() {
    ctr --address "$CTR_SOCK" version >/dev/null 2>&1 || return 0
    local id
    for id in $(ctr_ containers ls -q 2>/dev/null || true); do
        printf '%s\n' "$id" >>"$HOST_DIR/containers-ours"
        ctr_ containers info "$id" 2>/dev/null |
            jq -r '.Spec.linux.namespaces[]? | select(.type == "network") | .path // empty' \
                >>"$HOST_DIR/netns-ours" 2>/dev/null || true
    done
    local n
    n="$(ctr_ containers ls -q 2>/dev/null | grep -c . || true)"
    ((n == 0)) || say "removing $n containers the kubelet left"
    for id in $(ctr_ tasks ls -q 2>/dev/null || true); do
        ctr_ tasks kill --signal SIGKILL "$id" >/dev/null 2>&1 || true
    done
    sleep 0.5
    for id in $(ctr_ tasks ls -q 2>/dev/null || true); do
        ctr_ tasks delete --force "$id" >/dev/null 2>&1 || true
    done
    for id in $(ctr_ containers ls -q 2>/dev/null || true); do
        ctr_ containers delete "$id" >/dev/null 2>&1 || true
    done
}

# unmount_under DIR: unmount everything mounted at or below DIR, deepest first.
unmount_under() {
    local dir="$1" m
    [[ -d "$dir" ]] || return 0
    for _ in 1 2 3; do
        local any=0
        while IFS= read -r m; do
            any=1
            umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
        done < <(findmnt -rn -o TARGET | awk -v d="$dir" 'index($0, d "/") == 1 || $0 == d' | sort -r)
        ((any)) || return 0
    done
}

mounted_under() {
    findmnt -rn -o TARGET | awk -v d="$1" 'index($0, d "/") == 1 || $0 == d' | grep -q .
}

# remove_ipt_chain CMD TABLE CHAIN: remove the rules that jump to CHAIN, then CHAIN.
remove_ipt_chain() {
    local cmd="$1" t="$2" chain="$3" rule
    while IFS= read -r rule; do
        # iptables -S prints a rule as its arguments, quoted where needed (xargs reads that
        # quoting); "-A" becomes "-D".
        printf '%s\n' "-D ${rule#-A }" | xargs "$cmd" -t "$t" 2>/dev/null || true
    done < <("$cmd" -t "$t" -S 2>/dev/null | awk -v c="$chain" '$1 == "-A" && $0 ~ ("-j " c "( |$)")')
    "$cmd" -t "$t" -F "$chain" 2>/dev/null || true
    "$cmd" -t "$t" -X "$chain" 2>/dev/null || true
}

restore_iptables() {
    local v cmd t chain
    if [[ -f "$HOST_DIR/changes" ]] && grep -q '^forward ' "$HOST_DIR/changes"; then
        local cidr
        cidr="$(awk '$1 == "forward" { print $2; exit }' "$HOST_DIR/changes")"
        while iptables -D FORWARD -s "$cidr" -d "$cidr" -m comment --comment "$CNI_NETWORK" -j ACCEPT 2>/dev/null; do :; done
    fi
    for v in 4 6; do
        if [[ "$v" == 4 ]]; then cmd=iptables; else cmd=ip6tables; fi
        command -v "$cmd" >/dev/null || continue
        for t in $IPT_TABLES; do
            [[ -f "$HOST_DIR/ipt$v.$t" ]] || continue
            while IFS= read -r chain; do
                # Only the kubelet's chains that were not there before.
                [[ "$chain" == KUBE-* ]] || continue
                grep -qxF -- "$chain" "$HOST_DIR/ipt$v.$t" && continue
                other_node_running && continue
                remove_ipt_chain "$cmd" "$t" "$chain"
            done < <("$cmd" -t "$t" -S 2>/dev/null | awk '$1 == "-N" { print $2 }')
        done
    done
}

restore_sysctls() {
    [[ -f "$HOST_DIR/sysctl" ]] || return 0
    local s v
    while read -r s v; do
        [[ -n "$s" ]] || continue
        [[ "$(sysctl -n "$s" 2>/dev/null)" == "$v" ]] && continue
        if other_node_running; then
            say "warning: another e2e node runs; leaving $s as it is"
            continue
        fi
        sysctl -q -w "$s=$v" >/dev/null || say "warning: could not restore $s=$v"
    done <"$HOST_DIR/sysctl"
}

# made_by_us PATH: PATH did not exist before `up`.
made_by_us() {
    [[ -f "$HOST_DIR/paths-existing" ]] && ! grep -qxF -- "$1" "$HOST_DIR/paths-existing"
}

remove_host_paths() {
    [[ -f "$HOST_DIR/paths-existing" ]] || return 0
    local f target
    # The kubelet's links to this node's container logs.
    if [[ -d /var/log/containers ]]; then
        for f in /var/log/containers/*; do
            [[ -L "$f" ]] || continue
            target="$(readlink "$f")"
            [[ "$target" == "$POD_LOGS"/* ]] && rm -f "$f"
        done
    fi
    # libcni's cache of this node's network, and of the loopback network of its sandboxes.
    rm -f /var/lib/cni/results/"$CNI_NETWORK"-* 2>/dev/null || true
    if [[ -f "$HOST_DIR/containers-ours" ]]; then
        while IFS= read -r f; do
            [[ "$f" =~ ^[0-9a-f]{64}$ ]] || continue
            rm -f "/var/lib/cni/results/cni-loopback-$f-lo"
        done <"$HOST_DIR/containers-ours"
    fi
    rm -rf "/var/lib/cni/networks/$CNI_NETWORK"
    # The network namespaces of this node's sandboxes.
    if [[ -f "$HOST_DIR/netns-ours" ]]; then
        while IFS= read -r f; do
            [[ "$f" == /var/run/netns/* || "$f" == /run/netns/* ]] || continue
            [[ -e "$f" ]] || continue
            umount "$f" 2>/dev/null || umount -l "$f" 2>/dev/null || true
            rm -f "$f"
        done <"$HOST_DIR/netns-ours"
    fi
    other_node_running && return 0
    # The kubelet's device plugin socket and checkpoint, whatever its root directory.
    if made_by_us /var/lib/kubelet/device-plugins; then
        rm -rf /var/lib/kubelet/device-plugins
    fi
    local p
    for p in /var/lib/kubelet /var/log/containers /var/lib/cni/results /var/lib/cni/networks \
        /var/lib/cni /run/netns /run/containerd/s /run/containerd; do
        if made_by_us "$p" && [[ -d "$p" ]] && ! mounted_under "$p"; then
            rmdir "$p" 2>/dev/null || say "warning: $p is not empty; left in place: $(ls -A "$p" | head -5 | tr '\n' ' ')"
        fi
    done
}

cmd_down() {
    local changes="$HOST_DIR/changes"
    [[ -d "$NODE_DIR" || -d "$RUN_DIR" ]] || { say "no node in $STATE_DIR"; return 0; }
    mkdir -p "$LOG_DIR"
    DOWN_LOG="$LOG_DIR/node-down.log"
    say "down: $NODE_NAME"
    export PATH="$(bin_dir):$PATH"
    mkdir -p "$HOST_DIR"
    drain
    stop kubelet 20
    stop kube-scheduler
    sweep_containerd
    stop containerd 20
    local pid
    for pid in $(our_shims); do
        kill -KILL "$pid" 2>/dev/null || true
    done
    remove_cgroups
    unmount_under "$KUBELET_ROOT"
    unmount_under "$CTR_STATE"
    unmount_under "$CTR_ROOT"
    unmount_under "$RUN_DIR"
    remove_host_paths
    if [[ -f "$changes" ]] && grep -q "^bridge $BRIDGE\$" "$changes"; then
        ip link del "$BRIDGE" 2>/dev/null || true
    fi
    restore_iptables
    restore_sysctls
    local d
    for d in "$RUN_DIR" "$NODE_DIR"; do
        [[ -d "$d" ]] || continue
        if mounted_under "$d"; then
            say "error: something is still mounted under $d; not removing it:"
            findmnt -rn -o TARGET | awk -v x="$d" 'index($0, x "/") == 1' | head -5 >&2
            return 1
        fi
    done
    rm -rf "$RUN_DIR" "$NODE_DIR"
    say "down"
}

cmd_status() {
    local c running=1
    for c in containerd kube-scheduler kubelet; do
        if pid_alive "$c"; then
            printf '%s is running (pid %s)\n' "$c" "$(cut -d' ' -f1 "$PID_DIR/$c.pid")"
            running=0
        fi
    done
    ((running == 0)) || printf 'no node is running in %s\n' "$NODE_DIR"
    return "$running"
}

main() {
    local cmd="${1:-}"
    [[ $# -gt 0 ]] && shift
    case "$cmd" in
        check) cmd_check ;;
        up) cmd_up "$@" ;;
        import) cmd_import "$@" ;;
        down) cmd_down ;;
        env) cmd_env ;;
        status) cmd_status ;;
        logs) print_logs ;;
        *)
            sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2
            exit 2
            ;;
    esac
}

main "$@"
