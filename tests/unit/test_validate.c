/* test_validate.c - syntax checks for the Kubernetes strings goinject writes. */
#include <math.h>
#include <stdio.h>

#include "testutil.h"
#include "validate.h"

/* ---- helpers ----------------------------------------------------------- */

typedef bool (*predicate)(const char *s);

static void expect_all(predicate check, const char *what, const char *const *values, bool want)
{
    for (const char *const *v = values; *v; v++)
        ck_assert_msg(check(*v) == want, "%s(\"%s\") should be %s", what, *v,
                      want ? "true" : "false");
}

/* A string of n copies of c (n < 1024). */
static const char *repeat(char c, size_t n)
{
    static char text[1024];
    ck_assert_uint_lt(n, sizeof(text));
    memset(text, c, n);
    text[n] = '\0';
    return text;
}

/* Writes n copies of c at p, then sep (when not NUL); returns the end, NUL-terminated. */
static char *put_run(char *p, char c, size_t n, char sep)
{
    memset(p, c, n);
    p += n;
    if (sep)
        *p++ = sep;
    *p = '\0';
    return p;
}

static void expect_quantity(const char *text, long double want)
{
    long double value = -12345;
    ck_assert_msg(valid_quantity(text, &value), "quantity \"%s\" should be valid", text);
    long double tolerance = fabsl(want) * 1e-12L;
    ck_assert_msg(fabsl(value - want) <= tolerance, "quantity \"%s\" is %Lg base units, want %Lg",
                  text, value, want);
}

/* ---- DNS names --------------------------------------------------------- */

START_TEST(dns_label_accepts_rfc1123_labels)
{
    static const char *const good[] = {"a", "kube-system", "goinject-agent", "a1", "1a", "0", NULL};
    expect_all(valid_dns_label, "valid_dns_label", good, true);
    ck_assert(valid_dns_label(repeat('a', 63)));
}
END_TEST

START_TEST(dns_label_rejects_everything_else)
{
    static const char *const bad[] = {"",    "-a",  "a-", "A",   "Kube", "a_b", "a.b",
                                      "a b", "a/b", "é",  "a\n", "a:b",  "--",  NULL};
    expect_all(valid_dns_label, "valid_dns_label", bad, false);
    ck_assert(!valid_dns_label(repeat('a', 64)));
}
END_TEST

START_TEST(dns_subdomain_accepts_dotted_labels)
{
    static const char *const good[] = {"goinject.io", "a", "apm.example.com", "a-b.c-d.e", NULL};
    expect_all(valid_dns_subdomain, "valid_dns_subdomain", good, true);
    /* 4 labels of 63 plus 3 dots = 255 > 253; 3 of 63 plus a 61 = 253. */
    char name[300];
    char *p = put_run(name, 'a', 63, '.');
    p = put_run(p, 'b', 63, '.');
    p = put_run(p, 'c', 63, '.');
    put_run(p, 'd', 61, '\0');
    ck_assert_uint_eq(strlen(name), 253);
    ck_assert(valid_dns_subdomain(name));
    strcat(name, "d");
    ck_assert(!valid_dns_subdomain(name));
}
END_TEST

START_TEST(dns_subdomain_rejects_bad_labels_and_empty_parts)
{
    static const char *const bad[] = {"",   ".",     "a.",           ".a",     "a..b",   "A.io",
                                      "-a", "a-.io", "goinject.io/", "a_b.io", "a b.io", NULL};
    expect_all(valid_dns_subdomain, "valid_dns_subdomain", bad, false);
    char name[80];
    strcpy(put_run(name, 'a', 64, '.'), "io");
    ck_assert(!valid_dns_subdomain(name));
}
END_TEST

/* ---- paths ------------------------------------------------------------- */

START_TEST(absolute_path_accepts_clean_absolute_paths)
{
    static const char *const good[] = {
        "/", "/bin/sh", "/goinject-agent", "/a/b/c", "/a/.hidden", "/a/b..c", "/a:b", NULL};
    expect_all(valid_absolute_path, "valid_absolute_path", good, true);
}
END_TEST

START_TEST(absolute_path_rejects_relative_unclean_and_control_characters)
{
    static const char *const bad[] = {"",       "sh",     "bin/sh", "/a/../b", "/..",
                                      "/a/./b", "/a//b",  "/a/",    "//",      "/a\nb",
                                      "/a\tb",  "/a\x7f", "./a",    "/a/.",    NULL};
    expect_all(valid_absolute_path, "valid_absolute_path", bad, false);
}
END_TEST

