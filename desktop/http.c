/*
 * http: libmicrohttpd in thread-per-connection mode, so that a slow encode on
 * one connection never delays an input request on another. The listening socket
 * is made here (clear bind errors, port 0 support); deskd's accept thread
 * (accept.c) takes the connections and hands each to one of two MHD daemons:
 * a liveness or readiness probe's to a one-thread daemon that serves nothing
 * else (so a probe never waits behind a burst of other connections' thread
 * creations), every other to the thread-per-connection one.
 *
 * Per-request state is made on the first callback and freed in the completion
 * callback, which also writes the request's log line. In-flight requests are
 * counted so that shutdown can let them finish.
 *
 * Admission. Every connection is listed with the moment its current phase
 * began: waiting for a request's header (from the connect, or from the end of
 * the previous request on a kept-alive connection), or receiving a body. A
 * reaper thread cuts (shutdown(2), so that MHD's own read fails and MHD closes
 * it) a connection whose header is not complete within HTTP_HEADER_MS, whose
 * body is not within HTTP_BODY_MS, and, once deskd is stopping, every
 * connection not in a request. Past HTTP_MAX_CONNECTIONS connections, requests
 * other than the probes (/healthz, /readyz) are answered 503 BUSY and the
 * connection closed, so that the probes stay fast and the rest is refused
 * early rather than queued.
 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "accept.h"
#include "log.h"
#include "util.h"

/* A connection MHD serves (its socket context), on the server's list. */
struct conn {
    struct conn *prev, *next;
    int fd;
    bool in_body;     /* a request's header is in, its body is being received */
    bool in_request;  /* between a request's header and the end of its reply */
    int64_t since_ms; /* when the current phase began */
    bool cut;         /* shut down by the reaper */
    bool upgraded;    /* handed over after a 101 (a WebSocket): the reaper leaves it alone */
    bool control;     /* the request's URL had a control byte after percent-decoding */
};

struct server {
    struct MHD_Daemon *mhd;       /* thread per connection: every route */
    struct MHD_Daemon *probe_mhd; /* one thread: connections whose first request is a probe */
    struct acceptor *acceptor;
    /* The connections handed to each daemon and not closed yet (see hand_to). */
    atomic_int held_main, held_probe;
    int listen_fd;
    int port;
    char *token;
    const struct route *const *routes;
    void *ctx;
    void (*acted)(const struct req *r);
    pthread_mutex_t lock;
    pthread_cond_t drained;
    int in_flight;
    /* The connections, the reaper and shutdown, under lock. */
    struct conn *conns;
    int nconns;
    atomic_bool stopping;
    bool reaper_quit;
    pthread_t reaper;
    pthread_cond_t reaper_wake;
};

struct rstate {
    struct req req; /* first: queue() finds the state from the request */
    struct server *srv;
    struct conn *c; /* its connection's entry, or NULL */
    int64_t start_ns;
    char *body;
    size_t body_len;
    bool body_too_big;
    bool own_limit;    /* the route answers a body over the limit itself (ROUTE_OWN_LIMIT) */
    size_t body_limit; /* REQ_BODY_LIMIT, or more for the route's ROUTE_BIG_BODY */
    size_t body_cap;
    /* The first query key or value with a control byte (API.md §1 refuses them). */
    const char *bad_arg;
    unsigned char bad_byte;
    /* The methods the path accepts, for the Allow header of a 405. */
    char allow[64];
    char path_param[256];
    char method[16];
    char path[256];
    bool close_after; /* the reply closes the connection (shutdown, over the cap) */
    /* reply_upgrade's: called once the 101 is sent, or discard when it never was. */
    upgrade_fn upgrade_fn;
    void (*upgrade_discard)(void *arg);
    void *upgrade_arg;
};

#define DESK_ERR_ROW_(code, http, client, sentence) {#code, http},
static const struct {
    const char *name;
    int http;
} err_table[] = {DESK_WIRE_ERRORS(DESK_ERR_ROW_)};
#undef DESK_ERR_ROW_

const char *err_name(enum err_code code) {
    return err_table[code].name;
}

int err_http_status(enum err_code code) {
    return err_table[code].http;
}

const char *req_arg(const struct req *r, const char *key) {
    for (int i = 0; i < r->nargs; i++) {
        if (strcmp(r->arg_keys[i], key) == 0)
            return r->arg_vals[i];
    }
    return NULL;
}

const char *req_header(const struct req *r, const char *name) {
    if (r->capture) {
        /* A tool call wants the JSON answer, whatever media types the MCP client accepts. */
        if (strcasecmp(name, "Accept") == 0)
            return NULL;
        r = r->capture->outer;
    }
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *req_cookie(const struct req *r, const char *name) {
    if (r->capture || !r->conn)
        return NULL;
    return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, name);
}

bool req_client_gone(const struct req *r) {
    if (r->capture)
        r = r->capture->outer;
    const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci)
        return false;
    return util_fd_hung_up(ci->connect_fd);
}

