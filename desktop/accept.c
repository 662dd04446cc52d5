/*
 * accept: the accept thread (see accept.h). One epoll set holds the
 * listening socket, an eventfd that wakes the thread to stop, and the
 * connections that have not sent enough to be sorted (edge-triggered: a peek
 * leaves the bytes readable, so only new bytes wake the thread again).
 */
#define _GNU_SOURCE /* accept4 */
#include "accept.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

/* A connection that has not yet sent its first request's header. */
struct waiting {
    int fd; /* -1: the slot is free */
    struct sockaddr_storage addr;
    socklen_t len;
    int64_t deadline_ms;
};

struct acceptor {
    int listen_fd, ep, wake_fd;
    accept_hand_fn probe, other;
    void *arg;
    pthread_t thread;
    atomic_bool quit;
    int64_t paused_until_ms; /* out of descriptors: the listening socket rests until then */
    struct waiting waiting[ACCEPT_MAX_WAITING];
    int nwaiting;
};

/* Whether the n bytes at s start with the NUL-terminated word (case-sensitive, as HTTP's). */
static bool starts(const char *s, size_t n, const char *word) {
    size_t w = strlen(word);
    return n >= w && memcmp(s, word, w) == 0;
}

/* Whether s[0..n) is a prefix of word (the rest may still come). */
static bool prefix_of(const char *s, size_t n, const char *word) {
    size_t w = strlen(word);
    return n <= w && memcmp(s, word, n) == 0;
}

/* The probe request lines, up to the version's last digit. Not /readyz: its answer may wait
 * for the X server (a round trip when attached), which a one-thread server must not. */
static const char *const probe_lines[] = {
        "GET /healthz HTTP/1.",
        "HEAD /healthz HTTP/1.",
};

/* Whether the header field line[0..n) is named name (case-insensitive). */
static bool field_is(const char *line, size_t n, const char *name) {
    size_t w = strlen(name);
    return n > w && line[w] == ':' && strncasecmp(line, name, w) == 0;
}

