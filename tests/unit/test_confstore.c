/* test_confstore.c - the configuration in service: reloads, rejections, the ConfigMap swap,
 * threads. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "confstore.h"
#include "testutil.h"

static char dir[] = "/tmp/goinject-confstore-XXXXXX";
static char path[256];
static char err[512];

static void setup(void)
{
    strcpy(dir, "/tmp/goinject-confstore-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/config.json", dir);
    unsetenv("POD_NAMESPACE");
}

static void teardown(void)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Writes text to file p, replacing it (a new inode, as editors and the kubelet do). */
static void write_config(const char *p, const char *text)
{
    char tmp[300];
    snprintf(tmp, sizeof(tmp), "%s.tmp", p);
    FILE *f = fopen(tmp, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    ck_assert_int_eq(rename(tmp, p), 0);
}

static enum inject_mode mode_in_service(struct confstore *store)
{
    struct config_ref *ref = confstore_acquire(store);
    enum inject_mode mode = ref->cfg->mode;
    config_ref_release(ref);
    return mode;
}

START_TEST(defaults_without_a_file_never_reload)
{
    struct confstore *store = confstore_open(NULL, NULL, err, sizeof(err));
    ck_assert_ptr_nonnull(store);
    ck_assert_int_eq(mode_in_service(store), MODE_CLOUD_NATIVE);
    ck_assert_int_eq(confstore_check(store, true, err, sizeof(err)), CONFSTORE_UNCHANGED);
    confstore_free(store);
}
END_TEST

START_TEST(a_changed_file_is_reloaded_and_a_bad_one_rejected)
{
    write_config(path, "{\"mode\": \"classic\"}");
    struct confstore *store = confstore_open(path, NULL, err, sizeof(err));
    ck_assert_msg(store != NULL, "%s", err);
    ck_assert_int_eq(mode_in_service(store), MODE_CLASSIC);
    ck_assert_int_eq(confstore_check(store, false, err, sizeof(err)), CONFSTORE_UNCHANGED);
    write_config(path, "{\"mode\": \"cloud-native\"}");
    ck_assert_int_eq(confstore_check(store, false, err, sizeof(err)), CONFSTORE_RELOADED);
    ck_assert_int_eq(mode_in_service(store), MODE_CLOUD_NATIVE);
    write_config(path, "{\"mode\": \"classic\", \"catalog\": [{\"match\": {}}]}");
    ck_assert_int_eq(confstore_check(store, false, err, sizeof(err)), CONFSTORE_REJECTED);
    ck_assert_ptr_nonnull(strstr(err, "catalog[0].match"));
    ck_assert_int_eq(mode_in_service(store), MODE_CLOUD_NATIVE); /* the old one stays */
    /* The same broken file is not tried (and reported) again every second. */
    ck_assert_int_eq(confstore_check(store, false, err, sizeof(err)), CONFSTORE_UNCHANGED);
    ck_assert_int_eq(confstore_check(store, true, err, sizeof(err)), CONFSTORE_REJECTED);
    unlink(path);
    ck_assert_int_eq(confstore_check(store, false, err, sizeof(err)), CONFSTORE_REJECTED);
    ck_assert_ptr_nonnull(strstr(err, "cannot open"));
    write_config(path, "{\"mode\": \"classic\"}");
    ck_assert_int_eq(confstore_check(store, false, err, sizeof(err)), CONFSTORE_RELOADED);
    ck_assert_int_eq(mode_in_service(store), MODE_CLASSIC);
    confstore_free(store);
}
END_TEST

/* The value of the first variable of one agent.env set in service, or NULL when it is empty. */
static const char *env_in_service(struct confstore *store, enum agent_env_set set, char *out,
                                  size_t len)
{
    struct config_ref *ref = confstore_acquire(store);
    const char *value =
        json_string_value(json_object_get(json_array_get(ref->cfg->agent.env[set], 0), "value"));
    snprintf(out, len, "%s", value ? value : "");
    config_ref_release(ref);
    return value ? out : NULL;
}

START_TEST(a_bad_agent_env_is_rejected_and_the_old_sets_stay)
{
    char value[64];
    write_config(path, "{\"agent\": {\"env\": {\"glibc\": [{\"name\": \"LD_PRELOAD\","
                       " \"value\": \"/g.so\"}]}}}");
    struct confstore *store = confstore_open(path, NULL, err, sizeof(err));
    ck_assert_msg(store != NULL, "%s", err);
    ck_assert_str_eq(env_in_service(store, AGENT_ENV_GLIBC, value, sizeof(value)), "/g.so");
    write_config(path, "{\"agent\": {\"env\": {\"glibc\": [], \"muls\": [{\"name\": \"X\"}]}}}");
    ck_assert_int_eq(confstore_check(store, false, err, sizeof(err)), CONFSTORE_REJECTED);
    ck_assert_ptr_nonnull(strstr(err, "agent.env.muls: unknown field"));
    write_config(path,
                 "{\"agent\": {\"env\": {\"musl\": [{\"name\": \"LD_PRELOAD\", \"value\": 1}]}}}");
    ck_assert_int_eq(confstore_check(store, false, err, sizeof(err)), CONFSTORE_REJECTED);
    ck_assert_ptr_nonnull(strstr(err, "agent.env.musl[0].value"));
    ck_assert_str_eq(env_in_service(store, AGENT_ENV_GLIBC, value, sizeof(value)), "/g.so");
    ck_assert_ptr_null(env_in_service(store, AGENT_ENV_MUSL, value, sizeof(value)));
    /* The array form replaces every set: any is the list, glibc and musl are empty. */
    write_config(path, "{\"agent\": {\"env\": [{\"name\": \"TENANT\", \"value\": \"t\"}]}}");
    ck_assert_int_eq(confstore_check(store, false, err, sizeof(err)), CONFSTORE_RELOADED);
    ck_assert_str_eq(env_in_service(store, AGENT_ENV_ANY, value, sizeof(value)), "t");
    ck_assert_ptr_null(env_in_service(store, AGENT_ENV_GLIBC, value, sizeof(value)));
    confstore_free(store);
}
END_TEST

START_TEST(the_mode_flag_wins_on_every_reload)
{
    write_config(path, "{\"mode\": \"classic\"}");
    struct confstore *store = confstore_open(path, "cloud-native", err, sizeof(err));
    ck_assert_int_eq(mode_in_service(store), MODE_CLOUD_NATIVE);
    write_config(path, "{\"mode\": \"classic\", \"injectByDefault\": false}");
    ck_assert_int_eq(confstore_check(store, false, err, sizeof(err)), CONFSTORE_RELOADED);
    ck_assert_int_eq(mode_in_service(store), MODE_CLOUD_NATIVE);
    confstore_free(store);
    ck_assert_ptr_null(confstore_open(path, "hybrid", err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "--mode"));
}
END_TEST

/* The kubelet's ConfigMap volume: config.json -> ..data/config.json, ..data -> ..<timestamp>. */
START_TEST(configmap_symlink_swap_is_seen)
{
    char sub[200], link[300], target[300];
    snprintf(sub, sizeof(sub), "%s/..2026_01", dir);
    mkdir(sub, 0755);
    snprintf(target, sizeof(target), "%s/config.json", sub);
    write_config(target, "{\"mode\": \"classic\"}");
    snprintf(link, sizeof(link), "%s/..data", dir);
    ck_assert_int_eq(symlink("..2026_01", link), 0);
    ck_assert_int_eq(symlink("..data/config.json", path), 0);
    struct confstore *store = confstore_open(path, NULL, err, sizeof(err));
    ck_assert_msg(store != NULL, "%s", err);
    ck_assert_int_eq(mode_in_service(store), MODE_CLASSIC);
    snprintf(sub, sizeof(sub), "%s/..2026_02", dir);
    mkdir(sub, 0755);
    snprintf(target, sizeof(target), "%s/config.json", sub);
    write_config(target, "{\"mode\": \"cloud-native\"}");
    char tmp[300];
    snprintf(tmp, sizeof(tmp), "%s/..data_tmp", dir);
    ck_assert_int_eq(symlink("..2026_02", tmp), 0);
    ck_assert_int_eq(rename(tmp, link), 0); /* the atomic swap */
    ck_assert_int_eq(confstore_check(store, false, err, sizeof(err)), CONFSTORE_RELOADED);
    ck_assert_int_eq(mode_in_service(store), MODE_CLOUD_NATIVE);
    confstore_free(store);
}
END_TEST

START_TEST(a_review_keeps_its_configuration_across_a_reload)
{
    write_config(path, "{\"annotationPrefix\": \"old.example.com\"}");
    struct confstore *store = confstore_open(path, NULL, err, sizeof(err));
    struct config_ref *held = confstore_acquire(store);
    write_config(path, "{\"annotationPrefix\": \"new.example.com\"}");
    ck_assert_int_eq(confstore_check(store, false, err, sizeof(err)), CONFSTORE_RELOADED);
    ck_assert_str_eq(held->cfg->annotation_prefix, "old.example.com"); /* still whole */
    struct config_ref *fresh = confstore_acquire(store);
    ck_assert_str_eq(fresh->cfg->annotation_prefix, "new.example.com");
    config_ref_release(held); /* the last user frees the old one (valgrind checks) */
    config_ref_release(fresh);
    confstore_free(store);
}
END_TEST

struct hammer {
    struct confstore *store;
    atomic_bool stop;
    atomic_long reviews;
};

static void *review_loop(void *arg)
{
    struct hammer *h = arg;
    while (!atomic_load(&h->stop)) {
        struct config_ref *ref = confstore_acquire(h->store);
        /* Read the whole configuration, as a review would. */
        json_t *doc = config_to_json(ref->cfg);
        ck_assert_ptr_nonnull(doc);
        json_decref(doc);
        config_ref_release(ref);
        atomic_fetch_add(&h->reviews, 1);
    }
    return NULL;
}

START_TEST(reloads_under_concurrent_reviews)
{
    write_config(path, "{\"mode\": \"classic\"}");
    struct hammer h = {.store = confstore_open(path, NULL, err, sizeof(err))};
    atomic_init(&h.stop, false);
    atomic_init(&h.reviews, 0);
    pthread_t threads[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&threads[i], NULL, review_loop, &h);
    for (int i = 0; i < 60; i++) {
        char text[200];
        snprintf(text, sizeof(text),
                 "{\"mode\": \"%s\", \"catalog\": [{\"match\": {\"glob\": \"app%d:*\"},"
                 " \"facts\": {\"staticGo\": true}}]}",
                 i % 2 ? "classic" : "cloud-native", i);
        write_config(path, text);
        ck_assert_int_eq(confstore_check(h.store, true, err, sizeof(err)), CONFSTORE_RELOADED);
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    atomic_store(&h.stop, true);
    for (int i = 0; i < 4; i++)
        pthread_join(threads[i], NULL);
    ck_assert_int_gt(atomic_load(&h.reviews), 60);
    confstore_free(h.store);
}
END_TEST

static Suite *confstore_suite(void)
{
    Suite *s = suite_create("confstore");
    TCase *tc = tcase_create("confstore");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, defaults_without_a_file_never_reload);
    tcase_add_test(tc, a_changed_file_is_reloaded_and_a_bad_one_rejected);
    tcase_add_test(tc, a_bad_agent_env_is_rejected_and_the_old_sets_stay);
    tcase_add_test(tc, the_mode_flag_wins_on_every_reload);
    tcase_add_test(tc, configmap_symlink_swap_is_seen);
    tcase_add_test(tc, a_review_keeps_its_configuration_across_a_reload);
    tcase_add_test(tc, reloads_under_concurrent_reviews);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(confstore_suite());
}
