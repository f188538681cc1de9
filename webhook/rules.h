/*
 * rules.h - the contract's rules table: what to do with one container.
 *
 * Owns the decision for a container of a selected pod, given the mode and the
 * image facts: nothing, the agent mount, SYS_PTRACE, a shell or tini wrapper,
 * or a warning. It decides; the patch builder turns a plan into operations.
 */
#ifndef GOINJECT_RULES_H
#define GOINJECT_RULES_H

#include <jansson.h>
#include <stdbool.h>

#include "config.h"
#include "facts.h"
#include "warn.h"

enum container_action {
    ACTION_NONE,          /* classic, not a static Go entrypoint: the host agent injects */
    ACTION_AGENT,         /* cloud-native, not static Go: agent mount (+ env) */
    ACTION_UNSUPPORTED,   /* static Go the agent cannot monitor: warning only */
    ACTION_PTRACE,        /* classic static Go: SYS_PTRACE, entrypoint kept */
    ACTION_PTRACE_AGENT,  /* cloud-native static Go already under a parent, or E unknown */
    ACTION_SHELL_WRAPPER, /* cloud-native: shell wrapper + SYS_PTRACE + agent */
    ACTION_TINI_WRAPPER,  /* cloud-native: tini wrapper + SYS_PTRACE + agent */
    ACTION_POD_SECURITY,  /* SYS_PTRACE forbidden by the namespace's Pod Security level */
    ACTION_OPTED_OUT,     /* inject.<prefix>/<container>: "false" */
    ACTION_HOST_PID,      /* static Go in a hostPID pod: SYS_PTRACE withheld, not injected */
    ACTION_COUNT
};

struct container_plan {
    enum container_action action;
    bool add_ptrace; /* SYS_PTRACE in securityContext.capabilities.add */
    bool add_agent;  /* the agent volume mount and the configured agent env */
    /* With add_agent: agent.env.any, and this set too unless it is AGENT_ENV_ANY. */
    enum agent_env_set env_set;
    json_t *command; /* owned; the wrapper's command, NULL when not wrapping */
    json_t *args;    /* owned; the wrapper's args, NULL to omit them */
    json_t *argv;    /* owned; E, set when wrapping so the result can be checked */
};

/* A stable name for status annotations, logs and metric labels. */
const char *action_name(enum container_action action);
/* Parses a name written by action_name(); returns -1 when unknown. */
int action_parse(const char *name, enum container_action *action);
/* True when the action prepares the container for the agent. */
bool action_injects(enum container_action action);

/* What a container's plan needs to know of its pod. */
struct pod_traits {
    bool pod_security_enforced; /* the namespace enforces Pod Security baseline or restricted */
    bool host_pid;              /* spec.hostPID: the pod shares the node's process namespace */
};

/*
 * Plans one container (borrowed JSON) named name of a pod with the given
 * traits. A static Go container that needs SYS_PTRACE gets none where Pod
 * Security forbids it, nor in a hostPID pod (where it would let the container
 * trace the node's processes) unless ptraceWithHostPID is set or the container
 * holds the capability already. Warnings name the container and say what the
 * user can do.
 */
void rules_plan(const struct goinject_config *cfg, const char *name, const json_t *container,
                const struct container_facts *facts, const struct pod_traits *pod,
                struct container_plan *plan, struct warnings *w);
/*
 * The agent env set for a container whose plan adds the agent, by its libc
 * fact: the libc of the dynamically linked programs an LD_PRELOAD agent is
 * loaded into there (the image's shell or entrypoint, or the tini flavor
 * chosen by the same fact). AGENT_ENV_GLIBC or AGENT_ENV_MUSL, else
 * AGENT_ENV_ANY: nothing libc-specific for libc none (no loader to load an
 * agent) or unknown (a wrong guess can keep every program of the other libc
 * from starting). Warns, naming the container, when the libc is unknown and
 * the configuration has a libc-specific set.
 */
enum agent_env_set rules_agent_env(const struct goinject_config *cfg, const char *name,
                                   const struct container_facts *facts, struct warnings *w);
void plan_clear(struct container_plan *plan);

#endif
