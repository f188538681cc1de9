/* admission.c - one pod's admission, fail open; see admission.h and admission_int.h. */
#include "admission.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admission_int.h"
#include "argv.h"
#include "facts.h"
#include "jsonin.h"
#include "jsonout.h"
#include "kubesecrets.h"
#include "patch_apply.h"
#include "patch_build.h"
#include "pointer.h"
#include "regfacts.h"
#include "tree.h"
#include "version.h"

static const char *const result_names[REVIEW_RESULT_COUNT] = {
    "patched", "unchanged", "skipped", "failed-open", "invalid", "workload",
};

static const char *const skip_names[SKIP_REASON_COUNT] = {
    "none", "not-pod-create", "namespace", "windows", "pod-opt-out",
};

const char *review_result_name(enum review_result result)
{
    return result < REVIEW_RESULT_COUNT ? result_names[result] : "invalid";
}

const char *skip_reason_name(enum skip_reason reason)
{
    return reason < SKIP_REASON_COUNT ? skip_names[reason] : "invalid";
}

/* ---- one pod ------------------------------------------------------------ */

static void mutation_fail(struct mutation *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void mutation_fail(struct mutation *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->error, sizeof(m->error), fmt, ap);
    va_end(ap);
    m->result = REVIEW_FAILED_OPEN;
}

void mutation_free(struct mutation *m)
{
    patch_free(&m->patch);
    warnings_free(&m->warnings);
    json_decref(m->done);
    json_decref(m->actions);
    json_decref(m->patched);
    buf_free(&m->registry);
    json_decref(m->ptrace_ineffective);
    json_decref(m->agent_env);
    for (size_t i = 0; i < m->nwrapped; i++)
        json_decref(m->wrapped[i].argv);
    free(m->wrapped);
}

static void annotation_key(char *key, size_t len, const struct goinject_config *cfg,
                           const char *name)
{
    str_join(key, len, cfg->annotation_prefix, "/", name, NULL);
}

static const char *pod_annotation(const struct pod_input *in, const char *name)
{
    char key[300];
    annotation_key(key, sizeof(key), in->cfg, name);
    const json_t *annotations =
        json_object_get(json_object_get(in->pod, "metadata"), "annotations");
    return json_string_value(json_object_get(annotations, key));
}

static const char *container_annotation(const struct pod_input *in, const char *fact,
                                        const char *container)
{
    char key[512];
    str_join(key, sizeof(key), fact, ".", in->cfg->annotation_prefix, "/", container, NULL);
    const json_t *annotations =
        json_object_get(json_object_get(in->pod, "metadata"), "annotations");
    return json_string_value(json_object_get(annotations, key));
}

/* The pod's inject annotation, or the configured default. */
static bool pod_selected(const struct pod_input *in, struct warnings *w)
{
    const char *value = pod_annotation(in, "inject");
    if (!value)
        return in->cfg->inject_by_default;
    if (strcmp(value, "true") == 0)
        return true;
    if (strcmp(value, "false") == 0)
        return false;
    warnings_addf(w, "pod annotation %s/inject=\"%.40s\" ignored: expected true or false",
                  in->cfg->annotation_prefix, value);
    return in->cfg->inject_by_default;
}

/* True when reason is one that warn_nonroot records. */
static bool known_nonroot_reason(const char *reason)
{
    return reason && (strcmp(reason, "runAsUser") == 0 || strcmp(reason, "runAsNonRoot") == 0 ||
                      strcmp(reason, "image-user") == 0);
}

/* True when libc is one that handle_container records: a libc_fact_name. */
static bool known_libc_name(const char *libc)
{
    return libc && (strcmp(libc, "glibc") == 0 || strcmp(libc, "musl") == 0 ||
                    strcmp(libc, "none") == 0 || strcmp(libc, "unknown") == 0);
}

/*
 * Copies the members of status[member] that name a container in done and
 * have a value known(), into kept: a pass that writes the status again must
 * not lose what an earlier pass recorded of its containers.
 */
static void keep_status_member(const json_t *status, const char *member, const json_t *done,
                               bool (*known)(const char *), json_t *kept)
{
    const char *name;
    json_t *value;
    json_object_foreach(json_object_get(status, member), name, value)
    {
        if (json_object_get(done, name) && known(json_string_value(value)))
            json_object_set(kept, name, value);
    }
}

/*
 * The containers an earlier pass already handled, from the status annotation; the
 * ptraceIneffective and agentEnv entries of those containers are kept in m.
 */
static json_t *read_status(const struct pod_input *in, struct mutation *m)
{
    json_t *done = json_object();
    const char *text = pod_annotation(in, "status");
    json_t *status = text ? json_loads(text, 0, NULL) : NULL;
    json_t *containers = json_object_get(status, "containers");
    const char *name;
    json_t *action;
    enum container_action parsed;
    json_object_foreach(containers, name, action)
    {
        if (json_is_string(action) && action_parse(json_string_value(action), &parsed) == 0)
            json_object_set(done, name, action);
    }
    keep_status_member(status, "ptraceIneffective", done, known_nonroot_reason,
                       m->ptrace_ineffective);
    keep_status_member(status, "agentEnv", done, known_libc_name, m->agent_env);
    json_decref(status);
    return done;
}

static bool is_windows(const json_t *pod)
{
    const char *os = json_string_value(
        json_object_get(json_object_get(json_object_get(pod, "spec"), "os"), "name"));
    return os && strcmp(os, "windows") == 0;
}

/* ---- container operations ----------------------------------------------- */

static int container_path(struct buf *path, size_t index)
{
    buf_truncate(path, 0);
    return buf_append_str(path, "/spec/containers") || pointer_append_index(path, index);
}

/*
 * [value], holding a reference to it: the configuration's prebuilt values are shared by
 * every review (the patch applier copies before it would edit a shared value), which
 * spares building them each time.
 */
static json_t *list_of(json_t *value)
{
    json_t *list = json_array();
    if (list && json_array_append(list, value) != 0) {
        json_decref(list);
        return NULL;
    }
    return list;
}

static bool list_has_string(const json_t *list, const char *const *values)
{
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item)
    {
        const char *s = json_string_value(item);
        for (const char *const *v = values; s && *v; v++)
            if (strcmp(s, *v) == 0)
                return true;
    }
    return false;
}

/* The first CAP_-prefixed name in list, or NULL: Kubernetes names carry no prefix. */
static const char *prefixed_capability(const json_t *list)
{
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item)
    {
        const char *s = json_string_value(item);
        if (s && strncmp(s, "CAP_", 4) == 0)
            return s;
    }
    return NULL;
}

