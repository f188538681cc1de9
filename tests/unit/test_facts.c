/* test_facts.c - image facts from annotations, by precedence. */
#include "facts.h"
#include "testutil.h"

/* ---- fixture ----------------------------------------------------------- */

static struct goinject_config *cfg;
static struct container_facts facts;
static struct warnings warnings;

static void setup(void)
{
    cfg = config_new_default();
    ck_assert_ptr_nonnull(cfg);
    memset(&facts, 0, sizeof(facts));
    memset(&warnings, 0, sizeof(warnings));
}

static void teardown(void)
{
    facts_clear(&facts);
    warnings_free(&warnings);
    config_free(cfg);
}

/* Resolves the facts of container name from an annotations object written as JSON. */
static void resolve(const char *annotations_text, const char *name)
{
    json_t *annotations = annotations_text ? json_lit(annotations_text) : NULL;
    facts_clear(&facts);
    facts_resolve(cfg, annotations, name, NULL, &facts, &warnings);
    json_decref(annotations);
}

static void expect_no_warnings(void)
{
    ck_assert_msg(warnings.count == 0, "unexpected warning: %s",
                  warnings.count ? warnings.items[0] : "");
}

/* Exactly one warning, naming every needle. */
static void expect_one_warning(const char *const *needles)
{
    ck_assert_uint_eq(warnings.count, 1);
    for (const char *const *n = needles; *n; n++)
        ck_assert_msg(strstr(warnings.items[0], *n) != NULL, "warning \"%s\" does not name %s",
                      warnings.items[0], *n);
    ck_assert_int_eq(strncmp(warnings.items[0], "goinject: ", 10), 0);
}

static void expect_all_unknown(void)
{
    ck_assert_int_eq(facts.static_go, FACT_UNKNOWN);
    ck_assert_int_eq(facts.cgo, FACT_UNKNOWN);
    ck_assert_int_eq(facts.shell, SHELL_UNKNOWN);
    ck_assert_ptr_null(facts.shell_path);
    ck_assert_int_eq(facts.libc, LIBC_UNKNOWN);
    ck_assert_ptr_null(facts.entrypoint);
    ck_assert_ptr_null(facts.cmd);
}

/* ---- no annotations ---------------------------------------------------- */

START_TEST(no_annotations_object_leaves_every_fact_unknown)
{
    resolve(NULL, "app");
    expect_all_unknown();
    expect_no_warnings();
}
END_TEST

START_TEST(annotations_not_an_object_leaves_every_fact_unknown)
{
    resolve("[\"goinject.io/static-go\"]", "app");
    expect_all_unknown();
    resolve("\"goinject.io/static-go=true\"", "app");
    expect_all_unknown();
    expect_no_warnings();
}
END_TEST

START_TEST(unrelated_annotations_leave_every_fact_unknown)
{
    resolve("{\"team\": \"a\", \"goinject.io/other\": \"true\","
            " \"static-go.goinject.io/other-container\": \"true\"}",
            "app");
    expect_all_unknown();
    expect_no_warnings();
}
END_TEST

/* ---- per-container beats pod-wide, for each fact ----------------------- */

START_TEST(per_container_static_go_beats_pod_wide)
{
    resolve("{\"goinject.io/static-go\": \"false\", \"static-go.goinject.io/app\": \"true\"}",
            "app");
    ck_assert_int_eq(facts.static_go, FACT_TRUE);
    resolve("{\"goinject.io/static-go\": \"true\", \"static-go.goinject.io/app\": \"false\"}",
            "app");
    ck_assert_int_eq(facts.static_go, FACT_FALSE);
    expect_no_warnings();
}
END_TEST

START_TEST(per_container_cgo_beats_pod_wide)
{
    resolve("{\"goinject.io/cgo\": \"true\", \"cgo.goinject.io/app\": \"false\"}", "app");
    ck_assert_int_eq(facts.cgo, FACT_FALSE);
    resolve("{\"goinject.io/cgo\": \"false\", \"cgo.goinject.io/app\": \"true\"}", "app");
    ck_assert_int_eq(facts.cgo, FACT_TRUE);
    expect_no_warnings();
}
END_TEST

