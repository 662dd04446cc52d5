/*
 * mcp-stdio: the stdio-to-Streamable-HTTP bridge of `desk mcp`. One libcurl
 * easy handle (its connection kept alive), one request per input line, in
 * order: MCP's stdio transport is a single ordered stream, and deskd answers
 * every request in its POST's reply (no event streams), so nothing else is
 * needed. Messages are passed through as they are; only deskd's session id is
 * the bridge's own state.
 */
#include "mcp-stdio.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* JSON-RPC's "server error" range: deskd did not answer the request itself. */
#define RPC_BRIDGE_ERROR (-32000)

struct buf {
    char *data;
    size_t len;
};

struct bridge {
    CURL *curl;
    char url[2048];
    char auth[1024]; /* "Authorization: Bearer ...", or "" */
    char session[128];
    struct buf reply;
};

static size_t on_body(char *data, size_t size, size_t n, void *arg) {
    struct buf *b = arg;
    size_t add = size * n;
    char *grown = realloc(b->data, b->len + add + 1);
    if (!grown)
        return 0;
    memcpy(grown + b->len, data, add);
    b->data = grown;
    b->len += add;
    b->data[b->len] = '\0';
    return add;
}

/* Keeps the Mcp-Session-Id deskd answers (initialize issues it). */
static size_t on_header(char *data, size_t size, size_t n, void *arg) {
    struct bridge *br = arg;
    size_t len = size * n;
    static const char name[] = "Mcp-Session-Id:";
    if (len > sizeof name - 1 && strncasecmp(data, name, sizeof name - 1) == 0) {
        const char *v = data + sizeof name - 1;
        size_t vlen = len - (sizeof name - 1);
        while (vlen && (*v == ' ' || *v == '\t'))
            v++, vlen--;
        while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
            vlen--;
        if (vlen < sizeof br->session) {
            memcpy(br->session, v, vlen);
            br->session[vlen] = '\0';
        }
    }
    return len;
}

/* Sends method (POST with body, or DELETE) to /mcp; the HTTP status, or -1 with err. */
static long send_mcp(struct bridge *br, const char *method, const char *body, size_t len, char *err,
        size_t errlen) {
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = curl_slist_append(h, "Accept: application/json, text/event-stream");
    if (br->auth[0])
        h = curl_slist_append(h, br->auth);
    char sess[160];
    if (br->session[0]) {
        snprintf(sess, sizeof sess, "Mcp-Session-Id: %s", br->session);
        h = curl_slist_append(h, sess);
    }
    free(br->reply.data);
    br->reply = (struct buf){0};
    curl_easy_setopt(br->curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(br->curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(br->curl, CURLOPT_POSTFIELDS, body ? body : "");
    curl_easy_setopt(br->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? len : 0));
    CURLcode rc = curl_easy_perform(br->curl);
    curl_slist_free_all(h);
    long status = -1;
    if (rc == CURLE_OK)
        curl_easy_getinfo(br->curl, CURLINFO_RESPONSE_CODE, &status);
    else
        snprintf(
                err, errlen, "deskd at %.200s did not answer: %s", br->url, curl_easy_strerror(rc));
    return status;
}

static void write_line(json_t *msg) {
    char *text = json_dumps(msg, JSON_COMPACT);
    if (text) {
        fputs(text, stdout);
        fputc('\n', stdout);
        fflush(stdout);
    }
    free(text);
}

/* Answers the request id (borrowed; nothing for a notification) with a bridge error. */
static void write_error(json_t *id, const char *sentence) {
    fprintf(stderr, "desk mcp: %s\n", sentence);
    if (!json_is_string(id) && !json_is_integer(id))
        return;
    json_t *e = json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0", "id", id, "error", "code",
            RPC_BRIDGE_ERROR, "message", sentence);
    write_line(e);
    json_decref(e);
}

/* Posts one input line and writes deskd's answer. */
static void relay(struct bridge *br, const char *line, size_t len) {
    json_t *in = json_loadb(line, len, 0, NULL);
    json_t *id = json_object_get(in, "id");
    char err[512];
    long status = send_mcp(br, "POST", line, len, err, sizeof err);
    json_t *out = br->reply.len ? json_loadb(br->reply.data, br->reply.len, 0, NULL) : NULL;
    if (status < 0) {
        write_error(id, err);
    } else if (json_is_string(json_object_get(out, "jsonrpc"))) {
        write_line(out); /* deskd's answer, a result or a JSON-RPC error */
    } else if (status >= 400) {
        /* Not JSON-RPC: the HTTP layer's own error (a wrong token's 401). */
        const char *why = json_string_value(json_object_get(out, "message"));
        snprintf(err, sizeof err, "deskd answered HTTP %ld: %s", status, why ? why : "no reason");
        write_error(id, err);
    }
    json_decref(out);
    json_decref(in);
}

int mcp_stdio_run(const char *base_url, const char *token, long timeout_ms) {
    struct bridge br = {0};
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || !(br.curl = curl_easy_init())) {
        fputs("desk mcp: libcurl could not start\n", stderr);
        return 1;
    }
    size_t n = strlen(base_url);
    while (n && base_url[n - 1] == '/')
        n--;
    snprintf(br.url, sizeof br.url, "%.*s/mcp", (int)n, base_url);
    if (token && *token)
        snprintf(br.auth, sizeof br.auth, "Authorization: Bearer %s", token);
    curl_easy_setopt(br.curl, CURLOPT_URL, br.url);
    curl_easy_setopt(br.curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(br.curl, CURLOPT_WRITEDATA, &br.reply);
    curl_easy_setopt(br.curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(br.curl, CURLOPT_HEADERDATA, &br);
    curl_easy_setopt(br.curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(br.curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 5000 ? timeout_ms : 5000);
    curl_easy_setopt(br.curl, CURLOPT_NOSIGNAL, 1L);

    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, stdin)) >= 0) {
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len)
            relay(&br, line, (size_t)len);
    }
    free(line);
    if (br.session[0]) {
        char err[512];
        send_mcp(&br, "DELETE", NULL, 0, err, sizeof err);
    }
    free(br.reply.data);
    curl_easy_cleanup(br.curl);
    curl_global_cleanup();
    return 0;
}
