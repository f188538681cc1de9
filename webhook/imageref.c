/* imageref.c - image references: parsing, normalising, formatting; see imageref.h. */
#include "imageref.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"

#define DEFAULT_REGISTRY "docker.io"
#define LEGACY_REGISTRY  "index.docker.io"
#define DOCKER_HUB_API   "registry-1.docker.io"
#define DEFAULT_TAG      "latest"
#define OFFICIAL_PREFIX  "library/"

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

static bool is_alnum(char c)
{
    return is_lower_alnum(c) || is_upper(c);
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Copies s[0..len) into dst, which holds at least len + 1 bytes. */
static void copy(char *dst, const char *s, size_t len)
{
    memcpy(dst, s, len);
    dst[len] = '\0';
}

bool image_ref_valid_digest(const char *s)
{
    static const struct {
        const char *prefix;
        size_t hex;
    } algs[] = {{"sha256:", 64}, {"sha384:", 96}, {"sha512:", 128}};
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        size_t plen = strlen(algs[i].prefix);
        if (strncmp(s, algs[i].prefix, plen) == 0)
            return strlen(s + plen) == algs[i].hex &&
                   strspn(s + plen, "0123456789abcdef") == algs[i].hex;
    }
    return false;
}

/* [A-Za-z0-9_][A-Za-z0-9._-]{0,127} */
static bool valid_tag(const char *s, size_t len)
{
    if (len == 0 || len > IMAGE_REF_TAG_MAX || !(is_alnum(s[0]) || s[0] == '_'))
        return false;
    for (size_t i = 1; i < len; i++)
        if (!is_alnum(s[i]) && !strchr("._-", s[i]))
            return false;
    return true;
}

/* Docker's rule: the first component names a registry when it has a '.' or a ':', is
 * localhost, or has an uppercase letter (which no repository component may have). */
static bool is_registry(const char *first, size_t len)
{
    if (memchr(first, '.', len) || memchr(first, ':', len) ||
        (len == 9 && memcmp(first, "localhost", 9) == 0))
        return true;
    for (size_t i = 0; i < len; i++)
        if (is_upper(first[i]))
            return true;
    return false;
}

/* host[:port]; host is '.'-separated components of [A-Za-z0-9-] that neither start nor end
 * with '-', or a bracketed IPv6 address ([0-9A-Fa-f:]). */
static bool valid_registry(const char *s, size_t len)
{
    size_t i = 0;
    if (len > 0 && s[0] == '[') {
        for (i = 1; i < len && (is_hex(s[i]) || s[i] == ':'); i++)
            ;
        if (i == 1 || i == len || s[i] != ']')
            return false;
        i++;
    } else {
        for (;;) {
            size_t start = i;
            while (i < len && (is_alnum(s[i]) || s[i] == '-'))
                i++;
            if (i == start || s[start] == '-' || s[i - 1] == '-')
                return false;
            if (i == len || s[i] != '.')
                break;
            i++;
        }
    }
    if (i == len)
        return true;
    if (s[i++] != ':')
        return false;
    size_t digits = i;
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++;
    return i > digits && i == len;
}

/* [a-z0-9]+ (([._]|__|-+) [a-z0-9]+)* */
static bool valid_component(const char *s, size_t len)
{
    size_t i = 0;
    for (;;) {
        size_t start = i;
        while (i < len && is_lower_alnum(s[i]))
            i++;
        if (i == start)
            return false;
        if (i == len)
            return true;
        if (s[i] == '.') {
            i++;
        } else if (s[i] == '_') {
            i += (i + 1 < len && s[i + 1] == '_') ? 2 : 1;
        } else if (s[i] == '-') {
            while (i < len && s[i] == '-')
                i++;
        } else {
            return false;
        }
    }
}

/* Checks the repository path s[0..len) and stores it, with "library/" for Docker Hub's
 * single names. */
static int parse_repository(const char *s, size_t len, struct image_ref *out, char *err,
                            size_t errlen)
{
    for (size_t i = 0; i < len; i++)
        if (is_upper(s[i]))
            return errorf(err, errlen, "repository \"%.*s\" must be lowercase",
                          (int)(len < 80 ? len : 80), s);
    for (size_t start = 0, end; start <= len; start = end + 1) {
        for (end = start; end < len && s[end] != '/'; end++)
            ;
        if (end == start)
            return errorf(err, errlen, "repository \"%.*s\" has an empty path component",
                          (int)(len < 80 ? len : 80), s);
        if (!valid_component(s + start, end - start))
            return errorf(err, errlen,
                          "repository component \"%.*s\" is not lowercase letters and digits "
                          "separated by '.', '_', '__' or dashes",
                          (int)(end - start < 80 ? end - start : 80), s + start);
    }
    bool official = strcmp(out->registry, DEFAULT_REGISTRY) == 0 && !memchr(s, '/', len);
    size_t prefix = official ? strlen(OFFICIAL_PREFIX) : 0;
    if (prefix + len > IMAGE_REF_REPOSITORY_MAX)
        return errorf(err, errlen, "repository is longer than %d characters",
                      IMAGE_REF_REPOSITORY_MAX);
    copy(out->repository, OFFICIAL_PREFIX, prefix);
    copy(out->repository + prefix, s, len);
    return 0;
}

