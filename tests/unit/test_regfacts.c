/*
 * test_regfacts.c - the registry facts layer without a registry: platform
 * names, the platforms a pod may run on, and the layer's start and stop.
 * (Lookups against a registry are tested by tests/registry.)
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "regconfig.h"
#include "regfacts.h"
#include "testutil.h"

static struct platform p;
static struct platform_set set;

/* ---- helpers ------------------------------------------------------------ */

static void parse_ok(const char *text, const char *os, const char *arch, const char *variant)
{
    memset(&p, 'x', sizeof(p));
    ck_assert_msg(platform_parse(text, &p) == 0, "refused: %s", text);
    ck_assert_str_eq(p.os, os);
    ck_assert_str_eq(p.arch, arch);
    ck_assert_str_eq(p.variant, variant);
}

static void parse_refused(const char *text)
{
    ck_assert_msg(platform_parse(text, &p) == -1, "accepted: %s", text ? text : "(null)");
}

/* The platforms of the pod given as JSON text, with fallback, as "a,b,c". */
static const char *platforms_of(const char *pod_json, const char *fallback)
{
    static char text[256];
    json_t *pod = json_lit(pod_json);
    memset(&set, 'x', sizeof(set));
    platforms_of_pod(pod, fallback, &set);
    json_decref(pod);
    ck_assert_uint_le(set.count, PLATFORMS_MAX);
    platform_set_text(&set, text, sizeof(text));
    return text;
}

/* A pod whose nodeSelector is the JSON object text selector. */
static const char *with_selector(const char *selector, const char *fallback)
{
    char pod[1024];
    snprintf(pod, sizeof(pod), "{\"spec\": {\"nodeSelector\": %s, \"containers\": []}}", selector);
    return platforms_of(pod, fallback);
}

/* A pod whose required node affinity has the terms given as a JSON array text. */
static const char *with_terms(const char *terms, const char *fallback)
{
    char pod[2048];
    snprintf(pod, sizeof(pod),
             "{\"spec\": {\"affinity\": {\"nodeAffinity\": "
             "{\"requiredDuringSchedulingIgnoredDuringExecution\": {\"nodeSelectorTerms\": %s}}}}}",
             terms);
    return platforms_of(pod, fallback);
}

#define ARCH_IN(...)                                                                               \
    "{\"matchExpressions\": [{\"key\": \"kubernetes.io/arch\", \"operator\": \"In\", "             \
    "\"values\": [" __VA_ARGS__ "]}]}"

/* ---- platform_parse ------------------------------------------------------- */

START_TEST(os_and_arch)
{
    parse_ok("linux/amd64", "linux", "amd64", "");
    parse_ok("windows/386", "windows", "386", "");
    parse_ok("linux/s390x", "linux", "s390x", "");
}
END_TEST

START_TEST(os_arch_and_variant)
{
    parse_ok("linux/arm64/v8", "linux", "arm64", "v8");
    parse_ok("linux/arm/v7", "linux", "arm", "v7");
}
END_TEST

START_TEST(a_missing_part_is_refused)
{
    parse_refused("linux");
    parse_refused("/amd64");
    parse_refused("linux/");
    parse_refused("linux//amd64");
    parse_refused("linux/arm64/");
    parse_refused("/");
    parse_refused("");
    parse_refused(NULL);
}
END_TEST

START_TEST(only_lowercase_letters_and_digits_are_allowed)
{
    parse_refused("Linux/amd64");
    parse_refused("linux/AMD64");
    parse_refused("linux/arm64/V8");
    parse_refused("linux/amd-64");
    parse_refused("linux/amd64 ");
    parse_refused(" linux/amd64");
    parse_refused("linux/amd64\n");
}
END_TEST

/* Regression: "linux/arm64/v8/x" was accepted with the variant "v8/x". */
START_TEST(a_fourth_part_is_refused)
{
    parse_refused("linux/arm64/v8/x");
    parse_refused("linux/arm64/v8/");
    parse_refused("linux/arm64//");
}
END_TEST

START_TEST(parts_longer_than_their_fields_are_refused)
{
    char text[128];
    /* Each field holds 15 characters. */
    parse_ok("abcdefghijklmno/pqrstuvwxyz0123/v45678901234567", "abcdefghijklmno",
             "pqrstuvwxyz0123", "v45678901234567");
    snprintf(text, sizeof(text), "abcdefghijklmnop/amd64");
    parse_refused(text);
    snprintf(text, sizeof(text), "linux/abcdefghijklmnop");
    parse_refused(text);
    snprintf(text, sizeof(text), "linux/arm64/abcdefghijklmnop");
    parse_refused(text);
}
END_TEST

