/*
 * fuzz_review.c - libFuzzer target: admission_review on arbitrary bytes.
 *
 * Built twice by `make fuzz`: as fuzz_review (libFuzzer's byte mutations, with
 * fuzz_review.dict) and, with -DJSON_MUTATOR, as fuzz_review_json, whose custom
 * mutator keeps the input valid JSON and changes it structurally (values
 * swapped for interesting ones, members dropped, array elements duplicated),
 * so the fuzzer reaches deep into the rules instead of the JSON parser.
 *
 * Checks beyond the sanitizers: the answer is 200 or 400 with a JSON body;
 * a 200 answer is an AdmissionReview that echoes the uid and is allowed; its
 * patch (when there is one) is base64 of a JSON array that applies to the
 * pod; `goinject mutate`'s engine takes the same input without failing; the
 * fast body parser accepts only what jansson accepts, and builds the same value;
 * its shaped parse builds exactly the members its shape keeps; and a review
 * that builds the whole request answers byte for byte as the shaped one does.
 */
#include <jansson.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admission.h"
#include "arena.h"
#include "config.h"
#include "jsonin.h"
#include "patch_json.h"

/*
 * classic, cloud-native, and cloud-native with agent env for any libc and per libc (which
 * reads each container's env, and chooses by the libc fact)
 */
static struct goinject_config *configs[3];

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_review: invariant broken: %s\n", what);
        abort();
    }
}

static void setup(void)
{
    if (configs[0])
        return;
    arena_install(); /* as goinject's main() does, before any other jansson call */
    configs[0] = config_new_default();
    configs[1] = config_new_default();
    configs[0]->mode = MODE_CLASSIC;
    static const char with_env[] =
        "{\"agent\":{\"env\":{\"any\":[{\"name\":\"APM_TENANT\",\"value\":\"t1\"}],"
        "\"glibc\":[{\"name\":\"LD_PRELOAD\",\"value\":\"/goinject-agent/glibc/probe.so\"}],"
        "\"musl\":[{\"name\":\"LD_PRELOAD\",\"value\":\"/goinject-agent/musl/probe.so\"}]}}}";
    char err[256];
    configs[2] = config_parse(with_env, sizeof(with_env) - 1, err, sizeof(err));
    check(configs[2] != NULL, err);
    /* Process-wide and deterministic, so a crash replays. */
    json_object_seed(1);
}

static void check_patch(const json_t *request, const char *patch_b64)
{
    size_t len = strlen(patch_b64);
    check(len % 4 == 0, "patch is base64");
    unsigned char *raw = malloc(len / 4 * 3 + 1);
    int n = EVP_DecodeBlock(raw, (const unsigned char *)patch_b64, (int)len);
    check(n >= 0, "patch decodes");
    while (n > 0 && len > 0 && patch_b64[len - 1] == '=') {
        n--;
        len--;
    }
    json_t *patch = json_loadb((const char *)raw, (size_t)n, 0, NULL);
    check(json_is_array(patch) && json_array_size(patch) > 0, "patch is a non-empty JSON array");
    char err[256];
    json_t *patched = patch_apply(json_object_get(request, "object"), patch, err, sizeof(err));
    check(patched != NULL, "patch applies to the pod it was made for");
    json_decref(patched);
    json_decref(patch);
    free(raw);
}

/* The same review with every member of the request built: the answer must not change. */
static void check_full_parse_agrees(const struct goinject_config *cfg, const uint8_t *data,
                                    size_t size, bool pod_security,
                                    const struct review_outcome *shaped)
{
    struct review_options opts = {.pod_security_enforced = pod_security, .full_parse = true};
    struct review_outcome full;
    admission_review(cfg, (const char *)data, size, &opts, &full);
    check(full.result == shaped->result && full.http_status == shaped->http_status,
          "a full parse gives the same result");
    check(full.body.len == shaped->body.len &&
              memcmp(full.body.data, shaped->body.data, full.body.len) == 0,
          "a full parse gives the same answer, byte for byte");
    review_outcome_free(&full);
}