/*
 * Why SYS_PTRACE cannot reach the container's effective set, or NULL when it can (or
 * goinject cannot tell): a process that starts as a non-root user gets no added
 * capability, since Kubernetes sets no ambient ones. The user is the container's
 * runAsUser, else the pod's; without one, runAsNonRoot (the container's, else the
 * pod's) true means non-root, else the image's USER when a fact gives it. runAsUser
 * 0 with runAsNonRoot true counts as root: the kubelet refuses to start it anyway.
 * The reason names the setting that decided: "runAsUser", "runAsNonRoot" or
 * "image-user"; *uid is the runAsUser when that decided, else -1.
 */
static const char *nonroot_reason(const json_t *pod_context, const json_t *context,
                                  const struct container_facts *facts, json_int_t *uid)
{
    const json_t *user = json_object_get(context, "runAsUser");
    const json_t *nonroot = json_object_get(context, "runAsNonRoot");
    *uid = -1;
    if (!json_is_integer(user))
        user = json_object_get(pod_context, "runAsUser");
    if (!json_is_boolean(nonroot))
        nonroot = json_object_get(pod_context, "runAsNonRoot");
    if (json_is_integer(user)) {
        *uid = json_integer_value(user);
        return *uid != 0 ? "runAsUser" : NULL;
    }
    if (json_is_true(nonroot))
        return "runAsNonRoot";
    if (facts && facts->user && !facts_user_is_root(facts->user))
        return "image-user";
    return NULL;
}

static void warn_nonroot(const struct pod_input *in, const json_t *context, const char *name,
                         const struct container_facts *facts, struct mutation *m)
{
    const json_t *pod_context =
        json_object_get(json_object_get(in->pod, "spec"), "securityContext");
    json_int_t uid;
    const char *reason = nonroot_reason(pod_context, context, facts, &uid);
    char why[96];
    if (!reason)
        return;
    if (strcmp(reason, "runAsUser") == 0)
        snprintf(why, sizeof(why), "runAsUser %" JSON_INTEGER_FORMAT, uid);
    else if (strcmp(reason, "runAsNonRoot") == 0)
        snprintf(why, sizeof(why), "runAsNonRoot");
    else
        snprintf(why, sizeof(why), "image USER %.16s", facts->user);
    warnings_addf(&m->warnings,
                  "container \"%s\": runs as non-root (%s): SYS_PTRACE never takes effect; run "
                  "as root with only the capabilities needed, or use the agent vendor's non-root "
                  "mode",
                  name, why);
    json_object_set_new(m->ptrace_ineffective, name, json_string(reason));
}

/*
 * Makes SYS_PTRACE present in the container's capabilities.add, unless it is privileged.
 * Only "SYS_PTRACE" and "ALL" count: a CAP_-prefixed name means nothing to the runtime,
 * so it is kept, SYS_PTRACE is added beside it, and a warning says to drop the prefix.
 * Warns when capabilities.drop removes SYS_PTRACE, and when the container runs as a
 * non-root user (SYS_PTRACE is still written: the contract does not change).
 */
static int ensure_ptrace(const struct pod_input *in, const json_t *container, const char *path,
                         const char *name, const struct container_facts *facts, struct mutation *m)
{
    static const char *const granted[] = {"SYS_PTRACE", "ALL", NULL};
    static const char *const ptrace[] = {"SYS_PTRACE", NULL};
    static const char *const keys[] = {"securityContext", "capabilities", "add"};
    const json_t *context = json_object_get(container, "securityContext");
    const json_t *capabilities = json_object_get(context, "capabilities");
    const json_t *add = json_object_get(capabilities, "add");
    if (json_is_true(json_object_get(context, "privileged")))
        return 0;
    if (list_has_string(json_object_get(capabilities, "drop"), ptrace))
        warnings_addf(&m->warnings,
                      "container \"%s\": capabilities.drop removes SYS_PTRACE, which static Go "
                      "monitoring needs; take it out of drop",
                      name);
    const char *prefixed = prefixed_capability(add);
    bool present = list_has_string(add, granted);
    if (prefixed)
        warnings_addf(&m->warnings,
                      "container \"%s\": capabilities.add has %.32s; Kubernetes names carry no "
                      "CAP_ prefix and the runtime ignores it: drop the prefix%s",
                      name, prefixed, present ? "" : " (SYS_PTRACE was added)");
    warn_nonroot(in, context, name, facts, m);
    if (present)
        return 0;
    json_t *sys_ptrace = json_string_nocheck("SYS_PTRACE");
    json_t *list = list_of(sys_ptrace);
    json_decref(sys_ptrace);
    return patch_append_nested(&m->patch, container, path, keys, 3, list);
}

static const json_t *find_by_member(const json_t *list, const char *member, const char *value)
{
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item)
    {
        const char *s = json_string_value(json_object_get(item, member));
        if (s && strcmp(s, value) == 0)
            return item;
    }
    return NULL;
}

/*
 * True when a and b name the same directory once cleaned: repeated slashes,
 * "." components and a trailing slash do not count, so "/goinject-agent/."
 * and "//goinject-agent" are the agent's "/goinject-agent".
 */
static bool same_path(const char *a, const char *b)
{
    char clean_a[1024], clean_b[1024];
    return a && b && tree_clean_path(a, clean_a, sizeof(clean_a)) == 0 &&
           tree_clean_path(b, clean_b, sizeof(clean_b)) == 0 && strcmp(clean_a, clean_b) == 0;
}

/* The first mount in mounts whose mountPath is path, once both are cleaned; NULL when none. */
static const json_t *mount_at(const json_t *mounts, const char *path)
{
    size_t i;
    json_t *mount;
    json_array_foreach(mounts, i, mount)
    {
        if (same_path(json_string_value(json_object_get(mount, "mountPath")), path))
            return mount;
    }
    return NULL;
}

/* Adds the agent mount, unless the container mounts the agent volume already. */
static int ensure_agent_mount(const struct goinject_config *cfg, const json_t *container,
                              const char *path, struct mutation *m)
{
    static const char *const keys[] = {"volumeMounts"};
    if (find_by_member(json_object_get(container, "volumeMounts"), "name", cfg->agent.volume_name))
        return 0;
    return patch_append_nested(&m->patch, container, path, keys, 1, list_of(cfg->agent.mount));
}

/*
 * Appends to missing the variables of set that the container's env does not
 * name; for one it names, the user's value stays and a warning says so.
 */
