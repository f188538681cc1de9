/*
 * test_regauth.c - WWW-Authenticate challenges, dockerconfigjson credentials
 * and Retry-After, one rule per test.
 */
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "regauth.h"
#include "testutil.h"

static struct reg_challenge ch;
static struct reg_credentials creds;
static char err[512];

/* ---- helpers ------------------------------------------------------------ */

/* Parses header into ch, which is poisoned first; fails the test when refused. */
static void challenge_ok(const char *header)
{
    memset(&ch, 'x', sizeof(ch));
    ck_assert_msg(reg_challenge_parse(header, &ch) == 0, "refused: %s", header);
}

static void challenge_refused(const char *header)
{
    struct reg_challenge c;
    ck_assert_msg(reg_challenge_parse(header, &c) == -1, "accepted: %s", header);
}

/* A string of n copies of c (static; one at a time). */
static const char *repeat(char c, size_t n)
{
    static char s[REGAUTH_PARAM_MAX * 2];
    ck_assert_uint_lt(n, sizeof(s));
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* base64 of text, as the "auth" member holds user:password (static; one at a time). */
static const char *b64(const char *text)
{
    static char out[1024];
    ck_assert_uint_lt(strlen(text) / 3 * 4 + 5, sizeof(out));
    EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)text, (int)strlen(text));
    return out;
}

/* Parses a credentials file given as JSON text; fails the test when refused. */
static void creds_ok(const char *text)
{
    err[0] = '\0';
    ck_assert_msg(reg_credentials_parse(text, strlen(text), &creds, err, sizeof(err)) == 0,
                  "refused: %s: %s", err, text);
}

/* The file must be refused with an error containing want, and leave nothing allocated. */
static void creds_refused(const char *text, const char *want)
{
    err[0] = '\0';
    memset(&creds, 'x', sizeof(creds));
    ck_assert_msg(reg_credentials_parse(text, strlen(text), &creds, err, sizeof(err)) == -1,
                  "accepted: %s", text);
    ck_assert_msg(strstr(err, want) != NULL, "error \"%s\" does not contain \"%s\"", err, want);
    ck_assert_ptr_null(creds.items);
    ck_assert_uint_eq(creds.count, 0);
}

/* The user the credentials give registry, or "-" when none. */
static const char *user_for(const char *registry)
{
    const struct reg_credential *c = reg_credentials_find(&creds, registry);
    return c ? c->user : "-";
}

static void teardown(void)
{
    if (creds.count || creds.items)
        reg_credentials_free(&creds);
}

/* ---- challenges ----------------------------------------------------------- */

START_TEST(bearer_quoted_parameters_keep_their_commas)
{
    challenge_ok("Bearer realm=\"https://a/token\",service=\"s\","
                 "scope=\"repository:x/y:pull,push\"");
    ck_assert_int_eq(ch.scheme, REG_SCHEME_BEARER);
    ck_assert_str_eq(ch.realm, "https://a/token");
    ck_assert_str_eq(ch.service, "s");
    ck_assert_str_eq(ch.scope, "repository:x/y:pull,push");
}
END_TEST

START_TEST(bearer_unquoted_tokens_are_values)
{
    challenge_ok("Bearer realm=https://auth.example/token,service=registry.example,"
                 "scope=repository:team/app:pull");
    ck_assert_int_eq(ch.scheme, REG_SCHEME_BEARER);
    ck_assert_str_eq(ch.realm, "https://auth.example/token");
    ck_assert_str_eq(ch.service, "registry.example");
    ck_assert_str_eq(ch.scope, "repository:team/app:pull");
}
END_TEST

START_TEST(backslash_escapes_inside_quoted_values)
{
    challenge_ok("Bearer realm=\"https://a/token\",service=\"say \\\"hi\\\" \\\\ \\x\"");
    ck_assert_str_eq(ch.service, "say \"hi\" \\ x");
}
END_TEST

START_TEST(missing_parameters_are_empty)
{
    challenge_ok("Bearer realm=\"https://a/token\"");
    ck_assert_str_eq(ch.realm, "https://a/token");
    ck_assert_str_eq(ch.service, "");
    ck_assert_str_eq(ch.scope, "");
}
END_TEST