static void queue(struct req *r, int status, struct MHD_Response *resp, const char *mime) {
    if (!resp) {
        /* Out of memory: nothing better to send; MHD closes the connection. */
        r->replied = true;
        r->status = 500;
        return;
    }
    if (mime) /* NULL: no body (a 304) */
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, mime);
    const struct rstate *st = (const struct rstate *)r;
    if (status == 405 && st->allow[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, st->allow);
    if (status == 401)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    /* A busy queue knows when it will have room; other 503s say to come back soon. */
    if (status == 503) {
        char secs[24];
        snprintf(secs, sizeof secs, "%ld", r->retry_after_s > 0 ? r->retry_after_s : 1);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, secs);
    }
    if (st->close_after || atomic_load(&st->srv->stopping))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    MHD_queue_response(r->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    r->replied = true;
    r->status = status;
}

/* Keeps a reply of a req_call request (buf taken over when own, else copied). */
static void capture(struct req *r, int status, const char *mime, char *buf, size_t len, bool own) {
    struct req_capture *c = r->capture;
    free(c->body);
    c->body = own ? buf : malloc(len + 1);
    if (c->body && !own && len)
        memcpy(c->body, buf, len);
    if (c->body)
        c->body[len] = '\0';
    c->len = c->body ? len : 0;
    c->status = c->body || len == 0 ? status : 500;
    c->retry_after_s = r->retry_after_s;
    snprintf(c->mime, sizeof c->mime, "%s", mime ? mime : "");
    r->replied = true;
    r->status = c->status;
}

void reply_json_text(struct req *r, int status, char *buf, size_t len) {
    if (r->capture) {
        capture(r, status, "application/json", buf, len, true);
        return;
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
    if (!resp)
        free(buf);
    queue(r, status, resp, "application/json");
}

void reply_json(struct req *r, int status, json_t *root) {
    char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    if (!text) {
        reply_error(r, ERR_INTERNAL, "out of memory while building the response");
        return;
    }
    reply_json_text(r, status, text, strlen(text));
}

/* Now as RFC 3339 in UTC with milliseconds, as Daytona's daemon stamps its errors. */
static void timestamp(char *buf, size_t len) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char day[32];
    strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
    /* In [0, 999] for the compiler too, or -Wformat-truncation fails an optimised build. */
    snprintf(buf, len, "%s.%03uZ", day, (unsigned)(ts.tv_nsec / 1000000L) % 1000u);
}

char *http_error_text(enum err_code code, const char *error, const char *raw, const char *req_path,
        const char *method, const json_t *extra) {
    /* Sentences quote request data, which may be invalid UTF-8 (or cut mid-character);
     * JSON strings must not be, or the intended 4xx would turn into a 500. The path
     * comes from the client too. */
    char *msg = util_utf8_clean(raw, strlen(raw), NULL);
    char *path = util_utf8_clean(req_path, strlen(req_path), NULL);
    char when[40];
    timestamp(when, sizeof when);
    json_t *root = msg && path
                           ? json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s}", "error",
                                     error ? error : msg, "message", msg, "code", err_name(code),
                                     "statusCode", err_http_status(code), "path", path, "method",
                                     method, "timestamp", when, "source", DESK_WIRE_ERROR_SOURCE)
                           : NULL;
    free(msg);
    free(path);
    if (root && extra)
        json_object_update(root, (json_t *)extra);
    char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    return text;
}

static void error_reply(struct req *r, enum err_code code, const char *error, const char *raw) {
    char *text = http_error_text(code, error, raw, r->path, r->method, r->error_extra);
    json_decref(r->error_extra);
    r->error_extra = NULL;
    if (!text) {
        if (r->capture) {
            capture(r, 500, "application/json", NULL, 0, true);
            return;
        }
        static char oom[] =
                "{\"error\":\"out of memory\",\"message\":\"out of memory\","
                "\"code\":\"INTERNAL\",\"statusCode\":500,\"source\":\"" DESK_WIRE_ERROR_SOURCE
                "\"}";
        queue(r, 500, MHD_create_response_from_buffer(sizeof oom - 1, oom, MHD_RESPMEM_PERSISTENT),
                "application/json");
        return;
    }
    reply_json_text(r, err_http_status(code), text, strlen(text));
}

