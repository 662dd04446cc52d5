/* http (tests): plain HTTP requests with libcurl, one fresh connection each. */
#ifndef DESK_TEST_HTTP_H
#define DESK_TEST_HTTP_H

#include <jansson.h>
#include <stddef.h>

struct http_resp {
    long status; /* 0 when the request failed at the transport level */
    char *body;  /* NUL-terminated */
    size_t len;
    char *headers; /* the raw response header block */
    double ms;     /* total time */
};

/*
 * method "GET" or "POST"; body may be NULL; headers is NULL or a NULL-terminated
 * list of "Name: value" lines. Returns 0, or -1 when curl failed (status 0).
 */
int http_request(const char *method, const char *url, const char *body, const char *const *headers,
        struct http_resp *out);
int http_get(const char *url, struct http_resp *out);
/* The value of a response header, copied into buf; NULL when absent. */
const char *http_header(const struct http_resp *r, const char *name, char *buf, size_t len);
/* Parses the body as JSON; NULL when it is not JSON. */
json_t *http_json(const struct http_resp *r);
void http_resp_free(struct http_resp *r);

#endif