static void agent_env_missing(const json_t *set, const json_t *env, const char *name,
                              json_t *missing, struct mutation *m)
{
    size_t i;
    json_t *var;
    json_array_foreach(set, i, var)
    {
        const char *var_name = json_string_value(json_object_get(var, "name"));
        if (find_by_member(env, "name", var_name))
            warnings_addf(&m->warnings,
                          "container \"%s\": env %s is already set, so the agent's value was not "
                          "added; the agent may not load. Merge the values in the pod or drop "
                          "yours",
                          name, var_name);
        else
            json_array_append(missing, var);
    }
}

/*
 * Adds agent.env.any and, unless set is AGENT_ENV_ANY, that libc's set (the
 * configuration keeps the two disjoint); a variable the user set already wins.
 */
static int ensure_agent_env(const struct goinject_config *cfg, const json_t *container,
                            const char *path, const char *name, enum agent_env_set set,
                            struct mutation *m)
{
    static const char *const keys[] = {"env"};
    const json_t *env = json_object_get(container, "env");
    json_t *missing = json_array();
    agent_env_missing(cfg->agent.env[AGENT_ENV_ANY], env, name, missing, m);
    if (set != AGENT_ENV_ANY)
        agent_env_missing(cfg->agent.env[set], env, name, missing, m);
    if (json_array_size(missing) == 0) {
        json_decref(missing);
        return 0;
    }
    return patch_append_nested(&m->patch, container, path, keys, 1, missing);
}

static int emit_wrapper(const json_t *container, const char *path, struct container_plan *plan,
                        struct mutation *m)
{
    struct buf field = BUF_INIT;
    int rc = buf_append_str(&field, path) || buf_append_str(&field, "/command") ||
             patch_add(&m->patch, field.data, json_incref(plan->command));
    buf_truncate(&field, 0);
    rc = rc || buf_append_str(&field, path) || buf_append_str(&field, "/args");
    if (!rc && plan->args)
        rc = patch_add(&m->patch, field.data, json_incref(plan->args));
    else if (!rc && json_object_get(container, "args"))
        rc = patch_remove(&m->patch, field.data);
    buf_free(&field);
    return rc;
}

static int remember_wrapped(struct mutation *m, size_t index, struct container_plan *plan)
{
    struct wrapped *list = realloc(m->wrapped, (m->nwrapped + 1) * sizeof(*list));
    if (!list)
        return -1;
    m->wrapped = list;
    m->wrapped[m->nwrapped].index = index;
    m->wrapped[m->nwrapped].prefix_len = plan->action == ACTION_SHELL_WRAPPER ? 3 : 2;
    m->wrapped[m->nwrapped].argv = json_incref(plan->argv);
    m->nwrapped++;
    return 0;
}

static int emit_container_ops(const struct pod_input *in, size_t index, const json_t *container,
                              const char *name, const struct container_facts *facts,
                              struct container_plan *plan, struct mutation *m)
{
    struct buf path = BUF_INIT;
    int rc = container_path(&path, index);
    if (!rc && plan->command)
        rc = emit_wrapper(container, path.data, plan, m) || remember_wrapped(m, index, plan);
    if (!rc && plan->add_ptrace)
        rc = ensure_ptrace(in, container, path.data, name, facts, m);
    if (!rc && plan->add_agent)
        rc = ensure_agent_mount(in->cfg, container, path.data, m) ||
             ensure_agent_env(in->cfg, container, path.data, name, plan->env_set, m);
    m->need_agent = m->need_agent || plan->add_agent;
    buf_free(&path);
    return rc;
}

/*
 * The agent's mount must be exactly (volumeName at mountPath), paths compared
 * once cleaned: another volume at that path would make the pod invalid, and
 * our volume at another path would leave the tini wrapper pointing at nothing.
 */
static bool agent_mount_conflicts(const struct goinject_config *cfg, const json_t *container)
{
    const json_t *mounts = json_object_get(container, "volumeMounts");
    const json_t *at_path = mount_at(mounts, cfg->agent.mount_path);
    const json_t *by_name = find_by_member(mounts, "name", cfg->agent.volume_name);
    const char *path_owner = json_string_value(json_object_get(at_path, "name"));
    const char *name_path = json_string_value(json_object_get(by_name, "mountPath"));
    return (at_path && (!path_owner || strcmp(path_owner, cfg->agent.volume_name) != 0)) ||
           (by_name && !same_path(name_path, cfg->agent.mount_path));
}

/*
 * An init container by the agent's name is goinject's own (added by an earlier
 * pass) when it runs what the configuration builds: the same image, command and
 * args, and the agent volume mounted at the agent's path. Other members may have
 * been defaulted or added since (a service account token mount, for one).
 */
static bool is_own_init_container(const struct agent_config *a, const json_t *init)
{
    static const char *const members[] = {"image", "command", "args", NULL};
    for (const char *const *member = members; *member; member++)
        if (!json_equal(json_object_get(init, *member),
                        json_object_get(a->init_container, *member)))
            return false;
    const json_t *mount =
        find_by_member(json_object_get(init, "volumeMounts"), "name", a->volume_name);
    return mount &&
           same_path(json_string_value(json_object_get(mount, "mountPath")), a->mount_path);
}

/* The kind of a volume, for a warning: its first member other than name ("configMap"). */
static const char *volume_kind(const json_t *volume)
{
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)volume, key, value)
    {
        if (strcmp(key, "name") != 0)
            return key;
    }
    return "no source";
}

/*
 * Looks for something of the pod's that holds one of the names goinject adds
 * per pod in cloud-native mode: a volume named agent.volumeName that is not the
 * plain emptyDir goinject writes, an init container named agent.initContainerName
 * that is not goinject's copier, or an app container by that name. On a clash,
 * m->clash describes the object and m->clash_fix names the setting to change;
 * every container that needs the agent is then left as it is.
 */
static void agent_clash(const struct pod_input *in, struct mutation *m)
{
    const struct agent_config *a = &in->cfg->agent;
    const json_t *spec = json_object_get(in->pod, "spec");
    const json_t *volume = find_by_member(json_object_get(spec, "volumes"), "name", a->volume_name);
    const json_t *init =
        find_by_member(json_object_get(spec, "initContainers"), "name", a->init_container_name);
    m->clash[0] = '\0';
    if (in->cfg->mode != MODE_CLOUD_NATIVE)
        return;
    if (volume && !json_equal((json_t *)volume, a->volume)) {
        snprintf(m->clash, sizeof(m->clash), "a volume \"%.63s\" (%.40s)", a->volume_name,
                 volume_kind(volume));
        m->clash_fix = "agent.volumeName";
    } else if (init && !is_own_init_container(a, init)) {
        snprintf(m->clash, sizeof(m->clash), "an init container \"%.63s\"", a->init_container_name);
        m->clash_fix = "agent.initContainerName";
    } else if (find_by_member(json_object_get(spec, "containers"), "name",
                              a->init_container_name)) {
        snprintf(m->clash, sizeof(m->clash), "a container \"%.63s\"", a->init_container_name);
        m->clash_fix = "agent.initContainerName";
    }
}