void reply_error(struct req *r, enum err_code code, const char *fmt, ...) {
    char raw[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    error_reply(r, code, NULL, raw);
}

void reply_error_as(struct req *r, enum err_code code, const char *error, const char *fmt, ...) {
    char raw[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    error_reply(r, code, error, raw);
}

void reply_fd(struct req *r, int status, const char *mime, int fd, uint64_t offset, uint64_t len,
        const char *const *headers) {
    if (r->capture) {
        /* Route answers that stream a file (recordings) are not made for a req_call. */
        close(fd);
        reply_error(r, ERR_INTERNAL, "this route's file answer cannot be relayed");
        return;
    }
    struct MHD_Response *resp = MHD_create_response_from_fd_at_offset64(len, fd, offset);
    if (!resp)
        close(fd);
    for (int i = 0; resp && headers && headers[i]; i += 2)
        MHD_add_response_header(resp, headers[i], headers[i + 1]);
    queue(r, status, resp, mime);
}

void reply_bytes(struct req *r, int status, const char *mime, const void *buf, size_t len,
        const char *const *headers) {
    if (r->capture) {
        capture(r, status, mime, (char *)buf, len, false);
        return;
    }
    struct MHD_Response *resp =
            MHD_create_response_from_buffer(len, (void *)buf, MHD_RESPMEM_MUST_COPY);
    for (int i = 0; resp && headers && headers[i]; i += 2)
        MHD_add_response_header(resp, headers[i], headers[i + 1]);
    queue(r, status, resp, mime);
}

/* MHD's upgrade callback: the connection is the upgrade's owner's from now on. */
static void on_upgraded(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra_in,
        size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh) {
    struct server *s = cls;
    struct rstate *st = con_cls;
    const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct conn *c = ci ? ci->socket_context : NULL;
    pthread_mutex_lock(&s->lock);
    if (c)
        c->upgraded = true;
    pthread_mutex_unlock(&s->lock);
    void *arg = st->upgrade_arg;
    st->upgrade_arg = NULL;
    st->upgrade_fn(arg, sock, extra_in, extra_in_size, (struct http_upgraded *)urh);
}

void reply_upgrade(struct req *r, const char *const *headers, upgrade_fn fn,
        void (*discard)(void *arg), void *arg) {
    struct rstate *st = (struct rstate *)r;
    struct MHD_Response *resp =
            r->capture ? NULL : MHD_create_response_for_upgrade(on_upgraded, st->srv);
    if (!resp) {
        discard(arg);
        reply_error(r, ERR_INTERNAL, "the protocol upgrade could not be made");
        return;
    }
    st->upgrade_fn = fn;
    st->upgrade_discard = discard;
    st->upgrade_arg = arg;
    for (int i = 0; headers && headers[i]; i += 2)
        MHD_add_response_header(resp, headers[i], headers[i + 1]);
    MHD_queue_response(r->conn, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
    MHD_destroy_response(resp);
    r->replied = true;
    r->status = MHD_HTTP_SWITCHING_PROTOCOLS;
}

void http_upgraded_close(struct http_upgraded *u) {
    MHD_upgrade_action((struct MHD_UpgradeResponseHandle *)u, MHD_UPGRADE_ACTION_CLOSE);
}

/*
 * Parses the body of a ROUTE_JSON route into r->json; false after replying
 * 400. No body is an empty object: a route whose members are all optional
 * (input/release) needs none, and one that has required members names the
 * first one missing.
 */
static bool parse_body(struct req *r) {
    json_error_t jerr;
    if (!r->body || r->body_len == 0) {
        r->json = json_object();
        if (!r->json)
            reply_error(r, ERR_INTERNAL, "out of memory");
        return r->json != NULL;
    }
    json_t *root = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        /* jansson's own words for these name its flags and types, not the rule. */
        if (json_error_code(&jerr) == json_error_null_character)
            reply_error(r, ERR_INVALID_BODY,
                    "strings in the request body may not contain U+0000 (line %d, column %d)",
                    jerr.line, jerr.column);
        else if (json_error_code(&jerr) == json_error_numeric_overflow)
            reply_error(r, ERR_INVALID_BODY,
                    "a number in the request body is out of range (line %d, column %d): "
                    "integers go up to 2^63-1",
                    jerr.line, jerr.column);
        else
            reply_error(r, ERR_INVALID_BODY, "the request body is not valid JSON: %s at line %d",
                    jerr.text, jerr.line);
        return false;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        reply_error(r, ERR_INVALID_BODY, "the request body must be a JSON object");
        return false;
    }
    r->json = root;
    return true;
}

/* Constant-time comparison: the time depends on the lengths only, not the contents. */
static bool token_equal(const char *given, const char *want) {
    size_t lg = strlen(given), lw = strlen(want);
    volatile unsigned char diff = (unsigned char)(lg != lw);
    for (size_t i = 0; i < lw; i++)
        diff |= (unsigned char)((i < lg ? given[i] : 0) ^ want[i]);
    return diff == 0;
}

static bool authorized(const struct server *s, const struct req *r) {
    if (!s->token)
        return true;
    const char *h = req_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    h += 7;
    while (*h == ' ')
        h++;
    return token_equal(h, s->token);
}

/*
 * Matches path against pattern; a "*" in pattern takes one non-empty segment,
 * a final "**" the non-empty rest of the path, slashes and all.
 */
static bool match(const char *pattern, const char *path, char *param, size_t param_size) {
    const char *star = strchr(pattern, '*');
    if (!star)
        return strcmp(pattern, path) == 0;
    size_t pre = (size_t)(star - pattern);
    if (strncmp(pattern, path, pre) != 0)
        return false;
    if (strcmp(star, "**") == 0) {
        size_t n = strlen(path + pre);
        if (n == 0 || n >= param_size)
            return false;
        memcpy(param, path + pre, n + 1);
        return true;
    }
    const char *seg = path + pre;
    size_t n = strcspn(seg, "/");
    if (n == 0 || n >= param_size || strcmp(star + 1, seg + n) != 0)
        return false;
    memcpy(param, seg, n);
    param[n] = '\0';
    return true;
}

/* Runs the route's handler: the token, then the body, then the handler itself. */
static void run(struct server *s, struct rstate *st, const struct route *rt) {
    struct req *r = &st->req;
    if (!(rt->flags & ROUTE_PUBLIC) && !authorized(s, r)) {
        reply_error(r, ERR_UNAUTHORIZED,
                "missing or wrong bearer token: send Authorization: Bearer <token>");
        return;
    }
    if ((rt->flags & ROUTE_JSON) && !parse_body(r))
        return;
    r->path_param = strchr(rt->pattern, '*') ? st->path_param : NULL;
    rt->fn(r);
    if (!r->replied)
        reply_error(r, ERR_INTERNAL, "the handler for %s %s sent no reply", r->method, r->path);
    if ((rt->flags & ROUTE_ACTS) && s->acted)
        s->acted(r);
    json_decref(r->json);
    r->json = NULL;
}

/* The flags of the routes method and path name, together. */
static unsigned route_flags(const struct server *s, const char *method, const char *path) {
    char param[256];
    unsigned flags = 0;
    for (const struct route *const *t = s->routes; *t; t++) {
        for (const struct route *rt = *t; rt->method; rt++) {
            if (strcmp(rt->method, method) == 0 && match(rt->pattern, path, param, sizeof param))
                flags |= rt->flags;
        }
    }
    return flags;
}

static void dispatch(struct server *s, struct rstate *st) {
    struct req *r = &st->req;
    /* HEAD is GET without the body, which MHD leaves out by itself. */
    const char *method = strcmp(r->method, "HEAD") == 0 ? "GET" : r->method;
    const struct route *path_hit = NULL;
    for (const struct route *const *t = s->routes; *t; t++) {
        for (const struct route *rt = *t; rt->method; rt++) {
            if (!match(rt->pattern, r->path, st->path_param, sizeof st->path_param))
                continue;
            path_hit = rt;
            size_t used = strlen(st->allow);
            snprintf(st->allow + used, sizeof st->allow - used, "%s%s%s", used ? ", " : "",
                    rt->method, strcmp(rt->method, "GET") == 0 ? ", HEAD" : "");
            if (strcmp(rt->method, method) == 0) {
                run(s, st, rt);
                return;
            }
        }
    }
    /* Unknown routes need the token too, so that probing reveals nothing. */
    if (!authorized(s, r)) {
        reply_error(r, ERR_UNAUTHORIZED,
                "missing or wrong bearer token: send Authorization: Bearer <token>");
    } else if (path_hit) {
        reply_error(r, ERR_METHOD_NOT_ALLOWED, "%s does not accept %s; use %s", r->path, r->method,
                st->allow);
    } else {
        reply_error(r, ERR_NOT_FOUND, "no route %s %s", r->method, r->path);
    }
}

void req_call(const struct req *outer, const char *method, const char *path,
        const char *const *args, json_t *body, struct req_capture *out) {
    const struct server *s = ((const struct rstate *)outer)->srv;
    *out = (struct req_capture){.outer = outer};
    struct req r = {.method = method,
            .path = path,
            .ctx = outer->ctx,
            .capture = out,
            .start_ns = util_mono_ns()};
    for (int i = 0; args && args[i] && r.nargs < REQ_MAX_ARGS - 1; i += 2) {
        r.arg_keys[r.nargs] = args[i];
        r.arg_vals[r.nargs++] = args[i + 1];
    }
    char param[256];
    const struct route *hit = NULL;
    for (const struct route *const *t = s->routes; *t && !hit; t++) {
        for (const struct route *rt = *t; rt->method && !hit; rt++) {
            if (strcmp(rt->method, method) == 0 && match(rt->pattern, path, param, sizeof param))
                hit = rt;
        }
    }
    if (!hit) {
        reply_error(&r, ERR_NOT_FOUND, "no route %s %s", method, path);
        return;
    }
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    if (body && !text) {
        reply_error(&r, ERR_INTERNAL, "out of memory for the request body");
        return;
    }
    r.body = text;
    r.body_len = text ? strlen(text) : 0;
    r.json = !(hit->flags & ROUTE_JSON) ? NULL : body ? json_incref(body) : json_object();
    r.path_param = strchr(hit->pattern, '*') ? param : NULL;
    hit->fn(&r);
    if (!r.replied)
        reply_error(&r, ERR_INTERNAL, "the handler for %s %s sent no reply", method, path);
    if ((hit->flags & ROUTE_ACTS) && s->acted)
        s->acted(&r);
    json_decref(r.json);
    free(text);
}

/* The first control byte (or NUL) in s[0..n), or 0. */
static unsigned char control_byte(const char *s, size_t n, bool *found) {
    for (size_t i = 0; s && i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) {
            *found = true;
            return c;
        }
    }
    return 0;
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
        size_t key_size, const char *value, size_t value_size) {
    (void)kind;
    struct rstate *st = cls;
    struct req *r = &st->req;
    if (r->nargs >= REQ_MAX_ARGS)
        return MHD_NO;
    /* A value cut at a NUL would otherwise pass for its shorter self. */
    bool bad = false;
    unsigned char c = control_byte(key, key_size, &bad);
    if (!bad)
        c = control_byte(value, value_size, &bad);
    if (bad && !st->bad_arg) {
        st->bad_arg = key;
        st->bad_byte = c;
    }
    r->arg_keys[r->nargs] = key;
    r->arg_vals[r->nargs] = value ? value : "";
    r->nargs++;
    return MHD_YES;
}

/*
 * MHD's percent-decoding of the path and the query, with one more duty: a NUL
 * would cut the path short ("/healthz%00x" read as "/healthz"), so a control
 * byte anywhere is noted on the connection; the query's are found again, by
 * name, in collect_arg, and a note left unexplained by them is the path's.
 */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *str) {
    (void)cls;
    size_t n = MHD_http_unescape(str);
    bool found = false;
    control_byte(str, n, &found);
    if (found) {
        const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        struct conn *c = ci ? ci->socket_context : NULL;
        if (c)
            c->control = true; /* only this connection's thread touches the flag */
    }
    return n;
}

