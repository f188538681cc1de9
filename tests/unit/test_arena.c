/* test_arena.c - a review's JSON values live in its thread's arena, and nothing else does. */
#include <malloc.h>
#include <pthread.h>

#include "arena.h"
#include "testutil.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(TEST_ASAN)
/* The sanitizer runtime's count (sanitizer/allocator_interface.h, which gcc does not ship). */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

/* Made in main() before the arena is installed, as the configuration once was. */
static json_t *made_before_install;
#define BEFORE_BYTES (4 * 1024 * 1024)

/* Bytes the process's heap holds now (0 where the allocator cannot tell). */
static size_t heap_in_use(void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(TEST_ASAN)
    return __sanitizer_get_current_allocated_bytes();
#else
    struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
#endif
}

/*
 * json_equal against a literal; inside a scope the testutil macros cannot be used, since
 * they free() what json_dumps() made there.
 */
static int equals_text(const json_t *value, const char *text)
{
    json_t *expected = json_lit(text);
    int same = json_equal((json_t *)value, expected);
    json_decref(expected);
    return same;
}

START_TEST(values_made_in_a_scope_work_like_any_other)
{
    arena_begin();
    json_t *pod = json_lit("{\"spec\":{\"containers\":[{\"name\":\"app\"}]}}");
    json_t *copy = json_deep_copy(pod);
    json_object_set_new(copy, "extra", json_string("x"));
    ck_assert(json_equal(json_object_get(pod, "spec"), json_object_get(copy, "spec")));
    ck_assert_str_eq(json_string_value(json_object_get(copy, "extra")), "x");
    json_decref(copy);
    json_decref(pod);
    arena_end();
}
END_TEST

START_TEST(heap_values_cross_a_scope_in_both_directions)
{
    json_t *before = json_lit("{\"kept\":[1,2,3]}"); /* heap: made outside any scope */
    arena_begin();
    json_t *inside = json_object();
    json_object_set(inside, "shared", before); /* a reference to the heap value */
    json_decref(inside);
    arena_end();
    ck_assert_int_eq(before->refcount, 1);
    arena_begin();
    json_decref(before); /* the last reference to a heap value, dropped inside a scope */
    arena_end();
}
END_TEST

/*
 * Values made before the install came from malloc, and go back to the heap
 * when they are freed, inside a scope or out of one; values made in a scope
 * are the arena's, and freeing them gives nothing back to the heap (nor
 * passes arena memory to free()).
 */
START_TEST(each_value_goes_back_to_the_allocator_it_came_from)
{
    ck_assert_ptr_nonnull(made_before_install);
    size_t heap = heap_in_use();
    arena_begin();
    json_t *inside = json_stringn_nocheck(json_string_value(made_before_install), BEFORE_BYTES);
    ck_assert_ptr_nonnull(inside);
    size_t heap_inside = heap_in_use();
    json_decref(inside); /* arena memory: stays until the scope ends */
    ck_assert_uint_eq(heap_in_use(), heap_inside);
    json_decref(made_before_install); /* heap memory, freed inside a scope: back to the heap */
    made_before_install = NULL;
    size_t heap_after = heap_in_use();
    arena_end();
    if (heap) {
        ck_assert_msg(heap_after + BEFORE_BYTES <= heap_inside, "heap %zu -> %zu: not freed",
                      heap_inside, heap_after);
        /* The value is gone, and the arena kept at most one chunk of ARENA_KEEP. */
        ck_assert_msg(heap_in_use() + BEFORE_BYTES <= heap + ARENA_KEEP,
                      "heap %zu at the start, %zu at the end", heap, heap_in_use());
    }
}
END_TEST

START_TEST(export_copies_a_value_out_of_the_scope)
{
    arena_begin();
    json_t *log = json_lit("{\"uid\":\"u\",\"actions\":{\"app\":\"shell-wrapper\"}}");
    json_t *kept = arena_export(log);
    arena_end();
    /* Another review reuses the arena; the exported copy is untouched. */
    arena_begin();
    json_t *other = json_lit("{\"uid\":\"overwritten?\",\"actions\":{\"x\":\"y\"}}");
    ck_assert(equals_text(kept, "{\"uid\":\"u\",\"actions\":{\"app\":\"shell-wrapper\"}}"));
    json_decref(other);
    arena_end();
    json_decref(kept);
    ck_assert_ptr_null(arena_export(NULL));
}
END_TEST

START_TEST(scopes_nest_and_only_the_outermost_releases)
{
    arena_begin();
    json_t *outer = json_lit("{\"a\":\"outer\"}");
    arena_begin();
    json_t *inner = json_lit("{\"b\":\"inner\"}");
    arena_end();
    ck_assert(equals_text(outer, "{\"a\":\"outer\"}"));
    ck_assert(equals_text(inner, "{\"b\":\"inner\"}"));
    arena_end();
    arena_end(); /* unbalanced: ignored */
}
END_TEST

START_TEST(dumped_text_is_released_with_arena_text_free)
{
    json_t *v = json_lit("{\"a\":[1,\"two\"]}");
    char *outside = json_dumps(v, JSON_COMPACT);
    arena_begin();
    char *inside = json_dumps(v, JSON_COMPACT);
    ck_assert_str_eq(inside, outside);
    arena_text_free(inside);
    arena_end();
    arena_text_free(outside);
    json_decref(v);
}
END_TEST

