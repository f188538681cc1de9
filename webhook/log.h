/*
 * log.h - structured logging: one JSON object per line on stderr.
 *
 * Owns the log level and the output lock; every line is written with a single
 * write(2) so lines from concurrent threads never interleave. Fields passed as
 * jansson objects are merged after "time", "level" and "msg".
 */
#ifndef GOINJECT_LOG_H
#define GOINJECT_LOG_H

#include <jansson.h>

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };

void log_set_level(enum log_level level);
/* Parses "debug", "info", "warn" or "error"; returns -1 for anything else. */
int log_parse_level(const char *name, enum log_level *level);
int log_enabled(enum log_level level);

/* Logs msg with the members of fields (stolen; may be NULL). */
void log_event(enum log_level level, const char *msg, json_t *fields);
/* Untrusted s as a JSON string of at most max bytes (max >= 3), made safe by str_safe (buf.h). */
json_t *log_safe_string(const char *s, size_t max);
/* Logs a formatted message without extra fields. */
void log_msgf(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
