/* test_config.c - configuration defaults, the JSON file and its validation. */
#include <stdio.h>
#include <unistd.h>

#include "config.h"
#include "testutil.h"

/* ---- helpers ----------------------------------------------------------- */

/* Every field set, each to something other than its default. */
static const char full_config[] =
    "{\"mode\": \"classic\","
    " \"annotationPrefix\": \"apm.example.com\","
    " \"injectByDefault\": false,"
    " \"excludedNamespaces\": [\"ops\", \"monitoring\"],"
    " \"podSecurityEnforcedNamespaces\": [\"prod\"],"
    " \"podSecurityDefault\": \"restricted\","
    " \"podSecurityExemptNamespaces\": [\"legacy\", \"tools\"],"
    " \"ptraceWithHostPID\": true,"
    " \"agent\": {"
    "   \"image\": \"registry.example.com/apm/agent:2.3\","
    "   \"imagePullPolicy\": \"Always\","
    "   \"command\": [\"/bin/cp-agent\", \"--verbose\"],"
    "   \"sourcePath\": \"/opt/apm\","
    "   \"mountPath\": \"/apm\","
    "   \"resources\": {\"requests\": {\"cpu\": \"20m\", \"memory\": \"32Mi\"},"
    "                 \"limits\": {\"cpu\": \"1\", \"memory\": \"128Mi\"}},"
    "   \"env\": {\"any\": [{\"name\": \"APM_TENANT\", \"value\": \"t1\"},"
    "                     {\"name\": \"APM_TOKEN\", \"valueFrom\": {\"secretKeyRef\":"
    "                         {\"name\": \"apm\", \"key\": \"token\"}}}],"
    "             \"glibc\": [{\"name\": \"LD_PRELOAD\", \"value\": \"/apm/glibc/agent.so\"}],"
    "             \"musl\": [{\"name\": \"LD_PRELOAD\", \"value\": \"/apm/musl/agent.so\"}]},"
    "   \"initContainerName\": \"apm-agent\","
    "   \"volumeName\": \"apm-volume\","
    "   \"runAsUser\": 1000},"
    " \"tini\": {\"glibc\": \"bin/tini-glibc\", \"musl\": \"bin/tini-musl\"},"
    " \"shellUnknownWrapper\": \"shell\","
    " \"defaultShell\": \"/bin/bash\","
    " \"catalog\": [{\"match\": {\"image\": \"registry.example.com/api:1.0\"},"
    "               \"facts\": {\"staticGo\": true, \"shell\": \"none\"}}],"
    " \"registry\": {\"enabled\": true, \"budgetMs\": 1500, \"platform\": \"linux/arm64/v8\","
    "   \"insecureHosts\": [\"localhost:5000\", \"[::1]:5000\"],"
    "   \"credentialsFile\": \"/etc/goinject/registry/.dockerconfigjson\","
    "   \"podPullSecrets\": true, \"mirrors\": {\"docker.io\": \"mirror.example.com:5000\"},"
    "   \"tagTTLSeconds\": 30}}";

static struct goinject_config *parse_ok(const char *text)
{
    char err[512] = "";
    struct goinject_config *cfg = config_parse(text, text ? strlen(text) : 0, err, sizeof(err));
    ck_assert_msg(cfg != NULL, "config rejected: %s", err);
    return cfg;
}

/* The config must be refused with an error that starts with the field's name. */
static void expect_error(const char *text, const char *field)
{
    char err[512] = "";
    unsetenv("POD_NAMESPACE");
    struct goinject_config *cfg = config_parse(text, strlen(text), err, sizeof(err));
    ck_assert_msg(cfg == NULL, "config accepted, want an error about %s: %s", field, text);
    size_t n = strlen(field);
    ck_assert_msg(strncmp(err, field, n) == 0 && (err[n] == ':' || err[n] == '.'),
                  "error \"%s\" does not name %s", err, field);
    ck_assert_msg(strchr(err, '\n') == NULL, "error is not one line: %s", err);
}

/* Same, for a member of "agent" given as JSON text. */
static void expect_agent_error(const char *agent_member, const char *field)
{
    char text[1024];
    snprintf(text, sizeof(text), "{\"agent\": {%s}}", agent_member);
    expect_error(text, field);
}

static void expect_error_contains(const char *text, const char *needle)
{
    char err[512] = "";
    struct goinject_config *cfg = config_parse(text, strlen(text), err, sizeof(err));
    ck_assert_msg(cfg == NULL, "config accepted: %s", text);
    ck_assert_msg(strstr(err, needle) != NULL, "error \"%s\" does not contain \"%s\"", err, needle);
}

