/* catalog.c - image catalog rules: parsing, normalising, matching; see catalog.h. */
#include "catalog.h"

#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "imageref.h"
#include "validate.h"

#define REF_MAX 1024

/* ---- references --------------------------------------------------------------- */

int catalog_normalize(const char *ref, char *out, size_t outlen)
{
    struct image_ref parsed;
    if (image_ref_parse(ref, &parsed, NULL, 0) != 0)
        return -1;
    return image_ref_format(&parsed, out, outlen);
}

static void strip_digest(char *ref)
{
    char *at = strchr(ref, '@');
    if (at)
        *at = '\0';
}

static bool rule_matches(const struct catalog_rule *rule, const char *image, const char *normalized)
{
    const char *at = strchr(image, '@');
    char pod[REF_MAX];
    switch (rule->kind) {
    case CATALOG_IMAGE:
        if (!normalized)
            return false;
        snprintf(pod, sizeof(pod), "%s", normalized);
        if (!strchr(rule->pattern, '@'))
            strip_digest(pod); /* the rule names a tag; the pod may pin a digest of it */
        return strcmp(pod, rule->pattern) == 0;
    case CATALOG_GLOB:
        return fnmatch(rule->pattern, image, 0) == 0 ||
               (normalized && fnmatch(rule->pattern, normalized, 0) == 0);
    case CATALOG_DIGEST:
        return at && strcmp(at + 1, rule->pattern) == 0;
    }
    return false;
}

const struct catalog_rule *catalog_match(const struct catalog *catalog, const char *image)
{
    char normalized[REF_MAX];
    if (!image || !catalog->count)
        return NULL;
    bool ok = catalog_normalize(image, normalized, sizeof(normalized)) == 0;
    for (size_t i = 0; i < catalog->count; i++)
        if (rule_matches(&catalog->rules[i], image, ok ? normalized : NULL))
            return &catalog->rules[i];
    return NULL;
}

/* ---- parsing --------------------------------------------------------------------- */

static int check_members(const json_t *object, const char *field, const char *const *known,
                         char *err, size_t errlen)
{
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)object, key, value)
    {
        bool found = false;
        for (const char *const *k = known; *k; k++)
            found = found || strcmp(key, *k) == 0;
        if (!found)
            return errorf(err, errlen, "%s.%.80s: unknown field", field, key);
    }
    return 0;
}

static int parse_match(const json_t *match, const char *field, struct catalog_rule *rule, char *err,
                       size_t errlen)
{
    static const char *const known[] = {"image", "glob", "digest", NULL};
    char normalized[REF_MAX], why[200] = "";
    struct image_ref ref;
    if (!json_is_object(match) || json_object_size(match) != 1)
        return errorf(err, errlen, "%s.match: must have exactly one of image, glob or digest",
                      field);
    if (check_members(match, field, known, err, errlen) != 0)
        return errorf(err, errlen, "%s.match: must have exactly one of image, glob or digest",
                      field);
    const char *key = json_object_iter_key(json_object_iter((json_t *)match));
    const char *value =
        json_string_value(json_object_iter_value(json_object_iter((json_t *)match)));
    if (!value || !valid_image_ref(value) || strlen(value) >= REF_MAX)
        return errorf(err, errlen, "%s.match.%s: must be %s", field, key,
                      strcmp(key, "digest") == 0 ? "a digest such as sha256:<64 hex digits>"
                                                 : "an image reference");
    if (strcmp(key, "image") == 0) {
        if (image_ref_parse(value, &ref, why, sizeof(why)) != 0 ||
            image_ref_format(&ref, normalized, sizeof(normalized)) != 0)
            return errorf(err, errlen, "%s.match.image: \"%.80s\" is not an image reference: %s",
                          field, value, why);
        rule->kind = CATALOG_IMAGE;
        value = normalized;
    } else if (strcmp(key, "glob") == 0) {
        rule->kind = CATALOG_GLOB;
    } else {
        if (!image_ref_valid_digest(value))
            return errorf(err, errlen,
                          "%s.match.digest: \"%.80s\" is not sha256:<64 lowercase hex digits>",
                          field, value);
        rule->kind = CATALOG_DIGEST;
    }
    rule->pattern = strdup(value);
    return rule->pattern ? 0 : errorf(err, errlen, "%s: out of memory", field);
}

static int parse_tristate(const json_t *v, const char *field, const char *name, int *slot,
                          char *err, size_t errlen)
{
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return errorf(err, errlen, "%s.facts.%s: must be true or false", field, name);
    *slot = json_is_true(v);
    return 0;
}

static int parse_argv(const json_t *v, const char *field, const char *name, json_t **slot,
                      char *err, size_t errlen)
{
    size_t i;
    json_t *item;
    if (!v)
        return 0;
    if (!json_is_array(v))
        return errorf(err, errlen, "%s.facts.%s: must be an array of strings", field, name);
    json_array_foreach(v, i, item)
    {
        if (!json_is_string(item))
            return errorf(err, errlen, "%s.facts.%s[%zu]: must be a string", field, name, i);
    }
    *slot = json_deep_copy(v);
    return 0;
}

static int parse_shell(const json_t *v, const char *field, char **slot, char *err, size_t errlen)
{
    const char *s = json_string_value(v);
    if (!v)
        return 0;
    if (!s || (strcmp(s, "none") != 0 && (!valid_absolute_path(s) || strcmp(s, "/") == 0)))
        return errorf(err, errlen, "%s.facts.shell: must be an absolute path or \"none\"", field);
    *slot = strdup(s);
    return 0;
}

