/* test_argv.c - the Kubernetes argv table and the two wrappers. */
#include "argv.h"
#include "testutil.h"

/* ---- helpers ----------------------------------------------------------- */

/* JSON literal, or NULL for the C string "unset". */
static json_t *lit_or_null(const char *text)
{
    return text ? json_lit(text) : NULL;
}

/* E for the given pod command/args and image ENTRYPOINT/CMD (NULL = unset/unknown). */
static void expect_effective(const char *command, const char *args, const char *entrypoint,
                             const char *cmd, const char *want)
{
    json_t *c = lit_or_null(command), *a = lit_or_null(args);
    json_t *e = lit_or_null(entrypoint), *m = lit_or_null(cmd);
    const char *missing = NULL;
    json_t *argv = argv_effective(c, a, e, m, &missing);
    ck_assert_msg(argv != NULL, "E unknown (missing %s), want %s", missing, want);
    ck_assert_json_eq(argv, want);
    json_decref(argv);
    json_decref(c);
    json_decref(a);
    json_decref(e);
    json_decref(m);
}

static void expect_missing(const char *command, const char *args, const char *entrypoint,
                           const char *cmd, const char *want_missing)
{
    json_t *c = lit_or_null(command), *a = lit_or_null(args);
    json_t *e = lit_or_null(entrypoint), *m = lit_or_null(cmd);
    const char *missing = NULL;
    json_t *argv = argv_effective(c, a, e, m, &missing);
    ck_assert_ptr_null(argv);
    ck_assert_ptr_nonnull(missing);
    ck_assert_str_eq(missing, want_missing);
    json_decref(c);
    json_decref(a);
    json_decref(e);
    json_decref(m);
}

/* a and b are arrays of strings with identical bytes, NULs included. */
static void expect_bytes_equal(const json_t *a, const json_t *b)
{
    ck_assert_uint_eq(json_array_size(a), json_array_size(b));
    for (size_t i = 0; i < json_array_size(a); i++) {
        const json_t *x = json_array_get(a, i), *y = json_array_get(b, i);
        ck_assert_msg(json_is_string(x) && json_is_string(y), "element %zu is not a string", i);
        ck_assert_uint_eq(json_string_length(x), json_string_length(y));
        ck_assert_msg(memcmp(json_string_value(x), json_string_value(y), json_string_length(x)) ==
                          0,
                      "element %zu differs", i);
    }
}

/* The strings a hostile pod can hand us: every one must come out unchanged. */
static const char hostile_argv[] =
    "[\"/app\", \"it's\", \"say \\\"hi\\\"\", \"two words\", \"$(HOME)\", \"$$(HOME)\", \"$$\","
    " \"`id`\", \"$(id)\", \"line1\\nline2\", \"\", \"nul\\u0000byte\", \"caf\\u00e9 "
    "\\u65e5\\u672c\","
    " \"\\\\\", \"-c\", \"--\", \"exec \\\"$0\\\" \\\"$@\\\"\", \"; rm -rf / #\", \"\\t\"]";

/* Checks a wrapper's output: command is prefix + [E[0]], args is E[1:] byte for byte. */
static void expect_wrapped(const json_t *command, const json_t *args, const json_t *prefix,
                           const json_t *argv)
{
    size_t n = json_array_size(prefix);
    ck_assert_uint_eq(json_array_size(command), n + 1);
    for (size_t i = 0; i < n; i++)
        ck_assert(json_equal(json_array_get(command, i), json_array_get(prefix, i)));
    json_t *head = json_array();
    json_array_append(head, json_array_get(command, n));
    json_t *want_head = json_array();
    json_array_append(want_head, json_array_get(argv, 0));
    expect_bytes_equal(head, want_head);
    json_decref(head);
    json_decref(want_head);

    json_t *tail = json_array();
    for (size_t i = 1; i < json_array_size(argv); i++)
        json_array_append(tail, json_array_get(argv, i));
    if (json_array_size(tail) == 0)
        ck_assert_ptr_null(args);
    else
        expect_bytes_equal(args, tail);
    json_decref(tail);

    /* Together they execute prefix + E: argv_effective over the result agrees. */
    const char *missing = NULL;
    json_t *executed = argv_effective(command, args, NULL, NULL, &missing);
    ck_assert_ptr_nonnull(executed);
    json_t *want = json_deep_copy(prefix);
    json_array_extend(want, (json_t *)argv);
    expect_bytes_equal(executed, want);
    json_decref(want);
    json_decref(executed);
}

/* ---- the Kubernetes argv table ----------------------------------------- */

