/*
 * test-httprand: randomized HTTP traffic against a real deskd supervising its
 * real desktop (Xvfb, xfce4, AT-SPI, x11vnc, noVNC). Four clients send a
 * bounded number of requests, each a valid request of one of the route
 * families (screenshots, mouse, keyboard, held input, batches, waits,
 * display, windows, clipboard, apps, recordings, a11y, MCP, the model tool
 * adapters, status and probes) mutated at random (bytes of the body
 * flipped, cut or inserted, values swapped for extremes, wrong types and
 * refused key names, query values with control bytes, other methods, a
 * wrong Content-Type), or broken
 * framing written on the socket, with the process routes (restarts of xvfb,
 * xfce4, x11vnc, noVNC; stop and start) among them.
 *
 * Checked: deskd stays alive throughout; every 4xx/5xx deskd makes carries a
 * JSON error with a sentence (a JSON-RPC error's message for /mcp; /readyz's
 * 503 is its status document; the answers to broken framing that the HTTP
 * library refuses before routing are JSON too, and counted apart);
 * afterwards nothing is held (GET /computeruse/input/held empty once the
 * hold timeout passed, and the X server's keymap and pointer buttons clear),
 * the desktop comes back to "active", and deskd exits cleanly (sanitizers).
 *
 * The run is reproducible per client: the seed is printed, and
 * DESK_RAND_SEED=N runs the same requests again (their interleaving differs).
 * DESK_RAND_COUNT=N changes the number of requests (default 3000).
 */
#define _GNU_SOURCE
#include <X11/Xlib.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "stack-util.h"

#define CLIENTS 4
/* A request's answer is awaited this long; longer ones (a wait of 60 s) are let go. */
#define ANSWER_MS 8000
/* Requests stop being sent after this long, whatever the count. */
#define BUDGET_MS 75000
/* deskd releases what keyboard/down and mouse/down hold after this many idle seconds. */
#define HOLD_TIMEOUT_S "2"

static struct deskd_proc d;
static atomic_bool stop_sending;
static atomic_int finished;

/* ---- a small PRNG per client (splitmix64: reproducible from the seed) ---- */