/* A body framing MHD would misread: anything but "chunked" alone, or both framings. */
static bool bad_framing(struct MHD_Connection *conn) {
    const char *te =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    return te && (strcasecmp(te, "chunked") != 0 || cl);
}

/* What header_faults finds. */
struct header_scan {
    const char *length; /* the first Content-Length */
    bool lengths_differ;
};

static enum MHD_Result scan_header(void *cls, enum MHD_ValueKind kind, const char *key,
        size_t key_size, const char *value, size_t value_size) {
    (void)kind;
    (void)key_size;
    (void)value_size;
    struct header_scan *h = cls;
    if (value && strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        if (!h->length)
            h->length = value;
        else
            h->lengths_differ |= strcmp(h->length, value) != 0;
    }
    return MHD_YES;
}

/*
 * A header libmicrohttpd reads one way and another server in the path may read
 * another: Content-Length given twice with different values (MHD takes the
 * first, and the rest of the body would be read as a request of its own). The
 * sentence, or NULL.
 */
static const char *header_faults(struct MHD_Connection *conn) {
    struct header_scan h = {0};
    MHD_get_connection_values_n(conn, MHD_HEADER_KIND, scan_header, &h);
    return h.lengths_differ ? "Content-Length is given twice with different values" : NULL;
}

static enum MHD_Result add_len(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
        const char *value, size_t value_size) {
    (void)kind;
    (void)key;
    (void)value;
    *(size_t *)cls += key_size + value_size + 4; /* "key: value\r\n", "&key=value" */
    return MHD_YES;
}

