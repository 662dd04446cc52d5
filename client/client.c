/*
 * client: the libdesk handle and one function per API route, over one libcurl easy handle
 * that lives as long as the desk_client, so its connection is kept alive between calls.
 * Each call builds its URL and headers, runs one transfer into a capped buffer, turns a
 * non-2xx reply into the server's error, and hands a 2xx body to a parser in wire.c.
 *
 * It does not retry, follow redirects, print, or read the environment; it does not check
 * ranges the server checks (coordinates, quality, scale) so that the server's sentence, not
 * a second copy of its rules, is what the caller sees.
 */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "desk/desk.h"
#include "desk/wire.h"
#include "wire.h"

#define URL_MAX          2048
#define NAME_MAX_LEN     128
#define KEEP_BUFFER_MAX  (1u << 20) /* a receive buffer above this is freed after the call */
#define DEFAULT_MAX      ((size_t)256 << 20)
#define DEFAULT_CONNECT  5000L
#define DEFAULT_TOTAL    60000L
#define HEADER_VALUE_MAX 128

struct rxbuf {
    unsigned char *p;
    size_t len, cap;
    bool over_cap; /* the write stopped because the reply was larger than the cap */
    bool no_mem;
};

struct desk_client {
    CURL *curl;
    char url[URL_MAX]; /* normalised base, no trailing '/' */
    size_t url_len;
    bool url_bad;
    char *auth; /* "Authorization: Bearer ..." or NULL */
    size_t max_reply;
    bool binary;
    long connections;
    struct rxbuf rx;
    int sink_fd;    /* >= 0: a 2xx body is written here as it arrives (downloads) */
    int sink_errno; /* why writing to sink_fd failed */
    long long sunk; /* bytes written to sink_fd */
    struct desk_err err;
    char curl_msg[CURL_ERROR_SIZE];
    bool spaced; /* pointer calls send space (desk_client_set_space) */
    struct desk_space space;
};

/* One request: what the route functions hand to perform(). */
struct call {
    const char *method; /* "GET", "POST" or "DELETE" */
    const char *path;   /* from "/", query included */
    const char *body;   /* POST body (JSON), NULL for none */
    const char *accept; /* NULL: application/json */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void init_curl(void) {
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* A download's body goes to its file descriptor, an error body to the buffer as usual. */
static bool sink(struct desk_client *c, const char *ptr, size_t n) {
    long http = 0;
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &http);
    if (c->sink_fd < 0 || http < 200 || http > 299)
        return false;
    for (size_t off = 0; off < n;) {
        ssize_t w = write(c->sink_fd, ptr + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            c->sink_errno = w < 0 ? errno : EIO;
            return true;
        }
        off += (size_t)w;
    }
    c->sunk += (long long)n;
    return true;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud) {
    struct desk_client *c = ud;
    struct rxbuf *b = &c->rx;
    size_t n = size * nmemb;
    if (sink(c, ptr, n))
        return c->sink_errno ? 0 : n;
    if (n > c->max_reply - b->len) {
        b->over_cap = true;
        return 0;
    }
    if (b->len + n + 1 > b->cap) {
        /* The first chunk sizes the buffer from Content-Length when there is one. */
        curl_off_t cl = -1;
        curl_easy_getinfo(c->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
        size_t want = b->cap ? b->cap * 2 : 16384;
        if (cl > 0 && (uint64_t)cl <= c->max_reply && (size_t)cl + 1 > want)
            want = (size_t)cl + 1;
        if (want < b->len + n + 1)
            want = b->len + n + 1;
        unsigned char *np = realloc(b->p, want);
        if (!np) {
            b->no_mem = true;
            return 0;
        }
        b->p = np;
        b->cap = want;
    }
    memcpy(b->p + b->len, ptr, n);
    b->len += n;
    b->p[b->len] = '\0';
    return n;
}

/* ---- the handle ---- */

/* Checks base with libcurl's URL parser: http or https, a host, no query or fragment. */
static bool url_valid(const char *base, char *why, size_t whylen) {
    CURLU *u = curl_url();
    if (!u) {
        snprintf(why, whylen, "out of memory");
        return false;
    }
    char *scheme = NULL, *host = NULL, *query = NULL, *frag = NULL;
    bool ok = false;
    if (curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK)
        snprintf(why, whylen, "\"%.200s\" is not a URL (expected http://HOST:PORT)", base);
    else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
             (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0))
        snprintf(why, whylen, "\"%.200s\" is not an http:// or https:// URL", base);
    else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host)
        snprintf(why, whylen, "\"%.200s\" has no host", base);
    else if (curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK ||
             curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0) == CURLUE_OK)
        snprintf(why, whylen, "\"%.200s\" must not have a query or fragment", base);
    else
        ok = true;
    curl_free(scheme);
    curl_free(host);
    curl_free(query);
    curl_free(frag);
    curl_url_cleanup(u);
    return ok;
}

desk_client *desk_client_new(const char *base_url) {
    pthread_once(&curl_once, init_curl);
    if (curl_init_rc != CURLE_OK)
        return NULL;
    desk_client *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->curl = curl_easy_init();
    if (!c->curl) {
        free(c);
        return NULL;
    }
    c->max_reply = DEFAULT_MAX;
    c->sink_fd = -1;
    c->binary = true;
    wire_ok(&c->err);

    if (!base_url)
        base_url = DESK_DEFAULT_URL;
    size_t n = strlen(base_url);
    while (n > 0 && base_url[n - 1] == '/')
        n--;
    char why[sizeof c->err.msg];
    if (n >= URL_MAX - 512) {
        /* Room is kept for the longest route and query appended to it. */
        snprintf(why, sizeof why, "the URL is longer than %d bytes", URL_MAX - 512);
        c->url_bad = true;
    } else {
        memcpy(c->url, base_url, n);
        c->url[n] = '\0';
        c->url_len = n;
        c->url_bad = !url_valid(c->url, why, sizeof why);
    }
    if (c->url_bad)
        wire_fail(&c->err, DESK_ERR_URL, "bad server URL: %s", why);

    CURL *h = c->curl;
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    /* "" turns proxies off, http_proxy in the environment included: the caller decides. */
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->curl_msg);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "libdesk/" DESK_VERSION_STRING);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, DEFAULT_CONNECT);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, DEFAULT_TOTAL);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->max_reply);
    return c;
}

void desk_client_free(desk_client *c) {
    if (!c)
        return;
    curl_easy_cleanup(c->curl);
    free(c->auth);
    free(c->rx.p);
    free(c);
}

const char *desk_client_url(const desk_client *c) {
    return c ? c->url : NULL;
}

/* Every entry point starts here: a handle with a bad URL keeps failing with that. */
static bool begin(desk_client *c) {
    if (!c)
        return false;
    if (c->url_bad) {
        c->err.http = 0;
        c->err.code[0] = '\0';
        c->err.status = DESK_ERR_URL;
        return false;
    }
    wire_ok(&c->err);
    return true;
}

static enum desk_status invalid(desk_client *c, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static enum desk_status invalid(desk_client *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err.msg, sizeof c->err.msg, fmt, ap);
    va_end(ap);
    c->err.status = DESK_ERR_INVALID_ARG;
    return DESK_ERR_INVALID_ARG;
}

#define BEGIN(c)                                                                                   \
    do {                                                                                           \
        if (!begin(c))                                                                             \
            return (c) ? (c)->err.status : DESK_ERR_INVALID_ARG;                                   \
    } while (0)

enum desk_status desk_client_set_token(desk_client *c, const char *token) {
    BEGIN(c);
    char *auth = NULL;
    if (token && *token) {
        /* A line break would let the token forge headers; nothing legitimate has one. */
        if (strpbrk(token, "\r\n"))
            return invalid(c, "the token must not contain a line break");
        size_t n = strlen(token) + 32;
        auth = malloc(n);
        if (!auth)
            return wire_fail(&c->err, DESK_ERR_NOMEM, "out of memory");
        snprintf(auth, n, "Authorization: Bearer %s", token);
    }
    free(c->auth);
    c->auth = auth;
    return DESK_OK;
}

enum desk_status desk_client_set_timeouts(desk_client *c, long connect_ms, long total_ms) {
    BEGIN(c);
    if (connect_ms < 0 || total_ms < 0)
        return invalid(c, "timeouts must be 0 (no limit) or positive, got %ld and %ld", connect_ms,
                total_ms);
    curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, total_ms);
    return DESK_OK;
}

