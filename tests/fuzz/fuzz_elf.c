/*
 * fuzz_elf.c - libFuzzer target: an arbitrary buffer as an executable.
 *
 * Runs everything `goinject inspect FILE` does with it: the ELF reader, the
 * Go build info, the symbol and pclntab scans, the problems, both outputs.
 */
#include <stdint.h>
#include <stdio.h>

#include "binfacts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct bin_facts facts;
    char err[256];
    if (binfacts_inspect(data, size, &facts, err, sizeof(err)) != 0)
        return 0;
    json_decref(binfacts_to_json(&facts));
    FILE *sink = fopen("/dev/null", "w");
    if (sink) {
        binfacts_print(sink, &facts, 2);
        fclose(sink);
    }
    binfacts_free(&facts);
    return 0;
}
