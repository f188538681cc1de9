/* buildinfo.c - Go build information: blob and module info text; see buildinfo.h. */
#include "buildinfo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define FLAG_BIG_ENDIAN 0x1
#define FLAG_INLINE     0x2
/* The module info is framed by 16 bytes at each end; a newline sits just before the end frame. */
#define MODINFO_FRAME 16

static int fail(char *err, size_t errlen, const char *reason)
{
    snprintf(err, errlen, "Go build info: %s", reason);
    return -1;
}

static char *dup_range(const char *s, size_t len)
{
    char *copy = malloc(len + 1);
    if (copy) {
        memcpy(copy, s, len);
        copy[len] = '\0';
    }
    return copy;
}

/* ---- the blob ------------------------------------------------------------ */

/* A uvarint at p[0..len): its value and how many bytes it took (0 when malformed). */
static size_t read_uvarint(const uint8_t *p, size_t len, uint64_t *value)
{
    uint64_t v = 0;
    for (size_t i = 0; i < len && i < 10; i++) {
        v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            *value = v;
            return i + 1;
        }
    }
    return 0;
}

/* One inline string at *pos: a uvarint length and that many bytes, all inside the blob. */
static int inline_string(const uint8_t *blob, size_t len, size_t *pos, const uint8_t **s,
                         size_t *slen)
{
    uint64_t n;
    size_t used = read_uvarint(blob + *pos, len - *pos, &n);
    if (used == 0 || n > BUILDINFO_MAX_TEXT || n > len - *pos - used)
        return -1;
    *s = blob + *pos + used;
    *slen = (size_t)n;
    *pos += used + (size_t)n;
    return 0;
}

static uint64_t read_ptr(const uint8_t *p, unsigned size, bool big)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint64_t)p[big ? size - 1 - i : i] << (8 * i);
    return v;
}

/* The older format: follow an address to a Go string header, then to its bytes. */
static int pointed_string(const uint8_t *slot, unsigned ptrsize, bool big, buildinfo_map_fn map,
                          void *ctx, const uint8_t **s, size_t *slen)
{
    if (!map)
        return -1;
    const uint8_t *header = map(ctx, read_ptr(slot, ptrsize, big), 2 * ptrsize);
    if (!header)
        return -1;
    uint64_t data = read_ptr(header, ptrsize, big);
    uint64_t n = read_ptr(header + ptrsize, ptrsize, big);
    if (n > BUILDINFO_MAX_TEXT)
        return -1;
    *slen = (size_t)n;
    *s = n ? map(ctx, data, (size_t)n) : (const uint8_t *)"";
    return *s ? 0 : -1;
}

/* Drops the 16-byte frames around module info, when they are there. */
static void unframe(const uint8_t **text, size_t *len)
{
    if (*len >= 2 * MODINFO_FRAME + 1 && (*text)[*len - MODINFO_FRAME - 1] == '\n') {
        *text += MODINFO_FRAME;
        *len -= 2 * MODINFO_FRAME;
    }
}

int buildinfo_decode(const uint8_t *blob, size_t len, buildinfo_map_fn map, void *ctx,
                     struct go_buildinfo *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (len < BUILDINFO_HEADER || memcmp(blob, BUILDINFO_MAGIC, BUILDINFO_MAGIC_LEN) != 0)
        return fail(err, errlen, "no header");
    unsigned ptrsize = blob[14];
    uint8_t flags = blob[15];
    const uint8_t *version, *modinfo;
    size_t vlen, mlen;
    if (flags & FLAG_INLINE) {
        size_t pos = BUILDINFO_HEADER;
        if (inline_string(blob, len, &pos, &version, &vlen) != 0 ||
            inline_string(blob, len, &pos, &modinfo, &mlen) != 0)
            return fail(err, errlen, "inline strings run past the end of the section");
    } else {
        bool big = flags & FLAG_BIG_ENDIAN;
        if (ptrsize != 4 && ptrsize != 8)
            return fail(err, errlen, "pointer size is neither 4 nor 8");
        if (pointed_string(blob + 16, ptrsize, big, map, ctx, &version, &vlen) != 0 ||
            pointed_string(blob + 16 + ptrsize, ptrsize, big, map, ctx, &modinfo, &mlen) != 0)
            return fail(err, errlen, "string pointers lead outside the file");
    }
    if (vlen > 0 && !(out->go_version = dup_range((const char *)version, vlen)))
        return fail(err, errlen, "out of memory");
    unframe(&modinfo, &mlen);
    buildinfo_parse_modinfo((const char *)modinfo, mlen > BUILDINFO_MAX_TEXT ? 0 : mlen, out);
    return 0;
}

/* ---- finding it in an ELF file -------------------------------------------- */

static const uint8_t *map_elf(void *ctx, uint64_t addr, size_t len)
{
    return elf_vaddr_bytes(ctx, addr, len);
}

