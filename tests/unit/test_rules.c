/* test_rules.c - the contract's rules table, row by row, in both modes. */
#include <stdio.h>

#include "rules.h"
#include "testutil.h"

/* ---- fixture ----------------------------------------------------------- */

static struct goinject_config *cfg;
static struct container_facts facts;
static struct container_plan plan;
static struct warnings warnings;
static json_t *container;
static bool host_pid; /* the pod's spec.hostPID, for plan_as */

static const char *const shell_script = "exec \"$0\" \"$@\"";

static void setup(void)
{
    cfg = config_new_default();
    ck_assert_ptr_nonnull(cfg);
    memset(&facts, 0, sizeof(facts));
    memset(&plan, 0, sizeof(plan));
    memset(&warnings, 0, sizeof(warnings));
    /* A static Go binary whose argv is known from the pod. */
    container =
        json_lit("{\"name\": \"app\", \"image\": \"example/app:1\","
                 " \"command\": [\"/app\", \"--serve\"], \"args\": [\"--port\", \"8080\"]}");
    facts.static_go = FACT_TRUE;
    host_pid = false;
}

static void teardown(void)
{
    plan_clear(&plan);
    facts_clear(&facts);
    warnings_free(&warnings);
    json_decref(container);
    config_free(cfg);
}

static void set_container(const char *text)
{
    json_decref(container);
    container = json_lit(text);
}

static void set_shell(const char *path)
{
    free(facts.shell_path);
    facts.shell_path = path ? strdup(path) : NULL;
    facts.shell = path ? SHELL_PATH : SHELL_NONE;
}

static void plan_as(enum inject_mode mode, bool pod_security_enforced)
{
    cfg->mode = mode;
    plan_clear(&plan);
    const struct pod_traits traits = {pod_security_enforced, host_pid};
    rules_plan(cfg, "app", container, &facts, &traits, &plan, &warnings);
}

static void expect_plan(enum container_action action, bool ptrace, bool agent)
{
    ck_assert_msg(plan.action == action, "action %s, want %s", action_name(plan.action),
                  action_name(action));
    ck_assert_int_eq(plan.add_ptrace, ptrace);
    ck_assert_int_eq(plan.add_agent, agent);
}

/* The entrypoint is kept: no wrapper command or args. */
static void expect_entrypoint_kept(void)
{
    ck_assert_ptr_null(plan.command);
    ck_assert_ptr_null(plan.args);
    ck_assert_ptr_null(plan.argv);
}

static void expect_no_warnings(void)
{
    ck_assert_msg(warnings.count == 0, "unexpected warning: %s",
                  warnings.count ? warnings.items[0] : "");
}

/* A warning per the contract: prefix, names the container, short, printable. */
static void expect_good_warning(const char *text, const char *name)
{
    ck_assert_msg(strncmp(text, "goinject: ", 10) == 0, "no prefix: %s", text);
    ck_assert_uint_le(strlen(text), WARNING_MAX_LEN);
    for (const char *p = text; *p; p++)
        ck_assert_msg(*p >= 0x20 && *p <= 0x7e, "not printable ASCII: %s", text);
    char quoted[300];
    snprintf(quoted, sizeof(quoted), "\"%s\"", name);
    ck_assert_msg(strstr(text, quoted) != NULL, "warning does not name %s: %s", quoted, text);
}

/* Exactly one warning, about container "app", that contains advice. */
static void expect_one_warning(const char *advice)
{
    ck_assert_uint_eq(warnings.count, 1);
    expect_good_warning(warnings.items[0], "app");
    ck_assert_msg(strstr(warnings.items[0], advice) != NULL, "warning \"%s\" lacks \"%s\"",
                  warnings.items[0], advice);
}

static void expect_shell_wrapper(const char *shell, const char *argv0, const char *args)
{
    char want[512];
    snprintf(want, sizeof(want), "[\"%s\", \"-c\", \"exec \\\"$0\\\" \\\"$@\\\"\", \"%s\"]", shell,
             argv0);
    ck_assert_ptr_nonnull(plan.command);
    ck_assert_json_eq(plan.command, want);
    ck_assert_str_eq(json_string_value(json_array_get(plan.command, 2)), shell_script);
    if (args)
        ck_assert_json_eq(plan.args, args);
    else
        ck_assert_ptr_null(plan.args);
}

static void expect_tini_wrapper(const char *tini, const char *argv0, const char *args)
{
    char want[512];
    snprintf(want, sizeof(want), "[\"%s\", \"--\", \"%s\"]", tini, argv0);
    ck_assert_ptr_nonnull(plan.command);
    ck_assert_json_eq(plan.command, want);
    if (args)
        ck_assert_json_eq(plan.args, args);
    else
        ck_assert_ptr_null(plan.args);
}

/* ---- not a static Go entrypoint ---------------------------------------- */

START_TEST(classic_not_static_go_false_does_nothing)
{
    facts.static_go = FACT_FALSE;
    plan_as(MODE_CLASSIC, false);
    expect_plan(ACTION_NONE, false, false);
    expect_entrypoint_kept();
    expect_no_warnings();
}
END_TEST

START_TEST(classic_not_static_go_unknown_does_nothing)
{
    facts.static_go = FACT_UNKNOWN;
    plan_as(MODE_CLASSIC, false);
    expect_plan(ACTION_NONE, false, false);
    expect_entrypoint_kept();
    expect_no_warnings();
}
END_TEST

START_TEST(cloud_native_not_static_go_false_gets_agent_mount)
{
    facts.static_go = FACT_FALSE;
    plan_as(MODE_CLOUD_NATIVE, false);
    expect_plan(ACTION_AGENT, false, true);
    expect_entrypoint_kept();
    expect_no_warnings();
}
END_TEST

START_TEST(cloud_native_not_static_go_unknown_gets_agent_mount)
{
    facts.static_go = FACT_UNKNOWN;
    plan_as(MODE_CLOUD_NATIVE, false);
    expect_plan(ACTION_AGENT, false, true);
    expect_entrypoint_kept();
    expect_no_warnings();
}
END_TEST

START_TEST(classic_not_static_go_ignores_the_other_facts)
{
    facts.static_go = FACT_FALSE;
    facts.cgo = FACT_TRUE;
    facts.libc = LIBC_NONE;
    set_shell(NULL);
    plan_as(MODE_CLASSIC, true);
    expect_plan(ACTION_NONE, false, false);
    expect_no_warnings();
}
END_TEST

START_TEST(cloud_native_not_static_go_ignores_the_other_facts)
{
    facts.static_go = FACT_FALSE;
    facts.cgo = FACT_TRUE;
    facts.libc = LIBC_NONE;
    set_shell(NULL);
    plan_as(MODE_CLOUD_NATIVE, true);
    expect_plan(ACTION_AGENT, false, true);
    expect_entrypoint_kept();
    expect_no_warnings();
}
END_TEST

