/*
 * vnc: x11vnc and websockify command lines, the password file and the
 * readiness checks. The checks use plain non-blocking sockets and poll, so a
 * peer that accepts and then says nothing costs at most timeout_ms.
 */
#define _GNU_SOURCE
#include "vnc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Writes prefix and v into the store and returns that text. */
static const char *keep(struct vnc_argv *out, size_t *used, const char *prefix, int v) {
    char *p = out->store + *used;
    size_t room = sizeof out->store - *used;
    int n = snprintf(p, room, "%s%d", prefix, v);
    *used += n >= 0 && (size_t)n < room ? (size_t)n + 1 : room;
    return p;
}

void vnc_x11vnc_argv(const struct vnc_config *c, struct vnc_argv *out) {
    size_t used = 0;
    int n = 0;
    const char **a = out->argv;
    a[n++] = "x11vnc";
    a[n++] = "-display";
    a[n++] = c->display;
    a[n++] = "-rfbport";
    a[n++] = keep(out, &used, "", c->vnc_port);
    /* noVNC connects locally; nothing else needs the raw VNC port. */
    a[n++] = "-localhost";
    a[n++] = "-forever";
    a[n++] = "-shared";
    a[n++] = "-passwdfile";
    /* "rm:": x11vnc deletes the file once it has read the password. */
    char *pf = out->store + used;
    snprintf(pf, sizeof out->store - used, "rm:%s", c->passwd_file);
    used += strlen(pf) + 1;
    a[n++] = pf;
    /* Keysyms from a browser map to keycodes through the XKB keymap. */
    a[n++] = "-xkb";
    a[n++] = "-noxrecord";
    /* The pointer is drawn into the picture, so that viewers see where the agent's pointer is
     * (noVNC draws a cursor shape only where the viewer's own mouse is). */
    a[n++] = "-nocursorshape";
    a[n] = NULL;
}

void vnc_novnc_argv(const struct vnc_config *c, struct vnc_argv *out) {
    size_t used = 0;
    int n = 0;
    const char **a = out->argv;
    a[n++] = "websockify";
    a[n++] = "--web";
    a[n++] = c->novnc_web ? c->novnc_web : c->web_dir;
    if (c->novnc_host && *c->novnc_host) {
        char *p = out->store + used;
        bool v6 = strchr(c->novnc_host, ':') != NULL;
        snprintf(p, sizeof out->store - used, v6 ? "[%s]:%d" : "%s:%d", c->novnc_host,
                c->novnc_port);
        used += strlen(p) + 1;
        a[n++] = p;
    } else {
        a[n++] = keep(out, &used, "", c->novnc_port);
    }
    a[n++] = keep(out, &used, "127.0.0.1:", c->gate_port > 0 ? c->gate_port : c->vnc_port);
    a[n] = NULL;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* The walk's state: nftw takes no argument for its callback. */
static struct {
    const char *src, *dst;
    int err;
    char what[PATH_MAX + 64];
} mirror;

static int write_index(const char *dir, bool top) {
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/index.html", dir) >= (int)sizeof path)
        return -ENAMETOOLONG;
    if (access(path, F_OK) == 0)
        return 0;
    static const char redirect[] = "<!DOCTYPE html><meta http-equiv=\"refresh\" "
                                   "content=\"0; url=vnc.html\"><a href=\"vnc.html\">noVNC</a>\n";
    static const char empty[] = "<!DOCTYPE html><title>noVNC</title>\n";
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    const char *text = top ? redirect : empty;
    size_t len = top ? sizeof redirect - 1 : sizeof empty - 1;
    int rc = write(fd, text, len) == (ssize_t)len ? 0 : -EIO;
    close(fd);
    return rc;
}

/* Pass 1 (directories before their contents): the directories, and a link for each file. */
static int mirror_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)ftw;
    char out[PATH_MAX];
    int rc = 0;
    if (snprintf(out, sizeof out, "%s%s", mirror.dst, path + strlen(mirror.src)) >= (int)sizeof out)
        rc = -ENAMETOOLONG;
    else if (flag == FTW_D)
        rc = mkdir(out, 0755) < 0 && errno != EEXIST ? -errno : 0;
    else if (flag == FTW_F || flag == FTW_SL)
        rc = symlink(path, out) < 0 ? -errno : 0;
    if (rc < 0) {
        mirror.err = rc;
        snprintf(mirror.what, sizeof mirror.what, "%s", out);
        return 1;
    }
    return 0;
}

/* Pass 2: an index.html in every directory that has none. */
static int index_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    if (flag != FTW_D)
        return 0;
    char out[PATH_MAX];
    int rc = snprintf(out, sizeof out, "%s%s", mirror.dst, path + strlen(mirror.src)) >=
                             (int)sizeof out
                     ? -ENAMETOOLONG
                     : write_index(out, ftw->level == 0);
    if (rc < 0) {
        mirror.err = rc;
        (void)!snprintf(mirror.what, sizeof mirror.what, "%s/index.html", out);
        return 1;
    }
    return 0;
}

