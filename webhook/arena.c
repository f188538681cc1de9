/* arena.c - per-thread bump allocation for one review's JSON values; see arena.h. */
#include "arena.h"

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

/* gcc says __SANITIZE_ADDRESS__; clang, __has_feature(address_sanitizer). */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(ARENA_ASAN)
#include <sanitizer/asan_interface.h>
#define ARENA_POISON(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define ARENA_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define ARENA_POISON(p, n)   ((void)(p), (void)(n))
#define ARENA_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define ALIGN 16
/* Chunks double from ARENA_KEEP up to this, so a huge review needs few of them. */
#define CHUNK_MAX (16 * 1024 * 1024)

struct chunk {
    struct chunk *prev;
    size_t cap, used;
    _Alignas(ALIGN) unsigned char data[];
};

struct arena {
    struct chunk *top; /* newest chunk; the oldest one is kept between scopes */
    size_t total;      /* bytes of the chunks in top's list, headers included: <= max */
    size_t max;        /* the outermost scope's ceiling (ARENA_MAX unless it asked for less) */
    bool exhausted;    /* the open scope was refused an allocation for max */
    unsigned depth;
    bool registered; /* thread_exit_key set, so the kept chunk goes with the thread */
};

static _Thread_local struct arena thread_arena;
static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static pthread_key_t thread_exit_key;
static bool installed; /* written once by arena_install, before any thread starts */

static bool arena_owns(const struct arena *a, const void *p)
{
    const unsigned char *q = p;
    for (const struct chunk *c = a->top; c; c = c->prev)
        if (q >= c->data && q < c->data + c->cap)
            return true;
    return false;
}

/* A chunk for at least need bytes, within what a->max leaves; NULL when it leaves too little. */
static struct chunk *chunk_new(struct arena *a, size_t need)
{
    size_t cap = a->top ? a->top->cap * 2 : ARENA_KEEP;
    if (cap > CHUNK_MAX)
        cap = CHUNK_MAX;
    if (cap < need)
        cap = need;
    /* total <= max, except that the chunk kept from an earlier scope may exceed a smaller max */
    size_t room = a->max > a->total ? a->max - a->total : 0;
    if (room < sizeof(struct chunk) + need) {
        a->exhausted = true;
        return NULL;
    }
    if (cap > room - sizeof(struct chunk))
        cap = room - sizeof(struct chunk);
    struct chunk *c = malloc(sizeof(*c) + cap);
    if (!c)
        return NULL;
    c->prev = a->top;
    c->cap = cap;
    c->used = 0;
    ARENA_POISON(c->data, cap);
    a->top = c;
    a->total += sizeof(*c) + cap;
    return c;
}

static void *arena_malloc(size_t size)
{
    struct arena *a = &thread_arena;
    if (a->depth == 0)
        return malloc(size);
    if (size > a->max) {
        a->exhausted = true;
        return NULL;
    }
    size = size ? (size + ALIGN - 1) & ~(size_t)(ALIGN - 1) : ALIGN;
    struct chunk *c = a->top;
    if (!c || c->cap - c->used < size) {
        c = chunk_new(a, size);
        if (!c)
            return NULL;
    }
    void *p = c->data + c->used;
    c->used += size;
    ARENA_UNPOISON(p, size);
    return p;
}

static void arena_free(void *p)
{
    struct arena *a = &thread_arena;
    if (!p || (a->depth > 0 && arena_owns(a, p)))
        return; /* released with the scope */
    free(p);
}

/* Frees every chunk but the first, and that one too unless it is the size worth keeping. */
static void release(struct arena *a, bool keep_first)
{
    while (a->top && (a->top->prev || !keep_first || a->top->cap > ARENA_KEEP)) {
        struct chunk *c = a->top;
        a->top = c->prev;
        a->total -= sizeof(*c) + c->cap;
        ARENA_UNPOISON(c->data, c->cap);
        free(c);
    }
    if (a->top) {
        a->top->used = 0;
        ARENA_POISON(a->top->data, a->top->cap);
    }
}

static void thread_exit(void *arena)
{
    release(arena, false);
}

static void install(void)
{
    if (pthread_key_create(&thread_exit_key, thread_exit) != 0)
        abort(); /* only on exhausted keys at startup */
    json_set_alloc_funcs(arena_malloc, arena_free);
    installed = true;
}

void arena_install(void)
{
    pthread_once(&install_once, install);
}

void arena_begin_max(size_t max)
{
    struct arena *a = &thread_arena;
    if (installed && !a->registered)
        a->registered = pthread_setspecific(thread_exit_key, a) == 0;
    if (a->depth++ == 0) {
        a->exhausted = false;
        a->max = max < ARENA_MAX ? max : ARENA_MAX;
    }
}

void arena_begin(void)
{
    arena_begin_max(ARENA_MAX);
}

void arena_end(void)
{
    struct arena *a = &thread_arena;
    if (a->depth == 0 || --a->depth > 0)
        return;
    release(a, a->registered);
}

bool arena_exhausted(void)
{
    return thread_arena.exhausted;
}

json_t *arena_export(const json_t *value)
{
    struct arena *a = &thread_arena;
    unsigned depth = a->depth;
    a->depth = 0; /* allocate from the heap for the copy */
    json_t *copy = value ? json_deep_copy(value) : NULL;
    a->depth = depth;
    return copy;
}

void arena_text_free(char *text)
{
    arena_free(text);
}