/* ---- static Go, unsupported -------------------------------------------- */

START_TEST(classic_static_go_cgo_is_unsupported_with_a_warning)
{
    facts.cgo = FACT_TRUE;
    plan_as(MODE_CLASSIC, false);
    expect_plan(ACTION_UNSUPPORTED, false, false);
    expect_entrypoint_kept();
    expect_one_warning("cgo");
}
END_TEST

START_TEST(cloud_native_static_go_cgo_is_unsupported_with_a_warning)
{
    facts.cgo = FACT_TRUE;
    set_shell("/bin/sh");
    plan_as(MODE_CLOUD_NATIVE, false);
    expect_plan(ACTION_UNSUPPORTED, false, false);
    expect_entrypoint_kept();
    expect_one_warning("link libc dynamically");
}
END_TEST

START_TEST(classic_static_go_libc_none_is_unsupported_with_a_warning)
{
    facts.libc = LIBC_NONE;
    plan_as(MODE_CLASSIC, false);
    expect_plan(ACTION_UNSUPPORTED, false, false);
    expect_entrypoint_kept();
    expect_one_warning("libc none");
}
END_TEST

START_TEST(cloud_native_static_go_libc_none_is_unsupported_with_a_warning)
{
    facts.libc = LIBC_NONE;
    set_shell(NULL);
    plan_as(MODE_CLOUD_NATIVE, false);
    expect_plan(ACTION_UNSUPPORTED, false, false);
    expect_entrypoint_kept();
    expect_one_warning("use a base image with glibc or musl");
}
END_TEST

START_TEST(classic_static_go_cgo_false_is_supported)
{
    facts.cgo = FACT_FALSE;
    facts.libc = LIBC_GLIBC;
    plan_as(MODE_CLASSIC, false);
    expect_plan(ACTION_PTRACE, true, false);
    expect_no_warnings();
}
END_TEST

START_TEST(cloud_native_static_go_cgo_false_is_supported)
{
    facts.cgo = FACT_FALSE;
    facts.libc = LIBC_GLIBC;
    set_shell("/bin/sh");
    plan_as(MODE_CLOUD_NATIVE, false);
    expect_plan(ACTION_SHELL_WRAPPER, true, true);
    expect_no_warnings();
}
END_TEST

/* ---- static Go, E[0] already a shell or an init ------------------------ */

static const char *const parent_names[] = {
    "sh",        "bash", "ash", "dash", "tini", "dumb-init", "/bin/sh", "/usr/bin/dumb-init",
    "/sbin/tini"};

START_TEST(classic_static_go_under_a_shell_or_init_gets_ptrace)
{
    json_object_set_new(container, "command",
                        json_pack("[sss]", parent_names[_i], "-c", "/app --serve"));
    json_object_del(container, "args");
    set_shell("/bin/sh");
    plan_as(MODE_CLASSIC, false);
    expect_plan(ACTION_PTRACE, true, false);
    expect_entrypoint_kept();
    expect_no_warnings();
}
END_TEST

START_TEST(cloud_native_static_go_under_a_shell_or_init_gets_ptrace_and_agent)
{
    json_object_set_new(container, "command", json_pack("[sss]", parent_names[_i], "--", "/app"));
    json_object_del(container, "args");
    set_shell("/bin/sh");
    plan_as(MODE_CLOUD_NATIVE, false);
    expect_plan(ACTION_PTRACE_AGENT, true, true);
    expect_entrypoint_kept();
    expect_no_warnings();
}
END_TEST

START_TEST(cloud_native_static_go_under_an_init_from_the_image_entrypoint)
{
    set_container("{\"name\": \"app\", \"args\": [\"/app\"]}");
    facts.entrypoint = json_lit("[\"/usr/bin/dumb-init\", \"--\"]");
    set_shell(NULL);
    plan_as(MODE_CLOUD_NATIVE, false);
    expect_plan(ACTION_PTRACE_AGENT, true, true);
    expect_entrypoint_kept();
    expect_no_warnings();
}
END_TEST

/* ---- static Go, shell known -------------------------------------------- */

START_TEST(classic_static_go_shell_known_gets_ptrace_and_keeps_the_entrypoint)
{
    set_shell("/bin/sh");
    plan_as(MODE_CLASSIC, false);
    expect_plan(ACTION_PTRACE, true, false);
    expect_entrypoint_kept();
    expect_no_warnings();
}
END_TEST

START_TEST(cloud_native_static_go_shell_known_gets_shell_wrapper)
{
    set_shell("/bin/sh");
    plan_as(MODE_CLOUD_NATIVE, false);
    expect_plan(ACTION_SHELL_WRAPPER, true, true);
    expect_shell_wrapper("/bin/sh", "/app", "[\"--serve\", \"--port\", \"8080\"]");
    ck_assert_json_eq(plan.argv, "[\"/app\", \"--serve\", \"--port\", \"8080\"]");
    expect_no_warnings();
}
END_TEST

START_TEST(cloud_native_static_go_shell_known_uses_the_annotated_shell)
{
    set_shell("/busybox/sh");
    facts.libc = LIBC_MUSL;
    plan_as(MODE_CLOUD_NATIVE, false);
    expect_plan(ACTION_SHELL_WRAPPER, true, true);
    expect_shell_wrapper("/busybox/sh", "/app", "[\"--serve\", \"--port\", \"8080\"]");
}
END_TEST

START_TEST(cloud_native_static_go_shell_known_single_element_e_omits_args)
{
    set_container("{\"name\": \"app\", \"command\": [\"/app\"]}");
    set_shell("/bin/sh");
    plan_as(MODE_CLOUD_NATIVE, false);
    expect_plan(ACTION_SHELL_WRAPPER, true, true);
    expect_shell_wrapper("/bin/sh", "/app", NULL);
    ck_assert_json_eq(plan.argv, "[\"/app\"]");
}
END_TEST

START_TEST(cloud_native_static_go_shell_known_wraps_image_entrypoint_and_cmd)
{
    set_container("{\"name\": \"app\"}");
    facts.entrypoint = json_lit("[\"/ko-app/server\"]");
    facts.cmd = json_lit("[\"--config\", \"/etc/app.yaml\"]");
    set_shell("/bin/sh");
    plan_as(MODE_CLOUD_NATIVE, false);
    expect_plan(ACTION_SHELL_WRAPPER, true, true);
    expect_shell_wrapper("/bin/sh", "/ko-app/server", "[\"--config\", \"/etc/app.yaml\"]");
}
END_TEST

