/*
 * tar_read.h - reading a tar entry's data as a stream, for the tests.
 *
 * The server never reads an entry through the tar reader: it notes where each
 * entry's data lies (tar_entry.offset) and reads files from the layer later
 * (image.h). The tests read entries in order, with this.
 */
#ifndef GOINJECT_TESTS_TAR_READ_H
#define GOINJECT_TESTS_TAR_READ_H

#include <sys/types.h>

#include "tar.h"

/* Reads up to len bytes of the current entry's data; 0 at its end, -1 on error. */
ssize_t tar_read(struct tar_reader *t, void *buf, size_t len);

#endif
