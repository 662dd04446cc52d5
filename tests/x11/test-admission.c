/*
 * Admission and framing at the HTTP layer, over raw sockets where a client
 * library would hide what is sent: malformed framing, an oversized body with
 * Expect: 100-continue and control bytes in the path are answered at once with
 * JSON; HEAD works on the probes; slow clients are cut after the header
 * deadline while /healthz stays fast and other requests past the connection
 * cap get 503 BUSY; screenshots never wait more than about 2 s for an encoder;
 * SIGTERM closes idle kept-alive connections at once and answers in-flight
 * requests with Connection: close (typing stops early then: 503 CANCELLED).
 * What libmicrohttpd refuses by itself (a 40 KiB request line or header, an
 * HTTP version it does not speak, a malformed Content-Length or chunk) is
 * JSON too. Probes as kubelet sends them are answered by their own server,
 * kept-alive ones by the main one. A burst of connections while deskd cannot
 * accept waits in the listen queue rather than for a SYN retransmission;
 * past the connection caps new connections are closed and deskd goes on. A
 * second deskd on the same port exits 1 without crashing.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "deskproc.h"
#include "http.h"
#include "xserver.h"

/* HARD: deskd's HTTP_HARD_CONNECTIONS (desktop/http.h). */
enum {
    SLOW = 300,
    PNG_CLIENTS = 64,
    BURST = 600,
    OVER = 800,
    PROBES = 400,
    HARD = 768,
    READY_PROBES = 384
};

static struct deskd_proc d;

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int dial(void) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)d.port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads what arrives within ms (until the peer closes, or a pause of ms); returns bytes. */
static size_t read_for(int fd, char *buf, size_t cap, int ms) {
    size_t n = 0;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (n + 1 < cap && poll(&p, 1, ms) == 1) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        if (strstr(buf, "\r\n\r\n") && memchr(buf, '}', n))
            break;
    }
    buf[n] = '\0';
    return n;
}

/* Sends req on a new connection; the status of the answer within 2 s, its text in buf. */
static int raw(const char *req, char *buf, size_t cap, double *ms) {
    int fd = dial();
    if (fd < 0)
        return -1;
    double t0 = now_ms();
    int status = -1;
    if (write(fd, req, strlen(req)) == (ssize_t)strlen(req) && read_for(fd, buf, cap, 2000) > 0)
        sscanf(buf, "HTTP/1.1 %d", &status);
    *ms = now_ms() - t0;
    close(fd);
    return status;
}

