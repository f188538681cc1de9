/*
 * fuzz_regauth.c - libFuzzer target: what a registry or a credentials file
 * sends goinject's auth code (regauth.h). The first byte chooses, modulo 4:
 *   0  the rest is a WWW-Authenticate value      (reg_challenge_parse)
 *   1  the rest is a credentials file            (reg_credentials_parse, _find)
 *   2  the rest is a Retry-After value           (reg_retry_after)
 *   3  the rest is given to all three
 * (the seeds in tests/fuzz/corpus/fuzz_regauth start with '0'..'3').
 *
 * Checks beyond the sanitizers: a challenge taken is Basic, or Bearer with a
 * realm, its fields terminated within their buffers; every credential has a
 * host key, a user and a password, and is found again by its key; a wait is
 * -1 or from 0 to REGAUTH_RETRY_MAX_S.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "regauth.h"

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_regauth: invariant broken: %s\n", what);
        abort();
    }
}

/* data as a C string (it ends at its first NUL, as a header value would). */
static char *text_of(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    check(s != NULL, "out of memory");
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

static void challenge(const char *header)
{
    struct reg_challenge c, again;
    memset(&c, 0, sizeof(c));
    memset(&again, 0, sizeof(again));
    int rc = reg_challenge_parse(header, &c);
    check(rc == 0 || rc == -1, "0 or -1");
    check(reg_challenge_parse(header, &again) == rc, "the same answer twice");
    if (rc != 0)
        return;
    check(c.scheme == REG_SCHEME_BASIC || c.scheme == REG_SCHEME_BEARER, "a usable scheme");
    check(c.scheme != REG_SCHEME_BEARER || c.realm[0], "a Bearer challenge has a realm");
    check(memchr(c.realm, 0, sizeof(c.realm)) && memchr(c.service, 0, sizeof(c.service)) &&
              memchr(c.scope, 0, sizeof(c.scope)),
          "fields are terminated");
    check(strcmp(c.realm, again.realm) == 0 && strcmp(c.service, again.service) == 0 &&
              strcmp(c.scope, again.scope) == 0 && c.scheme == again.scheme,
          "the same fields twice");
}

static void credentials(const uint8_t *data, size_t size)
{
    struct reg_credentials creds;
    char err[256];
    err[0] = '\0';
    if (reg_credentials_parse((const char *)data, size, &creds, err, sizeof(err)) != 0) {
        check(err[0] != '\0', "a refusal says why");
        check(creds.items == NULL && creds.count == 0, "a refusal keeps nothing");
        return;
    }
    check(creds.count <= REGAUTH_MAX_ENTRIES, "at most REGAUTH_MAX_ENTRIES");
    for (size_t i = 0; i < creds.count; i++) {
        const struct reg_credential *c = &creds.items[i];
        check(c->key && c->key[0] && c->user && c->password, "key, user and password");
        check(strchr(c->key, '/') == NULL, "a key is host[:port]");
        const struct reg_credential *found = reg_credentials_find(&creds, c->key);
        check(found && strcasecmp(found->key, c->key) == 0, "found again by its key");
    }
    static const char *const hosts[] = {"docker.io",     "index.docker.io", "quay.io",
                                        "a.example.com", "localhost:5000",  ""};
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++)
        reg_credentials_find(&creds, hosts[i]);
    reg_credentials_free(&creds);
    check(creds.items == NULL && creds.count == 0, "free empties");
}

static void retry_after(const char *value)
{
    static const time_t nows[] = {0, 1445412480, (time_t)1 << 40};
    for (size_t i = 0; i < sizeof(nows) / sizeof(nows[0]); i++) {
        long s = reg_retry_after(value, nows[i]);
        check(s == -1 || (s >= 0 && s <= REGAUTH_RETRY_MAX_S), "-1 or 0..REGAUTH_RETRY_MAX_S");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    unsigned which = data[0] % 4;
    data++;
    size--;
    char *text = text_of(data, size);
    if (which == 0 || which == 3)
        challenge(text);
    if (which == 1 || which == 3)
        credentials(data, size);
    if (which == 2 || which == 3)
        retry_after(text);
    free(text);
    return 0;
}