static char *to_text(const struct goinject_config *cfg)
{
    json_t *json = config_to_json(cfg);
    ck_assert_ptr_nonnull(json);
    char *text = json_dumps(json, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(json);
    ck_assert_ptr_nonnull(text);
    return text;
}

/* config_to_json's output, parsed again, gives the same JSON. */
static void expect_round_trip(const struct goinject_config *cfg)
{
    char *first = to_text(cfg);
    struct goinject_config *again = parse_ok(first);
    char *second = to_text(again);
    ck_assert_str_eq(second, first);
    free(first);
    free(second);
    config_free(again);
}

static char *temp_file(const char *content, size_t len)
{
    char *path = strdup("/tmp/goinject-test-config-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(content, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
    return path;
}

/* ---- defaults ---------------------------------------------------------- */

START_TEST(no_file_gives_every_default)
{
    unsetenv("POD_NAMESPACE");
    char err[256] = "";
    struct goinject_config *cfg = config_load(NULL, err, sizeof(err));
    ck_assert_msg(cfg != NULL, "%s", err);
    json_t *json = config_to_json(cfg);
    ck_assert_json_eq(json, "{\"mode\": \"cloud-native\","
                            " \"annotationPrefix\": \"goinject.io\","
                            " \"injectByDefault\": true,"
                            " \"excludedNamespaces\": [\"kube-system\", \"kube-public\","
                            "     \"kube-node-lease\", \"goinject-system\"],"
                            " \"podSecurityEnforcedNamespaces\": [],"
                            " \"podSecurityDefault\": \"privileged\","
                            " \"podSecurityExemptNamespaces\": [],"
                            " \"ptraceWithHostPID\": false,"
                            " \"agent\": {"
                            "   \"image\": \"goinject/goinject:" GOINJECT_VERSION "\","
                            "   \"imagePullPolicy\": \"IfNotPresent\","
                            "   \"command\": [\"/usr/local/bin/goinject\", \"copy-agent\"],"
                            "   \"sourcePath\": \"/opt/goinject/agent\","
                            "   \"mountPath\": \"/goinject-agent\","
                            "   \"resources\": {\"requests\": {\"cpu\": \"10m\", \"memory\": "
                            "\"16Mi\"},"
                            "                 \"limits\": {\"cpu\": \"500m\", \"memory\": "
                            "\"64Mi\"}},"
                            "   \"env\": {\"any\": [], \"glibc\": [], \"musl\": []},"
                            "   \"initContainerName\": \"goinject-agent\","
                            "   \"volumeName\": \"goinject-agent\","
                            "   \"runAsUser\": 65532},"
                            " \"tini\": {\"glibc\": \"tini/glibc/tini\", \"musl\": "
                            "\"tini/musl/tini\"},"
                            " \"shellUnknownWrapper\": \"tini\","
                            " \"defaultShell\": \"/bin/sh\","
                            " \"catalog\": [],"
                            " \"registry\": {\"enabled\": true, \"budgetMs\": 2000,"
                            "   \"platform\": \"linux/amd64\", \"insecureHosts\": [],"
                            "   \"podPullSecrets\": false, \"mirrors\": {},"
                            "   \"tagTTLSeconds\": 300}}");
    json_decref(json);
    config_free(cfg);
}
END_TEST

START_TEST(defaults_as_struct_fields)
{
    unsetenv("POD_NAMESPACE");
    struct goinject_config *cfg = parse_ok(NULL);
    ck_assert_int_eq(cfg->mode, MODE_CLOUD_NATIVE);
    ck_assert_str_eq(cfg->annotation_prefix, "goinject.io");
    ck_assert(cfg->inject_by_default);
    ck_assert_uint_eq(cfg->excluded_namespaces.count, 4);
    ck_assert_str_eq(cfg->excluded_namespaces.items[0], "kube-system");
    ck_assert_str_eq(cfg->excluded_namespaces.items[1], "kube-public");
    ck_assert_str_eq(cfg->excluded_namespaces.items[2], "kube-node-lease");
    ck_assert_str_eq(cfg->excluded_namespaces.items[3], "goinject-system");
    ck_assert_uint_eq(cfg->pod_security_namespaces.count, 0);
    ck_assert_int_eq(cfg->pod_security_default, POD_SECURITY_PRIVILEGED);
    ck_assert_uint_eq(cfg->pod_security_exempt.count, 0);
    ck_assert(!cfg->ptrace_with_host_pid);
    ck_assert_str_eq(cfg->agent.mount_path, "/goinject-agent");
    ck_assert_str_eq(cfg->agent.volume_name, "goinject-agent");
    ck_assert_str_eq(cfg->agent.init_container_name, "goinject-agent");
    ck_assert_int_eq(cfg->agent.run_as_user, 65532);
    ck_assert_str_eq(cfg->tini_glibc, "tini/glibc/tini");
    ck_assert_str_eq(cfg->tini_musl, "tini/musl/tini");
    ck_assert_int_eq(cfg->unknown_shell, UNKNOWN_SHELL_TINI);
    ck_assert_str_eq(cfg->default_shell, "/bin/sh");
    config_free(cfg);
}
END_TEST

START_TEST(default_excluded_namespaces_are_excluded)
{
    unsetenv("POD_NAMESPACE");
    struct goinject_config *cfg = config_new_default();
    ck_assert_ptr_nonnull(cfg);
    ck_assert(config_namespace_excluded(cfg, "kube-system"));
    ck_assert(config_namespace_excluded(cfg, "kube-public"));
    ck_assert(config_namespace_excluded(cfg, "kube-node-lease"));
    ck_assert(config_namespace_excluded(cfg, "goinject-system"));
    ck_assert(!config_namespace_excluded(cfg, "default"));
    ck_assert(!config_namespace_excluded(cfg, "kube"));
    ck_assert(!config_namespace_excluded(cfg, NULL));
    ck_assert(!config_namespace_enforces_pod_security(cfg, "default"));
    ck_assert(!config_namespace_enforces_pod_security(cfg, NULL));
    config_free(cfg);
}
END_TEST

START_TEST(empty_object_file_keeps_defaults)
{
    unsetenv("POD_NAMESPACE");
    struct goinject_config *defaults = parse_ok(NULL);
    struct goinject_config *empty = parse_ok("{}");
    char *a = to_text(defaults);
    char *b = to_text(empty);
    ck_assert_str_eq(a, b);
    free(a);
    free(b);
    config_free(defaults);
    config_free(empty);
}
END_TEST

START_TEST(mode_names_parse_and_print)
{
    enum inject_mode mode = MODE_CLOUD_NATIVE;
    ck_assert_int_eq(config_parse_mode("classic", &mode), 0);
    ck_assert_int_eq(mode, MODE_CLASSIC);
    ck_assert_int_eq(config_parse_mode("cloud-native", &mode), 0);
    ck_assert_int_eq(mode, MODE_CLOUD_NATIVE);
    ck_assert_int_eq(config_parse_mode("Classic", &mode), -1);
    ck_assert_int_eq(config_parse_mode("", &mode), -1);
    ck_assert_int_eq(mode, MODE_CLOUD_NATIVE);
    ck_assert_str_eq(config_mode_name(MODE_CLASSIC), "classic");
    ck_assert_str_eq(config_mode_name(MODE_CLOUD_NATIVE), "cloud-native");
}
END_TEST

/* ---- a full file ------------------------------------------------------- */

START_TEST(full_valid_file_overrides_every_field)
{
    unsetenv("POD_NAMESPACE");
    struct goinject_config *cfg = parse_ok(full_config);
    json_t *json = config_to_json(cfg);
    json_t *want = json_lit(full_config);
    char *got_text = json_dumps(json, JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_msg(json_same(json, want), "got %s", got_text);
    free(got_text);
    json_decref(want);
    json_decref(json);

    ck_assert_int_eq(cfg->mode, MODE_CLASSIC);
    ck_assert(!cfg->inject_by_default);
    ck_assert(config_namespace_excluded(cfg, "ops"));
    ck_assert(!config_namespace_excluded(cfg, "kube-system"));
    ck_assert(config_namespace_enforces_pod_security(cfg, "prod"));
    ck_assert_int_eq(cfg->pod_security_default, POD_SECURITY_RESTRICTED);
    ck_assert(config_namespace_enforces_pod_security(cfg, "default"));
    ck_assert(!config_namespace_enforces_pod_security(cfg, "legacy"));
    ck_assert(cfg->ptrace_with_host_pid);
    ck_assert_int_eq(cfg->unknown_shell, UNKNOWN_SHELL_SHELL);
    config_free(cfg);
}
END_TEST

/* ---- agent.env by libc ------------------------------------------------- */

/* The names of the variables of one set of agent.env, as a JSON array text. */
static void expect_env_names(const struct goinject_config *cfg, enum agent_env_set set,
                             const char *names)
{
    json_t *got = json_array();
    size_t i;
    json_t *var;
    json_array_foreach(cfg->agent.env[set], i, var)
        json_array_append(got, json_object_get(var, "name"));
    ck_assert_json_eq(got, names);
    json_decref(got);
}

START_TEST(agent_env_array_is_the_any_set)
{
    struct goinject_config *cfg = parse_ok(
        "{\"agent\": {\"env\": [{\"name\": \"A\", \"value\": \"1\"}, {\"name\": \"B\"}]}}");
    expect_env_names(cfg, AGENT_ENV_ANY, "[\"A\", \"B\"]");
    expect_env_names(cfg, AGENT_ENV_GLIBC, "[]");
    expect_env_names(cfg, AGENT_ENV_MUSL, "[]");
    ck_assert(config_has_agent_env(cfg));
    ck_assert(!config_has_libc_env(cfg));
    config_free(cfg);
}
END_TEST

START_TEST(agent_env_object_gives_each_set)
{
    struct goinject_config *cfg =
        parse_ok("{\"agent\": {\"env\": {\"any\": [{\"name\": \"TENANT\", \"value\": \"t\"}],"
                 " \"glibc\": [{\"name\": \"LD_PRELOAD\", \"value\": \"/a/glibc.so\"},"
                 "             {\"name\": \"GLIBC_ONLY\", \"value\": \"1\"}],"
                 " \"musl\": [{\"name\": \"LD_PRELOAD\", \"value\": \"/a/musl.so\"}]}}}");
    expect_env_names(cfg, AGENT_ENV_ANY, "[\"TENANT\"]");
    expect_env_names(cfg, AGENT_ENV_GLIBC, "[\"LD_PRELOAD\", \"GLIBC_ONLY\"]");
    expect_env_names(cfg, AGENT_ENV_MUSL, "[\"LD_PRELOAD\"]");
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(cfg->agent.env[AGENT_ENV_MUSL], 0), "value")),
                     "/a/musl.so");
    ck_assert(config_has_agent_env(cfg));
    ck_assert(config_has_libc_env(cfg));
    config_free(cfg);
}
END_TEST