/* ---- static Go, shell none -> tini ------------------------------------- */

START_TEST(classic_static_go_shell_none_gets_ptrace_and_keeps_the_entrypoint)
{
    set_shell(NULL);
    plan_as(MODE_CLASSIC, false);
    expect_plan(ACTION_PTRACE, true, false);
    expect_entrypoint_kept();
    expect_no_warnings();
}
END_TEST

START_TEST(cloud_native_static_go_shell_none_gets_tini_wrapper_with_glibc_path)
{
    set_shell(NULL);
    plan_as(MODE_CLOUD_NATIVE, false);
    expect_plan(ACTION_TINI_WRAPPER, true, true);
    expect_tini_wrapper("/goinject-agent/tini/glibc/tini", "/app",
                        "[\"--serve\", \"--port\", \"8080\"]");
    ck_assert_json_eq(plan.argv, "[\"/app\", \"--serve\", \"--port\", \"8080\"]");
    expect_no_warnings();
}
END_TEST

START_TEST(cloud_native_static_go_shell_none_libc_glibc_gets_glibc_tini)
{
    set_shell(NULL);
    facts.libc = LIBC_GLIBC;
    plan_as(MODE_CLOUD_NATIVE, false);
    expect_plan(ACTION_TINI_WRAPPER, true, true);
    expect_tini_wrapper("/goinject-agent/tini/glibc/tini", "/app",
                        "[\"--serve\", \"--port\", \"8080\"]");
}
END_TEST

START_TEST(classic_static_go_shell_none_libc_musl_gets_ptrace)
{
    set_shell(NULL);
    facts.libc = LIBC_MUSL;
    plan_as(MODE_CLASSIC, false);
    expect_plan(ACTION_PTRACE, true, false);
    expect_entrypoint_kept();
    expect_no_warnings();
}
END_TEST

START_TEST(cloud_native_static_go_shell_none_libc_musl_gets_musl_tini)
{
    set_shell(NULL);
    facts.libc = LIBC_MUSL;
    plan_as(MODE_CLOUD_NATIVE, false);
    expect_plan(ACTION_TINI_WRAPPER, true, true);
    expect_tini_wrapper("/goinject-agent/tini/musl/tini", "/app",
                        "[\"--serve\", \"--port\", \"8080\"]");
    expect_no_warnings();
}
END_TEST

START_TEST(cloud_native_tini_path_follows_the_configured_mount_and_paths)
{
    char err[256];
    const char *text = "{\"agent\": {\"mountPath\": \"/apm\"},"
                       " \"tini\": {\"glibc\": \"bin/tini-g\", \"musl\": \"bin/tini-m\"}}";
    config_free(cfg);
    cfg = config_parse(text, strlen(text), err, sizeof(err));
    ck_assert_msg(cfg != NULL, "%s", err);
    set_shell(NULL);
    facts.libc = LIBC_MUSL;
    plan_as(MODE_CLOUD_NATIVE, false);
    expect_tini_wrapper("/apm/bin/tini-m", "/app", "[\"--serve\", \"--port\", \"8080\"]");
    facts.libc = LIBC_UNKNOWN;
    plan_as(MODE_CLOUD_NATIVE, false);
    expect_tini_wrapper("/apm/bin/tini-g", "/app", "[\"--serve\", \"--port\", \"8080\"]");
}
END_TEST

START_TEST(cloud_native_static_go_shell_none_single_element_e_omits_args)
{
    set_container("{\"name\": \"app\", \"command\": [\"/app\"], \"args\": []}");
    set_shell(NULL);
    plan_as(MODE_CLOUD_NATIVE, false);
    expect_plan(ACTION_TINI_WRAPPER, true, true);
    expect_tini_wrapper("/goinject-agent/tini/glibc/tini", "/app", NULL);
}
END_TEST

/* ---- static Go, shell unknown ------------------------------------------ */

START_TEST(classic_static_go_shell_unknown_gets_ptrace_whatever_the_policy)
{
    static const enum unknown_shell_policy policies[] = {UNKNOWN_SHELL_TINI, UNKNOWN_SHELL_SHELL,
                                                         UNKNOWN_SHELL_SKIP};
    for (size_t i = 0; i < 3; i++) {
        cfg->unknown_shell = policies[i];
        plan_as(MODE_CLASSIC, false);
        expect_plan(ACTION_PTRACE, true, false);
        expect_entrypoint_kept();
    }
    expect_no_warnings();
}
END_TEST

START_TEST(cloud_native_static_go_shell_unknown_gets_tini_by_default)
{
    plan_as(MODE_CLOUD_NATIVE, false);
    expect_plan(ACTION_TINI_WRAPPER, true, true);
    expect_tini_wrapper("/goinject-agent/tini/glibc/tini", "/app",
                        "[\"--serve\", \"--port\", \"8080\"]");
    expect_no_warnings();
}
END_TEST

START_TEST(cloud_native_static_go_shell_unknown_libc_musl_gets_musl_tini)
{
    facts.libc = LIBC_MUSL;
    plan_as(MODE_CLOUD_NATIVE, false);
    expect_plan(ACTION_TINI_WRAPPER, true, true);
    expect_tini_wrapper("/goinject-agent/tini/musl/tini", "/app",
                        "[\"--serve\", \"--port\", \"8080\"]");
}
END_TEST

START_TEST(cloud_native_static_go_shell_unknown_policy_shell_uses_default_shell)
{
    char err[256];
    const char *text = "{\"shellUnknownWrapper\": \"shell\", \"defaultShell\": \"/busybox/sh\"}";
    config_free(cfg);
    cfg = config_parse(text, strlen(text), err, sizeof(err));
    ck_assert_msg(cfg != NULL, "%s", err);
    plan_as(MODE_CLOUD_NATIVE, false);
    expect_plan(ACTION_SHELL_WRAPPER, true, true);
    expect_shell_wrapper("/busybox/sh", "/app", "[\"--serve\", \"--port\", \"8080\"]");
    expect_no_warnings();
}
END_TEST

START_TEST(cloud_native_policy_shell_does_not_override_shell_none)
{
    cfg->unknown_shell = UNKNOWN_SHELL_SHELL;
    set_shell(NULL);
    plan_as(MODE_CLOUD_NATIVE, false);
    expect_plan(ACTION_TINI_WRAPPER, true, true);
    expect_tini_wrapper("/goinject-agent/tini/glibc/tini", "/app",
                        "[\"--serve\", \"--port\", \"8080\"]");
}
END_TEST

