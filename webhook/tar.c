/* tar.c - ustar, GNU and PAX archives from a stream; see tar.h. */
#include "tar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Header field offsets and widths (POSIX ustar). */
#define F_NAME     0
#define F_MODE     100
#define F_SIZE     124
#define F_CHKSUM   148
#define F_TYPE     156
#define F_LINKNAME 157
#define F_MAGIC    257
#define F_PREFIX   345

static int fail(char *err, size_t errlen, const struct tar_reader *t, const char *why)
{
    snprintf(err, errlen, "tar: %s (at byte %llu)", why, (unsigned long long)t->in->out_pos);
    return -1;
}

void tar_init(struct tar_reader *t, struct reader *in)
{
    memset(t, 0, sizeof(*t));
    t->in = in;
}

/*
 * A numeric field: octal digits, padded with spaces or NULs, or (GNU) a
 * big-endian binary number when the first byte has its top bit set.
 */
static int parse_number(const uint8_t *field, size_t width, uint64_t *out)
{
    uint64_t v = 0;
    if (field[0] & 0x80) {
        if (field[0] != 0x80)
            return -1; /* negative, or too large for us */
        for (size_t i = 1; i < width; i++) {
            if (v >> 56)
                return -1;
            v = v << 8 | field[i];
        }
        *out = v;
        return 0;
    }
    size_t i = 0;
    while (i < width && field[i] == ' ')
        i++;
    bool digits = false;
    for (; i < width && field[i] >= '0' && field[i] <= '7'; i++) {
        if (v >> 60)
            return -1;
        v = v * 8 + (uint64_t)(field[i] - '0');
        digits = true;
    }
    for (; i < width; i++)
        if (field[i] != ' ' && field[i] != '\0')
            return -1;
    *out = v;
    return digits ? 0 : -1;
}

static bool checksum_ok(const uint8_t *h)
{
    uint64_t want;
    unsigned long sum = 0;
    long ssum = 0;
    if (parse_number(h + F_CHKSUM, 8, &want) != 0)
        return false;
    for (size_t i = 0; i < TAR_BLOCK; i++) {
        uint8_t c = (i >= F_CHKSUM && i < F_CHKSUM + 8) ? ' ' : h[i];
        sum += c;
        ssum += (signed char)c; /* some old tars summed signed bytes */
    }
    return want == sum || (long)want == ssum;
}

static bool all_zero(const uint8_t *h)
{
    for (size_t i = 0; i < TAR_BLOCK; i++)
        if (h[i])
            return false;
    return true;
}

/* Copies a field that is NUL-terminated or exactly width bytes long. */
static void copy_field(char *out, const uint8_t *field, size_t width)
{
    size_t n = 0;
    while (n < width && field[n])
        n++;
    memcpy(out, field, n);
    out[n] = '\0';
}

static enum tar_type type_of(uint8_t flag)
{
    switch (flag) {
    case '0':
    case '\0':
    case '7':
        return TAR_FILE;
    case '1':
        return TAR_HARDLINK;
    case '2':
        return TAR_SYMLINK;
    case '5':
        return TAR_DIR;
    default:
        return TAR_OTHER;
    }
}

/* Reads the data of a metadata record (PAX or GNU long name) into a fresh buffer. */
static char *read_record(struct tar_reader *t, uint64_t size, uint64_t max, char *err,
                         size_t errlen)
{
    if (size > max) {
        fail(err, errlen, t, "extended header too large");
        return NULL;
    }
    char *data = malloc((size_t)size + 1);
    if (!data) {
        fail(err, errlen, t, "out of memory");
        return NULL;
    }
    uint64_t pad = (TAR_BLOCK - size % TAR_BLOCK) % TAR_BLOCK;
    if (reader_read_full(t->in, data, (size_t)size) != 0 || reader_skip(t->in, pad) != 0) {
        free(data);
        fail(err, errlen, t, "archive is truncated");
        return NULL;
    }
    data[size] = '\0';
    return data;
}

/* Copies value[0..len) into a path slot; -1 when it does not fit. */
static int set_path(char *slot, const char *value, size_t len)
{
    const char *nul = memchr(value, '\0', len);
    if (nul)
        len = (size_t)(nul - value);
    if (len >= TAR_PATH_MAX)
        return -1;
    memcpy(slot, value, len);
    slot[len] = '\0';
    return 0;
}

/* One "LEN key=value\n" record at p[0..end); returns its length, or 0 when malformed. */
static size_t pax_record(struct tar_reader *t, const char *p, const char *end, int *bad)
{
    uint64_t len = 0;
    const char *q = p;
    while (q < end && *q >= '0' && *q <= '9' && len < TAR_PAX_MAX)
        len = len * 10 + (uint64_t)(*q++ - '0');
    if (q == p || q >= end || *q != ' ' || len <= (uint64_t)(q - p) + 1 ||
        len > (uint64_t)(end - p) || p[len - 1] != '\n')
        return 0;
    const char *kv = q + 1, *rec_end = p + len - 1;
    const char *eq = memchr(kv, '=', (size_t)(rec_end - kv));
    if (!eq)
        return 0;
    size_t klen = (size_t)(eq - kv), vlen = (size_t)(rec_end - eq - 1);
    if (klen == 4 && memcmp(kv, "path", 4) == 0)
        *bad |= set_path(t->next_name, eq + 1, vlen);
    else if (klen == 8 && memcmp(kv, "linkpath", 8) == 0)
        *bad |= set_path(t->next_link, eq + 1, vlen);
    else if (klen == 4 && memcmp(kv, "size", 4) == 0) {
        char digits[24];
        uint64_t size = 0;
        size_t i;
        if (vlen == 0 || vlen >= sizeof(digits))
            return 0;
        memcpy(digits, eq + 1, vlen);
        for (i = 0; i < vlen && digits[i] >= '0' && digits[i] <= '9' && size <= TAR_SIZE_MAX; i++)
            size = size * 10 + (uint64_t)(digits[i] - '0');
        if (i != vlen || size > TAR_SIZE_MAX)
            return 0;
        t->next_size = size;
        t->has_next_size = true;
    }
    return (size_t)len;
}

