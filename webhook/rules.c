/* rules.c - the contract's rules table for one container; see rules.h. */
#include "rules.h"

#include <stdio.h>
#include <string.h>

#include "argv.h"

static const char *const action_names[ACTION_COUNT] = {
    [ACTION_NONE] = "none",
    [ACTION_AGENT] = "agent",
    [ACTION_UNSUPPORTED] = "unsupported",
    [ACTION_PTRACE] = "ptrace",
    [ACTION_PTRACE_AGENT] = "ptrace+agent",
    [ACTION_SHELL_WRAPPER] = "shell-wrapper",
    [ACTION_TINI_WRAPPER] = "tini-wrapper",
    [ACTION_POD_SECURITY] = "pod-security",
    [ACTION_OPTED_OUT] = "opted-out",
    [ACTION_HOST_PID] = "host-pid",
};

const char *action_name(enum container_action action)
{
    return action < ACTION_COUNT ? action_names[action] : "invalid";
}

int action_parse(const char *name, enum container_action *action)
{
    for (int i = 0; i < ACTION_COUNT; i++) {
        if (strcmp(name, action_names[i]) == 0) {
            *action = (enum container_action)i;
            return 0;
        }
    }
    return -1;
}

bool action_injects(enum container_action action)
{
    return action == ACTION_AGENT || action == ACTION_PTRACE || action == ACTION_PTRACE_AGENT ||
           action == ACTION_SHELL_WRAPPER || action == ACTION_TINI_WRAPPER;
}

static void set_action(struct container_plan *plan, enum container_action action)
{
    plan->action = action;
    plan->add_ptrace = action == ACTION_PTRACE || action == ACTION_PTRACE_AGENT ||
                       action == ACTION_SHELL_WRAPPER || action == ACTION_TINI_WRAPPER;
    plan->add_agent = action == ACTION_AGENT || action == ACTION_PTRACE_AGENT ||
                      action == ACTION_SHELL_WRAPPER || action == ACTION_TINI_WRAPPER;
}

/* Returns true (and warns) when the facts say the agent cannot monitor this binary. */
static bool unsupported(const struct container_facts *facts, const char *name, struct warnings *w)
{
    if (facts->cgo == FACT_TRUE) {
        warnings_addf(w,
                      "container \"%s\": static Go binary with cgo cannot be monitored; link libc "
                      "dynamically (go build -ldflags=-linkmode=external, without -static)",
                      name);
        return true;
    }
    if (facts->libc == LIBC_NONE) {
        warnings_addf(w,
                      "container \"%s\": image has no C library (libc none), so the agent cannot "
                      "run; use a base image with glibc or musl instead of scratch",
                      name);
        return true;
    }
    return false;
}

static void warn_pod_security(const char *name, struct warnings *w)
{
    warnings_addf(w,
                  "container \"%s\": static Go needs SYS_PTRACE, which this namespace's Pod "
                  "Security level forbids; not injected. Label the namespace "
                  "pod-security.kubernetes.io/enforce=privileged to monitor it",
                  name);
}

/* Why a static Go container of a hostPID pod was left alone, and the switch that allows it. */
static void warn_host_pid(const char *name, struct warnings *w)
{
    warnings_addf(w,
                  "container \"%s\": hostPID pod: SYS_PTRACE not added (it would let the "
                  "container trace the node's processes), so not injected; set ptraceWithHostPID "
                  "in goinject's configuration to allow it",
                  name);
}

/*
 * True when the container may trace already, so goinject would add nothing:
 * it is privileged, or capabilities.add holds SYS_PTRACE or ALL (what the
 * patch counts as present; a CAP_-prefixed name counts for nothing).
 */
static bool ptrace_granted(const json_t *container)
{
    const json_t *context = json_object_get(container, "securityContext");
    if (json_is_true(json_object_get(context, "privileged")))
        return true;
    const json_t *add = json_object_get(json_object_get(context, "capabilities"), "add");
    size_t i;
    json_t *item;
    json_array_foreach(add, i, item)
    {
        const char *s = json_string_value(item);
        if (s && (strcmp(s, "SYS_PTRACE") == 0 || strcmp(s, "ALL") == 0))
            return true;
    }
    return false;
}

static void warn_unknown_argv(const char *name, const char *missing, const char *prefix,
                              struct warnings *w)
{
    if (strcmp(missing, "command") == 0)
        warnings_addf(w,
                      "container \"%s\": static Go entrypoint kept: the image runs nothing "
                      "(empty ENTRYPOINT and CMD); set command in the pod",
                      name);
    else
        warnings_addf(w,
                      "container \"%s\": static Go not wrapped, image %s unknown; set "
                      "command/args or annotate %s.%s/%s",
                      name, strcmp(missing, "cmd") == 0 ? "CMD" : "ENTRYPOINT", missing, prefix,
                      name);
}

