/*
 * fuzz_buildinfo.c - libFuzzer target: an arbitrary buffer as a Go build info
 * blob (both formats, with a fake memory image for the pointer format) and as
 * module info text.
 */
#include <stdint.h>
#include <string.h>

#include "buildinfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct memory {
    const uint8_t *data;
    size_t size;
};

/* The buffer itself is the memory image, mapped at address 0x1000. */
static const uint8_t *map(void *ctx, uint64_t addr, size_t len)
{
    struct memory *m = ctx;
    if (addr < 0x1000 || addr - 0x1000 > m->size || len > m->size - (addr - 0x1000))
        return NULL;
    return m->data + (addr - 0x1000);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct go_buildinfo info;
    struct memory m = {data, size};
    char err[256];
    buildinfo_decode(data, size, map, &m, &info, err, sizeof(err));
    buildinfo_setting(&info, "-ldflags");
    buildinfo_free(&info);
    memset(&info, 0, sizeof(info));
    buildinfo_parse_modinfo((const char *)data, size, &info);
    buildinfo_free(&info);
    return 0;
}
