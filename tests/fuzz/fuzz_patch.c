/*
 * fuzz_patch.c - libFuzzer target: the RFC 6902 applier on a document and a patch.
 *
 * The input is "<document JSON>\0<patch JSON>" (without a NUL, the whole
 * input is the patch, applied to {}). Checks beyond the sanitizers:
 * patch_apply never modifies its inputs, fails with a one-line reason that
 * names the operation, and returns a fresh document on success; goinject's
 * compact writer prints the result exactly as json_dumps does.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jsonout.h"
#include "patch_json.h"

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_patch: invariant broken: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_object_seed(1);
    const char *text = (const char *)data;
    const char *nul = memchr(text, '\0', size);
    json_t *doc, *patch;
    if (nul) {
        doc = json_loadb(text, (size_t)(nul - text), JSON_DECODE_ANY, NULL);
        patch = json_loadb(nul + 1, size - (size_t)(nul - text) - 1, JSON_DECODE_ANY, NULL);
    } else {
        doc = json_object();
        patch = json_loadb(text, size, JSON_DECODE_ANY, NULL);
    }
    if (doc && patch) {
        json_t *doc_before = json_deep_copy(doc);
        json_t *patch_before = json_deep_copy(patch);
        char err[256] = "unset";
        json_t *result = patch_apply(doc, patch, err, sizeof(err));
        check(json_equal(doc, doc_before), "the document is not modified");
        check(json_equal(patch, patch_before), "the patch is not modified");
        if (result) {
            check(result != doc, "a fresh document");
            check(err[0] == '\0', "no reason on success");
            char *want = json_dumps(result, JSON_COMPACT | JSON_ENCODE_ANY);
            struct buf got = BUF_INIT;
            if (want && jsonout_write_compact(&got, result) == 0)
                check(strcmp(got.data, want) == 0,
                      "jsonout_write_compact writes what json_dumps does");
            buf_free(&got);
            free(want);
        } else {
            check(strncmp(err, "operation ", 10) == 0 || strncmp(err, "patch ", 6) == 0,
                  "the reason names the operation or the patch");
            check(strchr(err, '\n') == NULL, "the reason is one line");
        }
        json_decref(result);
        json_decref(doc_before);
        json_decref(patch_before);
    }
    json_decref(doc);
    json_decref(patch);
    return 0;
}
