/*
 * server: the HTTP side of deskd on libmicrohttpd. Owns the listening socket,
 * the per-request state, routing, bearer-token checks, body accumulation,
 * per-request log lines and graceful shutdown. Route handlers (api-*.c) see a
 * struct req and answer through the reply_* functions; they never touch MHD.
 */
#ifndef DESK_SERVER_H
#define DESK_SERVER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REQ_MAX_ARGS   32
#define REQ_BODY_LIMIT (1024 * 1024)

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
    struct MHD_Connection *conn;
    bool replied;
    int status;
    long retry_after_s; /* > 0: the reply carries Retry-After with it (a 503 for a busy queue) */
};

/* The first value of query argument key (exact match), or NULL. */
const char *req_arg(const struct req *r, const char *key);
/* A request header (case-insensitive, as HTTP says), or NULL. */
const char *req_header(const struct req *r, const char *name);
/*
 * Parses the body as a JSON object. Returns a new reference, or NULL after
 * replying 400 (not JSON, not an object).
 */
json_t *req_json_body(struct req *r);

/* True when the client has hung up (checked without blocking). */
bool req_client_gone(const struct req *r);

/* Sends root (reference stolen) with the given status. */
void reply_json(struct req *r, int status, json_t *root);
/* Sends a ready JSON text, taking ownership of the malloc'd buf. */
void reply_json_text(struct req *r, int status, char *buf, size_t len);
/* {"error": "<sentence>", "code": code} */
void reply_error(struct req *r, int status, const char *code, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
/*
 * Sends bytes with a content type; buf is copied. headers is NULL or a
 * NULL-terminated list of name, value pairs.
 */
void reply_bytes(struct req *r, int status, const char *mime, const void *buf, size_t len,
        const char *const *headers);

typedef void (*route_fn)(struct req *r);

struct route {
    const char *method;
    const char *pattern; /* exact path; one "*" segment matches a single path segment */
    route_fn fn;
    bool public; /* no token needed */
};

struct server_config {
    const char *host;
    int port;          /* 0 picks a free port */
    const char *token; /* NULL: no auth */
    const struct route *routes;
    size_t nroutes;
};

struct server;

/* Starts listening; returns NULL with a log line on failure. */
struct server *server_start(const struct server_config *cfg);
/* The port actually bound. */
int server_port(const struct server *s);
/*
 * Stops accepting, waits up to grace_ms for in-flight requests to finish, then
 * closes every connection and frees s. Accepts NULL.
 */
void server_stop(struct server *s, int grace_ms);

#endif