START_TEST(cloud_native_static_go_shell_unknown_policy_none_warns_and_keeps_the_entrypoint)
{
    cfg->unknown_shell = UNKNOWN_SHELL_SKIP;
    plan_as(MODE_CLOUD_NATIVE, false);
    expect_plan(ACTION_PTRACE_AGENT, true, true);
    expect_entrypoint_kept();
    expect_one_warning("annotate shell.goinject.io/app");
}
END_TEST

START_TEST(cloud_native_policy_none_does_not_affect_a_known_shell)
{
    cfg->unknown_shell = UNKNOWN_SHELL_SKIP;
    set_shell("/bin/sh");
    plan_as(MODE_CLOUD_NATIVE, false);
    expect_plan(ACTION_SHELL_WRAPPER, true, true);
    set_shell(NULL);
    plan_as(MODE_CLOUD_NATIVE, false);
    expect_plan(ACTION_TINI_WRAPPER, true, true);
    expect_no_warnings();
}
END_TEST

/* ---- static Go, E unknown ---------------------------------------------- */

START_TEST(classic_static_go_entrypoint_unknown_gets_ptrace)
{
    set_container("{\"name\": \"app\"}");
    facts.cmd = json_lit("[\"--serve\"]");
    plan_as(MODE_CLASSIC, false);
    expect_plan(ACTION_PTRACE, true, false);
    expect_entrypoint_kept();
    expect_no_warnings();
}
END_TEST

START_TEST(cloud_native_static_go_entrypoint_unknown_warns_ptrace_and_agent)
{
    set_container("{\"name\": \"app\", \"args\": [\"--serve\"]}");
    set_shell("/bin/sh");
    plan_as(MODE_CLOUD_NATIVE, false);
    expect_plan(ACTION_PTRACE_AGENT, true, true);
    expect_entrypoint_kept();
    expect_one_warning("ENTRYPOINT");
    ck_assert_ptr_nonnull(strstr(warnings.items[0], "entrypoint.goinject.io/app"));
}
END_TEST

START_TEST(classic_static_go_cmd_unknown_gets_ptrace)
{
    set_container("{\"name\": \"app\"}");
    facts.entrypoint = json_lit("[\"/app\"]");
    plan_as(MODE_CLASSIC, false);
    expect_plan(ACTION_PTRACE, true, false);
    expect_no_warnings();
}
END_TEST

START_TEST(cloud_native_static_go_cmd_unknown_when_args_unset_warns_ptrace_and_agent)
{
    set_container("{\"name\": \"app\"}");
    facts.entrypoint = json_lit("[\"/app\"]");
    set_shell(NULL);
    plan_as(MODE_CLOUD_NATIVE, false);
    expect_plan(ACTION_PTRACE_AGENT, true, true);
    expect_entrypoint_kept();
    expect_one_warning("CMD");
    ck_assert_ptr_nonnull(strstr(warnings.items[0], "cmd.goinject.io/app"));
}
END_TEST

START_TEST(cloud_native_static_go_cmd_unknown_with_empty_args_warns)
{
    set_container("{\"name\": \"app\", \"args\": []}");
    facts.entrypoint = json_lit("[\"/app\"]");
    plan_as(MODE_CLOUD_NATIVE, false);
    expect_plan(ACTION_PTRACE_AGENT, true, true);
    expect_one_warning("CMD");
}
END_TEST

START_TEST(cloud_native_static_go_cmd_unknown_does_not_matter_when_args_set)
{
    set_container("{\"name\": \"app\", \"args\": [\"--serve\"]}");
    facts.entrypoint = json_lit("[\"/app\"]");
    set_shell("/bin/sh");
    plan_as(MODE_CLOUD_NATIVE, false);
    expect_plan(ACTION_SHELL_WRAPPER, true, true);
    expect_shell_wrapper("/bin/sh", "/app", "[\"--serve\"]");
    expect_no_warnings();
}
END_TEST

START_TEST(cloud_native_known_cmd_is_ignored_when_command_is_set)
{
    set_container("{\"name\": \"app\", \"command\": [\"/app\", \"run\"]}");
    facts.cmd = json_lit("[\"--from-image-cmd\"]");
    set_shell(NULL);
    plan_as(MODE_CLOUD_NATIVE, false);
    expect_plan(ACTION_TINI_WRAPPER, true, true);
    expect_tini_wrapper("/goinject-agent/tini/glibc/tini", "/app", "[\"run\"]");
    ck_assert_json_eq(plan.argv, "[\"/app\", \"run\"]");
    expect_no_warnings();
}
END_TEST

START_TEST(cloud_native_unknown_image_facts_do_not_matter_when_command_is_set)
{
    /* No entrypoint, no cmd: the pod's command alone decides E. */
    set_shell("/bin/sh");
    plan_as(MODE_CLOUD_NATIVE, false);
    expect_plan(ACTION_SHELL_WRAPPER, true, true);
    expect_no_warnings();
}
END_TEST

START_TEST(cloud_native_static_go_empty_e_warns_ptrace_and_agent)
{
    set_container("{\"name\": \"app\"}");
    facts.entrypoint = json_lit("[]");
    facts.cmd = json_lit("[]");
    plan_as(MODE_CLOUD_NATIVE, false);
    expect_plan(ACTION_PTRACE_AGENT, true, true);
    expect_entrypoint_kept();
    expect_one_warning("set command in the pod");
}
END_TEST

/* ---- Pod Security ------------------------------------------------------ */

START_TEST(classic_static_go_pod_security_enforced_warns)
{
    set_shell("/bin/sh");
    plan_as(MODE_CLASSIC, true);
    expect_plan(ACTION_POD_SECURITY, false, false);
    expect_entrypoint_kept();
    expect_one_warning("SYS_PTRACE");
    ck_assert_ptr_nonnull(strstr(warnings.items[0], "pod-security.kubernetes.io/enforce"));
}
END_TEST

START_TEST(cloud_native_static_go_pod_security_enforced_warns)
{
    set_shell(NULL);
    plan_as(MODE_CLOUD_NATIVE, true);
    expect_plan(ACTION_POD_SECURITY, false, false);
    expect_entrypoint_kept();
    expect_one_warning("SYS_PTRACE");
    ck_assert_ptr_nonnull(strstr(warnings.items[0], "Label the namespace"));
}
END_TEST

START_TEST(classic_unsupported_beats_pod_security)
{
    facts.cgo = FACT_TRUE;
    plan_as(MODE_CLASSIC, true);
    expect_plan(ACTION_UNSUPPORTED, false, false);
    expect_one_warning("cgo");
}
END_TEST

START_TEST(cloud_native_unsupported_beats_pod_security)
{
    facts.libc = LIBC_NONE;
    plan_as(MODE_CLOUD_NATIVE, true);
    expect_plan(ACTION_UNSUPPORTED, false, false);
    expect_one_warning("libc none");
}
END_TEST