enum desk_status desk_client_set_max_reply(desk_client *c, size_t bytes) {
    BEGIN(c);
    if (bytes < 1024 || bytes > (size_t)INT64_MAX)
        return invalid(c, "the reply cap must be at least 1024 bytes, got %zu", bytes);
    c->max_reply = bytes;
    curl_easy_setopt(c->curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)bytes);
    return DESK_OK;
}

enum desk_status desk_client_set_binary_screenshots(desk_client *c, bool binary) {
    BEGIN(c);
    c->binary = binary;
    return DESK_OK;
}

long desk_client_connections(const desk_client *c) {
    return c ? c->connections : 0;
}

enum desk_status desk_last_status(const desk_client *c) {
    return c ? c->err.status : DESK_ERR_INVALID_ARG;
}

long desk_last_http_status(const desk_client *c) {
    return c ? c->err.http : 0;
}

const char *desk_last_error(const desk_client *c) {
    return c ? c->err.msg : "no client handle (NULL)";
}

const char *desk_last_error_code(const desk_client *c) {
    return c ? c->err.code : "";
}

/* ---- one HTTP exchange ---- */

static enum desk_status transport_error(desk_client *c, const struct call *rq, CURLcode rc) {
    enum desk_status st;
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
        st = DESK_ERR_CONNECT;
        break;
    case CURLE_OPERATION_TIMEDOUT:
        st = DESK_ERR_TIMEOUT;
        break;
    case CURLE_OUT_OF_MEMORY:
        st = DESK_ERR_NOMEM;
        break;
    case CURLE_FILESIZE_EXCEEDED:
        st = DESK_ERR_TOO_LARGE;
        break;
    case CURLE_WRITE_ERROR:
        if (c->sink_errno)
            return wire_fail(&c->err, DESK_ERR_TRANSPORT, "%s %s%s: writing the download: %s",
                    rq->method, c->url, rq->path, strerror(c->sink_errno));
        st = c->rx.over_cap ? DESK_ERR_TOO_LARGE
             : c->rx.no_mem ? DESK_ERR_NOMEM
                            : DESK_ERR_TRANSPORT;
        break;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_UNSUPPORTED_PROTOCOL: /* the URL was checked: this is an HTTP/0.9 answer */
        st = DESK_ERR_PROTOCOL;
        break;
    default:
        st = DESK_ERR_TRANSPORT;
        break;
    }
    if (st == DESK_ERR_TOO_LARGE)
        return wire_fail(&c->err, st, "%s %s%s: the reply is larger than the cap of %zu bytes",
                rq->method, c->url, rq->path, c->max_reply);
    const char *why = c->curl_msg[0] ? c->curl_msg : curl_easy_strerror(rc);
    return wire_fail(&c->err, st, "%s %s%s: %s", rq->method, c->url, rq->path, why);
}

/*
 * Runs the exchange. On DESK_OK the 2xx body is in c->rx (NUL-terminated) and
 * c->err.http is set; otherwise c->err says why.
 */
static enum desk_status perform(desk_client *c, const struct call *rq) {
    CURL *h = c->curl;
    char url[URL_MAX];
    if ((size_t)snprintf(url, sizeof url, "%s%s", c->url, rq->path) >= sizeof url)
        return invalid(c, "the request URL is longer than %d bytes", URL_MAX);

    char accept[64];
    snprintf(accept, sizeof accept, "Accept: %s", rq->accept ? rq->accept : "application/json");
    struct curl_slist *hl = NULL, *t;
    /* "Expect:" turns off 100-continue: the server reads bodies at once. */
    const char *lines[] = {accept, rq->body ? "Content-Type: application/json" : NULL,
            rq->body ? "Expect:" : NULL, c->auth};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        if (!lines[i])
            continue;
        if (!(t = curl_slist_append(hl, lines[i]))) {
            curl_slist_free_all(hl);
            return wire_fail(&c->err, DESK_ERR_NOMEM, "out of memory");
        }
        hl = t;
    }

    c->rx.len = 0;
    c->rx.over_cap = c->rx.no_mem = false;
    c->curl_msg[0] = '\0';
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    if (rq->body) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(rq->body));
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    bool custom = strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "POST") != 0;
    if (custom)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
    CURLcode rc = curl_easy_perform(h);
    if (custom)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hl);

    long fresh = 0;
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &fresh);
    c->connections += fresh;
    if (rc != CURLE_OK)
        return transport_error(c, rq, rc);

    long http = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &http);
    c->err.http = http;
    if (!c->rx.p) {
        /* An empty 2xx body: give the parsers an empty string rather than NULL. */
        c->rx.p = malloc(1);
        if (!c->rx.p)
            return wire_fail(&c->err, DESK_ERR_NOMEM, "out of memory");
        c->rx.cap = 1;
        c->rx.p[0] = '\0';
    }
    /* 304: the screenshot asked with ifChangedSince is unchanged (the caller looks). */
    if ((http < 200 || http > 299) && http != 304)
        return wire_error_reply(http, (const char *)c->rx.p, c->rx.len, &c->err);
    return DESK_OK;
}

/* Drops a large receive buffer after a call, so that one big reply is not held forever. */
static void trim(desk_client *c) {
    if (c->rx.cap > KEEP_BUFFER_MAX) {
        free(c->rx.p);
        c->rx.p = NULL;
        c->rx.cap = c->rx.len = 0;
    }
}

/* Names the request in a protocol error: "malformed reply to GET /x: <field problem>". */
static enum desk_status finish(desk_client *c, const struct call *rq, enum desk_status st) {
    if (st == DESK_ERR_PROTOCOL && c->err.http) {
        char prefix[160];
        snprintf(prefix, sizeof prefix, "malformed reply to %s %.100s: ", rq->method, rq->path);
        wire_prefix(&c->err, prefix);
    }
    trim(c);
    return st;
}

/* Runs rq and, on a 2xx, evaluates parse_expr, which reads the reply as body and len. */
#define CALL_JSON(c, rq, parse_expr)                                                               \
    do {                                                                                           \
        enum desk_status st_ = perform((c), (rq));                                                 \
        const char *body = (const char *)(c)->rx.p;                                                \
        size_t len = (c)->rx.len;                                                                  \
        (void)body;                                                                                \
        (void)len;                                                                                 \
        if (st_ == DESK_OK)                                                                        \
            st_ = (parse_expr);                                                                    \
        return finish((c), (rq), st_);                                                             \
    } while (0)

/* A GET whose JSON reply parse(body, len, err, out) turns into *out; out may not be NULL. */
#define GET_PARSED(c, out, path, parse)                                                            \
    do {                                                                                           \
        BEGIN(c);                                                                                  \
        if (!(out))                                                                                \
            return invalid((c), "out must not be NULL");                                           \
        struct call rq_ = {"GET", (path), NULL, NULL};                                             \
        CALL_JSON((c), &rq_, parse(body, len, &(c)->err, (out)));                                  \
    } while (0)

/*
 * Serialises a JSON body; steals root. NULL (with the error set) when it cannot be built;
 * what names the caller's text in it, NULL when there is none.
 */
static char *json_body(desk_client *c, json_t *root, const char *what) {
    char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    if (!text) {
        /* With caller text in it, invalid UTF-8 is the likelier cause; without, memory. */
        if (what)
            invalid(c, "%s is not valid UTF-8 (or memory ran out)", what);
        else
            wire_fail(&c->err, DESK_ERR_NOMEM, "out of memory building the request");
    }
    return text;
}

static enum desk_status post_json(desk_client *c, const char *path, json_t *root, const char *what,
        enum desk_status (*parse)(const char *, size_t, struct desk_err *, struct desk_point *),
        struct desk_point *pos) {
    char *text = json_body(c, root, what);
    if (!text)
        return c->err.status;
    struct call rq = {"POST", path, text, NULL};
    struct desk_point p;
    enum desk_status st = perform(c, &rq);
    if (st == DESK_OK)
        st = parse ? parse((const char *)c->rx.p, c->rx.len, &c->err, &p)
                   : wire_object((const char *)c->rx.p, c->rx.len, &c->err);
    if (st == DESK_OK && parse && pos)
        *pos = p;
    free(text);
    return finish(c, &rq, st);
}