START_TEST(per_container_shell_beats_pod_wide)
{
    resolve("{\"goinject.io/shell\": \"/bin/sh\", \"shell.goinject.io/app\": \"none\"}", "app");
    ck_assert_int_eq(facts.shell, SHELL_NONE);
    ck_assert_ptr_null(facts.shell_path);
    resolve("{\"goinject.io/shell\": \"none\", \"shell.goinject.io/app\": \"/busybox/sh\"}", "app");
    ck_assert_int_eq(facts.shell, SHELL_PATH);
    ck_assert_str_eq(facts.shell_path, "/busybox/sh");
    expect_no_warnings();
}
END_TEST

START_TEST(per_container_libc_beats_pod_wide)
{
    resolve("{\"goinject.io/libc\": \"glibc\", \"libc.goinject.io/app\": \"musl\"}", "app");
    ck_assert_int_eq(facts.libc, LIBC_MUSL);
    resolve("{\"goinject.io/libc\": \"musl\", \"libc.goinject.io/app\": \"none\"}", "app");
    ck_assert_int_eq(facts.libc, LIBC_NONE);
    resolve("{\"goinject.io/libc\": \"none\", \"libc.goinject.io/app\": \"glibc\"}", "app");
    ck_assert_int_eq(facts.libc, LIBC_GLIBC);
    expect_no_warnings();
}
END_TEST

/* ---- pod-wide applies when there is no per-container value ------------- */

START_TEST(pod_wide_static_go_applies_without_per_container_value)
{
    resolve("{\"goinject.io/static-go\": \"true\", \"static-go.goinject.io/other\": \"false\"}",
            "app");
    ck_assert_int_eq(facts.static_go, FACT_TRUE);
    expect_no_warnings();
}
END_TEST

START_TEST(pod_wide_cgo_applies_without_per_container_value)
{
    resolve("{\"goinject.io/cgo\": \"true\"}", "app");
    ck_assert_int_eq(facts.cgo, FACT_TRUE);
    expect_no_warnings();
}
END_TEST

START_TEST(pod_wide_shell_applies_without_per_container_value)
{
    resolve("{\"goinject.io/shell\": \"/bin/bash\"}", "app");
    ck_assert_int_eq(facts.shell, SHELL_PATH);
    ck_assert_str_eq(facts.shell_path, "/bin/bash");
    resolve("{\"goinject.io/shell\": \"none\"}", "app");
    ck_assert_int_eq(facts.shell, SHELL_NONE);
    expect_no_warnings();
}
END_TEST

START_TEST(pod_wide_libc_applies_without_per_container_value)
{
    resolve("{\"goinject.io/libc\": \"musl\"}", "app");
    ck_assert_int_eq(facts.libc, LIBC_MUSL);
    expect_no_warnings();
}
END_TEST

START_TEST(facts_mix_layers_fact_by_fact)
{
    resolve("{\"goinject.io/static-go\": \"true\", \"goinject.io/libc\": \"glibc\","
            " \"libc.goinject.io/app\": \"musl\", \"shell.goinject.io/app\": \"none\","
            " \"goinject.io/cgo\": \"false\"}",
            "app");
    ck_assert_int_eq(facts.static_go, FACT_TRUE);
    ck_assert_int_eq(facts.cgo, FACT_FALSE);
    ck_assert_int_eq(facts.shell, SHELL_NONE);
    ck_assert_int_eq(facts.libc, LIBC_MUSL);
    expect_no_warnings();
}
END_TEST

START_TEST(per_container_values_apply_only_to_their_container)
{
    const char *annotations = "{\"static-go.goinject.io/api\": \"true\","
                              " \"static-go.goinject.io/sidecar\": \"false\"}";
    resolve(annotations, "api");
    ck_assert_int_eq(facts.static_go, FACT_TRUE);
    resolve(annotations, "sidecar");
    ck_assert_int_eq(facts.static_go, FACT_FALSE);
    resolve(annotations, "web");
    ck_assert_int_eq(facts.static_go, FACT_UNKNOWN);
}
END_TEST

/* ---- entrypoint and cmd ------------------------------------------------ */

START_TEST(entrypoint_and_cmd_per_container)
{
    resolve("{\"entrypoint.goinject.io/app\": \"[\\\"/app\\\", \\\"--serve\\\"]\","
            " \"cmd.goinject.io/app\": \"[\\\"--port\\\", \\\"8080\\\"]\"}",
            "app");
    ck_assert_json_eq(facts.entrypoint, "[\"/app\", \"--serve\"]");
    ck_assert_json_eq(facts.cmd, "[\"--port\", \"8080\"]");
    expect_no_warnings();
}
END_TEST