START_TEST(spaces_around_equals_and_commas_are_allowed)
{
    challenge_ok("  Bearer   realm = \"https://a/token\" ,\tservice= s ,, scope =\"x\"  ");
    ck_assert_int_eq(ch.scheme, REG_SCHEME_BEARER);
    ck_assert_str_eq(ch.realm, "https://a/token");
    ck_assert_str_eq(ch.service, "s");
    ck_assert_str_eq(ch.scope, "x");
}
END_TEST

START_TEST(bearer_is_chosen_over_an_earlier_basic)
{
    challenge_ok("Basic realm=\"Registry Realm\", Bearer realm=\"https://a/token\",service=\"s\"");
    ck_assert_int_eq(ch.scheme, REG_SCHEME_BEARER);
    ck_assert_str_eq(ch.realm, "https://a/token");
    ck_assert_str_eq(ch.service, "s");
}
END_TEST

START_TEST(bearer_is_chosen_over_a_later_basic)
{
    challenge_ok("Bearer realm=\"https://a/token\", Basic realm=\"r\"");
    ck_assert_int_eq(ch.scheme, REG_SCHEME_BEARER);
    ck_assert_str_eq(ch.realm, "https://a/token");
}
END_TEST

START_TEST(challenges_without_a_comma_between_them)
{
    challenge_ok("Basic realm=\"r\" Bearer realm=\"https://a/token\"");
    ck_assert_int_eq(ch.scheme, REG_SCHEME_BEARER);
    ck_assert_str_eq(ch.realm, "https://a/token");
}
END_TEST

START_TEST(the_first_of_several_bearer_challenges_is_taken)
{
    challenge_ok("Bearer realm=\"https://one/token\", Bearer realm=\"https://two/token\"");
    ck_assert_str_eq(ch.realm, "https://one/token");
}
END_TEST

START_TEST(basic_alone_is_basic)
{
    challenge_ok("Basic realm=\"Registry Realm\"");
    ck_assert_int_eq(ch.scheme, REG_SCHEME_BASIC);
    ck_assert_str_eq(ch.realm, "Registry Realm");
    challenge_ok("Basic");
    ck_assert_int_eq(ch.scheme, REG_SCHEME_BASIC);
    ck_assert_str_eq(ch.realm, "");
}
END_TEST

START_TEST(basic_is_taken_after_unknown_schemes)
{
    challenge_ok("Negotiate, Digest realm=\"d\", nonce=\"n\", Basic realm=\"b\"");
    ck_assert_int_eq(ch.scheme, REG_SCHEME_BASIC);
    ck_assert_str_eq(ch.realm, "b");
}
END_TEST

START_TEST(a_bearer_without_realm_is_not_usable)
{
    challenge_refused("Bearer service=\"s\"");
    challenge_refused("Bearer");
    challenge_ok("Bearer service=\"s\", Basic realm=\"b\"");
    ck_assert_int_eq(ch.scheme, REG_SCHEME_BASIC);
}
END_TEST

START_TEST(scheme_and_parameter_names_are_case_insensitive)
{
    challenge_ok("bEaReR ReAlM=\"https://a/token\",SERVICE=\"s\",Scope=\"x\"");
    ck_assert_int_eq(ch.scheme, REG_SCHEME_BEARER);
    ck_assert_str_eq(ch.realm, "https://a/token");
    ck_assert_str_eq(ch.service, "s");
    ck_assert_str_eq(ch.scope, "x");
    challenge_ok("BASIC REALM=r");
    ck_assert_int_eq(ch.scheme, REG_SCHEME_BASIC);
    ck_assert_str_eq(ch.realm, "r");
}
END_TEST

START_TEST(other_parameters_are_ignored)
{
    challenge_ok("Bearer realm=\"https://a/token\",error=\"insufficient_scope\","
                 "error_description=\"a, b\",service=\"s\",charset=UTF-8");
    ck_assert_str_eq(ch.realm, "https://a/token");
    ck_assert_str_eq(ch.service, "s");
    ck_assert_str_eq(ch.scope, "");
}
END_TEST

START_TEST(an_unterminated_quote_is_refused)
{
    challenge_refused("Bearer realm=\"https://a/token");
    challenge_refused("Bearer realm=\"https://a/token\",service=\"s");
    challenge_refused("Bearer realm=\"x\\\""); /* the closing quote is escaped */
    challenge_refused("Bearer realm=\"x\\");
    challenge_refused("Basic realm=\"r\", Bearer realm=\"https://a");
}
END_TEST

