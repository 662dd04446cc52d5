/*
 * vnc: what deskd needs to know about x11vnc and noVNC (websockify): their
 * command lines, the VNC password (generated, checked, handed over in a file
 * that x11vnc deletes after reading), and their readiness checks (x11vnc
 * sends an RFB banner, noVNC answers HTTP). It starts nothing itself; the
 * supervisor runs the command lines.
 *
 * The password never appears on a command line: x11vnc reads it from
 * passwd_file, written with vnc_password_write just before each start.
 */
#ifndef DESK_VNC_H
#define DESK_VNC_H

#include <stddef.h>

/* VNC authentication (DES) uses at most 8 characters of a password. */
#define VNC_PASSWORD_MAX 8
#define VNC_ARGV_MAX     24

struct vnc_config {
    const char *display;    /* ":1" */
    int vnc_port;           /* x11vnc, on the loopback interface only */
    int novnc_port;         /* websockify serving noVNC */
    const char *novnc_host; /* websockify's listen address; "" for every interface */
    const char *web_dir;    /* noVNC's files, e.g. /usr/share/novnc */
    /* What websockify serves: vnc_web_mirror's copy of web_dir (NULL: web_dir itself). */
    const char *novnc_web;
    const char *passwd_file; /* x11vnc reads it, then deletes it */
    /* Where websockify connects: the rate-limiting gate (gate.h) in front of x11vnc, or 0 for
     * x11vnc itself. */
    int gate_port;
};

struct vnc_argv {
    const char *argv[VNC_ARGV_MAX]; /* NULL-terminated; points into store and the config */
    char store[512];
};

void vnc_x11vnc_argv(const struct vnc_config *c, struct vnc_argv *out);
void vnc_novnc_argv(const struct vnc_config *c, struct vnc_argv *out);

/*
 * Makes dst a mirror of the tree src for websockify, which lists any
 * directory without an index.html: the same directories, a symbolic link
 * for each file, and in every directory without one an index.html (at the
 * top, a redirect to vnc.html; elsewhere an empty page). Replaces what dst
 * held. 0, or -errno with a sentence in err.
 */
int vnc_web_mirror(const char *src, const char *dst, char *err, size_t errlen);

/* A random password of VNC_PASSWORD_MAX letters and digits (getrandom). 0 or -errno. */
int vnc_password_generate(char out[VNC_PASSWORD_MAX + 1]);
/* 0 when pw is usable (1 to 8 printable ASCII characters, no space); -EINVAL with a sentence. */
int vnc_password_check(const char *pw, char *err, size_t errlen);
/* Replaces path with a file of mode 0600 holding pw. 0 or -errno. */
int vnc_password_write(const char *path, const char *pw);

/*
 * Readiness checks, each bounded by timeout_ms. Return 1 when ready, 0 when
 * not yet (nothing listens, no answer yet), negative when something else
 * answers (err says what).
 */
int vnc_probe_rfb(int port, int timeout_ms, char *err, size_t errlen);
int vnc_probe_http(const char *host, int port, int timeout_ms, char *err, size_t errlen);
/* 1 when something already listens on host:port ("" for every interface), 0 when free. */
int vnc_port_busy(const char *host, int port);

#endif