/*
 * The request target and header block as read (query values decoded, so
 * never longer than sent). deskd's limits are below libmicrohttpd's memory
 * for a request (32 KiB), so that between the two the answer is a JSON
 * error rather than libmicrohttpd's own HTML.
 */
static void request_sizes(
        struct MHD_Connection *conn, const char *url, size_t *target, size_t *header) {
    *target = strlen(url);
    *header = 0;
    MHD_get_connection_values_n(conn, MHD_GET_ARGUMENT_KIND, add_len, target);
    MHD_get_connection_values_n(conn, MHD_HEADER_KIND, add_len, header);
}

/*
 * On a request's header: refuses at once what will not be served (bad
 * framing, shutdown, over the connection cap, a body announced too large: no
 * 100 Continue is sent then).
 */
static void admit(struct rstate *st, struct MHD_Connection *conn, const char *url, int nconns) {
    const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    long long announced = cl ? strtoll(cl, NULL, 10) : 0;
    bool probe = strcmp(st->path, "/healthz") == 0 || strcmp(st->path, "/readyz") == 0;
    const char *fault;
    size_t target, header;
    request_sizes(conn, url, &target, &header);
    /* The probe daemon's connections asked to be closed after their one request (accept.h);
     * its one thread must not run whatever a client might send next anyway. */
    const union MHD_ConnectionInfo *di = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_DAEMON);
    if (di && di->daemon == st->srv->probe_mhd)
        st->close_after = true;
    if (target > HTTP_TARGET_LIMIT) {
        st->close_after = true;
        reply_error(&st->req, ERR_URI_TOO_LONG,
                "the request target (path and query) has %zu bytes; deskd reads at most %d", target,
                HTTP_TARGET_LIMIT);
    } else if (header > HTTP_HEADER_LIMIT) {
        st->close_after = true;
        reply_error(&st->req, ERR_HEADER_TOO_LARGE,
                "the header fields have %zu bytes; deskd reads at most %d", header,
                HTTP_HEADER_LIMIT);
    } else if (bad_framing(conn)) {
        st->close_after = true;
        reply_error(&st->req, ERR_INVALID_PARAMETER,
                "Transfer-Encoding must be chunked alone, without Content-Length");
    } else if ((fault = header_faults(conn))) {
        st->close_after = true;
        reply_error(&st->req, ERR_MALFORMED_REQUEST, "%s", fault);
    } else if (atomic_load(&st->srv->stopping)) {
        st->close_after = true;
        reply_error(&st->req, ERR_SHUTTING_DOWN, "deskd is shutting down");
    } else if (nconns > HTTP_MAX_CONNECTIONS && !probe) {
        st->close_after = true;
        reply_error(&st->req, ERR_BUSY,
                "deskd serves at most %d connections at once and has %d; retry later",
                HTTP_MAX_CONNECTIONS, nconns);
    } else if (announced > (long long)st->body_limit && st->own_limit) {
        /* The route answers in its own protocol, before the body is sent (no 100 Continue). */
        st->req.body_too_large = true;
        dispatch(st->srv, st);
    } else if (announced > (long long)st->body_limit) {
        /* Refused before it is sent (no 100 Continue). */
        reply_error(
                &st->req, ERR_BODY_TOO_LARGE, "the request body exceeds %zu bytes", st->body_limit);
    }
}