static void review_once(const struct goinject_config *cfg, const uint8_t *data, size_t size,
                        bool pod_security)
{
    struct review_options opts = {.pod_security_enforced = pod_security};
    struct review_outcome out;
    admission_review(cfg, (const char *)data, size, &opts, &out);
    check_full_parse_agrees(cfg, data, size, pod_security, &out);
    check(out.http_status == 200 || out.http_status == 400, "status is 200 or 400");
    check((out.http_status == 400) == (out.result == REVIEW_INVALID), "400 exactly when invalid");
    json_t *body = json_loadb(out.body.data, out.body.len, 0, NULL);
    check(json_is_object(body), "the body is a JSON object");
    if (out.http_status == 200) {
        json_t *request = json_loadb((const char *)data, size, JSON_ALLOW_NUL, NULL);
        json_t *response = json_object_get(body, "response");
        check(json_is_true(json_object_get(response, "allowed")), "always allowed");
        check(json_equal(json_object_get(response, "uid"),
                         json_object_get(json_object_get(request, "request"), "uid")),
              "uid echoed");
        const char *patch = json_string_value(json_object_get(response, "patch"));
        check((patch != NULL) == (out.result == REVIEW_PATCHED), "a patch exactly when patched");
        if (patch)
            check_patch(json_object_get(request, "request"), patch);
        json_decref(request);
    } else {
        check(json_is_string(json_object_get(body, "error")), "a 400 says why");
    }
    json_decref(body);
    review_outcome_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* value cut down to shape, as jsonin_parse_shaped should build it (a new reference). */
static json_t *pruned(json_t *value, const struct jsonin_shape *shape)
{
    if (!shape || !(json_is_object(value) || json_is_array(value)))
        return json_incref(value);
    json_t *out = json_is_object(value) ? json_object() : json_array();
    if (json_is_array(value)) {
        size_t i;
        json_t *item;
        json_array_foreach(value, i, item) json_array_append_new(out, pruned(item, shape));
        return out;
    }
    for (const struct jsonin_shape *s = shape; s->member; s++) {
        json_t *member = json_object_get(value, s->member);
        if (member)
            json_object_set_new(out, s->member, pruned(member, s->members));
    }
    return out;
}

static void check_parsers_agree(const struct goinject_config *cfg, const uint8_t *data, size_t size)
{
    const struct jsonin_shape *shape = admission_review_shape(cfg);
    json_t *fast = jsonin_parse_shaped((const char *)data, size, NULL);
    json_t *shaped = jsonin_parse_shaped((const char *)data, size, shape);
    check((fast != NULL) == (shaped != NULL), "shaped and full fast parses accept the same");
    if (!fast)
        return; /* jansson decides: nothing to compare */
    json_error_t error;
    json_t *slow = json_loadb((const char *)data, size, JSON_ALLOW_NUL, &error);
    if (!slow)
        fprintf(stderr, "fuzz_review: jansson refuses what the fast parser took: %s\n", error.text);
    check(slow != NULL, "the fast parser accepts only what jansson accepts");
    check(json_equal(fast, slow), "and builds the same value");
    json_t *expected = pruned(slow, shape);
    check(json_equal(shaped, expected), "the shaped parse builds exactly what its shape keeps");
    json_decref(expected);
    json_decref(shaped);
    json_decref(slow);
    json_decref(fast);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    check_parsers_agree(configs[size % 3], data, size);
    review_once(configs[1], data, size, false);
    review_once(configs[0], data, size, size % 2 == 1);
    review_once(configs[2], data, size, false);

    json_t *doc = json_loadb((const char *)data, size, JSON_ALLOW_NUL, NULL);
    if (doc) {
        struct warnings w = {NULL, 0};
        char err[256];
        json_t *mutated = admission_mutate(configs[1], doc, NULL, &w, err, sizeof(err));
        json_decref(mutated);
        warnings_free(&w);
        json_decref(doc);
    }
    return 0;
}

#ifdef JSON_MUTATOR
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

/* Values that steer the rules: facts, argv shapes, types the code must reject. */
static json_t *interesting(unsigned pick)
{
    static const char *const texts[] = {
        "true",
        "false",
        "null",
        "0",
        "-1",
        "1e308",
        "\"\"",
        "\"true\"",
        "\"false\"",
        "\"/bin/sh\"",
        "\"none\"",
        "\"musl\"",
        "\"glibc\"",
        "\"CREATE\"",
        "\"UPDATE\"",
        "\"pods\"",
        "\"windows\"",
        "\"SYS_PTRACE\"",
        "\"ALL\"",
        "\"goinject-agent\"",
        "\"/goinject-agent\"",
        "\"[\\\"/app\\\",\\\"--x\\\"]\"",
        "\"[]\"",
        "\"[1]\"",
        "\"a/b~c\"",
        "[]",
        "[\"\"]",
        "[\"/app\"]",
        "[\"sh\",\"-c\",\"x\"]",
        "[\"tini\",\"--\"]",
        "{}",
        "[null]",
        "[{}]",
        "{\"add\":[\"SYS_PTRACE\"]}",
        "{\"privileged\":true}",
        "[{\"name\":\"goinject-agent\",\"mountPath\":\"/x\"}]",
        "[{\"name\":\"app\",\"image\":\"i\"}]",
        "\"\\u0000\"",
        "\"\\ud800\"",
    };
    unsigned n = sizeof(texts) / sizeof(texts[0]);
    return json_loads(texts[pick % n], JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
}

static unsigned next_rand(unsigned *state)
{
    *state = *state * 1103515245u + 12345u;
    return *state >> 8;
}

/* Picks a random container (object or array) in the tree and changes one thing in it. */
static void mutate_tree(json_t *node, unsigned *rng, int depth)
{
    size_t n = json_is_object(node) ? json_object_size(node) : json_array_size(node);
    if (n == 0 || depth > 64) {
        if (json_is_array(node))
            json_array_append_new(node, interesting(next_rand(rng)));
        return;
    }
    size_t at = next_rand(rng) % n;
    json_t *child;
    const char *key = NULL;
    if (json_is_object(node)) {
        void *iter = json_object_iter(node);
        for (size_t i = 0; i < at; i++)
            iter = json_object_iter_next(node, iter);
        key = json_object_iter_key(iter);
        child = json_object_iter_value(iter);
    } else {
        child = json_array_get(node, at);
    }
    bool inner = json_is_object(child) || json_is_array(child);
    unsigned action = next_rand(rng) % 8;
    if (inner && action < 5)
        return mutate_tree(child, rng, depth + 1);
    switch (action % 4) {
    case 0: /* drop it */
        if (key)
            json_object_del(node, key);
        else
            json_array_remove(node, at);
        break;
    case 1: /* duplicate it (arrays), or add a sibling under a new key */
        if (key) {
            char fresh[64];
            snprintf(fresh, sizeof(fresh), "%s.goinject.io/%s", key, key);
            json_object_set_new(node, fresh, interesting(next_rand(rng)));
        } else {
            json_array_append_new(node, json_deep_copy(child));
        }
        break;
    default: /* replace it */
        if (key)
            json_object_set_new(node, key, interesting(next_rand(rng)));
        else
            json_array_set_new(node, at, interesting(next_rand(rng)));
        break;
    }
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    json_t *doc = json_loadb((const char *)data, size, 0, NULL);
    if (!json_is_object(doc) || seed % 8 == 0) {
        json_decref(doc);
        return LLVMFuzzerMutate(data, size, max_size);
    }
    unsigned rng = seed;
    unsigned rounds = 1 + next_rand(&rng) % 3;
    for (unsigned i = 0; i < rounds; i++)
        mutate_tree(doc, &rng, 0);
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    size_t len = text ? strlen(text) : 0;
    if (!text || len > max_size) {
        free(text);
        return LLVMFuzzerMutate(data, size, max_size);
    }
    memcpy(data, text, len);
    free(text);
    return len;
}
#endif