START_TEST(empty_entrypoint_and_cmd_arrays_are_known)
{
    resolve("{\"entrypoint.goinject.io/app\": \"[]\", \"cmd.goinject.io/app\": \"[]\"}", "app");
    ck_assert_json_eq(facts.entrypoint, "[]");
    ck_assert_json_eq(facts.cmd, "[]");
    expect_no_warnings();
}
END_TEST

START_TEST(entrypoint_keeps_hostile_strings_byte_for_byte)
{
    resolve("{\"entrypoint.goinject.io/app\":"
            " \"[\\\"/app\\\", \\\"a b\\\", \\\"$(VAR)\\\", \\\"\\\", \\\"x\\\\u0000y\\\","
            " \\\"caf\\u00e9\\\"]\"}",
            "app");
    ck_assert_ptr_nonnull(facts.entrypoint);
    ck_assert_uint_eq(json_array_size(facts.entrypoint), 6);
    json_t *nul = json_array_get(facts.entrypoint, 4);
    ck_assert_uint_eq(json_string_length(nul), 3);
    ck_assert(memcmp(json_string_value(nul), "x\0y", 3) == 0);
    ck_assert_str_eq(json_string_value(json_array_get(facts.entrypoint, 5)), "caf\xc3\xa9");
    expect_no_warnings();
}
END_TEST

START_TEST(pod_wide_entrypoint_and_cmd_are_ignored)
{
    resolve("{\"goinject.io/entrypoint\": \"[\\\"/app\\\"]\","
            " \"goinject.io/cmd\": \"[\\\"--serve\\\"]\"}",
            "app");
    ck_assert_ptr_null(facts.entrypoint);
    ck_assert_ptr_null(facts.cmd);
    expect_no_warnings();
}
END_TEST

START_TEST(pod_wide_malformed_entrypoint_is_ignored_silently)
{
    resolve("{\"goinject.io/entrypoint\": \"not json\"}", "app");
    ck_assert_ptr_null(facts.entrypoint);
    expect_no_warnings();
}
END_TEST

/* ---- malformed values: ignored with a warning --------------------------- */

START_TEST(malformed_per_container_static_go_warns_and_is_ignored)
{
    resolve("{\"static-go.goinject.io/app\": \"yes\"}", "app");
    ck_assert_int_eq(facts.static_go, FACT_UNKNOWN);
    static const char *const needles[] = {"static-go.goinject.io/app", "\"app\"", "yes",
                                          "true or false", NULL};
    expect_one_warning(needles);
}
END_TEST

START_TEST(malformed_per_container_value_falls_back_to_pod_wide)
{
    resolve("{\"static-go.goinject.io/app\": \"yes\", \"goinject.io/static-go\": \"true\"}", "app");
    ck_assert_int_eq(facts.static_go, FACT_TRUE);
    static const char *const needles[] = {"static-go.goinject.io/app", NULL};
    expect_one_warning(needles);
}
END_TEST

START_TEST(malformed_pod_wide_static_go_warns_and_is_ignored)
{
    resolve("{\"goinject.io/static-go\": \"yes\"}", "app");
    ck_assert_int_eq(facts.static_go, FACT_UNKNOWN);
    static const char *const needles[] = {"pod annotation", "goinject.io/static-go", "yes", NULL};
    expect_one_warning(needles);
}
END_TEST

START_TEST(malformed_cgo_warns_and_is_ignored)
{
    resolve("{\"cgo.goinject.io/app\": \"TRUE\"}", "app");
    ck_assert_int_eq(facts.cgo, FACT_UNKNOWN);
    static const char *const needles[] = {"cgo.goinject.io/app", "\"app\"", NULL};
    expect_one_warning(needles);
}
END_TEST

START_TEST(malformed_shell_relative_path_warns_and_is_ignored)
{
    resolve("{\"shell.goinject.io/app\": \"bin/sh\"}", "app");
    ck_assert_int_eq(facts.shell, SHELL_UNKNOWN);
    ck_assert_ptr_null(facts.shell_path);
    static const char *const needles[] = {"shell.goinject.io/app", "\"app\"", "bin/sh",
                                          "absolute path or none", NULL};
    expect_one_warning(needles);
}
END_TEST