/* What the first pass found a container to need. */
enum prep { PREP_SKIP, PREP_OPTED_OUT, PREP_PLAN };

/*
 * First pass over a container: checks it can be handled at all and resolves
 * the facts that annotations and the catalog give (the registry stage adds
 * its own for every container at once).
 */
static enum prep prepare_container(const struct pod_input *in, size_t index,
                                   const json_t *container, struct container_facts *facts,
                                   struct mutation *m)
{
    const char *name = json_string_value(json_object_get(container, "name"));
    if (!name || !*name) {
        warnings_addf(&m->warnings, "container %zu has no name; left alone", index);
        return PREP_SKIP;
    }
    if (json_object_get(m->done, name))
        return PREP_SKIP;
    if (!argv_is_valid_field(json_object_get(container, "command")) ||
        !argv_is_valid_field(json_object_get(container, "args"))) {
        warnings_addf(&m->warnings,
                      "container \"%s\": command and args must be arrays of strings; left alone",
                      name);
        return PREP_SKIP;
    }
    const char *inject = container_annotation(in, "inject", name);
    if (inject && strcmp(inject, "false") == 0)
        return PREP_OPTED_OUT;
    const json_t *annotations =
        json_object_get(json_object_get(in->pod, "metadata"), "annotations");
    const char *image = json_string_value(json_object_get(container, "image"));
    facts_resolve(in->cfg, annotations, name, image, facts, &m->warnings);
    return PREP_PLAN;
}

static void plan_one(const struct pod_input *in, const json_t *container, const char *name,
                     const struct container_facts *facts, struct container_plan *plan,
                     struct mutation *m)
{
    const struct pod_traits traits = {
        .pod_security_enforced = in->pod_security_enforced,
        .host_pid = json_is_true(json_object_get(json_object_get(in->pod, "spec"), "hostPID")),
    };
    rules_plan(in->cfg, name, container, facts, &traits, plan, &m->warnings);
    if (plan->add_agent && m->clash[0]) {
        warnings_addf(&m->warnings,
                      "container \"%s\": the pod already has %s that goinject did not add; not "
                      "injected (no agent, wrapper or SYS_PTRACE). Rename it, or set %s",
                      name, m->clash, m->clash_fix);
        plan_clear(plan);
        plan->action = ACTION_UNSUPPORTED;
    } else if (plan->add_agent && agent_mount_conflicts(in->cfg, container)) {
        warnings_addf(&m->warnings,
                      "container \"%s\": a volume mount clashes with the agent's (%s at %s); "
                      "not injected. Change that mount, or agent.mountPath",
                      name, in->cfg->agent.volume_name, in->cfg->agent.mount_path);
        plan_clear(plan);
        plan->action = ACTION_UNSUPPORTED;
    }
    if (plan->add_agent)
        plan->env_set = rules_agent_env(in->cfg, name, facts, &m->warnings);
}

static int handle_container(const struct pod_input *in, size_t index, const json_t *container,
                            enum prep prep, const struct container_facts *facts, struct mutation *m)
{
    const char *name = json_string_value(json_object_get(container, "name"));
    struct container_plan plan;
    if (prep == PREP_SKIP)
        return 0;
    if (prep == PREP_OPTED_OUT) {
        memset(&plan, 0, sizeof(plan));
        plan.action = ACTION_OPTED_OUT;
    } else {
        plan_one(in, container, name, facts, &plan, m);
    }
    int rc =
        emit_container_ops(in, index, container, name, prep == PREP_PLAN ? facts : NULL, &plan, m);
    json_object_set_new(m->done, name, json_string(action_name(plan.action)));
    json_object_set_new(m->actions, name, json_string(action_name(plan.action)));
    if (plan.add_agent && config_has_libc_env(in->cfg))
        json_object_set_new(m->agent_env, name, json_string(libc_fact_name(facts->libc)));
    m->containers[plan.action]++;
    plan_clear(&plan);
    return rc;
}

/* ---- the registry stage ------------------------------------------------- */

/* What the registry layer did for one container, for the status annotation and the log. */
/* Written as text, as json_dumps would write the object: {"from":[...],"registry":...}. */
static void note_registry(struct mutation *m, const char *name, const struct regfacts_query *q,
                          const struct container_facts *facts)
{
    static const char *const status_names[] = {"hit", "fetched", "pending", "failed"};
    struct buf *b = &m->registry;
    int rc = buf_append_str(b, b->len ? "," : "") || jsonout_write_string(b, name, strlen(name)) ||
             buf_append_str(b, ":{\"from\":[");
    for (unsigned bit = FROM_ANNOTATIONS, n = 0; bit <= FROM_REGISTRY; bit <<= 1)
        if (facts->sources & bit)
            rc = rc || buf_append_str(b, n++ ? ",\"" : "\"") ||
                 buf_append_str(b, fact_source_name(bit)) || buf_append_char(b, '"');
    rc = rc || buf_append_str(b, "],\"registry\":\"") ||
         buf_append_str(b, status_names[q->status]) || buf_append_char(b, '"');
    if (q->digest[0])
        rc = rc || buf_append_str(b, ",\"digest\":") ||
             jsonout_write_string(b, q->digest, strlen(q->digest));
    if (rc || buf_append_char(b, '}') != 0)
        m->registry_broken = true;
    m->facts_pending = m->facts_pending || q->status == REGFACTS_PENDING;
}

static void warn_registry(struct mutation *m, const char *name, const struct regfacts_query *q)
{
    if (q->status == REGFACTS_PENDING)
        warnings_addf(&m->warnings,
                      "container \"%s\": image facts for %.80s are not known yet; later pods of "
                      "this image get the full rules",
                      name, q->image);
    else if (q->status == REGFACTS_FAILED)
        /* Whole: a reason too long for the warning is cut at its limit, with "...". */
        warnings_addf(&m->warnings,
                      "container \"%s\": image facts for %.80s could not be read from its "
                      "registry (%s); annotate the pod or add a catalog rule",
                      name, q->image, q->reason);
}

/* The pod's imagePullSecrets (the ServiceAccount's are in the list by now); false when none. */
static bool pod_pull_secrets(const struct pod_input *in, struct pull_secrets *out)
{
    const json_t *list = json_object_get(json_object_get(in->pod, "spec"), "imagePullSecrets");
    size_t i;
    json_t *ref;
    memset(out, 0, sizeof(*out));
    if (!in->namespace || strlen(in->namespace) >= sizeof(out->ns))
        return false;
    snprintf(out->ns, sizeof(out->ns), "%s", in->namespace);
    json_array_foreach(list, i, ref)
    {
        const char *name = json_string_value(json_object_get(ref, "name"));
        if (name && strlen(name) < KUBESECRETS_NAME_MAX && out->count < KUBESECRETS_MAX_NAMES)
            snprintf(out->names[out->count++], KUBESECRETS_NAME_MAX, "%s", name);
    }
    return out->count > 0;
}

