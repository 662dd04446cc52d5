/*
 * gate: one accepting thread, one thread per relayed connection. The
 * handshake is read with a 10 s deadline per step under the handshake lock;
 * the rate limit's state is under the same lock.
 */
#define _GNU_SOURCE
#include "gate.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define GATE_STEP_MS 10000
#define GATE_MAX     64

struct vnc_gate {
    int listen_fd, port, target;
    pthread_t acceptor;
    pthread_mutex_t lock; /* the rate limit, the connection list */
    pthread_mutex_t handshake;
    pthread_cond_t idle;
    bool quit;
    int live;
    int fds[GATE_MAX][2]; /* the relayed connections' sockets, for the stop */
    unsigned failures;    /* consecutive */
    int64_t blocked_until;
    unsigned long total_failures, refused;
};

struct relay {
    struct vnc_gate *g;
    int slot;
    int c, s; /* client (websockify), server (x11vnc) */
};

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Copies exactly n bytes from one socket to the other (n <= 256); buf gets them. */
static int pass(int from, int to, uint8_t *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = recv(from, buf + got, n - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return send(to, buf, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Relays the handshake. 1: VNC authentication failed; 0: anything else; -1: a peer left. */
static int handshake(int c, int s) {
    uint8_t b[256];
    if (pass(s, c, b, 12) < 0 || pass(c, s, b, 12) < 0)
        return -1;
    /* "RFB 003.00M\n": the minor version's last digit tells 3.3 from 3.7 and 3.8. */
    int minor = memcmp(b, "RFB 003.00", 10) == 0 && b[10] >= '0' && b[10] <= '9' ? b[10] - '0' : 0;
    uint32_t type;
    if (minor >= 7) {
        if (pass(s, c, b, 1) < 0)
            return -1;
        if (b[0] == 0 || pass(s, c, b + 1, b[0]) < 0 || pass(c, s, b, 1) < 0)
            return b[0] == 0 ? 0 : -1;
        type = b[0];
    } else {
        if (pass(s, c, b, 4) < 0)
            return -1;
        type = be32(b);
    }
    if (type != 2)
        return 0;
    if (pass(s, c, b, 16) < 0 || pass(c, s, b, 16) < 0 || pass(s, c, b, 4) < 0)
        return -1;
    return be32(b) != 0 ? 1 : 0;
}

static void pipe_bytes(int c, int s) {
    uint8_t buf[65536];
    struct timeval none = {0};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
    for (;;) {
        struct pollfd p[2] = {{.fd = c, .events = POLLIN}, {.fd = s, .events = POLLIN}};
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            return;
        for (int i = 0; i < 2; i++) {
            if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t r = recv(p[i].fd, buf, sizeof buf, 0);
            if (r <= 0 || send(p[1 - i].fd, buf, (size_t)r, MSG_NOSIGNAL) != r)
                return;
        }
    }
}

static void *relay_main(void *arg) {
    struct relay *r = arg;
    struct vnc_gate *g = r->g;
    pthread_mutex_lock(&g->handshake);
    pthread_mutex_lock(&g->lock);
    bool blocked = now_ms() < g->blocked_until;
    if (blocked)
        g->refused++;
    pthread_mutex_unlock(&g->lock);
    int rc = blocked ? -1 : handshake(r->c, r->s);
    if (rc >= 0) {
        pthread_mutex_lock(&g->lock);
        if (rc == 1) {
            g->failures++;
            g->total_failures++;
            unsigned shift = g->failures - 1 < 5 ? g->failures - 1 : 5;
            int64_t delay = (int64_t)VNC_GATE_DELAY_MS << shift;
            g->blocked_until =
                    now_ms() + (delay < VNC_GATE_DELAY_MAX_MS ? delay : VNC_GATE_DELAY_MAX_MS);
        } else {
            g->failures = 0;
        }
        pthread_mutex_unlock(&g->lock);
    }
    pthread_mutex_unlock(&g->handshake);
    if (rc >= 0)
        pipe_bytes(r->c, r->s);
    pthread_mutex_lock(&g->lock);
    g->fds[r->slot][0] = g->fds[r->slot][1] = -1;
    close(r->c);
    close(r->s);
    if (--g->live == 0)
        pthread_cond_broadcast(&g->idle);
    pthread_mutex_unlock(&g->lock);
    free(r);
    return NULL;
}

static int connect_target(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
            .sin_port = htons((uint16_t)port),
            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static void start_relay(struct vnc_gate *g, int c) {
    int s = connect_target(g->target);
    struct relay *r = s >= 0 ? calloc(1, sizeof *r) : NULL;
    pthread_mutex_lock(&g->lock);
    int slot = -1;
    for (int i = 0; r && i < GATE_MAX && slot < 0; i++)
        if (g->fds[i][0] < 0)
            slot = i;
    if (slot >= 0) {
        struct timeval step = {.tv_sec = GATE_STEP_MS / 1000};
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &step, sizeof step);
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &step, sizeof step);
        *r = (struct relay){.g = g, .slot = slot, .c = c, .s = s};
        g->fds[slot][0] = c;
        g->fds[slot][1] = s;
        g->live++;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_t t;
        if (pthread_create(&t, &attr, relay_main, r) != 0) {
            g->fds[slot][0] = g->fds[slot][1] = -1;
            g->live--;
            slot = -1;
        }
        pthread_attr_destroy(&attr);
    }
    pthread_mutex_unlock(&g->lock);
    if (slot < 0) {
        free(r);
        close(c);
        if (s >= 0)
            close(s);
    }
}

static void *acceptor(void *arg) {
    struct vnc_gate *g = arg;
    for (;;) {
        struct pollfd p = {.fd = g->listen_fd, .events = POLLIN};
        int n = poll(&p, 1, 250);
        pthread_mutex_lock(&g->lock);
        bool quit = g->quit;
        pthread_mutex_unlock(&g->lock);
        if (quit)
            return NULL;
        if (n <= 0)
            continue;
        int c = accept4(g->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (c >= 0)
            start_relay(g, c);
    }
}

struct vnc_gate *vnc_gate_start(int target_port, char *err, size_t errlen) {
    struct vnc_gate *g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    g->target = target_port;
    for (int i = 0; i < GATE_MAX; i++)
        g->fds[i][0] = g->fds[i][1] = -1;
    g->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    if (g->listen_fd < 0 || bind(g->listen_fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
            listen(g->listen_fd, 16) < 0 ||
            getsockname(g->listen_fd, (struct sockaddr *)&sa, &len) < 0) {
        snprintf(err, errlen, "cannot listen on loopback for the VNC gate: %s", strerror(errno));
        if (g->listen_fd >= 0)
            close(g->listen_fd);
        free(g);
        return NULL;
    }
    g->port = ntohs(sa.sin_port);
    pthread_mutex_init(&g->lock, NULL);
    pthread_mutex_init(&g->handshake, NULL);
    pthread_cond_init(&g->idle, NULL);
    if (pthread_create(&g->acceptor, NULL, acceptor, g) != 0) {
        snprintf(err, errlen, "cannot start the VNC gate's thread");
        close(g->listen_fd);
        free(g);
        return NULL;
    }
    return g;
}

int vnc_gate_port(const struct vnc_gate *g) {
    return g->port;
}

void vnc_gate_counts(struct vnc_gate *g, unsigned long *failures, unsigned long *refused) {
    pthread_mutex_lock(&g->lock);
    *failures = g->total_failures;
    *refused = g->refused;
    pthread_mutex_unlock(&g->lock);
}

void vnc_gate_stop(struct vnc_gate *g) {
    if (!g)
        return;
    pthread_mutex_lock(&g->lock);
    g->quit = true;
    for (int i = 0; i < GATE_MAX; i++)
        for (int k = 0; k < 2; k++)
            if (g->fds[i][k] >= 0)
                shutdown(g->fds[i][k], SHUT_RDWR);
    pthread_mutex_unlock(&g->lock);
    pthread_join(g->acceptor, NULL);
    close(g->listen_fd);
    pthread_mutex_lock(&g->lock);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 2;
    while (g->live > 0 && pthread_cond_timedwait(&g->idle, &g->lock, &deadline) != ETIMEDOUT)
        ;
    int live = g->live;
    pthread_mutex_unlock(&g->lock);
    if (live > 0)
        return; /* a relay still runs: g stays (it is small), rather than freed under it */
    pthread_mutex_destroy(&g->lock);
    pthread_mutex_destroy(&g->handshake);
    pthread_cond_destroy(&g->idle);
    free(g);
}