START_TEST(malformed_shell_other_values_warn)
{
    static const char *const bad[] = {"/", "", "sh", "/bin/../sh", "None", "/bin/sh\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *annotations = json_pack("{s:s}", "goinject.io/shell", bad[i]);
        facts_clear(&facts);
        facts_resolve(cfg, annotations, "app", NULL, &facts, &warnings);
        json_decref(annotations);
        ck_assert_msg(facts.shell == SHELL_UNKNOWN, "shell \"%s\" accepted", bad[i]);
        ck_assert_uint_eq(warnings.count, i + 1);
    }
}
END_TEST

START_TEST(malformed_libc_uclibc_warns_and_is_ignored)
{
    resolve("{\"libc.goinject.io/app\": \"uclibc\"}", "app");
    ck_assert_int_eq(facts.libc, LIBC_UNKNOWN);
    static const char *const needles[] = {"libc.goinject.io/app", "\"app\"", "uclibc",
                                          "glibc, musl or none", NULL};
    expect_one_warning(needles);
}
END_TEST

START_TEST(malformed_entrypoint_not_an_array_warns_and_is_ignored)
{
    resolve("{\"entrypoint.goinject.io/app\": \"/app --serve\"}", "app");
    ck_assert_ptr_null(facts.entrypoint);
    static const char *const needles[] = {"entrypoint.goinject.io/app", "\"app\"",
                                          "JSON array of strings", NULL};
    expect_one_warning(needles);
}
END_TEST

START_TEST(malformed_entrypoint_object_warns_and_is_ignored)
{
    resolve("{\"entrypoint.goinject.io/app\": \"{\\\"a\\\": 1}\"}", "app");
    ck_assert_ptr_null(facts.entrypoint);
    static const char *const needles[] = {"entrypoint.goinject.io/app", NULL};
    expect_one_warning(needles);
}
END_TEST

START_TEST(malformed_entrypoint_array_with_a_number_warns_and_is_ignored)
{
    resolve("{\"entrypoint.goinject.io/app\": \"[\\\"/app\\\", 8080]\"}", "app");
    ck_assert_ptr_null(facts.entrypoint);
    static const char *const needles[] = {"entrypoint.goinject.io/app", "\"app\"", NULL};
    expect_one_warning(needles);
}
END_TEST

START_TEST(malformed_cmd_warns_and_is_ignored)
{
    resolve("{\"cmd.goinject.io/app\": \"[null]\"}", "app");
    ck_assert_ptr_null(facts.cmd);
    static const char *const needles[] = {"cmd.goinject.io/app", "\"app\"", NULL};
    expect_one_warning(needles);
}
END_TEST

START_TEST(non_string_annotation_values_are_absent)
{
    resolve("{\"static-go.goinject.io/app\": true, \"goinject.io/libc\": 1}", "app");
    expect_all_unknown();
    expect_no_warnings();
}
END_TEST

START_TEST(every_malformed_value_gives_its_own_warning)
{
    resolve("{\"static-go.goinject.io/app\": \"yes\", \"cgo.goinject.io/app\": \"no\","
            " \"shell.goinject.io/app\": \"sh\", \"libc.goinject.io/app\": \"uclibc\","
            " \"entrypoint.goinject.io/app\": \"x\", \"cmd.goinject.io/app\": \"y\"}",
            "app");
    expect_all_unknown();
    ck_assert_uint_eq(warnings.count, 6);
    for (size_t i = 0; i < warnings.count; i++) {
        ck_assert_ptr_nonnull(strstr(warnings.items[i], "\"app\""));
        ck_assert_uint_le(strlen(warnings.items[i]), WARNING_MAX_LEN);
    }
}
END_TEST

START_TEST(long_malformed_value_is_cut_in_the_warning)
{
    char value[600];
    memset(value, 'v', sizeof(value) - 1);
    value[sizeof(value) - 1] = '\0';
    json_t *annotations = json_pack("{s:s}", "libc.goinject.io/app", value);
    facts_resolve(cfg, annotations, "app", NULL, &facts, &warnings);
    json_decref(annotations);
    ck_assert_uint_eq(warnings.count, 1);
    ck_assert_uint_le(strlen(warnings.items[0]), WARNING_MAX_LEN);
    ck_assert_ptr_nonnull(strstr(warnings.items[0], "glibc, musl or none"));
}
END_TEST