static void framing(void) {
    static const struct {
        const char *req;
        int status;
        const char *code;
    } cases[] = {
            {"POST /computeruse/mouse/move HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, "
             "chunked\r\n\r\n",
                    400, "INVALID_PARAMETER"},
            {"POST /computeruse/mouse/move HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
             "Transfer-Encoding: chunked\r\n\r\n",
                    400, "INVALID_PARAMETER"},
            {"POST /computeruse/mouse/move HTTP/1.1\r\nHost: x\r\nContent-Length: "
             "18446744073709551615\r\n\r\n",
                    413, "BODY_TOO_LARGE"},
            {"POST /computeruse/keyboard/type HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
             "Content-Type: application/json\r\nContent-Length: 104857600\r\n\r\n",
                    413, "BODY_TOO_LARGE"},
            {"GET /healthz%00x HTTP/1.1\r\nHost: x\r\n\r\n", 400, "INVALID_PARAMETER"},
            /* Two lengths: the rest of the body would otherwise be read as a request. */
            {"POST /computeruse/mouse/move HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
             "Content-Length: 40\r\n\r\n{}GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
                    400, "MALFORMED_REQUEST"},
            {"GET /computeruse/mouse/position%01 HTTP/1.1\r\nHost: x\r\n\r\n", 400,
                    "INVALID_PARAMETER"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[4096];
        double ms;
        int status = raw(cases[i].req, buf, sizeof buf, &ms);
        CHECK(status == cases[i].status, "case %zu answered %d (want %d) in %.0f ms: %.300s", i,
                status, cases[i].status, ms, buf);
        CHECK(strstr(buf, cases[i].code) && strstr(buf, "application/json"),
                "case %zu: JSON with %s: %.300s", i, cases[i].code, buf);
        CHECK(!strstr(buf, "100 Continue"), "case %zu: no 100 Continue", i);
    }
    /* Over deskd's limits but within libmicrohttpd's memory: deskd's JSON 414 and 431. */
    char buf[4096];
    double ms;
    size_t big = 20000;
    char *req = malloc(big + 256);
    snprintf(req, big + 256, "GET /computeruse/mouse/position?x=%0*d HTTP/1.1\r\nHost: x\r\n\r\n",
            12000, 1);
    CHECK_INT(raw(req, buf, sizeof buf, &ms), 414);
    CHECK(strstr(buf, "URI_TOO_LONG") && strstr(buf, "application/json") &&
                    strstr(buf, "deskd reads at most 8192"),
            "a 12 kB target: JSON 414: %.300s", buf);
    snprintf(req, big + 256, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: %0*d\r\n\r\n",
            (int)big - 100, 1);
    CHECK_INT(raw(req, buf, sizeof buf, &ms), 431);
    CHECK(strstr(buf, "HEADER_TOO_LARGE") && strstr(buf, "application/json"),
            "a 20 kB header block: JSON 431: %.300s", buf);
    free(req);
    /* Past libmicrohttpd's own 32 KiB, and what it cannot parse: refused by the library,
     * answered with deskd's JSON. */
    static const struct {
        const char *head, *tail;
        int status;
        const char *code;
    } lib[] = {
            {"GET /computeruse/mouse/position?x=", " HTTP/1.1\r\nHost: x\r\n\r\n", 414,
                    "URI_TOO_LONG"},
            {"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ", "\r\n\r\n", 431, "HEADER_TOO_LARGE"},
            {"GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n", NULL, 505, "HTTP_VERSION_NOT_SUPPORTED"},
            {"POST /computeruse/mouse/move HTTP/1.1\r\nHost: x\r\nContent-Type: "
             "application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                    NULL, 400, "MALFORMED_REQUEST"},
    };
    size_t lbig = 40000;
    char *lreq = malloc(lbig + 512);
    for (size_t i = 0; lreq && i < sizeof lib / sizeof lib[0]; i++) {
        if (lib[i].tail)
            snprintf(lreq, lbig + 512, "%s%0*d%s", lib[i].head, (int)lbig, 1, lib[i].tail);
        else
            snprintf(lreq, lbig + 512, "%s", lib[i].head);
        int status = raw(lreq, buf, sizeof buf, &ms);
        CHECK(status == lib[i].status, "library case %zu answered %d (want %d): %.300s", i, status,
                lib[i].status, buf);
        CHECK(strstr(buf, "Content-Type: application/json") && strstr(buf, lib[i].code) &&
                        strstr(buf, "\"source\":\"DAYTONA_DAEMON\""),
                "library case %zu: deskd's JSON error %s: %.300s", i, lib[i].code, buf);
    }
    free(lreq);
    /* HEAD on the probes: the GET's status, no 405. */
    CHECK_INT(raw("HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n", buf, sizeof buf, &ms), 200);
    int ready = raw("HEAD /readyz HTTP/1.1\r\nHost: x\r\n\r\n", buf, sizeof buf, &ms);
    CHECK(ready == 200 || ready == 503, "HEAD /readyz answered %d", ready);
}

/*
 * Probes as kubelet sends them (one request, Connection: close) are served by
 * the probe server; the same probe on a kept-alive connection by the main one,
 * which then serves the next request on it.
 */
static void probe_server(void) {
    char buf[4096];
    double ms;
    CHECK_INT(raw("GET /healthz HTTP/1.1\r\nHost: x\r\nUser-Agent: kube-probe/1.30\r\n"
                  "Accept: */*\r\nConnection: close\r\n\r\n",
                      buf, sizeof buf, &ms),
            200);
    CHECK(strstr(buf, "Connection: close") && strstr(buf, "\"status\":\"ok\""),
            "kubelet's probe: %.300s", buf);
    int ready = raw(
            "HEAD /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", buf, sizeof buf, &ms);
    CHECK(ready == 200 || ready == 503, "HEAD /readyz answered %d", ready);
    CHECK(!strchr(buf, '{'), "HEAD has no body: %.300s", buf);
    ready = raw("GET /readyz HTTP/1.0\r\n\r\n", buf, sizeof buf, &ms);
    CHECK((ready == 200 || ready == 503) && strstr(buf, "\"status\""), "HTTP/1.0 /readyz: %.300s",
            buf);

    int fd = dial();
    const char *first = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    const char *next = "GET /computeruse/mouse/position HTTP/1.1\r\nHost: x\r\n\r\n";
    CHECK(fd >= 0 && write(fd, first, strlen(first)) == (ssize_t)strlen(first), "kept-alive probe");
    size_t n = read_for(fd, buf, sizeof buf, 2000);
    CHECK(n > 0 && strstr(buf, " 200 ") && !strstr(buf, "Connection: close"),
            "kept-alive probe: %.300s", buf);
    CHECK(write(fd, next, strlen(next)) == (ssize_t)strlen(next), "second request");
    n = read_for(fd, buf, sizeof buf, 2000);
    CHECK(n > 0 && strstr(buf, " 200 ") && strstr(buf, "\"x\""),
            "the request after a kept-alive probe: %.300s", buf);
    close(fd);
}

/* Slow clients: header lines a trickle at a time, never the blank line that ends it. */
static void slow_clients(void) {
    static int fd[SLOW];
    int open_n = 0;
    for (int i = 0; i < SLOW; i++) {
        fd[i] = dial();
        if (fd[i] >= 0 && write(fd[i], "GET /computeruse/status HTTP/1.1\r\nHost: x\r\n", 43) > 0)
            open_n++;
    }
    CHECK_INT(open_n, SLOW);
    double t0 = now_ms();

    /* Beyond the cap: the probe is served, and fast; anything else is refused early. */
    char url[128];
    struct http_resp r;
    snprintf(url, sizeof url, "%s/healthz", d.url);
    http_get(url, &r);
    CHECK_INT(r.status, 200);
    fprintf(stderr, "/healthz with %d slow connections: %.1f ms\n", SLOW, r.ms);
    CHECK(r.ms < 1000, "/healthz took %.0f ms", r.ms);
    http_resp_free(&r);
    snprintf(url, sizeof url, "%s/computeruse/mouse/position", d.url);
    http_get(url, &r);
    char ra[16];
    CHECK(r.status == 503 && strstr(r.body, "\"BUSY\"") &&
                    http_header(&r, "Retry-After", ra, sizeof ra),
            "over the cap: %ld %.300s", r.status, r.body ? r.body : "");
    http_resp_free(&r);

    /* A line every half second keeps each connection busy; the header deadline still ends
     * them. */
    int closed = 0;
    bool gone[SLOW] = {false};
    for (double end = t0 + 10000 + 4000; closed < SLOW && now_ms() < end;) {
        struct pollfd p[SLOW];
        for (int i = 0; i < SLOW; i++)
            p[i] = (struct pollfd){.fd = gone[i] ? -1 : fd[i], .events = POLLIN};
        if (poll(p, SLOW, 500) > 0) {
            for (int i = 0; i < SLOW; i++) {
                char b[256];
                if (!gone[i] && (p[i].revents & (POLLIN | POLLHUP | POLLERR)) &&
                        read(fd[i], b, sizeof b) <= 0) {
                    gone[i] = true;
                    closed++;
                }
            }
        }
        for (int i = 0; i < SLOW; i++)
            if (!gone[i] && write(fd[i], "X-Slow: 1\r\n", 11) < 0)
                gone[i] = true, closed++;
    }
    fprintf(stderr, "%d of %d slow connections closed by deskd after %.1f s\n", closed, SLOW,
            (now_ms() - t0) / 1000);
    CHECK_INT(closed, SLOW);
    for (int i = 0; i < SLOW; i++)
        close(fd[i]);
}

/*
 * A burst of connections while deskd cannot accept (stopped here, as a busy
 * moment would hold it): the kernel completes them all into the listen
 * queue. A queue too short drops the SYNs past it, and each of those clients,
 * an orchestrator's probe among them, waits a second for its SYN to be sent
 * again.
 */
static void connect_burst(void) {
    static int fd[BURST];
    CHECK(kill(d.pid, SIGSTOP) == 0, "SIGSTOP deskd: %s", strerror(errno));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)d.port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < BURST; i++) {
        fd[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd[i] >= 0 && connect(fd[i], (struct sockaddr *)&sa, sizeof sa) < 0 &&
                errno != EINPROGRESS) {
            close(fd[i]);
            fd[i] = -1;
        }
    }
    /* Established within half a second (well before a SYN's first retransmission at 1 s). */
    int up = 0;
    bool done[BURST] = {false};
    for (double end = now_ms() + 500; up < BURST && now_ms() < end;) {
        struct pollfd p[BURST];
        for (int i = 0; i < BURST; i++)
            p[i] = (struct pollfd){.fd = done[i] ? -1 : fd[i], .events = POLLOUT};
        if (poll(p, BURST, 50) <= 0)
            continue;
        for (int i = 0; i < BURST; i++) {
            int err = -1;
            socklen_t len = sizeof err;
            if (!done[i] && (p[i].revents & POLLOUT) &&
                    getsockopt(fd[i], SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
                done[i] = true, up++;
        }
    }
    CHECK(kill(d.pid, SIGCONT) == 0, "SIGCONT deskd: %s", strerror(errno));
    fprintf(stderr, "%d of %d connections established while deskd was stopped\n", up, BURST);
    CHECK_INT(up, BURST);
    for (int i = 0; i < BURST; i++)
        if (fd[i] >= 0)
            close(fd[i]);
    /* deskd accepts and drops the closed ones, and answers the next probe. */
    char url[128];
    struct http_resp r;
    snprintf(url, sizeof url, "%s/healthz", d.url);
    http_get(url, &r);
    CHECK_INT(r.status, 200);
    http_resp_free(&r);
}

/* deskd's thread count (/proc), or -1. */
static long deskd_threads(void) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)d.pid);
    FILE *f = fopen(path, "r");
    long n = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "Threads: %ld", &n) == 1)
            break;
    if (f)
        fclose(f);
    return n;
}