/* ---- hostPID pods ------------------------------------------------------ */

START_TEST(classic_static_go_host_pid_gets_no_ptrace_and_a_warning)
{
    host_pid = true;
    set_shell("/bin/sh");
    plan_as(MODE_CLASSIC, false);
    expect_plan(ACTION_HOST_PID, false, false);
    expect_entrypoint_kept();
    expect_one_warning("set ptraceWithHostPID in goinject's configuration to allow it");
    ck_assert_ptr_nonnull(strstr(warnings.items[0], "trace the node's processes"));
}
END_TEST

START_TEST(cloud_native_static_go_host_pid_is_neither_wrapped_nor_given_the_agent)
{
    host_pid = true;
    set_shell(NULL);
    plan_as(MODE_CLOUD_NATIVE, false);
    expect_plan(ACTION_HOST_PID, false, false);
    expect_entrypoint_kept();
    expect_one_warning("set ptraceWithHostPID in goinject's configuration to allow it");
}
END_TEST

START_TEST(cloud_native_static_go_host_pid_with_the_switch_is_wrapped_with_ptrace)
{
    host_pid = true;
    cfg->ptrace_with_host_pid = true;
    set_shell("/bin/sh");
    plan_as(MODE_CLOUD_NATIVE, false);
    expect_plan(ACTION_SHELL_WRAPPER, true, true);
    ck_assert_uint_eq(warnings.count, 0);
}
END_TEST

START_TEST(classic_static_go_host_pid_with_the_switch_gets_ptrace)
{
    host_pid = true;
    cfg->ptrace_with_host_pid = true;
    plan_as(MODE_CLASSIC, false);
    expect_plan(ACTION_PTRACE, true, false);
    ck_assert_uint_eq(warnings.count, 0);
}
END_TEST

START_TEST(host_pid_container_that_may_trace_already_is_handled_as_usual)
{
    static const char *const granted[] = {
        "{\"name\": \"app\", \"command\": [\"/app\"], \"securityContext\": {\"privileged\": true}}",
        "{\"name\": \"app\", \"command\": [\"/app\"],"
        " \"securityContext\": {\"capabilities\": {\"add\": [\"SYS_PTRACE\"]}}}",
        "{\"name\": \"app\", \"command\": [\"/app\"],"
        " \"securityContext\": {\"capabilities\": {\"add\": [\"ALL\"]}}}",
    };
    host_pid = true;
    set_shell("/bin/sh");
    for (size_t i = 0; i < sizeof(granted) / sizeof(granted[0]); i++) {
        set_container(granted[i]);
        plan_as(MODE_CLOUD_NATIVE, false);
        expect_plan(ACTION_SHELL_WRAPPER, true, true);
        ck_assert_uint_eq(warnings.count, 0);
    }
}
END_TEST

START_TEST(host_pid_cap_prefixed_ptrace_does_not_count)
{
    host_pid = true;
    set_container("{\"name\": \"app\", \"command\": [\"/app\"],"
                  " \"securityContext\": {\"capabilities\": {\"add\": [\"CAP_SYS_PTRACE\"]}}}");
    plan_as(MODE_CLASSIC, false);
    expect_plan(ACTION_HOST_PID, false, false);
}
END_TEST

START_TEST(host_pid_not_static_go_is_unchanged)
{
    host_pid = true;
    facts.static_go = FACT_FALSE;
    plan_as(MODE_CLOUD_NATIVE, false);
    expect_plan(ACTION_AGENT, false, true);
    plan_as(MODE_CLASSIC, false);
    expect_plan(ACTION_NONE, false, false);
    ck_assert_uint_eq(warnings.count, 0);
}
END_TEST

START_TEST(host_pid_unsupported_and_pod_security_come_first)
{
    host_pid = true;
    plan_as(MODE_CLOUD_NATIVE, true);
    expect_plan(ACTION_POD_SECURITY, false, false);
    expect_one_warning("Label the namespace");
    warnings_free(&warnings);
    facts.cgo = FACT_TRUE;
    plan_as(MODE_CLOUD_NATIVE, false);
    expect_plan(ACTION_UNSUPPORTED, false, false);
    expect_one_warning("cgo");
}
END_TEST

/* ---- every warning per the contract ------------------------------------ */

struct warning_case {
    enum inject_mode mode;
    enum fact_bool cgo;
    enum libc_fact libc;
    enum unknown_shell_policy policy;
    bool pod_security;
    bool host_pid;
    const char *container; /* the container's command/args, as JSON members */
    const char *entrypoint;
    const char *cmd;
    const char *advice; /* what the warning tells the user to do, whatever the name's length */
    const char *key;    /* an annotation to set, followed by the container's name, or NULL */
};

static const struct warning_case warning_cases[] = {
    {MODE_CLOUD_NATIVE, FACT_TRUE, LIBC_UNKNOWN, UNKNOWN_SHELL_TINI, false, false, "", NULL, NULL,
     "link libc dynamically (go build -ldflags=-linkmode=external, without -static)", NULL},
    {MODE_CLASSIC, FACT_TRUE, LIBC_UNKNOWN, UNKNOWN_SHELL_TINI, false, false, "", NULL, NULL,
     "link libc dynamically (go build -ldflags=-linkmode=external, without -static)", NULL},
    {MODE_CLOUD_NATIVE, FACT_FALSE, LIBC_NONE, UNKNOWN_SHELL_TINI, false, false, "", NULL, NULL,
     "use a base image with glibc or musl", NULL},
    {MODE_CLASSIC, FACT_UNKNOWN, LIBC_NONE, UNKNOWN_SHELL_TINI, false, false, "", NULL, NULL,
     "use a base image with glibc or musl", NULL},
    {MODE_CLOUD_NATIVE, FACT_UNKNOWN, LIBC_UNKNOWN, UNKNOWN_SHELL_TINI, true, false, "", NULL, NULL,
     "Label the namespace pod-security.kubernetes.io/enforce=privileged", NULL},
    {MODE_CLASSIC, FACT_UNKNOWN, LIBC_UNKNOWN, UNKNOWN_SHELL_TINI, true, false, "", NULL, NULL,
     "Label the namespace pod-security.kubernetes.io/enforce=privileged", NULL},
    {MODE_CLOUD_NATIVE, FACT_UNKNOWN, LIBC_UNKNOWN, UNKNOWN_SHELL_TINI, false, false, "", NULL,
     "[]", "set command/args or annotate entrypoint.goinject.io/", "entrypoint.goinject.io/"},
    {MODE_CLOUD_NATIVE, FACT_UNKNOWN, LIBC_UNKNOWN, UNKNOWN_SHELL_TINI, false, false, "",
     "[\"/app\"]", NULL, "set command/args or annotate cmd.goinject.io/", "cmd.goinject.io/"},
    {MODE_CLOUD_NATIVE, FACT_UNKNOWN, LIBC_UNKNOWN, UNKNOWN_SHELL_TINI, false, false, "", "[]",
     "[]", "set command in the pod", NULL},
    {MODE_CLOUD_NATIVE, FACT_UNKNOWN, LIBC_UNKNOWN, UNKNOWN_SHELL_SKIP, false, false,
     ", \"command\": [\"/app\"]", NULL, NULL, "annotate shell.goinject.io/", "shell.goinject.io/"},
    {MODE_CLOUD_NATIVE, FACT_UNKNOWN, LIBC_UNKNOWN, UNKNOWN_SHELL_TINI, false, true, "", NULL, NULL,
     "set ptraceWithHostPID in goinject's configuration to allow it", NULL},
    {MODE_CLASSIC, FACT_UNKNOWN, LIBC_UNKNOWN, UNKNOWN_SHELL_TINI, false, true, "", NULL, NULL,
     "set ptraceWithHostPID in goinject's configuration to allow it", NULL},
};

