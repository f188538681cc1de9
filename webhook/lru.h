/*
 * lru.h - a bounded map of strings to values, least recently used evicted.
 *
 * Owns its keys (copied on put) and its values (taken on put, released with
 * the map's free_value when replaced, evicted, expired, removed or cleared).
 * Each entry may carry an expiry time on the caller's clock; 0 is never.
 * At most max entries are kept: a put beyond that evicts the entry least
 * recently put or got. Get, put and remove are O(1) on average: the keys
 * are hashed into LRU_BUCKETS chains, and the entries are also on one
 * doubly-linked list, most recently used first.
 *
 * No locking: the caller serialises every call on one map. A map needs no
 * allocation until its first put, so LRU_INIT can initialise a static one.
 */
#ifndef GOINJECT_LRU_H
#define GOINJECT_LRU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LRU_BUCKETS 1024 /* hash chains per map, a power of two */

struct lru_entry;

struct lru {
    struct lru_entry *buckets[LRU_BUCKETS];
    struct lru_entry *head, *tail; /* most recently used first */
    size_t count, max;
    void (*free_value)(void *);
};

#define LRU_INIT(max_, free_value_)                                                                \
    {                                                                                              \
        .max = (max_), .free_value = (free_value_)                                                 \
    }

/*
 * The value stored under key, made the most recently used, or NULL. An
 * entry whose expiry is not after now is removed (its value freed) and not
 * returned; now 0 returns an entry whatever its expiry.
 * The value stays the map's: valid until the next put, remove or clear.
 */
void *lru_get(struct lru *m, const char *key, uint64_t now);

/*
 * Stores value under key until expires (0: never), replacing and freeing
 * the value it held; the least recently used entry is evicted when the map
 * is full. The value is taken even when the put fails (it is freed then).
 * A NULL value (an allocation the caller could not make) removes the key.
 */
void lru_put(struct lru *m, const char *key, void *value, uint64_t expires);

/* Removes key's entry and frees its value. False when there was none. */
bool lru_remove(struct lru *m, const char *key);

/* Removes the least recently used entry, freeing its value. False when the map is empty. */
bool lru_drop_oldest(struct lru *m);

/* Removes every entry, freeing the values. The map stays usable. */
void lru_clear(struct lru *m);

/* Entries stored, expired ones not yet noticed included. */
size_t lru_count(const struct lru *m);

#endif