static uint64_t next(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static unsigned pick(uint64_t *s, unsigned n) {
    return (unsigned)(next(s) % n);
}

/* ---- the requests ---- */

struct tmpl {
    const char *method, *path, *body;
};

static const struct tmpl valid[] = {
        {"GET", "/computeruse/screenshot", NULL},
        {"GET", "/computeruse/screenshot?showCursor=true", NULL},
        {"GET", "/computeruse/screenshot/region?x=0&y=0&width=64&height=48", NULL},
        {"GET", "/computeruse/screenshot/compressed?format=jpeg&quality=40&scale=0.5", NULL},
        {"GET",
                "/computeruse/screenshot/region/"
                "compressed?x=10&y=10&width=100&height=80&format=webp",
                NULL},
        {"GET", "/computeruse/screenshot/compressed?fit=xga&ifChangedSince=1", NULL},
        {"GET", "/computeruse/mouse/position", NULL},
        {"POST", "/computeruse/mouse/move", "{\"x\": 100, \"y\": 120}"},
        {"POST", "/computeruse/mouse/move",
                "{\"x\": 10, \"y\": 12, \"space\": {\"width\": 1024, \"height\": 768}}"},
        {"POST", "/computeruse/mouse/click", "{\"x\": 600, \"y\": 5, \"button\": \"right\"}"},
        {"POST", "/computeruse/mouse/drag",
                "{\"startX\": 10, \"startY\": 10, \"endX\": 50, \"endY\": 60}"},
        {"POST", "/computeruse/mouse/scroll",
                "{\"x\": 300, \"y\": 300, \"direction\": \"down\", \"amount\": 2}"},
        {"POST", "/computeruse/mouse/down", "{\"button\": \"left\"}"},
        {"POST", "/computeruse/mouse/up", "{\"button\": \"left\"}"},
        {"POST", "/computeruse/keyboard/type", "{\"text\": \"abc\", \"delay\": 0}"},
        {"POST", "/computeruse/keyboard/key", "{\"key\": \"a\", \"modifiers\": [\"shift\"]}"},
        {"POST", "/computeruse/keyboard/hotkey", "{\"keys\": \"ctrl+a\"}"},
        {"POST", "/computeruse/keyboard/down", "{\"key\": \"shift\"}"},
        {"POST", "/computeruse/keyboard/up", "{\"key\": \"shift\"}"},
        {"GET", "/computeruse/input/held", NULL},
        {"POST", "/computeruse/input/release", "{}"},
        {"POST", "/computeruse/actions",
                "{\"actions\": [{\"type\": \"move\", \"x\": 5, \"y\": 5}, {\"type\": "
                "\"keyDown\", \"key\": \"ctrl\"}, {\"type\": \"keyUp\", \"key\": \"ctrl\"}, "
                "{\"type\": \"wait\", \"ms\": 10}], \"observe\": {\"screenshot\": {\"fit\": "
                "\"xga\", \"format\": \"jpeg\"}}}"},
        {"POST", "/computeruse/wait",
                "{\"until\": \"stable\", \"stableMs\": 50, \"timeoutMs\": 500}"},
        {"GET", "/computeruse/screen/changes?since=1", NULL},
        {"GET", "/computeruse/display/info", NULL},
        {"GET", "/computeruse/display/windows", NULL},
        {"POST", "/computeruse/windows/4194305/activate", NULL},
        {"POST", "/computeruse/windows/4194305/geometry",
                "{\"x\": 0, \"y\": 0, \"width\": 300, \"height\": 200}"},
        {"GET", "/computeruse/clipboard", NULL},
        {"POST", "/computeruse/clipboard", "{\"text\": \"hello\", \"selection\": \"primary\"}"},
        {"GET", "/computeruse/apps", NULL},
        {"POST", "/computeruse/apps/launch", "{\"argv\": [\"true\"]}"},
        {"POST", "/computeruse/apps/1/kill", NULL},
        {"GET", "/computeruse/recordings", NULL},
        {"POST", "/computeruse/recordings/start", "{\"label\": \"rand\"}"},
        {"POST", "/computeruse/recordings/stop", "{\"id\": \"nothing\"}"},
        {"GET", "/computeruse/recordings/nothing/events", NULL},
        {"GET", "/computeruse/a11y/tree?scope=focused&maxDepth=2", NULL},
        {"POST", "/computeruse/a11y/find",
                "{\"scope\": \"focused\", \"role\": \"push button\", \"limit\": 5}"},
        {"POST", "/computeruse/a11y/node/focus", "{\"id\": \"1:2\"}"},
        {"POST", "/mcp",
                "{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": \"initialize\", \"params\": "
                "{\"protocolVersion\": \"2025-06-18\"}}"},
        {"POST", "/mcp",
                "{\"jsonrpc\": \"2.0\", \"id\": 2, \"method\": \"tools/call\", \"params\": "
                "{\"name\": \"move\", \"arguments\": {\"x\": 1, \"y\": 2}}}"},
        {"DELETE", "/mcp", NULL},
        {"POST", "/computeruse/tools/anthropic",
                "{\"action\": \"left_click\", \"coordinate\": [512, 300], \"display\": "
                "{\"width\": 1366, \"height\": 768}}"},
        {"POST", "/computeruse/tools/anthropic", "{\"action\": \"key\", \"text\": \"ctrl+a\"}"},
        {"POST", "/computeruse/tools/openai",
                "{\"type\": \"computer_call\", \"action\": {\"type\": \"click\", \"x\": 10, "
                "\"y\": 20, \"button\": \"left\"}}"},
        {"GET", "/computeruse/status", NULL},
        {"GET", "/computeruse/process-status", NULL},
        {"GET", "/computeruse/process/xfce4/logs", NULL},
        {"GET", "/computeruse/process/xvfb/status", NULL},
        {"GET", "/computeruse/process/x11vnc/errors", NULL},
        {"GET", "/computeruse/vnc", NULL},
        {"GET", "/healthz", NULL},
        {"GET", "/readyz", NULL},
        {"HEAD", "/healthz", NULL},
};
#define NVALID (sizeof valid / sizeof valid[0])

/* The process routes: rarer, each takes the desktop (or part of it) away for a while. */
static const struct tmpl process[] = {
        {"POST", "/computeruse/process/xvfb/restart", NULL},
        {"POST", "/computeruse/process/xfce4/restart", NULL},
        {"POST", "/computeruse/process/x11vnc/restart", NULL},
        {"POST", "/computeruse/process/novnc/restart", NULL},
        {"POST", "/computeruse/process/atspi/restart", NULL},
        {"POST", "/computeruse/stop", NULL},
        {"POST", "/computeruse/start", NULL},
};

/* Broken framing, written as it is. */
static const char *const framing[] = {
        "GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        "POST /computeruse/mouse/move HTTP/1.1\r\nHost: x\r\nContent-Length: "
        "18446744073709551615\r\n\r\n",
        "POST /computeruse/mouse/move HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
        "Content-Length: 104857600\r\n\r\n",
        "POST /computeruse/mouse/move HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
        "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "POST /computeruse/mouse/move HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "ZZ\r\n{}\r\n0\r\n\r\n",
        "GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n",
        "BREW /computeruse/status HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n",
        "\x01\x02\x03 garbage \xff\r\n\r\n",
        "GET /computeruse/status%00x HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /computeruse/screenshot?x=%ZZ HTTP/1.1\r\nHost: x\r\n\r\n",
        "POST /computeruse/keyboard/type HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 3\r\n\r\n{\"t",
};
#define NFRAMING (sizeof framing / sizeof framing[0])

static const char *const methods[] = {
        "GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "CONNECT", "FOO"};
/* JSON values that replace a number or a string of a body. */
static const char *const values[] = {"-1", "0", "1e308", "-2147483649", "9223372036854775807",
        "0.5", "null", "\"\"", "[]", "{}", "true", "\"Terminate_Server\"", "\"SlowKeys_Enable\"",
        "\"StickyKeys_Enable\"", "\"Pointer_Button1\"", "\"ISO_Next_Group\"", "\"\\u0000\"",
        "\"ctrl+alt+BackSpace\"", "\"\\ud800\"", "1.5", "-0", "\"0x10\""};
/* Query values that replace one. */
static const char *const qvalues[] = {"%00", "1%00junk", "-1", "99999999999", "0x10", "", "%ff",
        "1e3", "png%0a", "%20", "true", "NaN"};

struct buf {
    char *p;
    size_t len, cap;
};

static void put(struct buf *b, const void *s, size_t n) {
    if (n > SIZE_MAX / 4)
        abort();
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            abort();
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void puts_(struct buf *b, const char *s) {
    put(b, s, strlen(s));
}

/* The body, mutated: values swapped, bytes flipped, cut, inserted, nested, duplicated. */
static void mutate_body(uint64_t *rs, struct buf *out, const char *body) {
    puts_(out, body);
    int n = 1 + (int)pick(rs, 3);
    for (int k = 0; k < n && out->len; k++) {
        size_t at = pick(rs, (unsigned)out->len);
        switch (pick(rs, 8)) {
        case 0: /* flip a byte */
            out->p[at] = (char)(out->p[at] ^ (1 << pick(rs, 8)));
            break;
        case 1: /* cut */
            out->len = at;
            out->p[at] = '\0';
            break;
        case 2: { /* a value after a colon swapped for another */
            char *colon = strchr(out->p + at, ':');
            if (!colon)
                break;
            size_t vstart = (size_t)(colon - out->p) + 1;
            size_t vend = vstart + strcspn(out->p + vstart, ",}]");
            struct buf nb = {0};
            put(&nb, out->p, vstart);
            puts_(&nb, values[pick(rs, sizeof values / sizeof values[0])]);
            puts_(&nb, out->p + vend);
            free(out->p);
            *out = nb;
            break;
        }
        case 3: { /* a duplicate member */
            char *brace = strchr(out->p, '{');
            if (brace && brace[1] == '"') {
                struct buf nb = {0};
                put(&nb, out->p, (size_t)(brace - out->p) + 1);
                puts_(&nb, "\"x\": 1, \"x\": 2, ");
                puts_(&nb, brace + 1);
                free(out->p);
                *out = nb;
            }
            break;
        }
        case 4: { /* deep nesting */
            struct buf nb = {0};
            for (int i = 0; i < 3000; i++)
                put(&nb, "[", 1);
            puts_(&nb, out->p);
            for (int i = 0; i < 3000; i++)
                put(&nb, "]", 1);
            free(out->p);
            *out = nb;
            break;
        }
        case 5: { /* a long string member */
            struct buf nb = {0};
            puts_(&nb, "{\"text\": \"");
            for (int i = 0; i < 20000; i++)
                put(&nb, "\xc3\xa9", 2);
            puts_(&nb, "\", \"key\": \"");
            for (int i = 0; i < 300; i++)
                put(&nb, "a", 1);
            puts_(&nb, "\"}");
            free(out->p);
            *out = nb;
            break;
        }
        case 6: /* a random byte inserted */ {
            char c = (char)pick(rs, 256);
            struct buf nb = {0};
            put(&nb, out->p, at);
            put(&nb, &c, 1);
            puts_(&nb, out->p + at);
            free(out->p);
            *out = nb;
            break;
        }
        default: /* not JSON at all */
            out->len = 0;
            puts_(out, pick(rs, 2) ? "not json" : "");
            break;
        }
    }
}

/* The path: a query value swapped, a control byte, many arguments, an odd segment. */
static void mutate_path(uint64_t *rs, struct buf *out, const char *path) {
    const char *q = strchr(path, '?');
    switch (pick(rs, 5)) {
    case 0:
        if (q) {
            const char *eq = strchr(q, '=');
            put(out, path, (size_t)(eq - path) + 1);
            puts_(out, qvalues[pick(rs, sizeof qvalues / sizeof qvalues[0])]);
            puts_(out, eq + 1 + strcspn(eq + 1, "&"));
            return;
        }
        break;
    case 1:
        puts_(out, path);
        puts_(out, q ? "&" : "?");
        for (int i = 0; i < 40; i++)
            puts_(out, i ? "&k=v" : "k=v");
        return;
    case 2:
        puts_(out, path);
        puts_(out, "/../..%2f%2e%2e");
        return;
    case 3:
        puts_(out, path);
        puts_(out, q ? "&x=%01" : "?x=%01");
        return;
    default:
        break;
    }
    puts_(out, path);
    puts_(out, q ? "&unknown=1" : "//");
}

/* One request's bytes; *kind says what it is (framing answers are judged apart). */
enum kind { K_VALID, K_PROCESS, K_FRAMING };

static void make_request(uint64_t *rs, struct buf *req, enum kind *kind, int *tmpl_index) {
    unsigned r = pick(rs, 1000);
    *tmpl_index = -1;
    if (r < 60) {
        *kind = K_FRAMING;
        puts_(req, framing[pick(rs, NFRAMING)]);
        return;
    }
    const struct tmpl *t;
    if (r < 70) {
        *kind = K_PROCESS;
        t = &process[pick(rs, sizeof process / sizeof process[0])];
    } else {
        *kind = K_VALID;
        *tmpl_index = (int)pick(rs, NVALID);
        t = &valid[*tmpl_index];
    }
    /* A quarter stay as they are, so the desktop is also driven for real. */
    bool mutate = *kind == K_VALID && pick(rs, 4) != 0;
    const char *method = t->method;
    struct buf path = {0}, body = {0};
    unsigned what = mutate ? pick(rs, 10) : 99;
    if (what == 0)
        method = methods[pick(rs, sizeof methods / sizeof methods[0])];
    if (what == 1 || what == 2)
        mutate_path(rs, &path, t->path);
    else
        puts_(&path, t->path);
    if (t->body && what >= 3 && what <= 8)
        mutate_body(rs, &body, t->body);
    else if (t->body)
        puts_(&body, t->body);
    const char *ctype = what == 9 ? "text/plain" : "application/json";
    char head[512];
    snprintf(head, sizeof head,
            "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " SU_TOKEN
            "\r\nConnection: close\r\n",
            method, path.p);
    puts_(req, head);
    if (body.p) {
        snprintf(head, sizeof head, "Content-Type: %s\r\nContent-Length: %zu\r\n", ctype, body.len);
        puts_(req, head);
    }
    puts_(req, "\r\n");
    if (body.p)
        put(req, body.p, body.len);
    free(path.p);
    free(body.p);
}

/* ---- the client side of one exchange ---- */

struct answer {
    int status; /* 0: closed without an answer; -1: no answer in time */
    char ctype[64];
    char *body;
    size_t len;
    bool head_request;
};

static const char *find_header(const char *head, const char *name, char *out, size_t outlen) {
    size_t n = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':') {
            const char *v = p + 3 + n;
            v += strspn(v, " ");
            snprintf(out, outlen, "%.*s", (int)strcspn(v, "\r\n"), v);
            return out;
        }
    }
    return NULL;
}

static void dechunk(struct answer *a) {
    struct buf out = {0};
    const char *p = a->body, *end = a->body + a->len;
    while (p < end) {
        char *e;
        unsigned long n = strtoul(p, &e, 16);
        const char *data = strstr(e, "\r\n");
        if (!data || n == 0 || data + 2 + n > end)
            break;
        put(&out, data + 2, n);
        p = data + 2 + n + 2;
    }
    free(a->body);
    a->body = out.p ? out.p : strdup("");
    a->len = out.len;
}

static void exchange(const struct buf *req, int timeout_ms, struct answer *a) {
    memset(a, 0, sizeof *a);
    a->head_request = strncmp(req->p, "HEAD ", 5) == 0;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)d.port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        a->status = 0;
        if (fd >= 0)
            close(fd);
        return;
    }
    /* deskd may answer (413, 400) before it read all: a reset then is not a failure. */
    (void)!send(fd, req->p, req->len, MSG_NOSIGNAL);
    struct buf in = {0};
    int64_t deadline = su_ms() + timeout_ms;
    a->status = -1;
    for (;;) {
        int64_t left = deadline - su_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            break;
        char chunk[65536];
        ssize_t n = recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) {
            a->status = 0;
            break;
        }
        put(&in, chunk, (size_t)n);
        /* Complete once the header and Content-Length bytes are in (HEAD: the header). */
        char *eoh = strstr(in.p, "\r\n\r\n");
        char cl[32];
        if (eoh && (a->head_request ||
                           (find_header(in.p, "Content-Length", cl, sizeof cl) &&
                                   in.len - (size_t)(eoh + 4 - in.p) >= strtoull(cl, NULL, 10)))) {
            a->status = 0;
            break;
        }
    }
    close(fd);
    char *eoh = in.p ? strstr(in.p, "\r\n\r\n") : NULL;
    if (eoh && strncmp(in.p, "HTTP/1.", 7) == 0) {
        /* 100 Continue first, then the answer. */
        char *start = in.p;
        while (strncmp(start, "HTTP/1.1 100", 12) == 0 && strstr(start, "\r\n\r\n"))
            start = strstr(start, "\r\n\r\n") + 4;
        eoh = strstr(start, "\r\n\r\n");
        if (eoh && strlen(start) > 12) {
            *eoh = '\0';
            a->status = atoi(start + 9);
            find_header(start, "Content-Type", a->ctype, sizeof a->ctype);
            a->len = in.len - (size_t)(eoh + 4 - in.p);
            a->body = malloc(a->len + 1);
            memcpy(a->body, eoh + 4, a->len);
            a->body[a->len] = '\0';
            char te[32];
            if (find_header(start, "Transfer-Encoding", te, sizeof te) &&
                    strcasecmp(te, "chunked") == 0)
                dechunk(a);
        }
    }
    free(in.p);
}