START_TEST(large_reviews_grow_the_arena_and_give_it_back)
{
    for (int round = 0; round < 3; round++) {
        arena_begin();
        json_t *big = json_array();
        /* Well past ARENA_KEEP, with one value larger than a whole chunk. */
        for (int i = 0; i < 20000; i++)
            json_array_append_new(big, json_pack("{s:i,s:s}", "i", i, "s", "some text"));
        char *huge = calloc(1, 3 * ARENA_KEEP);
        memset(huge, 'x', 3 * ARENA_KEEP - 1);
        json_array_append_new(big, json_string(huge));
        free(huge);
        ck_assert_uint_eq(json_array_size(big), 20001);
        ck_assert_uint_eq(json_string_length(json_array_get(big, 20000)), 3 * ARENA_KEEP - 1);
        ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(big, 19999), "i")),
                         19999);
        json_decref(big);
        arena_end();
    }
}
END_TEST

/* ARENA_MAX: a scope that asks for more is refused, says so, and the next scope starts afresh. */
START_TEST(a_scope_past_its_ceiling_is_refused_and_marked)
{
    arena_begin();
    ck_assert(!arena_exhausted());
    json_t *big = json_array();
    size_t made = 0;
    /* Strings of 64 KiB: well past ARENA_MAX after a few hundred, if nothing stopped them. */
    char *text = malloc(64 * 1024);
    memset(text, 'x', 64 * 1024 - 1);
    text[64 * 1024 - 1] = '\0';
    for (int i = 0; i < 2 * (ARENA_MAX / (64 * 1024)); i++) {
        json_t *s = json_string(text);
        if (!s)
            break;
        json_array_append_new(big, s);
        made++;
    }
    int exhausted = arena_exhausted();
    arena_end();
    free(text);
    ck_assert(exhausted);
    ck_assert_uint_gt(made, ARENA_MAX / (64 * 1024) / 2);
    ck_assert_uint_le(made, ARENA_MAX / (64 * 1024));

    arena_begin();
    ck_assert(!arena_exhausted());
    json_t *small = json_pack("{s:s}", "after", "fine");
    ck_assert_ptr_nonnull(small);
    ck_assert(!arena_exhausted());
    arena_end();
}
END_TEST

START_TEST(a_scope_may_ask_for_a_lower_ceiling)
{
    const size_t max = 1024 * 1024;
    arena_begin_max(max);
    arena_begin(); /* a nested scope takes the ceiling it is in */
    json_t *big = json_array();
    size_t made = 0;
    for (int i = 0; i < 100000 && !arena_exhausted(); i++)
        if (json_array_append_new(big, json_integer(i)) == 0)
            made++;
    arena_end();
    int exhausted = arena_exhausted();
    arena_end();
    ck_assert(exhausted);
    /* An integer and its array slot take a few dozen bytes: far fewer than 100,000 fit. */
    ck_assert_uint_gt(made, 1000);
    ck_assert_uint_lt(made, max / 16);

    arena_begin(); /* the next scope has ARENA_MAX again */
    json_t *many = json_array();
    for (int i = 0; i < 100000; i++)
        json_array_append_new(many, json_integer(i));
    ck_assert(!arena_exhausted());
    ck_assert_uint_eq(json_array_size(many), 100000);
    arena_end();
}
END_TEST

static void *review_on_a_thread(void *arg)
{
    int id = *(int *)arg;
    for (int n = 0; n < 200; n++) {
        arena_begin();
        json_t *v = json_pack("{s:i,s:[s,s]}", "thread", id, "list", "a", "b");
        if (json_integer_value(json_object_get(v, "thread")) != id) {
            arena_end();
            return (void *)1;
        }
        json_decref(v);
        arena_end();
    }
    return NULL; /* the thread's kept chunk is freed as it exits */
}

START_TEST(threads_have_arenas_of_their_own)
{
    pthread_t threads[4];
    int ids[4];
    for (int i = 0; i < 4; i++) {
        ids[i] = i;
        ck_assert_int_eq(pthread_create(&threads[i], NULL, review_on_a_thread, &ids[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        void *result;
        ck_assert_int_eq(pthread_join(threads[i], &result), 0);
        ck_assert_ptr_null(result);
    }
}
END_TEST

int main(void)
{
    /* A large heap value made before the install, as goinject's main() no longer allows. */
    char *text = malloc(BEFORE_BYTES + 1);
    memset(text, 'x', BEFORE_BYTES);
    text[BEFORE_BYTES] = '\0';
    made_before_install = json_string(text);
    free(text);
    arena_install();
    Suite *s = suite_create("arena");
    TCase *tc = tcase_create("scopes");
    tcase_add_test(tc, each_value_goes_back_to_the_allocator_it_came_from);
    tcase_add_test(tc, values_made_in_a_scope_work_like_any_other);
    tcase_add_test(tc, heap_values_cross_a_scope_in_both_directions);
    tcase_add_test(tc, export_copies_a_value_out_of_the_scope);
    tcase_add_test(tc, scopes_nest_and_only_the_outermost_releases);
    tcase_add_test(tc, dumped_text_is_released_with_arena_text_free);
    tcase_add_test(tc, large_reviews_grow_the_arena_and_give_it_back);
    tcase_add_test(tc, a_scope_past_its_ceiling_is_refused_and_marked);
    tcase_add_test(tc, a_scope_may_ask_for_a_lower_ceiling);
    tcase_add_test(tc, threads_have_arenas_of_their_own);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
