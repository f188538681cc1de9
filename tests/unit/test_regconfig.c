/*
 * test_regconfig.c - the configuration's "registry" block: defaults, each
 * field's validation (the error names the field), the CA file read at load,
 * and the JSON form.
 */
#include <stdio.h>
#include <unistd.h>

#include "certgen.h"
#include "config.h"
#include "regconfig.h"
#include "registry.h"
#include "testutil.h"

static char err[512];

/* ---- helpers ------------------------------------------------------------ */

/* config_parse of {"registry": BLOCK}; fails the test when refused. */
static struct goinject_config *block_ok(const char *block)
{
    char text[4096];
    snprintf(text, sizeof(text), "{\"registry\": %s}", block);
    err[0] = '\0';
    unsetenv("POD_NAMESPACE");
    struct goinject_config *cfg = config_parse(text, strlen(text), err, sizeof(err));
    ck_assert_msg(cfg != NULL, "refused: %s: %s", err, text);
    return cfg;
}

/*
 * {"registry": BLOCK} must be refused with a one-line error that starts with
 * field, followed by ':', '[' or ' ' (the CA file's path).
 */
static void block_refused(const char *block, const char *field)
{
    char text[4096];
    snprintf(text, sizeof(text), "{\"registry\": %s}", block);
    err[0] = '\0';
    struct goinject_config *cfg = config_parse(text, strlen(text), err, sizeof(err));
    ck_assert_msg(cfg == NULL, "accepted, want an error about %s: %s", field, text);
    size_t n = strlen(field);
    ck_assert_msg(strncmp(err, field, n) == 0 && strchr(":[ ", err[n]) && err[n],
                  "error \"%s\" does not name %s", err, field);
    ck_assert_msg(strchr(err, '\n') == NULL, "error is not one line: %s", err);
}

