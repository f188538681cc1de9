/*
 * warn.h - the warnings an admission answer carries back to the user.
 *
 * Owns the list and every string in it. Each warning starts with "goinject: ",
 * is at most 256 printable ASCII characters (any other byte is written \xNN,
 * see str_safe in buf.h), and duplicates are dropped. The list keeps every warning (up to
 * WARNINGS_MAX_COUNT) for the log; the answer gets only what fits the API server's 4 KiB budget for
 * warnings, and then one last line that says how many were left out.
 */
#ifndef GOINJECT_WARN_H
#define GOINJECT_WARN_H

#include <jansson.h>
#include <stddef.h>

#define WARNING_MAX_LEN    256
#define WARNINGS_MAX_BYTES 3800
#define WARNINGS_MAX_COUNT 512

struct warnings {
    char **items;
    size_t count;
};

void warnings_addf(struct warnings *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* What fits the budget as a JSON array of strings, plus the "left out" line if any. */
json_t *warnings_to_json(const struct warnings *w);
void warnings_free(struct warnings *w);

#endif
