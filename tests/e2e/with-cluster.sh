#!/usr/bin/env bash
# with-cluster.sh CMD [ARGS...]: bring the e2e control plane up, run CMD with
# KUBECONFIG and PATH (helm, kube binaries) set, and always tear it down again,
# on success, failure or interrupt. Exits with CMD's exit code.
set -euo pipefail

[[ $# -gt 0 ]] || { printf 'usage: %s CMD [ARGS...]\n' "$0" >&2; exit 2; }

here="$(cd "$(dirname "$0")" && pwd)"
cluster="$here/cluster.sh"

# Tear down only a cluster this script started: the state dir may hold one
# that another run (another checkout, another user of /tmp) is using.
ours=0
# shellcheck disable=SC2317 # called by the EXIT trap
# Quietly, so that CMD's last line (a test summary) stays the last one.
teardown() {
    ((ours)) || return 0
    "$cluster" down >/dev/null 2>&1 || "$cluster" down || true
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if "$cluster" status >/dev/null 2>&1; then
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

rc=0
"$@" || rc=$?
if ((rc != 0)); then
    printf 'with-cluster.sh: %s exited %d\n' "$1" "$rc" >&2
    "$cluster" logs || true
fi
exit "$rc"
