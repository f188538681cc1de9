/*
 * source.h - bytes to read: regions of a file or of memory, and sequential
 * readers over them that undo gzip on the fly.
 *
 * Owns the reader's inflate state and its input buffer (a fixed 64 KiB), so
 * reading a layer costs bounded memory however large it is. A source owns
 * nothing: the file descriptor or memory it names belongs to the caller.
 * A gzip stream cannot seek: skipping forward decompresses and drops, and
 * reading an earlier position means opening a new reader (image.c does that
 * to read a file out of a compressed layer).
 */
#ifndef GOINJECT_SOURCE_H
#define GOINJECT_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <zlib.h>

/* A decompressed layer larger than this is refused (a gzip bomb costs time, not memory). */
#define SOURCE_MAX_INFLATED (64ull * 1024 * 1024 * 1024)

struct source {
    int fd;             /* -1 for memory */
    const uint8_t *mem; /* borrowed, when fd is -1 */
    uint64_t base;      /* where the region starts in the file or memory */
    uint64_t size;
};

void source_from_fd(struct source *s, int fd, uint64_t size);
void source_from_memory(struct source *s, const uint8_t *data, size_t len);
/* The sub-region [off, off+size); -1 when it does not lie inside s. */
int source_window(const struct source *s, uint64_t off, uint64_t size, struct source *out);
/* Reads exactly len bytes at off; -1 when they are not all there. */
int source_read_at(const struct source *s, uint64_t off, void *buf, size_t len);

struct reader {
    struct source src;
    uint64_t in_pos;  /* next byte of src to consume */
    uint64_t out_pos; /* bytes delivered so far: the position in the (decompressed) stream */
    bool gzip;
    bool eof;
    z_stream z;
    uint8_t *in_buf; /* owned, gzip only */
    size_t in_len, in_used;
    char error[128]; /* set when a read failed */
};

/* Opens a reader at the start of src; gzip is recognised by its magic bytes. -1 on error. */
int reader_open(struct reader *r, const struct source *src);
/* Up to len bytes; 0 at the end of the stream; -1 on error (r->error says why). */
ssize_t reader_read(struct reader *r, void *buf, size_t len);
/* Reads exactly len bytes; -1 when the stream ends first or fails. */
int reader_read_full(struct reader *r, void *buf, size_t len);
/* Moves n bytes forward; -1 when the stream ends first or fails. */
int reader_skip(struct reader *r, uint64_t n);
void reader_close(struct reader *r);

#endif
