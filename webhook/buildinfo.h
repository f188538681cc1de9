/*
 * buildinfo.h - the build information the Go toolchain embeds in a binary.
 *
 * Owns struct go_buildinfo and every string in it. The gc toolchain writes
 * a 32-byte header that starts with "\xff Go buildinf:" (in the section
 * .go.buildinfo) followed by the Go version and the module information:
 *   header[14]  pointer size (4 or 8)
 *   header[15]  flags: bit 0 big-endian pointers, bit 1 strings inline
 *   inline (Go 1.18 and later): after the header, two strings, each a
 *     uvarint length and its bytes: the version, then the module info
 *   older: at header[16] and header[16+ptrsize], the addresses of two Go
 *     string headers (data address, length) in the binary's memory image
 * The module info is text, one record per line, fields separated by tabs:
 *   path  <main package>        mod  <path> <version> <sum>
 *   dep   <path> <version> <sum>   =>  <replacement path> <version> <sum>
 *   build <key>=<value>         (key or value quoted Go-style when needed)
 * wrapped in 16 bytes of framing at each end, which are dropped.
 * Everything read comes from an untrusted file: lengths are checked and
 * bounded (BUILDINFO_MAX_TEXT, BUILDINFO_MAX_RECORDS).
 */
#ifndef GOINJECT_BUILDINFO_H
#define GOINJECT_BUILDINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "elf.h"

#define BUILDINFO_MAGIC     "\xff Go buildinf:"
#define BUILDINFO_MAGIC_LEN 14
#define BUILDINFO_HEADER    32
/* The module info of a real binary is a few KiB; a larger one is refused. */
#define BUILDINFO_MAX_TEXT (4u * 1024 * 1024)
/* dep and build records kept at most; the rest are counted, not stored. */
#define BUILDINFO_MAX_RECORDS 20000

struct go_module {
    char *path;            /* owned */
    char *version;         /* owned; "" when absent */
    char *sum;             /* owned; "" when absent (vendored builds record none) */
    char *replace_path;    /* owned; NULL when not replaced */
    char *replace_version; /* owned */
};

struct go_setting {
    char *key;   /* owned */
    char *value; /* owned */
};

struct go_buildinfo {
    char *go_version; /* owned, "go1.22.3"; NULL when absent */
    char *main_path;  /* owned; the "path" record */
    struct go_module main;
    bool has_main;
    struct go_module *deps; /* owned array */
    size_t ndeps;
    struct go_setting *settings; /* owned array */
    size_t nsettings;
    size_t dropped; /* records beyond BUILDINFO_MAX_RECORDS, or lines that did not parse */
};

/* Maps a virtual address of the binary to len bytes of its file image, or NULL. */
typedef const uint8_t *(*buildinfo_map_fn)(void *ctx, uint64_t addr, size_t len);

/*
 * Decodes the blob that starts with the magic (blob[0..len), len at least
 * BUILDINFO_HEADER). map resolves addresses for the older pointer format and
 * may be NULL. Returns 0, or -1 with a reason in err; out is always valid to free.
 */
int buildinfo_decode(const uint8_t *blob, size_t len, buildinfo_map_fn map, void *ctx,
                     struct go_buildinfo *out, char *err, size_t errlen);
/*
 * Finds and decodes the build information of an ELF file: the .go.buildinfo
 * section, else the magic at a 16-byte boundary of a loadable segment.
 * Returns 1 when found and decoded, 0 when the file has none, -1 when it is malformed.
 */
int buildinfo_from_elf(const struct elf_file *elf, struct go_buildinfo *out, char *err,
                       size_t errlen);
/* Parses module info text (without its framing). Never fails; bad lines are counted in dropped. */
void buildinfo_parse_modinfo(const char *text, size_t len, struct go_buildinfo *out);
/* The value of a build setting such as "CGO_ENABLED" or "-ldflags", or NULL. */
const char *buildinfo_setting(const struct go_buildinfo *info, const char *key);
void buildinfo_free(struct go_buildinfo *info);

#endif