START_TEST(an_empty_header_is_refused)
{
    challenge_refused("");
    challenge_refused("   \t ");
    challenge_refused(NULL);
}
END_TEST

START_TEST(a_header_without_a_scheme_is_refused)
{
    challenge_refused("realm=\"https://a/token\"");
    challenge_refused("=\"x\"");
    challenge_refused(",");
    challenge_refused("\"Bearer\"");
    challenge_refused("Digest realm=\"d\"");
}
END_TEST

START_TEST(a_value_longer_than_the_limit_is_refused)
{
    char header[REGAUTH_PARAM_MAX * 3];
    snprintf(header, sizeof(header), "Bearer realm=\"%s\"", repeat('a', REGAUTH_PARAM_MAX));
    challenge_refused(header);
    snprintf(header, sizeof(header), "Bearer realm=%s", repeat('a', REGAUTH_PARAM_MAX));
    challenge_refused(header);
    /* An ignored parameter is bounded too. */
    snprintf(header, sizeof(header), "Bearer realm=x,error=\"%s\"", repeat('e', REGAUTH_PARAM_MAX));
    challenge_refused(header);
    /* The longest value that fits its buffer. */
    snprintf(header, sizeof(header), "Bearer realm=\"%s\"", repeat('a', REGAUTH_PARAM_MAX - 1));
    challenge_ok(header);
    ck_assert_uint_eq(strlen(ch.realm), REGAUTH_PARAM_MAX - 1);
}
END_TEST

/* ---- credentials ---------------------------------------------------------------- */

START_TEST(auth_member_is_base64_of_user_and_password)
{
    char text[512];
    snprintf(text, sizeof(text), "{\"auths\": {\"registry.example.com\": {\"auth\": \"%s\"}}}",
             b64("robot:pa:ss"));
    creds_ok(text);
    ck_assert_uint_eq(creds.count, 1);
    ck_assert_str_eq(creds.items[0].key, "registry.example.com");
    ck_assert_str_eq(creds.items[0].user, "robot");
    ck_assert_str_eq(creds.items[0].password, "pa:ss"); /* split at the first colon */
}
END_TEST

START_TEST(username_and_password_members)
{
    creds_ok("{\"auths\": {\"registry.example.com\":"
             " {\"username\": \"robot\", \"password\": \"s3cret\", \"email\": \"x@y\"}}}");
    ck_assert_uint_eq(creds.count, 1);
    ck_assert_str_eq(creds.items[0].user, "robot");
    ck_assert_str_eq(creds.items[0].password, "s3cret");
}
END_TEST

START_TEST(auth_wins_over_username_and_password)
{
    char text[512];
    snprintf(text, sizeof(text),
             "{\"auths\": {\"r.example\": {\"auth\": \"%s\", \"username\": \"u2\","
             " \"password\": \"p2\"}}}",
             b64("u1:p1"));
    creds_ok(text);
    ck_assert_str_eq(creds.items[0].user, "u1");
    ck_assert_str_eq(creds.items[0].password, "p1");
}
END_TEST

START_TEST(the_old_dockercfg_form_has_no_auths_member)
{
    char text[512];
    snprintf(text, sizeof(text), "{\"registry.example.com\": {\"auth\": \"%s\", \"email\": \"e\"}}",
             b64("old:form"));
    creds_ok(text);
    ck_assert_uint_eq(creds.count, 1);
    ck_assert_str_eq(user_for("registry.example.com"), "old");
}
END_TEST

/* A Docker config.json without auths: its other members (credsStore, ...) are not registries. */
START_TEST(the_old_form_skips_members_that_are_not_objects)
{
    char text[512];
    snprintf(text, sizeof(text),
             "{\"credsStore\": \"desktop\", \"registry.example.com\": {\"auth\": \"%s\"}}",
             b64("old:form"));
    creds_ok(text);
    ck_assert_uint_eq(creds.count, 1);
    ck_assert_str_eq(user_for("registry.example.com"), "old");
}
END_TEST

START_TEST(docker_hub_keys_all_name_docker_io)
{
    static const char *const keys[] = {"https://index.docker.io/v1/", "registry-1.docker.io",
                                       "docker.io", "index.docker.io", "registry.hub.docker.com"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char text[512];
        snprintf(text, sizeof(text), "{\"auths\": {\"%s\": {\"auth\": \"%s\"}}}", keys[i],
                 b64("hub:pw"));
        creds_ok(text);
        ck_assert_str_eq(creds.items[0].key, "docker.io");
        ck_assert_msg(strcmp(user_for("docker.io"), "hub") == 0, "key %s", keys[i]);
        ck_assert_str_eq(user_for("index.docker.io"), "hub");
        ck_assert_str_eq(user_for("quay.io"), "-");
        reg_credentials_free(&creds);
    }
}
END_TEST

