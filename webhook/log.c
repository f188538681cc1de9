/* log.c - structured JSON logging; see log.h. */
#include "log.h"

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "jsonout.h"

static atomic_int current_level = LOG_LEVEL_INFO;
static pthread_mutex_t output_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level level)
{
    atomic_store(&current_level, (int)level);
}

int log_parse_level(const char *name, enum log_level *level)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *level = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

int log_enabled(enum log_level level)
{
    return (int)level >= atomic_load(&current_level);
}

/* "2026-11-26T10:00:00.123Z". The seconds are formatted once per second and thread. */
static void format_time(char *out, size_t len)
{
    static _Thread_local time_t cached_second = -1;
    static _Thread_local char cached[32];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (now.tv_sec != cached_second) {
        struct tm tm;
        gmtime_r(&now.tv_sec, &tm);
        strftime(cached, sizeof(cached), "%Y-%m-%dT%H:%M:%S", &tm);
        cached_second = now.tv_sec;
    }
    unsigned ms = (unsigned)(now.tv_nsec / 1000000);
    char fraction[6] = {
        '.', (char)('0' + ms / 100), (char)('0' + ms / 10 % 10), (char)('0' + ms % 10), 'Z', '\0'};
    str_join(out, len, cached, fraction, NULL);
}

/*
 * Writes all of line, retrying short writes; logging must never fail loudly. A line of at
 * most PIPE_BUF bytes goes out in one write(), which a pipe (a container's stderr) keeps
 * whole and a file appends whole, so the reviews' threads need no lock for it. A longer
 * line takes the lock so that long lines never interleave; so does the rest of a short
 * write (a full disk), which may then split that one line.
 */
static void write_line(const char *line, size_t len)
{
    if (len <= PIPE_BUF) {
        ssize_t n = write(STDERR_FILENO, line, len);
        if (n < 0 || (size_t)n == len)
            return;
        line += n;
        len -= (size_t)n;
    }
    pthread_mutex_lock(&output_lock);
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, line, len);
        if (n <= 0)
            break;
        line += n;
        len -= (size_t)n;
    }
    pthread_mutex_unlock(&output_lock);
}

static bool is_line_key(const char *key)
{
    return strcmp(key, "time") == 0 || strcmp(key, "level") == 0 || strcmp(key, "msg") == 0;
}

/*
 * {"time","level","msg", then the fields in their order}: written straight into the
 * buffer, one line per review, with no jansson object built for the line. The fields
 * never override the first three.
 */
static int write_event(struct buf *text, const char *when, enum log_level level, const char *msg,
                       const json_t *fields)
{
    int rc = buf_append_str(text, "{\"time\":") ||
             jsonout_write_string_ascii(text, when, strlen(when)) ||
             buf_append_str(text, ",\"level\":") ||
             jsonout_write_string_ascii(text, level_names[level], strlen(level_names[level])) ||
             buf_append_str(text, ",\"msg\":") ||
             jsonout_write_string_ascii(text, msg ? msg : "", msg ? strlen(msg) : 0);
    const char *key;
    size_t key_len;
    json_t *value;
    json_object_keylen_foreach((json_t *)fields, key, key_len, value)
    {
        if (rc || is_line_key(key))
            continue;
        rc = buf_append_char(text, ',') || jsonout_write_string_ascii(text, key, key_len) ||
             buf_append_char(text, ':') || jsonout_write_log(text, value);
    }
    return rc || buf_append_str(text, "}\n");
}

void log_event(enum log_level level, const char *msg, json_t *fields)
{
    if (!log_enabled(level)) {
        json_decref(fields);
        return;
    }
    char when[48];
    format_time(when, sizeof(when));
    struct buf text = BUF_INIT;
    if (write_event(&text, when, level, msg, fields) == 0)
        write_line(text.data, text.len);
    buf_free(&text);
    json_decref(fields);
}

void log_msgf(enum log_level level, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_event(level, msg, NULL);
}

json_t *log_safe_string(const char *s, size_t max)
{
    char *shown = malloc(max + 1);
    json_t *value = shown ? json_string(str_safe(shown, max + 1, s, strlen(s))) : NULL;
    free(shown);
    return value;
}