/* Stores the registry s[0..len), or docker.io when len is 0. */
static int parse_registry(const char *s, size_t len, struct image_ref *out, char *err,
                          size_t errlen)
{
    if (len == 0) {
        copy(out->registry, DEFAULT_REGISTRY, strlen(DEFAULT_REGISTRY));
        return 0;
    }
    if (len > IMAGE_REF_REGISTRY_MAX)
        return errorf(err, errlen, "registry is longer than %d characters", IMAGE_REF_REGISTRY_MAX);
    if (!valid_registry(s, len))
        return errorf(err, errlen, "registry \"%.*s\" is not host[:port]",
                      (int)(len < 80 ? len : 80), s);
    if (len == strlen(LEGACY_REGISTRY) && memcmp(s, LEGACY_REGISTRY, len) == 0)
        copy(out->registry, DEFAULT_REGISTRY, strlen(DEFAULT_REGISTRY));
    else
        copy(out->registry, s, len);
    return 0;
}

static int parse(const char *text, struct image_ref *out, char *err, size_t errlen)
{
    size_t len = strlen(text);
    if (len == 0)
        return errorf(err, errlen, "empty image reference");
    if (len > IMAGE_REF_TEXT_MAX)
        return errorf(err, errlen, "image reference is longer than %d characters",
                      IMAGE_REF_TEXT_MAX);
    const char *at = strchr(text, '@');
    size_t name_len = at ? (size_t)(at - text) : len;
    if (at) {
        if (at[1] == '\0')
            return errorf(err, errlen, "'@' without a digest");
        if (!image_ref_valid_digest(at + 1))
            return errorf(err, errlen,
                          "digest \"%.80s\" is not sha256:<64 lowercase hex digits> (or sha384, "
                          "sha512)",
                          at + 1);
        copy(out->digest, at + 1, strlen(at + 1));
    }
    /* A ':' after the last '/' starts the tag; one before it belongs to the registry's port. */
    const char *slash = memrchr(text, '/', name_len);
    const char *colon = memrchr(text, ':', name_len);
    if (colon && (!slash || colon > slash)) {
        size_t tag_len = name_len - (size_t)(colon + 1 - text);
        if (tag_len == 0)
            return errorf(err, errlen, "empty tag after ':'");
        if (!valid_tag(colon + 1, tag_len))
            return errorf(err, errlen,
                          "tag \"%.*s\" is not 1 to %d of [A-Za-z0-9_.-] starting with a letter, "
                          "digit or '_'",
                          (int)(tag_len < 80 ? tag_len : 80), colon + 1, IMAGE_REF_TAG_MAX);
        copy(out->tag, colon + 1, tag_len);
        name_len = (size_t)(colon - text);
    }
    if (name_len == 0)
        return errorf(err, errlen, "no repository name");
    const char *first = memchr(text, '/', name_len);
    size_t registry_len =
        first && is_registry(text, (size_t)(first - text)) ? (size_t)(first - text) : 0;
    if (parse_registry(text, registry_len, out, err, errlen) != 0)
        return -1;
    size_t skip = registry_len ? registry_len + 1 : 0;
    if (parse_repository(text + skip, name_len - skip, out, err, errlen) != 0)
        return -1;
    if (!out->tag[0] && !out->digest[0])
        copy(out->tag, DEFAULT_TAG, strlen(DEFAULT_TAG));
    return 0;
}

int image_ref_parse(const char *text, struct image_ref *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (parse(text, out, err, errlen) == 0)
        return 0;
    memset(out, 0, sizeof(*out));
    return -1;
}

const char *image_ref_api_host(const struct image_ref *ref)
{
    return strcmp(ref->registry, DEFAULT_REGISTRY) == 0 ? DOCKER_HUB_API : ref->registry;
}

int image_ref_format(const struct image_ref *ref, char *out, size_t len)
{
    /* Pieces copied, not printed: a review formats each container's reference. */
    const char *parts[] = {ref->registry,   "/",
                           ref->repository, ref->tag[0] ? ":" : "",
                           ref->tag,        ref->digest[0] ? "@" : "",
                           ref->digest};
    size_t n = 0;
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        size_t k = strlen(parts[i]);
        if (n + k >= len)
            return -1;
        memcpy(out + n, parts[i], k);
        n += k;
    }
    out[n] = '\0';
    return 0;
}