static int parse_pax(struct tar_reader *t, const char *data, size_t len, char *err, size_t errlen)
{
    const char *p = data, *end = data + len;
    int bad = 0;
    while (p < end && *p) {
        size_t n = pax_record(t, p, end, &bad);
        if (n == 0)
            return fail(err, errlen, t, "malformed PAX record");
        p += n;
    }
    return bad ? fail(err, errlen, t, "PAX path longer than 4095 bytes") : 0;
}

/* Handles a metadata header (x, g, L, K): 1 when it was one, 0 when not, -1 on error. */
static int metadata(struct tar_reader *t, uint8_t flag, uint64_t size, char *err, size_t errlen)
{
    if (flag != 'x' && flag != 'g' && flag != 'L' && flag != 'K')
        return 0;
    char *data =
        read_record(t, size, flag == 'x' || flag == 'g' ? TAR_PAX_MAX : TAR_PATH_MAX, err, errlen);
    if (!data)
        return -1;
    int rc = 0;
    if (flag == 'x')
        rc = parse_pax(t, data, (size_t)size, err, errlen);
    else if (flag == 'L' && set_path(t->next_name, data, (size_t)size) != 0)
        rc = fail(err, errlen, t, "GNU long name longer than 4095 bytes");
    else if (flag == 'K' && set_path(t->next_link, data, (size_t)size) != 0)
        rc = fail(err, errlen, t, "GNU long link longer than 4095 bytes");
    free(data); /* 'g' (global PAX) sets nothing goinject uses */
    return rc == 0 ? 1 : -1;
}

/* The entry's name: a PAX or GNU long name, else ustar's prefix "/" name. */
static void entry_name(struct tar_reader *t, const uint8_t *h)
{
    struct tar_entry *e = &t->entry;
    if (t->next_name[0]) {
        memcpy(e->name, t->next_name, sizeof(e->name));
        return;
    }
    char name[101], prefix[156];
    copy_field(name, h + F_NAME, 100);
    prefix[0] = '\0';
    if (memcmp(h + F_MAGIC, "ustar\0", 6) == 0)
        copy_field(prefix, h + F_PREFIX, 155);
    snprintf(e->name, sizeof(e->name), "%s%s%s", prefix, prefix[0] ? "/" : "", name);
}

static int fill_entry(struct tar_reader *t, const uint8_t *h, uint64_t size, char *err,
                      size_t errlen)
{
    struct tar_entry *e = &t->entry;
    uint64_t mode = 0;
    e->type = type_of(h[F_TYPE]);
    if (parse_number(h + F_MODE, 8, &mode) != 0)
        mode = 0; /* some writers leave it blank; the mode is advisory */
    e->mode = (uint32_t)(mode & 07777);
    entry_name(t, h);
    size_t name_len = strlen(e->name);
    if (e->type == TAR_FILE && name_len && e->name[name_len - 1] == '/')
        e->type = TAR_DIR; /* old (v7) archives mark directories only by the slash */
    if (t->next_link[0])
        memcpy(e->link, t->next_link, sizeof(e->link));
    else
        copy_field(e->link, h + F_LINKNAME, 100);
    if (e->type != TAR_HARDLINK && e->type != TAR_SYMLINK)
        e->link[0] = '\0';
    if (t->has_next_size)
        size = t->next_size;
    /* Links, directories and devices carry no data blocks whatever the size field says. */
    if (e->type == TAR_HARDLINK || e->type == TAR_SYMLINK || e->type == TAR_DIR ||
        (h[F_TYPE] >= '3' && h[F_TYPE] <= '6'))
        size = 0;
    if (size > TAR_SIZE_MAX)
        return fail(err, errlen, t, "entry size is absurd");
    e->size = size;
    e->offset = t->in->out_pos;
    t->data_left = size;
    t->pad = (TAR_BLOCK - size % TAR_BLOCK) % TAR_BLOCK;
    t->next_name[0] = t->next_link[0] = '\0';
    t->has_next_size = false;
    return 0;
}

int tar_next(struct tar_reader *t, char *err, size_t errlen)
{
    uint8_t h[TAR_BLOCK];
    if (reader_skip(t->in, t->data_left) != 0 || reader_skip(t->in, t->pad) != 0)
        return fail(err, errlen, t, "archive is truncated");
    t->data_left = t->pad = 0;
    for (;;) {
        ssize_t n = reader_read(t->in, h, 1);
        if (n == 0)
            return 0; /* a stream that ends at a header boundary: accept a missing end block */
        if (n < 0 || reader_read_full(t->in, h + 1, TAR_BLOCK - 1) != 0)
            return fail(err, errlen, t, t->in->error[0] ? t->in->error : "archive is truncated");
        if (all_zero(h))
            return 0;
        if (!checksum_ok(h))
            return fail(err, errlen, t, "header checksum mismatch: not a tar archive, or corrupt");
        uint64_t size;
        if (parse_number(h + F_SIZE, 12, &size) != 0 || size > TAR_SIZE_MAX)
            return fail(err, errlen, t, "header has an invalid size");
        int rc = metadata(t, h[F_TYPE], size, err, errlen);
        if (rc < 0)
            return -1;
        if (rc == 0)
            return fill_entry(t, h, size, err, errlen) == 0 ? 1 : -1;
    }
}