/* ---- health ---- */

enum desk_status desk_health(desk_client *c, char **version) {
    if (version)
        *version = NULL;
    BEGIN(c);
    struct call rq = {"GET", "/healthz", NULL, NULL};
    CALL_JSON(c, &rq, wire_health(body, len, &c->err, version));
}

/* ---- screenshots ---- */

/* A decimal that ignores the locale: LC_NUMERIC may say ',' and the server wants '.'. */
static void fixed6(double v, char *out, size_t outlen) {
    bool neg = v < 0;
    long long micro = llround(fabs(v) * 1e6);
    snprintf(out, outlen, "%s%lld.%06lld", neg ? "-" : "", micro / 1000000, micro % 1000000);
}

static const char *header(desk_client *c, const char *name, char *buf) {
    struct curl_header *hv = NULL;
    if (curl_easy_header(c->curl, name, 0, CURLH_HEADER, -1, &hv) != CURLHE_OK || !hv)
        return NULL;
    snprintf(buf, HEADER_VALUE_MAX, "%s", hv->value);
    return buf;
}

static enum desk_status shot(
        desk_client *c, const struct desk_shot_options *opt, struct desk_image **out) {
    if (!out)
        return invalid(c, "out must not be NULL");
    *out = NULL;
    if ((unsigned)opt->format > DESK_IMAGE_WEBP)
        return invalid(c, "unknown image format %d", (int)opt->format);
    if (isnan(opt->scale) || isinf(opt->scale))
        return invalid(c, "scale must be a finite number");
    if (opt->fit && strspn(opt->fit, "abcdefghijklmnopqrstuvwxyz") != strlen(opt->fit))
        return invalid(c, "fit must be a name such as xga, got \"%.32s\"", opt->fit);

    char path[640];
    size_t n = (size_t)snprintf(path, sizeof path, "/computeruse/screenshot%s%s?showCursor=%s",
            opt->region ? "/region" : "", opt->compressed ? "/compressed" : "",
            opt->show_cursor ? "true" : "false");
    const struct desk_rect *region = opt->region;
    if (region)
        n += (size_t)snprintf(path + n, sizeof path - n, "&x=%d&y=%d&width=%d&height=%d", region->x,
                region->y, region->width, region->height);
    if (opt->compressed) {
        n += (size_t)snprintf(
                path + n, sizeof path - n, "&format=%s", desk_image_format_name(opt->format));
        if (opt->quality)
            n += (size_t)snprintf(path + n, sizeof path - n, "&quality=%d", opt->quality);
        if (opt->scale != 0) {
            char s[48];
            fixed6(opt->scale, s, sizeof s);
            n += (size_t)snprintf(path + n, sizeof path - n, "&scale=%s", s);
        }
    }
    if (opt->fit)
        n += (size_t)snprintf(path + n, sizeof path - n, "&fit=%s", opt->fit);
    if (opt->max_long_edge)
        n += (size_t)snprintf(path + n, sizeof path - n, "&maxLongEdge=%d", opt->max_long_edge);
    if (opt->max_pixels)
        n += (size_t)snprintf(path + n, sizeof path - n, "&maxPixels=%ld", opt->max_pixels);
    if (opt->if_changed_since)
        snprintf(path + n, sizeof path - n, "&ifChangedSince=%llu", opt->if_changed_since);
    enum desk_image_format fmt = opt->compressed ? opt->format : DESK_IMAGE_PNG;
    struct call rq = {"GET", path, NULL, c->binary ? desk_wire_format_mimes[fmt] : NULL};
    enum desk_status st = perform(c, &rq);
    if (st != DESK_OK)
        return finish(c, &rq, st);

    char ct[HEADER_VALUE_MAX], w[HEADER_VALUE_MAX], h[HEADER_VALUE_MAX], reg[HEADER_VALUE_MAX],
            cx[HEADER_VALUE_MAX], cy[HEADER_VALUE_MAX], fr[HEADER_VALUE_MAX];
    if (c->err.http == 304) {
        st = wire_image_unchanged(header(c, "X-Desk-Frame", fr), &c->err, out);
        return finish(c, &rq, st);
    }
    const char *ctype = header(c, "Content-Type", ct);
    /* A server without deskd's binary form (Daytona's) answers JSON whatever we accept. */
    if (!ctype || strncasecmp(ctype, "application/json", 16) == 0) {
        st = wire_image_json((const char *)c->rx.p, c->rx.len, &c->err, out);
        return finish(c, &rq, st);
    }
    struct wire_shot_headers hs = {ctype, header(c, "X-Desk-Width", w),
            header(c, "X-Desk-Height", h), header(c, "X-Desk-Region", reg),
            header(c, "X-Desk-Cursor-X", cx), header(c, "X-Desk-Cursor-Y", cy),
            header(c, "X-Desk-Frame", fr)};
    st = wire_image_binary(c->rx.p, c->rx.len, &hs, &c->err, out);
    if (st == DESK_OK) {
        /* The image owns the receive buffer now; the next call starts a fresh one. */
        c->rx.p = NULL;
        c->rx.cap = c->rx.len = 0;
    }
    return finish(c, &rq, st);
}

enum desk_status desk_screenshot_ex(
        desk_client *c, const struct desk_shot_options *opt, struct desk_image **out) {
    if (out)
        *out = NULL;
    BEGIN(c);
    const struct desk_shot_options none = {0};
    return shot(c, opt ? opt : &none, out);
}

enum desk_status desk_screenshot(desk_client *c, bool show_cursor, struct desk_image **out) {
    if (out)
        *out = NULL;
    BEGIN(c);
    struct desk_shot_options o = {.show_cursor = show_cursor};
    return shot(c, &o, out);
}

enum desk_status desk_screenshot_region(
        desk_client *c, const struct desk_rect *region, bool show_cursor, struct desk_image **out) {
    if (out)
        *out = NULL;
    BEGIN(c);
    if (!region)
        return invalid(c, "region must not be NULL");
    struct desk_shot_options o = {.region = region, .show_cursor = show_cursor};
    return shot(c, &o, out);
}

static struct desk_shot_options compress_options(
        const struct desk_rect *region, const struct desk_compress *opt) {
    const struct desk_compress def = {0};
    if (!opt)
        opt = &def;
    return (struct desk_shot_options){.region = region,
            .compressed = true,
            .format = opt->format,
            .quality = opt->quality,
            .scale = opt->scale,
            .show_cursor = opt->show_cursor};
}

enum desk_status desk_screenshot_compressed(
        desk_client *c, const struct desk_compress *opt, struct desk_image **out) {
    if (out)
        *out = NULL;
    BEGIN(c);
    struct desk_shot_options o = compress_options(NULL, opt);
    return shot(c, &o, out);
}

enum desk_status desk_screenshot_region_compressed(desk_client *c, const struct desk_rect *region,
        const struct desk_compress *opt, struct desk_image **out) {
    if (out)
        *out = NULL;
    BEGIN(c);
    if (!region)
        return invalid(c, "region must not be NULL");
    struct desk_shot_options o = compress_options(region, opt);
    return shot(c, &o, out);
}

/* ---- frames, changes and waiting ---- */

enum desk_status desk_screen_changes(
        desk_client *c, unsigned long long since, struct desk_changes *out) {
    BEGIN(c);
    if (!out)
        return invalid(c, "out must not be NULL");
    char path[96];
    snprintf(path, sizeof path, "/computeruse/screen/changes?since=%llu", since);
    struct call rq = {"GET", path, NULL, NULL};
    CALL_JSON(c, &rq, wire_changes(body, len, &c->err, out));
}

