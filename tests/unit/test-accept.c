/*
 * The accept thread (desktop/accept.c): which first requests count as probes
 * (one probe on a connection that closes after it), and, on a real listening
 * socket, that each connection reaches the consumer its first request says,
 * a kept-alive probe's the other one, with every byte sent still unread; that a
 * probe sent in pieces is still a probe; that a silent connection is handed
 * over unsorted after ACCEPT_SORT_MS, not before; that 300 connections at
 * once are all handed over; and that stopping refuses new connects and
 * closes the silent ones.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "accept.h"
#include "check.h"

static void classify(void) {
    static const struct {
        const char *req;
        enum accept_kind want;
    } rows[] = {
            /* As kubelet sends it (Go's client without keep-alive). */
            {"GET /healthz HTTP/1.1\r\nHost: 10.1.2.3:2280\r\nUser-Agent: kube-probe/1.30\r\n"
             "Accept: */*\r\nConnection: close\r\n\r\n",
                    ACCEPT_PROBE},
            {"HEAD /healthz HTTP/1.1\r\nHost: x\r\nconnection: Close\r\n\r\n", ACCEPT_PROBE},
            {"GET /healthz HTTP/1.0\r\n\r\n", ACCEPT_PROBE},
            {"HEAD /healthz HTTP/1.1\r\nConnection: TE, close\r\n\r\n", ACCEPT_PROBE},
            /* Readiness may wait for the X server: never on the one-thread server. */
            {"GET /readyz HTTP/1.0\r\n\r\n", ACCEPT_OTHER},
            {"HEAD /readyz HTTP/1.1\r\nConnection: close\r\n\r\n", ACCEPT_OTHER},
            {"GET /healthz HTTP/1.1\r\nAuthorization: Bearer t\r\nConnection: close\r\n\r\n",
                    ACCEPT_PROBE},
            /* Kept alive: whatever comes next is served where this one is. */
            {"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", ACCEPT_OTHER},
            {"GET /healthz HTTP/1.1\r\nConnection: keep-alive\r\n\r\n", ACCEPT_OTHER},
            {"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", ACCEPT_OTHER},
            {"GET /healthz HTTP/1.1\r\nConnection: closed\r\n\r\n", ACCEPT_OTHER},
            {"GET /healthz HTTP/1.1\r\nX-Connection: close\r\n\r\n", ACCEPT_OTHER},
            /* Could still become one. */
            {"", ACCEPT_MORE},
            {"G", ACCEPT_MORE},
            {"GET /", ACCEPT_MORE},
            {"HEAD /heal", ACCEPT_MORE},
            {"GET /r", ACCEPT_OTHER},
            {"GET /healthz HTTP/1.", ACCEPT_MORE},
            {"GET /healthz HTTP/1.1", ACCEPT_MORE},
            {"GET /healthz HTTP/1.1\r", ACCEPT_MORE},
            {"GET /healthz HTTP/1.1\r\nHost: x\r\n", ACCEPT_MORE},
            {"GET /healthz HTTP/1.1\r\nHost: x\r\n\r", ACCEPT_MORE},
            /* Anything else. */
            {"POST /healthz HTTP/1.0\r\n\r\n", ACCEPT_OTHER},
            {"get /healthz HTTP/1.0\r\n\r\n", ACCEPT_OTHER},
            {"GET /healthz?verbose=1 HTTP/1.0\r\n\r\n", ACCEPT_OTHER},
            {"GET /healthzz HTTP/1.0\r\n\r\n", ACCEPT_OTHER},
            {"GET /healthz/ HTTP/1.0\r\n\r\n", ACCEPT_OTHER},
            {"GET /computeruse/status HTTP/1.0\r\n\r\n", ACCEPT_OTHER},
            {"GET /healthz HTTP/2.0\r\n\r\n", ACCEPT_OTHER},
            {"GET /healthz HTTP/1.2\r\n\r\n", ACCEPT_OTHER},
            {"GET /healthz HTTP/1.0\n\n", ACCEPT_OTHER},
            {"GET /healthz HTTP/1.0\r\nHost: x\n\r\n", ACCEPT_OTHER},
            {"GET /healthz HTTP/1.1\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}",
                    ACCEPT_OTHER},
            {"GET /healthz HTTP/1.1\r\nConnection: close\r\ncontent-length: 0\r\n\r\n",
                    ACCEPT_OTHER},
            {"GET /healthz HTTP/1.1\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n",
                    ACCEPT_OTHER},
            {"GET /healthz HTTP/1.1\r\nConnection: close\r\nExpect: 100-continue\r\n\r\n",
                    ACCEPT_OTHER},
            {"GET /healthz HTTP/1.1\r\nConnection: close\r\nUpgrade: websocket\r\n\r\n",
                    ACCEPT_OTHER},
            /* A pipelined request behind the probe. */
            {"GET /healthz HTTP/1.0\r\n\r\nGET /computeruse/status HTTP/1.1\r\n\r\n", ACCEPT_OTHER},
            {"GET /healthz HTTP/1.0\r\n\r\n\r\n", ACCEPT_OTHER},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        enum accept_kind got = accept_classify(rows[i].req, strlen(rows[i].req));
        CHECK(got == rows[i].want, "row %zu (%.40s...): got %d, want %d", i, rows[i].req, (int)got,
                (int)rows[i].want);
    }
}

/* What the consumers were handed, in order. */
enum { MAX_HANDED = 512 };
static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int n;
    int fd[MAX_HANDED];
    bool probe[MAX_HANDED];
    double at_ms[MAX_HANDED];
} handed = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, {0}, {false}, {0}};

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void record(int fd, bool probe) {
    pthread_mutex_lock(&handed.lock);
    if (handed.n < MAX_HANDED) {
        handed.fd[handed.n] = fd;
        handed.probe[handed.n] = probe;
        handed.at_ms[handed.n] = now_ms();
        handed.n++;
    } else {
        close(fd);
    }
    pthread_cond_broadcast(&handed.cond);
    pthread_mutex_unlock(&handed.lock);
}

