/* lru.c - a bounded LRU map of strings to owned values; see lru.h. */
#include "lru.h"

#include <stdlib.h>
#include <string.h>

struct lru_entry {
    char *key; /* owned */
    uint32_t hash;
    void *value; /* owned, released with the map's free_value */
    uint64_t expires;
    struct lru_entry *hnext;       /* the bucket's chain */
    struct lru_entry *prev, *next; /* the recency list */
};

/* FNV-1a, 32 bits. */
static uint32_t hash_str(const char *s)
{
    uint32_t h = 2166136261u;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 16777619u;
    return h;
}

static void list_unlink(struct lru *m, struct lru_entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        m->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        m->tail = e->prev;
    e->prev = e->next = NULL;
}

static void list_front(struct lru *m, struct lru_entry *e)
{
    e->next = m->head;
    e->prev = NULL;
    if (m->head)
        m->head->prev = e;
    m->head = e;
    if (!m->tail)
        m->tail = e;
}

/* Takes e off its chain and the list, and frees it with its key and value. */
static void entry_drop(struct lru *m, struct lru_entry *e)
{
    struct lru_entry **p = &m->buckets[e->hash & (LRU_BUCKETS - 1)];
    while (*p != e)
        p = &(*p)->hnext;
    *p = e->hnext;
    list_unlink(m, e);
    m->free_value(e->value);
    free(e->key);
    free(e);
    m->count--;
}

/* key's entry, whatever its expiry, or NULL. */
static struct lru_entry *entry_find(struct lru *m, const char *key)
{
    uint32_t h = hash_str(key);
    for (struct lru_entry *e = m->buckets[h & (LRU_BUCKETS - 1)]; e; e = e->hnext)
        if (e->hash == h && strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

void *lru_get(struct lru *m, const char *key, uint64_t now)
{
    struct lru_entry *e = entry_find(m, key);
    if (!e)
        return NULL;
    if (now && e->expires && e->expires <= now) {
        entry_drop(m, e);
        return NULL;
    }
    list_unlink(m, e);
    list_front(m, e);
    return e->value;
}

void lru_put(struct lru *m, const char *key, void *value, uint64_t expires)
{
    struct lru_entry *e = entry_find(m, key);
    if (!value) {
        if (e)
            entry_drop(m, e);
        return;
    }
    if (e) {
        m->free_value(e->value);
        e->value = value;
        e->expires = expires;
        list_unlink(m, e);
        list_front(m, e);
        return;
    }
    if (!(e = calloc(1, sizeof(*e))) || !(e->key = strdup(key))) {
        free(e);
        m->free_value(value);
        return;
    }
    e->hash = hash_str(key);
    e->value = value;
    e->expires = expires;
    struct lru_entry **bucket = &m->buckets[e->hash & (LRU_BUCKETS - 1)];
    e->hnext = *bucket;
    *bucket = e;
    list_front(m, e);
    if (++m->count > m->max)
        entry_drop(m, m->tail);
}

bool lru_remove(struct lru *m, const char *key)
{
    struct lru_entry *e = entry_find(m, key);
    if (e)
        entry_drop(m, e);
    return e != NULL;
}

bool lru_drop_oldest(struct lru *m)
{
    if (!m->tail)
        return false;
    entry_drop(m, m->tail);
    return true;
}

void lru_clear(struct lru *m)
{
    while (m->tail)
        entry_drop(m, m->tail);
}

size_t lru_count(const struct lru *m)
{
    return m->count;
}
