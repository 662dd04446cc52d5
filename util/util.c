/*
 * util: the clock, strict numbers and environment settings (see util.h).
 */
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int64_t util_mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t util_mono_ms(void) {
    return util_mono_ns() / 1000000;
}

double util_ms_since(int64_t t0_ns) {
    return (double)(util_mono_ns() - t0_ns) / 1e6;
}

struct timespec util_abstime(clockid_t clk, int64_t ms) {
    struct timespec ts;
    clock_gettime(clk, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

void util_cond_init_monotonic(pthread_cond_t *cond) {
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(cond, &ca);
    pthread_condattr_destroy(&ca);
}

int64_t util_ms_left(int64_t deadline) {
    int64_t left = deadline - util_mono_ms();
    return left > 0 ? left : 0;
}

int util_parse_long(const char *s, long min, long max, long *out) {
    if (!s)
        return -EINVAL;
    const char *p = s + (*s == '-' || *s == '+');
    if (*p < '0' || *p > '9')
        return -EINVAL;
    errno = 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || errno == ERANGE || v < min || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

int util_parse_int(const char *s, int min, int max, int *out) {
    long v;
    if (util_parse_long(s, min, max, &v) < 0)
        return -EINVAL;
    *out = (int)v;
    return 0;
}

int util_parse_double(const char *s, double *out) {
    if (!s || !*s || strchr(" \t\n\v\f\r", *s))
        return -EINVAL;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || errno == ERANGE || !isfinite(v))
        return -EINVAL;
    *out = v;
    return 0;
}

const char *util_env_or(const char *name, const char *def) {
    const char *v = getenv(name);
    return v && *v ? v : def;
}

static bool env_is(const char *name, const char *a, const char *b, const char *c) {
    const char *v = getenv(name);
    return v && (strcasecmp(v, a) == 0 || strcasecmp(v, b) == 0 || strcasecmp(v, c) == 0);
}

bool util_env_true(const char *name) {
    return env_is(name, "1", "true", "yes");
}

bool util_env_false(const char *name) {
    return env_is(name, "0", "false", "no");
}
