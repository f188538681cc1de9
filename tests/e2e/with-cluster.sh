#!/usr/bin/env bash
# with-cluster.sh CMD [ARGS...]: bring the e2e control plane up, and a node on it (node.sh),
# run CMD with KUBECONFIG and PATH (helm, kube binaries) set, and always tear both down again,
# on success, failure or interrupt. Exits with CMD's exit code.
#
# GOINJECT_E2E_NODE: 1 = a node is required (failing to start one is an error), 0 = no node,
# auto (default) = a node when this machine can run one (node.sh check), else node-less.
# E2E_NODE_IMAGES: Docker images to import into the node (e.g. the goinject image).
# With a node, CMD also gets E2E_NODE_NAME, E2E_NODE_ROOT, E2E_NODE_CTR_ADDRESS, ... (node.sh env).
set -euo pipefail

[[ $# -gt 0 ]] || { printf 'usage: %s CMD [ARGS...]\n' "$0" >&2; exit 2; }

here="$(cd "$(dirname "$0")" && pwd)"
cluster="$here/cluster.sh"
node="$here/node.sh"

# Tear down only a cluster this script started: the state dir may hold one
# that another run (another checkout, another user of /tmp) is using.
ours=0
# shellcheck disable=SC2317 # called by the EXIT trap
# Quietly, so that CMD's last line (a test summary) stays the last one.
teardown() {
    ((ours)) || return 0
    # cluster.sh down takes the node down first; its own output only when it fails.
    "$cluster" down >/dev/null 2>&1 || "$cluster" down || true
}
trap teardown EXIT
# A signal stops CMD (TERM; it runs in the background so that the signal is handled at once,
# not when CMD happens to end), then exits through teardown.
child=""
# shellcheck disable=SC2317 # called by the traps
on_signal() {
    if [[ -n "$child" ]]; then
        kill -TERM "$child" 2>/dev/null || true
        wait "$child" 2>/dev/null || true
    fi
    exit "$1"
}
trap 'on_signal 130' INT
trap 'on_signal 143' TERM

if "$cluster" status >/dev/null 2>&1 || "$node" status >/dev/null 2>&1; then
    printf 'with-cluster.sh: a cluster is already running in %s; leaving it alone (set GOINJECT_E2E_STATE to another directory)\n' \
        "${GOINJECT_E2E_STATE:-/tmp/goinject-e2e}" >&2
    exit 1
fi
ours=1
if ! "$cluster" up >/dev/null; then
    # cluster.sh up has already printed the component logs.
    printf 'with-cluster.sh: cluster failed to come up\n' >&2
    exit 1
fi
eval "$("$cluster" env)"

want_node="${GOINJECT_E2E_NODE:-auto}"
if [[ "$want_node" == auto ]]; then
    want_node=0
    if why="$("$node" check 2>&1)"; then
        want_node=1
        for image in ${E2E_NODE_IMAGES:-}; do
            if ! docker image inspect "$image" >/dev/null 2>&1; then
                why="the image $image is not in Docker (make image)"
                want_node=0
            fi
        done
    fi
    [[ "$want_node" == 1 ]] || printf 'with-cluster.sh: no node: %s\n' "${why#node.sh: }" >&2
fi
unset E2E_NODE_NAME
if [[ "$want_node" == 1 ]]; then
    # shellcheck disable=SC2086 # a list of image names
    if ! "$node" up ${E2E_NODE_IMAGES:-} >/dev/null; then
        printf 'with-cluster.sh: the node failed to come up\n' >&2
        exit 1
    fi
    eval "$("$node" env)"
fi

rc=0
"$@" <&0 &
child=$!
wait "$child" || rc=$?
child=""
if ((rc != 0)); then
    printf 'with-cluster.sh: %s exited %d\n' "$1" "$rc" >&2
    "$cluster" logs || true
fi
exit "$rc"
