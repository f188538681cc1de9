/* test_catalog.c - image catalog: references, matching, strict parsing, and its place among the
 * facts. */
#include "catalog.h"
#include "config.h"
#include "facts.h"
#include "testutil.h"

#define DIGEST_A "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DIGEST_B "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static const char *normalized(const char *ref)
{
    static char out[1024];
    if (catalog_normalize(ref, out, sizeof(out)) != 0)
        return "(error)";
    return out;
}

START_TEST(references_normalise_like_docker)
{
    ck_assert_str_eq(normalized("nginx"), "docker.io/library/nginx:latest");
    ck_assert_str_eq(normalized("nginx:1.27"), "docker.io/library/nginx:1.27");
    ck_assert_str_eq(normalized("team/app"), "docker.io/team/app:latest");
    ck_assert_str_eq(normalized("index.docker.io/library/busybox"),
                     "docker.io/library/busybox:latest");
    ck_assert_str_eq(normalized("registry.example.com/a/b:1"), "registry.example.com/a/b:1");
    ck_assert_str_eq(normalized("localhost:5000/x"), "localhost:5000/x:latest");
    ck_assert_str_eq(normalized("localhost/x:y"), "localhost/x:y");
    ck_assert_str_eq(normalized("app@" DIGEST_A), "docker.io/library/app@" DIGEST_A);
    ck_assert_str_eq(normalized("r.io/app:1@" DIGEST_A), "r.io/app:1@" DIGEST_A);
    ck_assert_str_eq(normalized(""), "(error)");
    ck_assert_str_eq(normalized("@" DIGEST_A), "(error)");
    ck_assert_str_eq(normalized("[::1]:5000/img"), "[::1]:5000/img:latest");
    ck_assert_str_eq(normalized("Team/app"), "Team/app:latest"); /* Docker: a registry */
    ck_assert_str_eq(normalized("team/App"), "(error)");         /* repositories are lowercase */
    ck_assert_str_eq(normalized("app@sha256:abc"), "(error)");
}
END_TEST

static struct catalog parse(const char *text)
{
    struct catalog c = {NULL, 0, NULL};
    char err[256] = "";
    json_t *doc = json_lit(text);
    ck_assert_msg(catalog_parse(doc, &c, err, sizeof(err)) == 0, "%s", err);
    json_decref(doc);
    return c;
}

/* The index of the rule image matches, or -1. */
static int match_index(const struct catalog *c, const char *image)
{
    const struct catalog_rule *rule = catalog_match(c, image);
    return rule ? (int)(rule - c->rules) : -1;
}

START_TEST(rules_match_by_image_glob_and_digest)
{
    struct catalog c =
        parse("[{\"match\": {\"image\": \"nginx:1.27\"}, \"facts\": {\"staticGo\": false}},"
              " {\"match\": {\"digest\": \"" DIGEST_A "\"}, \"facts\": {\"staticGo\": true}},"
              " {\"match\": {\"glob\": \"registry.example.com/team/*\"},"
              "  \"facts\": {\"libc\": \"musl\"}, \"note\": \"team images\"},"
              " {\"match\": {\"glob\": \"*\"}, \"facts\": {\"shell\": \"none\"}}]");
    ck_assert_uint_eq(c.count, 4);
    ck_assert_int_eq(match_index(&c, "nginx:1.27"), 0);
    ck_assert_int_eq(match_index(&c, "docker.io/library/nginx:1.27"), 0);
    ck_assert_int_eq(match_index(&c, "nginx:1.27@" DIGEST_B), 0); /* a pinned digest of that tag */
    ck_assert_int_eq(match_index(&c, "nginx:1.28"), 3);
    ck_assert_int_eq(match_index(&c, "anything@" DIGEST_A), 1);
    ck_assert_int_eq(match_index(&c, "registry.example.com/team/api:2@" DIGEST_A), 1);
    ck_assert_int_eq(match_index(&c, "registry.example.com/team/api:2"), 2);
    ck_assert_int_eq(match_index(&c, "registry.example.com/other/api:2"), 3);
    ck_assert_ptr_null(catalog_match(&c, NULL));
    ck_assert_int_eq(match_index(&c, "Nginx:1.27"), 3); /* no valid reference: globs only */
    catalog_free(&c);
    struct catalog pinned =
        parse("[{\"match\": {\"image\": \"app@" DIGEST_A "\"}, \"facts\": {\"cgo\": true}}]");
    ck_assert_int_eq(match_index(&pinned, "docker.io/library/app@" DIGEST_A), 0);
    ck_assert_int_eq(match_index(&pinned, "app@" DIGEST_B), -1);
    ck_assert_int_eq(match_index(&pinned, "app"), -1);
    catalog_free(&pinned);
}
END_TEST

/* config_parse must refuse text with an error that starts with field. */
static void expect_error(const char *catalog_json, const char *field)
{
    char text[2048], err[512] = "";
    snprintf(text, sizeof(text), "{\"catalog\": %s}", catalog_json);
    struct goinject_config *cfg = config_parse(text, strlen(text), err, sizeof(err));
    ck_assert_msg(cfg == NULL, "accepted: %s", text);
    ck_assert_msg(strncmp(err, field, strlen(field)) == 0, "error \"%s\" does not start with %s",
                  err, field);
}

