/* image_memory.c - an image archive in memory, for the tests; see image_memory.h. */
#include "image_memory.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* A memfd that cannot be made is the machine's failure, not the image's: stop there. */
static void must(int ok, const char *what)
{
    if (!ok) {
        perror(what);
        abort();
    }
}

int image_open_memory(struct image *img, const uint8_t *data, size_t len, const char *want,
                      char *err, size_t errlen)
{
    int fd = memfd_create("goinject-test-image", MFD_CLOEXEC);
    must(fd >= 0, "memfd_create");
    for (size_t done = 0; done < len;) {
        ssize_t n = write(fd, data + done, len - done);
        must(n > 0, "write to a memfd");
        done += (size_t)n;
    }
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    int rc = image_open(img, path, want, err, errlen);
    close(fd); /* image_open has its own descriptor */
    return rc;
}