/* ---- a custom prefix --------------------------------------------------- */

START_TEST(custom_annotation_prefix_is_used_for_both_layers)
{
    char err[256];
    const char *text = "{\"annotationPrefix\": \"apm.example.com\"}";
    config_free(cfg);
    cfg = config_parse(text, strlen(text), err, sizeof(err));
    ck_assert_msg(cfg != NULL, "%s", err);
    resolve("{\"static-go.apm.example.com/app\": \"true\", \"apm.example.com/libc\": \"musl\","
            " \"entrypoint.apm.example.com/app\": \"[\\\"/app\\\"]\","
            " \"goinject.io/shell\": \"/bin/sh\", \"cgo.goinject.io/app\": \"true\"}",
            "app");
    ck_assert_int_eq(facts.static_go, FACT_TRUE);
    ck_assert_int_eq(facts.libc, LIBC_MUSL);
    ck_assert_json_eq(facts.entrypoint, "[\"/app\"]");
    /* The default prefix means nothing now. */
    ck_assert_int_eq(facts.shell, SHELL_UNKNOWN);
    ck_assert_int_eq(facts.cgo, FACT_UNKNOWN);
    expect_no_warnings();
}
END_TEST

START_TEST(custom_prefix_warnings_name_the_custom_annotation)
{
    char err[256];
    const char *text = "{\"annotationPrefix\": \"apm.example.com\"}";
    config_free(cfg);
    cfg = config_parse(text, strlen(text), err, sizeof(err));
    ck_assert_msg(cfg != NULL, "%s", err);
    resolve("{\"static-go.apm.example.com/app\": \"maybe\"}", "app");
    static const char *const needles[] = {"static-go.apm.example.com/app", NULL};
    expect_one_warning(needles);
}
END_TEST

START_TEST(facts_clear_resets_everything)
{
    resolve("{\"goinject.io/static-go\": \"true\", \"goinject.io/shell\": \"/bin/sh\","
            " \"entrypoint.goinject.io/app\": \"[\\\"/app\\\"]\", \"cmd.goinject.io/app\": "
            "\"[]\"}",
            "app");
    facts_clear(&facts);
    expect_all_unknown();
    ck_assert_str_eq(libc_fact_name(LIBC_UNKNOWN), "unknown");
    ck_assert_str_eq(libc_fact_name(LIBC_GLIBC), "glibc");
    ck_assert_str_eq(libc_fact_name(LIBC_MUSL), "musl");
    ck_assert_str_eq(libc_fact_name(LIBC_NONE), "none");
}
END_TEST

/* ---- settled: nothing the registry could change ------------------------ */

static const char not_static_go[] = "{\"goinject.io/static-go\": \"false\"}";

START_TEST(settled_not_static_go_needs_nothing_else)
{
    json_t *container = json_lit("{\"name\": \"app\"}");
    resolve(not_static_go, "app");
    ck_assert(facts_settled(&facts, container, false));
    json_decref(container);
}
END_TEST

/* With libc-specific agent env, even a container that is not static Go needs its libc. */
START_TEST(settled_needs_the_libc_when_the_agent_env_does)
{
    json_t *container = json_lit("{\"name\": \"app\", \"command\": [\"/app\"]}");
    resolve(not_static_go, "app");
    ck_assert(!facts_settled(&facts, container, true));
    resolve("{\"goinject.io/static-go\": \"false\", \"goinject.io/libc\": \"musl\"}", "app");
    ck_assert(facts_settled(&facts, container, true));
    resolve("{\"goinject.io/static-go\": \"false\", \"goinject.io/libc\": \"none\"}", "app");
    ck_assert(facts_settled(&facts, container, true));
    resolve("{\"goinject.io/static-go\": \"true\", \"goinject.io/cgo\": \"false\","
            " \"goinject.io/shell\": \"/bin/sh\"}",
            "app");
    ck_assert(!facts_settled(&facts, container, true));
    ck_assert(!facts_settled(&facts, container, false));
    resolve("{\"goinject.io/static-go\": \"true\", \"goinject.io/cgo\": \"false\","
            " \"goinject.io/shell\": \"/bin/sh\", \"goinject.io/libc\": \"glibc\"}",
            "app");
    ck_assert(facts_settled(&facts, container, true));
    /* Static Go still needs what E needs of the image, whatever the env. */
    json_object_del(container, "command");
    ck_assert(!facts_settled(&facts, container, true));
    json_decref(container);
}
END_TEST