/* ---- platform_set_text ---------------------------------------------------------- */

START_TEST(set_text_joins_with_commas)
{
    struct platform_set s = {.count = 0};
    char text[128];
    platform_set_text(&s, text, sizeof(text));
    ck_assert_str_eq(text, "");
    platform_parse("linux/amd64", &s.items[0]);
    s.count = 1;
    platform_set_text(&s, text, sizeof(text));
    ck_assert_str_eq(text, "linux/amd64");
    platform_parse("linux/arm64/v8", &s.items[1]);
    platform_parse("windows/amd64", &s.items[2]);
    s.count = 3;
    platform_set_text(&s, text, sizeof(text));
    ck_assert_str_eq(text, "linux/amd64,linux/arm64/v8,windows/amd64");
}
END_TEST

START_TEST(set_text_is_cut_to_the_buffer)
{
    struct platform_set s = {.count = 2};
    char text[8];
    platform_parse("linux/amd64", &s.items[0]);
    platform_parse("linux/arm64", &s.items[1]);
    platform_set_text(&s, text, sizeof(text));
    ck_assert_str_eq(text, "linux/a");
}
END_TEST

/* ---- platforms_of_pod --------------------------------------------------------- */

START_TEST(no_constraints_give_the_fallback)
{
    ck_assert_str_eq(platforms_of("{\"spec\": {\"containers\": []}}", "linux/amd64"),
                     "linux/amd64");
    ck_assert_str_eq(platforms_of("{}", "linux/arm64/v8"), "linux/arm64/v8");
    ck_assert_str_eq(platforms_of("{\"spec\": {\"nodeSelector\": {}}}", "linux/arm64"),
                     "linux/arm64");
    ck_assert_str_eq(platforms_of("{\"spec\": {\"affinity\": {}}}", "linux/arm64"), "linux/arm64");
    ck_assert_uint_eq(set.count, 1);
}
END_TEST

START_TEST(a_bad_fallback_is_linux_amd64)
{
    ck_assert_str_eq(platforms_of("{}", "arm64"), "linux/amd64");
    ck_assert_str_eq(platforms_of("{}", ""), "linux/amd64");
    ck_assert_str_eq(platforms_of("{}", NULL), "linux/amd64");
}
END_TEST

START_TEST(node_selector_arch)
{
    ck_assert_str_eq(with_selector("{\"kubernetes.io/arch\": \"arm64\"}", "linux/amd64"),
                     "linux/arm64");
}
END_TEST

START_TEST(node_selector_os_and_arch)
{
    ck_assert_str_eq(
        with_selector("{\"kubernetes.io/os\": \"windows\", \"kubernetes.io/arch\": \"amd64\"}",
                      "linux/arm64"),
        "windows/amd64");
}
END_TEST

START_TEST(node_selector_os_alone_keeps_the_fallback_arch)
{
    ck_assert_str_eq(with_selector("{\"kubernetes.io/os\": \"linux\"}", "linux/arm64/v8"),
                     "linux/arm64/v8");
    ck_assert_str_eq(with_selector("{\"kubernetes.io/os\": \"windows\"}", "linux/amd64"),
                     "windows/amd64");
}
END_TEST

START_TEST(other_node_selector_labels_are_ignored)
{
    ck_assert_str_eq(
        with_selector("{\"disktype\": \"ssd\", \"kubernetes.io/hostname\": \"n1\"}", "linux/amd64"),
        "linux/amd64");
}
END_TEST

/*
 * The deprecated beta.kubernetes.io/os and /arch labels are read when the GA
 * ones say nothing: nodes still carry both, so a pod that selects on the beta
 * label lands where it says.
 */
