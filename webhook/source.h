/*
 * source.h - bytes to read: regions of a file or of memory, and sequential
 * readers over them that undo gzip or zstd on the fly.
 *
 * Owns the reader's decompression state (zlib's inflate, or libzstd's
 * DStream) and its input buffer (a fixed 64 KiB), so reading a layer costs
 * bounded memory however large it is: zlib's window is 32 KiB, and a zstd
 * frame may ask for a window of at most SOURCE_ZSTD_WINDOW_LOG_MAX (larger
 * ones are refused with an error that says so). A source owns nothing: the
 * file descriptor or memory it names belongs to the caller. A compressed
 * stream cannot seek: skipping forward decompresses and drops, and reading
 * an earlier position means opening a new reader (image.c does that to
 * read a file out of a compressed layer).
 */
#ifndef GOINJECT_SOURCE_H
#define GOINJECT_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <zlib.h>
#include <zstd.h>

/* A decompressed layer larger than this is refused (a gzip or zstd bomb costs time, not memory). */
#define SOURCE_MAX_INFLATED (64ull * 1024 * 1024 * 1024)
/*
 * The largest zstd window accepted: 2^25 = 32 MiB, which libzstd allocates
 * (plus about 0.5 MiB of tables and block buffers) only when a frame asks
 * for it. It covers what writes image layers: klauspost/compress, the
 * encoder of Docker, BuildKit, containerd and podman, uses 4 to 32 MiB by
 * level (8 MiB by default), and the zstd command uses at most 8 MiB up to
 * level 19 and 32 MiB at level 20. Refused: --ultra levels 21 and 22 and
 * --long (64 to 128 MiB), which libzstd's own default of 2^27 would let
 * cost 128 MiB, the server's whole memory limit. One reader per image is
 * open at a time, so an image costs at most one such window.
 */
#define SOURCE_ZSTD_WINDOW_LOG_MAX 25

enum reader_codec { READER_PLAIN, READER_GZIP, READER_ZSTD };

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
    enum reader_codec codec;
    bool eof;
    bool frame_done; /* zstd: the last frame decoded is complete (the stream may end here) */
    z_stream z;
    ZSTD_DStream *zs; /* owned, zstd only */
    uint8_t *in_buf;  /* owned, compressed codecs only */
    size_t in_len, in_used;
    char error[128]; /* set when a read failed */
};

/*
 * Opens a reader at the start of src; gzip (1f 8b) and zstd (28 b5 2f fd,
 * or a skippable frame first) are recognised by their magic bytes, anything
 * else is read as it is.
 * Concatenated gzip members and zstd frames (skippable ones included) read
 * as one stream. -1 on error (r->error says why; the reader then holds nothing).
 */
int reader_open(struct reader *r, const struct source *src);
/* Up to len bytes; 0 at the end of the stream; -1 on error (r->error says why). */
ssize_t reader_read(struct reader *r, void *buf, size_t len);
/* Reads exactly len bytes; -1 when the stream ends first or fails. */
int reader_read_full(struct reader *r, void *buf, size_t len);
/* Moves n bytes forward; -1 when the stream ends first or fails. */
int reader_skip(struct reader *r, uint64_t n);
void reader_close(struct reader *r);

#endif