START_TEST(agent_env_object_members_are_optional)
{
    struct goinject_config *cfg = parse_ok("{\"agent\": {\"env\": {\"musl\": [{\"name\": "
                                           "\"LD_PRELOAD\", \"value\": \"/a/musl.so\"}]}}}");
    expect_env_names(cfg, AGENT_ENV_ANY, "[]");
    expect_env_names(cfg, AGENT_ENV_GLIBC, "[]");
    expect_env_names(cfg, AGENT_ENV_MUSL, "[\"LD_PRELOAD\"]");
    ck_assert(config_has_agent_env(cfg));
    ck_assert(config_has_libc_env(cfg));
    config_free(cfg);
    cfg = parse_ok("{\"agent\": {\"env\": {}}}");
    ck_assert(!config_has_agent_env(cfg));
    ck_assert(!config_has_libc_env(cfg));
    config_free(cfg);
}
END_TEST

START_TEST(agent_env_set_names)
{
    ck_assert_str_eq(agent_env_set_name(AGENT_ENV_ANY), "any");
    ck_assert_str_eq(agent_env_set_name(AGENT_ENV_GLIBC), "glibc");
    ck_assert_str_eq(agent_env_set_name(AGENT_ENV_MUSL), "musl");
    ck_assert_str_eq(agent_env_set_name(AGENT_ENV_SETS), "invalid");
}
END_TEST

/* ---- the cluster-wide Pod Security level ------------------------------- */

START_TEST(pod_security_default_privileged_enforces_only_the_listed_namespaces)
{
    struct goinject_config *cfg = parse_ok("{\"podSecurityDefault\": \"privileged\","
                                           " \"podSecurityEnforcedNamespaces\": [\"prod\"],"
                                           " \"podSecurityExemptNamespaces\": [\"prod\"]}");
    ck_assert(config_namespace_enforces_pod_security(cfg, "prod"));
    ck_assert(!config_namespace_enforces_pod_security(cfg, "default"));
    config_free(cfg);
}
END_TEST

START_TEST(pod_security_default_baseline_or_restricted_enforces_every_namespace_not_exempt)
{
    static const char *const levels[] = {"baseline", "restricted"};
    for (size_t i = 0; i < 2; i++) {
        char text[256];
        snprintf(text, sizeof(text),
                 "{\"podSecurityDefault\": \"%s\", \"podSecurityExemptNamespaces\": [\"legacy\"]}",
                 levels[i]);
        struct goinject_config *cfg = parse_ok(text);
        ck_assert(config_namespace_enforces_pod_security(cfg, "default"));
        ck_assert(config_namespace_enforces_pod_security(cfg, "team-a"));
        ck_assert(!config_namespace_enforces_pod_security(cfg, "legacy"));
        ck_assert(!config_namespace_enforces_pod_security(cfg, NULL));
        config_free(cfg);
    }
}
END_TEST

START_TEST(a_namespace_listed_as_enforcing_wins_over_its_exemption)
{
    struct goinject_config *cfg = parse_ok("{\"podSecurityDefault\": \"baseline\","
                                           " \"podSecurityEnforcedNamespaces\": [\"prod\"],"
                                           " \"podSecurityExemptNamespaces\": [\"prod\"]}");
    ck_assert(config_namespace_enforces_pod_security(cfg, "prod"));
    config_free(cfg);
}
END_TEST

START_TEST(invalid_pod_security_default_names_it)
{
    expect_error("{\"podSecurityDefault\": \"Restricted\"}", "podSecurityDefault");
    expect_error("{\"podSecurityDefault\": \"\"}", "podSecurityDefault");
    expect_error("{\"podSecurityDefault\": true}", "podSecurityDefault");
    expect_error("{\"podSecurityDefault\": [\"baseline\"]}", "podSecurityDefault");
}
END_TEST

START_TEST(invalid_pod_security_exempt_namespaces_names_the_element)
{
    expect_error("{\"podSecurityExemptNamespaces\": \"legacy\"}", "podSecurityExemptNamespaces");
    expect_error("{\"podSecurityExemptNamespaces\": [\"ok\", \"Not_OK\"]}",
                 "podSecurityExemptNamespaces[1]");
}
END_TEST

START_TEST(invalid_ptrace_with_host_pid_names_it)
{
    expect_error("{\"ptraceWithHostPID\": \"true\"}", "ptraceWithHostPID");
    expect_error("{\"ptraceWithHostPID\": 1}", "ptraceWithHostPID");
    expect_error("{\"ptraceWithHostPid\": true}", "ptraceWithHostPid");
}
END_TEST