/* Appends n bytes to the body, keeping it NUL-terminated; false when memory ran out. */
static bool append_body(struct rstate *st, const char *data, size_t n) {
    if (st->body_len + n + 1 > st->body_cap) {
        /* Doubling: a large body arrives in many small pieces. */
        size_t cap = st->body_cap ? st->body_cap : 4096;
        while (cap < st->body_len + n + 1)
            cap *= 2;
        char *nb = realloc(st->body, cap);
        if (!nb)
            return false;
        st->body = nb;
        st->body_cap = cap;
    }
    memcpy(st->body + st->body_len, data, n);
    st->body_len += n;
    st->body[st->body_len] = '\0';
    return true;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
        const char *method, const char *version, const char *upload_data, size_t *upload_data_size,
        void **con_cls) {
    (void)version;
    struct server *s = cls;
    struct rstate *st = *con_cls;

    if (!st) {
        st = calloc(1, sizeof *st);
        if (!st)
            return MHD_NO;
        st->start_ns = util_mono_ns();
        snprintf(st->method, sizeof st->method, "%s", method);
        snprintf(st->path, sizeof st->path, "%s", url);
        st->req.method = st->method;
        st->req.path = st->path;
        st->req.conn = conn;
        st->req.ctx = s->ctx;
        st->req.start_ns = st->start_ns;
        *con_cls = st;
        st->srv = s;
        const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        st->c = ci ? ci->socket_context : NULL;
        pthread_mutex_lock(&s->lock);
        s->in_flight++;
        int nconns = s->nconns;
        if (st->c) {
            st->c->in_request = st->c->in_body = true;
            st->c->since_ms = util_mono_ms();
        }
        pthread_mutex_unlock(&s->lock);
        log_msg(LOG_DEBUG, "%s %s started", st->method, st->path);
        unsigned flags = route_flags(s, method, url);
        st->body_limit = flags & ROUTE_BIG_BODY ? REQ_BIG_BODY_LIMIT : (size_t)REQ_BODY_LIMIT;
        st->own_limit = flags & ROUTE_OWN_LIMIT;
        admit(st, conn, url, nconns);
        return MHD_YES;
    }

    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (st->req.replied || st->body_too_big || st->body_len + n > st->body_limit) {
            st->body_too_big = true;
            return MHD_YES;
        }
        return append_body(st, upload_data, n) ? MHD_YES : MHD_NO;
    }

    bool control = false;
    if (st->c) {
        pthread_mutex_lock(&s->lock);
        st->c->in_body = false;
        control = st->c->control;
        pthread_mutex_unlock(&s->lock);
    }
    struct req *r = &st->req;
    if (r->replied)
        return MHD_YES;
    r->body = st->body;
    r->body_len = st->body_len;
    MHD_get_connection_values_n(conn, MHD_GET_ARGUMENT_KIND, collect_arg, st);
    if (control && !st->bad_arg) {
        reply_error(r, ERR_INVALID_PARAMETER,
                "the path may not contain control characters (after percent-decoding)");
    } else if (st->body_too_big && st->own_limit) {
        r->body = NULL;
        r->body_len = 0;
        r->body_too_large = true;
        dispatch(s, st);
    } else if (st->body_too_big) {
        reply_error(r, ERR_BODY_TOO_LARGE, "the request body exceeds %zu bytes", st->body_limit);
    } else if (r->nargs >= REQ_MAX_ARGS) {
        reply_error(r, ERR_INVALID_PARAMETER, "too many query parameters (at most %d)",
                REQ_MAX_ARGS - 1);
    } else if (st->bad_arg) {
        reply_error(r, ERR_INVALID_PARAMETER,
                "query parameter %s may not contain control characters (byte 0x%02x after "
                "percent-decoding)",
                st->bad_arg, st->bad_byte);
    } else {
        dispatch(s, st);
    }
    return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
        enum MHD_RequestTerminationCode toe) {
    (void)conn;
    struct server *s = cls;
    struct rstate *st = *con_cls;
    if (!st)
        return;
    *con_cls = NULL;
    const char *how = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (client gone)";
    log_msg(LOG_INFO, "%s %s %d %.1f ms%s", st->method, st->path, st->req.status,
            util_ms_since(st->start_ns), how);
    pthread_mutex_lock(&s->lock);
    if (st->c) {
        /* Kept alive: the next request's header phase begins. */
        st->c->in_request = st->c->in_body = st->c->control = false;
        st->c->since_ms = util_mono_ms();
    }
    if (--s->in_flight == 0)
        pthread_cond_broadcast(&s->drained);
    pthread_mutex_unlock(&s->lock);
    if (st->upgrade_arg)
        st->upgrade_discard(st->upgrade_arg);
    free(st->body);
    free(st);
}

