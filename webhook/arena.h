/*
 * arena.h - one review's JSON values, allocated from a per-thread arena.
 *
 * jansson allocates every value, object table and key with malloc and frees
 * each one on its own, yet all of a review's values are made for that review
 * and die together when it ends. Between arena_begin() and
 * arena_end() on a thread, jansson's allocations on that thread are
 * carved from a bump arena instead, their frees do nothing, and
 * arena_end() releases them all at once (keeping one chunk for the next
 * review, so an idle thread holds at most ARENA_KEEP bytes).
 *
 * Outside a scope, and on other threads, the allocator is plain malloc/free,
 * so values that outlive a review (the configuration, the catalog) are
 * untouched. The rule for callers: no JSON value made inside a scope may be
 * used after its arena_end(). Text from json_dumps() inside a scope is
 * arena memory too: release it with arena_text_free(), never free().
 *
 * Installing: jansson's allocator hooks are process globals that every
 * thread reads without a lock, and jansson asks that they be set before any
 * other call. main() calls arena_install() first, before it parses the
 * configuration and before any thread starts. Mixing is safe all the same:
 * the free hook gives back to the heap every block that is not the calling
 * thread's arena memory (whenever it was allocated, and by whichever
 * allocator), and arena memory is only handed out inside a scope, which
 * never begins before the install. Without the install, scopes change
 * nothing: every value comes from malloc.
 * Under AddressSanitizer released chunks are poisoned, so a value used after
 * its scope is reported as a use after free.
 */
#ifndef GOINJECT_ARENA_H
#define GOINJECT_ARENA_H

#include <jansson.h>
#include <stdbool.h>

/* What an idle thread keeps for its next review. */
#define ARENA_KEEP (256 * 1024)

/*
 * The most one scope may take, chunk headers included: past it an allocation
 * fails (jansson then returns NULL or an error) and the scope is marked
 * exhausted. The server runs one review per event loop at a time, so this
 * times the loops bounds what reviews hold together. A pod the API server
 * can store (its etcd objects stop at 1.5 MiB) needs a fraction of it.
 */
#define ARENA_MAX      (32 * 1024 * 1024)
#define ARENA_MAX_TEXT "32 MiB"

/* Makes the arena jansson's allocator; first thing in main(), before any thread. Idempotent. */
void arena_install(void);

/* Starts a scope on this thread. Scopes nest. */
void arena_begin(void);

/*
 * The same, with a ceiling below ARENA_MAX for what the scope may take (a
 * registry lookup's documents, whose size the registry decides). Only the
 * outermost scope's ceiling counts; a nested one takes the ceiling it is in.
 */
void arena_begin_max(size_t max);

/* Ends the innermost scope; the outermost one releases every value made in it. */
void arena_end(void);

/*
 * Whether an allocation of the outermost scope now open on this thread was
 * refused for its ceiling (ARENA_MAX, or the one arena_begin_max asked
 * for). Once it is, what the scope built may miss values anywhere: the
 * caller must throw it all away, not use it.
 */
bool arena_exhausted(void);

/* A heap copy of value (NULL stays NULL), for a value that must outlive the scope. */
json_t *arena_export(const json_t *value);

/* Frees text returned by json_dumps(), inside a scope or not. */
void arena_text_free(char *text);

#endif