START_TEST(shell_unknown_wrapper_accepts_each_policy)
{
    struct goinject_config *cfg = parse_ok("{\"shellUnknownWrapper\": \"tini\"}");
    ck_assert_int_eq(cfg->unknown_shell, UNKNOWN_SHELL_TINI);
    config_free(cfg);
    cfg = parse_ok("{\"shellUnknownWrapper\": \"shell\"}");
    ck_assert_int_eq(cfg->unknown_shell, UNKNOWN_SHELL_SHELL);
    config_free(cfg);
    cfg = parse_ok("{\"shellUnknownWrapper\": \"none\"}");
    ck_assert_int_eq(cfg->unknown_shell, UNKNOWN_SHELL_SKIP);
    config_free(cfg);
}
END_TEST

START_TEST(partial_agent_keeps_other_agent_defaults)
{
    struct goinject_config *cfg = parse_ok("{\"agent\": {\"mountPath\": \"/apm\"}}");
    ck_assert_str_eq(cfg->agent.mount_path, "/apm");
    ck_assert_str_eq(cfg->agent.volume_name, "goinject-agent");
    ck_assert_str_eq(cfg->agent.source_path, "/opt/goinject/agent");
    ck_assert_int_eq(cfg->agent.run_as_user, 65532);
    config_free(cfg);
}
END_TEST

START_TEST(empty_excluded_namespaces_excludes_nothing)
{
    unsetenv("POD_NAMESPACE");
    struct goinject_config *cfg = parse_ok("{\"excludedNamespaces\": []}");
    ck_assert_uint_eq(cfg->excluded_namespaces.count, 0);
    ck_assert(!config_namespace_excluded(cfg, "kube-system"));
    config_free(cfg);
}
END_TEST

START_TEST(requests_within_limits_compare_in_base_units)
{
    /* 1e3 bytes is below 1Ki; 100m CPU below 1; equal values are fine. */
    struct goinject_config *cfg = parse_ok(
        "{\"agent\": {\"resources\": {\"requests\": {\"memory\": \"1e3\", \"cpu\": \"100m\"},"
        " \"limits\": {\"memory\": \"1Ki\", \"cpu\": \"1\"}}}}");
    config_free(cfg);
    cfg = parse_ok("{\"agent\": {\"resources\": {\"requests\": {\"memory\": \"64Mi\"},"
                   " \"limits\": {\"memory\": \"64Mi\"}}}}");
    config_free(cfg);
    cfg = parse_ok("{\"agent\": {\"resources\": {\"requests\": {\"example.com/gpu\": \"1\"}}}}");
    config_free(cfg);
}
END_TEST

/* ---- POD_NAMESPACE ----------------------------------------------------- */

START_TEST(pod_namespace_env_is_added_to_excluded_namespaces)
{
    setenv("POD_NAMESPACE", "apm-webhook", 1);
    struct goinject_config *cfg = parse_ok(NULL);
    unsetenv("POD_NAMESPACE");
    ck_assert_uint_eq(cfg->excluded_namespaces.count, 5);
    ck_assert_str_eq(cfg->excluded_namespaces.items[4], "apm-webhook");
    ck_assert(config_namespace_excluded(cfg, "apm-webhook"));
    ck_assert(config_namespace_excluded(cfg, "kube-system"));
    config_free(cfg);
}
END_TEST

START_TEST(pod_namespace_env_is_added_to_a_configured_list)
{
    setenv("POD_NAMESPACE", "apm-webhook", 1);
    struct goinject_config *cfg = parse_ok("{\"excludedNamespaces\": [\"ops\"]}");
    unsetenv("POD_NAMESPACE");
    ck_assert_uint_eq(cfg->excluded_namespaces.count, 2);
    ck_assert(config_namespace_excluded(cfg, "ops"));
    ck_assert(config_namespace_excluded(cfg, "apm-webhook"));
    config_free(cfg);
}
END_TEST

START_TEST(pod_namespace_already_excluded_is_not_duplicated)
{
    setenv("POD_NAMESPACE", "goinject-system", 1);
    struct goinject_config *cfg = parse_ok(NULL);
    unsetenv("POD_NAMESPACE");
    ck_assert_uint_eq(cfg->excluded_namespaces.count, 4);
    config_free(cfg);
}
END_TEST

START_TEST(pod_namespace_empty_or_invalid_is_ignored)
{
    setenv("POD_NAMESPACE", "", 1);
    struct goinject_config *cfg = parse_ok(NULL);
    ck_assert_uint_eq(cfg->excluded_namespaces.count, 4);
    config_free(cfg);
    setenv("POD_NAMESPACE", "Not_A_Namespace", 1);
    cfg = parse_ok(NULL);
    unsetenv("POD_NAMESPACE");
    ck_assert_uint_eq(cfg->excluded_namespaces.count, 4);
    config_free(cfg);
}
END_TEST

/* ---- every invalid field names itself --------------------------------- */

START_TEST(invalid_mode_names_mode)
{
    expect_error("{\"mode\": \"Classic\"}", "mode");
    expect_error("{\"mode\": \"hybrid\"}", "mode");
    expect_error("{\"mode\": 1}", "mode");
    expect_error("{\"mode\": null}", "mode");
}
END_TEST

START_TEST(invalid_annotation_prefix_names_annotation_prefix)
{
    expect_error("{\"annotationPrefix\": \"Goinject.IO\"}", "annotationPrefix");
    expect_error("{\"annotationPrefix\": \"goinject.io/x\"}", "annotationPrefix");
    expect_error("{\"annotationPrefix\": \"\"}", "annotationPrefix");
    expect_error("{\"annotationPrefix\": [\"goinject.io\"]}", "annotationPrefix");
    /* jansson refuses a NUL inside a string before the field is looked at. */
    expect_error("{\"annotationPrefix\": \"goinject\\u0000.io\"}", "config");
}
END_TEST

START_TEST(invalid_inject_by_default_names_inject_by_default)
{
    expect_error("{\"injectByDefault\": \"true\"}", "injectByDefault");
    expect_error("{\"injectByDefault\": 1}", "injectByDefault");
    expect_error("{\"injectByDefault\": null}", "injectByDefault");
}
END_TEST

START_TEST(invalid_excluded_namespaces_names_the_element)
{
    expect_error("{\"excludedNamespaces\": \"kube-system\"}", "excludedNamespaces");
    expect_error("{\"excludedNamespaces\": [\"ok\", \"Not_OK\"]}", "excludedNamespaces[1]");
    expect_error("{\"excludedNamespaces\": [7]}", "excludedNamespaces[0]");
    expect_error("{\"excludedNamespaces\": [\"a\", \"b\", \"\"]}", "excludedNamespaces[2]");
    expect_error("{\"podSecurityEnforcedNamespaces\": [\"prod\", \"a.b\"]}",
                 "podSecurityEnforcedNamespaces[1]");
}
END_TEST