START_TEST(command_set_args_set_runs_command_plus_args)
{
    expect_effective("[\"/app\", \"-v\"]", "[\"serve\"]", "[\"/entry\"]", "[\"cmd\"]",
                     "[\"/app\", \"-v\", \"serve\"]");
}
END_TEST

START_TEST(command_set_args_unset_runs_command_and_ignores_image_cmd)
{
    expect_effective("[\"/app\", \"-v\"]", NULL, "[\"/entry\"]", "[\"cmd\"]", "[\"/app\", \"-v\"]");
}
END_TEST

START_TEST(command_unset_args_set_runs_image_entrypoint_plus_args)
{
    expect_effective(NULL, "[\"serve\", \"--port=1\"]", "[\"/entry\", \"-x\"]", "[\"cmd\"]",
                     "[\"/entry\", \"-x\", \"serve\", \"--port=1\"]");
}
END_TEST

START_TEST(command_unset_args_unset_runs_image_entrypoint_plus_image_cmd)
{
    expect_effective(NULL, NULL, "[\"/entry\"]", "[\"cmd\", \"arg\"]",
                     "[\"/entry\", \"cmd\", \"arg\"]");
}
END_TEST

START_TEST(empty_command_counts_as_unset)
{
    expect_effective("[]", "[\"serve\"]", "[\"/entry\"]", "[\"cmd\"]", "[\"/entry\", \"serve\"]");
    expect_effective("[]", NULL, "[\"/entry\"]", "[\"cmd\"]", "[\"/entry\", \"cmd\"]");
}
END_TEST

START_TEST(empty_args_count_as_unset)
{
    expect_effective(NULL, "[]", "[\"/entry\"]", "[\"cmd\"]", "[\"/entry\", \"cmd\"]");
    expect_effective("[\"/app\"]", "[]", "[\"/entry\"]", "[\"cmd\"]", "[\"/app\"]");
    expect_effective("[]", "[]", "[\"/entry\"]", "[\"cmd\"]", "[\"/entry\", \"cmd\"]");
}
END_TEST

START_TEST(null_command_and_args_count_as_unset)
{
    expect_effective("null", "null", "[\"/entry\"]", "[\"cmd\"]", "[\"/entry\", \"cmd\"]");
}
END_TEST

START_TEST(empty_image_entrypoint_runs_image_cmd)
{
    expect_effective(NULL, NULL, "[]", "[\"/bin/app\", \"x\"]", "[\"/bin/app\", \"x\"]");
    expect_effective(NULL, "[\"/bin/app\"]", "[]", NULL, "[\"/bin/app\"]");
}
END_TEST

START_TEST(unknown_entrypoint_is_reported_when_command_unset)
{
    expect_missing(NULL, NULL, NULL, "[\"cmd\"]", "entrypoint");
    expect_missing(NULL, "[\"serve\"]", NULL, "[\"cmd\"]", "entrypoint");
    expect_missing("[]", "[\"serve\"]", NULL, NULL, "entrypoint");
}
END_TEST

START_TEST(unknown_cmd_is_reported_when_args_unset)
{
    expect_missing(NULL, NULL, "[\"/entry\"]", NULL, "cmd");
    expect_missing(NULL, "[]", "[\"/entry\"]", NULL, "cmd");
}
END_TEST

START_TEST(unknown_cmd_does_not_matter_when_args_set)
{
    expect_effective(NULL, "[\"serve\"]", "[\"/entry\"]", NULL, "[\"/entry\", \"serve\"]");
}
END_TEST

START_TEST(unknown_entrypoint_and_cmd_do_not_matter_when_command_set)
{
    expect_effective("[\"/app\"]", NULL, NULL, NULL, "[\"/app\"]");
    expect_effective("[\"/app\"]", "[\"x\"]", NULL, NULL, "[\"/app\", \"x\"]");
}
END_TEST

START_TEST(empty_e_is_reported_as_command)
{
    expect_missing(NULL, NULL, "[]", "[]", "command");
    expect_missing("[]", "[]", "[]", "[]", "command");
}
END_TEST

/* The kubelet expands $(VAR) in command and args, never in the image's ENTRYPOINT and CMD: strings
 * of the image moved into the pod get every '$' doubled so the container still gets their bytes. */
