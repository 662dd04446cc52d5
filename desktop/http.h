/*
 * http: the HTTP side of deskd on libmicrohttpd. Owns the listening socket,
 * the per-request state, routing with the route table (routes.c), bearer-token
 * checks, body accumulation with a cap, JSON bodies parsed once for the routes
 * that take them, error replies from the one error table (desk/wire.h),
 * per-request log lines and graceful shutdown. Route handlers (api-*.c) see a
 * struct req and answer through the reply_* functions; they never touch MHD.
 */
#ifndef DESK_HTTP_H
#define DESK_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "desk/wire.h"

#define REQ_MAX_ARGS   32
#define REQ_BODY_LIMIT (1024 * 1024)
/* The body limit of ROUTE_BIG_BODY routes: 16 MiB of text, escaped as JSON. */
#define REQ_BIG_BODY_LIMIT ((size_t)48 * 1024 * 1024)
/* Admission (see http.c): a request's header must arrive within HTTP_HEADER_MS of the connect
 * or of the previous reply, its body within HTTP_BODY_MS of the header; past
 * HTTP_MAX_CONNECTIONS open connections only the probes are served; past
 * HTTP_HARD_CONNECTIONS a new connection is closed at once. */
#define HTTP_HEADER_MS        10000
#define HTTP_BODY_MS          30000
#define HTTP_MAX_CONNECTIONS  256
#define HTTP_HARD_CONNECTIONS 768
/* Connections the probe server (accept.h) holds at most; past it a new one is closed. */
#define HTTP_PROBE_CONNECTIONS 256
/* The listen queue: a burst of connects while deskd is busy waits there, where past a
 * full queue the kernel drops the SYN and the client waits 1 s to send it again. The
 * kernel caps it at net.core.somaxconn (4096 by default). */
#define HTTP_LISTEN_BACKLOG 1024
/* A request target (path and query) and header fields longer than these are refused by
 * deskd (414, 431, JSON). libmicrohttpd answers by itself (HTML) only past the memory it
 * reads a request into, 32 KiB by default; a larger one would cost that much more resident
 * memory per connection. */
#define HTTP_TARGET_LIMIT 8192
#define HTTP_HEADER_LIMIT 16384

/* The wire error codes: ERR_INVALID_PARAMETER, ERR_PROCESS_NOT_FOUND, ... */
#define DESK_ERR_ENUM_(code, http, client, sentence) ERR_##code,
enum err_code { DESK_WIRE_ERRORS(DESK_ERR_ENUM_) };
#undef DESK_ERR_ENUM_

/* The code's name as sent ("INVALID_PARAMETER") and its HTTP status. */
const char *err_name(enum err_code code);
int err_http_status(enum err_code code);
/*
 * The body of every error answer: the JSON shape of Daytona's daemon (error,
 * message, code, statusCode, path, method, timestamp, source) with extra's
 * members added (extra may be NULL); error defaults to the sentence raw.
 * malloc'd text, or NULL when out of memory.
 */
char *http_error_text(enum err_code code, const char *error, const char *raw, const char *req_path,
        const char *method, const json_t *extra);
/*
 * Whether libmicrohttpd's own refusals will be answered with that JSON
 * (mhd-errors.c); false, after logging why, when its functions cannot be
 * found. Called before the server starts.
 */
bool http_lib_errors_ready(void);

struct req_capture;

struct req {
    const char *method;
    const char *path;
    /* Query arguments in arrival order, keys matched exactly (MHD's own lookup ignores case). */
    const char *arg_keys[REQ_MAX_ARGS];
    const char *arg_vals[REQ_MAX_ARGS];
    int nargs;
    const char *path_param; /* the segment matched by "*" in the route, or NULL */
    const char *body;       /* NUL-terminated, NULL when empty */
    size_t body_len;
    /* The body as a JSON object on ROUTE_JSON routes (borrowed: the dispatcher frees it). */
    json_t *json;
    /* What server_start was given as ctx: the daemon's state, for the handlers. */
    void *ctx;
    struct MHD_Connection *conn;
    bool replied;
    int status;
    long retry_after_s;  /* > 0: the reply carries Retry-After with it (a 503 for a busy queue) */
    json_t *error_extra; /* members reply_error adds to its object (it takes the reference) */
    int64_t start_ns;    /* when the request arrived (CLOCK_MONOTONIC, util_mono_ns) */
    /* ROUTE_OWN_LIMIT routes: the body was over the limit (r->body is then NULL). */
    bool body_too_large;
    /* Set for a request made by req_call: replies are kept there instead of sent. */
    struct req_capture *capture;
};

/* A reply kept by req_call instead of sent. */
struct req_capture {
    int status;
    char mime[64];
    char *body; /* malloc'd, NUL-terminated (len bytes before the NUL); NULL when empty */
    size_t len;
    long retry_after_s;      /* the route's Retry-After, 0 when none */
    const struct req *outer; /* the request that made the call (its client, its headers) */
};

/*
 * Runs the route of this server that method and path name, as a request of its
 * own made inside outer (same server, same token already checked): query
 * arguments args (NULL, or key, value pairs ended by NULL; borrowed), body
 * (a JSON object, borrowed, or NULL), the route's own body parsing, handler
 * and acted hook. The reply lands in *out (free out->body); an unknown route
 * is a 404 there, as on the wire. Headers read by the handler are outer's.
 */