START_TEST(invalid_agent_image_names_agent_image)
{
    expect_agent_error("\"image\": \"\"", "agent.image");
    expect_agent_error("\"image\": \"a b\"", "agent.image");
    expect_agent_error("\"image\": \"-x\"", "agent.image");
    expect_agent_error("\"image\": 3", "agent.image");
}
END_TEST

START_TEST(invalid_agent_image_pull_policy_names_it)
{
    expect_agent_error("\"imagePullPolicy\": \"always\"", "agent.imagePullPolicy");
    expect_agent_error("\"imagePullPolicy\": \"\"", "agent.imagePullPolicy");
    expect_agent_error("\"imagePullPolicy\": true", "agent.imagePullPolicy");
}
END_TEST

START_TEST(invalid_agent_command_names_command_or_element)
{
    expect_agent_error("\"command\": \"/bin/cp\"", "agent.command");
    expect_agent_error("\"command\": []", "agent.command");
    expect_agent_error("\"command\": [\"/bin/cp\", \"\"]", "agent.command[1]");
    expect_agent_error("\"command\": [\"/bin/cp\", \"-a\", 5]", "agent.command[2]");
    expect_agent_error("\"command\": [null]", "agent.command[0]");
}
END_TEST

START_TEST(invalid_agent_source_path_names_it)
{
    expect_agent_error("\"sourcePath\": \"opt/agent\"", "agent.sourcePath");
    expect_agent_error("\"sourcePath\": \"/opt/../agent\"", "agent.sourcePath");
    expect_agent_error("\"sourcePath\": \"\"", "agent.sourcePath");
    expect_agent_error("\"sourcePath\": 1", "agent.sourcePath");
}
END_TEST

START_TEST(invalid_agent_mount_path_relative)
{
    expect_agent_error("\"mountPath\": \"goinject-agent\"", "agent.mountPath");
}
END_TEST

START_TEST(invalid_agent_mount_path_root)
{
    expect_agent_error("\"mountPath\": \"/\"", "agent.mountPath");
}
END_TEST

START_TEST(invalid_agent_mount_path_with_colon)
{
    expect_agent_error("\"mountPath\": \"/agent:ro\"", "agent.mountPath");
}
END_TEST

START_TEST(invalid_agent_mount_path_with_dot_dot)
{
    expect_agent_error("\"mountPath\": \"/agent/../etc\"", "agent.mountPath");
    expect_agent_error("\"mountPath\": \"/..\"", "agent.mountPath");
}
END_TEST

START_TEST(invalid_agent_resources_unknown_key)
{
    expect_agent_error("\"resources\": {\"claims\": []}", "agent.resources.claims");
    expect_agent_error("\"resources\": []", "agent.resources");
}
END_TEST

START_TEST(invalid_agent_resources_bad_quantity)
{
    expect_agent_error("\"resources\": {\"limits\": {\"memory\": \"64MB\"}}",
                       "agent.resources.limits.memory");
    expect_agent_error("\"resources\": {\"requests\": {\"cpu\": 1}}",
                       "agent.resources.requests.cpu");
    expect_agent_error("\"resources\": {\"requests\": {\"cpu\": \"-1\"}}",
                       "agent.resources.requests.cpu");
    expect_agent_error("\"resources\": {\"requests\": {\"bad name!\": \"1\"}}",
                       "agent.resources.requests.bad name!");
    expect_agent_error("\"resources\": {\"limits\": \"1\"}", "agent.resources.limits");
}
END_TEST

START_TEST(invalid_agent_resources_requests_above_limits)
{
    expect_agent_error("\"resources\": {\"requests\": {\"memory\": \"1Gi\"},"
                       " \"limits\": {\"memory\": \"512Mi\"}}",
                       "agent.resources.requests.memory");
    expect_agent_error("\"resources\": {\"requests\": {\"cpu\": \"1001m\"},"
                       " \"limits\": {\"cpu\": \"1\"}}",
                       "agent.resources.requests.cpu");
}
END_TEST

START_TEST(invalid_agent_env_missing_name)
{
    expect_agent_error("\"env\": [{\"value\": \"x\"}]", "agent.env[0].name");
    expect_agent_error("\"env\": [{\"name\": \"A\"}, {\"name\": \"\"}]", "agent.env[1].name");
    expect_agent_error("\"env\": [{\"name\": 5}]", "agent.env[0].name");
}
END_TEST

START_TEST(invalid_agent_env_equals_in_name)
{
    expect_agent_error("\"env\": [{\"name\": \"A=B\", \"value\": \"x\"}]", "agent.env[0].name");
}
END_TEST

START_TEST(invalid_agent_env_value_and_value_from)
{
    expect_agent_error("\"env\": [{\"name\": \"A\", \"value\": \"x\", \"valueFrom\": {}}]",
                       "agent.env[0]");
    char err[512] = "";
    const char *text = "{\"agent\": {\"env\": [{\"name\": \"A\", \"value\": \"x\","
                       " \"valueFrom\": {}}]}}";
    ck_assert_ptr_null(config_parse(text, strlen(text), err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "value and valueFrom"));
}
END_TEST

START_TEST(invalid_agent_env_duplicate_names)
{
    expect_agent_error("\"env\": [{\"name\": \"A\", \"value\": \"1\"}, {\"name\": \"B\"},"
                       " {\"name\": \"A\", \"value\": \"2\"}]",
                       "agent.env[2].name");
}
END_TEST

START_TEST(invalid_agent_env_other_shapes)
{
    expect_agent_error("\"env\": {\"A\": \"1\"}", "agent.env");
    expect_agent_error("\"env\": [\"A=1\"]", "agent.env[0]");
    expect_agent_error("\"env\": [{\"name\": \"A\", \"value\": 1}]", "agent.env[0].value");
    expect_agent_error("\"env\": [{\"name\": \"A\", \"valueFrom\": \"x\"}]",
                       "agent.env[0].valueFrom");
    expect_agent_error("\"env\": [{\"name\": \"A\", \"vaule\": \"x\"}]", "agent.env[0].vaule");
}
END_TEST

START_TEST(invalid_agent_env_unknown_set_names_it)
{
    expect_agent_error("\"env\": {\"glibc\": [], \"mus1\": []}", "agent.env.mus1");
    expect_error_contains("{\"agent\": {\"env\": {\"Any\": []}}}", "agent.env.Any: unknown field");
}
END_TEST

