/*
 * replay.c - runs a fuzz target's LLVMFuzzerTestOneInput over files, without
 * libFuzzer, so `make test` replays the seed corpus and every regression
 * input with the ordinary compiler (and `make test-asan` under ASan).
 *
 * usage: replay-TARGET DIR|FILE...   prints "fuzz-replay TARGET: N passed, 0 failed"
 * A crash or abort in the target is a failure of the whole run.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    size_t cap = 4096, len = 0;
    uint8_t *data = malloc(cap);
    size_t n;
    while (data && (n = fread(data + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            uint8_t *bigger = realloc(data, cap *= 2);
            if (!bigger)
                free(data);
            data = bigger;
        }
    }
    fclose(f);
    if (!data)
        return -1;
    /* libFuzzer hands the target a buffer of exactly size bytes. */
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) {
        free(data);
        return -1;
    }
    memcpy(exact, data, len);
    free(data);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    if (strncmp(name, "replay-", 7) == 0)
        name += 7;
    unsigned passed = 0, failed = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0)
            continue; /* a target may have no regressions yet */
        if (!S_ISDIR(st.st_mode)) {
            replay_file(argv[i]) == 0 ? passed++ : failed++;
            continue;
        }
        DIR *dir = opendir(argv[i]);
        char **names = NULL;
        size_t count = 0;
        struct dirent *entry;
        while (dir && (entry = readdir(dir)) != NULL) {
            if (entry->d_name[0] == '.')
                continue;
            char **more = realloc(names, (count + 1) * sizeof(*names));
            if (!more)
                break;
            names = more;
            names[count++] = strdup(entry->d_name);
        }
        if (dir)
            closedir(dir);
        qsort(names, count, sizeof(*names), compare_names);
        for (size_t j = 0; j < count; j++) {
            char path[4096];
            snprintf(path, sizeof(path), "%s/%s", argv[i], names[j]);
            replay_file(path) == 0 ? passed++ : failed++;
            free(names[j]);
        }
        free(names);
    }
    printf("fuzz-replay %s: %u passed, %u failed\n", name, passed, failed);
    return failed ? 1 : 0;
}