enum desk_status desk_wait(
        desk_client *c, const struct desk_wait_options *opt, struct desk_wait_result *out) {
    BEGIN(c);
    if (!opt || !out)
        return invalid(c, "opt and out must not be NULL");
    if (opt->until != DESK_WAIT_STABLE && opt->until != DESK_WAIT_CHANGED)
        return invalid(c, "until must be DESK_WAIT_STABLE or DESK_WAIT_CHANGED");
    json_t *root =
            json_pack("{s:s}", "until", opt->until == DESK_WAIT_STABLE ? "stable" : "changed");
    if (root && opt->stable_ms)
        json_object_set_new(root, "stableMs", json_integer(opt->stable_ms));
    if (root && opt->timeout_ms)
        json_object_set_new(root, "timeoutMs", json_integer(opt->timeout_ms));
    if (root && opt->since)
        json_object_set_new(root, "since", json_integer((json_int_t)opt->since));
    if (root && opt->region)
        json_object_set_new(root, "region",
                json_pack("{s:i, s:i, s:i, s:i}", "x", opt->region->x, "y", opt->region->y, "width",
                        opt->region->width, "height", opt->region->height));
    char *text = json_body(c, root, NULL);
    if (!text)
        return c->err.status;
    struct call rq = {"POST", "/computeruse/wait", text, NULL};
    enum desk_status st = perform(c, &rq);
    if (st == DESK_OK)
        st = wire_wait((const char *)c->rx.p, c->rx.len, &c->err, out);
    free(text);
    return finish(c, &rq, st);
}

/* ---- mouse ---- */

static const char *button_name(enum desk_button b) {
    static const char *const names[] = {[DESK_BUTTON_LEFT] = "left",
            [DESK_BUTTON_MIDDLE] = "middle",
            [DESK_BUTTON_RIGHT] = "right",
            [DESK_BUTTON_BACK] = "back",
            [DESK_BUTTON_FORWARD] = "forward"};
    unsigned i = (unsigned)b;
    return i < sizeof names / sizeof names[0] ? names[i] : NULL;
}

enum desk_status desk_mouse_position(desk_client *c, struct desk_point *out) {
    GET_PARSED(c, out, "/computeruse/mouse/position", wire_point);
}

/* {"space", "region"?} of s. */
static json_t *space_json(const struct desk_space *s) {
    json_t *o = json_pack("{s:{s:i, s:i}}", "space", "width", s->width, "height", s->height);
    if (o && s->region.width > 0)
        json_object_set_new(o, "region",
                json_pack("{s:i, s:i, s:i, s:i}", "x", s->region.x, "y", s->region.y, "width",
                        s->region.width, "height", s->region.height));
    return o;
}

/* Adds the client's space to a pointer call's body (root may be NULL: out of memory). */
static json_t *spaced(desk_client *c, json_t *root) {
    if (root && c->spaced)
        json_object_update_new(root, space_json(&c->space));
    return root;
}

enum desk_status desk_client_set_space(desk_client *c, const struct desk_space *s) {
    BEGIN(c);
    if (s && (s->width < 1 || s->height < 1))
        return invalid(c, "a space needs a width and height of at least 1, got %dx%d", s->width,
                s->height);
    c->spaced = s != NULL;
    if (s)
        c->space = *s;
    return DESK_OK;
}

enum desk_status desk_mouse_move(desk_client *c, int x, int y, struct desk_point *pos) {
    BEGIN(c);
    return post_json(c, "/computeruse/mouse/move",
            spaced(c, json_pack("{s:i, s:i}", "x", x, "y", y)), NULL, wire_point, pos);
}

enum desk_status desk_mouse_click_n(
        desk_client *c, int x, int y, enum desk_button button, int clicks, struct desk_point *pos) {
    BEGIN(c);
    const char *b = button_name(button);
    if (!b)
        return invalid(c, "unknown button %d", (int)button);
    return post_json(c, "/computeruse/mouse/click",
            spaced(c, json_pack("{s:i, s:i, s:s, s:i}", "x", x, "y", y, "button", b, "clicks",
                              clicks)),
            NULL, wire_point, pos);
}

static enum desk_status button_route(
        desk_client *c, const char *path, enum desk_button button, const struct desk_point *at) {
    BEGIN(c);
    const char *b = button_name(button);
    if (!b)
        return invalid(c, "unknown button %d", (int)button);
    json_t *root = json_pack("{s:s}", "button", b);
    if (root && at) {
        json_object_set_new(root, "x", json_integer(at->x));
        json_object_set_new(root, "y", json_integer(at->y));
    }
    return post_json(c, path, spaced(c, root), NULL, NULL, NULL);
}

enum desk_status desk_mouse_down(
        desk_client *c, enum desk_button button, const struct desk_point *at) {
    return button_route(c, "/computeruse/mouse/down", button, at);
}

enum desk_status desk_mouse_up(
        desk_client *c, enum desk_button button, const struct desk_point *at) {
    return button_route(c, "/computeruse/mouse/up", button, at);
}

enum desk_status desk_mouse_click(desk_client *c, int x, int y, enum desk_button button,
        bool double_click, struct desk_point *pos) {
    BEGIN(c);
    const char *b = button_name(button);
    if (!b)
        return invalid(c, "unknown button %d", (int)button);
    return post_json(c, "/computeruse/mouse/click",
            spaced(c, json_pack("{s:i, s:i, s:s, s:b}", "x", x, "y", y, "button", b, "double",
                              double_click)),
            NULL, wire_point, pos);
}

enum desk_status desk_mouse_drag(desk_client *c, int x1, int y1, int x2, int y2,
        enum desk_button button, struct desk_point *pos) {
    BEGIN(c);
    const char *b = button_name(button);
    if (!b)
        return invalid(c, "unknown button %d", (int)button);
    return post_json(c, "/computeruse/mouse/drag",
            spaced(c, json_pack("{s:i, s:i, s:i, s:i, s:s}", "startX", x1, "startY", y1, "endX", x2,
                              "endY", y2, "button", b)),
            NULL, wire_point, pos);
}

enum desk_status desk_mouse_scroll(
        desk_client *c, int x, int y, enum desk_scroll direction, int amount) {
    BEGIN(c);
    static const char *const dirs[] = {"up", "down", "left", "right"};
    if ((unsigned)direction >= sizeof dirs / sizeof dirs[0])
        return invalid(c, "unknown scroll direction %d", (int)direction);
    char *text = json_body(c,
            spaced(c, json_pack("{s:i, s:i, s:s, s:i}", "x", x, "y", y, "direction",
                              dirs[direction], "amount", amount)),
            NULL);
    if (!text)
        return c->err.status;
    struct call rq = {"POST", "/computeruse/mouse/scroll", text, NULL};
    enum desk_status st = perform(c, &rq);
    if (st == DESK_OK)
        st = wire_success((const char *)c->rx.p, c->rx.len, &c->err);
    free(text);
    return finish(c, &rq, st);
}

/* ---- keyboard ---- */

enum desk_status desk_keyboard_type(desk_client *c, const char *text, int delay_ms) {
    BEGIN(c);
    if (!text)
        return invalid(c, "text must not be NULL");
    json_t *root = json_pack("{s:s, s:i}", "text", text, "delay", delay_ms);
    return post_json(c, "/computeruse/keyboard/type", root, "text", NULL, NULL);
}

enum desk_status desk_keyboard_key(
        desk_client *c, const char *key, const char *const *modifiers, size_t nmods) {
    BEGIN(c);
    if (!key)
        return invalid(c, "key must not be NULL");
    if (nmods && !modifiers)
        return invalid(c, "modifiers must not be NULL when nmods is %zu", nmods);
    json_t *mods = json_array();
    for (size_t i = 0; mods && i < nmods; i++) {
        if (!modifiers[i]) {
            json_decref(mods);
            return invalid(c, "modifiers[%zu] is NULL", i);
        }
        if (json_array_append_new(mods, json_string(modifiers[i])) < 0) {
            json_decref(mods);
            return invalid(c, "modifiers[%zu] is not valid UTF-8", i);
        }
    }
    /* "O" takes a reference of its own, so mods is released here on every path. */
    json_t *root = mods ? json_pack("{s:s, s:O}", "key", key, "modifiers", mods) : NULL;
    json_decref(mods);
    return post_json(c, "/computeruse/keyboard/key", root, "key", NULL, NULL);
}

enum desk_status desk_keyboard_hotkey(desk_client *c, const char *keys) {
    BEGIN(c);
    if (!keys)
        return invalid(c, "keys must not be NULL");
    return post_json(c, "/computeruse/keyboard/hotkey", json_pack("{s:s}", "keys", keys), "keys",
            NULL, NULL);
}

static enum desk_status key_route(desk_client *c, const char *path, const char *key) {
    BEGIN(c);
    if (!key)
        return invalid(c, "key must not be NULL");
    return post_json(c, path, json_pack("{s:s}", "key", key), "key", NULL, NULL);
}