START_TEST(a_key_with_a_port_matches_that_port_only)
{
    creds_ok("{\"auths\": {\"host:5000\": {\"username\": \"u\", \"password\": \"p\"}}}");
    ck_assert_str_eq(user_for("host:5000"), "u");
    ck_assert_str_eq(user_for("host"), "-");
    ck_assert_str_eq(user_for("host:5001"), "-");
}
END_TEST

START_TEST(a_key_without_a_port_does_not_match_a_port)
{
    creds_ok("{\"auths\": {\"host\": {\"username\": \"u\", \"password\": \"p\"}}}");
    ck_assert_str_eq(user_for("host"), "u");
    ck_assert_str_eq(user_for("host:5000"), "-");
}
END_TEST

START_TEST(scheme_and_path_of_a_key_are_ignored)
{
    creds_ok("{\"auths\": {\"https://host:5000/v2/\": {\"username\": \"u\", \"password\": \"p\"},"
             " \"http://plain.example/some/path\": {\"username\": \"v\", \"password\": \"p\"}}}");
    ck_assert_str_eq(creds.items[0].key, "host:5000");
    ck_assert_str_eq(user_for("host:5000"), "u");
    ck_assert_str_eq(user_for("plain.example"), "v");
}
END_TEST

START_TEST(keys_and_lookups_are_case_insensitive)
{
    creds_ok("{\"auths\": {\"Registry.Example.COM\": {\"username\": \"u\", \"password\": \"p\"}}}");
    ck_assert_str_eq(creds.items[0].key, "registry.example.com");
    ck_assert_str_eq(user_for("registry.example.com"), "u");
    ck_assert_str_eq(user_for("REGISTRY.example.com"), "u");
}
END_TEST

START_TEST(a_wildcard_matches_one_label)
{
    creds_ok("{\"auths\": {\"*.example.com\": {\"username\": \"w\", \"password\": \"p\"}}}");
    ck_assert_str_eq(user_for("a.example.com"), "w");
    ck_assert_str_eq(user_for("A.Example.com"), "w");
    ck_assert_str_eq(user_for("example.com"), "-");
    ck_assert_str_eq(user_for("a.b.example.com"), "-");
    ck_assert_str_eq(user_for(".example.com"), "-");
    ck_assert_str_eq(user_for("a.example.com:5000"), "-");
    ck_assert_str_eq(user_for("aexample.com"), "-");
}
END_TEST

START_TEST(a_wildcard_with_a_port_matches_that_port)
{
    creds_ok("{\"auths\": {\"*.example.com:5000\": {\"username\": \"w\", \"password\": \"p\"}}}");
    ck_assert_str_eq(user_for("a.example.com:5000"), "w");
    ck_assert_str_eq(user_for("a.example.com"), "-");
}
END_TEST

START_TEST(an_exact_key_wins_over_a_wildcard_in_either_order)
{
    creds_ok("{\"auths\": {\"*.example.com\": {\"username\": \"wild\", \"password\": \"p\"},"
             " \"a.example.com\": {\"username\": \"exact\", \"password\": \"p\"}}}");
    ck_assert_str_eq(user_for("a.example.com"), "exact");
    ck_assert_str_eq(user_for("b.example.com"), "wild");
    reg_credentials_free(&creds);
    creds_ok("{\"auths\": {\"a.example.com\": {\"username\": \"exact\", \"password\": \"p\"},"
             " \"*.example.com\": {\"username\": \"wild\", \"password\": \"p\"}}}");
    ck_assert_str_eq(user_for("a.example.com"), "exact");
    ck_assert_str_eq(user_for("b.example.com"), "wild");
}
END_TEST

