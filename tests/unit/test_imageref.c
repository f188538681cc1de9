/* test_imageref.c - image references: Docker's normalisation, each rule of the grammar, limits. */
#include "imageref.h"
#include "testutil.h"

#define HEX64  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define SHA256 "sha256:" HEX64
#define SHA512 "sha512:" HEX64 HEX64

static struct image_ref ref;
static char err[256];

/* The normalised form of text, or "error: <reason>". */
static const char *norm(const char *text)
{
    static char out[IMAGE_REF_TEXT_MAX + 1 + 300];
    err[0] = '\0';
    if (image_ref_parse(text, &ref, err, sizeof(err)) != 0) {
        snprintf(out, sizeof(out), "error: %s", err);
        return out;
    }
    ck_assert_int_eq(image_ref_format(&ref, out, sizeof(out)), 0);
    return out;
}

/* text must be refused with a reason that contains want, and leave ref empty. */
static void refused(const char *text, const char *want)
{
    memset(&ref, 'x', sizeof(ref));
    ck_assert_msg(image_ref_parse(text, &ref, err, sizeof(err)) == -1, "accepted: %s", text);
    ck_assert_msg(strstr(err, want) != NULL, "%s: error \"%s\" does not say \"%s\"", text, err,
                  want);
    ck_assert_str_eq(ref.registry, "");
    ck_assert_str_eq(ref.repository, "");
}