/*
 * Past the hard cap (768 connections) new connections are closed at once,
 * and deskd goes on serving: libmicrohttpd 0.9.75 deadlocks for good when a
 * connection handed to it finds it at its own limit, so deskd must never let
 * that happen. The same for a burst of probes past the probe server's cap.
 */
static void over_the_cap(void) {
    static int fd[OVER];
    int opened = 0;
    for (int i = 0; i < OVER; i++)
        opened += (fd[i] = dial()) >= 0;
    CHECK_INT(opened, OVER);
    /* Silent, they go to the main server after 200 ms; those past the cap are closed. */
    int closed = 0;
    bool gone[OVER] = {false};
    for (double end = now_ms() + 5000; closed < OVER - HARD && now_ms() < end;) {
        struct pollfd p[OVER];
        for (int i = 0; i < OVER; i++)
            p[i] = (struct pollfd){.fd = gone[i] ? -1 : fd[i], .events = POLLIN};
        if (poll(p, OVER, 100) > 0)
            for (int i = 0; i < OVER; i++)
                if (p[i].revents)
                    gone[i] = true, closed++;
    }
    fprintf(stderr, "%d of %d connections closed past the cap\n", closed, OVER);
    CHECK(closed >= OVER - HARD, "closed past the cap: %d", closed);
    for (int i = 0; i < OVER; i++)
        close(fd[i]);

    /* PROBES probes at once, more than the probe server holds. */
    const char *probe = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    for (int i = 0; i < PROBES; i++)
        if ((fd[i] = dial()) >= 0 && write(fd[i], probe, strlen(probe)) < 0)
            fd[i] = (close(fd[i]), -1);
    int answered = 0;
    for (int i = 0; i < PROBES; i++) {
        char buf[512];
        answered +=
                fd[i] >= 0 && read_for(fd[i], buf, sizeof buf, 2000) > 0 && strstr(buf, " 200 ");
        if (fd[i] >= 0)
            close(fd[i]);
    }
    fprintf(stderr, "%d of %d probes sent at once answered\n", answered, PROBES);

    /* Both servers answer again once the closed connections' threads are gone (a second or
     * so under ASan; never, when libmicrohttpd deadlocked). */
    char buf[4096];
    double ms, t0 = now_ms();
    int probe_st = 0, api_st = 0;
    long threads = -1;
    while (now_ms() - t0 < 15000 && (probe_st != 200 || api_st != 200 || threads > 32)) {
        probe_st = raw(probe, buf, sizeof buf, &ms);
        api_st = raw("GET /computeruse/mouse/position HTTP/1.1\r\nHost: x\r\n\r\n", buf, sizeof buf,
                &ms);
        threads = deskd_threads();
    }
    fprintf(stderr, "after the caps: probe %d, API %d, %ld deskd threads, %.0f ms later\n",
            probe_st, api_st, threads, now_ms() - t0);
    CHECK(probe_st == 200 && api_st == 200 && threads <= 32,
            "deskd serves again after the caps: probe %d, API %d, %ld threads", probe_st, api_st,
            threads);
}