START_TEST(image_strings_are_escaped_for_the_kubelet)
{
    expect_effective(NULL, NULL, "[\"/app\", \"$(HOME)\"]", "[\"$$x\", \"a$\", \"plain\", \"\"]",
                     "[\"/app\", \"$$(HOME)\", \"$$$$x\", \"a$$\", \"plain\", \"\"]");
    expect_effective(NULL, "[\"$(POD)\", \"$$\"]", "[\"/bin/$x\"]", "[\"$(CMD)\"]",
                     "[\"/bin/$$x\", \"$(POD)\", \"$$\"]");
    expect_effective("[\"$(C)\"]", "[\"$(A)\"]", "[\"$(E)\"]", "[\"$(M)\"]",
                     "[\"$(C)\", \"$(A)\"]");
}
END_TEST

START_TEST(literal_for_pod_doubles_every_dollar_and_keeps_other_bytes)
{
    json_t *in = json_stringn("$\0$(A)\n$$", 9);
    json_t *out = argv_literal_for_pod(in);
    ck_assert_uint_eq(json_string_length(out), 13);
    ck_assert_mem_eq(json_string_value(out), "$$\0$$(A)\n$$$$", 13);
    json_decref(out);
    json_t *plain = json_string("no dollar");
    out = argv_literal_for_pod(plain);
    ck_assert_ptr_eq(out, plain);
    json_decref(out);
    json_decref(plain);
    json_decref(in);
}
END_TEST

START_TEST(wrapper_paths_are_literal)
{
    json_t *argv = json_lit("[\"/app\"]");
    json_t *args = NULL;
    json_t *command = argv_shell_wrapper("/opt/$(X)/sh", argv, &args);
    ck_assert_str_eq(json_string_value(json_array_get(command, 0)), "/opt/$$(X)/sh");
    json_decref(command);
    command = argv_tini_wrapper("/agent$/tini", argv, &args);
    ck_assert_str_eq(json_string_value(json_array_get(command, 0)), "/agent$$/tini");
    json_decref(command);
    json_decref(argv);
}
END_TEST

START_TEST(effective_argv_keeps_hostile_strings_byte_for_byte)
{
    json_t *command = json_lit(hostile_argv);
    json_t *args = json_lit("[\"\", \"\\u0000\", \"$(A)$(B)\"]");
    const char *missing = NULL;
    json_t *argv = argv_effective(command, args, NULL, NULL, &missing);
    ck_assert_ptr_nonnull(argv);
    json_t *want = json_deep_copy(command);
    json_array_extend(want, args);
    expect_bytes_equal(argv, want);
    json_decref(want);
    json_decref(argv);
    json_decref(args);
    json_decref(command);
}
END_TEST

START_TEST(pod_fields_are_valid_only_as_arrays_of_strings)
{
    ck_assert(argv_is_valid_field(NULL));
    json_t *v = json_lit("null");
    ck_assert(argv_is_valid_field(v));
    json_decref(v);
    static const char *const good[] = {"[]", "[\"a\"]", "[\"a\", \"\"]"};
    static const char *const bad[] = {"\"/app\"",      "{}",        "[1]",
                                      "[\"a\", null]", "[[\"a\"]]", "true"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        v = json_lit(good[i]);
        ck_assert_msg(argv_is_valid_field(v), "%s should be valid", good[i]);
        json_decref(v);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v = json_lit(bad[i]);
        ck_assert_msg(!argv_is_valid_field(v), "%s should be invalid", bad[i]);
        json_decref(v);
    }
}
END_TEST

START_TEST(effective_argv_does_not_modify_its_inputs)
{
    json_t *command = json_lit("[\"/app\"]");
    json_t *args = json_lit("[\"x\"]");
    const char *missing = NULL;
    json_t *argv = argv_effective(command, args, NULL, NULL, &missing);
    json_array_append_new(argv, json_string("more"));
    ck_assert_json_eq(command, "[\"/app\"]");
    ck_assert_json_eq(args, "[\"x\"]");
    json_decref(argv);
    json_decref(command);
    json_decref(args);
}
END_TEST

/* ---- the shell wrapper ------------------------------------------------- */

START_TEST(shell_wrapper_is_exactly_the_contract)
{
    json_t *argv = json_lit("[\"/app\", \"--port\", \"8080\"]");
    json_t *args = NULL;
    json_t *command = argv_shell_wrapper("/bin/sh", argv, &args);
    ck_assert_json_eq(command, "[\"/bin/sh\", \"-c\", \"exec \\\"$0\\\" \\\"$@\\\"\", \"/app\"]");
    ck_assert_json_eq(args, "[\"--port\", \"8080\"]");
    ck_assert_str_eq(json_string_value(json_array_get(command, 2)), "exec \"$0\" \"$@\"");
    json_decref(command);
    json_decref(args);
    json_decref(argv);
}
END_TEST

