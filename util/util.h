/*
 * util: the small pieces every part of desk needs and none should write again:
 * a monotonic clock and deadlines, strict decimal numbers, environment
 * settings, UTF-8, base64, and host names. Plain C over libc; no X, no HTTP,
 * no JSON, no allocation except where a function says it returns malloc'd
 * memory. Linked by deskd, the client library (with hidden symbols), the CLI,
 * the tests and the benchmarks. Every function is safe from any thread.
 */
#ifndef DESK_UTIL_H
#define DESK_UTIL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* ---- clock (CLOCK_MONOTONIC) ---- */

/* Milliseconds and nanoseconds of the monotonic clock (an arbitrary origin). */
int64_t util_mono_ms(void);
int64_t util_mono_ns(void);
/* Milliseconds since t0_ns, a value of util_mono_ns(), with the fraction. */
double util_ms_since(int64_t t0_ns);
/*
 * The absolute time ms milliseconds from now on clock clk, as
 * pthread_cond_timedwait wants it (the condition variable must use clk).
 */
struct timespec util_abstime(clockid_t clk, int64_t ms);
/* Milliseconds left until deadline (a util_mono_ms() value), 0 once passed. */
int64_t util_ms_left(int64_t deadline);
/* Initialises cond to time its waits on CLOCK_MONOTONIC (see util_abstime). */
void util_cond_init_monotonic(pthread_cond_t *cond);

/* ---- strict decimal numbers: no spaces, no "1.0" for an integer, no hex ---- */

/* An optional sign, then decimal digits only, within [min, max]. 0, or -EINVAL. */
int util_parse_long(const char *s, long min, long max, long *out);
int util_parse_int(const char *s, int min, int max, int *out);
/* A finite decimal number with no leading white space. 0, or -EINVAL. */
int util_parse_double(const char *s, double *out);

/* ---- environment ---- */

/* The variable's value when it is set and not empty, else def. */
const char *util_env_or(const char *name, const char *def);
/* True when set to 1, true or yes (util_env_true), or 0, false or no (util_env_false),
 * case-insensitive; unset or anything else is false for both. */
bool util_env_true(const char *name);
bool util_env_false(const char *name);

/* ---- UTF-8 ---- */

/*
 * Decodes the sequence at str (len bytes available) into *cp. Returns its
 * length (1-4), or -EINVAL for bytes that are not UTF-8: a stray continuation
 * byte, an overlong form, a surrogate, a code point past U+10FFFF, or a
 * sequence cut short.
 */
int util_utf8_decode(const char *str, size_t len, uint32_t *cp);
/*
 * in[0..n) with every byte that does not start a valid sequence replaced by
 * U+FFFD. Returns a malloc'd NUL-terminated string (length in *outlen, which
 * may be NULL), or NULL when out of memory.
 */
char *util_utf8_clean(const char *in, size_t n, size_t *outlen);

/* ---- base64 (RFC 4648 standard alphabet, padded, no line breaks) ---- */

/* The length of the encoding of n bytes. */
size_t util_base64_len(size_t n);
/* Writes util_base64_len(len) characters to out (not NUL-terminated); returns that count. */
size_t util_base64_encode(const void *data, size_t len, char *out);
/*
 * Decodes len characters (padding required, no white space) into a malloc'd
 * buffer of *outlen bytes (one spare byte, so an empty result is still an
 * allocation). Returns 0, -EINVAL for text that is not base64 (nothing
 * returned), or -ENOMEM.
 */
int util_base64_decode(const char *in, size_t len, unsigned char **out, size_t *outlen);

/* ---- sockets and host names ---- */

/* True when the peer of a connected socket has hung up (checked without blocking or reading). */
bool util_fd_hung_up(int fd);
/* True when host resolves, and every address it resolves to is a loopback address. */
bool util_host_is_loopback(const char *host);
/*
 * Splits "HOST:PORT", "[V6]:PORT" or ":PORT" (host "0.0.0.0") into host (brackets
 * removed) and a port from 0 to 65535. Returns 0, or -EINVAL.
 */
int util_split_host_port(const char *s, char *host, size_t hostlen, int *port);
/*
 * The host part of an HTTP Host header value when it is a plain DNS name, an
 * IPv4 address or a bracketed IPv6 address (so it can go into a URL as it
 * is), copied into buf; otherwise NULL.
 */
const char *util_host_of_header(const char *h, char *buf, size_t len);

#endif
