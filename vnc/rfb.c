/*
 * rfb: deskd's side of RFB 3.8 (RFC 6143): the client handshake toward x11vnc
 * and the message filter for the browser's stream. DES comes from nettle.
 */
#define _GNU_SOURCE
#include "rfb.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nettle/des.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static uint8_t reverse_bits(uint8_t b) {
    uint8_t r = 0;
    for (int i = 0; i < 8; i++)
        r |= (uint8_t)(((b >> i) & 1u) << (7 - i));
    return r;
}

void rfb_vnc_auth_response(const char *password, const uint8_t challenge[16], uint8_t out[16]) {
    uint8_t key[DES_KEY_SIZE] = {0};
    size_t n = strnlen(password, DES_KEY_SIZE);
    for (size_t i = 0; i < n; i++)
        key[i] = reverse_bits((uint8_t)password[i]);
    struct des_ctx ctx;
    /* des_set_key reports weak keys; VNC uses whatever the password makes. */
    des_set_key(&ctx, key);
    des_encrypt(&ctx, 16, out, challenge);
    explicit_bzero(key, sizeof key);
    explicit_bzero(&ctx, sizeof ctx);
}

/* Reads exactly n bytes (the socket's receive timeout bounds each wait). */
static int read_full(int fd, void *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = recv(fd, (char *)buf + got, n - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r == 0 ? -ECONNRESET : -errno;
        got += (size_t)r;
    }
    return 0;
}

static int write_full(int fd, const void *buf, size_t n) {
    size_t put = 0;
    while (put < n) {
        ssize_t w = send(fd, (const char *)buf + put, n - put, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w == 0 ? -EIO : -errno;
        put += (size_t)w;
    }
    return 0;
}

/* Reads a reason string (u32 length, bytes) into err, cut to fit. */
static void read_reason(int fd, const char *what, char *err, size_t errlen) {
    uint32_t len = 0;
    char reason[256] = "";
    if (read_full(fd, &len, 4) == 0) {
        len = ntohl(len);
        size_t take = len < sizeof reason - 1 ? len : sizeof reason - 1;
        if (read_full(fd, reason, take) == 0)
            reason[take] = '\0';
        else
            reason[0] = '\0';
    }
    snprintf(err, errlen, "%s%s%s", what, reason[0] ? ": " : "", reason);
}

int rfb_connect(int port, const char *password, int timeout_ms, char *err, size_t errlen) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "cannot make a socket: %s", strerror(errno));
        return -1;
    }
    struct timeval tv = {
            .tv_sec = timeout_ms / 1000, .tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET,
            .sin_port = htons((uint16_t)port),
            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        snprintf(err, errlen, "x11vnc does not answer on port %d: %s", port, strerror(errno));
        close(fd);
        return -1;
    }
    char version[13] = {0};
    uint8_t n = 0, types[255], chosen = 0;
    if (read_full(fd, version, 12) < 0 || memcmp(version, "RFB 003.", 8) != 0 ||
            strncmp(version + 8, "008", 3) < 0) {
        snprintf(err, errlen, "port %d does not speak RFB 3.8", port);
        goto fail;
    }
    if (write_full(fd, RFB_VERSION_38, 12) < 0 || read_full(fd, &n, 1) < 0)
        goto io;
    if (n == 0) {
        read_reason(fd, "x11vnc refused the connection", err, errlen);
        goto fail;
    }
    if (read_full(fd, types, n) < 0)
        goto io;
    for (int i = 0; i < n; i++) {
        if (types[i] == 2 && password && *password)
            chosen = 2;
        else if (types[i] == 1 && chosen == 0)
            chosen = 1;
    }
    if (chosen == 0) {
        snprintf(err, errlen, "x11vnc offers neither VNC authentication nor none");
        goto fail;
    }
    if (write_full(fd, &chosen, 1) < 0)
        goto io;
    if (chosen == 2) {
        uint8_t challenge[16], response[16];
        if (read_full(fd, challenge, 16) < 0)
            goto io;
        rfb_vnc_auth_response(password, challenge, response);
        if (write_full(fd, response, 16) < 0)
            goto io;
    }
    uint32_t result = 0;
    if (read_full(fd, &result, 4) < 0)
        goto io;
    if (result != 0) {
        read_reason(fd, "x11vnc refused deskd's VNC password", err, errlen);
        goto fail;
    }
    return fd;
io:
    snprintf(err, errlen, "the RFB handshake with x11vnc failed: %s",
            errno == EAGAIN ? "no answer in time" : strerror(errno ? errno : EIO));
fail:
    close(fd);
    return -1;
}

void rfb_filter_init(struct rfb_filter *f, bool view_only) {
    *f = (struct rfb_filter){.view_only = view_only, .type = -1};
}