/*
 * Probes that all become readable at once (sent while deskd was stopped):
 * each answered or, past the probe server's 256, closed, within seconds.
 * libmicrohttpd 0.9.75's epoll loop left a multiple of 128 ready connections
 * unserved until their 10 s timeout; the probe server polls instead.
 */
static void probes_ready_at_once(void) {
    static int fd[READY_PROBES];
    const char *probe = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    CHECK(kill(d.pid, SIGSTOP) == 0, "SIGSTOP deskd: %s", strerror(errno));
    for (int i = 0; i < READY_PROBES; i++)
        if ((fd[i] = dial()) >= 0 && write(fd[i], probe, strlen(probe)) < 0)
            fd[i] = (close(fd[i]), -1);
    CHECK(kill(d.pid, SIGCONT) == 0, "SIGCONT deskd: %s", strerror(errno));
    int answered = 0, closed = 0;
    bool done[READY_PROBES] = {false};
    double t0 = now_ms();
    while (answered + closed < READY_PROBES && now_ms() - t0 < 5000) {
        struct pollfd p[READY_PROBES];
        for (int i = 0; i < READY_PROBES; i++)
            p[i] = (struct pollfd){.fd = done[i] ? -1 : fd[i], .events = POLLIN};
        if (poll(p, READY_PROBES, 100) <= 0)
            continue;
        for (int i = 0; i < READY_PROBES; i++) {
            char buf[64] = "";
            if (done[i] || !p[i].revents)
                continue;
            done[i] = true;
            ssize_t n = read(fd[i], buf, sizeof buf - 1);
            if (n > 0 && strncmp(buf, "HTTP/1.1 200", 12) == 0)
                answered++;
            else
                closed++;
        }
    }
    fprintf(stderr, "%d probes ready at once: %d answered, %d closed, %.0f ms\n", READY_PROBES,
            answered, closed, now_ms() - t0);
    CHECK(answered + closed == READY_PROBES && answered >= 256,
            "probes ready at once: %d answered, %d closed of %d within 5 s", answered, closed,
            READY_PROBES);
    for (int i = 0; i < READY_PROBES; i++)
        if (fd[i] >= 0)
            close(fd[i]);
}

