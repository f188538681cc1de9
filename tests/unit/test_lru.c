/* test_lru.c - the bounded LRU map: ownership of values, recency, expiry, capacity. */
#include <stdio.h>

#include "lru.h"
#include "testutil.h"

#define MAX_IDS 65536

/* Values are numbered; the map's free function counts how often each was freed. */
static unsigned freed[MAX_IDS];
static size_t nfreed;

static void value_free(void *v)
{
    int *id = v;
    if (!id)
        return;
    ck_assert_int_lt(*id, MAX_IDS);
    freed[*id]++;
    nfreed++;
    free(id);
}

static void *value(int id)
{
    int *v = malloc(sizeof(*v));
    ck_assert_ptr_nonnull(v);
    *v = id;
    return v;
}

/* The id stored under key, or -1. */
static int get_id(struct lru *m, const char *key, uint64_t now)
{
    int *v = lru_get(m, key, now);
    return v ? *v : -1;
}

static struct lru *map_new(size_t max)
{
    memset(freed, 0, sizeof(freed));
    nfreed = 0;
    struct lru *m = malloc(sizeof(*m));
    ck_assert_ptr_nonnull(m);
    *m = (struct lru)LRU_INIT(max, value_free);
    return m;
}

static void map_free(struct lru *m)
{
    lru_clear(m);
    ck_assert_uint_eq(lru_count(m), 0);
    free(m);
}

START_TEST(put_then_get_returns_the_value)
{
    struct lru *m = map_new(8);
    char key[16] = "alpha";
    lru_put(m, key, value(1), 0);
    strcpy(key, "beta"); /* the map keeps its own copy of the key */
    lru_put(m, key, value(2), 0);
    ck_assert_int_eq(get_id(m, "alpha", 0), 1);
    ck_assert_int_eq(get_id(m, "beta", 0), 2);
    ck_assert_int_eq(get_id(m, "gamma", 0), -1);
    ck_assert_int_eq(get_id(m, "", 0), -1);
    ck_assert_uint_eq(lru_count(m), 2);
    ck_assert_uint_eq(nfreed, 0);
    map_free(m);
    ck_assert_uint_eq(nfreed, 2);
}
END_TEST

START_TEST(a_put_on_a_stored_key_frees_the_old_value)
{
    struct lru *m = map_new(8);
    lru_put(m, "k", value(1), 0);
    lru_put(m, "k", value(2), 0);
    ck_assert_uint_eq(freed[1], 1);
    ck_assert_uint_eq(freed[2], 0);
    ck_assert_int_eq(get_id(m, "k", 0), 2);
    ck_assert_uint_eq(lru_count(m), 1);
    map_free(m);
    ck_assert_uint_eq(freed[2], 1);
}
END_TEST

START_TEST(a_put_beyond_capacity_evicts_the_least_recently_used)
{
    struct lru *m = map_new(3);
    lru_put(m, "a", value(1), 0);
    lru_put(m, "b", value(2), 0);
    lru_put(m, "c", value(3), 0);
    lru_put(m, "d", value(4), 0);
    ck_assert_uint_eq(lru_count(m), 3);
    ck_assert_uint_eq(freed[1], 1);
    ck_assert_uint_eq(nfreed, 1);
    ck_assert_int_eq(get_id(m, "a", 0), -1);
    ck_assert_int_eq(get_id(m, "b", 0), 2);
    ck_assert_int_eq(get_id(m, "c", 0), 3);
    ck_assert_int_eq(get_id(m, "d", 0), 4);
    map_free(m);
}
END_TEST

START_TEST(a_get_makes_the_entry_most_recently_used)
{
    struct lru *m = map_new(3);
    lru_put(m, "a", value(1), 0);
    lru_put(m, "b", value(2), 0);
    lru_put(m, "c", value(3), 0);
    ck_assert_int_eq(get_id(m, "a", 0), 1); /* b is now the least recently used */
    lru_put(m, "d", value(4), 0);
    ck_assert_uint_eq(freed[2], 1);
    ck_assert_int_eq(get_id(m, "a", 0), 1);
    ck_assert_int_eq(get_id(m, "b", 0), -1);
    map_free(m);
}
END_TEST

START_TEST(a_replacing_put_makes_the_entry_most_recently_used)
{
    struct lru *m = map_new(3);
    lru_put(m, "a", value(1), 0);
    lru_put(m, "b", value(2), 0);
    lru_put(m, "c", value(3), 0);
    lru_put(m, "a", value(4), 0);
    lru_put(m, "d", value(5), 0);
    ck_assert_uint_eq(freed[2], 1); /* b, not a */
    ck_assert_int_eq(get_id(m, "a", 0), 4);
    map_free(m);
}
END_TEST