/*
 * Asks the registry layer, all at once and within the pod's budget, for the
 * containers whose facts annotations and the catalog left open.
 */
static void registry_stage(const struct pod_input *in, const json_t *containers,
                           const enum prep *prep, struct container_facts *facts, size_t n,
                           struct mutation *m)
{
    const struct registry_config *rc = &in->cfg->registry;
    /* The agent env of a container in cloud-native mode depends on its libc then. */
    bool need_libc = in->cfg->mode == MODE_CLOUD_NATIVE && config_has_libc_env(in->cfg);
    if (!rc->enabled || !rc->settings || in->deadline_ms == 0 || !regfacts_running())
        return;
    struct regfacts_query *q = calloc(n ? n : 1, sizeof(*q));
    size_t *which = calloc(n ? n : 1, sizeof(*which)), k = 0;
    for (size_t i = 0; q && which && i < n; i++) {
        const json_t *container = json_array_get(containers, i);
        const char *image = json_string_value(json_object_get(container, "image"));
        if (prep[i] == PREP_PLAN && image && !facts_settled(&facts[i], container, need_libc)) {
            q[k].image = image;
            which[k++] = i;
        }
    }
    if (k > 0) {
        struct platform_set platforms;
        struct pull_secrets secrets;
        platforms_of_pod(in->pod, rc->platform, &platforms);
        bool use_secrets = rc->pod_pull_secrets && pod_pull_secrets(in, &secrets);
        regfacts_lookup(rc, &platforms, use_secrets ? &secrets : NULL, q, k, in->deadline_ms);
    }
    for (size_t j = 0; j < k; j++) {
        size_t i = which[j];
        const char *name =
            json_string_value(json_object_get(json_array_get(containers, i), "name"));
        if (q[j].status == REGFACTS_HIT || q[j].status == REGFACTS_FETCHED)
            facts_fill_registry(&facts[i], &q[j].facts);
        warn_registry(m, name, &q[j]);
        note_registry(m, name, &q[j], &facts[i]);
        catalog_facts_free(&q[j].facts);
    }
    free(q);
    free(which);
}

/* ---- pod-level operations ----------------------------------------------- */

/*
 * Adds the agent's init container and volume, each unless the pod has it already
 * (agent_clash has made sure that what the pod has by those names is goinject's).
 */
static int ensure_agent_volume(const struct pod_input *in, struct mutation *m)
{
    static const char *const init_keys[] = {"initContainers"};
    static const char *const volume_keys[] = {"volumes"};
    const struct agent_config *a = &in->cfg->agent;
    const json_t *spec = json_object_get(in->pod, "spec");
    int rc = 0;
    if (!find_by_member(json_object_get(spec, "initContainers"), "name", a->init_container_name))
        rc =
            patch_append_nested(&m->patch, spec, "/spec", init_keys, 1, list_of(a->init_container));
    if (!rc && !find_by_member(json_object_get(spec, "volumes"), "name", a->volume_name))
        rc = patch_append_nested(&m->patch, spec, "/spec", volume_keys, 1, list_of(a->volume));
    return rc;
}

/*
 * "app: shell-wrapper, sidecar: agent": what was done, container by container,
 * and "; image facts pending" when the registry had not answered in time.
 */
static json_t *status_reason(const json_t *done, bool facts_pending)
{
    struct buf text = BUF_INIT;
    const char *name;
    json_t *action;
    int rc = 0;
    json_object_foreach((json_t *)done, name, action)
    {
        rc = rc || buf_append_str(&text, text.len ? ", " : "") || buf_append_str(&text, name) ||
             buf_append_str(&text, ": ") || buf_append_str(&text, json_string_value(action));
    }
    if (!text.len)
        rc = rc || buf_append_str(&text, "no containers");
    if (facts_pending)
        rc = rc || buf_append_str(&text, "; image facts pending");
    json_t *reason = rc ? NULL : json_string(text.data);
    buf_free(&text);
    return reason;
}

static bool any_injected(const json_t *done)
{
    const char *name;
    json_t *action;
    enum container_action parsed;
    json_object_foreach((json_t *)done, name, action)
    {
        if (action_parse(json_string_value(action), &parsed) == 0 && action_injects(parsed))
            return true;
    }
    return false;
}

static int write_status(const struct pod_input *in, struct mutation *m)
{
    char key[300];
    /* {"version","mode","containers"}, compact, as json_dumps would write it. */
    struct buf status = BUF_INIT;
    const char *mode = config_mode_name(in->cfg->mode);
    int rc = buf_append_str(&status, "{\"version\":") ||
             jsonout_write_string(&status, GOINJECT_VERSION, strlen(GOINJECT_VERSION)) ||
             buf_append_str(&status, ",\"mode\":") ||
             jsonout_write_string(&status, mode, strlen(mode)) ||
             buf_append_str(&status, ",\"containers\":") || jsonout_write_compact(&status, m->done);
    if (!rc && m->registry.len)
        rc = m->registry_broken || buf_append_str(&status, ",\"facts\":{") ||
             buf_append(&status, m->registry.data, m->registry.len) ||
             buf_append_char(&status, '}');
    if (!rc && json_object_size(m->ptrace_ineffective))
        rc = buf_append_str(&status, ",\"ptraceIneffective\":") ||
             jsonout_write_compact(&status, m->ptrace_ineffective);
    if (!rc && json_object_size(m->agent_env))
        rc = buf_append_str(&status, ",\"agentEnv\":") ||
             jsonout_write_compact(&status, m->agent_env);
    rc = rc || buf_append_char(&status, '}');
    if (rc) {
        buf_free(&status);
        return -1;
    }
    json_t *members = json_object();
    annotation_key(key, sizeof(key), in->cfg, "status");
    json_object_set_new(members, key, json_stringn(status.data, status.len));
    buf_free(&status);
    annotation_key(key, sizeof(key), in->cfg, "injected");
    json_object_set_new(members, key, json_string(any_injected(m->done) ? "true" : "false"));
    annotation_key(key, sizeof(key), in->cfg, "reason");
    json_object_set_new(members, key, status_reason(m->done, m->facts_pending));

    const json_t *metadata = json_object_get(in->pod, "metadata");
    if (!json_is_object(metadata))
        return patch_add(&m->patch, "/metadata", json_pack("{s:o}", "annotations", members));
    return patch_set_members(&m->patch, metadata, "/metadata", "annotations", members);
}