/* The image's USER: "user[:group]" of names or numbers, as the image config writes it. */
static int parse_user(const json_t *v, const char *field, char **slot, char *err, size_t errlen)
{
    const char *s = json_string_value(v);
    if (!v)
        return 0;
    if (!s || strlen(s) > CATALOG_USER_MAX || strchr(s, '/') || strpbrk(s, " \t\n"))
        return errorf(err, errlen,
                      "%s.facts.user: must be the image's USER, \"\" or a name or UID (with an "
                      "optional :group) of at most %d characters",
                      field, CATALOG_USER_MAX);
    *slot = strdup(s);
    return 0;
}

static int parse_libc(const json_t *v, const char *field, char **slot, char *err, size_t errlen)
{
    const char *s = json_string_value(v);
    if (!v)
        return 0;
    if (!s || (strcmp(s, "glibc") != 0 && strcmp(s, "musl") != 0 && strcmp(s, "none") != 0))
        return errorf(err, errlen, "%s.facts.libc: must be \"glibc\", \"musl\" or \"none\"", field);
    *slot = strdup(s);
    return 0;
}

int catalog_facts_parse(const json_t *facts, const char *field, struct catalog_facts *out,
                        char *err, size_t errlen)
{
    static const char *const known[] = {"staticGo",   "cgo", "shell", "libc",
                                        "entrypoint", "cmd", "user",  NULL};
    char sub[64];
    snprintf(sub, sizeof(sub), "%s.facts", field);
    if (!json_is_object(facts) || json_object_size(facts) == 0)
        return errorf(err, errlen, "%s.facts: must be an object with at least one fact", field);
    if (check_members(facts, sub, known, err, errlen) != 0)
        return -1;
    if (parse_tristate(json_object_get(facts, "staticGo"), field, "staticGo", &out->static_go, err,
                       errlen) ||
        parse_tristate(json_object_get(facts, "cgo"), field, "cgo", &out->cgo, err, errlen) ||
        parse_shell(json_object_get(facts, "shell"), field, &out->shell, err, errlen) ||
        parse_libc(json_object_get(facts, "libc"), field, &out->libc, err, errlen) ||
        parse_argv(json_object_get(facts, "entrypoint"), field, "entrypoint", &out->entrypoint, err,
                   errlen) ||
        parse_argv(json_object_get(facts, "cmd"), field, "cmd", &out->cmd, err, errlen) ||
        parse_user(json_object_get(facts, "user"), field, &out->user, err, errlen))
        return -1;
    return 0;
}

void catalog_facts_free(struct catalog_facts *facts)
{
    free(facts->shell);
    free(facts->libc);
    free(facts->user);
    json_decref(facts->entrypoint);
    json_decref(facts->cmd);
    memset(facts, 0, sizeof(*facts));
    facts->static_go = facts->cgo = -1;
}

static void rule_free(struct catalog_rule *rule)
{
    free(rule->pattern);
    catalog_facts_free(&rule->facts);
}

static int parse_rule(const json_t *item, size_t index, struct catalog_rule *rule, char *err,
                      size_t errlen)
{
    static const char *const known[] = {"match", "facts", "note", NULL};
    char field[32];
    snprintf(field, sizeof(field), "catalog[%zu]", index);
    memset(rule, 0, sizeof(*rule));
    rule->facts.static_go = rule->facts.cgo = -1;
    if (!json_is_object(item))
        return errorf(err, errlen, "%s: must be an object with match and facts", field);
    if (check_members(item, field, known, err, errlen) != 0)
        return -1;
    const json_t *note = json_object_get(item, "note");
    if (note && !json_is_string(note))
        return errorf(err, errlen, "%s.note: must be a string", field);
    if (!json_object_get(item, "match"))
        return errorf(err, errlen, "%s.match: missing", field);
    if (parse_match(json_object_get(item, "match"), field, rule, err, errlen) != 0)
        return -1;
    return catalog_facts_parse(json_object_get(item, "facts"), field, &rule->facts, err, errlen);
}

int catalog_parse(const json_t *array, struct catalog *out, char *err, size_t errlen)
{
    struct catalog parsed = {NULL, 0, NULL};
    size_t n = json_array_size(array);
    if (!json_is_array(array))
        return errorf(err, errlen, "catalog: must be an array of rules");
    if (n > CATALOG_MAX_RULES)
        return errorf(err, errlen, "catalog: more than %d rules", CATALOG_MAX_RULES);
    if (n && !(parsed.rules = calloc(n, sizeof(*parsed.rules))))
        return errorf(err, errlen, "catalog: out of memory");
    for (size_t i = 0; i < n; i++) {
        int rc = parse_rule(json_array_get(array, i), i, &parsed.rules[i], err, errlen);
        parsed.count = i + 1; /* the rule is freed with the rest, parsed or not */
        if (rc != 0) {
            catalog_free(&parsed);
            return -1;
        }
    }
    parsed.source = json_deep_copy(array);
    catalog_free(out);
    *out = parsed;
    return 0;
}

void catalog_free(struct catalog *catalog)
{
    for (size_t i = 0; i < catalog->count; i++)
        rule_free(&catalog->rules[i]);
    free(catalog->rules);
    json_decref(catalog->source);
    memset(catalog, 0, sizeof(*catalog));
}