/* The sentence of a deskd error body (or of /mcp's JSON-RPC error); NULL when there is none. */
static bool has_sentence(const struct answer *a) {
    json_t *j = a->body ? json_loadb(a->body, a->len, 0, NULL) : NULL;
    const char *m = json_string_value(json_object_get(j, "message"));
    if (!m)
        m = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
    bool ok = m && strlen(m) >= 12 && strchr(m, ' ') &&
              (json_string_value(json_object_get(j, "code")) ||
                      json_is_integer(json_object_get(json_object_get(j, "error"), "code")));
    json_decref(j);
    return ok;
}

/* ---- the clients ---- */

struct tally {
    long sent, by_class[6], timeouts, closed, library, bad, process;
    char first_bad[4][512];
};

static int count_per_client;
static uint64_t seed;

static void note_bad(
        struct tally *t, const struct buf *req, const struct answer *a, const char *why) {
    if (t->bad < 4)
        snprintf(t->first_bad[t->bad], sizeof t->first_bad[0], "%s: %d %.120s for \"%.160s\"", why,
                a->status, a->body ? a->body : "", req->p);
    t->bad++;
}

struct client_arg {
    int index;
    struct tally t;
};

static void *run_client(void *p) {
    struct client_arg *c = p;
    struct tally *t = &c->t;
    uint64_t rs = seed * 31 + (uint64_t)c->index;
    int64_t end = su_ms() + BUDGET_MS;
    for (int i = 0; i < count_per_client && su_ms() < end && !atomic_load(&stop_sending); i++) {
        struct buf req = {0};
        enum kind kind;
        int ti;
        make_request(&rs, &req, &kind, &ti);
        struct answer a;
        exchange(&req, kind == K_FRAMING ? 3000 : ANSWER_MS, &a);
        t->sent++;
        t->process += kind == K_PROCESS;
        if (a.status == -1) {
            t->timeouts++;
        } else if (a.status == 0) {
            t->closed++;
            /* Only broken framing may be closed without an answer (and a refused connection
             * is deskd gone). */
            if (kind != K_FRAMING)
                note_bad(t, &req, &a, "no answer");
        } else {
            t->by_class[a.status / 100 < 6 ? a.status / 100 : 0]++;
            bool json = strncmp(a.ctype, "application/json", 16) == 0;
            if (a.status >= 400 && !a.head_request) {
                if (kind == K_FRAMING && json && strstr(a.body, "\"path\":\"\""))
                    t->library++; /* refused by libmicrohttpd, before routing: see README */
                if (a.status == 503 && ti >= 0 && strcmp(valid[ti].path, "/readyz") == 0 && json &&
                        strstr(a.body, "\"status\""))
                    ; /* the readiness probe's 503 is its status document (API.md §17) */
                else if (!json || !has_sentence(&a))
                    note_bad(t, &req, &a, "an error without a JSON sentence");
            }
        }
        free(a.body);
        free(req.p);
    }
    atomic_fetch_add(&finished, 1);
    return NULL;
}