START_TEST(invalid_agent_env_set_of_the_wrong_type_names_it)
{
    expect_agent_error("\"env\": {\"glibc\": {\"name\": \"A\"}}", "agent.env.glibc");
    expect_agent_error("\"env\": {\"musl\": \"LD_PRELOAD=x\"}", "agent.env.musl");
    expect_agent_error("\"env\": {\"any\": null}", "agent.env.any");
    expect_agent_error("\"env\": \"LD_PRELOAD=/a.so\"", "agent.env");
    expect_agent_error("\"env\": null", "agent.env");
    expect_agent_error("\"env\": 1", "agent.env");
}
END_TEST

START_TEST(invalid_agent_env_variable_in_a_set_names_it)
{
    expect_agent_error("\"env\": {\"musl\": [{\"value\": \"x\"}]}", "agent.env.musl[0].name");
    expect_agent_error("\"env\": {\"glibc\": [{\"name\": \"A\"}, {\"name\": \"A=B\"}]}",
                       "agent.env.glibc[1].name");
    expect_agent_error("\"env\": {\"glibc\": [{\"name\": \"A\", \"vaule\": \"x\"}]}",
                       "agent.env.glibc[0].vaule");
    expect_agent_error("\"env\": {\"any\": [{\"name\": \"A\", \"value\": 1}]}",
                       "agent.env.any[0].value");
    expect_agent_error("\"env\": {\"musl\": [\"A=1\"]}", "agent.env.musl[0]");
}
END_TEST

START_TEST(invalid_agent_env_name_twice_in_a_set)
{
    expect_agent_error("\"env\": {\"glibc\": [{\"name\": \"A\"}, {\"name\": \"A\"}]}",
                       "agent.env.glibc[1].name");
    expect_error_contains(
        "{\"agent\": {\"env\": {\"musl\": [{\"name\": \"B\"}, {\"name\": \"B\"}]}}}",
        "is set twice");
}
END_TEST

/* A glibc or musl container would get the name twice. */
START_TEST(invalid_agent_env_name_in_any_and_a_libc_set)
{
    const char *text = "{\"agent\": {\"env\": {\"any\": [{\"name\": \"LD_PRELOAD\"}],"
                       " \"musl\": [{\"name\": \"X\"}, {\"name\": \"LD_PRELOAD\"}]}}}";
    expect_error(text, "agent.env.musl[1].name");
    expect_error_contains(text, "is in agent.env.any too");
    expect_agent_error("\"env\": {\"any\": [{\"name\": \"A\"}], \"glibc\": [{\"name\": \"A\"}]}",
                       "agent.env.glibc[0].name");
}
END_TEST

START_TEST(agent_env_same_name_in_glibc_and_musl_is_the_point)
{
    struct goinject_config *cfg = parse_ok(
        "{\"agent\": {\"env\": {\"glibc\": [{\"name\": \"LD_PRELOAD\", \"value\": \"/g.so\"}],"
        " \"musl\": [{\"name\": \"LD_PRELOAD\", \"value\": \"/m.so\"}]}}}");
    expect_env_names(cfg, AGENT_ENV_GLIBC, "[\"LD_PRELOAD\"]");
    expect_env_names(cfg, AGENT_ENV_MUSL, "[\"LD_PRELOAD\"]");
    config_free(cfg);
}
END_TEST

START_TEST(invalid_agent_init_container_name_not_a_dns_label)
{
    expect_agent_error("\"initContainerName\": \"Agent\"", "agent.initContainerName");
    expect_agent_error("\"initContainerName\": \"goinject_agent\"", "agent.initContainerName");
    expect_agent_error("\"initContainerName\": \"a.b\"", "agent.initContainerName");
    expect_agent_error("\"initContainerName\": \"\"", "agent.initContainerName");
}
END_TEST

START_TEST(invalid_agent_volume_name_not_a_dns_label)
{
    expect_agent_error("\"volumeName\": \"Agent\"", "agent.volumeName");
    expect_agent_error("\"volumeName\": \"-agent\"", "agent.volumeName");
    expect_agent_error("\"volumeName\": "
                       "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
                       "agent.volumeName");
}
END_TEST

START_TEST(invalid_agent_run_as_user_zero)
{
    expect_agent_error("\"runAsUser\": 0", "agent.runAsUser");
}
END_TEST

START_TEST(invalid_agent_run_as_user_negative)
{
    expect_agent_error("\"runAsUser\": -1", "agent.runAsUser");
}
END_TEST

START_TEST(invalid_agent_run_as_user_string)
{
    expect_agent_error("\"runAsUser\": \"1000\"", "agent.runAsUser");
    expect_agent_error("\"runAsUser\": 1000.5", "agent.runAsUser");
    expect_agent_error("\"runAsUser\": 2147483648", "agent.runAsUser");
}
END_TEST

START_TEST(invalid_tini_glibc_absolute)
{
    expect_error("{\"tini\": {\"glibc\": \"/tini\"}}", "tini.glibc");
}
END_TEST

START_TEST(invalid_tini_musl_dot_dot)
{
    expect_error("{\"tini\": {\"musl\": \"../tini\"}}", "tini.musl");
    expect_error("{\"tini\": {\"musl\": \"tini/../../etc/passwd\"}}", "tini.musl");
}
END_TEST

START_TEST(invalid_tini_other_shapes)
{
    expect_error("{\"tini\": {\"glibc\": \"\"}}", "tini.glibc");
    expect_error("{\"tini\": {\"musl\": \"/abs/tini\"}}", "tini.musl");
    expect_error("{\"tini\": {\"glibc\": \"a/../b\"}}", "tini.glibc");
    expect_error("{\"tini\": \"tini\"}", "tini");
}
END_TEST

START_TEST(invalid_shell_unknown_wrapper_names_it)
{
    expect_error("{\"shellUnknownWrapper\": \"bash\"}", "shellUnknownWrapper");
    expect_error("{\"shellUnknownWrapper\": \"\"}", "shellUnknownWrapper");
    expect_error("{\"shellUnknownWrapper\": false}", "shellUnknownWrapper");
}
END_TEST

START_TEST(invalid_default_shell_names_it)
{
    expect_error("{\"defaultShell\": \"sh\"}", "defaultShell");
    expect_error("{\"defaultShell\": \"/bin/../sh\"}", "defaultShell");
    expect_error("{\"defaultShell\": \"\"}", "defaultShell");
    expect_error("{\"defaultShell\": [\"/bin/sh\"]}", "defaultShell");
}
END_TEST

START_TEST(unknown_top_level_field_names_it)
{
    expect_error("{\"modes\": \"classic\"}", "modes");
    expect_error("{\"mode\": \"classic\", \"injectByDefualt\": true}", "injectByDefualt");
}
END_TEST