START_TEST(mount_path_is_absolute_not_root_without_colon)
{
    static const char *const good[] = {"/goinject-agent", "/opt/agent", "/a/b", NULL};
    static const char *const bad[] = {"/", "goinject-agent", "/a:b", "/a/../b", "/a/..", "", NULL};
    expect_all(valid_mount_path, "valid_mount_path", good, true);
    expect_all(valid_mount_path, "valid_mount_path", bad, false);
}
END_TEST

START_TEST(relative_path_accepts_clean_relative_paths)
{
    static const char *const good[] = {"tini", "tini/glibc/tini", "a/b.c", "a..b", NULL};
    expect_all(valid_relative_path, "valid_relative_path", good, true);
}
END_TEST

START_TEST(relative_path_rejects_absolute_dot_segments_and_control_characters)
{
    static const char *const bad[] = {"",   "/tini", "../tini", "a/../b", "a/./b", "a//b",
                                      "a/", ".",     "..",      "a\nb",   "a/..",  NULL};
    expect_all(valid_relative_path, "valid_relative_path", bad, false);
}
END_TEST

/* ---- images, env and resource names ----------------------------------- */

START_TEST(image_ref_accepts_plausible_references)
{
    static const char *const good[] = {
        "goinject/goinject:0.1.0", "registry.example.com:5000/team/agent:v1", "busybox",
        "ghcr.io/a/b@sha256:"
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        NULL};
    expect_all(valid_image_ref, "valid_image_ref", good, true);
}
END_TEST

START_TEST(image_ref_rejects_empty_whitespace_control_leading_dash_and_non_ascii)
{
    static const char *const bad[] = {"",      "-busybox", "busy box", "busybox\n", "a\tb",
                                      "imagé", "a\x7f",    " busybox", NULL};
    expect_all(valid_image_ref, "valid_image_ref", bad, false);
    char long_ref[4200];
    memset(long_ref, 'a', 4097);
    long_ref[4097] = '\0';
    ck_assert(!valid_image_ref(long_ref));
    long_ref[4096] = '\0';
    ck_assert(valid_image_ref(long_ref));
}
END_TEST

START_TEST(env_name_is_printable_ascii_without_equals)
{
    static const char *const good[] = {"LD_PRELOAD", "a", "my.var", "A-B", "_", "1X", NULL};
    static const char *const bad[] = {"", "A=B", "=", "A\nB", "A\tB", "É", "A\x7f", NULL};
    expect_all(valid_env_name, "valid_env_name", good, true);
    expect_all(valid_env_name, "valid_env_name", bad, false);
}
END_TEST

START_TEST(resource_name_accepts_plain_and_prefixed_names)
{
    static const char *const good[] = {"cpu",
                                       "memory",
                                       "ephemeral-storage",
                                       "example.com/gpu",
                                       "hugepages-2Mi",
                                       "nvidia.com/gpu.shared",
                                       NULL};
    expect_all(valid_resource_name, "valid_resource_name", good, true);
}
END_TEST

START_TEST(resource_name_rejects_empty_parts_and_bad_characters)
{
    static const char *const bad[] = {
        "",  "/gpu", "example.com/", "-cpu", "cpu-", "c pu", "Example.com/gpu", "a/b/c", "cpu!",
        "é", NULL};
    expect_all(valid_resource_name, "valid_resource_name", bad, false);
    ck_assert(!valid_resource_name(repeat('a', 64)));
    ck_assert(valid_resource_name(repeat('a', 63)));
}
END_TEST

/* ---- quantities -------------------------------------------------------- */

START_TEST(quantity_valid_values_in_base_units)
{
    expect_quantity("100m", 0.1L);
    expect_quantity("64Mi", 67108864.0L);
    expect_quantity("1", 1.0L);
    expect_quantity("0.5", 0.5L);
    expect_quantity("1e3", 1000.0L);
    expect_quantity("2Gi", 2147483648.0L);
}
END_TEST