/* A string of n copies of c. */
static const char *repeat(char c, size_t n)
{
    static char s[2048];
    ck_assert_uint_lt(n, sizeof(s));
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

START_TEST(docker_hub_names_are_normalised)
{
    ck_assert_str_eq(norm("nginx"), "docker.io/library/nginx:latest");
    ck_assert_str_eq(norm("library/nginx"), "docker.io/library/nginx:latest");
    ck_assert_str_eq(norm("docker.io/nginx"), "docker.io/library/nginx:latest");
    ck_assert_str_eq(norm("docker.io/library/nginx"), "docker.io/library/nginx:latest");
    ck_assert_str_eq(norm("index.docker.io/library/nginx:1.25"), "docker.io/library/nginx:1.25");
    ck_assert_str_eq(norm("index.docker.io/nginx"), "docker.io/library/nginx:latest");
    ck_assert_str_eq(norm("team/app:2"), "docker.io/team/app:2");
    ck_assert_str_eq(ref.registry, "docker.io");
    ck_assert_str_eq(ref.repository, "team/app");
    ck_assert_str_eq(ref.tag, "2");
    ck_assert_str_eq(ref.digest, "");
}
END_TEST

START_TEST(the_first_component_is_a_registry_only_when_it_looks_like_one)
{
    ck_assert_str_eq(norm("localhost:5000/a/b"), "localhost:5000/a/b:latest");
    ck_assert_str_eq(ref.registry, "localhost:5000");
    ck_assert_str_eq(ref.repository, "a/b");
    ck_assert_str_eq(norm("localhost/a"), "localhost/a:latest");
    ck_assert_str_eq(norm("gcr.io/distroless/static:nonroot"), "gcr.io/distroless/static:nonroot");
    ck_assert_str_eq(ref.registry, "gcr.io");
    ck_assert_str_eq(ref.repository, "distroless/static"); /* no library/ outside Docker Hub */
    ck_assert_str_eq(ref.tag, "nonroot");
    ck_assert_str_eq(norm("[::1]:5000/img"), "[::1]:5000/img:latest");
    ck_assert_str_eq(ref.registry, "[::1]:5000");
    ck_assert_str_eq(norm("[fe80::1%eth0]/img"),
                     "error: registry \"[fe80::1%eth0]\" is not host[:port]");
    ck_assert_str_eq(norm("myhost/img"), "docker.io/myhost/img:latest"); /* no '.', ':' */
    ck_assert_str_eq(norm("localhostx/img"), "docker.io/localhostx/img:latest");
    ck_assert_str_eq(norm("MyRegistry/img"), "MyRegistry/img:latest"); /* uppercase: Docker's too */
    ck_assert_str_eq(norm("localhost"), "docker.io/library/localhost:latest");
    ck_assert_str_eq(norm("localhost:5000"), "docker.io/library/localhost:5000"); /* a tag */
}
END_TEST

START_TEST(tags_and_digests)
{
    ck_assert_str_eq(norm("127.0.0.1:5000/x@" SHA256), "127.0.0.1:5000/x@" SHA256);
    ck_assert_str_eq(ref.registry, "127.0.0.1:5000");
    ck_assert_str_eq(ref.repository, "x");
    ck_assert_str_eq(ref.tag, ""); /* a digest alone: no "latest" */
    ck_assert_str_eq(ref.digest, SHA256);
    ck_assert_str_ne(ref.digest, "");
    ck_assert_str_eq(norm("host.example.com/ns/img:tag@" SHA256),
                     "host.example.com/ns/img:tag@" SHA256);
    ck_assert_str_eq(ref.tag, "tag");
    ck_assert_str_ne(ref.digest, "");
    ck_assert_str_eq(norm("app@" SHA512), "docker.io/library/app@" SHA512);
    ck_assert_str_eq(norm("app:1"), "docker.io/library/app:1");
    ck_assert_str_eq(ref.digest, "");
}
END_TEST

START_TEST(uppercase_repositories_are_refused)
{
    refused("Nginx", "must be lowercase");
    refused("library/Nginx", "must be lowercase");
    refused("docker.io/Library/nginx", "must be lowercase");
    refused("gcr.io/distroless/Static:nonroot", "must be lowercase");
    ck_assert_str_eq(norm("nginx:UPPER_Tag"), "docker.io/library/nginx:UPPER_Tag"); /* tags may */
}
END_TEST

START_TEST(repository_components_follow_the_grammar)
{
    ck_assert_str_eq(norm("x/a.b_c__d-e---f/g9"), "docker.io/x/a.b_c__d-e---f/g9:latest");
    refused("a//b", "empty path component");
    refused("/a", "empty path component");
    refused("a/", "empty path component");
    refused("r.io/", "empty path component");
    refused("a___b", "is not lowercase letters");
    refused("a..b", "is not lowercase letters");
    refused("a._b", "is not lowercase letters");
    refused("-a", "is not lowercase letters");
    refused("a-", "is not lowercase letters");
    refused("a b", "is not lowercase letters");
    refused("r.io/a$b", "is not lowercase letters");
}
END_TEST

START_TEST(registries_are_host_and_port)
{
    ck_assert_str_eq(norm("a-b.example.com:443/x"), "a-b.example.com:443/x:latest");
    refused("-bad.io/x", "is not host[:port]");
    refused("bad-.io/x", "is not host[:port]");
    refused("bad..io/x", "is not host[:port]");
    refused("host.io:/x", "is not host[:port]");
    refused("host.io:port/x", "is not host[:port]");
    refused("[::1/x", "is not host[:port]");
    refused("[]:5000/x", "is not host[:port]");
    refused("ho_st.io/x", "is not host[:port]");
}
END_TEST

START_TEST(tags_follow_the_grammar)
{
    ck_assert_str_eq(norm("a:_x.y-z"), "docker.io/library/a:_x.y-z");
    refused("nginx:", "empty tag");
    refused("r.io/app:@" SHA256, "empty tag");
    refused("nginx:.x", "is not 1 to 128");
    refused("nginx:-x", "is not 1 to 128");
    refused("nginx:a+b", "is not 1 to 128");
    refused(":tag", "no repository name");
}
END_TEST

START_TEST(digests_are_checked)
{
    refused("nginx@", "'@' without a digest");
    refused("nginx:1@", "'@' without a digest");
    refused("@" SHA256, "no repository name");
    refused("nginx@sha256:abc", "is not sha256:<64 lowercase hex digits>");
    refused("nginx@sha256:" HEX64 "0", "is not sha256");
    refused("nginx@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
            "is not sha256");
    refused("nginx@md5:0123456789abcdef0123456789abcdef", "is not sha256");
    refused("nginx@" HEX64, "is not sha256");
    refused("nginx@" SHA256 "@" SHA256, "is not sha256");
    ck_assert(image_ref_valid_digest(SHA256));
    ck_assert(image_ref_valid_digest(SHA512));
    ck_assert(!image_ref_valid_digest("sha384:" HEX64));
    ck_assert(!image_ref_valid_digest(""));
}
END_TEST

START_TEST(limits_are_enforced)
{
    char text[4096];
    refused("", "empty image reference");
    /* The repository: 255 is the most, library/ included. */
    snprintf(text, sizeof(text), "r.io/%s", repeat('a', IMAGE_REF_REPOSITORY_MAX));
    ck_assert_int_eq(image_ref_parse(text, &ref, err, sizeof(err)), 0);
    snprintf(text, sizeof(text), "r.io/%s", repeat('a', IMAGE_REF_REPOSITORY_MAX + 1));
    refused(text, "repository is longer than 255");
    refused(repeat('a', IMAGE_REF_REPOSITORY_MAX - 7), "repository is longer than 255");
    /* The registry. */
    snprintf(text, sizeof(text), "%s.io/x", repeat('h', IMAGE_REF_REGISTRY_MAX - 3));
    ck_assert_int_eq(image_ref_parse(text, &ref, err, sizeof(err)), 0);
    snprintf(text, sizeof(text), "%s.io/x", repeat('h', IMAGE_REF_REGISTRY_MAX - 2));
    refused(text, "registry is longer than 255");
    /* The tag. */
    snprintf(text, sizeof(text), "x:%s", repeat('t', IMAGE_REF_TAG_MAX));
    ck_assert_int_eq(image_ref_parse(text, &ref, err, sizeof(err)), 0);
    snprintf(text, sizeof(text), "x:%s", repeat('t', IMAGE_REF_TAG_MAX + 1));
    refused(text, "is not 1 to 128");
    /* The whole text, before any part is looked at. */
    refused(repeat('a', IMAGE_REF_TEXT_MAX + 1), "longer than 776 characters");
}
END_TEST

START_TEST(format_round_trips_and_names_the_api_host)
{
    const char *texts[] = {"nginx", "localhost:5000/a/b", "[::1]:5000/img:1@" SHA256,
                           "gcr.io/distroless/static:nonroot", "app@" SHA512};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        struct image_ref again;
        char once[IMAGE_REF_TEXT_MAX + 1], twice[IMAGE_REF_TEXT_MAX + 1];
        ck_assert_int_eq(image_ref_parse(texts[i], &ref, err, sizeof(err)), 0);
        ck_assert_int_eq(image_ref_format(&ref, once, sizeof(once)), 0);
        ck_assert_int_eq(image_ref_parse(once, &again, err, sizeof(err)), 0);
        ck_assert_int_eq(image_ref_format(&again, twice, sizeof(twice)), 0);
        ck_assert_str_eq(once, twice);
        ck_assert_int_eq(memcmp(&ref, &again, sizeof(ref)), 0);
    }
    char small[16];
    ck_assert_int_eq(image_ref_parse("gcr.io/distroless/static", &ref, err, sizeof(err)), 0);
    ck_assert_int_eq(image_ref_format(&ref, small, sizeof(small)), -1);
    ck_assert_str_eq(image_ref_api_host(&ref), "gcr.io");
    ck_assert_int_eq(image_ref_parse("nginx", &ref, err, sizeof(err)), 0);
    ck_assert_str_eq(image_ref_api_host(&ref), "registry-1.docker.io");
    ck_assert_int_eq(image_ref_parse("localhost:5000/a", &ref, err, sizeof(err)), 0);
    ck_assert_str_eq(image_ref_api_host(&ref), "localhost:5000");
    /* The longest reference fits the documented bound. */
    char text[4096], out[IMAGE_REF_TEXT_MAX + 1];
    snprintf(text, sizeof(text), "%s.io/", repeat('h', IMAGE_REF_REGISTRY_MAX - 3));
    strcat(text, repeat('r', IMAGE_REF_REPOSITORY_MAX));
    strcat(text, ":");
    strcat(text, repeat('t', IMAGE_REF_TAG_MAX));
    strcat(text, "@" SHA512);
    ck_assert_uint_eq(strlen(text), IMAGE_REF_TEXT_MAX);
    ck_assert_msg(image_ref_parse(text, &ref, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(image_ref_format(&ref, out, sizeof(out)), 0);
    ck_assert_str_eq(out, text);
}
END_TEST

static Suite *imageref_suite(void)
{
    Suite *s = suite_create("imageref");
    TCase *tc = tcase_create("imageref");
    tcase_add_test(tc, docker_hub_names_are_normalised);
    tcase_add_test(tc, the_first_component_is_a_registry_only_when_it_looks_like_one);
    tcase_add_test(tc, tags_and_digests);
    tcase_add_test(tc, uppercase_repositories_are_refused);
    tcase_add_test(tc, repository_components_follow_the_grammar);
    tcase_add_test(tc, registries_are_host_and_port);
    tcase_add_test(tc, tags_follow_the_grammar);
    tcase_add_test(tc, digests_are_checked);
    tcase_add_test(tc, limits_are_enforced);
    tcase_add_test(tc, format_round_trips_and_names_the_api_host);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(imageref_suite());
}