#define WARNING_CASES (sizeof(warning_cases) / sizeof(warning_cases[0]))

/* Loop index: case * 3 + name variant (short, the longest legal name, hostile). */
START_TEST(every_rules_warning_follows_the_contract)
{
    const struct warning_case *c = &warning_cases[_i / 3];
    char name[128];
    if (_i % 3 == 0)
        snprintf(name, sizeof(name), "app");
    else if (_i % 3 == 1)
        snprintf(name, sizeof(name), "%s",
                 "a23456789-123456789-123456789-123456789-123456789-1234567890123");
    else
        snprintf(name, sizeof(name), "caf\xc3\xa9\n\"x\"");
    char text[512];
    snprintf(text, sizeof(text), "{\"name\": \"c\"%s}", c->container);
    set_container(text);
    facts.cgo = c->cgo;
    facts.libc = c->libc;
    facts.entrypoint = c->entrypoint ? json_lit(c->entrypoint) : NULL;
    facts.cmd = c->cmd ? json_lit(c->cmd) : NULL;
    cfg->mode = c->mode;
    cfg->unknown_shell = c->policy;
    const struct pod_traits traits = {c->pod_security, c->host_pid};
    rules_plan(cfg, name, container, &facts, &traits, &plan, &warnings);
    ck_assert_uint_eq(warnings.count, 1);
    const char *w = warnings.items[0];
    ck_assert_msg(strncmp(w, "goinject: ", 10) == 0, "no prefix: %s", w);
    ck_assert_uint_le(strlen(w), WARNING_MAX_LEN);
    for (const char *p = w; *p; p++)
        ck_assert_msg(*p >= 0x20 && *p <= 0x7e, "not printable ASCII: %s", w);
    if (_i % 3 == 2)
        return; /* the hostile name only has to come out safe */
    expect_good_warning(w, name);
    ck_assert_msg(strstr(w, c->advice) != NULL, "warning for a %zu-character name lost \"%s\": %s",
                  strlen(name), c->advice, w);
    if (c->key) {
        /* The annotation key to set, whole, even for the longest legal name. */
        char key[256];
        snprintf(key, sizeof(key), "%s%s", c->key, name);
        ck_assert_msg(strstr(w, key) != NULL, "warning lacks \"%s\": %s", key, w);
    }
}
END_TEST

/* ---- the agent env set, by libc ----------------------------------------- */

static const char libc_env_config[] =
    "{\"agent\": {\"env\": {\"any\": [{\"name\": \"TENANT\", \"value\": \"t\"}],"
    " \"glibc\": [{\"name\": \"LD_PRELOAD\", \"value\": \"/a/glibc.so\"}],"
    " \"musl\": [{\"name\": \"LD_PRELOAD\", \"value\": \"/a/musl.so\"}]}}}";

static void use_config(const char *text)
{
    char err[256];
    config_free(cfg);
    cfg = config_parse(text, strlen(text), err, sizeof(err));
    ck_assert_msg(cfg != NULL, "%s", err);
}

/* Whatever the container's other facts, its env set follows its libc alone. */
static void expect_env_set(enum libc_fact libc, enum agent_env_set want)
{
    facts.libc = libc;
    enum agent_env_set got = rules_agent_env(cfg, "app", &facts, &warnings);
    ck_assert_msg(got == want, "libc %s: env set %s, want %s", libc_fact_name(libc),
                  agent_env_set_name(got), agent_env_set_name(want));
}

START_TEST(agent_env_glibc_container_gets_the_glibc_set)
{
    use_config(libc_env_config);
    expect_env_set(LIBC_GLIBC, AGENT_ENV_GLIBC);
    expect_no_warnings();
}
END_TEST

START_TEST(agent_env_musl_container_gets_the_musl_set)
{
    use_config(libc_env_config);
    facts.static_go = FACT_FALSE;
    expect_env_set(LIBC_MUSL, AGENT_ENV_MUSL);
    expect_no_warnings();
}
END_TEST

START_TEST(agent_env_unknown_libc_gets_only_any_and_a_warning)
{
    use_config(libc_env_config);
    expect_env_set(LIBC_UNKNOWN, AGENT_ENV_ANY);
    expect_one_warning("libc unknown, so only agent.env.any was set; annotate "
                       "libc.goinject.io/app with glibc or musl");
}
END_TEST

/* One libc-specific set is enough for the warning: it names what was not set. */
START_TEST(agent_env_unknown_libc_warns_with_one_libc_set)
{
    use_config("{\"agent\": {\"env\": {\"musl\": [{\"name\": \"LD_PRELOAD\"}]}}}");
    expect_env_set(LIBC_UNKNOWN, AGENT_ENV_ANY);
    expect_one_warning("libc.goinject.io/app");
}
END_TEST

/* Nothing was left out: the configuration has no libc-specific set. */
START_TEST(agent_env_unknown_libc_without_libc_sets_gives_no_warning)
{
    expect_env_set(LIBC_UNKNOWN, AGENT_ENV_ANY);
    use_config("{\"agent\": {\"env\": [{\"name\": \"LD_PRELOAD\", \"value\": \"/a.so\"}]}}");
    expect_env_set(LIBC_UNKNOWN, AGENT_ENV_ANY);
    expect_no_warnings();
}
END_TEST

/* No C library: no loader would read LD_PRELOAD, so no set applies, and that is known. */
START_TEST(agent_env_libc_none_gets_only_any_without_a_warning)
{
    use_config(libc_env_config);
    facts.static_go = FACT_FALSE;
    expect_env_set(LIBC_NONE, AGENT_ENV_ANY);
    expect_no_warnings();
}
END_TEST