static void on_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
        enum MHD_ConnectionNotificationCode toe) {
    struct server *s = cls;
    struct conn *c = *socket_context;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!(c = calloc(1, sizeof *c)))
            return;
        c->fd = ci ? ci->connect_fd : -1;
        c->since_ms = util_mono_ms();
        pthread_mutex_lock(&s->lock);
        c->next = s->conns;
        if (s->conns)
            s->conns->prev = c;
        s->conns = c;
        s->nconns++;
        pthread_mutex_unlock(&s->lock);
        *socket_context = c;
        return;
    }
    const union MHD_ConnectionInfo *di =
            MHD_get_connection_info(connection, MHD_CONNECTION_INFO_DAEMON);
    atomic_fetch_sub(di && di->daemon == s->probe_mhd ? &s->held_probe : &s->held_main, 1);
    if (!c)
        return;
    /* MHD closes the socket after this returns: off the list first, so the reaper cannot
     * shut down a descriptor number that has been reused. */
    pthread_mutex_lock(&s->lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    pthread_mutex_unlock(&s->lock);
    free(c);
    *socket_context = NULL;
}

/* Whether the reaper cuts c now (under the lock). */
static bool overdue(const struct server *s, const struct conn *c, int64_t now) {
    if (c->upgraded)
        return false; /* its owner closes it (deskd's bridge ends its sessions at shutdown) */
    if (atomic_load(&s->stopping))
        return !c->in_request;
    if (!c->in_request)
        return now - c->since_ms > HTTP_HEADER_MS;
    return c->in_body && now - c->since_ms > HTTP_BODY_MS;
}