/* ---- the end state ---- */

static bool held_empty(void) {
    json_t *j = NULL;
    long st = su_call(&d, "GET", "/computeruse/input/held", NULL, NULL, &j);
    bool empty = st == 200 && json_array_size(json_object_get(j, "keys")) == 0 &&
                 json_array_size(json_object_get(j, "buttons")) == 0;
    json_decref(j);
    return empty;
}

/* The X server's own view: no key down in its keymap, no pointer button down. */
static bool x_clear(const char *dpy_name, char *what, size_t len) {
    Display *dpy = XOpenDisplay(dpy_name);
    if (!dpy) {
        snprintf(what, len, "cannot open %s", dpy_name);
        return false;
    }
    char keys[32];
    XQueryKeymap(dpy, keys);
    Window root, child;
    int rx, ry, wx, wy;
    unsigned mask = 0;
    XQueryPointer(dpy, DefaultRootWindow(dpy), &root, &child, &rx, &ry, &wx, &wy, &mask);
    int down = -1;
    for (int i = 0; i < 256 && down < 0; i++)
        if (keys[i / 8] & (1 << (i % 8)))
            down = i;
    XCloseDisplay(dpy);
    unsigned buttons = mask & (Button1Mask | Button2Mask | Button3Mask | Button4Mask | Button5Mask);
    snprintf(what, len, "keycode %d down, buttons 0x%x", down, buttons);
    return down < 0 && buttons == 0;
}