/* A temporary file holding text; its path into path. */
static void temp_file(char *path, size_t len, const char *text)
{
    snprintf(path, len, "/tmp/goinject-regconfig-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

/* ---- defaults --------------------------------------------------------------- */

START_TEST(defaults)
{
    struct registry_config rc;
    memset(&rc, 'x', sizeof(rc));
    registry_config_defaults(&rc);
    ck_assert(rc.enabled);
    ck_assert_uint_eq(rc.budget_ms, REGCONFIG_DEFAULT_BUDGET_MS);
    ck_assert_uint_eq(rc.budget_ms, 2000);
    ck_assert_str_eq(rc.platform, "linux/amd64");
    ck_assert_ptr_null(rc.ca_file);
    ck_assert_ptr_null(rc.credentials_file);
    ck_assert_uint_eq(rc.ninsecure, 0);
    ck_assert_uint_eq(rc.nmirrors, 0);
    ck_assert(!rc.pod_pull_secrets);
    ck_assert_uint_eq(rc.tag_ttl_s, REGCONFIG_DEFAULT_TTL_S);
    ck_assert_uint_eq(rc.tag_ttl_s, 300);
    ck_assert_ptr_null(rc.settings);
    registry_config_free(&rc);
}
END_TEST

START_TEST(a_config_without_the_block_has_an_enabled_layer)
{
    unsetenv("POD_NAMESPACE");
    struct goinject_config *cfg = config_parse(NULL, 0, err, sizeof(err));
    ck_assert_ptr_nonnull(cfg);
    ck_assert(cfg->registry.enabled);
    ck_assert_ptr_nonnull(cfg->registry.settings);
    json_t *json = registry_config_to_json(&cfg->registry);
    ck_assert_json_eq(json, "{\"enabled\": true, \"budgetMs\": 2000, \"platform\": \"linux/amd64\","
                            " \"insecureHosts\": [], \"podPullSecrets\": false, \"mirrors\": {},"
                            " \"tagTTLSeconds\": 300}");
    json_decref(json);
    config_free(cfg);
}
END_TEST

START_TEST(an_empty_block_keeps_the_defaults)
{
    struct goinject_config *cfg = block_ok("{}");
    ck_assert(cfg->registry.enabled);
    ck_assert_uint_eq(cfg->registry.budget_ms, 2000);
    config_free(cfg);
}
END_TEST

START_TEST(a_disabled_layer_has_no_client_settings)
{
    struct goinject_config *cfg = block_ok("{\"enabled\": false}");
    ck_assert(!cfg->registry.enabled);
    ck_assert_ptr_null(cfg->registry.settings);
    config_free(cfg);
}
END_TEST

/* ---- each field --------------------------------------------------------------- */

START_TEST(registry_must_be_an_object)
{
    block_refused("[]", "registry");
    block_refused("true", "registry");
    ck_assert_ptr_nonnull(strstr(err, "must be an object"));
}
END_TEST

START_TEST(enabled_must_be_a_boolean)
{
    block_refused("{\"enabled\": \"yes\"}", "registry.enabled");
    block_refused("{\"enabled\": 1}", "registry.enabled");
}
END_TEST

START_TEST(budget_below_the_minimum_is_refused)
{
    block_refused("{\"budgetMs\": 99}", "registry.budgetMs");
    block_refused("{\"budgetMs\": 0}", "registry.budgetMs");
    block_refused("{\"budgetMs\": -1}", "registry.budgetMs");
    ck_assert_ptr_nonnull(strstr(err, "100"));
}
END_TEST

START_TEST(budget_above_the_maximum_is_refused)
{
    block_refused("{\"budgetMs\": 29001}", "registry.budgetMs");
    block_refused("{\"budgetMs\": 4294967396}", "registry.budgetMs"); /* 2^32 + 100 */
    ck_assert_ptr_nonnull(strstr(err, "29000"));
}
END_TEST

START_TEST(budget_must_be_an_integer)
{
    block_refused("{\"budgetMs\": \"2000\"}", "registry.budgetMs");
    block_refused("{\"budgetMs\": 2000.5}", "registry.budgetMs");
    block_refused("{\"budgetMs\": 2000.0}", "registry.budgetMs");
    block_refused("{\"budgetMs\": null}", "registry.budgetMs");
}
END_TEST

START_TEST(budget_bounds_are_inclusive)
{
    struct goinject_config *cfg = block_ok("{\"budgetMs\": 100}");
    ck_assert_uint_eq(cfg->registry.budget_ms, REGCONFIG_MIN_BUDGET_MS);
    config_free(cfg);
    cfg = block_ok("{\"budgetMs\": 29000}");
    ck_assert_uint_eq(cfg->registry.budget_ms, REGCONFIG_MAX_BUDGET_MS);
    config_free(cfg);
}
END_TEST

START_TEST(platform_must_be_os_arch_variant)
{
    block_refused("{\"platform\": \"linux\"}", "registry.platform");
    block_refused("{\"platform\": \"Linux/amd64\"}", "registry.platform");
    block_refused("{\"platform\": \"linux/arm64/v8/x\"}", "registry.platform");
    block_refused("{\"platform\": \"\"}", "registry.platform");
    block_refused("{\"platform\": 64}", "registry.platform");
    struct goinject_config *cfg = block_ok("{\"platform\": \"linux/arm/v7\"}");
    ck_assert_str_eq(cfg->registry.platform, "linux/arm/v7");
    config_free(cfg);
}
END_TEST

START_TEST(ca_file_must_be_absolute_and_clean)
{
    block_refused("{\"caFile\": \"ca.pem\"}", "registry.caFile");
    block_refused("{\"caFile\": \"/etc/../ca.pem\"}", "registry.caFile");
    block_refused("{\"caFile\": \"\"}", "registry.caFile");
    block_refused("{\"caFile\": [\"/ca.pem\"]}", "registry.caFile");
    /* A NUL inside the string (jansson keeps it when asked to) is refused too. */
    struct registry_config rc;
    registry_config_defaults(&rc);
    json_t *v = json_lit("{\"caFile\": \"/etc/ca\\u0000.pem\"}");
    ck_assert_int_eq(registry_config_parse(v, &rc, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "registry.caFile:"));
    json_decref(v);
    registry_config_free(&rc);
}
END_TEST

START_TEST(a_missing_ca_file_refuses_the_config)
{
    block_refused("{\"caFile\": \"/nonexistent/goinject/ca.pem\"}", "registry.caFile");
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/goinject/ca.pem"));
    ck_assert_ptr_nonnull(strstr(err, "No such file"));
}
END_TEST

START_TEST(a_ca_file_that_cannot_be_read_refuses_the_config)
{
    block_refused("{\"caFile\": \"/tmp\"}", "registry.caFile");
}
END_TEST

/* A real CA, as a registry's would be: certgen's, in a fresh directory. */
static void real_ca(char *dir, size_t dirlen, char *path, size_t pathlen)
{
    const char *hosts[] = {"registry.example"};
    char why[256];
    snprintf(dir, dirlen, "/tmp/goinject-regconfig-ca-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    struct certgen_options opts = {dir, hosts, 1, 1};
    ck_assert_msg(certgen_write(&opts, why, sizeof(why)) == 0, "%s", why);
    snprintf(path, pathlen, "%s/ca.crt", dir);
}

static void remove_ca(const char *dir)
{
    const char *files[] = {"ca.crt", "tls.crt", "tls.key"};
    char path[128];
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

START_TEST(a_ca_file_without_a_certificate_refuses_the_config)
{
    char path[64], block[256];
    temp_file(path, sizeof(path), "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n");
    snprintf(block, sizeof(block), "{\"caFile\": \"%s\"}", path);
    block_refused(block, "registry.caFile");
    unlink(path);
}
END_TEST

START_TEST(a_ca_file_is_read_at_load)
{
    char dir[64], path[96], block[256];
    real_ca(dir, sizeof(dir), path, sizeof(path));
    snprintf(block, sizeof(block), "{\"caFile\": \"%s\"}", path);
    struct goinject_config *cfg = block_ok(block);
    ck_assert_str_eq(cfg->registry.ca_file, path);
    ck_assert_ptr_nonnull(cfg->registry.settings);
    ck_assert_ptr_nonnull(cfg->registry.settings->ca);
    config_free(cfg);
    remove_ca(dir);
}
END_TEST

/* The layer is off: nothing reads the CA file, so a missing one is no error. */
START_TEST(a_disabled_layer_does_not_read_its_ca_file)
{
    struct goinject_config *cfg =
        block_ok("{\"enabled\": false, \"caFile\": \"/nonexistent/goinject/ca.pem\"}");
    ck_assert_ptr_null(cfg->registry.settings);
    config_free(cfg);
}
END_TEST

START_TEST(credentials_file_must_be_absolute_and_may_not_exist_yet)
{
    block_refused("{\"credentialsFile\": \".dockerconfigjson\"}", "registry.credentialsFile");
    block_refused("{\"credentialsFile\": 1}", "registry.credentialsFile");
    /* Read when lookups need it, and re-read when it changes: it may appear later. */
    struct goinject_config *cfg =
        block_ok("{\"credentialsFile\": \"/nonexistent/goinject/.dockerconfigjson\"}");
    ck_assert_str_eq(cfg->registry.credentials_file, "/nonexistent/goinject/.dockerconfigjson");
    config_free(cfg);
}
END_TEST

START_TEST(insecure_hosts_must_be_an_array)
{
    block_refused("{\"insecureHosts\": \"localhost:5000\"}", "registry.insecureHosts");
    block_refused("{\"insecureHosts\": {}}", "registry.insecureHosts");
}
END_TEST

START_TEST(insecure_hosts_entries_are_host_or_host_port)
{
    block_refused("{\"insecureHosts\": [\"http://x\"]}", "registry.insecureHosts[0]");
    block_refused("{\"insecureHosts\": [\"ok:5000\", \"x/y\"]}", "registry.insecureHosts[1]");
    block_refused("{\"insecureHosts\": [5000]}", "registry.insecureHosts[0]");
    block_refused("{\"insecureHosts\": [\"\"]}", "registry.insecureHosts[0]");
    block_refused("{\"insecureHosts\": [\"-host\"]}", "registry.insecureHosts[0]");
    block_refused("{\"insecureHosts\": [\"a b\"]}", "registry.insecureHosts[0]");
    struct goinject_config *cfg =
        block_ok("{\"insecureHosts\": [\"localhost:5000\", \"[::1]:5000\", \"10.0.0.1\"]}");
    ck_assert_uint_eq(cfg->registry.ninsecure, 3);
    ck_assert_str_eq(cfg->registry.insecure_hosts[1], "[::1]:5000");
    config_free(cfg);
}
END_TEST

START_TEST(insecure_hosts_are_bounded)
{
    char block[REGCONFIG_MAX_HOSTS * 16 + 64], *p = block;
    p += sprintf(p, "{\"insecureHosts\": [");
    for (int i = 0; i <= REGCONFIG_MAX_HOSTS; i++)
        p += sprintf(p, "%s\"h%d:5000\"", i ? "," : "", i);
    sprintf(p, "]}");
    block_refused(block, "registry.insecureHosts");
}
END_TEST

START_TEST(mirrors_must_be_an_object)
{
    block_refused("{\"mirrors\": [\"docker.io\"]}", "registry.mirrors");
    block_refused("{\"mirrors\": \"mirror:5000\"}", "registry.mirrors");
}
END_TEST

START_TEST(a_mirror_value_must_be_a_host)
{
    block_refused("{\"mirrors\": {\"docker.io\": 5000}}", "registry.mirrors[\"docker.io\"]");
    block_refused("{\"mirrors\": {\"docker.io\": \"http://mirror\"}}",
                  "registry.mirrors[\"docker.io\"]");
    block_refused("{\"mirrors\": {\"docker.io\": \"\"}}", "registry.mirrors[\"docker.io\"]");
}
END_TEST

START_TEST(a_mirror_key_must_be_a_registry)
{
    block_refused("{\"mirrors\": {\"http://docker.io\": \"mirror:5000\"}}",
                  "registry.mirrors[\"http://docker.io\"]");
    block_refused("{\"mirrors\": {\"\": \"mirror:5000\"}}", "registry.mirrors[\"\"]");
}
END_TEST

START_TEST(tag_ttl_is_an_integer_from_zero_to_a_day)
{
    block_refused("{\"tagTTLSeconds\": -1}", "registry.tagTTLSeconds");
    block_refused("{\"tagTTLSeconds\": 86401}", "registry.tagTTLSeconds");
    block_refused("{\"tagTTLSeconds\": \"300\"}", "registry.tagTTLSeconds");
    struct goinject_config *cfg = block_ok("{\"tagTTLSeconds\": 0}");
    ck_assert_uint_eq(cfg->registry.tag_ttl_s, 0);
    config_free(cfg);
    cfg = block_ok("{\"tagTTLSeconds\": 86400}");
    ck_assert_uint_eq(cfg->registry.tag_ttl_s, REGCONFIG_MAX_TTL_S);
    config_free(cfg);
}
END_TEST

START_TEST(pod_pull_secrets_must_be_a_boolean)
{
    block_refused("{\"podPullSecrets\": \"true\"}", "registry.podPullSecrets");
}
END_TEST

START_TEST(an_unknown_field_is_named)
{
    block_refused("{\"foo\": 1}", "registry.foo");
    ck_assert_ptr_nonnull(strstr(err, "unknown field"));
    block_refused("{\"budgetMS\": 2000}", "registry.budgetMS"); /* names are case-sensitive */
}
END_TEST

/* ---- parsing over an existing block ------------------------------------------ */

/* A second block replaces lists, it does not add to them; a refused one leaks nothing. */
START_TEST(a_second_parse_replaces_the_lists)
{
    struct registry_config rc;
    registry_config_defaults(&rc);
    json_t *one = json_lit("{\"insecureHosts\": [\"a:1\", \"b:2\"], \"mirrors\": {\"x\": \"y\"},"
                           " \"caFile\": \"/one.pem\", \"credentialsFile\": \"/one.json\"}");
    json_t *two = json_lit("{\"insecureHosts\": [\"c:3\"], \"mirrors\": {},"
                           " \"caFile\": \"/two.pem\"}");
    json_t *bad = json_lit("{\"insecureHosts\": [\"d:4\", \"http://e\"],"
                           " \"mirrors\": {\"p\": \"q\", \"r\": 1}}");
    ck_assert_int_eq(registry_config_parse(one, &rc, err, sizeof(err)), 0);
    ck_assert_int_eq(registry_config_parse(two, &rc, err, sizeof(err)), 0);
    ck_assert_uint_eq(rc.ninsecure, 1);
    ck_assert_str_eq(rc.insecure_hosts[0], "c:3");
    ck_assert_uint_eq(rc.nmirrors, 0);
    ck_assert_str_eq(rc.ca_file, "/two.pem");
    ck_assert_str_eq(rc.credentials_file, "/one.json");
    ck_assert_int_eq(registry_config_parse(bad, &rc, err, sizeof(err)), -1);
    registry_config_free(&rc); /* the sanitizers and valgrind check that nothing is left */
    json_decref(one);
    json_decref(two);
    json_decref(bad);
}
END_TEST

/* ---- JSON form ------------------------------------------------------------------ */

START_TEST(to_json_round_trips_every_field)
{
    char dir[64], path[96], block[1024];
    real_ca(dir, sizeof(dir), path, sizeof(path));
    snprintf(block, sizeof(block),
             "{\"enabled\": true, \"budgetMs\": 1500, \"platform\": \"linux/arm64/v8\","
             " \"caFile\": \"%s\", \"insecureHosts\": [\"localhost:5000\", \"[::1]:5000\"],"
             " \"credentialsFile\": \"/etc/goinject/registry/.dockerconfigjson\","
             " \"podPullSecrets\": true,"
             " \"mirrors\": {\"docker.io\": \"mirror.example.com:5000\", \"quay.io\": \"m2\"},"
             " \"tagTTLSeconds\": 30}",
             path);
    struct goinject_config *cfg = block_ok(block);
    json_t *json = registry_config_to_json(&cfg->registry);
    ck_assert_json_eq(json, block);

    /* And the JSON form parses back to the same block. */
    struct registry_config again;
    registry_config_defaults(&again);
    ck_assert_msg(registry_config_parse(json, &again, err, sizeof(err)) == 0, "%s", err);
    json_t *json2 = registry_config_to_json(&again);
    ck_assert(json_equal(json, json2));
    remove_ca(dir);
    json_decref(json);
    json_decref(json2);
    registry_config_free(&again);
    config_free(cfg);
}
END_TEST

START_TEST(to_json_of_a_disabled_layer)
{
    struct goinject_config *cfg = block_ok("{\"enabled\": false, \"tagTTLSeconds\": 0}");
    json_t *json = registry_config_to_json(&cfg->registry);
    ck_assert_json_eq(json,
                      "{\"enabled\": false, \"budgetMs\": 2000, \"platform\": \"linux/amd64\","
                      " \"insecureHosts\": [], \"podPullSecrets\": false, \"mirrors\": {},"
                      " \"tagTTLSeconds\": 0}");
    json_decref(json);
    config_free(cfg);
}
END_TEST

static Suite *regconfig_suite(void)
{
    Suite *s = suite_create("regconfig");
    TCase *defaults_tc = tcase_create("defaults");
    tcase_add_test(defaults_tc, defaults);
    tcase_add_test(defaults_tc, a_config_without_the_block_has_an_enabled_layer);
    tcase_add_test(defaults_tc, an_empty_block_keeps_the_defaults);
    tcase_add_test(defaults_tc, a_disabled_layer_has_no_client_settings);
    suite_add_tcase(s, defaults_tc);

    TCase *fields = tcase_create("fields");
    tcase_add_test(fields, registry_must_be_an_object);
    tcase_add_test(fields, enabled_must_be_a_boolean);
    tcase_add_test(fields, budget_below_the_minimum_is_refused);
    tcase_add_test(fields, budget_above_the_maximum_is_refused);
    tcase_add_test(fields, budget_must_be_an_integer);
    tcase_add_test(fields, budget_bounds_are_inclusive);
    tcase_add_test(fields, platform_must_be_os_arch_variant);
    tcase_add_test(fields, ca_file_must_be_absolute_and_clean);
    tcase_add_test(fields, a_missing_ca_file_refuses_the_config);
    tcase_add_test(fields, a_ca_file_that_cannot_be_read_refuses_the_config);
    tcase_add_test(fields, a_ca_file_is_read_at_load);
    tcase_add_test(fields, a_ca_file_without_a_certificate_refuses_the_config);
    tcase_add_test(fields, a_disabled_layer_does_not_read_its_ca_file);
    tcase_add_test(fields, credentials_file_must_be_absolute_and_may_not_exist_yet);
    tcase_add_test(fields, insecure_hosts_must_be_an_array);
    tcase_add_test(fields, insecure_hosts_entries_are_host_or_host_port);
    tcase_add_test(fields, insecure_hosts_are_bounded);
    tcase_add_test(fields, mirrors_must_be_an_object);
    tcase_add_test(fields, a_mirror_value_must_be_a_host);
    tcase_add_test(fields, a_mirror_key_must_be_a_registry);
    tcase_add_test(fields, tag_ttl_is_an_integer_from_zero_to_a_day);
    tcase_add_test(fields, pod_pull_secrets_must_be_a_boolean);
    tcase_add_test(fields, an_unknown_field_is_named);
    tcase_add_test(fields, a_second_parse_replaces_the_lists);
    suite_add_tcase(s, fields);

    TCase *json = tcase_create("to_json");
    tcase_add_test(json, to_json_round_trips_every_field);
    tcase_add_test(json, to_json_of_a_disabled_layer);
    suite_add_tcase(s, json);
    return s;
}

int main(void)
{
    return run_suite(regconfig_suite());
}