START_TEST(entries_without_credentials_are_skipped)
{
    char text[1024];
    snprintf(text, sizeof(text),
             "{\"auths\": {\"token.example\": {\"identitytoken\": \"opaque\"},"
             " \"empty.example\": {\"auth\": \"\"},"
             " \"half.example\": {\"username\": \"u\"},"
             " \"none.example\": {},"
             " \"good.example\": {\"auth\": \"%s\"}},"
             " \"credsStore\": \"desktop\"}",
             b64("u:p"));
    creds_ok(text);
    ck_assert_uint_eq(creds.count, 1);
    ck_assert_str_eq(user_for("good.example"), "u");
    ck_assert_str_eq(user_for("token.example"), "-");
    ck_assert_str_eq(user_for("half.example"), "-");
}
END_TEST

START_TEST(a_file_of_only_skipped_entries_has_no_credentials)
{
    creds_ok("{\"auths\": {\"token.example\": {\"identitytoken\": \"opaque\"}}}");
    ck_assert_uint_eq(creds.count, 0);
    ck_assert_str_eq(user_for("token.example"), "-");
    reg_credentials_free(&creds);
    creds_ok("{\"auths\": {}}");
    ck_assert_uint_eq(creds.count, 0);
    ck_assert_ptr_null(reg_credentials_find(NULL, "docker.io"));
}
END_TEST

START_TEST(a_user_or_password_over_the_limit_is_skipped)
{
    size_t n = strlen("{\"auths\": {\"r\": {\"username\": \"u\", \"password\": \"\"}}}");
    char *text = malloc(n + REGAUTH_FIELD_MAX + 1);
    char *pw = malloc(REGAUTH_FIELD_MAX + 1);
    memset(pw, 'p', REGAUTH_FIELD_MAX);
    pw[REGAUTH_FIELD_MAX] = '\0';
    sprintf(text, "{\"auths\": {\"r\": {\"username\": \"u\", \"password\": \"%s\"}}}", pw);
    creds_ok(text);
    ck_assert_uint_eq(creds.count, 0);
    reg_credentials_free(&creds);
    pw[REGAUTH_FIELD_MAX - 1] = '\0'; /* the longest allowed */
    sprintf(text, "{\"auths\": {\"r\": {\"username\": \"u\", \"password\": \"%s\"}}}", pw);
    creds_ok(text);
    ck_assert_uint_eq(creds.count, 1);
    free(pw);
    free(text);
}
END_TEST

START_TEST(invalid_base64_names_the_key_and_never_the_secret)
{
    static const char *const bad[] = {
        "robot:hunter2-secret",        /* plain text, not base64 */
        "cm9ib3Q6aHVudGVyMi1zZWNyZXQ", /* base64 of robot:hunter2-secret, a character short */
        "!!!!hunter2-secret!!",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[512];
        snprintf(text, sizeof(text), "{\"auths\": {\"registry.example.com\": {\"auth\": \"%s\"}}}",
                 bad[i]);
        creds_refused(text, "registry.example.com");
        ck_assert_msg(strstr(err, "hunter2") == NULL, "error shows the secret: %s", err);
        ck_assert_msg(strstr(err, bad[i]) == NULL, "error shows the auth value: %s", err);
    }
}
END_TEST

START_TEST(base64_without_a_colon_or_with_a_nul_is_refused)
{
    char text[512];
    snprintf(text, sizeof(text), "{\"auths\": {\"r.example\": {\"auth\": \"%s\"}}}",
             b64("nocolonsecret"));
    creds_refused(text, "r.example");
    ck_assert_ptr_null(strstr(err, "nocolonsecret"));
    /* "u:p\0x" encoded by hand: a NUL inside the decoded text. */
    creds_refused("{\"auths\": {\"r.example\": {\"auth\": \"dTpwAHg=\"}}}", "r.example");
}
END_TEST

START_TEST(base64_padding_is_not_part_of_the_password)
{
    static const char *const pairs[] = {"u:p", "u:pw", "u:pwd", "user:password1"};
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        char text[512];
        snprintf(text, sizeof(text), "{\"auths\": {\"r.example\": {\"auth\": \"%s\"}}}",
                 b64(pairs[i]));
        creds_ok(text);
        ck_assert_str_eq(creds.items[0].password, strchr(pairs[i], ':') + 1);
        reg_credentials_free(&creds);
    }
}
END_TEST

/*
 * Regression: the decoded text was not NUL-terminated and strndup read past
 * its buffer (AddressSanitizer with strict_string_checks, as make test-asan
 * runs it). Every length of password, so every amount of padding.
 */