START_TEST(a_get_that_misses_changes_nothing)
{
    struct lru *m = map_new(2);
    lru_put(m, "a", value(1), 0);
    lru_put(m, "b", value(2), 0);
    ck_assert_int_eq(get_id(m, "zzz", 0), -1);
    lru_put(m, "c", value(3), 0);
    ck_assert_uint_eq(freed[1], 1);
    ck_assert_uint_eq(nfreed, 1);
    map_free(m);
}
END_TEST

START_TEST(an_expired_entry_is_gone_and_freed)
{
    struct lru *m = map_new(8);
    lru_put(m, "k", value(1), 1000);
    ck_assert_int_eq(get_id(m, "k", 999), 1);
    ck_assert_uint_eq(nfreed, 0);
    ck_assert_int_eq(get_id(m, "k", 1000), -1); /* expiry is not after now */
    ck_assert_uint_eq(freed[1], 1);
    ck_assert_uint_eq(lru_count(m), 0);
    ck_assert_int_eq(get_id(m, "k", 1), -1);
    map_free(m);
    ck_assert_uint_eq(nfreed, 1);
}
END_TEST

START_TEST(expiry_zero_never_expires)
{
    struct lru *m = map_new(8);
    lru_put(m, "k", value(1), 0);
    ck_assert_int_eq(get_id(m, "k", UINT64_MAX), 1);
    ck_assert_uint_eq(nfreed, 0);
    map_free(m);
}
END_TEST

START_TEST(a_get_at_time_zero_sees_an_expired_entry)
{
    struct lru *m = map_new(8);
    lru_put(m, "k", value(1), 5);
    ck_assert_int_eq(get_id(m, "k", 0), 1);
    ck_assert_uint_eq(nfreed, 0);
    ck_assert_int_eq(get_id(m, "k", 6), -1);
    ck_assert_uint_eq(freed[1], 1);
    map_free(m);
}
END_TEST

START_TEST(a_put_renews_the_expiry)
{
    struct lru *m = map_new(8);
    lru_put(m, "k", value(1), 10);
    lru_put(m, "k", value(2), 0);
    ck_assert_int_eq(get_id(m, "k", 100), 2);
    lru_put(m, "k", value(3), 200);
    ck_assert_int_eq(get_id(m, "k", 199), 3);
    ck_assert_int_eq(get_id(m, "k", 200), -1);
    ck_assert_uint_eq(nfreed, 3);
    map_free(m);
}
END_TEST

START_TEST(remove_frees_the_value_and_says_whether_it_found_the_key)
{
    struct lru *m = map_new(8);
    lru_put(m, "a", value(1), 0);
    lru_put(m, "b", value(2), 0);
    ck_assert(lru_remove(m, "a"));
    ck_assert_uint_eq(freed[1], 1);
    ck_assert(!lru_remove(m, "a"));
    ck_assert(!lru_remove(m, "nope"));
    ck_assert_uint_eq(lru_count(m), 1);
    ck_assert_int_eq(get_id(m, "b", 0), 2);
    map_free(m);
}
END_TEST

START_TEST(a_null_value_removes_the_key)
{
    struct lru *m = map_new(8);
    lru_put(m, "a", value(1), 0);
    lru_put(m, "a", NULL, 0);
    ck_assert_uint_eq(freed[1], 1);
    ck_assert_uint_eq(lru_count(m), 0);
    lru_put(m, "b", NULL, 0);
    ck_assert_uint_eq(lru_count(m), 0);
    ck_assert_ptr_null(lru_get(m, "b", 0));
    map_free(m);
}
END_TEST

START_TEST(clear_frees_every_value_and_the_map_stays_usable)
{
    struct lru *m = map_new(100);
    char key[32];
    for (int i = 0; i < 50; i++) {
        snprintf(key, sizeof(key), "key-%d", i);
        lru_put(m, key, value(i), i % 2 ? 0 : 1000);
    }
    lru_clear(m);
    ck_assert_uint_eq(lru_count(m), 0);
    ck_assert_uint_eq(nfreed, 50);
    for (int i = 0; i < 50; i++)
        ck_assert_uint_eq(freed[i], 1);
    ck_assert_int_eq(get_id(m, "key-3", 0), -1);
    lru_put(m, "key-3", value(60), 0);
    ck_assert_int_eq(get_id(m, "key-3", 0), 60);
    lru_clear(m);
    lru_clear(m); /* an empty map */
    ck_assert_uint_eq(nfreed, 51);
    map_free(m);
}
END_TEST

START_TEST(drop_oldest_removes_the_least_recently_used)
{
    struct lru *m = map_new(10);
    lru_put(m, "a", value(1), 0);
    lru_put(m, "b", value(2), 0);
    lru_put(m, "c", value(3), 0);
    ck_assert_int_eq(get_id(m, "a", 0), 1); /* a is now the most recently used */
    ck_assert(lru_drop_oldest(m));
    ck_assert_uint_eq(freed[2], 1);
    ck_assert_int_eq(get_id(m, "b", 0), -1);
    ck_assert(lru_drop_oldest(m));
    ck_assert_int_eq(get_id(m, "c", 0), -1);
    ck_assert(lru_drop_oldest(m));
    ck_assert(!lru_drop_oldest(m));
    ck_assert_uint_eq(lru_count(m), 0);
    map_free(m);
}
END_TEST

