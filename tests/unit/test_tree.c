/* test_tree.c - the flattened file tree: cleaning, whiteouts, confined symlink resolution. */
#include "testutil.h"
#include "tree.h"

static struct tree t;

static void setup(void)
{
    tree_init(&t);
}

static void teardown(void)
{
    tree_free(&t);
}

static void add(const char *path, enum node_type type, uint32_t layer, const char *link)
{
    ck_assert_int_eq(tree_add(&t, path, type, 0755, layer, 0, 0, link), 0);
}

static const char *cleaned(const char *path)
{
    static char out[TREE_PATH_MAX];
    ck_assert_int_eq(tree_clean_path(path, out, sizeof(out)), 0);
    return out;
}

/* Resolves path, following the last link; returns the resolved path or the failure text. */
static const char *resolve(const char *path)
{
    static char out[TREE_PATH_MAX];
    const struct tree_node *node;
    enum resolve_result r = tree_resolve(&t, path, true, out, sizeof(out), &node);
    return r == RESOLVE_OK ? out : resolve_result_text(r);
}

START_TEST(paths_are_cleaned_and_clamped_at_the_root)
{
    ck_assert_str_eq(cleaned("./usr//bin/./sh"), "usr/bin/sh");
    ck_assert_str_eq(cleaned("/abs/path/"), "abs/path");
    ck_assert_str_eq(cleaned("../../etc/passwd"), "etc/passwd");
    ck_assert_str_eq(cleaned("a/b/../../../../c"), "c");
    ck_assert_str_eq(cleaned("./"), "");
    ck_assert_str_eq(cleaned(".."), "");
    char small[4];
    ck_assert_int_eq(tree_clean_path("abcdef", small, sizeof(small)), -1);
}
END_TEST

START_TEST(later_entries_replace_earlier_ones)
{
    add("bin/app", NODE_FILE, 0, NULL);
    add("./bin/app", NODE_SYMLINK, 1, "/opt/app");
    const struct tree_node *node = tree_get(&t, "bin/app");
    ck_assert_int_eq(node->type, NODE_SYMLINK);
    ck_assert_str_eq(node->link, "/opt/app");
    ck_assert_uint_eq(t.count, 1);
    ck_assert_ptr_null(tree_get(&t, "/bin/app")); /* lookups take cleaned paths */
}
END_TEST

START_TEST(symlinks_resolve_inside_the_tree)
{
    add("usr/bin/dash", NODE_FILE, 0, NULL);
    add("bin", NODE_SYMLINK, 0, "usr/bin");
    add("usr/bin/sh", NODE_SYMLINK, 0, "dash");
    add("usr/local/bin/app", NODE_SYMLINK, 0, "/opt/app/current/app");
    add("opt/app/current", NODE_SYMLINK, 0, "v1");
    add("opt/app/v1/app", NODE_FILE, 0, NULL);
    add("escape", NODE_SYMLINK, 0, "../../../../usr/bin/dash");
    add("etc-link", NODE_SYMLINK, 0, "/../../etc");
    ck_assert_str_eq(resolve("/bin/sh"), "/usr/bin/dash");
    ck_assert_str_eq(resolve("/usr/local/bin/app"), "/opt/app/v1/app");
    ck_assert_str_eq(resolve("/escape"), "/usr/bin/dash"); /* ".." stops at the image root */
    ck_assert_str_eq(resolve("/etc-link/passwd"), "no such file");
    ck_assert_str_eq(resolve("/bin/../bin/sh"), "/usr/bin/dash");
    char out[TREE_PATH_MAX];
    const struct tree_node *node;
    ck_assert_int_eq(tree_resolve(&t, "/bin/sh", false, out, sizeof(out), &node), RESOLVE_OK);
    ck_assert_str_eq(out, "/usr/bin/sh");
    ck_assert_int_eq(node->type, NODE_SYMLINK);
}
END_TEST

