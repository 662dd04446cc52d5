/*
 * bridge: one thread per live-view session. The loop polls the browser's
 * socket (wslay decides whether it wants to read or write) and x11vnc's,
 * with a 200 ms tick that rechecks the link, so that an expired or revoked
 * link closes its sessions within a second. x11vnc's bytes go to the browser
 * as binary messages, at most BRIDGE_QUEUE_MAX queued (then x11vnc waits);
 * the browser's go through the handshake, then rfb_filter, to x11vnc.
 */
#define _GNU_SOURCE
#include "bridge.h"

#include <errno.h>
#include <fcntl.h>
#include <nettle/base64.h>
#include <nettle/sha1.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <wslay/wslay.h>

#include "log.h"
#include "rfb.h"
#include "util.h"

#define BRIDGE_QUEUE_MAX (4u << 20)
#define BRIDGE_TICK_MS   200
/* How long a closing session waits for the browser's close frame. */
#define BRIDGE_CLOSE_MS 500

enum phase { PH_VERSION, PH_SECURITY, PH_INIT, PH_PIPE };

struct session {
    struct session *prev, *next;
    struct link_info link;
    int vnc_port;
    char password[16];
    int fd, up;
    struct http_upgraded *u;
    char *extra;
    size_t extra_len, extra_off;
    wslay_event_context_ptr ws;
    enum phase phase;
    uint8_t hs[12];
    size_t hs_have;
    struct rfb_filter filt;
    bool failed;    /* the session must end: why says so */
    bool malformed; /* because of the browser's RFB */
    char why[400];  /* why it ended: one of deskd's sentences and a detail of at most 256 bytes */
    unsigned long long to_browser, from_browser;
    bool drop_logged;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t none_left = PTHREAD_COND_INITIALIZER;
static struct session *sessions;
static int nsessions;
static bool stopping;
static bool abandoned; /* bridge_stop_all stopped waiting for the sessions */

void bridge_accept_key(const char *key, char out[29]) {
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    struct sha1_ctx ctx;
    uint8_t digest[SHA1_DIGEST_SIZE];
    sha1_init(&ctx);
    sha1_update(&ctx, strlen(key), (const uint8_t *)key);
    sha1_update(&ctx, sizeof guid - 1, (const uint8_t *)guid);
    sha1_digest(&ctx, sizeof digest, digest);
    base64_encode_raw(out, sizeof digest, digest);
    out[28] = '\0';
}

void *bridge_session_new(const struct link_info *link, int vnc_port, const char *password) {
    struct session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->link = *link;
    s->vnc_port = vnc_port;
    snprintf(s->password, sizeof s->password, "%s", password);
    s->fd = s->up = -1;
    rfb_filter_init(&s->filt, link->view_only);
    pthread_mutex_lock(&lock);
    bool refused = stopping;
    if (!refused) {
        s->next = sessions;
        if (sessions)
            sessions->prev = s;
        sessions = s;
        nsessions++;
    }
    pthread_mutex_unlock(&lock);
    if (refused) {
        free(s);
        return NULL;
    }
    link_sessions_add(link->id, 1);
    return s;
}

static void session_free(struct session *s) {
    link_sessions_add(s->link.id, -1);
    explicit_bzero(s->password, sizeof s->password);
    free(s->extra);
    pthread_mutex_lock(&lock);
    if (s->prev)
        s->prev->next = s->next;
    else
        sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    if (--nsessions == 0)
        pthread_cond_broadcast(&none_left);
    pthread_mutex_unlock(&lock);
    free(s);
}

void bridge_discard(void *session) {
    session_free(session);
}

static ssize_t ws_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *ud) {
    (void)flags;
    struct session *s = ud;
    if (s->extra_off < s->extra_len) {
        size_t n = s->extra_len - s->extra_off < len ? s->extra_len - s->extra_off : len;
        memcpy(buf, s->extra + s->extra_off, n);
        s->extra_off += n;
        return (ssize_t)n;
    }
    ssize_t r;
    do
        r = recv(s->fd, buf, len, 0);
    while (r < 0 && errno == EINTR);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (r <= 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return r;
}

static ssize_t ws_send(
        wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags, void *ud) {
    (void)flags;
    struct session *s = ud;
    ssize_t w;
    do
        w = send(s->fd, data, len, MSG_NOSIGNAL);
    while (w < 0 && errno == EINTR);
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (w < 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return w;
}

static void to_browser(struct session *s, const void *buf, size_t len) {
    struct wslay_event_msg m = {.opcode = WSLAY_BINARY_FRAME, .msg = buf, .msg_length = len};
    if (wslay_event_queue_msg(s->ws, &m) != 0 && !s->failed) {
        s->failed = true;
        snprintf(s->why, sizeof s->why, "the WebSocket refused a message");
    }
    s->to_browser += len;
}

static void to_server(struct session *s, const uint8_t *buf, size_t len) {
    size_t put = 0;
    while (put < len && !s->failed) {
        ssize_t w = send(s->up, buf + put, len - put, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            s->failed = true;
            snprintf(s->why, sizeof s->why, "x11vnc stopped reading: %s",
                    w < 0 ? strerror(errno) : "closed");
        }
        put += w > 0 ? (size_t)w : 0;
    }
}

/* Ends the session for the reason why (the first one counts). */
static void fail(struct session *s, const char *why, const char *detail) {
    if (s->failed)
        return;
    s->failed = true;
    snprintf(s->why, sizeof s->why, "%s%s", why, detail);
}

/* Takes the browser's bytes: the handshake deskd answers itself, then the filtered stream. */
static void from_browser(struct session *s, const uint8_t *in, size_t n) {
    s->from_browser += n;
    while (n > 0 && !s->failed) {
        if (s->phase == PH_PIPE) {
            uint8_t *out = malloc(n);
            size_t outn = 0;
            if (!out) {
                fail(s, "out of memory", "");
                return;
            }
            int rc = rfb_filter_feed(&s->filt, in, n, out, &outn);
            to_server(s, out, outn);
            free(out);
            if (rc < 0) {
                fail(s, "malformed RFB from the browser: ", s->filt.err);
                s->malformed = true;
            }
            if (s->filt.view_only && !s->drop_logged &&
                    s->filt.dropped_keys + s->filt.dropped_pointer + s->filt.dropped_cut +
                                    s->filt.dropped_other >
                            0) {
                s->drop_logged = true;
                log_msg(LOG_WARN,
                        "vnc session on view-only link %s: dropping the browser's input messages",
                        s->link.id);
            }
            return;
        }
        size_t want = s->phase == PH_VERSION ? 12 : 1;
        size_t take = want - s->hs_have < n ? want - s->hs_have : n;
        memcpy(s->hs + s->hs_have, in, take);
        s->hs_have += take;
        in += take;
        n -= take;
        if (s->hs_have < want)
            return;
        s->hs_have = 0;
        if (s->phase == PH_VERSION) {
            if (memcmp(s->hs, RFB_VERSION_38, 12) != 0) {
                fail(s, "the browser does not speak RFB 3.8", "");
                s->malformed = true;
                return;
            }
            static const uint8_t none[] = {1, 1}; /* one security type: None */
            to_browser(s, none, sizeof none);
            s->phase = PH_SECURITY;
        } else if (s->phase == PH_SECURITY) {
            if (s->hs[0] != 1) {
                fail(s, "the browser chose a security type deskd does not offer", "");
                s->malformed = true;
                return;
            }
            static const uint8_t ok[] = {0, 0, 0, 0};
            to_browser(s, ok, sizeof ok);
            s->phase = PH_INIT;
        } else {
            /* ClientInit: always shared, so that one browser never disconnects another. */
            static const uint8_t shared = 1;
            to_server(s, &shared, 1);
            s->phase = PH_PIPE;
        }
    }
}

static void on_msg(
        wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg, void *ud) {
    (void)ctx;
    if (!wslay_is_ctrl_frame(arg->opcode))
        from_browser(ud, arg->msg, arg->msg_length);
}

static int64_t mono_ms(void) {
    return util_mono_ms();
}

static void run(struct session *s) {
    char err[256];
    s->up = rfb_connect(s->vnc_port, s->password, 3000, err, sizeof err);
    explicit_bzero(s->password, sizeof s->password);
    if (s->up < 0) {
        fail(s, err, "");
        return;
    }
    fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) | O_NONBLOCK);
    to_browser(s, RFB_VERSION_38, 12);
    uint8_t buf[65536];
    int64_t close_by = 0;
    for (;;) {
        pthread_mutex_lock(&lock);
        bool stop = stopping;
        pthread_mutex_unlock(&lock);
        if (!close_by && (s->failed || stop || !link_alive(s->link.id))) {
            if (!s->failed)
                snprintf(s->why, sizeof s->why, "%s",
                        stop ? "deskd is stopping" : "its link expired or was revoked");
            /* 1002 for the browser's malformed RFB, 1011 when x11vnc failed, 1008 for the link,
             * 1001 when deskd stops. */
            const char *reason = s->malformed ? "malformed RFB"
                                 : s->failed  ? "the VNC server is not available"
                                 : stop       ? "deskd is stopping"
                                              : "the link expired or was revoked";
            uint16_t code = s->malformed ? WSLAY_CODE_PROTOCOL_ERROR
                            : s->failed  ? WSLAY_CODE_INTERNAL_SERVER_ERROR
                            : stop       ? WSLAY_CODE_GOING_AWAY
                                         : WSLAY_CODE_POLICY_VIOLATION;
            wslay_event_queue_close(s->ws, code, (const uint8_t *)reason, strlen(reason));
            close_by = mono_ms() + BRIDGE_CLOSE_MS;
        }
        if (close_by && mono_ms() >= close_by)
            return;
        if (!wslay_event_want_read(s->ws) && !wslay_event_want_write(s->ws))
            return;
        struct pollfd p[2] = {{.fd = s->fd}, {.fd = s->up}};
        if (wslay_event_want_read(s->ws))
            p[0].events |= POLLIN;
        if (wslay_event_want_write(s->ws))
            p[0].events |= POLLOUT;
        bool room = wslay_event_get_queued_msg_length(s->ws) < BRIDGE_QUEUE_MAX;
        if (!close_by && room && s->phase == PH_PIPE)
            p[1].events = POLLIN;
        /* Bytes handed over with the upgrade are read before anything new arrives. */
        int ready = s->extra_off < s->extra_len ? 1 : poll(p, 2, BRIDGE_TICK_MS);
        if (ready < 0 && errno != EINTR)
            return;
        if (s->extra_off < s->extra_len || (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
            if (wslay_event_recv(s->ws) != 0) {
                if (!close_by)
                    snprintf(s->why, sizeof s->why, "%s", "the browser went away");
                return;
            }
        }
        if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t r = recv(s->up, buf, sizeof buf, MSG_DONTWAIT);
            if (r > 0)
                to_browser(s, buf, (size_t)r);
            else if (r == 0 || (errno != EAGAIN && errno != EINTR))
                fail(s, "x11vnc closed the connection", "");
        }
        if (wslay_event_want_write(s->ws) && wslay_event_send(s->ws) != 0) {
            if (!close_by)
                snprintf(s->why, sizeof s->why, "%s", "the browser went away");
            return;
        }
    }
}

