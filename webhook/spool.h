/*
 * spool.h - the files registry lookups keep on disk, under $TMPDIR.
 *
 * Owns two kinds of directory, named with the owning process's pid so that
 * a later goinject can remove what a dead one left (an emptyDir outlives a
 * container's restarts):
 *   - a spool (goinject-lookup-PID-*): one lookup's blobs, laid out as an
 *     OCI image layout (blobs/sha256/HEX and index.json) for image.h to
 *     open; removed when the lookup ends. At most SPOOL_SLOTS exist at
 *     once (spool_slot_take);
 *   - the layer store (goinject-layers-PID-*): unpacked layers by digest,
 *     least recently used evicted past STORE_BYTES, so that a
 *     layer many images share is fetched once. A spool links to a stored
 *     layer; the link keeps the file for it when the store evicts it.
 * Digests given here are checked by the caller (sha256:<64 hex>).
 */
#ifndef GOINJECT_SPOOL_H
#define GOINJECT_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPOOL_SLOTS 2 /* spools at once: they bound the disk lookups use */
/* The layer store: a layer over half of it is not kept. */
#define STORE_BYTES   (512ull * 1024 * 1024)
#define STORE_ENTRIES 1024

struct spool {
    char dir[256]; /* "" when not open */
};

/* Creates a spool (dir and blobs/sha256). -1 with err. */
int spool_open(struct spool *s, char *err, size_t errlen);
/* Removes the spool's files and directories. */
void spool_close(struct spool *s);
/* A new file of the spool for the blob named digest; -1 with errno. */
int spool_create(const struct spool *s, const char *digest);
/* Writes name (relative to the spool) with data. -1 on failure. */
int spool_write(const struct spool *s, const char *name, const char *data, size_t len);
int spool_write_all(int fd, const char *data, size_t len);
/* Waits for, and gives back, one of the SPOOL_SLOTS spool slots. */
void spool_slot_take(void);
void spool_slot_give(void);
/* Removes the spools and stores of processes that no longer run. */
void sweep_leftovers(void);

/* The layer store: opened with the workers, closed (and removed) when they stop. */
void store_open(void);
void store_close(void);
/* Links the stored tar of digest into the spool; true (its size added to *unpacked) when stored. */
bool store_take(const struct spool *s, const char *digest, uint64_t *unpacked);
/* Keeps the spool's tar of digest, evicting the least recently used. */
void store_keep(const struct spool *s, const char *digest);
size_t store_count(void);

#endif