enum desk_status desk_keyboard_down(desk_client *c, const char *key) {
    return key_route(c, "/computeruse/keyboard/down", key);
}

enum desk_status desk_keyboard_up(desk_client *c, const char *key) {
    return key_route(c, "/computeruse/keyboard/up", key);
}

enum desk_status desk_input_release(desk_client *c) {
    BEGIN(c);
    return post_json(c, "/computeruse/input/release", json_object(), NULL, NULL, NULL);
}

enum desk_status desk_input_held(desk_client *c, struct desk_held **out) {
    if (out)
        *out = NULL;
    BEGIN(c);
    if (!out)
        return invalid(c, "out must not be NULL");
    struct call rq = {"GET", "/computeruse/input/held", NULL, NULL};
    CALL_JSON(c, &rq, wire_held(body, len, &c->err, out));
}

/* ---- batches ---- */

struct desk_actions {
    json_t *list;         /* the actions */
    json_t *space;        /* {"space", "region"?} or NULL */
    json_t *observe;      /* {"screenshot": {...}} or NULL */
    enum desk_status bad; /* the first builder mistake, DESK_OK when none */
    char why[256];
};

desk_actions *desk_actions_new(void) {
    desk_actions *a = calloc(1, sizeof *a);
    if (a && !(a->list = json_array())) {
        free(a);
        return NULL;
    }
    return a;
}

void desk_actions_free(desk_actions *a) {
    if (!a)
        return;
    json_decref(a->list);
    json_decref(a->space);
    json_decref(a->observe);
    free(a);
}

static desk_actions *act_bad(desk_actions *a, enum desk_status st, const char *why) {
    if (a->bad == DESK_OK) {
        a->bad = st;
        snprintf(a->why, sizeof a->why, "action %zu: %s", json_array_size(a->list), why);
    }
    return a;
}

desk_actions *desk_actions_from_json(const char *json) {
    desk_actions *a = desk_actions_new();
    if (!a)
        return NULL;
    json_error_t jerr;
    json_t *root = json ? json_loads(json, 0, &jerr) : NULL;
    json_t *list = json_is_array(root) ? root : json_object_get(root, "actions");
    if (!json_is_array(list)) {
        char why[160];
        snprintf(why, sizeof why, "%s",
                !root ? (json ? jerr.text : "the JSON text is NULL")
                      : "the JSON is neither {\"actions\": [...]} nor a list of actions");
        json_decref(root);
        return act_bad(a, DESK_ERR_INVALID_ARG, why);
    }
    json_decref(a->list);
    a->list = json_incref(list);
    if (json_is_object(root)) {
        json_t *sp = json_object_get(root, "space"), *rg = json_object_get(root, "region");
        if (sp) {
            a->space = json_pack("{s:O}", "space", sp);
            if (a->space && rg)
                json_object_set(a->space, "region", rg);
        }
        json_t *ob = json_object_get(root, "observe");
        if (ob)
            a->observe = json_incref(ob);
    }
    json_decref(root);
    return a;
}

/* Appends obj (reference stolen; NULL: out of memory or invalid UTF-8 in text). */
static desk_actions *act_add(desk_actions *a, json_t *obj) {
    if (!a)
        return NULL;
    if (!obj || json_array_append_new(a->list, obj) < 0)
        return act_bad(a, DESK_ERR_INVALID_ARG, "out of memory, or text that is not UTF-8");
    return a;
}

desk_actions *desk_actions_space(desk_actions *a, const struct desk_space *s) {
    if (!a)
        return NULL;
    json_decref(a->space);
    a->space = s ? space_json(s) : NULL;
    return a;
}

desk_actions *desk_actions_observe(desk_actions *a, const struct desk_compress *shot) {
    if (!a)
        return NULL;
    json_decref(a->observe);
    a->observe = NULL;
    if (!shot)
        return a;
    const char *fmt = desk_image_format_name(shot->format);
    if (!fmt)
        return act_bad(a, DESK_ERR_INVALID_ARG, "unknown image format");
    json_t *o = json_pack("{s:s, s:b}", "format", fmt, "showCursor", shot->show_cursor);
    if (o && shot->quality)
        json_object_set_new(o, "quality", json_integer(shot->quality));
    if (o && shot->scale > 0)
        json_object_set_new(o, "scale", json_real(shot->scale));
    a->observe = o ? json_pack("{s:o}", "screenshot", o) : NULL;
    return a;
}

desk_actions *desk_act_move(desk_actions *a, double x, double y) {
    return act_add(a, json_pack("{s:s, s:f, s:f}", "type", "move", "x", x, "y", y));
}

desk_actions *desk_act_click(
        desk_actions *a, double x, double y, enum desk_button button, int clicks) {
    const char *b = button_name(button);
    if (a && !b)
        return act_bad(a, DESK_ERR_INVALID_ARG, "unknown button");
    return act_add(a, json_pack("{s:s, s:f, s:f, s:s, s:i}", "type", "click", "x", x, "y", y,
                              "button", b, "clicks", clicks));
}

desk_actions *desk_act_drag(
        desk_actions *a, double x1, double y1, double x2, double y2, enum desk_button button) {
    const double xy[] = {x1, y1, x2, y2};
    return desk_act_drag_path(a, xy, 2, button);
}

desk_actions *desk_act_drag_path(
        desk_actions *a, const double *xy, size_t n, enum desk_button button) {
    const char *b = button_name(button);
    if (a && (!b || !xy))
        return act_bad(a, DESK_ERR_INVALID_ARG, !b ? "unknown button" : "xy is NULL");
    json_t *path = json_array();
    for (size_t i = 0; path && i < n; i++)
        json_array_append_new(path, json_pack("{s:f, s:f}", "x", xy[2 * i], "y", xy[2 * i + 1]));
    return act_add(a,
            path ? json_pack("{s:s, s:o, s:s}", "type", "drag", "path", path, "button", b) : NULL);
}

desk_actions *desk_act_scroll(
        desk_actions *a, double x, double y, enum desk_scroll direction, int amount) {
    static const char *const dirs[] = {"up", "down", "left", "right"};
    if (a && (unsigned)direction >= sizeof dirs / sizeof dirs[0])
        return act_bad(a, DESK_ERR_INVALID_ARG, "unknown scroll direction");
    return act_add(a, json_pack("{s:s, s:f, s:f, s:s, s:i}", "type", "scroll", "x", x, "y", y,
                              "direction", dirs[direction], "amount", amount));
}

desk_actions *desk_act_hold_keys(desk_actions *a, const char *keys) {
    if (!a)
        return NULL;
    json_t *last = json_array_get(a->list, json_array_size(a->list) - 1);
    if (!last || !keys)
        return act_bad(a, DESK_ERR_INVALID_ARG, "holdKeys needs a pointer action and keys");
    json_t *list = json_array();
    for (const char *p = keys; list && *p;) {
        size_t n = strcspn(p, "+");
        json_array_append_new(list, json_stringn(p, n));
        p += n + (p[n] == '+');
    }
    if (!list || json_object_set_new(last, "holdKeys", list) < 0)
        return act_bad(a, DESK_ERR_NOMEM, "out of memory");
    return a;
}

static desk_actions *act_text(desk_actions *a, const char *type, const char *key, const char *v) {
    if (a && !v)
        return act_bad(a, DESK_ERR_INVALID_ARG, "a NULL string");
    return act_add(a, json_pack("{s:s, s:s}", "type", type, key, v));
}

desk_actions *desk_act_type(desk_actions *a, const char *text) {
    return act_text(a, "type", "text", text);
}

desk_actions *desk_act_key(desk_actions *a, const char *key, int hold_ms) {
    if (a && !key)
        return act_bad(a, DESK_ERR_INVALID_ARG, "a NULL key");
    return act_add(a, json_pack("{s:s, s:s, s:i}", "type", "key", "key", key, "holdMs", hold_ms));
}

desk_actions *desk_act_hotkey(desk_actions *a, const char *keys) {
    return act_text(a, "hotkey", "keys", keys);
}

desk_actions *desk_act_key_down(desk_actions *a, const char *key) {
    return act_text(a, "keyDown", "key", key);
}