void req_call(const struct req *outer, const char *method, const char *path,
        const char *const *args, json_t *body, struct req_capture *out);

/* The first value of query argument key (exact match), or NULL. */
const char *req_arg(const struct req *r, const char *key);
/* A request header (case-insensitive, as HTTP says), or NULL. */
const char *req_header(const struct req *r, const char *name);
/* The value of the request's cookie name, or NULL. */
const char *req_cookie(const struct req *r, const char *name);
/* True when the client has hung up (checked without blocking). */
bool req_client_gone(const struct req *r);

/* Sends root (reference stolen) with the given status. */
void reply_json(struct req *r, int status, json_t *root);
/* Sends a ready JSON text, taking ownership of the malloc'd buf. */
void reply_json_text(struct req *r, int status, char *buf, size_t len);
/*
 * The error reply of API.md §1 with code's HTTP status: {"error": sentence,
 * "message": sentence, "code", "statusCode", "path", "method", "timestamp",
 * "source": "DAYTONA_DAEMON"}. The sentence is made from fmt (it may quote
 * request data: invalid UTF-8 in it is replaced). 503s carry Retry-After.
 */
void reply_error(struct req *r, enum err_code code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/*
 * reply_error with Daytona's own "error" string (error, e.g. "recording not
 * found") kept as it is, and the sentence made from fmt as "message", which
 * Daytona's SDKs show. error NULL: the sentence is both, as reply_error.
 */
void reply_error_as(struct req *r, enum err_code code, const char *error, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
/*
 * Sends bytes with a content type (NULL: none, for a bodiless answer); buf
 * is copied. headers is NULL or a
 * NULL-terminated list of name, value pairs.
 */
void reply_bytes(struct req *r, int status, const char *mime, const void *buf, size_t len,
        const char *const *headers);

/*
 * Sends len bytes of the open file fd from offset, read by the server as the
 * client takes them (nothing is read into memory first). fd is taken over:
 * closed once sent, also on failure. headers as reply_bytes.
 */
void reply_fd(struct req *r, int status, const char *mime, int fd, uint64_t offset, uint64_t len,
        const char *const *headers);

/*
 * A connection taken over after a 101 Switching Protocols (a WebSocket). Its
 * owner reads and writes fd as it likes and ends it with http_upgraded_close
 * (which closes fd); never close(fd) itself.
 */
struct http_upgraded;
/* extra: bytes the client sent after its request header, already read (extra_len of them). */
typedef void (*upgrade_fn)(
        void *arg, int fd, const char *extra, size_t extra_len, struct http_upgraded *u);
/*
 * Answers 101 with headers (NULL, or name, value pairs ended by NULL; it must
 * name the Upgrade) and, once it is sent, calls fn on the request's thread
 * with the connection. When it is never sent (the client went away),
 * discard(arg) is called instead. Not for req_call requests.
 */
void reply_upgrade(struct req *r, const char *const *headers, upgrade_fn fn,
        void (*discard)(void *arg), void *arg);
/* Closes an upgraded connection (its fd too). */
void http_upgraded_close(struct http_upgraded *u);

typedef void (*route_fn)(struct req *r);

enum route_flags {
    ROUTE_PUBLIC = 1 << 0,   /* no token needed */
    ROUTE_JSON = 1 << 1,     /* the body must be a JSON object: parsed into r->json, else 400 */
    ROUTE_ACTS = 1 << 2,     /* it acts on the desktop: server_config's acted hook hears of it */
    ROUTE_BIG_BODY = 1 << 3, /* the body may have up to REQ_BIG_BODY_LIMIT bytes */
    /* The handler answers a body over the limit itself (r->body_too_large), in its own
     * protocol, after the token check; else the HTTP layer answers 413. */
    ROUTE_OWN_LIMIT = 1 << 4,
};

/*
 * One route. A GET route answers HEAD too. Tables end with a row whose method
 * is NULL.
 */
struct route {
    const char *method;
    /* exact path; one "*" segment matches a single path segment, a final "**" the rest */
    const char *pattern;
    route_fn fn;
    unsigned flags;
};

struct server_config {
    int listen_fd;     /* from server_listen; server_start takes it over (closes it on failure) */
    int port;          /* the port it is bound to */
    const char *token; /* NULL: no auth */
    /* Route tables, each ended by a NULL row, the list ended by NULL. */
    const struct route *const *routes;
    void *ctx; /* handed to every handler as r->ctx */
    /*
     * Called after a ROUTE_ACTS route answered (whatever the status), on the
     * request's thread, with r->json still readable (NULL when the body was
     * refused). May be NULL.
     */
    void (*acted)(const struct req *r);
};

struct server;

/* Starts listening; returns NULL with a log line on failure. */
struct server *server_start(const struct server_config *cfg);
/*
 * A listening TCP socket on host:port (port 0 picks a free one, *bound_port
 * says which), made before anything else starts so that a port in use stops
 * deskd before it starts a desktop. The fd, or -1 after logging why.
 */
int server_listen(const char *host, int port, int *bound_port);
/* The port actually bound. */
int server_port(const struct server *s);
/*
 * Stops accepting, waits up to grace_ms for in-flight requests to finish, then
 * closes every connection and frees s. Accepts NULL.
 */
void server_stop(struct server *s, int grace_ms);

#endif