static void *reaper(void *arg) {
    struct server *s = arg;
    pthread_mutex_lock(&s->lock);
    while (!s->reaper_quit) {
        int64_t now = util_mono_ms();
        for (struct conn *c = s->conns; c; c = c->next) {
            if (c->cut || c->fd < 0 || !overdue(s, c, now))
                continue;
            log_msg(LOG_DEBUG, "closing a connection %s",
                    atomic_load(&s->stopping) ? "at shutdown"
                    : c->in_request           ? "whose body is too slow"
                                              : "without a complete request header");
            shutdown(c->fd, SHUT_RDWR);
            c->cut = true;
        }
        struct timespec tick = util_abstime(CLOCK_MONOTONIC, 250);
        pthread_cond_timedwait(&s->reaper_wake, &s->lock, &tick);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
    (void)cls;
    char buf[512];
    vsnprintf(buf, sizeof buf, fmt, ap);
    buf[strcspn(buf, "\n")] = '\0';
    log_msg(LOG_DEBUG, "http: %s", buf);
}

int server_listen(const char *host, int port, int *bound_port) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
            .ai_socktype = SOCK_STREAM,
            .ai_flags = AI_NUMERICSERV | AI_PASSIVE};
    struct addrinfo *ai = NULL;
    char portbuf[16];
    snprintf(portbuf, sizeof portbuf, "%d", port);
    int rc = getaddrinfo(host, portbuf, &hints, &ai);
    if (rc != 0) {
        log_msg(LOG_ERROR, "cannot resolve listen address %s: %s", host, gai_strerror(rc));
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
            bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, HTTP_LISTEN_BACKLOG) < 0) {
        log_msg(LOG_ERROR, "cannot listen on %s:%d: %s", host, port, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    struct sockaddr_storage ss = {0};
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
        log_msg(LOG_ERROR, "cannot read the listening address: %s", strerror(errno));
        close(fd);
        return -1;
    }
    *bound_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                 : ((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

/*
 * The accept thread's hand-over. libmicrohttpd 0.9.75 keeps a lock for good
 * when a connection added with MHD_add_connection finds its daemon at
 * MHD_OPTION_CONNECTION_LIMIT (its new_connection_process_ returns without
 * unlocking; fixed upstream in 1.0.0), and the whole daemon stops. So deskd
 * counts what it hands each daemon itself, closes a connection past its own
 * cap here, and starts the daemons with twice that limit (MHD_LIMIT): MHD's
 * count runs behind deskd's only by connections being closed at that moment.
 */
#define MHD_LIMIT(cap) ((unsigned)(2 * (cap) + 16))

static void hand_to(
        struct server *s, bool probe, int fd, const struct sockaddr *addr, socklen_t len) {
    atomic_int *held = probe ? &s->held_probe : &s->held_main;
    int cap = probe ? HTTP_PROBE_CONNECTIONS : HTTP_HARD_CONNECTIONS;
    if (atomic_fetch_add(held, 1) >= cap) {
        atomic_fetch_sub(held, 1);
        log_msg(LOG_DEBUG, "http: %d connections are open; a new one is closed", cap);
        close(fd);
        return;
    }
    if (MHD_add_connection(probe ? s->probe_mhd : s->mhd, fd, addr, len) != MHD_YES) {
        atomic_fetch_sub(held, 1); /* MHD closed it without announcing it */
        log_msg(LOG_DEBUG, "http: a new connection was refused: %s", strerror(errno));
    }
}

static void hand_probe(void *arg, int fd, const struct sockaddr *addr, socklen_t len) {
    hand_to(arg, true, fd, addr, len);
}

static void hand_other(void *arg, int fd, const struct sockaddr *addr, socklen_t len) {
    hand_to(arg, false, fd, addr, len);
}

struct server *server_start(const struct server_config *cfg) {
    struct server *s = calloc(1, sizeof *s);
    if (!s) {
        close(cfg->listen_fd);
        return NULL;
    }
    s->listen_fd = cfg->listen_fd;
    s->port = cfg->port;
    s->routes = cfg->routes;
    s->ctx = cfg->ctx;
    s->acted = cfg->acted;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->drained, NULL);
    util_cond_init_monotonic(&s->reaper_wake);
    if (cfg->token && !(s->token = strdup(cfg->token)))
        goto error;
    if (!http_lib_errors_ready())
        goto error;
    /* Both take their connections from the accept thread (MHD_add_connection). */
    unsigned common = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC |
                      MHD_USE_ERROR_LOG;
    s->mhd = MHD_start_daemon(common | MHD_USE_THREAD_PER_CONNECTION | MHD_ALLOW_UPGRADE, 0, NULL,
            NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
            MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_NOTIFY_CONNECTION,
            on_connection, s, MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120, MHD_OPTION_CONNECTION_LIMIT,
            MHD_LIMIT(HTTP_HARD_CONNECTIONS), MHD_OPTION_END);
    /* poll, not epoll: 0.9.75's epoll loop leaves a multiple of 128 connections that became
     * ready together unserved until their timeout. */
    s->probe_mhd = MHD_start_daemon(common | MHD_USE_POLL, 0, NULL, NULL, on_request, s,
            MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
            s, MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_UNESCAPE_CALLBACK,
            unescape, NULL, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(HTTP_HEADER_MS / 1000),
            MHD_OPTION_CONNECTION_LIMIT, MHD_LIMIT(HTTP_PROBE_CONNECTIONS), MHD_OPTION_END);
    if (!s->mhd || !s->probe_mhd) {
        log_msg(LOG_ERROR, "cannot start the HTTP server");
        goto error;
    }
    if (pthread_create(&s->reaper, NULL, reaper, s) != 0) {
        log_msg(LOG_ERROR, "cannot start the HTTP connection reaper");
        goto error;
    }
    s->acceptor = acceptor_start(s->listen_fd, hand_probe, hand_other, s);
    s->listen_fd = -1; /* the acceptor's now, closed by it on failure too */
    if (!s->acceptor) {
        log_msg(LOG_ERROR, "cannot start the accept thread: %s", strerror(errno));
        pthread_mutex_lock(&s->lock);
        s->reaper_quit = true;
        pthread_cond_signal(&s->reaper_wake);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->reaper, NULL);
        goto error;
    }
    return s;
error:
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    if (s->mhd)
        MHD_stop_daemon(s->mhd);
    if (s->probe_mhd)
        MHD_stop_daemon(s->probe_mhd);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->drained);
    pthread_cond_destroy(&s->reaper_wake);
    free(s->token);
    free(s);
    return NULL;
}

int server_port(const struct server *s) {
    return s->port;
}

void server_stop(struct server *s, int grace_ms) {
    if (!s)
        return;
    /* Stop accepting first. Kept-alive connections are closed once their request is
     * answered (the reaper, and Connection: close). */
    acceptor_stop(s->acceptor);
    pthread_mutex_lock(&s->lock);
    atomic_store(&s->stopping, true);
    pthread_cond_signal(&s->reaper_wake);
    log_msg(LOG_INFO, "stopped accepting; finishing %d in-flight requests", s->in_flight);
    pthread_mutex_unlock(&s->lock);
    struct timespec deadline = util_abstime(CLOCK_REALTIME, grace_ms);
    pthread_mutex_lock(&s->lock);
    while (s->in_flight > 0) {
        if (pthread_cond_timedwait(&s->drained, &s->lock, &deadline) == ETIMEDOUT)
            break;
    }
    if (s->in_flight > 0)
        log_msg(LOG_WARN, "%d requests still running at shutdown", s->in_flight);
    pthread_mutex_unlock(&s->lock);
    MHD_stop_daemon(s->mhd);
    MHD_stop_daemon(s->probe_mhd);
    pthread_mutex_lock(&s->lock);
    s->reaper_quit = true;
    pthread_cond_signal(&s->reaper_wake);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->reaper, NULL);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->drained);
    pthread_cond_destroy(&s->reaper_wake);
    free(s->token);
    free(s);
}