desk_actions *desk_act_key_up(desk_actions *a, const char *key) {
    return act_text(a, "keyUp", "key", key);
}

static desk_actions *act_button(desk_actions *a, const char *type, enum desk_button button) {
    const char *b = button_name(button);
    if (a && !b)
        return act_bad(a, DESK_ERR_INVALID_ARG, "unknown button");
    return act_add(a, json_pack("{s:s, s:s}", "type", type, "button", b));
}

desk_actions *desk_act_button_down(desk_actions *a, enum desk_button button) {
    return act_button(a, "buttonDown", button);
}

desk_actions *desk_act_button_up(desk_actions *a, enum desk_button button) {
    return act_button(a, "buttonUp", button);
}

desk_actions *desk_act_release_all(desk_actions *a) {
    return act_add(a, json_pack("{s:s}", "type", "releaseAll"));
}

desk_actions *desk_act_wait(desk_actions *a, int ms) {
    return act_add(a, json_pack("{s:s, s:i}", "type", "wait", "ms", ms));
}

enum desk_status desk_actions_run(
        desk_client *c, const desk_actions *a, struct desk_actions_result **out) {
    if (out)
        *out = NULL;
    BEGIN(c);
    if (!a || !out)
        return invalid(c, "the batch and out must not be NULL");
    if (a->bad != DESK_OK) {
        wire_fail(&c->err, a->bad, "the batch was built wrong: %s", a->why);
        return a->bad;
    }
    json_t *root = json_pack("{s:O}", "actions", a->list);
    if (root && a->space)
        json_object_update(root, a->space);
    else if (root && c->spaced)
        json_object_update_new(root, space_json(&c->space));
    if (root && a->observe)
        json_object_set(root, "observe", a->observe);
    char *text = json_body(c, root, NULL);
    if (!text)
        return c->err.status;
    struct call rq = {"POST", "/computeruse/actions", text, NULL};
    enum desk_status st = perform(c, &rq);
    /* A failed action's error reply still says what ran: parse it too. */
    if (st == DESK_OK || c->err.http >= 400) {
        struct desk_err keep = c->err;
        enum desk_status pst = wire_actions((const char *)c->rx.p, c->rx.len, &c->err, out);
        if (st != DESK_OK) {
            c->err = keep;
            if (pst != DESK_OK || (*out && (*out)->failed_index < 0)) {
                desk_actions_result_free(*out);
                *out = NULL;
            }
        } else {
            st = pst;
        }
    }
    free(text);
    return finish(c, &rq, st);
}

/* ---- displays and windows ---- */

enum desk_status desk_display_info(desk_client *c, struct desk_display_info **out) {
    if (out)
        *out = NULL;
    GET_PARSED(c, out, "/computeruse/display/info", wire_display_info);
}

enum desk_status desk_display_windows(desk_client *c, struct desk_window_list **out) {
    if (out)
        *out = NULL;
    GET_PARSED(c, out, "/computeruse/display/windows", wire_windows);
}

enum desk_status desk_display_windows_of_type(
        desk_client *c, const char *type, struct desk_window_list **out) {
    if (out)
        *out = NULL;
    BEGIN(c);
    if (!out || !type)
        return invalid(c, "out and type must not be NULL");
    char *esc = curl_easy_escape(NULL, type, 0);
    char path[256];
    snprintf(path, sizeof path, "/computeruse/display/windows?type=%s", esc ? esc : "");
    curl_free(esc);
    struct call rq = {"GET", path, NULL, NULL};
    CALL_JSON(c, &rq, wire_windows(body, len, &c->err, out));
}

/* A POST with a JSON body whose answer is one WindowInfo; out may be NULL. */
static enum desk_status post_window(
        desk_client *c, const char *path, json_t *root, struct desk_window_list **out) {
    char *text = json_body(c, root, NULL);
    if (!text)
        return c->err.status;
    struct call rq = {"POST", path, text, NULL};
    struct desk_window_list *wl = NULL;
    enum desk_status st = perform(c, &rq);
    if (st == DESK_OK)
        st = wire_window((const char *)c->rx.p, c->rx.len, &c->err, &wl);
    if (out)
        *out = wl;
    else
        desk_window_list_free(wl);
    free(text);
    return finish(c, &rq, st);
}

enum desk_status desk_window_action(desk_client *c, unsigned long id,
        enum desk_window_action action, struct desk_window_list **out) {
    static const char *const names[] = {"activate", "close", "minimize", "maximize", "restore"};
    if (out)
        *out = NULL;
    BEGIN(c);
    if ((unsigned)action >= sizeof names / sizeof names[0])
        return invalid(c, "unknown window action %d", (int)action);
    char path[128];
    snprintf(path, sizeof path, "/computeruse/windows/%lu/%s", id, names[action]);
    return post_window(c, path, json_object(), out);
}

enum desk_status desk_window_geometry(desk_client *c, unsigned long id, int x, int y, int width,
        int height, struct desk_window_list **out) {
    if (out)
        *out = NULL;
    BEGIN(c);
    char path[128];
    snprintf(path, sizeof path, "/computeruse/windows/%lu/geometry", id);
    return post_window(c, path,
            json_pack("{s:i, s:i, s:i, s:i}", "x", x, "y", y, "width", width, "height", height),
            out);
}

/* ---- clipboard ---- */

static const char *selection_name(enum desk_selection sel) {
    return sel == DESK_PRIMARY ? "primary" : "clipboard";
}

enum desk_status desk_clipboard_get(
        desk_client *c, enum desk_selection sel, char **text, size_t *len) {
    if (text)
        *text = NULL;
    BEGIN(c);
    if (!text)
        return invalid(c, "text must not be NULL");
    char path[96];
    snprintf(path, sizeof path, "/computeruse/clipboard?selection=%s", selection_name(sel));
    struct call rq = {"GET", path, NULL, NULL};
    enum desk_status st = perform(c, &rq);
    if (st == DESK_OK)
        st = wire_text((const char *)c->rx.p, c->rx.len, "text", &c->err, text);
    if (st == DESK_OK && len) {
        /* wire_text keeps the reply's length; the text itself holds no NUL (deskd refuses it). */
        *len = strlen(*text);
    }
    return finish(c, &rq, st);
}

enum desk_status desk_clipboard_set(desk_client *c, enum desk_selection sel, const char *text) {
    BEGIN(c);
    if (!text)
        return invalid(c, "text must not be NULL");
    return post_json(c, "/computeruse/clipboard",
            json_pack("{s:s, s:s}", "text", text, "selection", selection_name(sel)), "text", NULL,
            NULL);
}

enum desk_status desk_keyboard_paste(desk_client *c, const char *text, const char *paste_keys) {
    BEGIN(c);
    if (!text)
        return invalid(c, "text must not be NULL");
    return post_json(c, "/computeruse/keyboard/type",
            json_pack("{s:s, s:s, s:s}", "text", text, "method", "paste", "pasteKeys",
                    paste_keys ? paste_keys : "ctrl+v"),
            "text", NULL, NULL);
}

/* ---- launched applications ---- */

enum desk_status desk_app_launch(
        desk_client *c, const struct desk_launch *l, long *pid, struct desk_window_list **window) {
    if (window)
        *window = NULL;
    BEGIN(c);
    if (!l || !l->argv || !l->argv[0] || !pid)
        return invalid(c, "l, l->argv (with a program) and pid must not be NULL");
    json_t *argv = json_array(), *env = json_object();
    for (size_t i = 0; argv && l->argv[i]; i++) {
        if (json_array_append_new(argv, json_string(l->argv[i])) < 0) {
            json_decref(argv);
            json_decref(env);
            return invalid(c, "argv[%zu] is not valid UTF-8", i);
        }
    }
    for (size_t i = 0; env && l->env && l->env[i]; i++) {
        const char *eq = strchr(l->env[i], '=');
        char name[256];
        if (!eq || eq == l->env[i] || (size_t)(eq - l->env[i]) >= sizeof name) {
            json_decref(argv);
            json_decref(env);
            return invalid(c, "env[%zu] is not NAME=VALUE", i);
        }
        memcpy(name, l->env[i], (size_t)(eq - l->env[i]));
        name[eq - l->env[i]] = '\0';
        json_object_set_new(env, name, json_string(eq + 1));
    }
    json_t *root = json_pack(
            "{s:o, s:o, s:b}", "argv", argv, "env", env, "waitForWindow", l->wait_for_window);
    if (root && l->cwd)
        json_object_set_new(root, "cwd", json_string(l->cwd));
    if (root && l->timeout_ms > 0)
        json_object_set_new(root, "timeoutMs", json_integer(l->timeout_ms));
    char *text = json_body(c, root, "argv, env or cwd");
    if (!text)
        return c->err.status;
    struct call rq = {"POST", "/computeruse/apps/launch", text, NULL};
    enum desk_status st = perform(c, &rq);
    if (st == DESK_OK)
        st = wire_launch((const char *)c->rx.p, c->rx.len, &c->err, pid, window);
    free(text);
    return finish(c, &rq, st);
}