START_TEST(beta_labels_count_when_the_ga_ones_are_absent)
{
    ck_assert_str_eq(with_selector("{\"beta.kubernetes.io/arch\": \"arm64\"}", "linux/amd64"),
                     "linux/arm64");
    ck_assert_str_eq(with_selector("{\"beta.kubernetes.io/os\": \"windows\"}", "linux/amd64"),
                     "windows/amd64");
    ck_assert_str_eq(with_terms("[{\"matchExpressions\": [{\"key\": \"beta.kubernetes.io/arch\","
                                " \"operator\": \"In\", \"values\": [\"arm64\"]}]}]",
                                "linux/amd64"),
                     "linux/arm64");
    ck_assert_str_eq(with_selector("{\"beta.kubernetes.io/arch\": \"arm64\","
                                   " \"kubernetes.io/arch\": \"amd64\"}",
                                   "linux/amd64"),
                     "linux/amd64");
}
END_TEST

START_TEST(one_affinity_term_with_two_arches_gives_two_platforms)
{
    ck_assert_str_eq(with_terms("[" ARCH_IN("\"amd64\", \"arm64\"") "]", "linux/amd64"),
                     "linux/amd64,linux/arm64");
    ck_assert_uint_eq(set.count, 2);
}
END_TEST

START_TEST(affinity_terms_that_all_constrain_arch_give_their_union)
{
    ck_assert_str_eq(
        with_terms("[" ARCH_IN("\"amd64\"") ", " ARCH_IN("\"arm64\", \"amd64\"") "]", "linux/386"),
        "linux/amd64,linux/arm64");
}
END_TEST

START_TEST(an_affinity_term_that_leaves_arch_free_gives_the_fallback_arch)
{
    ck_assert_str_eq(
        with_terms("[" ARCH_IN("\"arm64\"") ", {\"matchExpressions\": [{\"key\": "
                                            "\"topology.kubernetes.io/zone\", \"operator\": \"In\","
                                            " \"values\": [\"a\"]}]}]",
                   "linux/amd64"),
        "linux/amd64");
    ck_assert_str_eq(with_terms("[" ARCH_IN("\"arm64\"") ", {}]", "linux/amd64"), "linux/amd64");
}
END_TEST

START_TEST(not_in_and_other_operators_are_ignored)
{
    ck_assert_str_eq(with_terms("[{\"matchExpressions\": [{\"key\": \"kubernetes.io/arch\","
                                " \"operator\": \"NotIn\", \"values\": [\"amd64\"]}]}]",
                                "linux/amd64"),
                     "linux/amd64");
    ck_assert_str_eq(with_terms("[{\"matchExpressions\": [{\"key\": \"kubernetes.io/arch\","
                                " \"operator\": \"Exists\"}]}]",
                                "linux/arm64"),
                     "linux/arm64");
}
END_TEST

START_TEST(affinity_on_os_and_arch)
{
    ck_assert_str_eq(
        with_terms("[{\"matchExpressions\": ["
                   "{\"key\": \"kubernetes.io/os\", \"operator\": \"In\", \"values\": [\"linux\"]},"
                   "{\"key\": \"kubernetes.io/arch\", \"operator\": \"In\","
                   " \"values\": [\"arm64\", \"ppc64le\"]}]}]",
                   "windows/amd64"),
        "linux/arm64,linux/ppc64le");
}
END_TEST

START_TEST(the_node_selector_is_read_before_the_affinity)
{
    char pod[1024];
    snprintf(pod, sizeof(pod),
             "{\"spec\": {\"nodeSelector\": {\"kubernetes.io/arch\": \"arm64\"}, \"affinity\": "
             "{\"nodeAffinity\": {\"requiredDuringSchedulingIgnoredDuringExecution\": "
             "{\"nodeSelectorTerms\": [%s]}}}}}",
             ARCH_IN("\"amd64\", \"s390x\""));
    ck_assert_str_eq(platforms_of(pod, "linux/amd64"), "linux/arm64");
}
END_TEST

START_TEST(preferred_affinity_is_ignored)
{
    ck_assert_str_eq(
        platforms_of("{\"spec\": {\"affinity\": {\"nodeAffinity\": "
                     "{\"preferredDuringSchedulingIgnoredDuringExecution\": [{\"weight\": 1, "
                     "\"preference\": " ARCH_IN("\"arm64\"") "}]}}}}",
                     "linux/amd64"),
        "linux/amd64");
}
END_TEST