static double png_max_ms;
static int png_other;
static pthread_mutex_t png_lock = PTHREAD_MUTEX_INITIALIZER;

static void *png_client(void *arg) {
    (void)arg;
    char url[160];
    snprintf(url, sizeof url, "%s/computeruse/screenshot/compressed?format=png", d.url);
    for (int i = 0; i < 3; i++) {
        struct http_resp r;
        http_get(url, &r);
        pthread_mutex_lock(&png_lock);
        png_max_ms = r.ms > png_max_ms ? r.ms : png_max_ms;
        if (r.status != 200 && !(r.status == 503 && r.body && strstr(r.body, "\"BUSY\"")))
            png_other++;
        pthread_mutex_unlock(&png_lock);
        http_resp_free(&r);
    }
    return NULL;
}

/* SIGTERM: the idle kept-alive connection is closed, the in-flight request answered. */
static void shutdown_closes(void) {
    int idle = dial(), busy = dial(), waiting = dial();
    char buf[4096];
    const char *health = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    CHECK(write(idle, health, strlen(health)) > 0 && read_for(idle, buf, sizeof buf, 2000) > 0 &&
                    strstr(buf, "200 OK"),
            "kept-alive connection served: %.200s", buf);
    const char *body = "{\"text\":\"abcdefghij\",\"delay\":150}";
    char req[512];
    snprintf(req, sizeof req,
            "POST /computeruse/keyboard/type HTTP/1.1\r\nHost: x\r\nContent-Type: "
            "application/json\r\nContent-Length: %zu\r\n\r\n%s",
            strlen(body), body);
    CHECK(write(busy, req, strlen(req)) > 0, "typing sent");
    const char *wbody = "{\"until\":\"changed\",\"timeoutMs\":30000}";
    snprintf(req, sizeof req,
            "POST /computeruse/wait HTTP/1.1\r\nHost: x\r\nContent-Type: "
            "application/json\r\nContent-Length: %zu\r\n\r\n%s",
            strlen(wbody), wbody);
    CHECK(write(waiting, req, strlen(req)) > 0, "screen wait sent");
    struct pollfd p = {.fd = busy, .events = POLLIN};
    CHECK(poll(&p, 1, 300) == 0, "typing still in flight");
    double t0 = now_ms();
    kill(d.pid, SIGTERM);
    char b[64];
    p = (struct pollfd){.fd = idle, .events = POLLIN};
    CHECK(poll(&p, 1, 2000) == 1 && read(idle, b, sizeof b) <= 0,
            "the idle connection is closed at shutdown");
    fprintf(stderr, "idle connection closed %.0f ms after SIGTERM\n", now_ms() - t0);
    read_for(busy, buf, sizeof buf, 5000);
    /* Typing stops early when deskd stops (503 CANCELLED); either way it is answered. */
    CHECK(strstr(buf, "HTTP/1.1 ") && strstr(buf, "Connection: close") && strstr(buf, "\"code\""),
            "in-flight request answered, closing: %.300s", buf);
    /* A screen wait cut short is no answer about the screen: 503 CANCELLED. */
    read_for(waiting, buf, sizeof buf, 5000);
    CHECK(strstr(buf, "HTTP/1.1 503") && strstr(buf, "CANCELLED"),
            "the screen wait cut short by SIGTERM: %.300s", buf);
    close(idle);
    close(busy);
    close(waiting);
    CHECK_INT(deskd_stop(&d), 0);
    fprintf(stderr, "deskd exited %.0f ms after SIGTERM\n", now_ms() - t0);
    CHECK(now_ms() - t0 < 5000, "deskd exited %.0f ms after SIGTERM", now_ms() - t0);
}