static void on_probe(void *arg, int fd, const struct sockaddr *addr, socklen_t len) {
    (void)arg;
    CHECK(addr && len > 0 && addr->sa_family == AF_INET, "the peer's address is handed over");
    record(fd, true);
}

static void on_other(void *arg, int fd, const struct sockaddr *addr, socklen_t len) {
    (void)arg;
    CHECK(addr && len > 0 && addr->sa_family == AF_INET, "the peer's address is handed over");
    record(fd, false);
}

/* Waits (at most 5 s) until n connections were handed over; returns how many were. */
static int wait_handed(int n) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    pthread_mutex_lock(&handed.lock);
    while (handed.n < n && pthread_cond_timedwait(&handed.cond, &handed.lock, &until) == 0) {
    }
    int got = handed.n;
    pthread_mutex_unlock(&handed.lock);
    return got;
}

static int port;

static int dial(void) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void send_all(int fd, const char *s) {
    CHECK(write(fd, s, strlen(s)) == (ssize_t)strlen(s), "write: %s", strerror(errno));
}

/* The handed socket still holds exactly what the client sent. */
static void check_unread(int i, const char *sent) {
    char buf[512] = {0};
    size_t n = 0;
    struct pollfd p = {.fd = handed.fd[i], .events = POLLIN};
    while (n < strlen(sent) && poll(&p, 1, 2000) == 1) {
        ssize_t r = read(handed.fd[i], buf + n, sizeof buf - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    CHECK(n == strlen(sent) && memcmp(buf, sent, n) == 0, "connection %d holds %zu bytes: %.60s", i,
            n, buf);
}

static void live(void) {
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 1024) < 0 ||
            getsockname(lfd, (struct sockaddr *)&sa, &len) < 0) {
        CHECK(false, "a listening socket: %s", strerror(errno));
        return;
    }
    port = ntohs(sa.sin_port);
    struct acceptor *a = acceptor_start(lfd, on_probe, on_other, NULL);
    CHECK(a != NULL, "acceptor_start: %s", strerror(errno));
    if (!a)
        return;

    /* A probe sent at once, then a request that is not one, then a kept-alive probe. */
    const char *probe = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    const char *other = "POST /computeruse/mouse/move HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}";
    const char *kept = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    int c0 = dial(), c1 = dial(), c5 = dial();
    send_all(c0, probe);
    CHECK_INT(wait_handed(1), 1);
    send_all(c1, other);
    CHECK_INT(wait_handed(2), 2);
    send_all(c5, kept);
    CHECK_INT(wait_handed(3), 3);
    CHECK(handed.probe[0] && !handed.probe[1] && !handed.probe[2], "probe, other, other: %d %d %d",
            handed.probe[0], handed.probe[1], handed.probe[2]);
    check_unread(0, probe);
    check_unread(1, other);
    check_unread(2, kept);

    /* A probe in two pieces, 50 ms apart: still a probe. */
    int c2 = dial();
    send_all(c2, "HEAD /hea");
    struct timespec pause = {0, 50 * 1000 * 1000};
    nanosleep(&pause, NULL); /* the gap between the pieces is what is tested */
    send_all(c2, "lthz HTTP/1.0\r\n\r\n");
    CHECK_INT(wait_handed(4), 4);
    CHECK(handed.probe[3], "a probe sent in pieces is a probe");
    check_unread(3, "HEAD /healthz HTTP/1.0\r\n\r\n");

    /* A silent connection: handed over unsorted, after ACCEPT_SORT_MS. */
    double t0 = now_ms();
    int c3 = dial();
    CHECK_INT(wait_handed(5), 5);
    double waited = handed.at_ms[4] - t0;
    fprintf(stderr, "a silent connection was handed over after %.0f ms\n", waited);
    CHECK(!handed.probe[4] && waited >= ACCEPT_SORT_MS - 5, "silent: handed after %.0f ms", waited);

    /* 300 connections at once, half of them probes. */
    enum { BURST = 300 };
    static int burst[BURST];
    for (int i = 0; i < BURST; i++) {
        burst[i] = dial();
        if (burst[i] >= 0)
            send_all(burst[i], i % 2 ? probe : other);
    }
    CHECK_INT(wait_handed(5 + BURST), 5 + BURST);
    int probes = 0;
    for (int i = 5; i < handed.n; i++)
        probes += handed.probe[i];
    CHECK_INT(probes, BURST / 2);

    /* Stopping: the silent connection still waiting is closed, new connects are refused. */
    int c4 = dial();
    acceptor_stop(a);
    char b;
    struct pollfd p = {.fd = c4, .events = POLLIN};
    /* Closed while waiting (EOF), or reset when it was still in the listen queue. */
    ssize_t r = poll(&p, 1, 2000) == 1 ? read(c4, &b, 1) : 1;
    CHECK(r == 0 || (r < 0 && errno == ECONNRESET), "a waiting connection is closed: %zd", r);
    CHECK(dial() < 0 && errno == ECONNREFUSED, "connect after stop: %s", strerror(errno));

    int mine[] = {c0, c1, c2, c3, c4, c5};
    for (size_t i = 0; i < sizeof mine / sizeof *mine; i++)
        close(mine[i]);
    for (int i = 0; i < BURST; i++)
        close(burst[i]);
    for (int i = 0; i < handed.n; i++)
        close(handed.fd[i]);
}

int main(void) {
    check_timeout(30);
    classify();
    live();
    return check_finish();
}