START_TEST(more_values_than_the_limit_are_capped)
{
    ck_assert_str_eq(with_terms("[" ARCH_IN("\"amd64\", \"arm64\", \"ppc64le\", \"s390x\","
                                            " \"riscv64\", \"386\"") "]",
                                "linux/amd64"),
                     "linux/amd64,linux/arm64,linux/ppc64le,linux/s390x");
    ck_assert_uint_eq(set.count, PLATFORMS_MAX);
    /* Two oses times three arches: the first four pairs. */
    ck_assert_str_eq(with_terms("[{\"matchExpressions\": ["
                                "{\"key\": \"kubernetes.io/os\", \"operator\": \"In\","
                                " \"values\": [\"linux\", \"windows\"]},"
                                "{\"key\": \"kubernetes.io/arch\", \"operator\": \"In\","
                                " \"values\": [\"amd64\", \"arm64\", \"386\"]}]}]",
                                "linux/amd64"),
                     "linux/amd64,linux/arm64,linux/386,windows/amd64");
}
END_TEST

START_TEST(repeated_values_count_once)
{
    ck_assert_str_eq(with_terms("[" ARCH_IN("\"arm64\", \"arm64\"") ", " ARCH_IN("\"arm64\"") "]",
                                "linux/amd64"),
                     "linux/arm64");
    ck_assert_uint_eq(set.count, 1);
}
END_TEST

START_TEST(values_that_are_not_strings_or_too_long_are_skipped)
{
    ck_assert_str_eq(
        with_terms("[" ARCH_IN("1, null, \"arm64\", \"averyveryverylongarch\"") "]", "linux/amd64"),
        "linux/arm64");
}
END_TEST

START_TEST(the_fallback_variant_is_kept_only_when_arch_is_free)
{
    /* The pod leaves arch free: the fallback's platform, variant and all. */
    ck_assert_str_eq(with_selector("{\"kubernetes.io/os\": \"linux\"}", "linux/arm64/v8"),
                     "linux/arm64/v8");
    /* The pod names the arch: any variant of it, even the fallback's arch. */
    ck_assert_str_eq(with_selector("{\"kubernetes.io/arch\": \"arm64\"}", "linux/arm64/v8"),
                     "linux/arm64");
    ck_assert_str_eq(with_terms("[" ARCH_IN("\"arm64\", \"amd64\"") "]", "linux/arm64/v8"),
                     "linux/arm64,linux/amd64");
}
END_TEST

/* ---- the layer's life ------------------------------------------------------------------ */

START_TEST(running_only_between_start_and_stop)
{
    ck_assert(!regfacts_running());
    regfacts_stop(); /* stopping what never started does nothing */
    ck_assert(!regfacts_running());
    ck_assert_int_eq(regfacts_start(), 0);
    ck_assert(regfacts_running());
    ck_assert_int_eq(regfacts_start(), 0); /* a second start is a no-op */
    ck_assert(regfacts_running());
    regfacts_stop();
    ck_assert(!regfacts_running());
    ck_assert_int_eq(regfacts_start(), 0); /* and it can start again */
    ck_assert(regfacts_running());
    regfacts_stop();
    ck_assert(!regfacts_running());
}
END_TEST

/*
 * The workers block every signal, whatever the starting thread blocks: a SIGTERM
 * the kernel gave one would end the process before the server's drain.
 */
START_TEST(workers_take_no_signals)
{
    ck_assert_int_eq(regfacts_start(), 0);
    DIR *tasks = opendir("/proc/self/task");
    ck_assert_ptr_nonnull(tasks);
    const struct dirent *e;
    int workers = 0;
    while ((e = readdir(tasks))) {
        if (e->d_name[0] == '.' || atoi(e->d_name) == gettid())
            continue;
        char path[300], line[256];
        snprintf(path, sizeof(path), "/proc/self/task/%s/status", e->d_name);
        FILE *f = fopen(path, "r");
        unsigned long long blocked = 0;
        while (f && fgets(line, sizeof(line), f))
            if (sscanf(line, "SigBlk: %llx", &blocked) == 1)
                break;
        if (f)
            fclose(f);
        ck_assert_msg(blocked & (1ull << (SIGTERM - 1)), "thread %s takes SIGTERM", e->d_name);
        ck_assert_msg(blocked & (1ull << (SIGINT - 1)), "thread %s takes SIGINT", e->d_name);
        workers++;
    }
    closedir(tasks);
    regfacts_stop();
    ck_assert_int_gt(workers, 0);
}
END_TEST

/*
 * Admission asks regfacts_running() first; a lookup in a process without
 * workers still answers at once, failed, instead of waiting for its deadline.
 */