START_TEST(quantity_every_suffix_scales)
{
    expect_quantity("1Ki", 1024.0L);
    expect_quantity("1Ti", 1099511627776.0L);
    expect_quantity("1Pi", 1125899906842624.0L);
    expect_quantity("1Ei", 1152921504606846976.0L);
    expect_quantity("3n", 3e-9L);
    expect_quantity("3u", 3e-6L);
    expect_quantity("3k", 3e3L);
    expect_quantity("3M", 3e6L);
    expect_quantity("3G", 3e9L);
    expect_quantity("3T", 3e12L);
    expect_quantity("3P", 3e15L);
    expect_quantity("3E", 3e18L);
}
END_TEST

START_TEST(quantity_exponents_scale_once)
{
    expect_quantity("1e3", 1000.0L);
    expect_quantity("1E3", 1000.0L);
    expect_quantity("2.5e2", 250.0L);
    expect_quantity("5e-3", 0.005L);
    expect_quantity("1e+6", 1e6L);
    expect_quantity("1e18", 1e18L);
    expect_quantity("1e0", 1.0L);
}
END_TEST

START_TEST(quantity_signs_and_bare_dots)
{
    expect_quantity("+1", 1.0L);
    expect_quantity(".5", 0.5L);
    expect_quantity("0", 0.0L);
    expect_quantity("1.5Gi", 1610612736.0L);
}
END_TEST

START_TEST(quantity_invalid_values)
{
    static const char *const bad[] = {"",    "m",   "1.2.3", "-1",    "10XB", "1e",   "1e99",
                                      "1K",  "1mi", " 1",    "1 ",    "Mi",   "1e3m", "0x10",
                                      "inf", "nan", "1..2",  "-100m", "1ee3", NULL};
    for (const char *const *v = bad; *v; v++) {
        long double value = 42;
        ck_assert_msg(!valid_quantity(*v, &value), "quantity \"%s\" should be invalid", *v);
        ck_assert_msg(!valid_quantity(*v, NULL), "quantity \"%s\" should be invalid", *v);
    }
}
END_TEST

START_TEST(quantity_value_pointer_is_optional)
{
    ck_assert(valid_quantity("64Mi", NULL));
    ck_assert(valid_quantity("1e3", NULL));
}
END_TEST

START_TEST(quantity_longer_than_64_characters_rejected)
{
    char text[80];
    put_run(text, '1', 65, '\0');
    ck_assert(!valid_quantity(text, NULL));
    text[64] = '\0';
    ck_assert(valid_quantity(text, NULL));
}
END_TEST

static Suite *validate_suite(void)
{
    Suite *s = suite_create("validate");

    TCase *dns = tcase_create("dns");
    tcase_add_test(dns, dns_label_accepts_rfc1123_labels);
    tcase_add_test(dns, dns_label_rejects_everything_else);
    tcase_add_test(dns, dns_subdomain_accepts_dotted_labels);
    tcase_add_test(dns, dns_subdomain_rejects_bad_labels_and_empty_parts);
    suite_add_tcase(s, dns);

    TCase *paths = tcase_create("paths");
    tcase_add_test(paths, absolute_path_accepts_clean_absolute_paths);
    tcase_add_test(paths, absolute_path_rejects_relative_unclean_and_control_characters);
    tcase_add_test(paths, mount_path_is_absolute_not_root_without_colon);
    tcase_add_test(paths, relative_path_accepts_clean_relative_paths);
    tcase_add_test(paths, relative_path_rejects_absolute_dot_segments_and_control_characters);
    suite_add_tcase(s, paths);

    TCase *names = tcase_create("names");
    tcase_add_test(names, image_ref_accepts_plausible_references);
    tcase_add_test(names, image_ref_rejects_empty_whitespace_control_leading_dash_and_non_ascii);
    tcase_add_test(names, env_name_is_printable_ascii_without_equals);
    tcase_add_test(names, resource_name_accepts_plain_and_prefixed_names);
    tcase_add_test(names, resource_name_rejects_empty_parts_and_bad_characters);
    suite_add_tcase(s, names);

    TCase *quantities = tcase_create("quantities");
    tcase_add_test(quantities, quantity_valid_values_in_base_units);
    tcase_add_test(quantities, quantity_every_suffix_scales);
    tcase_add_test(quantities, quantity_exponents_scale_once);
    tcase_add_test(quantities, quantity_signs_and_bare_dots);
    tcase_add_test(quantities, quantity_invalid_values);
    tcase_add_test(quantities, quantity_value_pointer_is_optional);
    tcase_add_test(quantities, quantity_longer_than_64_characters_rejected);
    suite_add_tcase(s, quantities);

    return s;
}

int main(void)
{
    return run_suite(validate_suite());
}