/* The annotation key is whole for the longest legal name and any prefix; a hostile name is safe. */
START_TEST(agent_env_warning_follows_the_contract)
{
    use_config("{\"annotationPrefix\": \"apm.example.com\", \"agent\": {\"env\":"
               " {\"glibc\": [{\"name\": \"LD_PRELOAD\"}]}}}");
    static const char longest[] = "a23456789-123456789-123456789-123456789-123456789-1234567890123";
    facts.libc = LIBC_UNKNOWN;
    rules_agent_env(cfg, longest, &facts, &warnings);
    ck_assert_uint_eq(warnings.count, 1);
    expect_good_warning(warnings.items[0], longest);
    char key[128];
    snprintf(key, sizeof(key), "libc.apm.example.com/%s with glibc or musl", longest);
    ck_assert_msg(strstr(warnings.items[0], key) != NULL, "warning lacks \"%s\": %s", key,
                  warnings.items[0]);
    rules_agent_env(cfg, "caf\xc3\xa9\n\"x\"", &facts, &warnings);
    ck_assert_uint_eq(warnings.count, 2);
    for (const char *p = warnings.items[1]; *p; p++)
        ck_assert_msg(*p >= 0x20 && *p <= 0x7e, "not printable ASCII: %s", warnings.items[1]);
}
END_TEST

/* rules_plan leaves the set to rules_agent_env, which runs once clashes are known. */
START_TEST(agent_env_set_is_not_chosen_by_the_plan)
{
    use_config(libc_env_config);
    facts.static_go = FACT_FALSE;
    facts.libc = LIBC_MUSL;
    plan_as(MODE_CLOUD_NATIVE, false);
    expect_plan(ACTION_AGENT, false, true);
    ck_assert_int_eq(plan.env_set, AGENT_ENV_ANY);
    expect_no_warnings();
}
END_TEST

/* ---- actions ----------------------------------------------------------- */

START_TEST(action_names_round_trip)
{
    for (int i = 0; i < ACTION_COUNT; i++) {
        enum container_action parsed = ACTION_COUNT;
        ck_assert_int_eq(action_parse(action_name((enum container_action)i), &parsed), 0);
        ck_assert_int_eq(parsed, i);
    }
    enum container_action parsed = ACTION_NONE;
    ck_assert_int_eq(action_parse("wrapped", &parsed), -1);
    ck_assert_int_eq(action_parse("", &parsed), -1);
    ck_assert_str_eq(action_name(ACTION_COUNT), "invalid");
    ck_assert_str_eq(action_name(ACTION_SHELL_WRAPPER), "shell-wrapper");
    ck_assert_str_eq(action_name(ACTION_TINI_WRAPPER), "tini-wrapper");
    ck_assert_str_eq(action_name(ACTION_POD_SECURITY), "pod-security");
    ck_assert_str_eq(action_name(ACTION_HOST_PID), "host-pid");
}
END_TEST

START_TEST(actions_that_inject)
{
    ck_assert(!action_injects(ACTION_NONE));
    ck_assert(action_injects(ACTION_AGENT));
    ck_assert(!action_injects(ACTION_UNSUPPORTED));
    ck_assert(action_injects(ACTION_PTRACE));
    ck_assert(action_injects(ACTION_PTRACE_AGENT));
    ck_assert(action_injects(ACTION_SHELL_WRAPPER));
    ck_assert(action_injects(ACTION_TINI_WRAPPER));
    ck_assert(!action_injects(ACTION_POD_SECURITY));
    ck_assert(!action_injects(ACTION_OPTED_OUT));
    ck_assert(!action_injects(ACTION_HOST_PID));
}
END_TEST

START_TEST(plan_clear_resets_the_plan)
{
    set_shell("/bin/sh");
    plan_as(MODE_CLOUD_NATIVE, false);
    ck_assert_ptr_nonnull(plan.command);
    plan_clear(&plan);
    ck_assert_ptr_null(plan.command);
    ck_assert_ptr_null(plan.args);
    ck_assert_ptr_null(plan.argv);
    ck_assert_int_eq(plan.action, ACTION_NONE);
    ck_assert(!plan.add_ptrace);
    ck_assert(!plan.add_agent);
}
END_TEST

