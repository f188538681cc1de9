/*
 * fuzz_config.c - libFuzzer target: the configuration file parser.
 *
 * Checks beyond the sanitizers: a refused file comes with a one-line reason;
 * an accepted one prints (config_to_json) as a file that parses again to the
 * same effective configuration.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_config: invariant broken: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_object_seed(1);
    char err[512] = "";
    struct goinject_config *cfg = config_parse((const char *)data, size, err, sizeof(err));
    if (!cfg) {
        check(err[0] != '\0', "a refusal says why");
        check(strchr(err, '\n') == NULL, "the reason is one line");
        return 0;
    }
    json_t *printed = config_to_json(cfg);
    char *text = json_dumps(printed, JSON_COMPACT);
    check(text != NULL, "the configuration prints");
    struct goinject_config *again = config_parse(text, strlen(text), err, sizeof(err));
    if (!again)
        fprintf(stderr, "fuzz_config: reparse of %s failed: %s\n", text, err);
    check(again != NULL, "the printed configuration parses again");
    json_t *printed_again = config_to_json(again);
    check(json_equal(printed, printed_again), "and means the same");
    json_decref(printed_again);
    config_free(again);
    free(text);
    json_decref(printed);
    config_free(cfg);
    return 0;
}