START_TEST(decoded_auth_is_read_within_its_buffer)
{
    char pair[64] = "u:", text[256];
    for (size_t n = 0; n < 48; n++) {
        pair[2 + n] = '\0';
        snprintf(text, sizeof(text), "{\"auths\": {\"r.example\": {\"auth\": \"%s\"}}}", b64(pair));
        creds_ok(text);
        ck_assert_str_eq(creds.items[0].user, "u");
        ck_assert_str_eq(creds.items[0].password, pair + 2);
        reg_credentials_free(&creds);
        pair[2 + n] = (char)('a' + n % 26);
    }
}
END_TEST

START_TEST(text_that_is_not_a_json_object_is_refused)
{
    creds_refused("[]", "not a JSON object");
    creds_refused("\"auths\"", "not a JSON object");
    creds_refused("", "not a JSON object");
    creds_refused("{\"auths\": ", "not a JSON object");
    /* The parser's message may quote the input: only the line is given. */
    creds_refused("{\"auths\": {\"r\": {\"password\": \"hunter2\"}} hunter2", "line 1");
    ck_assert_ptr_null(strstr(err, "hunter2"));
}
END_TEST

START_TEST(auths_that_is_not_an_object_is_refused)
{
    creds_refused("{\"auths\": []}", "auths must be an object");
    creds_refused("{\"auths\": \"x\"}", "auths must be an object");
}
END_TEST

START_TEST(an_entry_that_is_not_an_object_names_its_key)
{
    creds_refused("{\"auths\": {\"r.example\": \"u:p\"}}", "auths[\"r.example\"]");
    creds_refused("{\"auths\": {\"\": {\"username\": \"u\", \"password\": \"p\"}}}",
                  "is not a registry");
}
END_TEST

START_TEST(duplicate_keys_are_refused)
{
    creds_refused("{\"auths\": {\"r\": {\"auth\": \"dTpw\"}, \"r\": {\"auth\": \"dTpw\"}}}",
                  "not a JSON object");
}
END_TEST

/* A file of n entries r0..r(n-1), each with credentials. */
static char *many_entries(size_t n)
{
    size_t cap = 32 + n * 64;
    char *text = malloc(cap), *p = text;
    p += sprintf(p, "{\"auths\": {");
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s\"r%zu.example\": {\"auth\": \"dTpw\"}", i ? ", " : "", i);
    sprintf(p, "}}");
    return text;
}

START_TEST(more_entries_than_the_limit_are_refused)
{
    char *text = many_entries(REGAUTH_MAX_ENTRIES + 1);
    creds_refused(text, "at most");
    free(text);
    text = many_entries(REGAUTH_MAX_ENTRIES);
    creds_ok(text);
    ck_assert_uint_eq(creds.count, REGAUTH_MAX_ENTRIES);
    ck_assert_str_eq(user_for("r999.example"), "u");
    free(text);
}
END_TEST

