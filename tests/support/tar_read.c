/* tar_read.c - a tar entry's data as a stream, for the tests; see tar_read.h. */
#include "tar_read.h"

#include "source.h"

ssize_t tar_read(struct tar_reader *t, void *buf, size_t len)
{
    if (len > t->data_left)
        len = (size_t)t->data_left;
    if (len == 0)
        return 0;
    ssize_t n = reader_read(t->in, buf, len);
    if (n > 0)
        t->data_left -= (uint64_t)n;
    else if (n == 0)
        return -1; /* the stream ended inside the entry's data */
    return n;
}