/* Header fields that make a request more than a probe: a body, or a protocol change. */
static bool field_not_probe(const char *line, size_t n) {
    static const char *const names[] = {"content-length", "transfer-encoding", "expect", "upgrade"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (field_is(line, n, names[i]))
            return true;
    return false;
}

/* Whether a Connection field's value (line[0..n) is the whole field) lists the token. */
static bool connection_has(const char *line, size_t n, const char *token) {
    if (!field_is(line, n, "connection"))
        return false;
    size_t w = strlen(token);
    for (size_t i = strlen("connection:"); i + w <= n; i++) {
        bool starts_token = i == strlen("connection:") || line[i - 1] == ',' ||
                            line[i - 1] == ' ' || line[i - 1] == '\t';
        bool ends_token =
                i + w == n || line[i + w] == ',' || line[i + w] == ' ' || line[i + w] == '\t';
        if (starts_token && ends_token && strncasecmp(line + i, token, w) == 0)
            return true;
    }
    return false;
}

enum accept_kind accept_classify(const char *buf, size_t n) {
    const char *line = NULL;
    size_t nlines = sizeof probe_lines / sizeof *probe_lines;
    bool could_be = false;
    for (size_t i = 0; i < nlines && !line; i++) {
        if (starts(buf, n, probe_lines[i]))
            line = probe_lines[i];
        else if (prefix_of(buf, n, probe_lines[i]))
            could_be = true;
    }
    if (!line)
        return could_be ? ACCEPT_MORE : ACCEPT_OTHER;
    /* The version's last digit, then the line's end. */
    size_t at = strlen(line);
    if ((n > at && buf[at] != '0' && buf[at] != '1') || (n > at + 1 && buf[at + 1] != '\r') ||
            (n > at + 2 && buf[at + 2] != '\n'))
        return ACCEPT_OTHER;
    if (n < at + 3)
        return ACCEPT_MORE;
    /* HTTP/1.1 keeps the connection unless asked not to, HTTP/1.0 closes it unless asked. */
    bool closes = buf[at] == '0';
    /* Header fields up to the empty line, which must be the last bytes sent. */
    for (size_t pos = at + 3;;) {
        const char *end = memchr(buf + pos, '\n', n - pos);
        if (!end)
            return ACCEPT_MORE;
        size_t len = (size_t)(end - (buf + pos)); /* with the '\r' */
        if (len == 0 || buf[pos + len - 1] != '\r')
            return ACCEPT_OTHER; /* a bare LF: leave the odd framing to the server */
        if (len == 1)            /* "\r\n": the header's end */
            return pos + 2 == n && closes ? ACCEPT_PROBE : ACCEPT_OTHER;
        const char *field = buf + pos;
        if (field_not_probe(field, len - 1))
            return ACCEPT_OTHER;
        if (connection_has(field, len - 1, "close"))
            closes = true;
        else if (connection_has(field, len - 1, "keep-alive"))
            closes = buf[at] == '1' ? closes : false;
        pos += len + 1;
    }
}

static void hand(struct acceptor *a, enum accept_kind kind, int fd,
        const struct sockaddr_storage *ss, socklen_t len) {
    (kind == ACCEPT_PROBE ? a->probe : a->other)(a->arg, fd, (const struct sockaddr *)ss, len);
}

/* What fd has sent so far says; ACCEPT_MORE when nothing, -1 when it is gone. */
static int sort(int fd) {
    char buf[ACCEPT_PEEK_BYTES];
    ssize_t r = recv(fd, buf, sizeof buf, MSG_PEEK);
    if (r > 0) {
        enum accept_kind k = accept_classify(buf, (size_t)r);
        return k == ACCEPT_MORE && (size_t)r == sizeof buf ? ACCEPT_OTHER : (int)k;
    }
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return ACCEPT_MORE;
    return -1; /* closed before a request, or reset */
}

static void unwait(struct acceptor *a, struct waiting *w) {
    epoll_ctl(a->ep, EPOLL_CTL_DEL, w->fd, NULL);
    w->fd = -1;
    a->nwaiting--;
}

/* A new connection: sorted now, or kept until its first bytes (or its deadline). */
static void take(struct acceptor *a, int fd, const struct sockaddr_storage *ss, socklen_t len) {
    int kind = sort(fd);
    if (kind < 0) {
        close(fd);
        return;
    }
    if (kind != ACCEPT_MORE || a->nwaiting == ACCEPT_MAX_WAITING) {
        hand(a, kind == ACCEPT_PROBE ? ACCEPT_PROBE : ACCEPT_OTHER, fd, ss, len);
        return;
    }
    struct waiting *w = a->waiting;
    while (w->fd >= 0)
        w++;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.ptr = w};
    if (epoll_ctl(a->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
        hand(a, ACCEPT_OTHER, fd, ss, len);
        return;
    }
    *w = (struct waiting){
            .fd = fd, .addr = *ss, .len = len, .deadline_ms = util_mono_ms() + ACCEPT_SORT_MS};
    a->nwaiting++;
}

/* Every connection the kernel has completed, at once. */
static void take_all(struct acceptor *a) {
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        int fd = accept4(a->listen_fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            take(a, fd, &ss, len);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            /* Level-triggered, the socket would wake the thread at once again: it rests. */
            log_msg(LOG_WARN, "http: cannot accept a connection: %s; retrying in 100 ms",
                    strerror(errno));
            epoll_ctl(a->ep, EPOLL_CTL_DEL, a->listen_fd, NULL);
            a->paused_until_ms = util_mono_ms() + 100;
        }
        return;
    }
}