START_TEST(unknown_nested_field_names_it)
{
    expect_error("{\"agent\": {\"imag\": \"x\"}}", "agent.imag");
    expect_error("{\"tini\": {\"uclibc\": \"tini\"}}", "tini.uclibc");
    expect_error("{\"agent\": {\"resources\": {\"limit\": {}}}}", "agent.resources.limit");
}
END_TEST

START_TEST(invalid_agent_object_names_agent)
{
    expect_error("{\"agent\": []}", "agent");
    expect_error("{\"agent\": null}", "agent");
}
END_TEST

START_TEST(invalid_json_gives_line_and_column)
{
    expect_error("{\"mode\": \"classic\",\n \"agent\": }", "config");
    expect_error_contains("{\"mode\": \"classic\",\n \"agent\": }", "line 2 column");
    expect_error_contains("{\"mode\": \"classic\",\n \"agent\": }", "invalid JSON");
    expect_error_contains("", "invalid JSON");
    expect_error_contains("{\"mode\": \"classic\"", "line 1 column");
}
END_TEST

START_TEST(duplicate_keys_are_refused)
{
    expect_error("{\"mode\": \"classic\", \"mode\": \"cloud-native\"}", "config");
    expect_error_contains("{\"mode\": \"classic\", \"mode\": \"cloud-native\"}", "duplicate");
    expect_error_contains("{\"agent\": {\"image\": \"a\", \"image\": \"b\"}}", "duplicate");
}
END_TEST

START_TEST(non_object_document_is_refused)
{
    expect_error("[]", "config");
    expect_error("[{\"mode\": \"classic\"}]", "config");
    expect_error("\"classic\"", "config");
    expect_error("42", "config");
    expect_error("null", "config");
}
END_TEST

/* ---- files ------------------------------------------------------------- */

START_TEST(config_load_reads_a_file)
{
    unsetenv("POD_NAMESPACE");
    char *path = temp_file(full_config, strlen(full_config));
    char err[512] = "";
    struct goinject_config *cfg = config_load(path, err, sizeof(err));
    ck_assert_msg(cfg != NULL, "%s", err);
    ck_assert_int_eq(cfg->mode, MODE_CLASSIC);
    ck_assert_str_eq(cfg->agent.mount_path, "/apm");
    config_free(cfg);
    unlink(path);
    free(path);
}
END_TEST

START_TEST(config_load_missing_file_names_the_path)
{
    char err[512] = "";
    struct goinject_config *cfg =
        config_load("/nonexistent/goinject/config.json", err, sizeof(err));
    ck_assert_ptr_null(cfg);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/goinject/config.json"));
    ck_assert_ptr_nonnull(strstr(err, "No such file"));
}
END_TEST

START_TEST(config_load_refuses_a_file_over_the_size_limit)
{
    size_t len = CONFIG_MAX_BYTES + 1;
    char *content = malloc(len);
    ck_assert_ptr_nonnull(content);
    /* Valid JSON apart from its size: "{}" followed by whitespace. */
    memset(content, ' ', len);
    content[0] = '{';
    content[len - 1] = '}';
    char *path = temp_file(content, len);
    free(content);
    char err[512] = "";
    struct goinject_config *cfg = config_load(path, err, sizeof(err));
    ck_assert_ptr_null(cfg);
    ck_assert_msg(strstr(err, "larger than") != NULL, "error: %s", err);
    ck_assert_ptr_nonnull(strstr(err, path));
    unlink(path);
    free(path);
}
END_TEST

START_TEST(config_load_accepts_a_file_at_the_size_limit)
{
    size_t len = CONFIG_MAX_BYTES;
    char *content = malloc(len);
    ck_assert_ptr_nonnull(content);
    memset(content, ' ', len);
    content[0] = '{';
    content[len - 1] = '}';
    char *path = temp_file(content, len);
    free(content);
    char err[512] = "";
    struct goinject_config *cfg = config_load(path, err, sizeof(err));
    ck_assert_msg(cfg != NULL, "%s", err);
    config_free(cfg);
    unlink(path);
    free(path);
}
END_TEST

START_TEST(config_load_reports_invalid_content_of_a_file)
{
    const char text[] = "{\"agent\": {\"mountPath\": \"/\"}}";
    char *path = temp_file(text, strlen(text));
    char err[512] = "";
    ck_assert_ptr_null(config_load(path, err, sizeof(err)));
    ck_assert_msg(strncmp(err, "agent.mountPath:", 16) == 0, "error: %s", err);
    unlink(path);
    free(path);
}
END_TEST

/* ---- config_to_json ---------------------------------------------------- */

START_TEST(config_to_json_round_trips_defaults)
{
    unsetenv("POD_NAMESPACE");
    struct goinject_config *cfg = parse_ok(NULL);
    expect_round_trip(cfg);
    config_free(cfg);
}
END_TEST

START_TEST(config_to_json_round_trips_a_full_file)
{
    unsetenv("POD_NAMESPACE");
    struct goinject_config *cfg = parse_ok(full_config);
    expect_round_trip(cfg);
    config_free(cfg);
}
END_TEST

START_TEST(config_to_json_round_trips_each_unknown_shell_policy)
{
    static const char *const texts[] = {
        "{\"shellUnknownWrapper\": \"none\", \"mode\": \"classic\"}",
        "{\"shellUnknownWrapper\": \"shell\", \"defaultShell\": \"/busybox/sh\"}",
        "{\"agent\": {\"env\": [{\"name\": \"A\"}], \"resources\": {}}}",
        "{\"agent\": {\"env\": {\"glibc\": [{\"name\": \"LD_PRELOAD\", \"value\": \"/g.so\"}],"
        " \"musl\": [{\"name\": \"LD_PRELOAD\", \"value\": \"/m.so\"}]}}}",
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        struct goinject_config *cfg = parse_ok(texts[i]);
        expect_round_trip(cfg);
        config_free(cfg);
    }
}
END_TEST

START_TEST(config_to_json_round_trips_with_pod_namespace)
{
    setenv("POD_NAMESPACE", "apm-webhook", 1);
    struct goinject_config *cfg = parse_ok(NULL);
    expect_round_trip(cfg);
    unsetenv("POD_NAMESPACE");
    config_free(cfg);
}
END_TEST