enum desk_status desk_apps(desk_client *c, struct desk_app_list **out) {
    if (out)
        *out = NULL;
    GET_PARSED(c, out, "/computeruse/apps", wire_apps);
}

enum desk_status desk_app_kill(desk_client *c, long pid) {
    BEGIN(c);
    char path[96];
    snprintf(path, sizeof path, "/computeruse/apps/%ld/kill", pid);
    return post_json(c, path, json_object(), NULL, NULL, NULL);
}

/* ---- desktop processes ---- */

static enum desk_status start_stop(desk_client *c, const char *path, struct desk_processes **out) {
    struct desk_processes *tmp = NULL;
    if (out)
        *out = NULL;
    struct call rq = {"POST", path, "{}", NULL};
    enum desk_status st = perform(c, &rq);
    if (st == DESK_OK)
        st = wire_processes((const char *)c->rx.p, c->rx.len, &c->err, &tmp);
    if (out)
        *out = tmp;
    else
        desk_processes_free(tmp);
    return finish(c, &rq, st);
}

enum desk_status desk_computeruse_start(desk_client *c, struct desk_processes **out) {
    if (out)
        *out = NULL;
    BEGIN(c);
    return start_stop(c, "/computeruse/start", out);
}

enum desk_status desk_computeruse_stop(desk_client *c, struct desk_processes **out) {
    if (out)
        *out = NULL;
    BEGIN(c);
    return start_stop(c, "/computeruse/stop", out);
}

enum desk_status desk_computeruse_status(desk_client *c, enum desk_desktop_state *out) {
    GET_PARSED(c, out, "/computeruse/status", wire_state);
}

enum desk_status desk_computeruse_process_status(desk_client *c, enum desk_desktop_state *out) {
    GET_PARSED(c, out, "/computeruse/process-status", wire_state);
}

/* prefix + s percent-encoded (RFC 3986 unreserved characters as they are) + suffix. */
static void encoded_path(
        const char *prefix, const char *s, const char *suffix, char *path, size_t pathlen) {
    static const char hex[] = "0123456789ABCDEF";
    char enc[NAME_MAX_LEN * 3 + 1];
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                strchr("-._~", *p)) {
            enc[o++] = (char)*p;
        } else {
            enc[o++] = '%';
            enc[o++] = hex[*p >> 4];
            enc[o++] = hex[*p & 15];
        }
    }
    enc[o] = '\0';
    snprintf(path, pathlen, "%s%s%s", prefix, enc, suffix);
}

/* An argument that goes into a path: not NULL or empty, at most NAME_MAX_LEN bytes. */
static bool segment_ok(desk_client *c, const char *s, const char *what) {
    if (!s || !*s)
        invalid(c, "the %s must not be NULL or empty", what);
    else if (strlen(s) > NAME_MAX_LEN)
        invalid(c, "the %s is longer than %d bytes", what, NAME_MAX_LEN);
    return s && *s && strlen(s) <= NAME_MAX_LEN;
}

/* "/computeruse/process/<name percent-encoded>/<what>"; false (error set) on a bad name. */
static bool process_path(
        desk_client *c, const char *name, const char *what, char *path, size_t pathlen) {
    if (!segment_ok(c, name, "process name"))
        return false;
    char suffix[32];
    snprintf(suffix, sizeof suffix, "/%s", what);
    encoded_path("/computeruse/process/", name, suffix, path, pathlen);
    return true;
}

enum desk_status desk_process_status(desk_client *c, const char *name, bool *running) {
    BEGIN(c);
    char path[512];
    if (!running)
        return invalid(c, "running must not be NULL");
    if (!process_path(c, name, "status", path, sizeof path))
        return c->err.status;
    struct call rq = {"GET", path, NULL, NULL};
    CALL_JSON(c, &rq, wire_running(body, len, &c->err, running));
}

enum desk_status desk_process_restart(desk_client *c, const char *name, char **message) {
    if (message)
        *message = NULL;
    BEGIN(c);
    char path[512];
    if (!process_path(c, name, "restart", path, sizeof path))
        return c->err.status;
    struct call rq = {"POST", path, "{}", NULL};
    char *msg = NULL;
    enum desk_status st = perform(c, &rq);
    if (st == DESK_OK)
        st = wire_text((const char *)c->rx.p, c->rx.len, "message", &c->err, &msg);
    if (message)
        *message = msg;
    else
        free(msg);
    return finish(c, &rq, st);
}

static enum desk_status process_text(
        desk_client *c, const char *name, const char *what, char **out) {
    if (!out)
        return invalid(c, "the output pointer must not be NULL");
    char path[512];
    if (!process_path(c, name, what, path, sizeof path))
        return c->err.status;
    struct call rq = {"GET", path, NULL, NULL};
    CALL_JSON(c, &rq, wire_text(body, len, what, &c->err, out));
}

enum desk_status desk_process_logs(desk_client *c, const char *name, char **logs) {
    if (logs)
        *logs = NULL;
    BEGIN(c);
    return process_text(c, name, "logs", logs);
}

enum desk_status desk_process_errors(desk_client *c, const char *name, char **errors) {
    if (errors)
        *errors = NULL;
    BEGIN(c);
    return process_text(c, name, "errors", errors);
}

/* ---- [ext] takeover ---- */

enum desk_status desk_vnc(desk_client *c, struct desk_vnc **out) {
    if (out)
        *out = NULL;
    GET_PARSED(c, out, "/computeruse/vnc", wire_vnc);
}

enum desk_status desk_vnc_link_create(
        desk_client *c, int ttl_s, bool view_only, struct desk_vnc_link **out) {
    if (out)
        *out = NULL;
    BEGIN(c);
    if (!out)
        return invalid(c, "out must not be NULL");
    if (ttl_s < 0 || ttl_s > DESK_VNC_LINK_TTL_MAX)
        return invalid(c, "ttl_s must be from 1 to %d seconds (0: deskd's default)",
                DESK_VNC_LINK_TTL_MAX);
    json_t *root = json_pack("{s:b}", "viewOnly", view_only);
    if (root && ttl_s > 0)
        json_object_set_new(root, "ttlSeconds", json_integer(ttl_s));
    char *text = json_body(c, root, NULL);
    if (!text)
        return c->err.status;
    struct call rq = {"POST", "/computeruse/vnc/links", text, NULL};
    enum desk_status st = perform(c, &rq);
    if (st == DESK_OK)
        st = wire_vnc_link((const char *)c->rx.p, c->rx.len, &c->err, out);
    free(text);
    return finish(c, &rq, st);
}

enum desk_status desk_vnc_link_list(desk_client *c, struct desk_vnc_link_list **out) {
    if (out)
        *out = NULL;
    GET_PARSED(c, out, "/computeruse/vnc/links", wire_vnc_links);
}

enum desk_status desk_vnc_link_revoke(desk_client *c, const char *id) {
    BEGIN(c);
    if (!segment_ok(c, id, "link id"))
        return c->err.status;
    char path[512];
    encoded_path("/computeruse/vnc/links/", id, "", path, sizeof path);
    struct call rq = {"DELETE", path, NULL, NULL};
    return finish(c, &rq, perform(c, &rq));
}

enum desk_status desk_control_get(desk_client *c, enum desk_holder *holder, char **since) {
    if (since)
        *since = NULL;
    BEGIN(c);
    if (!holder)
        return invalid(c, "holder must not be NULL");
    struct call rq = {"GET", "/computeruse/control", NULL, NULL};
    CALL_JSON(c, &rq, wire_control(body, len, &c->err, holder, since));
}