/* Writes text to a new temporary file; its path into path. */
static void temp_file(char *path, size_t len, const char *text, size_t n)
{
    snprintf(path, len, "/tmp/goinject-regauth-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, n), (ssize_t)n);
    close(fd);
}

START_TEST(load_reads_a_file)
{
    char path[64];
    const char *text = "{\"auths\": {\"r.example\": {\"auth\": \"dTpw\"}}}";
    temp_file(path, sizeof(path), text, strlen(text));
    ck_assert_msg(reg_credentials_load(path, &creds, err, sizeof(err)) == 0, "%s", err);
    unlink(path);
    ck_assert_str_eq(user_for("r.example"), "u");
    ck_assert_str_eq(creds.items[0].password, "p");
}
END_TEST

START_TEST(load_of_a_missing_file_names_the_path)
{
    ck_assert_int_eq(
        reg_credentials_load("/nonexistent/goinject/.dockerconfigjson", &creds, err, sizeof(err)),
        -1);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/goinject/.dockerconfigjson"));
    ck_assert_ptr_nonnull(strstr(err, "No such file"));
    ck_assert_uint_eq(creds.count, 0);
}
END_TEST

START_TEST(load_refuses_a_file_over_the_size_limit)
{
    char path[64];
    size_t n = REGAUTH_FILE_MAX + 1;
    char *text = malloc(n);
    memset(text, ' ', n);
    memcpy(text, "{\"auths\": {}}", 13); /* valid JSON, then spaces past the limit */
    temp_file(path, sizeof(path), text, n);
    ck_assert_int_eq(reg_credentials_load(path, &creds, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "is larger than") != NULL, "%s", err);
    /* One byte less is read. */
    ck_assert_int_eq(truncate(path, REGAUTH_FILE_MAX), 0);
    ck_assert_msg(reg_credentials_load(path, &creds, err, sizeof(err)) == 0, "%s", err);
    unlink(path);
    free(text);
}
END_TEST

START_TEST(load_refuses_a_directory)
{
    ck_assert_int_eq(reg_credentials_load("/tmp", &creds, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "/tmp"));
}
END_TEST

START_TEST(load_reports_bad_content)
{
    char path[64];
    temp_file(path, sizeof(path), "[1]", 3);
    ck_assert_int_eq(reg_credentials_load(path, &creds, err, sizeof(err)), -1);
    unlink(path);
    ck_assert_ptr_nonnull(strstr(err, "not a JSON object"));
}
END_TEST

/* ---- Retry-After ------------------------------------------------------------------ */

#define WED_21_OCT_2015 ((time_t)1445412480) /* Wed, 21 Oct 2015 07:28:00 GMT */

START_TEST(retry_after_seconds)
{
    ck_assert_int_eq(reg_retry_after("2", 0), 2);
    ck_assert_int_eq(reg_retry_after(" 30 ", 0), 30);
    ck_assert_int_eq(reg_retry_after("\t0\t", 0), 0);
    ck_assert_int_eq(reg_retry_after("120", WED_21_OCT_2015), 120);
}
END_TEST

START_TEST(retry_after_an_http_date_in_the_future)
{
    time_t now = WED_21_OCT_2015 - 90;
    ck_assert_int_eq(reg_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now), 90);
    /* The two obsolete forms HTTP still allows. */
    ck_assert_int_eq(reg_retry_after("Wednesday, 21-Oct-15 07:28:00 GMT", now), 90);
    ck_assert_int_eq(reg_retry_after("Wed Oct 21 07:28:00 2015", now), 90);
}
END_TEST