/*
 * A second deskd on the same port says so and exits 1, several times over,
 * before it starts anything: its worker threads once crashed it inside exit,
 * and a supervised one started a desktop first, only to stop it.
 */
static void port_in_use(const char *display) {
    char log[64], listen[32], text[8192];
    snprintf(log, sizeof log, "/tmp/desk-admission-%d.log", (int)getpid());
    snprintf(listen, sizeof listen, "127.0.0.1:%d", d.port);
    for (int i = 0; i < 12; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
            if (fd < 0 || dup2(fd, 2) < 0)
                _exit(126);
            /* Every other one would supervise a desktop of its own on a free display. */
            setenv("DESK_ATTACH", i % 2 ? "0" : "1", 1);
            execl(DESKD_PATH, DESKD_PATH, "--listen", listen, "--display", i % 2 ? ":987" : display,
                    (char *)NULL);
            _exit(127);
        }
        int status = -1;
        CHECK(pid > 0 && waitpid(pid, &status, 0) == pid, "the second deskd ran");
        FILE *f = fopen(log, "r");
        size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
        text[n] = '\0';
        if (f)
            fclose(f);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1 && strstr(text, "cannot listen") &&
                        !strstr(text, "Sanitizer") && !strstr(text, "supervising"),
                "a deskd on a port in use exits 1 (status %#x): %.600s", status, text);
    }
    unlink(log);
}

int main(void) {
    check_timeout(120);
    check_require_tool("Xvfb");
    struct xserver xs;
    if (xserver_start_xvfb(&xs, 640, 480) < 0)
        return 1;
    if (deskd_start(&d, xs.name, NULL) < 0) {
        CHECK(false, "deskd did not start");
        return check_finish();
    }
    framing();
    probe_server();
    slow_clients();
    connect_burst();
    over_the_cap();
    probes_ready_at_once();

    pthread_t th[PNG_CLIENTS];
    for (int i = 0; i < PNG_CLIENTS; i++)
        pthread_create(&th[i], NULL, png_client, NULL);
    for (int i = 0; i < PNG_CLIENTS; i++)
        pthread_join(th[i], NULL);
    fprintf(stderr, "%d PNG clients: longest request %.0f ms\n", PNG_CLIENTS, png_max_ms);
    CHECK_INT(png_other, 0);
    /* The wait for an encoder is at most 2 s; the encode of a 640x480 PNG comes on top. */
    CHECK(png_max_ms < 3500, "longest PNG request %.0f ms", png_max_ms);

    port_in_use(xs.name);
    shutdown_closes();
    if (check_failed)
        deskd_dump_log(&d);
    xserver_stop(&xs);
    return check_finish();
}