START_TEST(loops_and_non_directories_fail)
{
    add("a", NODE_SYMLINK, 0, "b");
    add("b", NODE_SYMLINK, 0, "/a");
    add("self", NODE_SYMLINK, 0, "self/x");
    add("file", NODE_FILE, 0, NULL);
    ck_assert_str_eq(resolve("/a"), "too many levels of symbolic links");
    ck_assert_str_eq(resolve("/self"), "too many levels of symbolic links");
    ck_assert_str_eq(resolve("/file/x"), "a path component is not a directory");
    ck_assert_str_eq(resolve("/missing"), "no such file");
    ck_assert_str_eq(resolve("/"), "/");
}
END_TEST

START_TEST(growing_links_hit_the_length_limit)
{
    char target[3000];
    memset(target, 'x', sizeof(target) - 1);
    target[sizeof(target) - 1] = '\0';
    memcpy(target, "/g/", 3);
    add("g", NODE_SYMLINK, 0, target); /* each hop adds ~3000 bytes */
    ck_assert_str_eq(resolve("/g/a"), "path too long");
}
END_TEST

START_TEST(whiteouts_delete_lower_layers_only)
{
    add("etc/keep", NODE_FILE, 0, NULL);
    add("etc/gone", NODE_FILE, 0, NULL);
    add("var/cache/a", NODE_FILE, 0, NULL);
    add("var/cache/sub/b", NODE_FILE, 0, NULL);
    struct whiteouts w;
    whiteouts_init(&w);
    ck_assert(whiteouts_note(&w, "./etc/.wh.gone"));
    ck_assert(whiteouts_note(&w, "var/.wh.cache"));
    ck_assert(!whiteouts_note(&w, "etc/.whatever")); /* not the prefix ".wh." */
    add("var/cache/new", NODE_FILE, 1, NULL);        /* same layer: stays */
    tree_end_layer(&t, 1, &w);
    whiteouts_free(&w);
    ck_assert_ptr_nonnull(tree_get(&t, "etc/keep"));
    ck_assert_ptr_null(tree_get(&t, "etc/gone"));
    ck_assert_ptr_null(tree_get(&t, "var/cache/a"));
    ck_assert_ptr_null(tree_get(&t, "var/cache/sub/b"));
    ck_assert_ptr_nonnull(tree_get(&t, "var/cache/new"));
    add("etc/gone", NODE_FILE, 2, NULL); /* a later layer may bring it back */
    ck_assert_ptr_nonnull(tree_get(&t, "etc/gone"));
}
END_TEST

START_TEST(opaque_directories_hide_lower_contents)
{
    add("app", NODE_DIR, 0, NULL);
    add("app/old", NODE_FILE, 0, NULL);
    add("app/deep/old", NODE_FILE, 0, NULL);
    add("apple", NODE_FILE, 0, NULL);
    struct whiteouts w;
    whiteouts_init(&w);
    ck_assert(whiteouts_note(&w, "app/.wh..wh..opq"));
    add("app/new", NODE_FILE, 1, NULL);
    tree_end_layer(&t, 1, &w);
    whiteouts_free(&w);
    ck_assert_ptr_nonnull(tree_get(&t, "app"));
    ck_assert_ptr_null(tree_get(&t, "app/old"));
    ck_assert_ptr_null(tree_get(&t, "app/deep/old"));
    ck_assert_ptr_nonnull(tree_get(&t, "app/new"));
    ck_assert_ptr_nonnull(tree_get(&t, "apple")); /* a prefix of the name is not a child */
}
END_TEST

