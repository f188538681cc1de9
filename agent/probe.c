/*
 * probe.c - goinject's probe agent: an LD_PRELOAD library that records every process the dynamic
 * loader loads it into.
 *
 * It stands in for a real APM agent when checking a setup. A real agent injects itself the same
 * way (LD_PRELOAD), so wherever the probe leaves a record, an agent would have been loaded; a
 * statically linked Go program never runs the loader and leaves none. See README.md, "Proof at
 * runtime".
 *
 * When GOINJECT_PROBE_DIR names a writable directory, the constructor creates one new file per
 * process there, "<pid>-<16 hex digits>.json" (O_CREAT|O_EXCL, never overwriting anything),
 * holding one JSON object and a newline:
 *
 *   {"probe":"goinject-probe","version":1,"libc":"glibc","pid":7,"ppid":1,"uid":0,"gid":0,
 *    "exe":"/usr/bin/dash","argv0":"/bin/sh"}
 *
 * libc is the C library the probe was built for (glibc or musl). exe is readlink(/proc/self/exe),
 * argv0 the first string of /proc/self/cmdline; either is null when it cannot be read. Strings are
 * JSON-escaped, bytes that are not UTF-8 become U+FFFD.
 *
 * Without the variable, or when anything fails, the probe does nothing: it never prints, never
 * aborts, keeps errno, allocates nothing and calls only functions that are thin system call
 * wrappers (plus getenv), so it is safe in any process, whatever that process does next.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef GOINJECT_PROBE_LIBC
#ifdef __GLIBC__
#define GOINJECT_PROBE_LIBC "glibc"
#else
#define GOINJECT_PROBE_LIBC "unknown"
#endif
#endif

#define PROBE_PATH_MAX   4096
#define PROBE_RECORD_MAX 16384
#define PROBE_ATTEMPTS   8

/* A bounded output buffer: appending past the end marks it full and appends nothing. */
struct out {
    char *data;
    size_t len;
    size_t cap;
    int full;
};

static void put_bytes(struct out *o, const char *s, size_t n)
{
    if (o->full || n > o->cap - o->len) {
        o->full = 1;
        return;
    }
    for (size_t i = 0; i < n; i++)
        o->data[o->len + i] = s[i];
    o->len += n;
}

static void put_str(struct out *o, const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    put_bytes(o, s, n);
}

static void put_uint(struct out *o, unsigned long long v)
{
    char digits[24];
    size_t n = sizeof(digits);
    do {
        digits[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put_bytes(o, digits + n, sizeof(digits) - n);
}

static void put_int(struct out *o, long long v)
{
    if (v < 0) {
        put_bytes(o, "-", 1);
        put_uint(o, 0ULL - (unsigned long long)v);
    } else {
        put_uint(o, (unsigned long long)v);
    }
}

static void put_hex(struct out *o, unsigned long long v, int digits)
{
    static const char hex[] = "0123456789abcdef";
    for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4)
        put_bytes(o, &hex[(v >> shift) & 0xf], 1);
}

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0 when it is not one. */
static size_t utf8_length(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf; /* bounds of the second byte */
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0; /* no overlong forms */
        if (c == 0xed)
            hi = 0x9f; /* no surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90;
        if (c == 0xf4)
            hi = 0x8f; /* nothing above U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

static void put_json_string(struct out *o, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    put_bytes(o, "\"", 1);
    for (size_t i = 0; i < n;) {
        unsigned char c = u[i];
        if (c == '"' || c == '\\') {
            put_bytes(o, "\\", 1);
            put_bytes(o, s + i, 1);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            put_str(o, "\\u00");
            put_hex(o, c, 2);
            i++;
        } else if (c < 0x80) {
            put_bytes(o, s + i, 1);
            i++;
        } else {
            size_t len = utf8_length(u + i, n - i);
            if (len) {
                put_bytes(o, s + i, len);
                i += len;
            } else {
                put_str(o, "\\ufffd");
                i++;
            }
        }
    }
    put_bytes(o, "\"", 1);
}

/* Reads up to cap bytes of a /proc file; returns the length, or -1. */
static ssize_t read_small_file(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t len = 0;
    while (len < cap) {
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    return (ssize_t)len;
}

static unsigned long long random_bits(unsigned attempt)
{
    unsigned long long r = 0;
#ifdef SYS_getrandom
    if (syscall(SYS_getrandom, &r, sizeof(r), 1 /* GRND_NONBLOCK */) == (long)sizeof(r))
        return r ^ attempt;
#endif
    struct timespec ts = {0, 0};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    r = (unsigned long long)ts.tv_sec * 1000000007ULL ^ (unsigned long long)ts.tv_nsec;
    r ^= (unsigned long long)(uintptr_t)&r << 16; /* the stack address differs per process */
    return r * 0x9e3779b97f4a7c15ULL + attempt;
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static void record(const char *dir)
{
    static char exe[PROBE_PATH_MAX];
    static char cmdline[PROBE_PATH_MAX];
    static char text[PROBE_RECORD_MAX];
    /* Constructors run before any thread of the process exists, so static buffers are safe. */

    int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return;

    pid_t pid = getpid();
    ssize_t exe_len = readlink("/proc/self/exe", exe, sizeof(exe));
    if (exe_len >= (ssize_t)sizeof(exe))
        exe_len = -1; /* truncated: better none than a wrong one */
    ssize_t cmd_len = read_small_file("/proc/self/cmdline", cmdline, sizeof(cmdline));
    size_t argv0_len = 0;
    if (cmd_len > 0)
        while (argv0_len < (size_t)cmd_len && cmdline[argv0_len] != '\0')
            argv0_len++;

    struct out o = {text, 0, sizeof(text) - 1, 0};
    put_str(&o, "{\"probe\":\"goinject-probe\",\"version\":1,\"libc\":\"" GOINJECT_PROBE_LIBC
                "\",\"pid\":");
    put_int(&o, pid);
    put_str(&o, ",\"ppid\":");
    put_int(&o, getppid());
    put_str(&o, ",\"uid\":");
    put_uint(&o, getuid());
    put_str(&o, ",\"gid\":");
    put_uint(&o, getgid());
    put_str(&o, ",\"exe\":");
    if (exe_len >= 0)
        put_json_string(&o, exe, (size_t)exe_len);
    else
        put_str(&o, "null");
    put_str(&o, ",\"argv0\":");
    if (cmd_len > 0 && (argv0_len < (size_t)cmd_len || (size_t)cmd_len < sizeof(cmdline)))
        put_json_string(&o, cmdline, argv0_len);
    else
        put_str(&o, "null");
    put_str(&o, "}\n");
    if (o.full) {
        close(dirfd);
        return;
    }

    for (unsigned attempt = 0; attempt < PROBE_ATTEMPTS; attempt++) {
        char name[64];
        struct out n = {name, 0, sizeof(name) - 1, 0};
        put_int(&n, pid);
        put_bytes(&n, "-", 1);
        put_hex(&n, random_bits(attempt), 16);
        put_str(&n, ".json");
        name[n.len] = '\0';
        int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0) {
            if (errno == EEXIST)
                continue;
            break;
        }
        if (write_all(fd, text, o.len) != 0) {
            close(fd);
            unlinkat(dirfd, name, 0); /* a half record would only mislead */
        } else {
            close(fd);
        }
        break;
    }
    close(dirfd);
}

__attribute__((constructor)) static void goinject_probe(void)
{
    int saved_errno = errno;
    const char *dir = getenv("GOINJECT_PROBE_DIR");
    if (dir && dir[0] != '\0')
        record(dir);
    errno = saved_errno;
}