START_TEST(shell_wrapper_omits_args_when_e_has_one_element)
{
    json_t *argv = json_lit("[\"/app\"]");
    json_t *args = json_lit("[\"sentinel\"]");
    json_t *sentinel = args;
    json_t *command = argv_shell_wrapper("/bin/bash", argv, &args);
    ck_assert_json_eq(command, "[\"/bin/bash\", \"-c\", \"exec \\\"$0\\\" \\\"$@\\\"\", \"/app\"]");
    ck_assert_ptr_null(args);
    json_decref(sentinel);
    json_decref(command);
    json_decref(argv);
}
END_TEST

START_TEST(shell_wrapper_keeps_hostile_arguments_byte_for_byte)
{
    json_t *argv = json_lit(hostile_argv);
    json_t *args = NULL;
    json_t *command = argv_shell_wrapper("/bin/sh", argv, &args);
    json_t *prefix = json_lit("[\"/bin/sh\", \"-c\", \"exec \\\"$0\\\" \\\"$@\\\"\"]");
    expect_wrapped(command, args, prefix, argv);
    json_decref(prefix);
    json_decref(command);
    json_decref(args);
    json_decref(argv);
}
END_TEST

START_TEST(shell_wrapper_keeps_a_hostile_first_element)
{
    json_t *argv = json_lit("[\"/my app/$(BIN) \\\"x\\\"\\u0000`id`\", \"\"]");
    json_t *args = NULL;
    json_t *command = argv_shell_wrapper("/bin/sh", argv, &args);
    json_t *prefix = json_lit("[\"/bin/sh\", \"-c\", \"exec \\\"$0\\\" \\\"$@\\\"\"]");
    expect_wrapped(command, args, prefix, argv);
    /* An empty last argument is still an argument. */
    ck_assert_json_eq(args, "[\"\"]");
    json_decref(prefix);
    json_decref(command);
    json_decref(args);
    json_decref(argv);
}
END_TEST

START_TEST(shell_wrapper_does_not_modify_e)
{
    json_t *argv = json_lit("[\"/app\", \"a\"]");
    json_t *args = NULL;
    json_t *command = argv_shell_wrapper("/bin/sh", argv, &args);
    json_array_append_new(args, json_string("changed"));
    ck_assert_json_eq(argv, "[\"/app\", \"a\"]");
    json_decref(command);
    json_decref(args);
    json_decref(argv);
}
END_TEST

/* ---- the tini wrapper -------------------------------------------------- */

START_TEST(tini_wrapper_is_exactly_the_contract)
{
    json_t *argv = json_lit("[\"/app\", \"--port\", \"8080\"]");
    json_t *args = NULL;
    json_t *command = argv_tini_wrapper("/goinject-agent/tini/glibc/tini", argv, &args);
    ck_assert_json_eq(command, "[\"/goinject-agent/tini/glibc/tini\", \"--\", \"/app\"]");
    ck_assert_json_eq(args, "[\"--port\", \"8080\"]");
    json_decref(command);
    json_decref(args);
    json_decref(argv);
}
END_TEST

START_TEST(tini_wrapper_omits_args_when_e_has_one_element)
{
    json_t *argv = json_lit("[\"/app\"]");
    json_t *args = NULL;
    json_t *command = argv_tini_wrapper("/goinject-agent/tini/musl/tini", argv, &args);
    ck_assert_json_eq(command, "[\"/goinject-agent/tini/musl/tini\", \"--\", \"/app\"]");
    ck_assert_ptr_null(args);
    json_decref(command);
    json_decref(argv);
}
END_TEST

START_TEST(tini_wrapper_keeps_hostile_arguments_byte_for_byte)
{
    json_t *argv = json_lit(hostile_argv);
    json_t *args = NULL;
    json_t *command = argv_tini_wrapper("/goinject-agent/tini/glibc/tini", argv, &args);
    json_t *prefix = json_lit("[\"/goinject-agent/tini/glibc/tini\", \"--\"]");
    expect_wrapped(command, args, prefix, argv);
    json_decref(prefix);
    json_decref(command);
    json_decref(args);
    json_decref(argv);
}
END_TEST

/* ---- argv_starts_with_parent ------------------------------------------- */

static const char *const parents[] = {
    "sh",
    "bash",
    "ash",
    "dash",
    "tini",
    "dumb-init",
    "/bin/sh",
    "/bin/bash",
    "/bin/ash",
    "/usr/bin/dash",
    "/sbin/tini",
    "/usr/bin/dumb-init",
    "/goinject-agent/tini/glibc/tini",
    "./sh",
};