/* ---- checking the result ------------------------------------------------ */

/*
 * b keeps every byte of a: objects may gain members, arrays may gain elements at the end,
 * and a null may become the object or array the builder creates in its place. The patch
 * is applied copy on write, so a subtree no operation touched is the very same json_t in
 * both: comparing it costs nothing.
 */
static bool extends(const json_t *a, const json_t *b)
{
    if (a == b)
        return true;
    if (json_is_null(a) && (json_is_object(b) || json_is_array(b)))
        return true;
    if (json_typeof(a) != json_typeof(b))
        return false;
    if (json_is_object(a)) {
        const char *key;
        size_t key_len;
        json_t *value;
        json_object_keylen_foreach((json_t *)a, key, key_len, value)
        {
            const json_t *other = json_object_getn(b, key, key_len);
            if (!other || !extends(value, other))
                return false;
        }
        return true;
    }
    if (json_is_array(a)) {
        if (json_array_size(b) < json_array_size(a))
            return false;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!extends(json_array_get(a, i), json_array_get(b, i)))
                return false;
        return true;
    }
    return json_equal((json_t *)a, (json_t *)b);
}

/* extends() for two objects, leaving out the members named in skip (NULL-terminated). */
static bool extends_except(const json_t *a, const json_t *b, const char *const *skip)
{
    if (!a)
        return true; /* nothing to keep */
    if (a == b || !json_is_object(a) || !json_is_object(b))
        return extends(a, b);
    const char *key;
    size_t key_len;
    json_t *value;
    json_object_keylen_foreach((json_t *)a, key, key_len, value)
    {
        bool skipped = false;
        for (const char *const *s = skip; *s && !skipped; s++)
            skipped = strlen(*s) == key_len && memcmp(*s, key, key_len) == 0;
        const json_t *other = json_object_getn(b, key, key_len);
        if (!skipped && (!other || !extends(value, other)))
            return false;
    }
    return true;
}

static bool is_wrapped(const struct mutation *m, size_t index)
{
    for (size_t i = 0; i < m->nwrapped; i++)
        if (m->wrapped[i].index == index)
            return true;
    return false;
}

/*
 * The patched pod keeps every byte of the pod as received, except what goinject may
 * replace: command and args of the containers it wrapped, and its own annotations. This
 * walks the pod once and copies nothing.
 */
static bool pod_kept(const struct pod_input *in, const struct mutation *m, const json_t *patched)
{
    static const char *const wrapper_fields[] = {"command", "args", NULL};
    static const char *const top_fields[] = {"metadata", "spec", NULL};
    const json_t *pod = in->pod;
    if (pod == patched)
        return true;
    if (!json_is_object(pod) || !json_is_object(patched))
        return extends(pod, patched);
    if (!extends_except(pod, patched, top_fields))
        return false;

    char keys[3][300];
    annotation_key(keys[0], sizeof(keys[0]), in->cfg, "status");
    annotation_key(keys[1], sizeof(keys[1]), in->cfg, "injected");
    annotation_key(keys[2], sizeof(keys[2]), in->cfg, "reason");
    const char *const own[] = {keys[0], keys[1], keys[2], NULL};
    static const char *const annotations_field[] = {"annotations", NULL};
    const json_t *meta = json_object_get(pod, "metadata");
    const json_t *patched_meta = json_object_get(patched, "metadata");
    if (meta && !(json_is_object(meta) && json_is_object(patched_meta)
                      ? extends_except(meta, patched_meta, annotations_field) &&
                            extends_except(json_object_get(meta, "annotations"),
                                           json_object_get(patched_meta, "annotations"), own)
                      : extends(meta, patched_meta)))
        return false;

    static const char *const containers_field[] = {"containers", NULL};
    const json_t *spec = json_object_get(pod, "spec");
    const json_t *patched_spec = json_object_get(patched, "spec");
    if (!spec)
        return true;
    if (!json_is_object(spec) || !json_is_object(patched_spec))
        return extends(spec, patched_spec);
    if (!extends_except(spec, patched_spec, containers_field))
        return false;
    const json_t *containers = json_object_get(spec, "containers");
    const json_t *patched_containers = json_object_get(patched_spec, "containers");
    if (!json_is_array(containers) || !json_is_array(patched_containers))
        return extends(containers, patched_containers);
    if (json_array_size(patched_containers) < json_array_size(containers))
        return false;
    for (size_t i = 0; i < json_array_size(containers); i++) {
        const json_t *c = json_array_get(containers, i);
        const json_t *pc = json_array_get(patched_containers, i);
        if (!(is_wrapped(m, i) ? extends_except(c, pc, wrapper_fields) : extends(c, pc)))
            return false;
    }
    return true;
}

