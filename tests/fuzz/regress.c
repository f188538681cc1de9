/*
 * regress.c - runs a fuzz target's LLVMFuzzerTestOneInput over saved inputs,
 * without libFuzzer, so `make test` replays every crash ever found (and the
 * seeds) with the normal compiler. Usage: regress FILE|DIR...
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *data = malloc(len > 0 ? (size_t)len : 1);
    size_t n = data ? fread(data, 1, (size_t)(len > 0 ? len : 0), f) : 0;
    fclose(f);
    if (!data || n != (size_t)(len > 0 ? len : 0)) {
        free(data);
        return -1;
    }
    LLVMFuzzerTestOneInput(data, n);
    free(data);
    return 0;
}

int main(int argc, char **argv)
{
    int count = 0, bad = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            DIR *dir = opendir(argv[i]);
            struct dirent *e;
            while (dir && (e = readdir(dir))) {
                char path[4096];
                if (e->d_name[0] == '.')
                    continue;
                snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
                bad |= run_file(path) != 0;
                count++;
            }
            if (dir)
                closedir(dir);
        } else {
            bad |= run_file(argv[i]) != 0;
            count++;
        }
    }
    printf("%s: %d inputs replayed\n", argv[0], count);
    return bad;
}