/* Found by fuzz_config: file text quoted in an error must not break the line. */
START_TEST(errors_quoting_the_file_stay_on_one_line)
{
    expect_error("{\"a\\nb\": 1}", "a\\x0ab");
    expect_error_contains("{\"agent\": {\"x\\ty\": 1}}", "agent.x\\x09y: unknown field");
    expect_error("{\"mode\": \"cloud\\nnative\"}", "mode");
    expect_error("{\"agent\": {\"env\": [{\"name\": \"A\\nB\", \"value\": \"1\"}]}}",
                 "agent.env[0].name");
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");

    TCase *defaults = tcase_create("defaults");
    tcase_add_test(defaults, no_file_gives_every_default);
    tcase_add_test(defaults, defaults_as_struct_fields);
    tcase_add_test(defaults, default_excluded_namespaces_are_excluded);
    tcase_add_test(defaults, empty_object_file_keeps_defaults);
    tcase_add_test(defaults, mode_names_parse_and_print);
    suite_add_tcase(s, defaults);

    TCase *file = tcase_create("valid file");
    tcase_add_test(file, full_valid_file_overrides_every_field);
    tcase_add_test(file, pod_security_default_privileged_enforces_only_the_listed_namespaces);
    tcase_add_test(file,
                   pod_security_default_baseline_or_restricted_enforces_every_namespace_not_exempt);
    tcase_add_test(file, a_namespace_listed_as_enforcing_wins_over_its_exemption);
    tcase_add_test(file, shell_unknown_wrapper_accepts_each_policy);
    tcase_add_test(file, partial_agent_keeps_other_agent_defaults);
    tcase_add_test(file, empty_excluded_namespaces_excludes_nothing);
    tcase_add_test(file, requests_within_limits_compare_in_base_units);
    tcase_add_test(file, agent_env_array_is_the_any_set);
    tcase_add_test(file, agent_env_object_gives_each_set);
    tcase_add_test(file, agent_env_object_members_are_optional);
    tcase_add_test(file, agent_env_same_name_in_glibc_and_musl_is_the_point);
    tcase_add_test(file, agent_env_set_names);
    suite_add_tcase(s, file);

    TCase *own = tcase_create("POD_NAMESPACE");
    tcase_add_test(own, pod_namespace_env_is_added_to_excluded_namespaces);
    tcase_add_test(own, pod_namespace_env_is_added_to_a_configured_list);
    tcase_add_test(own, pod_namespace_already_excluded_is_not_duplicated);
    tcase_add_test(own, pod_namespace_empty_or_invalid_is_ignored);
    suite_add_tcase(s, own);

    TCase *invalid = tcase_create("invalid fields");
    tcase_add_test(invalid, invalid_mode_names_mode);
    tcase_add_test(invalid, invalid_annotation_prefix_names_annotation_prefix);
    tcase_add_test(invalid, invalid_inject_by_default_names_inject_by_default);
    tcase_add_test(invalid, invalid_excluded_namespaces_names_the_element);
    tcase_add_test(invalid, invalid_pod_security_default_names_it);
    tcase_add_test(invalid, invalid_pod_security_exempt_namespaces_names_the_element);
    tcase_add_test(invalid, invalid_ptrace_with_host_pid_names_it);
    tcase_add_test(invalid, invalid_agent_image_names_agent_image);
    tcase_add_test(invalid, invalid_agent_image_pull_policy_names_it);
    tcase_add_test(invalid, invalid_agent_command_names_command_or_element);
    tcase_add_test(invalid, invalid_agent_source_path_names_it);
    tcase_add_test(invalid, invalid_agent_mount_path_relative);
    tcase_add_test(invalid, invalid_agent_mount_path_root);
    tcase_add_test(invalid, invalid_agent_mount_path_with_colon);
    tcase_add_test(invalid, invalid_agent_mount_path_with_dot_dot);
    tcase_add_test(invalid, invalid_agent_resources_unknown_key);
    tcase_add_test(invalid, invalid_agent_resources_bad_quantity);
    tcase_add_test(invalid, invalid_agent_resources_requests_above_limits);
    tcase_add_test(invalid, invalid_agent_env_missing_name);
    tcase_add_test(invalid, invalid_agent_env_equals_in_name);
    tcase_add_test(invalid, invalid_agent_env_value_and_value_from);
    tcase_add_test(invalid, invalid_agent_env_duplicate_names);
    tcase_add_test(invalid, invalid_agent_env_other_shapes);
    tcase_add_test(invalid, invalid_agent_env_unknown_set_names_it);
    tcase_add_test(invalid, invalid_agent_env_set_of_the_wrong_type_names_it);
    tcase_add_test(invalid, invalid_agent_env_variable_in_a_set_names_it);
    tcase_add_test(invalid, invalid_agent_env_name_twice_in_a_set);
    tcase_add_test(invalid, invalid_agent_env_name_in_any_and_a_libc_set);
    tcase_add_test(invalid, invalid_agent_init_container_name_not_a_dns_label);
    tcase_add_test(invalid, invalid_agent_volume_name_not_a_dns_label);
    tcase_add_test(invalid, invalid_agent_run_as_user_zero);
    tcase_add_test(invalid, invalid_agent_run_as_user_negative);
    tcase_add_test(invalid, invalid_agent_run_as_user_string);
    tcase_add_test(invalid, invalid_tini_glibc_absolute);
    tcase_add_test(invalid, invalid_tini_musl_dot_dot);
    tcase_add_test(invalid, invalid_tini_other_shapes);
    tcase_add_test(invalid, invalid_shell_unknown_wrapper_names_it);
    tcase_add_test(invalid, invalid_default_shell_names_it);
    tcase_add_test(invalid, unknown_top_level_field_names_it);
    tcase_add_test(invalid, unknown_nested_field_names_it);
    tcase_add_test(invalid, invalid_agent_object_names_agent);
    tcase_add_test(invalid, invalid_json_gives_line_and_column);
    tcase_add_test(invalid, duplicate_keys_are_refused);
    tcase_add_test(invalid, non_object_document_is_refused);
    suite_add_tcase(s, invalid);

    TCase *files = tcase_create("files");
    tcase_add_test(files, config_load_reads_a_file);
    tcase_add_test(files, config_load_missing_file_names_the_path);
    tcase_add_test(files, config_load_refuses_a_file_over_the_size_limit);
    tcase_add_test(files, config_load_accepts_a_file_at_the_size_limit);
    tcase_add_test(files, config_load_reports_invalid_content_of_a_file);
    suite_add_tcase(s, files);

    TCase *round = tcase_create("config_to_json");
    tcase_add_test(round, config_to_json_round_trips_defaults);
    tcase_add_test(round, config_to_json_round_trips_a_full_file);
    tcase_add_test(round, config_to_json_round_trips_each_unknown_shell_policy);
    tcase_add_test(round, config_to_json_round_trips_with_pod_namespace);
    tcase_add_test(round, errors_quoting_the_file_stay_on_one_line);
    suite_add_tcase(s, round);

    return s;
}

int main(void)
{
    return run_suite(config_suite());
}