/* A message type's header length (bytes needed to know its length) and whether it passes. */
static int start_message(struct rfb_filter *f, uint8_t type) {
    static const struct {
        uint8_t type;
        uint8_t head; /* bytes up to and including the length fields */
        bool input;   /* acts on the desktop: dropped for view-only sessions */
    } kinds[] = {
            {RFB_SET_PIXEL_FORMAT, 1, false},
            {RFB_SET_ENCODINGS, 4, false},
            {RFB_UPDATE_REQUEST, 1, false},
            {RFB_KEY_EVENT, 1, true},
            {RFB_POINTER_EVENT, 1, true},
            {RFB_CLIENT_CUT_TEXT, 8, true},
            {RFB_ENABLE_CONTINUOUS_UPDATES, 1, false},
            {RFB_CLIENT_FENCE, 9, false},
            {RFB_XVP, 1, true},
            {RFB_SET_DESKTOP_SIZE, 8, true},
            {RFB_QEMU, 2, true},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (kinds[i].type == type) {
            f->type = type;
            f->need = kinds[i].head;
            f->have = 0;
            f->passing = !(f->view_only && kinds[i].input);
            return 0;
        }
    }
    snprintf(f->err, sizeof f->err, "unknown RFB message type %u from the browser", type);
    return -EPROTO;
}

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* With the header in f->head: the bytes that follow it. */
static int body_length(struct rfb_filter *f) {
    const uint8_t *h = f->head;
    switch (f->type) {
    case RFB_SET_PIXEL_FORMAT:
        f->rest = 19;
        return 0;
    case RFB_UPDATE_REQUEST:
        f->rest = 9;
        return 0;
    case RFB_KEY_EVENT:
        f->rest = 7;
        return 0;
    case RFB_POINTER_EVENT:
        f->rest = 5;
        return 0;
    case RFB_ENABLE_CONTINUOUS_UPDATES:
        f->rest = 9;
        return 0;
    case RFB_XVP:
        f->rest = 3;
        return 0;
    case RFB_SET_ENCODINGS:
        f->rest = (uint64_t)4 * ((unsigned)h[2] << 8 | h[3]);
        return 0;
    case RFB_SET_DESKTOP_SIZE:
        f->rest = (uint64_t)16 * h[6];
        return 0;
    case RFB_CLIENT_FENCE:
        if (h[8] > 64) {
            snprintf(f->err, sizeof f->err, "a ClientFence with %u bytes of payload (at most 64)",
                    h[8]);
            return -EPROTO;
        }
        f->rest = h[8];
        return 0;
    case RFB_CLIENT_CUT_TEXT: {
        /* The extended clipboard sends a negative length: its absolute value follows. */
        int32_t len = (int32_t)be32(h + 4);
        uint64_t abs = len < 0 ? (uint64_t)(-(int64_t)len) : (uint64_t)len;
        if (abs > RFB_CUT_TEXT_MAX) {
            snprintf(f->err, sizeof f->err, "a ClientCutText of %llu bytes (at most %u)",
                    (unsigned long long)abs, RFB_CUT_TEXT_MAX);
            return -EPROTO;
        }
        f->rest = abs;
        return 0;
    }
    case RFB_QEMU:
        if (h[1] != 0) { /* only the extended key event (subtype 0) is defined for clients */
            snprintf(f->err, sizeof f->err, "an unknown QEMU client message subtype %u", h[1]);
            return -EPROTO;
        }
        f->rest = 10;
        return 0;
    default:
        return -EPROTO;
    }
}

static void count(struct rfb_filter *f) {
    if (f->passing)
        f->passed++;
    else if (f->type == RFB_KEY_EVENT || f->type == RFB_QEMU)
        f->dropped_keys++;
    else if (f->type == RFB_POINTER_EVENT)
        f->dropped_pointer++;
    else if (f->type == RFB_CLIENT_CUT_TEXT)
        f->dropped_cut++;
    else
        f->dropped_other++;
}

int rfb_filter_feed(struct rfb_filter *f, const uint8_t *in, size_t n, uint8_t *out, size_t *outn) {
    size_t i = 0, o = 0;
    while (i < n) {
        if (f->type < 0 && start_message(f, in[i]) < 0) {
            *outn = o;
            return -EPROTO;
        }
        if (f->have < f->need) {
            size_t take = f->need - f->have < n - i ? f->need - f->have : n - i;
            memcpy(f->head + f->have, in + i, take);
            f->have += take;
            i += take;
            if (f->have < f->need)
                break;
            if (body_length(f) < 0) {
                *outn = o;
                return -EPROTO;
            }
            if (f->passing) {
                memcpy(out + o, f->head, f->need);
                o += f->need;
            }
        }
        size_t take = f->rest < n - i ? (size_t)f->rest : n - i;
        if (f->passing) {
            memcpy(out + o, in + i, take);
            o += take;
        }
        f->rest -= take;
        i += take;
        if (f->rest == 0) {
            count(f);
            f->type = -1;
        }
    }
    *outn = o;
    return 0;
}