/* In loops of thousands: Check reports every passed ck_assert to its parent
 * process, so a loop only calls it for a value that is wrong. */
#define LOOP_ASSERT(cond)                                                                          \
    do {                                                                                           \
        if (!(cond))                                                                               \
            ck_assert(cond);                                                                       \
    } while (0)

/* 20 times as many keys as buckets: every chain holds many keys. */
START_TEST(thousands_of_keys_share_the_buckets)
{
    enum { N = LRU_BUCKETS * 20 };
    struct lru *m = map_new(N);
    char key[64];
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof(key), "registry.example/app:%d", i);
        lru_put(m, key, value(i), 0);
    }
    ck_assert_uint_eq(lru_count(m), N);
    ck_assert_uint_eq(nfreed, 0);
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof(key), "registry.example/app:%d", i);
        LOOP_ASSERT(get_id(m, key, 0) == i);
    }
    /* Remove every third key from the middle of the chains, then look again. */
    for (int i = 0; i < N; i += 3) {
        snprintf(key, sizeof(key), "registry.example/app:%d", i);
        LOOP_ASSERT(lru_remove(m, key));
    }
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof(key), "registry.example/app:%d", i);
        LOOP_ASSERT(get_id(m, key, 0) == (i % 3 ? i : -1));
        LOOP_ASSERT(freed[i] == (i % 3 ? 0 : 1));
    }
    map_free(m);
    ck_assert_uint_eq(nfreed, N);
}
END_TEST

/* Puts, gets and removes in a pseudo-random order: the bound holds and nothing leaks. */
START_TEST(the_count_stays_within_max)
{
    enum { MAX = 64, KEYS = 500, STEPS = 20000 };
    struct lru *m = map_new(MAX);
    char key[32];
    uint32_t x = 12345;
    size_t puts = 0;
    for (int step = 0; step < STEPS; step++) {
        x = x * 1103515245u + 12345u;
        unsigned k = (x >> 8) % KEYS, op = (x >> 24) % 4;
        snprintf(key, sizeof(key), "k%u", k);
        if (op == 0) {
            lru_remove(m, key);
        } else if (op == 1) {
            int id = get_id(m, key, (uint64_t)step);
            LOOP_ASSERT(id == -1 || id < STEPS);
        } else {
            lru_put(m, key, value(step), op == 2 ? (uint64_t)step + 50 : 0);
            puts++;
        }
        LOOP_ASSERT(lru_count(m) <= MAX);
        LOOP_ASSERT(nfreed + lru_count(m) == puts);
    }
    map_free(m);
    ck_assert_uint_eq(nfreed, puts);
}
END_TEST

START_TEST(a_map_of_one_keeps_the_latest)
{
    struct lru *m = map_new(1);
    lru_put(m, "a", value(1), 0);
    lru_put(m, "b", value(2), 0);
    ck_assert_uint_eq(lru_count(m), 1);
    ck_assert_int_eq(get_id(m, "a", 0), -1);
    ck_assert_int_eq(get_id(m, "b", 0), 2);
    ck_assert_uint_eq(freed[1], 1);
    map_free(m);
}
END_TEST

static Suite *lru_suite(void)
{
    Suite *s = suite_create("lru");
    TCase *tc = tcase_create("lru");
    tcase_add_test(tc, put_then_get_returns_the_value);
    tcase_add_test(tc, a_put_on_a_stored_key_frees_the_old_value);
    tcase_add_test(tc, a_put_beyond_capacity_evicts_the_least_recently_used);
    tcase_add_test(tc, a_get_makes_the_entry_most_recently_used);
    tcase_add_test(tc, a_replacing_put_makes_the_entry_most_recently_used);
    tcase_add_test(tc, a_get_that_misses_changes_nothing);
    tcase_add_test(tc, an_expired_entry_is_gone_and_freed);
    tcase_add_test(tc, expiry_zero_never_expires);
    tcase_add_test(tc, a_get_at_time_zero_sees_an_expired_entry);
    tcase_add_test(tc, a_put_renews_the_expiry);
    tcase_add_test(tc, remove_frees_the_value_and_says_whether_it_found_the_key);
    tcase_add_test(tc, a_null_value_removes_the_key);
    tcase_add_test(tc, clear_frees_every_value_and_the_map_stays_usable);
    tcase_add_test(tc, drop_oldest_removes_the_least_recently_used);
    tcase_add_test(tc, thousands_of_keys_share_the_buckets);
    tcase_add_test(tc, the_count_stays_within_max);
    tcase_add_test(tc, a_map_of_one_keeps_the_latest);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(lru_suite());
}