START_TEST(invalid_rules_name_the_field)
{
    expect_error("{}", "catalog: must be an array");
    expect_error("[42]", "catalog[0]: must be an object");
    expect_error("[{\"match\": {\"image\": \"a\"}, \"facts\": {\"cgo\": true}}, {\"facts\": {}}]",
                 "catalog[1].match: missing");
    expect_error("[{\"match\": {}, \"facts\": {\"cgo\": true}}]", "catalog[0].match: must have");
    expect_error("[{\"match\": {\"image\": \"a\", \"glob\": \"b\"}, \"facts\": {\"cgo\": true}}]",
                 "catalog[0].match: must have exactly one");
    expect_error("[{\"match\": {\"tag\": \"a\"}, \"facts\": {\"cgo\": true}}]",
                 "catalog[0].match: must have exactly one");
    expect_error("[{\"match\": {\"image\": \"has space\"}, \"facts\": {\"cgo\": true}}]",
                 "catalog[0].match.image:");
    expect_error("[{\"match\": {\"image\": \"Nginx\"}, \"facts\": {\"cgo\": true}}]",
                 "catalog[0].match.image: \"Nginx\" is not an image reference: repository "
                 "\"Nginx\" must be lowercase");
    expect_error("[{\"match\": {\"digest\": \"sha256:abc\"}, \"facts\": {\"cgo\": true}}]",
                 "catalog[0].match.digest:");
    expect_error("[{\"match\": {\"glob\": 7}, \"facts\": {\"cgo\": true}}]",
                 "catalog[0].match.glob:");
    expect_error("[{\"match\": {\"image\": \"a\"}}]", "catalog[0].facts: must be an object");
    expect_error("[{\"match\": {\"image\": \"a\"}, \"facts\": {}}]", "catalog[0].facts: must be");
    expect_error("[{\"match\": {\"image\": \"a\"}, \"facts\": {\"static-go\": true}}]",
                 "catalog[0].facts.static-go: unknown field");
    expect_error("[{\"match\": {\"image\": \"a\"}, \"facts\": {\"staticGo\": \"yes\"}}]",
                 "catalog[0].facts.staticGo:");
    expect_error("[{\"match\": {\"image\": \"a\"}, \"facts\": {\"shell\": \"sh\"}}]",
                 "catalog[0].facts.shell:");
    expect_error("[{\"match\": {\"image\": \"a\"}, \"facts\": {\"libc\": \"uclibc\"}}]",
                 "catalog[0].facts.libc:");
    expect_error("[{\"match\": {\"image\": \"a\"}, \"facts\": {\"user\": 1000}}]",
                 "catalog[0].facts.user:");
    expect_error("[{\"match\": {\"image\": \"a\"}, \"facts\": {\"user\": \"a b\"}}]",
                 "catalog[0].facts.user:");
    expect_error("[{\"match\": {\"image\": \"a\"}, \"facts\": {\"cmd\": [\"a\", 1]}}]",
                 "catalog[0].facts.cmd[1]:");
    expect_error("[{\"match\": {\"image\": \"a\"}, \"facts\": {\"entrypoint\": \"/app\"}}]",
                 "catalog[0].facts.entrypoint:");
    expect_error("[{\"match\": {\"image\": \"a\"}, \"facts\": {\"cgo\": true}, \"x\": 1}]",
                 "catalog[0].x: unknown field");
    expect_error("[{\"match\": {\"image\": \"a\"}, \"facts\": {\"cgo\": true}, \"note\": 1}]",
                 "catalog[0].note:");
}
END_TEST

/* ---- the catalog among the facts ------------------------------------------------ */

static struct goinject_config *with_catalog(const char *catalog_json)
{
    char text[2048], err[512] = "";
    snprintf(text, sizeof(text), "{\"catalog\": %s}", catalog_json);
    struct goinject_config *cfg = config_parse(text, strlen(text), err, sizeof(err));
    ck_assert_msg(cfg != NULL, "%s", err);
    return cfg;
}

