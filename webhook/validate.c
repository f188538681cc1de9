/* validate.c - syntax checks for Kubernetes strings; see validate.h. */
#include "validate.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool valid_label_span(const char *s, size_t len)
{
    if (len == 0 || len > 63 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[len - 1]))
        return false;
    for (size_t i = 0; i < len; i++)
        if (!is_lower_alnum(s[i]) && s[i] != '-')
            return false;
    return true;
}

bool valid_dns_label(const char *s)
{
    return valid_label_span(s, strlen(s));
}

bool valid_dns_subdomain(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > 253)
        return false;
    const char *start = s;
    for (;;) {
        const char *dot = strchr(start, '.');
        size_t span = dot ? (size_t)(dot - start) : strlen(start);
        if (!valid_label_span(start, span))
            return false;
        if (!dot)
            return true;
        start = dot + 1;
    }
}

static bool has_control_chars(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

/* Every '/'-separated segment is non-empty and neither "." nor "..". */
static bool clean_segments(const char *s)
{
    const char *start = s;
    for (;;) {
        const char *slash = strchr(start, '/');
        size_t span = slash ? (size_t)(slash - start) : strlen(start);
        if (span == 0 || (span == 1 && start[0] == '.') ||
            (span == 2 && start[0] == '.' && start[1] == '.'))
            return false;
        if (!slash)
            return true;
        start = slash + 1;
    }
}

bool valid_absolute_path(const char *s)
{
    if (s[0] != '/' || has_control_chars(s))
        return false;
    return s[1] == '\0' || clean_segments(s + 1);
}

bool valid_mount_path(const char *s)
{
    return valid_absolute_path(s) && strcmp(s, "/") != 0 && !strchr(s, ':');
}

bool valid_relative_path(const char *s)
{
    return s[0] != '\0' && s[0] != '/' && !has_control_chars(s) && clean_segments(s);
}

bool valid_image_ref(const char *s)
{
    if (s[0] == '\0' || s[0] == '-' || strlen(s) > 4096)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
            return false;
    return true;
}

bool valid_env_name(const char *s)
{
    if (s[0] == '\0')
        return false;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f || *s == '=')
            return false;
    return true;
}

bool valid_resource_name(const char *s)
{
    const char *slash = strchr(s, '/');
    const char *name = s;
    if (slash) {
        size_t prefix_len = (size_t)(slash - s);
        char prefix[254];
        if (prefix_len == 0 || prefix_len >= sizeof(prefix))
            return false;
        memcpy(prefix, s, prefix_len);
        prefix[prefix_len] = '\0';
        if (!valid_dns_subdomain(prefix))
            return false;
        name = slash + 1;
    }
    size_t len = strlen(name);
    if (len == 0 || len > 63 || !isalnum((unsigned char)name[0]) ||
        !isalnum((unsigned char)name[len - 1]))
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)name[i]) && !strchr("-_.", name[i]))
            return false;
    return true;
}

struct suffix {
    const char *text;
    long double factor;
};

static const struct suffix quantity_suffixes[] = {
    {"Ki", 1024.0L},
    {"Mi", 1048576.0L},
    {"Gi", 1073741824.0L},
    {"Ti", 1099511627776.0L},
    {"Pi", 1125899906842624.0L},
    {"Ei", 1152921504606846976.0L},
    {"n", 1e-9L},
    {"u", 1e-6L},
    {"m", 1e-3L},
    {"k", 1e3L},
    {"M", 1e6L},
    {"G", 1e9L},
    {"T", 1e12L},
    {"P", 1e15L},
    {"E", 1e18L},
    {"", 1.0L},
};

/* Parses "[+-]digits[.digits]"; returns the length consumed, 0 when there is no number. */
static size_t parse_decimal(const char *s, long double *out)
{
    char number[72];
    size_t i = 0, digits = 0;
    bool dot = false;
    if (s[i] == '+' || s[i] == '-')
        i++;
    for (; s[i]; i++) {
        if (isdigit((unsigned char)s[i]))
            digits++;
        else if (s[i] == '.' && !dot)
            dot = true;
        else
            break;
    }
    if (digits == 0 || i >= sizeof(number))
        return 0;
    /* Only the mantissa: strtold alone would also consume an exponent ("1e3"). */
    memcpy(number, s, i);
    number[i] = '\0';
    *out = strtold(number, NULL);
    return i;
}

/* "e" or "E" followed by an optional sign and at least one digit. */
static bool parse_exponent(const char *s, long double *factor)
{
    if (s[0] != 'e' && s[0] != 'E')
        return false;
    size_t i = 1;
    if (s[i] == '+' || s[i] == '-')
        i++;
    if (!isdigit((unsigned char)s[i]))
        return false;
    for (size_t j = i; s[j]; j++)
        if (!isdigit((unsigned char)s[j]))
            return false;
    /* 10^-9 .. 10^18, as literals: exact where representable, and no libm. */
    static const long double powers_of_ten[] = {1e-9L, 1e-8L, 1e-7L, 1e-6L, 1e-5L, 1e-4L, 1e-3L,
                                                1e-2L, 1e-1L, 1e0L,  1e1L,  1e2L,  1e3L,  1e4L,
                                                1e5L,  1e6L,  1e7L,  1e8L,  1e9L,  1e10L, 1e11L,
                                                1e12L, 1e13L, 1e14L, 1e15L, 1e16L, 1e17L, 1e18L};
    long exponent = strtol(s + 1, NULL, 10);
    if (exponent > 18 || exponent < -9)
        return false;
    *factor = powers_of_ten[exponent + 9];
    return true;
}

bool valid_quantity(const char *s, long double *value)
{
    long double number = 0, factor = 0;
    size_t used = parse_decimal(s, &number);
    if (used == 0 || strlen(s) > 64)
        return false;
    const char *suffix = s + used;
    bool ok = parse_exponent(suffix, &factor);
    for (size_t i = 0; !ok && i < sizeof(quantity_suffixes) / sizeof(quantity_suffixes[0]); i++) {
        if (strcmp(suffix, quantity_suffixes[i].text) == 0) {
            factor = quantity_suffixes[i].factor;
            ok = true;
        }
    }
    if (ok && value)
        *value = number * factor;
    return ok && number >= 0;
}