enum desk_status desk_control_set(desk_client *c, enum desk_holder holder) {
    BEGIN(c);
    const char *name = desk_holder_name(holder);
    if (!name)
        return invalid(c, "holder must be DESK_HOLDER_AGENT or DESK_HOLDER_HUMAN");
    char *text = json_body(c, json_pack("{s:s}", "holder", name), NULL);
    if (!text)
        return c->err.status;
    struct call rq = {"POST", "/computeruse/control", text, NULL};
    enum desk_holder got;
    enum desk_status st = perform(c, &rq);
    if (st == DESK_OK)
        st = wire_control((const char *)c->rx.p, c->rx.len, &c->err, &got, NULL);
    free(text);
    return finish(c, &rq, st);
}

/* ---- recordings ---- */

/* Runs rq and parses a Recording DTO into *out (freed when out is NULL). */
static enum desk_status recording_call(
        desk_client *c, const struct call *rq, struct desk_recording **out) {
    struct desk_recording *r = NULL;
    enum desk_status st = perform(c, rq);
    if (st == DESK_OK)
        st = wire_recording((const char *)c->rx.p, c->rx.len, &c->err, &r);
    if (out)
        *out = r;
    else
        desk_recording_free(r);
    return finish(c, rq, st);
}

enum desk_status desk_recording_start(
        desk_client *c, const char *label, struct desk_recording **out) {
    if (out)
        *out = NULL;
    BEGIN(c);
    json_t *root = label && *label ? json_pack("{s:s}", "label", label) : json_object();
    char *text = json_body(c, root, "label");
    if (!text)
        return c->err.status;
    struct call rq = {"POST", "/computeruse/recordings/start", text, NULL};
    enum desk_status st = recording_call(c, &rq, out);
    free(text);
    return st;
}

enum desk_status desk_recording_stop(desk_client *c, const char *id, struct desk_recording **out) {
    if (out)
        *out = NULL;
    BEGIN(c);
    if (!segment_ok(c, id, "recording id"))
        return c->err.status;
    char *text = json_body(c, json_pack("{s:s}", "id", id), "id");
    if (!text)
        return c->err.status;
    struct call rq = {"POST", "/computeruse/recordings/stop", text, NULL};
    enum desk_status st = recording_call(c, &rq, out);
    free(text);
    return st;
}

enum desk_status desk_recording_get(desk_client *c, const char *id, struct desk_recording **out) {
    if (out)
        *out = NULL;
    BEGIN(c);
    if (!out)
        return invalid(c, "out must not be NULL");
    if (!segment_ok(c, id, "recording id"))
        return c->err.status;
    char path[512];
    encoded_path("/computeruse/recordings/", id, "", path, sizeof path);
    struct call rq = {"GET", path, NULL, NULL};
    return recording_call(c, &rq, out);
}

enum desk_status desk_recording_list(desk_client *c, struct desk_recording_list **out) {
    if (out)
        *out = NULL;
    GET_PARSED(c, out, "/computeruse/recordings", wire_recordings);
}

enum desk_status desk_recording_delete(desk_client *c, const char *id) {
    BEGIN(c);
    if (!segment_ok(c, id, "recording id"))
        return c->err.status;
    char path[512];
    encoded_path("/computeruse/recordings/", id, "", path, sizeof path);
    struct call rq = {"DELETE", path, NULL, NULL};
    return finish(c, &rq, perform(c, &rq));
}

enum desk_status desk_recording_download(
        desk_client *c, const char *id, int fd, long long *written) {
    if (written)
        *written = 0;
    BEGIN(c);
    if (fd < 0)
        return invalid(c, "fd must be an open file descriptor");
    if (!segment_ok(c, id, "recording id"))
        return c->err.status;
    char path[512];
    encoded_path("/computeruse/recordings/", id, "/download", path, sizeof path);
    struct call rq = {"GET", path, NULL, "video/mp4, application/json"};
    c->sink_fd = fd;
    c->sink_errno = 0;
    c->sunk = 0;
    /* The file may be larger than any reply the handle would hold. */
    curl_easy_setopt(c->curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)0);
    enum desk_status st = perform(c, &rq);
    curl_easy_setopt(c->curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->max_reply);
    c->sink_fd = -1;
    if (written)
        *written = c->sunk;
    return finish(c, &rq, st);
}

/* ---- accessibility ---- */

/* A JSON answer handed over as text: *out takes the receive buffer's copy. */
static enum desk_status json_text(desk_client *c, const struct call *rq, char **out) {
    enum desk_status st = perform(c, rq);
    if (st == DESK_OK)
        st = wire_object((const char *)c->rx.p, c->rx.len, &c->err);
    if (st == DESK_OK && !(*out = strdup((const char *)c->rx.p)))
        st = wire_fail(&c->err, DESK_ERR_NOMEM, "out of memory");
    return finish(c, rq, st);
}

enum desk_status desk_a11y_tree(
        desk_client *c, const char *scope, long pid, int max_depth, char **json) {
    if (json)
        *json = NULL;
    BEGIN(c);
    if (!json)
        return invalid(c, "json must not be NULL");
    if (scope && strcmp(scope, "focused") != 0 && strcmp(scope, "pid") != 0 &&
            strcmp(scope, "all") != 0)
        return invalid(c, "scope must be focused, pid or all, got \"%s\"", scope);
    char path[160];
    snprintf(path, sizeof path, "/computeruse/a11y/tree?scope=%s&maxDepth=%d",
            scope ? scope : "focused", max_depth < 0 ? -1 : max_depth);
    if (pid > 0)
        snprintf(path + strlen(path), sizeof path - strlen(path), "&pid=%ld", pid);
    struct call rq = {"GET", path, NULL, NULL};
    return json_text(c, &rq, json);
}

enum desk_status desk_a11y_find(desk_client *c, const char *query, char **json) {
    if (json)
        *json = NULL;
    BEGIN(c);
    if (!json)
        return invalid(c, "json must not be NULL");
    json_error_t je;
    json_t *q = json_loads(query ? query : "{}", 0, &je);
    if (!json_is_object(q)) {
        json_decref(q);
        return invalid(c, "the query must be a JSON object");
    }
    char *text = json_body(c, q, "the query");
    if (!text)
        return c->err.status;
    struct call rq = {"POST", "/computeruse/a11y/find", text, NULL};
    enum desk_status st = json_text(c, &rq, json);
    free(text);
    return st;
}

enum desk_status desk_tool_call(
        desk_client *c, const char *provider, const char *call, char **json) {
    if (json)
        *json = NULL;
    BEGIN(c);
    if (!json)
        return invalid(c, "json must not be NULL");
    if (!provider || (strcmp(provider, "anthropic") != 0 && strcmp(provider, "openai") != 0))
        return invalid(c, "provider must be anthropic or openai");
    json_error_t je;
    json_t *q = json_loads(call ? call : "", 0, &je);
    if (!json_is_object(q)) {
        json_decref(q);
        return invalid(c, "the call must be a JSON object");
    }
    char *text = json_body(c, q, "the call");
    if (!text)
        return c->err.status;
    char route[64];
    snprintf(route, sizeof route, "/computeruse/tools/%s", provider);
    struct call rq = {"POST", route, text, NULL};
    enum desk_status st = json_text(c, &rq, json);
    free(text);
    return st;
}

static enum desk_status a11y_node(
        desk_client *c, const char *route, const char *id, const char *key, const char *arg) {
    BEGIN(c);
    if (!id)
        return invalid(c, "the node id must not be NULL");
    json_t *body = json_pack("{s:s}", "id", id);
    if (key && arg)
        json_object_set_new(body, key, json_string(arg));
    return post_json(c, route, body, "the node id or value", NULL, NULL);
}

enum desk_status desk_a11y_focus(desk_client *c, const char *id) {
    return a11y_node(c, "/computeruse/a11y/node/focus", id, NULL, NULL);
}

enum desk_status desk_a11y_invoke(desk_client *c, const char *id, const char *action) {
    return a11y_node(c, "/computeruse/a11y/node/invoke", id, "action", action);
}

enum desk_status desk_a11y_value(desk_client *c, const char *id, const char *value) {
    if (!value && c)
        return invalid(c, "the value must not be NULL");
    return a11y_node(c, "/computeruse/a11y/node/value", id, "value", value);
}