/* Stops what the traffic left recording. */
static void stop_recordings(void) {
    json_t *j = NULL;
    su_call(&d, "GET", "/computeruse/recordings", NULL, NULL, &j);
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(j, "recordings"), i, r) {
        const char *id = json_string_value(json_object_get(r, "id"));
        const char *status = json_string_value(json_object_get(r, "status"));
        if (id && status && strcmp(status, "recording") == 0) {
            char body[256];
            snprintf(body, sizeof body, "{\"id\": \"%s\"}", id);
            su_call(&d, "POST", "/computeruse/recordings/stop", body, "application/json", NULL);
        }
    }
    json_decref(j);
}

int main(void) {
    check_timeout(240);
    check_require_tool("Xvfb");
    check_require_tool("xfce4-session");
    check_require_tool("x11vnc");
    check_require_tool("ffmpeg");
    const char *s_seed = getenv("DESK_RAND_SEED"), *s_count = getenv("DESK_RAND_COUNT");
    seed = s_seed ? strtoull(s_seed, NULL, 10) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
    int count = s_count ? atoi(s_count) : 3000;
    count_per_client = (count + CLIENTS - 1) / CLIENTS;
    printf("seed %llu (to repeat: DESK_RAND_SEED=%llu), %d requests\n", (unsigned long long)seed,
            (unsigned long long)seed, count);
    fflush(stdout);

    struct su_desktop s;
    if (su_desktop_prepare(&s, "httprand") < 0)
        return check_finish();
    setenv("DESK_HOLD_TIMEOUT", HOLD_TIMEOUT_S, 1);
    const char *args[] = {"--token", SU_TOKEN, "--display", s.dpy, "--vnc-port", s.vnc,
            "--novnc-port", s.novnc, "--state-dir", s.state, NULL};
    if (deskd_start(&d, s.dpy, args) < 0) {
        CHECK(0, "deskd started");
        return check_finish();
    }
    CHECK(su_wait_status(&d, "active", 90000) >= 0, "the desktop is up");

    struct client_arg c[CLIENTS];
    pthread_t th[CLIENTS];
    int64_t t0 = su_ms();
    for (int i = 0; i < CLIENTS; i++) {
        memset(&c[i], 0, sizeof c[i]);
        c[i].index = i;
        CHECK(pthread_create(&th[i], NULL, run_client, &c[i]) == 0, "client %d", i);
    }
    /* deskd alive throughout: looked at while the clients run. */
    bool alive = true;
    while (atomic_load(&finished) < CLIENTS && (alive = deskd_alive(&d)))
        usleep(100 * 1000);
    atomic_store(&stop_sending, true);
    CHECK(alive, "deskd is alive throughout the traffic");
    for (int i = 0; i < CLIENTS; i++)
        pthread_join(th[i], NULL);
    struct tally all = {0};
    for (int i = 0; i < CLIENTS; i++) {
        all.sent += c[i].t.sent;
        all.timeouts += c[i].t.timeouts;
        all.closed += c[i].t.closed;
        all.library += c[i].t.library;
        all.process += c[i].t.process;
        all.bad += c[i].t.bad;
        for (int k = 0; k < 6; k++)
            all.by_class[k] += c[i].t.by_class[k];
        for (long k = 0; k < c[i].t.bad && k < 4; k++)
            fprintf(stderr, "  client %d: %s\n", i, c[i].t.first_bad[k]);
    }
    printf("%ld requests in %lld ms (%ld process routes): 1xx %ld, 2xx %ld, 3xx %ld, 4xx %ld, "
           "5xx %ld; closed %ld, no answer within the client's wait %ld, the HTTP library's "
           "own %ld\n",
            all.sent, (long long)(su_ms() - t0), all.process, all.by_class[1], all.by_class[2],
            all.by_class[3], all.by_class[4], all.by_class[5], all.closed, all.timeouts,
            all.library);
    CHECK(all.bad == 0, "%ld answers broke the rules (first ones above)", all.bad);
    CHECK(all.sent >= 200, "enough requests were sent (%ld)", all.sent);
    CHECK(all.by_class[2] > 0 && all.by_class[4] > 0, "both successes and refusals were seen");
    CHECK(deskd_alive(&d), "deskd is alive after the traffic");

    /* The desktop comes back, and nothing is held. */
    stop_recordings();
    CHECK_INT(su_call(&d, "POST", "/computeruse/start", NULL, NULL, NULL), 200);
    long waited = su_wait_status(&d, "active", 90000);
    CHECK(waited >= 0, "the desktop is active again");
    CHECK_INT(su_call(&d, "GET", "/readyz", NULL, NULL, NULL), 200);
    bool empty = false;
    for (int ms = 0; !(empty = held_empty()) && ms < 10000; ms += 100)
        usleep(100 * 1000);
    CHECK(empty, "GET /computeruse/input/held is empty after the hold timeout");
    char what[128] = "";
    bool clear = false;
    for (int ms = 0; !(clear = x_clear(s.dpy, what, sizeof what)) && ms < 5000; ms += 100)
        usleep(100 * 1000);
    CHECK(clear, "the X server has no key or button down: %s", what);
    CHECK_INT(su_call(&d, "GET", "/healthz", NULL, NULL, NULL), 200);

    CHECK_INT(deskd_stop(&d), 0);
    if (check_failed)
        deskd_dump_log(&d);
    else
        su_rm_rf(s.top);
    return check_finish();
}