START_TEST(parent_programs_are_recognised_by_base_name)
{
    const char *name = parents[_i];
    json_t *argv = json_pack("[ss]", name, "/app");
    ck_assert_msg(argv_starts_with_parent(argv), "%s should count as a parent", name);
    json_decref(argv);
}
END_TEST

static const char *const not_parents[] = {
    "shx", "/app",        "",        "/bin/", "bash5", "/usr/bin/zsh",
    "SH",  "tini-static", "/sh/app", "dumb",  "init",  "-sh",
};

START_TEST(other_programs_are_not_parents)
{
    const char *name = not_parents[_i];
    json_t *argv = json_pack("[ss]", name, "sh");
    ck_assert_msg(!argv_starts_with_parent(argv), "\"%s\" should not count as a parent", name);
    json_decref(argv);
}
END_TEST

START_TEST(empty_or_non_string_argv_has_no_parent)
{
    json_t *argv = json_array();
    ck_assert(!argv_starts_with_parent(argv));
    json_decref(argv);
    argv = json_lit("[1, \"sh\"]");
    ck_assert(!argv_starts_with_parent(argv));
    json_decref(argv);
    ck_assert(!argv_starts_with_parent(NULL));
}
END_TEST

static Suite *argv_suite(void)
{
    Suite *s = suite_create("argv");

    TCase *table = tcase_create("argv table");
    tcase_add_test(table, command_set_args_set_runs_command_plus_args);
    tcase_add_test(table, command_set_args_unset_runs_command_and_ignores_image_cmd);
    tcase_add_test(table, command_unset_args_set_runs_image_entrypoint_plus_args);
    tcase_add_test(table, command_unset_args_unset_runs_image_entrypoint_plus_image_cmd);
    tcase_add_test(table, empty_command_counts_as_unset);
    tcase_add_test(table, empty_args_count_as_unset);
    tcase_add_test(table, null_command_and_args_count_as_unset);
    tcase_add_test(table, empty_image_entrypoint_runs_image_cmd);
    tcase_add_test(table, unknown_entrypoint_is_reported_when_command_unset);
    tcase_add_test(table, unknown_cmd_is_reported_when_args_unset);
    tcase_add_test(table, unknown_cmd_does_not_matter_when_args_set);
    tcase_add_test(table, unknown_entrypoint_and_cmd_do_not_matter_when_command_set);
    tcase_add_test(table, empty_e_is_reported_as_command);
    tcase_add_test(table, effective_argv_keeps_hostile_strings_byte_for_byte);
    tcase_add_test(table, pod_fields_are_valid_only_as_arrays_of_strings);
    tcase_add_test(table, effective_argv_does_not_modify_its_inputs);
    tcase_add_test(table, image_strings_are_escaped_for_the_kubelet);
    tcase_add_test(table, literal_for_pod_doubles_every_dollar_and_keeps_other_bytes);
    tcase_add_test(table, wrapper_paths_are_literal);
    suite_add_tcase(s, table);

    TCase *shell = tcase_create("shell wrapper");
    tcase_add_test(shell, shell_wrapper_is_exactly_the_contract);
    tcase_add_test(shell, shell_wrapper_omits_args_when_e_has_one_element);
    tcase_add_test(shell, shell_wrapper_keeps_hostile_arguments_byte_for_byte);
    tcase_add_test(shell, shell_wrapper_keeps_a_hostile_first_element);
    tcase_add_test(shell, shell_wrapper_does_not_modify_e);
    suite_add_tcase(s, shell);

    TCase *tini = tcase_create("tini wrapper");
    tcase_add_test(tini, tini_wrapper_is_exactly_the_contract);
    tcase_add_test(tini, tini_wrapper_omits_args_when_e_has_one_element);
    tcase_add_test(tini, tini_wrapper_keeps_hostile_arguments_byte_for_byte);
    suite_add_tcase(s, tini);

    TCase *parent = tcase_create("parent");
    tcase_add_loop_test(parent, parent_programs_are_recognised_by_base_name, 0,
                        sizeof(parents) / sizeof(parents[0]));
    tcase_add_loop_test(parent, other_programs_are_not_parents, 0,
                        sizeof(not_parents) / sizeof(not_parents[0]));
    tcase_add_test(parent, empty_or_non_string_argv_has_no_parent);
    suite_add_tcase(s, parent);

    return s;
}

int main(void)
{
    return run_suite(argv_suite());
}