int vnc_web_mirror(const char *src, const char *dst, char *err, size_t errlen) {
    nftw(dst, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    mirror.src = src;
    mirror.dst = dst;
    mirror.err = 0;
    int rc = nftw(src, mirror_entry, 16, FTW_PHYS);
    if (rc == 0)
        rc = nftw(src, index_entry, 16, FTW_PHYS);
    if (rc != 0) {
        int e = mirror.err ? mirror.err : -errno;
        snprintf(err, errlen, "cannot mirror noVNC's files into %s: %s",
                mirror.err ? mirror.what : src, strerror(-e));
        return e;
    }
    return 0;
}

int vnc_password_generate(char out[VNC_PASSWORD_MAX + 1]) {
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    const unsigned na = sizeof alphabet - 1; /* 62 */
    int n = 0;
    while (n < VNC_PASSWORD_MAX) {
        unsigned char buf[32];
        ssize_t r = getrandom(buf, sizeof buf, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        /* Bytes from 248 up would favour the first letters: drop them. */
        for (ssize_t i = 0; i < r && n < VNC_PASSWORD_MAX; i++) {
            if (buf[i] < 248)
                out[n++] = alphabet[buf[i] % na];
        }
    }
    out[n] = '\0';
    return 0;
}

int vnc_password_check(const char *pw, char *err, size_t errlen) {
    size_t n = strlen(pw);
    if (n == 0 || n > VNC_PASSWORD_MAX) {
        snprintf(err, errlen, "the VNC password must have 1 to %d characters (VNC uses no more)",
                VNC_PASSWORD_MAX);
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        if (pw[i] <= ' ' || pw[i] > '~') {
            snprintf(err, errlen,
                    "the VNC password may hold printable ASCII characters only, no spaces");
            return -EINVAL;
        }
    }
    return 0;
}

int vnc_password_write(const char *path, const char *pw) {
    if (unlink(path) < 0 && errno != ENOENT)
        return -errno;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    char line[VNC_PASSWORD_MAX + 2];
    int n = snprintf(line, sizeof line, "%s\n", pw);
    ssize_t w = write(fd, line, (size_t)n);
    int e = w == n ? 0 : (w < 0 ? -errno : -EIO);
    explicit_bzero(line, sizeof line);
    if (close(fd) < 0 && e == 0)
        e = -errno;
    if (e < 0)
        unlink(path);
    return e;
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Connects to host:port within the deadline. Returns the fd, -1 (refused), -2 (timed out). */
static int connect_to(const char *host, int port, int64_t deadline) {
    struct addrinfo hints = {
            .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    if (getaddrinfo(host, ps, &hints, &ai) != 0 || !ai)
        return -1;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        freeaddrinfo(ai);
        return -1;
    }
    int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    if (rc == 0)
        return fd;
    if (errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    int left = (int)(deadline - now_ms());
    if (left < 0 || poll(&p, 1, left) <= 0) {
        close(fd);
        return -2;
    }
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
    if (soerr) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads until want bytes or the deadline; returns the count. */
static size_t read_some(int fd, char *buf, size_t want, int64_t deadline) {
    size_t got = 0;
    while (got < want) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int left = (int)(deadline - now_ms());
        if (left <= 0 || poll(&p, 1, left) <= 0)
            break;
        ssize_t r = read(fd, buf + got, want - got);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    return got;
}

int vnc_probe_rfb(int port, int timeout_ms, char *err, size_t errlen) {
    int64_t deadline = now_ms() + timeout_ms;
    int fd = connect_to("127.0.0.1", port, deadline);
    if (fd < 0)
        return 0;
    char banner[12];
    size_t got = read_some(fd, banner, sizeof banner, deadline);
    close(fd);
    if (got < 4)
        return 0;
    if (memcmp(banner, "RFB ", 4) != 0) {
        snprintf(err, errlen, "port %d answers, but not with an RFB banner", port);
        return -EPROTO;
    }
    return 1;
}

static const char *probe_host(const char *host) {
    if (!host || !*host || strcmp(host, "0.0.0.0") == 0)
        return "127.0.0.1";
    if (strcmp(host, "::") == 0)
        return "::1";
    return host;
}

int vnc_probe_http(const char *host, int port, int timeout_ms, char *err, size_t errlen) {
    int64_t deadline = now_ms() + timeout_ms;
    int fd = connect_to(probe_host(host), port, deadline);
    if (fd < 0)
        return 0;
    static const char req[] = "GET /vnc.html HTTP/1.0\r\nHost: localhost\r\n\r\n";
    ssize_t w = send(fd, req, sizeof req - 1, MSG_NOSIGNAL);
    char head[16] = {0};
    size_t got = w == (ssize_t)(sizeof req - 1) ? read_some(fd, head, 12, deadline) : 0;
    close(fd);
    if (got < 12)
        return 0;
    if (memcmp(head, "HTTP/1.", 7) != 0) {
        snprintf(err, errlen, "port %d answers, but not with HTTP", port);
        return -EPROTO;
    }
    if (memcmp(head + 9, "404", 3) == 0) {
        snprintf(err, errlen, "port %d answers 404 for /vnc.html: noVNC's web files are missing",
                port);
        return -ENOENT;
    }
    return 1;
}

int vnc_port_busy(const char *host, int port) {
    const char *h = host && *host ? host : "0.0.0.0";
    struct addrinfo hints = {
            .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    if (getaddrinfo(h, ps, &hints, &ai) != 0 || !ai)
        return 0;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int busy = 0;
    if (fd >= 0) {
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        busy = bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno == EADDRINUSE;
        close(fd);
    }
    freeaddrinfo(ai);
    return busy;
}