/* A wrapped container must still execute exactly E after the wrapper's prefix. */
static bool wrapper_runs_argv(const json_t *patched, const struct wrapped *w)
{
    const json_t *c =
        json_array_get(json_object_get(json_object_get(patched, "spec"), "containers"), w->index);
    const char *missing = NULL;
    json_t *now = argv_effective(json_object_get(c, "command"), json_object_get(c, "args"), NULL,
                                 NULL, &missing);
    bool ok = now && json_array_size(now) == w->prefix_len + json_array_size(w->argv);
    for (size_t i = 0; ok && i < json_array_size(w->argv); i++)
        ok = json_equal(json_array_get(now, w->prefix_len + i), json_array_get(w->argv, i));
    json_decref(now);
    return ok;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * No two objects in list and also (arrays) have the same string in member. Sorted rather
 * than compared pair by pair, so a pod with many containers costs n log n, not n squared.
 * Out of memory counts as not unique: the review then fails open.
 */
static bool names_unique(const json_t *list, const char *member, const json_t *also)
{
    size_t n = json_array_size(list), total = n + json_array_size(also), count = 0;
    const char *small[32];
    const char **names = total <= 32 ? small : malloc(total * sizeof(*names));
    if (!names)
        return false;
    for (size_t i = 0; i < total; i++) {
        const json_t *item = i < n ? json_array_get(list, i) : json_array_get(also, i - n);
        const char *name = json_string_value(json_object_get(item, member));
        if (name)
            names[count++] = name;
    }
    qsort(names, count, sizeof(*names), compare_names);
    bool unique = true;
    for (size_t i = 1; unique && i < count; i++)
        unique = strcmp(names[i - 1], names[i]) != 0;
    if (names != small)
        free(names);
    return unique;
}

static bool mounts_unique(const json_t *containers)
{
    size_t i;
    json_t *c;
    json_array_foreach(containers, i, c)
    {
        if (!names_unique(json_object_get(c, "volumeMounts"), "mountPath", NULL))
            return false;
    }
    return true;
}

static const char *check_result(const struct pod_input *in, const struct mutation *m,
                                const json_t *patched)
{
    const json_t *spec = json_object_get(patched, "spec");
    const json_t *containers = json_object_get(spec, "containers");
    const json_t *inits = json_object_get(spec, "initContainers");
    if (!pod_kept(in, m, patched))
        return "the patch would change or drop fields of the pod";
    for (size_t i = 0; i < m->nwrapped; i++)
        if (!wrapper_runs_argv(patched, &m->wrapped[i]))
            return "a wrapped container would not execute its original argv";
    if (!names_unique(containers, "name", inits))
        return "container names would not be unique";
    if (!names_unique(json_object_get(spec, "volumes"), "name", NULL))
        return "volume names would not be unique";
    if (!mounts_unique(containers) || !mounts_unique(inits))
        return "mount paths would not be unique";
    return NULL;
}

static void apply_and_check(const struct pod_input *in, struct mutation *m)
{
    char err[256];
    json_t *patched = patch_apply_built(in->pod, &m->patch, err, sizeof(err));
    if (!patched) {
        mutation_fail(m, "applying the patch failed: %s", err);
        return;
    }
    const char *problem = check_result(in, m, patched);
    if (problem) {
        json_decref(patched);
        mutation_fail(m, "check of the patched pod failed: %s", problem);
        return;
    }
    m->patched = patched;
    m->result = REVIEW_PATCHED;
}

/* Both passes over the containers, with the registry stage between them. 0, or -1 when failed. */
static int plan_containers(const struct pod_input *in, const json_t *containers, struct mutation *m)
{
    size_t n = json_array_size(containers), i;
    json_t *container;
    struct container_facts *facts = calloc(n ? n : 1, sizeof(*facts));
    enum prep *prep = calloc(n ? n : 1, sizeof(*prep));
    int rc = 0;
    if (!facts || !prep) {
        free(facts);
        free(prep);
        mutation_fail(m, "out of memory");
        return -1;
    }
    json_array_foreach(containers, i, container) prep[i] =
        prepare_container(in, i, container, &facts[i], m);
    agent_clash(in, m);
    registry_stage(in, containers, prep, facts, n, m);
    json_array_foreach(containers, i, container)
    {
        if (rc == 0 && handle_container(in, i, container, prep[i], &facts[i], m) != 0) {
            mutation_fail(m,
                          "container %zu: cannot build the patch (a field on the way has the "
                          "wrong type)",
                          i);
            rc = -1;
        }
    }
    for (i = 0; i < n; i++)
        facts_clear(&facts[i]);
    free(facts);
    free(prep);
    return rc;
}

void mutate_pod(const struct pod_input *in, struct mutation *m)
{
    memset(m, 0, sizeof(*m));
    m->actions = json_object();
    m->ptrace_ineffective = json_object();
    m->agent_env = json_object();
    if (patch_init(&m->patch) != 0 || !m->actions || !m->ptrace_ineffective || !m->agent_env)
        return mutation_fail(m, "out of memory");
    const json_t *containers = json_object_get(json_object_get(in->pod, "spec"), "containers");
    if (!json_is_object(in->pod) || !json_is_array(containers))
        return mutation_fail(m, "the request holds no pod with spec.containers");
    if (config_namespace_excluded(in->cfg, in->namespace)) {
        m->result = REVIEW_SKIPPED;
        m->skip = SKIP_NAMESPACE;
        return;
    }
    if (is_windows(in->pod)) {
        m->result = REVIEW_SKIPPED;
        m->skip = SKIP_WINDOWS;
        return;
    }
    if (!pod_selected(in, &m->warnings)) {
        m->result = REVIEW_SKIPPED;
        m->skip = SKIP_POD_OPT_OUT;
        return;
    }
    m->done = read_status(in, m);
    m->done_before = json_object_size(m->done);
    if (plan_containers(in, containers, m) != 0)
        return;
    if (m->need_agent && ensure_agent_volume(in, m) != 0)
        return mutation_fail(m, "cannot add the agent's init container or volume");
    if (json_object_size(m->done) > m->done_before && write_status(in, m) != 0)
        return mutation_fail(m, "cannot add the status annotations");
    if (patch_count(&m->patch) == 0) {
        m->result = REVIEW_UNCHANGED;
        return;
    }
    apply_and_check(in, m);
}

/* ---- the pod a review is about, and a workload's template ---------------- */

const char *pod_display_name(const json_t *pod)
{
    const json_t *metadata = json_object_get(pod, "metadata");
    const char *name = json_string_value(json_object_get(metadata, "name"));
    if (name && *name)
        return name;
    name = json_string_value(json_object_get(metadata, "generateName"));
    return name ? name : "";
}

/*
 * When the registry stage must end: the configured budget from now, and
 * always at least a second before the API server gives up on this call.
 * 0 when the stage does not run.
 */
static uint64_t registry_deadline(const struct goinject_config *cfg,
                                  const struct review_options *opts)
{
    if (!cfg->registry.enabled || (opts && opts->no_registry))
        return 0;
    uint64_t budget = cfg->registry.budget_ms;
    if (opts && opts->timeout_ms && opts->timeout_ms < budget + 1000)
        budget = opts->timeout_ms > 1000 ? opts->timeout_ms - 1000 : 0;
    return reg_now_ms() + budget;
}

/*
 * True when Pod Security baseline or restricted is known to be enforced in ns:
 * the request URL says so, or (unless it says the namespace is labelled
 * privileged) the configuration does.
 */
static bool namespace_enforces(const struct goinject_config *cfg, const char *ns,
                               const struct review_options *opts)
{
    if (opts && opts->pod_security_enforced)
        return true;
    if (opts && opts->pod_security_privileged)
        return false;
    return config_namespace_enforces_pod_security(cfg, ns);
}

struct pod_input pod_input_for(const struct goinject_config *cfg, const json_t *pod, const char *ns,
                               const struct review_options *opts)
{
    return (struct pod_input){cfg, pod, ns, namespace_enforces(cfg, ns, opts),
                              registry_deadline(cfg, opts)};
}

/*
 * The pod its controller would create from workload's template: the
 * template's metadata and spec (owned), or NULL when the template has no
 * spec.containers (the API server rejects such a workload itself).
 */
static json_t *template_pod(const struct workload_kind *kind, const json_t *workload)
{
    const json_t *spec = json_object_get(workload, "spec");
    if (kind->in_job_template)
        spec = json_object_get(json_object_get(spec, "jobTemplate"), "spec");
    const json_t *template = json_object_get(spec, "template");
    const json_t *metadata = json_object_get(template, "metadata");
    const json_t *pod_spec = json_object_get(template, "spec");
    if (!json_is_array(json_object_get(pod_spec, "containers")))
        return NULL;
    json_t *pod = json_object();
    if (json_is_object(metadata))
        json_object_set(pod, "metadata", (json_t *)metadata);
    json_object_set(pod, "spec", (json_t *)pod_spec);
    return pod;
}

/* See admission_int.h. */
void check_template(const struct goinject_config *cfg, const struct workload_kind *kind,
                    const json_t *workload, const char *ns, const struct review_options *opts,
                    struct warnings *w, json_t *log)
{
    json_t *pod = template_pod(kind, workload);
    if (!pod) {
        json_object_set_new(log, "skip", json_string("no-pod-template"));
        return;
    }
    struct pod_input in = pod_input_for(cfg, pod, ns, opts);
    struct mutation m;
    mutate_pod(&in, &m);
    if (m.actions)
        json_object_set(log, "actions", m.actions);
    if (m.result == REVIEW_SKIPPED)
        json_object_set_new(log, "skip", json_string(skip_reason_name(m.skip)));
    if (m.result == REVIEW_FAILED_OPEN) {
        json_object_set_new(log, "error", json_string(m.error));
        warnings_addf(w, "pods of this template would be admitted unchanged: %s", m.error);
    } else if (m.result != REVIEW_SKIPPED) {
        for (size_t i = 0; i < m.warnings.count; i++)
            warnings_addf(w, "%s", m.warnings.items[i] + strlen("goinject: "));
    }
    mutation_free(&m);
    json_decref(pod);
}

/* ---- what a review reads of the object ------------------------------------ */

/*
 * What a review reads of the object, and so all that is built of it: every member any
 * function above looks at (and metadata.namespace, which request_namespace reads in
 * admission_review.c), and every member a patch operation may create or extend (which
 * must be seen to exist). A member read here and missing from the table reads as absent
 * on the fast path: add both together. The rest of the pod (env values, probes,
 * resources, volume sources, managedFields) is checked as JSON and skipped. The check of
 * the patched pod still covers everything the patch can touch. A full parse (jansson's
 * fallback, or review_options.full_parse) gives the same answer; the review fuzzer
 * compares the two, and checks that the shaped parse builds exactly what the shape keeps.
 */
/* The shapes read best as tables. */
/* clang-format off */
#define LEAF(name) {name, NULL}
static const struct jsonin_shape NAME_ONLY[] = {LEAF("name"), {NULL, NULL}};
static const struct jsonin_shape MOUNT[] = {LEAF("name"), LEAF("mountPath"), {NULL, NULL}};
static const struct jsonin_shape CAPABILITIES[] = {LEAF("add"), LEAF("drop"), {NULL, NULL}};
static const struct jsonin_shape SECURITY_CONTEXT[] = {
    LEAF("privileged"), LEAF("runAsUser"), LEAF("runAsNonRoot"), {"capabilities", CAPABILITIES},
    {NULL, NULL}};
static const struct jsonin_shape POD_SECURITY_CONTEXT[] = {
    LEAF("runAsUser"), LEAF("runAsNonRoot"), {NULL, NULL}};
#define CONTAINER_MEMBERS                                                                          \
    LEAF("name"), LEAF("image"), LEAF("command"), LEAF("args"),                                    \
        {"securityContext", SECURITY_CONTEXT}, {"volumeMounts", MOUNT}
/* env is read only to add the configured agent env; without any, it is skipped too. */
static const struct jsonin_shape CONTAINER_WITH_ENV[] = {
    CONTAINER_MEMBERS, {"env", NAME_ONLY}, {NULL, NULL}};
static const struct jsonin_shape CONTAINER_WITHOUT_ENV[] = {CONTAINER_MEMBERS, {NULL, NULL}};
/* image, command and args tell goinject's own init container from a user's (agent_clash). */
static const struct jsonin_shape INIT_CONTAINER[] = {
    LEAF("name"), LEAF("image"), LEAF("command"), LEAF("args"), {"volumeMounts", MOUNT},
    {NULL, NULL}};
static const struct jsonin_shape METADATA[] = {LEAF("annotations"), LEAF("name"),
                                             LEAF("generateName"), LEAF("namespace"), {NULL, NULL}};
/*
 * The review's shape, from the containers' down. Volumes are kept whole: one by the
 * agent's name is goinject's only when it is exactly the emptyDir goinject writes.
 */
#define POD_SPEC_MEMBERS(container)                                                                \
    {"containers", container}, {"initContainers", INIT_CONTAINER}, LEAF("volumes"),                \
        {"os", NAME_ONLY}, LEAF("nodeSelector"), LEAF("affinity"), LEAF("imagePullSecrets"),     \
        {"securityContext", POD_SECURITY_CONTEXT}, LEAF("hostPID")
/*
 * A workload's object keeps its pod template where the pod keeps its spec: at spec.template,
 * or spec.jobTemplate.spec.template for a CronJob.
 */
#define OBJECT_SHAPE(name, container)                                                              \
    static const struct jsonin_shape name##_SPEC[] = {POD_SPEC_MEMBERS(container), {NULL, NULL}};    \
    static const struct jsonin_shape name##_POD[] = {                                                \
        {"metadata", METADATA}, {"spec", name##_SPEC}, {NULL, NULL}};                              \
    static const struct jsonin_shape name##_JOB_SPEC[] = {{"template", name##_POD}, {NULL, NULL}};    \
    static const struct jsonin_shape name##_JOB[] = {{"spec", name##_JOB_SPEC}, {NULL, NULL}};       \
    static const struct jsonin_shape name##_OBJECT_SPEC[] = {                                        \
        POD_SPEC_MEMBERS(container), {"template", name##_POD}, {"jobTemplate", name##_JOB},        \
        {NULL, NULL}};                                                                             \
    const struct jsonin_shape name[] = {                                                             \
        {"metadata", METADATA}, {"spec", name##_OBJECT_SPEC}, {NULL, NULL}}
OBJECT_SHAPE(admission_object_with_env, CONTAINER_WITH_ENV);
OBJECT_SHAPE(admission_object_without_env, CONTAINER_WITHOUT_ENV);
#undef OBJECT_SHAPE
#undef POD_SPEC_MEMBERS
#undef CONTAINER_MEMBERS
#undef LEAF
/* clang-format on */

bool admission_reads_env(const struct goinject_config *cfg)
{
    return config_has_agent_env(cfg);
}