START_TEST(annotations_come_before_the_catalog)
{
    struct goinject_config *cfg =
        with_catalog("[{\"match\": {\"image\": \"registry.example.com/api:1\"},"
                     "  \"facts\": {\"staticGo\": true, \"cgo\": false, \"shell\": \"/bin/sh\","
                     "   \"libc\": \"musl\", \"entrypoint\": [\"/api\"], \"cmd\": [\"serve\"]}}]");
    json_t *annotations = json_lit("{\"shell.goinject.io/api\": \"/bin/bash\","
                                   " \"goinject.io/libc\": \"glibc\","
                                   " \"goinject.io/cgo\": \"nonsense\"}");
    struct container_facts f;
    struct warnings w = {NULL, 0};
    facts_resolve(cfg, annotations, "api", "registry.example.com/api:1", &f, &w);
    ck_assert_int_eq(f.static_go, FACT_TRUE);      /* catalog */
    ck_assert_int_eq(f.cgo, FACT_FALSE);           /* catalog: the bad annotation is ignored */
    ck_assert_str_eq(f.shell_path, "/bin/bash");   /* per-container annotation */
    ck_assert_int_eq(f.libc, LIBC_GLIBC);          /* pod-wide annotation */
    ck_assert_json_eq(f.entrypoint, "[\"/api\"]"); /* catalog */
    ck_assert_json_eq(f.cmd, "[\"serve\"]");
    ck_assert_uint_eq(w.count, 1);
    facts_clear(&f);
    facts_resolve(cfg, NULL, "api", "registry.example.com/api:2", &f, &w);
    ck_assert_int_eq(f.static_go, FACT_UNKNOWN); /* no rule matches */
    facts_clear(&f);
    facts_resolve(cfg, NULL, "api", "registry.example.com/api:1", &f, &w);
    ck_assert_int_eq(f.libc, LIBC_MUSL); /* no annotations object at all */
    ck_assert_int_eq(f.shell, SHELL_PATH);
    facts_clear(&f);
    warnings_free(&w);
    json_decref(annotations);
    config_free(cfg);
}
END_TEST

START_TEST(the_image_user_comes_from_the_catalog)
{
    struct goinject_config *cfg =
        with_catalog("[{\"match\": {\"image\": \"example/app:1\"}, \"facts\": {\"user\": "
                     "\"nonroot\"}}]");
    struct container_facts f;
    struct warnings w = {NULL, 0};
    facts_resolve(cfg, NULL, "app", "example/app:1", &f, &w);
    ck_assert_str_eq(f.user, "nonroot");
    ck_assert_uint_eq(f.sources, FROM_CATALOG);
    facts_clear(&f);
    warnings_free(&w);
    config_free(cfg);
}
END_TEST

/* The registry fills the user the catalog left open; a user the catalog gives wins. */
START_TEST(the_registry_fills_the_user_the_catalog_left_open)
{
    struct goinject_config *cfg =
        with_catalog("[{\"match\": {\"image\": \"example/app:1\"}, \"facts\": {\"staticGo\": "
                     "true}}, {\"match\": {\"image\": \"example/app:2\"}, \"facts\": {\"user\": "
                     "\"0\"}}]");
    struct container_facts f;
    struct catalog_facts found = {.static_go = -1, .cgo = -1};
    struct warnings w = {NULL, 0};
    facts_resolve(cfg, NULL, "app", "example/app:1", &f, &w);
    ck_assert_ptr_null(f.user);
    found.user = strdup("nonroot");
    facts_fill_registry(&f, &found);
    ck_assert_str_eq(f.user, "nonroot");
    ck_assert_uint_eq(f.sources, FROM_CATALOG | FROM_REGISTRY);
    facts_clear(&f);
    facts_resolve(cfg, NULL, "app", "example/app:2", &f, &w);
    facts_fill_registry(&f, &found);
    ck_assert_str_eq(f.user, "0");
    facts_clear(&f);
    catalog_facts_free(&found);
    warnings_free(&w);
    config_free(cfg);
}
END_TEST

/* "", 0 and root (with any group) start as root; any other name or UID does not. */
START_TEST(image_users_that_count_as_root)
{
    static const char *const root[] = {"", "0", "root", "0:0", "root:root", "0:1000"};
    static const char *const other[] = {"65532", "nonroot", "1000:1000", "00", "rooted", "10"};
    for (size_t i = 0; i < sizeof(root) / sizeof(root[0]); i++)
        ck_assert_msg(facts_user_is_root(root[i]), "%s", root[i]);
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
        ck_assert_msg(!facts_user_is_root(other[i]), "%s", other[i]);
}
END_TEST

START_TEST(config_prints_the_catalog_back)
{
    struct goinject_config *cfg =
        with_catalog("[{\"match\": {\"glob\": \"*\"}, \"facts\": {\"shell\": \"none\"}}]");
    json_t *doc = config_to_json(cfg);
    ck_assert_json_eq(json_object_get(doc, "catalog"),
                      "[{\"match\": {\"glob\": \"*\"}, \"facts\": {\"shell\": \"none\"}}]");
    json_decref(doc);
    config_free(cfg);
}
END_TEST

static Suite *catalog_suite(void)
{
    Suite *s = suite_create("catalog");
    TCase *tc = tcase_create("catalog");
    tcase_add_test(tc, references_normalise_like_docker);
    tcase_add_test(tc, rules_match_by_image_glob_and_digest);
    tcase_add_test(tc, invalid_rules_name_the_field);
    tcase_add_test(tc, annotations_come_before_the_catalog);
    tcase_add_test(tc, the_image_user_comes_from_the_catalog);
    tcase_add_test(tc, the_registry_fills_the_user_the_catalog_left_open);
    tcase_add_test(tc, image_users_that_count_as_root);
    tcase_add_test(tc, config_prints_the_catalog_back);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(catalog_suite());
}