START_TEST(retry_after_an_http_date_in_the_past_is_zero)
{
    ck_assert_int_eq(reg_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", WED_21_OCT_2015 + 3600), 0);
    ck_assert_int_eq(reg_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", WED_21_OCT_2015), 0);
}
END_TEST

/*
 * Regression: a delta such as 18446744073709552 fits a long, but the
 * registry layer's backoff counts it in milliseconds, and times 1000 it
 * wrapped around to 384 ms, past the 600 s cap, so a registry could ask to
 * be retried at once. Values are now cut to REGAUTH_RETRY_MAX_S.
 */
START_TEST(retry_after_is_cut_to_the_limit)
{
    ck_assert_int_eq(reg_retry_after("18446744073709552", 0), REGAUTH_RETRY_MAX_S);
    ck_assert_int_eq(reg_retry_after("9223372036854775807", 0), REGAUTH_RETRY_MAX_S);
    ck_assert_int_eq(reg_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", WED_21_OCT_2015),
                     REGAUTH_RETRY_MAX_S);
    char text[32];
    snprintf(text, sizeof(text), "%ld", REGAUTH_RETRY_MAX_S);
    ck_assert_int_eq(reg_retry_after(text, 0), REGAUTH_RETRY_MAX_S);
    snprintf(text, sizeof(text), "%ld", REGAUTH_RETRY_MAX_S - 1);
    ck_assert_int_eq(reg_retry_after(text, 0), REGAUTH_RETRY_MAX_S - 1);
    ck_assert_int_lt(REGAUTH_RETRY_MAX_S, (long)(UINT64_MAX / 1000));
}
END_TEST

START_TEST(retry_after_garbage_is_minus_one)
{
    static const char *const bad[] = {"",
                                      "  ",
                                      "soon",
                                      "2s",
                                      "1.5",
                                      "-5",
                                      "+5",
                                      "0x10",
                                      "5 minutes",
                                      "30 30",
                                      "99999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(reg_retry_after(bad[i], WED_21_OCT_2015) == -1, "accepted \"%s\"", bad[i]);
    ck_assert_int_eq(reg_retry_after(NULL, WED_21_OCT_2015), -1);
}
END_TEST

static Suite *regauth_suite(void)
{
    Suite *s = suite_create("regauth");
    TCase *challenges = tcase_create("challenges");
    tcase_add_test(challenges, bearer_quoted_parameters_keep_their_commas);
    tcase_add_test(challenges, bearer_unquoted_tokens_are_values);
    tcase_add_test(challenges, backslash_escapes_inside_quoted_values);
    tcase_add_test(challenges, missing_parameters_are_empty);
    tcase_add_test(challenges, spaces_around_equals_and_commas_are_allowed);
    tcase_add_test(challenges, bearer_is_chosen_over_an_earlier_basic);
    tcase_add_test(challenges, bearer_is_chosen_over_a_later_basic);
    tcase_add_test(challenges, challenges_without_a_comma_between_them);
    tcase_add_test(challenges, the_first_of_several_bearer_challenges_is_taken);
    tcase_add_test(challenges, basic_alone_is_basic);
    tcase_add_test(challenges, basic_is_taken_after_unknown_schemes);
    tcase_add_test(challenges, a_bearer_without_realm_is_not_usable);
    tcase_add_test(challenges, scheme_and_parameter_names_are_case_insensitive);
    tcase_add_test(challenges, other_parameters_are_ignored);
    tcase_add_test(challenges, an_unterminated_quote_is_refused);
    tcase_add_test(challenges, an_empty_header_is_refused);
    tcase_add_test(challenges, a_header_without_a_scheme_is_refused);
    tcase_add_test(challenges, a_value_longer_than_the_limit_is_refused);
    suite_add_tcase(s, challenges);

    TCase *credentials = tcase_create("credentials");
    tcase_add_checked_fixture(credentials, NULL, teardown);
    tcase_add_test(credentials, auth_member_is_base64_of_user_and_password);
    tcase_add_test(credentials, username_and_password_members);
    tcase_add_test(credentials, auth_wins_over_username_and_password);
    tcase_add_test(credentials, the_old_dockercfg_form_has_no_auths_member);
    tcase_add_test(credentials, the_old_form_skips_members_that_are_not_objects);
    tcase_add_test(credentials, docker_hub_keys_all_name_docker_io);
    tcase_add_test(credentials, a_key_with_a_port_matches_that_port_only);
    tcase_add_test(credentials, a_key_without_a_port_does_not_match_a_port);
    tcase_add_test(credentials, scheme_and_path_of_a_key_are_ignored);
    tcase_add_test(credentials, keys_and_lookups_are_case_insensitive);
    tcase_add_test(credentials, a_wildcard_matches_one_label);
    tcase_add_test(credentials, a_wildcard_with_a_port_matches_that_port);
    tcase_add_test(credentials, an_exact_key_wins_over_a_wildcard_in_either_order);
    tcase_add_test(credentials, entries_without_credentials_are_skipped);
    tcase_add_test(credentials, a_file_of_only_skipped_entries_has_no_credentials);
    tcase_add_test(credentials, a_user_or_password_over_the_limit_is_skipped);
    tcase_add_test(credentials, invalid_base64_names_the_key_and_never_the_secret);
    tcase_add_test(credentials, base64_without_a_colon_or_with_a_nul_is_refused);
    tcase_add_test(credentials, base64_padding_is_not_part_of_the_password);
    tcase_add_test(credentials, decoded_auth_is_read_within_its_buffer);
    tcase_add_test(credentials, text_that_is_not_a_json_object_is_refused);
    tcase_add_test(credentials, auths_that_is_not_an_object_is_refused);
    tcase_add_test(credentials, an_entry_that_is_not_an_object_names_its_key);
    tcase_add_test(credentials, duplicate_keys_are_refused);
    tcase_add_test(credentials, more_entries_than_the_limit_are_refused);
    tcase_add_test(credentials, load_reads_a_file);
    tcase_add_test(credentials, load_of_a_missing_file_names_the_path);
    tcase_add_test(credentials, load_refuses_a_file_over_the_size_limit);
    tcase_add_test(credentials, load_refuses_a_directory);
    tcase_add_test(credentials, load_reports_bad_content);
    suite_add_tcase(s, credentials);

    TCase *retry = tcase_create("Retry-After");
    tcase_add_test(retry, retry_after_seconds);
    tcase_add_test(retry, retry_after_an_http_date_in_the_future);
    tcase_add_test(retry, retry_after_an_http_date_in_the_past_is_zero);
    tcase_add_test(retry, retry_after_is_cut_to_the_limit);
    tcase_add_test(retry, retry_after_garbage_is_minus_one);
    suite_add_tcase(s, retry);
    return s;
}

int main(void)
{
    return run_suite(regauth_suite());
}
