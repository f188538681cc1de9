/* warn.c - bounded, sanitised admission warnings; see warn.h. */
#include "warn.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

static const char prefix[] = "goinject: ";

static int already_listed(const struct warnings *w, const char *text)
{
    for (size_t i = 0; i < w->count; i++)
        if (strcmp(w->items[i], text) == 0)
            return 1;
    return 0;
}

void warnings_addf(struct warnings *w, const char *fmt, ...)
{
    /* Formatted with room to spare, then made safe and cut to WARNING_MAX_LEN (buf.h). */
    char raw[4 * WARNING_MAX_LEN], text[WARNING_MAX_LEN + 1];
    size_t start = sizeof(prefix) - 1, room = sizeof(raw) - start;
    memcpy(raw, prefix, start);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(raw + start, room, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    /* kubectl prints warnings verbatim: keep them on one line of plain ASCII. */
    str_safe(text, sizeof(text), raw, start + ((size_t)n < room ? (size_t)n : room - 1));
    if (already_listed(w, text))
        return;
    if (w->count >= WARNINGS_MAX_COUNT)
        return;
    char **items = realloc(w->items, (w->count + 1) * sizeof(*items));
    if (!items)
        return;
    w->items = items;
    if (!(w->items[w->count] = strdup(text)))
        return;
    w->count++;
}

json_t *warnings_to_json(const struct warnings *w)
{
    json_t *array = json_array();
    size_t bytes = 0, i;
    for (i = 0; i < w->count; i++) {
        bytes += strlen(w->items[i]);
        if (bytes > WARNINGS_MAX_BYTES)
            break;
        json_array_append_new(array, json_string(w->items[i]));
    }
    if (i < w->count) {
        char text[WARNING_MAX_LEN];
        snprintf(text, sizeof(text), "%s%zu more warnings left out; the webhook log lists them all",
                 prefix, w->count - i);
        json_array_append_new(array, json_string(text));
    }
    return array;
}

void warnings_free(struct warnings *w)
{
    for (size_t i = 0; i < w->count; i++)
        free(w->items[i]);
    free(w->items);
    memset(w, 0, sizeof(*w));
}