static Suite *facts_suite(void)
{
    Suite *s = suite_create("facts");

    TCase *none = tcase_create("no annotations");
    tcase_add_checked_fixture(none, setup, teardown);
    tcase_add_test(none, no_annotations_object_leaves_every_fact_unknown);
    tcase_add_test(none, annotations_not_an_object_leaves_every_fact_unknown);
    tcase_add_test(none, unrelated_annotations_leave_every_fact_unknown);
    suite_add_tcase(s, none);

    TCase *precedence = tcase_create("precedence");
    tcase_add_checked_fixture(precedence, setup, teardown);
    tcase_add_test(precedence, per_container_static_go_beats_pod_wide);
    tcase_add_test(precedence, per_container_cgo_beats_pod_wide);
    tcase_add_test(precedence, per_container_shell_beats_pod_wide);
    tcase_add_test(precedence, per_container_libc_beats_pod_wide);
    tcase_add_test(precedence, pod_wide_static_go_applies_without_per_container_value);
    tcase_add_test(precedence, pod_wide_cgo_applies_without_per_container_value);
    tcase_add_test(precedence, pod_wide_shell_applies_without_per_container_value);
    tcase_add_test(precedence, pod_wide_libc_applies_without_per_container_value);
    tcase_add_test(precedence, facts_mix_layers_fact_by_fact);
    tcase_add_test(precedence, per_container_values_apply_only_to_their_container);
    suite_add_tcase(s, precedence);

    TCase *argv = tcase_create("entrypoint and cmd");
    tcase_add_checked_fixture(argv, setup, teardown);
    tcase_add_test(argv, entrypoint_and_cmd_per_container);
    tcase_add_test(argv, empty_entrypoint_and_cmd_arrays_are_known);
    tcase_add_test(argv, entrypoint_keeps_hostile_strings_byte_for_byte);
    tcase_add_test(argv, pod_wide_entrypoint_and_cmd_are_ignored);
    tcase_add_test(argv, pod_wide_malformed_entrypoint_is_ignored_silently);
    suite_add_tcase(s, argv);

    TCase *bad = tcase_create("malformed");
    tcase_add_checked_fixture(bad, setup, teardown);
    tcase_add_test(bad, malformed_per_container_static_go_warns_and_is_ignored);
    tcase_add_test(bad, malformed_per_container_value_falls_back_to_pod_wide);
    tcase_add_test(bad, malformed_pod_wide_static_go_warns_and_is_ignored);
    tcase_add_test(bad, malformed_cgo_warns_and_is_ignored);
    tcase_add_test(bad, malformed_shell_relative_path_warns_and_is_ignored);
    tcase_add_test(bad, malformed_shell_other_values_warn);
    tcase_add_test(bad, malformed_libc_uclibc_warns_and_is_ignored);
    tcase_add_test(bad, malformed_entrypoint_not_an_array_warns_and_is_ignored);
    tcase_add_test(bad, malformed_entrypoint_object_warns_and_is_ignored);
    tcase_add_test(bad, malformed_entrypoint_array_with_a_number_warns_and_is_ignored);
    tcase_add_test(bad, malformed_cmd_warns_and_is_ignored);
    tcase_add_test(bad, non_string_annotation_values_are_absent);
    tcase_add_test(bad, every_malformed_value_gives_its_own_warning);
    tcase_add_test(bad, long_malformed_value_is_cut_in_the_warning);
    suite_add_tcase(s, bad);

    TCase *settled = tcase_create("settled");
    tcase_add_checked_fixture(settled, setup, teardown);
    tcase_add_test(settled, settled_not_static_go_needs_nothing_else);
    tcase_add_test(settled, settled_needs_the_libc_when_the_agent_env_does);
    suite_add_tcase(s, settled);

    TCase *prefix = tcase_create("prefix");
    tcase_add_checked_fixture(prefix, setup, teardown);
    tcase_add_test(prefix, custom_annotation_prefix_is_used_for_both_layers);
    tcase_add_test(prefix, custom_prefix_warnings_name_the_custom_annotation);
    tcase_add_test(prefix, facts_clear_resets_everything);
    suite_add_tcase(s, prefix);

    return s;
}

int main(void)
{
    return run_suite(facts_suite());
}
