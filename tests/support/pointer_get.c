/* pointer_get.c - resolving RFC 6901 pointers, for the tests; see pointer_get.h. */
#include "pointer_get.h"

#include <string.h>

#include "buf.h"
#include "pointer.h"

/* Follows every token of a well-formed pointer from node; borrowed or NULL. */
static json_t *walk(json_t *node, const char *ptr, size_t len)
{
    struct buf scratch = BUF_INIT;
    const char *end = ptr + len;
    const char *slash = ptr; /* each token starts just after a "/" */
    while (node && slash < end) {
        const char *token = slash + 1;
        const char *next = memchr(token, '/', (size_t)(end - token));
        const char *token_end = next ? next : end;
        node = pointer_child(node, token, (size_t)(token_end - token), &scratch);
        slash = token_end;
    }
    buf_free(&scratch);
    return node;
}

json_t *pointer_getn(json_t *doc, const char *ptr, size_t len)
{
    if (!doc || !pointer_is_wellformed(ptr, len))
        return NULL;
    if (len == 0)
        return doc; /* "" is the whole document (and ptr may then be NULL) */
    return walk(doc, ptr, len);
}

json_t *pointer_get(json_t *doc, const char *ptr)
{
    return ptr ? pointer_getn(doc, ptr, strlen(ptr)) : NULL;
}

int pointer_parentn(json_t *doc, const char *ptr, size_t len, json_t **parent, char **token,
                    size_t *token_len)
{
    if (!doc || len == 0 || !pointer_is_wellformed(ptr, len))
        return -1;
    const char *last_slash = memrchr(ptr, '/', len);
    size_t parent_len = (size_t)(last_slash - ptr);
    json_t *container = walk(doc, ptr, parent_len);
    if (!container)
        return -1;

    struct buf unescaped = BUF_INIT;
    if (pointer_unescape_token(last_slash + 1, len - parent_len - 1, &unescaped) != 0) {
        buf_free(&unescaped);
        return -1;
    }
    size_t unescaped_len = unescaped.len;
    char *owned = buf_steal(&unescaped);
    if (!owned)
        return -1;
    *parent = container;
    *token = owned;
    *token_len = unescaped_len;
    return 0;
}

int pointer_parent(json_t *doc, const char *ptr, json_t **parent, char **token, size_t *token_len)
{
    return ptr ? pointer_parentn(doc, ptr, strlen(ptr), parent, token, token_len) : -1;
}