/* The epoll_wait timeout: until the first deadline or the end of a pause, -1 for none. */
static int timeout_ms(const struct acceptor *a) {
    int64_t first = a->paused_until_ms ? a->paused_until_ms : INT64_MAX;
    for (int i = 0; i < ACCEPT_MAX_WAITING && a->nwaiting > 0; i++)
        if (a->waiting[i].fd >= 0 && a->waiting[i].deadline_ms < first)
            first = a->waiting[i].deadline_ms;
    return first == INT64_MAX ? -1 : (int)util_ms_left(first);
}

static void expire(struct acceptor *a) {
    int64_t now = util_mono_ms();
    for (int i = 0; i < ACCEPT_MAX_WAITING && a->nwaiting > 0; i++) {
        struct waiting *w = &a->waiting[i];
        if (w->fd < 0 || w->deadline_ms > now)
            continue;
        int fd = w->fd;
        unwait(a, w);
        hand(a, ACCEPT_OTHER, fd, &w->addr, w->len);
    }
    if (a->paused_until_ms && a->paused_until_ms <= now) {
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &a->listen_fd};
        epoll_ctl(a->ep, EPOLL_CTL_ADD, a->listen_fd, &ev);
        a->paused_until_ms = 0;
    }
}

static void *run(void *arg) {
    struct acceptor *a = arg;
    while (!atomic_load(&a->quit)) {
        struct epoll_event ev[64];
        int n = epoll_wait(a->ep, ev, 64, timeout_ms(a));
        for (int i = 0; i < n; i++) {
            void *p = ev[i].data.ptr;
            if (p == &a->listen_fd) {
                take_all(a);
            } else if (p != &a->wake_fd) {
                struct waiting *w = p;
                int fd = w->fd, kind = sort(fd);
                if (kind == ACCEPT_MORE)
                    continue;
                unwait(a, w);
                if (kind < 0)
                    close(fd);
                else
                    hand(a, (enum accept_kind)kind, fd, &w->addr, w->len);
            }
        }
        expire(a);
    }
    return NULL;
}

struct acceptor *acceptor_start(
        int listen_fd, accept_hand_fn probe, accept_hand_fn other, void *arg) {
    struct acceptor *a = calloc(1, sizeof *a);
    if (!a) {
        close(listen_fd);
        return NULL;
    }
    *a = (struct acceptor){.listen_fd = listen_fd, .probe = probe, .other = other, .arg = arg};
    for (int i = 0; i < ACCEPT_MAX_WAITING; i++)
        a->waiting[i].fd = -1;
    a->ep = epoll_create1(EPOLL_CLOEXEC);
    a->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = &a->listen_fd};
    struct epoll_event wev = {.events = EPOLLIN, .data.ptr = &a->wake_fd};
    int err = 0;
    /* Non-blocking: take_all accepts until the queue is empty. */
    int fl = fcntl(listen_fd, F_GETFL);
    if (fl < 0 || fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK) < 0 || a->ep < 0 || a->wake_fd < 0 ||
            epoll_ctl(a->ep, EPOLL_CTL_ADD, listen_fd, &lev) < 0 ||
            epoll_ctl(a->ep, EPOLL_CTL_ADD, a->wake_fd, &wev) < 0)
        err = errno;
    else
        err = pthread_create(&a->thread, NULL, run, a);
    if (err == 0)
        return a;
    if (a->ep >= 0)
        close(a->ep);
    if (a->wake_fd >= 0)
        close(a->wake_fd);
    close(listen_fd);
    free(a);
    errno = err;
    return NULL;
}

void acceptor_stop(struct acceptor *a) {
    if (!a)
        return;
    atomic_store(&a->quit, true);
    uint64_t one = 1;
    if (write(a->wake_fd, &one, sizeof one) < 0)
        log_msg(LOG_WARN, "http: cannot wake the accept thread: %s", strerror(errno));
    pthread_join(a->thread, NULL);
    close(a->listen_fd);
    for (int i = 0; i < ACCEPT_MAX_WAITING; i++)
        if (a->waiting[i].fd >= 0)
            close(a->waiting[i].fd);
    close(a->ep);
    close(a->wake_fd);
    free(a);
}