START_TEST(a_file_over_a_directory_hides_its_contents)
{
    add("opt/app", NODE_DIR, 0, NULL);
    add("opt/app/bin", NODE_FILE, 0, NULL);
    struct whiteouts w;
    whiteouts_init(&w);
    whiteouts_shadow(&w, "opt/app");
    add("opt/app", NODE_SYMLINK, 1, "/elsewhere");
    tree_end_layer(&t, 1, &w);
    whiteouts_free(&w);
    ck_assert_int_eq(tree_get(&t, "opt/app")->type, NODE_SYMLINK);
    ck_assert_ptr_null(tree_get(&t, "opt/app/bin"));
}
END_TEST

START_TEST(root_opaque_marker_clears_everything_below)
{
    add("a", NODE_FILE, 0, NULL);
    add("b/c", NODE_FILE, 0, NULL);
    struct whiteouts w;
    whiteouts_init(&w);
    ck_assert(whiteouts_note(&w, ".wh..wh..opq"));
    tree_end_layer(&t, 1, &w);
    whiteouts_free(&w);
    ck_assert_ptr_null(tree_get(&t, "a"));
    ck_assert_ptr_null(tree_get(&t, "b/c"));
}
END_TEST

static int count_node(const struct tree_node *node, void *ctx)
{
    (void)node;
    (*(int *)ctx)++;
    return 0;
}

START_TEST(many_nodes_and_iteration)
{
    char path[64];
    for (int i = 0; i < 5000; i++) {
        snprintf(path, sizeof(path), "dir%d/file%d", i % 37, i);
        add(path, NODE_FILE, 0, NULL);
    }
    int count = 0;
    tree_each(&t, count_node, &count);
    ck_assert_int_eq(count, 5000);
    ck_assert_ptr_nonnull(tree_get(&t, "dir4/file4999"));
}
END_TEST

START_TEST(a_tree_refuses_entries_past_its_limits_and_keeps_them)
{
    char path[64];
    tree_limit(&t, 100, 1 << 20);
    for (int i = 0; i < 100; i++) {
        snprintf(path, sizeof(path), "file%d", i);
        add(path, NODE_FILE, 0, NULL);
    }
    ck_assert_int_eq(tree_add(&t, "one-more", NODE_FILE, 0644, 0, 0, 0, NULL), -1);
    ck_assert_int_eq(tree_add(&t, "file7", NODE_FILE, 0644, 1, 0, 0, NULL), -1);
    tree_free(&t); /* emptied, with the same limits */
    ck_assert_uint_eq(t.max_nodes, 100);
    tree_limit(&t, 1000, 64); /* now the paths: "fileN" costs its length and 2 */
    int added = 0;
    for (int i = 0; i < 100 && tree_add(&t, "abcdefghij", NODE_FILE, 0644, 0, 0, 0, NULL) == 0; i++)
        added++;
    ck_assert_int_eq(added, 5); /* 5 x 12 bytes fit in 64, a sixth does not */
    tree_limit(&t, (size_t)-1, (size_t)-1);
    ck_assert_uint_eq(t.max_nodes, TREE_MAX_NODES);
    ck_assert_uint_eq(t.max_path_bytes, TREE_MAX_PATH_BYTES);
}
END_TEST

static Suite *tree_suite(void)
{
    Suite *s = suite_create("tree");
    TCase *tc = tcase_create("tree");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, paths_are_cleaned_and_clamped_at_the_root);
    tcase_add_test(tc, later_entries_replace_earlier_ones);
    tcase_add_test(tc, symlinks_resolve_inside_the_tree);
    tcase_add_test(tc, loops_and_non_directories_fail);
    tcase_add_test(tc, growing_links_hit_the_length_limit);
    tcase_add_test(tc, whiteouts_delete_lower_layers_only);
    tcase_add_test(tc, opaque_directories_hide_lower_contents);
    tcase_add_test(tc, a_file_over_a_directory_hides_its_contents);
    tcase_add_test(tc, root_opaque_marker_clears_everything_below);
    tcase_add_test(tc, many_nodes_and_iteration);
    tcase_add_test(tc, a_tree_refuses_entries_past_its_limits_and_keeps_them);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(tree_suite());
}
