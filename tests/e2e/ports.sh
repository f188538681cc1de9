# ports.sh - free TCP ports for the e2e control plane (cluster.sh) and node (node.sh).
# Sourced; the caller defines die.

# port_in_use PORT: a TCP socket on this machine uses PORT (listening or connected).
port_in_use() {
    if command -v ss >/dev/null; then
        ss -Htan | awk -v p="$1" '{ n = split($4, a, ":"); if (a[n] == p) found = 1 } END { exit !found }'
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}

# free_port VAR: sets VAR to a port no socket uses and no earlier call handed out. It sets a
# variable rather than printing, because a command substitution would run it in a subshell and
# forget what it handed out.
TAKEN_PORTS=""
free_port() {
    local p
    for _ in $(seq 1 200); do
        p=$((20000 + RANDOM % 30000))
        case " $TAKEN_PORTS " in *" $p "*) continue ;; esac
        if ! port_in_use "$p"; then
            TAKEN_PORTS="$TAKEN_PORTS $p"
            printf -v "$1" '%s' "$p"
            return 0
        fi
    done
    die "no free port found"
}