static void plan_wrapper(const struct goinject_config *cfg, const struct container_facts *facts,
                         json_t *argv, struct container_plan *plan)
{
    bool use_shell = facts->shell == SHELL_PATH ||
                     (facts->shell == SHELL_UNKNOWN && cfg->unknown_shell == UNKNOWN_SHELL_SHELL);
    if (use_shell) {
        const char *shell = facts->shell == SHELL_PATH ? facts->shell_path : cfg->default_shell;
        plan->command = argv_shell_wrapper(shell, argv, &plan->args);
        set_action(plan, ACTION_SHELL_WRAPPER);
    } else {
        char tini[1024];
        snprintf(tini, sizeof(tini), "%s/%s", cfg->agent.mount_path,
                 facts->libc == LIBC_MUSL ? cfg->tini_musl : cfg->tini_glibc);
        plan->command = argv_tini_wrapper(tini, argv, &plan->args);
        set_action(plan, ACTION_TINI_WRAPPER);
    }
    plan->argv = argv;
}

static void plan_cloud_native_static(const struct goinject_config *cfg, const char *name,
                                     const json_t *container, const struct container_facts *facts,
                                     struct container_plan *plan, struct warnings *w)
{
    const char *missing = NULL;
    json_t *argv =
        argv_effective(json_object_get(container, "command"), json_object_get(container, "args"),
                       facts->entrypoint, facts->cmd, &missing);
    if (!argv) {
        warn_unknown_argv(name, missing, cfg->annotation_prefix, w);
        set_action(plan, ACTION_PTRACE_AGENT);
        return;
    }
    if (argv_starts_with_parent(argv)) {
        json_decref(argv);
        set_action(plan, ACTION_PTRACE_AGENT);
        return;
    }
    if (facts->shell == SHELL_UNKNOWN && cfg->unknown_shell == UNKNOWN_SHELL_SKIP) {
        json_decref(argv);
        warnings_addf(w,
                      "container \"%s\": static Go not wrapped, image shell unknown; annotate "
                      "shell.%s/%s with a shell path or none",
                      name, cfg->annotation_prefix, name);
        set_action(plan, ACTION_PTRACE_AGENT);
        return;
    }
    plan_wrapper(cfg, facts, argv, plan);
}

void rules_plan(const struct goinject_config *cfg, const char *name, const json_t *container,
                const struct container_facts *facts, const struct pod_traits *pod,
                struct container_plan *plan, struct warnings *w)
{
    memset(plan, 0, sizeof(*plan));
    if (facts->static_go != FACT_TRUE) {
        set_action(plan, cfg->mode == MODE_CLOUD_NATIVE ? ACTION_AGENT : ACTION_NONE);
        return;
    }
    if (unsupported(facts, name, w)) {
        set_action(plan, ACTION_UNSUPPORTED);
        return;
    }
    if (pod->pod_security_enforced) {
        warn_pod_security(name, w);
        set_action(plan, ACTION_POD_SECURITY);
        return;
    }
    if (pod->host_pid && !cfg->ptrace_with_host_pid && !ptrace_granted(container)) {
        warn_host_pid(name, w);
        set_action(plan, ACTION_HOST_PID);
        return;
    }
    if (cfg->mode == MODE_CLASSIC) {
        set_action(plan, ACTION_PTRACE);
        return;
    }
    plan_cloud_native_static(cfg, name, container, facts, plan, w);
}

enum agent_env_set rules_agent_env(const struct goinject_config *cfg, const char *name,
                                   const struct container_facts *facts, struct warnings *w)
{
    if (facts->libc == LIBC_GLIBC)
        return AGENT_ENV_GLIBC;
    if (facts->libc == LIBC_MUSL)
        return AGENT_ENV_MUSL;
    if (facts->libc == LIBC_UNKNOWN && config_has_libc_env(cfg))
        warnings_addf(w,
                      "container \"%s\": libc unknown, so only agent.env.any was set; annotate "
                      "libc.%s/%s with glibc or musl",
                      name, cfg->annotation_prefix, name);
    return AGENT_ENV_ANY;
}

void plan_clear(struct container_plan *plan)
{
    json_decref(plan->command);
    json_decref(plan->args);
    json_decref(plan->argv);
    memset(plan, 0, sizeof(*plan));
}