static void *thread_main(void *arg) {
    struct session *s = arg;
    struct wslay_event_callbacks cb = {
            .recv_callback = ws_recv, .send_callback = ws_send, .on_msg_recv_callback = on_msg};
    struct timespec c0, c1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
    int64_t t0 = mono_ms();
    log_msg(LOG_INFO, "vnc session opened on link %s (%s)", s->link.id,
            s->link.view_only ? "view-only" : "full control");
    if (wslay_event_context_server_init(&s->ws, &cb, s) == 0) {
        /* The browser's messages are small; x11vnc's clipboard at most RFB_CUT_TEXT_MAX. */
        wslay_event_config_set_max_recv_msg_length(s->ws, RFB_CUT_TEXT_MAX + 64);
        run(s);
        wslay_event_context_free(s->ws);
    } else {
        snprintf(s->why, sizeof s->why, "out of memory");
    }
    if (s->up >= 0)
        close(s->up);
    /* Once bridge_stop_all gave up on the sessions, the server is being stopped and frees the
     * upgrade handles: one is closed only before (under the lock, so not while it gives up). */
    pthread_mutex_lock(&lock);
    if (!abandoned)
        http_upgraded_close(s->u);
    pthread_mutex_unlock(&lock);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
    double cpu = (double)(c1.tv_sec - c0.tv_sec) * 1e3 + (double)(c1.tv_nsec - c0.tv_nsec) / 1e6;
    const struct rfb_filter *f = &s->filt;
    log_msg(LOG_INFO,
            "vnc session on link %s ended after %.1f s (%s): %llu bytes to the browser, %llu from "
            "it, %lu messages passed; dropped %lu key, %lu pointer, %lu clipboard, %lu other; "
            "bridge cpu %.1f ms",
            s->link.id, (double)(mono_ms() - t0) / 1000.0, s->why[0] ? s->why : "closed",
            s->to_browser, s->from_browser, f->passed, f->dropped_keys, f->dropped_pointer,
            f->dropped_cut, f->dropped_other, cpu);
    session_free(s);
    return NULL;
}

void bridge_upgraded(
        void *session, int fd, const char *extra, size_t extra_len, struct http_upgraded *u) {
    struct session *s = session;
    s->fd = fd;
    s->u = u;
    if (extra_len && (s->extra = malloc(extra_len))) {
        memcpy(s->extra, extra, extra_len);
        s->extra_len = extra_len;
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t th;
    if (pthread_create(&th, &attr, thread_main, s) != 0) {
        log_msg(LOG_ERROR, "cannot start a vnc session thread: %s", strerror(errno));
        http_upgraded_close(u);
        session_free(s);
    }
    pthread_attr_destroy(&attr);
}

void bridge_stop_all(int wait_ms) {
    pthread_mutex_lock(&lock);
    stopping = true;
    struct timespec deadline = util_abstime(CLOCK_REALTIME, wait_ms);
    while (nsessions > 0) {
        if (pthread_cond_timedwait(&none_left, &lock, &deadline) == ETIMEDOUT)
            break;
    }
    abandoned = nsessions > 0;
    if (abandoned)
        log_msg(LOG_WARN, "%d vnc sessions still open at shutdown", nsessions);
    pthread_mutex_unlock(&lock);
}