/* The magic at a 16-byte boundary of a loadable segment (for files without section headers). */
static const uint8_t *scan_segments(const struct elf_file *elf, size_t *len)
{
    struct elf_segment seg;
    for (size_t i = 0; elf_segment_at(elf, i, &seg) == 0; i++) {
        if (seg.type != ELF_PT_LOAD || seg.offset >= elf->size)
            continue;
        uint64_t end = seg.filesz < elf->size - seg.offset ? seg.offset + seg.filesz : elf->size;
        for (uint64_t off = (seg.offset + 15) & ~(uint64_t)15;
             off + BUILDINFO_HEADER <= end && off >= seg.offset; off += 16) {
            if (memcmp(elf->data + off, BUILDINFO_MAGIC, BUILDINFO_MAGIC_LEN) == 0) {
                *len = (size_t)(end - off);
                return elf->data + off;
            }
        }
    }
    return NULL;
}

int buildinfo_from_elf(const struct elf_file *elf, struct go_buildinfo *out, char *err,
                       size_t errlen)
{
    struct elf_section sec;
    size_t len = 0;
    const uint8_t *blob = NULL;
    memset(out, 0, sizeof(*out));
    if (elf_find_section(elf, ".go.buildinfo", &sec))
        blob = elf_section_bytes(elf, &sec, &len);
    if (!blob || len < BUILDINFO_HEADER || memcmp(blob, BUILDINFO_MAGIC, BUILDINFO_MAGIC_LEN) != 0)
        blob = scan_segments(elf, &len);
    if (!blob)
        return 0;
    return buildinfo_decode(blob, len, map_elf, (void *)elf, out, err, errlen) == 0 ? 1 : -1;
}

/* ---- module info text ------------------------------------------------------ */

