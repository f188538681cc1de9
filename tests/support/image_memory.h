/*
 * image_memory.h - an image archive held in memory, for the tests and fuzzers.
 *
 * The server opens images from files and directories only (image.h); tests
 * and fuzzers build archives in memory. This opens one through image_open,
 * the server's own path, from an anonymous file holding a copy of the bytes.
 */
#ifndef GOINJECT_TESTS_IMAGE_MEMORY_H
#define GOINJECT_TESTS_IMAGE_MEMORY_H

#include <stddef.h>
#include <stdint.h>

#include "image.h"

/* image_open for an archive of len bytes at data (copied; data may go at once). */
int image_open_memory(struct image *img, const uint8_t *data, size_t len, const char *want,
                      char *err, size_t errlen);

#endif
