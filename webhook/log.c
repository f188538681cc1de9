/* log.c - structured JSON logging; see log.h. */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"

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

static void format_time(char *out, size_t len)
{
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    char seconds[32];
    strftime(seconds, sizeof(seconds), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, len, "%s.%03ldZ", seconds, now.tv_nsec / 1000000);
}

/* Writes all of line, retrying short writes; logging must never fail loudly. */
static void write_line(const char *line, size_t len)
{
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

static int append_to_buf(const char *data, size_t len, void *b)
{
    return buf_append(b, data, len);
}

void log_event(enum log_level level, const char *msg, json_t *fields)
{
    if (!log_enabled(level)) {
        json_decref(fields);
        return;
    }
    char when[48];
    format_time(when, sizeof(when));
    json_t *line = json_object();
    json_object_set_new(line, "time", json_string(when));
    json_object_set_new(line, "level", json_string(level_names[level]));
    json_object_set_new(line, "msg", json_string(msg ? msg : ""));
    if (fields)
        json_object_update_missing(line, fields);
    json_decref(fields);

    /* Dumped into a buf, not json_dumps: inside a review that text would be arena memory. */
    struct buf text = BUF_INIT;
    int rc = json_dump_callback(line, append_to_buf, &text,
                                JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(9));
    json_decref(line);
    if (rc == 0 && buf_append_char(&text, '\n') == 0)
        write_line(text.data, text.len);
    buf_free(&text);
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
    size_t len = strnlen(s, max);
    char *copy = malloc(len + 1);
    if (!copy)
        return NULL;
    for (size_t i = 0; i < len; i++)
        copy[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    copy[len] = '\0';
    json_t *value = json_string(copy);
    free(copy);
    return value;
}