/* Appends the UTF-8 encoding of code point cp. */
static void put_utf8(struct buf *b, uint32_t cp)
{
    char out[4];
    size_t n;
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        cp = 0xfffd;
    if (cp < 0x80) {
        out[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        out[0] = (char)(0xf0 | cp >> 18);
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    buf_append(b, out, n);
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* n hex digits at s (inside end), or -1. */
static long read_hex(const char *s, const char *end, int n)
{
    long v = 0;
    if (end - s < n)
        return -1;
    for (int i = 0; i < n; i++) {
        int d = hex_value(s[i]);
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* One escape after a backslash at *s; appends its bytes and advances *s. -1 when malformed. */
static int unescape_one(const char **s, const char *end, struct buf *b)
{
    static const char simple_in[] = "abfnrtv\\\"'";
    static const char simple_out[] = "\a\b\f\n\r\t\v\\\"'";
    if (*s >= end)
        return -1;
    char c = *(*s)++;
    const char *k = strchr(simple_in, c);
    if (k && c) {
        buf_append_char(b, simple_out[k - simple_in]);
        return 0;
    }
    int digits = c == 'x' ? 2 : c == 'u' ? 4 : c == 'U' ? 8 : 0;
    if (c >= '0' && c <= '7') { /* three octal digits: one byte */
        if (end - *s < 2 || (*s)[0] < '0' || (*s)[0] > '7' || (*s)[1] < '0' || (*s)[1] > '7')
            return -1;
        buf_append_char(b, (char)(((c - '0') << 6) | (((*s)[0] - '0') << 3) | ((*s)[1] - '0')));
        *s += 2;
        return 0;
    }
    long v = digits ? read_hex(*s, end, digits) : -1;
    if (v < 0)
        return -1;
    *s += digits;
    if (c == 'x')
        buf_append_char(b, (char)v);
    else
        put_utf8(b, (uint32_t)v);
    return 0;
}

/*
 * A Go double-quoted string at s (s[0] == '"'): its unquoted bytes (owned)
 * and where it ended (*next, after the closing quote). NULL when malformed.
 */
static char *unquote(const char *s, const char *end, const char **next)
{
    struct buf b = BUF_INIT;
    buf_append(&b, "", 0);
    for (s++; s < end; s++) {
        if (*s == '"') {
            *next = s + 1;
            return buf_steal(&b);
        }
        if (*s == '\\') {
            s++;
            if (unescape_one(&s, end, &b) != 0)
                break;
            s--;
        } else {
            buf_append_char(&b, *s);
        }
    }
    buf_free(&b);
    return NULL;
}

/* The tab-separated fields of one line, at most max, as (start, length) pairs. */
static size_t split_tabs(const char *line, size_t len, const char **field, size_t *flen, size_t max)
{
    size_t n = 0;
    const char *start = line, *end = line + len;
    for (const char *p = line; n < max; p++) {
        if (p == end || *p == '\t') {
            field[n] = start;
            flen[n++] = (size_t)(p - start);
            if (p == end)
                break;
            start = p + 1;
        }
    }
    return n;
}

static void module_free(struct go_module *m)
{
    free(m->path);
    free(m->version);
    free(m->sum);
    free(m->replace_path);
    free(m->replace_version);
    memset(m, 0, sizeof(*m));
}

/* Fills m from "path version [sum]" fields; -1 when out of memory or too few fields. */
static int module_fill(struct go_module *m, const char **field, const size_t *flen, size_t n)
{
    if (n < 2)
        return -1;
    m->path = dup_range(field[1], flen[1]);
    m->version = dup_range(n > 2 ? field[2] : "", n > 2 ? flen[2] : 0);
    m->sum = dup_range(n > 3 ? field[3] : "", n > 3 ? flen[3] : 0);
    if (!m->path || !m->version || !m->sum) {
        module_free(m);
        return -1;
    }
    return 0;
}

static bool room(struct go_buildinfo *out)
{
    if (out->ndeps + out->nsettings < BUILDINFO_MAX_RECORDS)
        return true;
    out->dropped++;
    return false;
}

static void add_dep(struct go_buildinfo *out, const char **field, const size_t *flen, size_t n)
{
    struct go_module m = {0};
    if (!room(out))
        return;
    if (module_fill(&m, field, flen, n) != 0) {
        out->dropped++;
        return;
    }
    struct go_module *deps = realloc(out->deps, (out->ndeps + 1) * sizeof(*deps));
    if (!deps) {
        module_free(&m);
        return;
    }
    out->deps = deps;
    out->deps[out->ndeps++] = m;
}

/* "=>" replaces the module named on the line before (the main module or the last dep). */
static void add_replace(struct go_buildinfo *out, const char **field, const size_t *flen, size_t n)
{
    struct go_module *target = out->ndeps      ? &out->deps[out->ndeps - 1]
                               : out->has_main ? &out->main
                                               : NULL;
    if (!target || target->replace_path || n < 2) {
        out->dropped++;
        return;
    }
    target->replace_path = dup_range(field[1], flen[1]);
    target->replace_version = dup_range(n > 2 ? field[2] : "", n > 2 ? flen[2] : 0);
}

/* "build KEY=VALUE", where either side may be Go-quoted. */
static void add_setting(struct go_buildinfo *out, const char *s, size_t len)
{
    const char *end = s + len, *eq = end;
    char *key = NULL, *value = NULL;
    if (!room(out))
        return;
    if (len && *s == '"') {
        key = unquote(s, end, &eq);
    } else if ((eq = memchr(s, '=', len))) {
        key = dup_range(s, (size_t)(eq - s));
    }
    if (key && eq < end && *eq == '=') {
        const char *v = eq + 1, *after = end;
        value = v < end && *v == '"' ? unquote(v, end, &after) : dup_range(v, (size_t)(end - v));
        if (after != end) {
            free(value);
            value = NULL;
        }
    }
    struct go_setting *settings =
        key && value ? realloc(out->settings, (out->nsettings + 1) * sizeof(*settings)) : NULL;
    if (!settings) {
        free(key);
        free(value);
        out->dropped++;
        return;
    }
    out->settings = settings;
    out->settings[out->nsettings++] = (struct go_setting){key, value};
}

static void parse_line(struct go_buildinfo *out, const char *line, size_t len)
{
    const char *field[4];
    size_t flen[4];
    size_t n = split_tabs(line, len, field, flen, 4);
    if (n == 0 || (n == 1 && flen[0] == 0))
        return;
#define IS(word) (flen[0] == sizeof(word) - 1 && memcmp(field[0], word, sizeof(word) - 1) == 0)
    if (IS("path") && n >= 2 && !out->main_path) {
        out->main_path = dup_range(field[1], flen[1]);
    } else if (IS("mod") && !out->has_main) {
        out->has_main = module_fill(&out->main, field, flen, n) == 0;
    } else if (IS("dep")) {
        add_dep(out, field, flen, n);
    } else if (IS("=>")) {
        add_replace(out, field, flen, n);
    } else if (IS("build") && n >= 2) {
        add_setting(out, field[1], len - (size_t)(field[1] - line));
    } else {
        out->dropped++;
    }
#undef IS
}

void buildinfo_parse_modinfo(const char *text, size_t len, struct go_buildinfo *out)
{
    if (len > BUILDINFO_MAX_TEXT)
        len = BUILDINFO_MAX_TEXT;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = nl ? nl : end;
        parse_line(out, p, (size_t)(line_end - p));
        p = nl ? nl + 1 : end;
    }
}

const char *buildinfo_setting(const struct go_buildinfo *info, const char *key)
{
    for (size_t i = 0; i < info->nsettings; i++)
        if (strcmp(info->settings[i].key, key) == 0)
            return info->settings[i].value;
    return NULL;
}

void buildinfo_free(struct go_buildinfo *info)
{
    free(info->go_version);
    free(info->main_path);
    module_free(&info->main);
    for (size_t i = 0; i < info->ndeps; i++)
        module_free(&info->deps[i]);
    free(info->deps);
    for (size_t i = 0; i < info->nsettings; i++) {
        free(info->settings[i].key);
        free(info->settings[i].value);
    }
    free(info->settings);
    memset(info, 0, sizeof(*info));
}