START_TEST(a_lookup_without_workers_fails_at_once)
{
    struct registry_config rc;
    struct platform_set ps = {.count = 1};
    struct regfacts_query q[2] = {{.image = "registry.example/app:1"}, {.image = "Not An Image"}};
    registry_config_defaults(&rc);
    platform_parse("linux/amd64", &ps.items[0]);
    uint64_t start = reg_now_ms();
    regfacts_lookup(&rc, &ps, NULL, q, 2, start + 5000);
    ck_assert_uint_lt(reg_now_ms() - start, 1000);
    ck_assert_int_eq(q[0].status, REGFACTS_FAILED);
    ck_assert_int_eq(q[1].status, REGFACTS_FAILED);
    ck_assert_ptr_nonnull(strstr(q[1].reason, "not an image reference"));
    ck_assert_ptr_nonnull(strstr(q[0].reason, "not running"));
    ck_assert_int_eq(q[0].facts.static_go, -1);
    catalog_facts_free(&q[0].facts);
    catalog_facts_free(&q[1].facts);
    registry_config_free(&rc);
    size_t tags, facts, failures, layers, pending;
    regfacts_counts(&tags, &facts, &failures, &layers, &pending);
    ck_assert_uint_eq(tags + facts + failures + layers + pending, 0);
}
END_TEST

START_TEST(result_names)
{
    ck_assert_str_eq(regfacts_result_name(RESULT_HIT), "hit");
    ck_assert_str_eq(regfacts_result_name(RESULT_NOT_FOUND), "not-found");
    ck_assert_str_eq(regfacts_result_name(RESULT_RATE_LIMITED), "rate-limited");
    ck_assert_str_eq(regfacts_result_name(RESULT_COUNT), "error");
}
END_TEST

static Suite *regfacts_suite(void)
{
    Suite *s = suite_create("regfacts");
    TCase *parse = tcase_create("platform_parse");
    tcase_add_test(parse, os_and_arch);
    tcase_add_test(parse, os_arch_and_variant);
    tcase_add_test(parse, a_missing_part_is_refused);
    tcase_add_test(parse, only_lowercase_letters_and_digits_are_allowed);
    tcase_add_test(parse, a_fourth_part_is_refused);
    tcase_add_test(parse, parts_longer_than_their_fields_are_refused);
    tcase_add_test(parse, set_text_joins_with_commas);
    tcase_add_test(parse, set_text_is_cut_to_the_buffer);
    suite_add_tcase(s, parse);

    TCase *pod = tcase_create("pod platforms");
    tcase_add_test(pod, no_constraints_give_the_fallback);
    tcase_add_test(pod, a_bad_fallback_is_linux_amd64);
    tcase_add_test(pod, node_selector_arch);
    tcase_add_test(pod, node_selector_os_and_arch);
    tcase_add_test(pod, node_selector_os_alone_keeps_the_fallback_arch);
    tcase_add_test(pod, other_node_selector_labels_are_ignored);
    tcase_add_test(pod, beta_labels_count_when_the_ga_ones_are_absent);
    tcase_add_test(pod, one_affinity_term_with_two_arches_gives_two_platforms);
    tcase_add_test(pod, affinity_terms_that_all_constrain_arch_give_their_union);
    tcase_add_test(pod, an_affinity_term_that_leaves_arch_free_gives_the_fallback_arch);
    tcase_add_test(pod, not_in_and_other_operators_are_ignored);
    tcase_add_test(pod, affinity_on_os_and_arch);
    tcase_add_test(pod, the_node_selector_is_read_before_the_affinity);
    tcase_add_test(pod, preferred_affinity_is_ignored);
    tcase_add_test(pod, more_values_than_the_limit_are_capped);
    tcase_add_test(pod, repeated_values_count_once);
    tcase_add_test(pod, values_that_are_not_strings_or_too_long_are_skipped);
    tcase_add_test(pod, the_fallback_variant_is_kept_only_when_arch_is_free);
    suite_add_tcase(s, pod);

    TCase *life = tcase_create("start and stop");
    tcase_set_timeout(life, 30);
    tcase_add_test(life, running_only_between_start_and_stop);
    tcase_add_test(life, workers_take_no_signals);
    tcase_add_test(life, a_lookup_without_workers_fails_at_once);
    tcase_add_test(life, result_names);
    suite_add_tcase(s, life);
    return s;
}

int main(void)
{
    return run_suite(regfacts_suite());
}