START_TEST(planning_does_not_modify_the_container)
{
    set_shell("/bin/sh");
    char *before = json_dumps(container, JSON_COMPACT | JSON_SORT_KEYS);
    plan_as(MODE_CLOUD_NATIVE, false);
    char *after = json_dumps(container, JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_str_eq(after, before);
    free(before);
    free(after);
}
END_TEST

static Suite *rules_suite(void)
{
    Suite *s = suite_create("rules");

    TCase *not_go = tcase_create("not static Go");
    tcase_add_checked_fixture(not_go, setup, teardown);
    tcase_add_test(not_go, classic_not_static_go_false_does_nothing);
    tcase_add_test(not_go, classic_not_static_go_unknown_does_nothing);
    tcase_add_test(not_go, cloud_native_not_static_go_false_gets_agent_mount);
    tcase_add_test(not_go, cloud_native_not_static_go_unknown_gets_agent_mount);
    tcase_add_test(not_go, classic_not_static_go_ignores_the_other_facts);
    tcase_add_test(not_go, cloud_native_not_static_go_ignores_the_other_facts);
    suite_add_tcase(s, not_go);

    TCase *unsupported = tcase_create("unsupported");
    tcase_add_checked_fixture(unsupported, setup, teardown);
    tcase_add_test(unsupported, classic_static_go_cgo_is_unsupported_with_a_warning);
    tcase_add_test(unsupported, cloud_native_static_go_cgo_is_unsupported_with_a_warning);
    tcase_add_test(unsupported, classic_static_go_libc_none_is_unsupported_with_a_warning);
    tcase_add_test(unsupported, cloud_native_static_go_libc_none_is_unsupported_with_a_warning);
    tcase_add_test(unsupported, classic_static_go_cgo_false_is_supported);
    tcase_add_test(unsupported, cloud_native_static_go_cgo_false_is_supported);
    suite_add_tcase(s, unsupported);

    TCase *parent = tcase_create("already a shell or init");
    tcase_add_checked_fixture(parent, setup, teardown);
    tcase_add_loop_test(parent, classic_static_go_under_a_shell_or_init_gets_ptrace, 0,
                        sizeof(parent_names) / sizeof(parent_names[0]));
    tcase_add_loop_test(parent, cloud_native_static_go_under_a_shell_or_init_gets_ptrace_and_agent,
                        0, sizeof(parent_names) / sizeof(parent_names[0]));
    tcase_add_test(parent, cloud_native_static_go_under_an_init_from_the_image_entrypoint);
    suite_add_tcase(s, parent);

    TCase *shell = tcase_create("shell known");
    tcase_add_checked_fixture(shell, setup, teardown);
    tcase_add_test(shell, classic_static_go_shell_known_gets_ptrace_and_keeps_the_entrypoint);
    tcase_add_test(shell, cloud_native_static_go_shell_known_gets_shell_wrapper);
    tcase_add_test(shell, cloud_native_static_go_shell_known_uses_the_annotated_shell);
    tcase_add_test(shell, cloud_native_static_go_shell_known_single_element_e_omits_args);
    tcase_add_test(shell, cloud_native_static_go_shell_known_wraps_image_entrypoint_and_cmd);
    suite_add_tcase(s, shell);

    TCase *none = tcase_create("shell none");
    tcase_add_checked_fixture(none, setup, teardown);
    tcase_add_test(none, classic_static_go_shell_none_gets_ptrace_and_keeps_the_entrypoint);
    tcase_add_test(none, cloud_native_static_go_shell_none_gets_tini_wrapper_with_glibc_path);
    tcase_add_test(none, cloud_native_static_go_shell_none_libc_glibc_gets_glibc_tini);
    tcase_add_test(none, classic_static_go_shell_none_libc_musl_gets_ptrace);
    tcase_add_test(none, cloud_native_static_go_shell_none_libc_musl_gets_musl_tini);
    tcase_add_test(none, cloud_native_tini_path_follows_the_configured_mount_and_paths);
    tcase_add_test(none, cloud_native_static_go_shell_none_single_element_e_omits_args);
    suite_add_tcase(s, none);

    TCase *unknown = tcase_create("shell unknown");
    tcase_add_checked_fixture(unknown, setup, teardown);
    tcase_add_test(unknown, classic_static_go_shell_unknown_gets_ptrace_whatever_the_policy);
    tcase_add_test(unknown, cloud_native_static_go_shell_unknown_gets_tini_by_default);
    tcase_add_test(unknown, cloud_native_static_go_shell_unknown_libc_musl_gets_musl_tini);
    tcase_add_test(unknown, cloud_native_static_go_shell_unknown_policy_shell_uses_default_shell);
    tcase_add_test(unknown, cloud_native_policy_shell_does_not_override_shell_none);
    tcase_add_test(unknown,
                   cloud_native_static_go_shell_unknown_policy_none_warns_and_keeps_the_entrypoint);
    tcase_add_test(unknown, cloud_native_policy_none_does_not_affect_a_known_shell);
    suite_add_tcase(s, unknown);

    TCase *e = tcase_create("E unknown");
    tcase_add_checked_fixture(e, setup, teardown);
    tcase_add_test(e, classic_static_go_entrypoint_unknown_gets_ptrace);
    tcase_add_test(e, cloud_native_static_go_entrypoint_unknown_warns_ptrace_and_agent);
    tcase_add_test(e, classic_static_go_cmd_unknown_gets_ptrace);
    tcase_add_test(e, cloud_native_static_go_cmd_unknown_when_args_unset_warns_ptrace_and_agent);
    tcase_add_test(e, cloud_native_static_go_cmd_unknown_with_empty_args_warns);
    tcase_add_test(e, cloud_native_static_go_cmd_unknown_does_not_matter_when_args_set);
    tcase_add_test(e, cloud_native_known_cmd_is_ignored_when_command_is_set);
    tcase_add_test(e, cloud_native_unknown_image_facts_do_not_matter_when_command_is_set);
    tcase_add_test(e, cloud_native_static_go_empty_e_warns_ptrace_and_agent);
    suite_add_tcase(s, e);

    TCase *hp = tcase_create("hostPID");
    tcase_add_checked_fixture(hp, setup, teardown);
    tcase_add_test(hp, classic_static_go_host_pid_gets_no_ptrace_and_a_warning);
    tcase_add_test(hp, cloud_native_static_go_host_pid_is_neither_wrapped_nor_given_the_agent);
    tcase_add_test(hp, cloud_native_static_go_host_pid_with_the_switch_is_wrapped_with_ptrace);
    tcase_add_test(hp, classic_static_go_host_pid_with_the_switch_gets_ptrace);
    tcase_add_test(hp, host_pid_container_that_may_trace_already_is_handled_as_usual);
    tcase_add_test(hp, host_pid_cap_prefixed_ptrace_does_not_count);
    tcase_add_test(hp, host_pid_not_static_go_is_unchanged);
    tcase_add_test(hp, host_pid_unsupported_and_pod_security_come_first);
    suite_add_tcase(s, hp);

    TCase *ps = tcase_create("pod security");
    tcase_add_checked_fixture(ps, setup, teardown);
    tcase_add_test(ps, classic_static_go_pod_security_enforced_warns);
    tcase_add_test(ps, cloud_native_static_go_pod_security_enforced_warns);
    tcase_add_test(ps, classic_unsupported_beats_pod_security);
    tcase_add_test(ps, cloud_native_unsupported_beats_pod_security);
    suite_add_tcase(s, ps);

    TCase *warn = tcase_create("warnings");
    tcase_add_checked_fixture(warn, setup, teardown);
    tcase_add_loop_test(warn, every_rules_warning_follows_the_contract, 0, WARNING_CASES * 3);
    suite_add_tcase(s, warn);

    TCase *env = tcase_create("agent env by libc");
    tcase_add_checked_fixture(env, setup, teardown);
    tcase_add_test(env, agent_env_glibc_container_gets_the_glibc_set);
    tcase_add_test(env, agent_env_musl_container_gets_the_musl_set);
    tcase_add_test(env, agent_env_unknown_libc_gets_only_any_and_a_warning);
    tcase_add_test(env, agent_env_unknown_libc_warns_with_one_libc_set);
    tcase_add_test(env, agent_env_unknown_libc_without_libc_sets_gives_no_warning);
    tcase_add_test(env, agent_env_libc_none_gets_only_any_without_a_warning);
    tcase_add_test(env, agent_env_warning_follows_the_contract);
    tcase_add_test(env, agent_env_set_is_not_chosen_by_the_plan);
    suite_add_tcase(s, env);

    TCase *actions = tcase_create("actions");
    tcase_add_checked_fixture(actions, setup, teardown);
    tcase_add_test(actions, action_names_round_trip);
    tcase_add_test(actions, actions_that_inject);
    tcase_add_test(actions, plan_clear_resets_the_plan);
    tcase_add_test(actions, planning_does_not_modify_the_container);
    suite_add_tcase(s, actions);

    return s;
}

int main(void)
{
    return run_suite(rules_suite());
}
