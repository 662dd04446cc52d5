/*
 * stack: the four desktop processes as svc definitions, and the supervisor
 * thread that runs them.
 *
 *   xvfb    Xvfb :N -screen 0 WxHx24 -nolisten tcp -noreset -s 0 -dpms
 *           ready when its socket answers the X connection setup
 *   xfce4   dbus-run-session -- xfce4-session          (after and bound to xvfb)
 *           ready when a window manager runs and a panel is mapped and painted
 *   x11vnc  x11vnc -display :N -rfbport VNC_PORT -localhost ...   (same)
 *           ready when its port sends "RFB "
 *   novnc   websockify --web /usr/share/novnc NO_VNC_PORT 127.0.0.1:VNC_PORT
 *           (after xvfb and x11vnc, bound to xvfb) ready when it answers HTTP
 *
 * Why these choices:
 *  - xfce4's readiness is "a window manager and a painted panel", not "the
 *    process runs": an agent acts as soon as start returns, and before xfwm4
 *    and the panel are up its clicks land on a bare root window, new windows
 *    come up unmanaged, and for about a second after the panel is mapped the
 *    screen is still black (the compositor has not drawn). Painted means the
 *    panel's pixels differ from the desktop beside it; a theme where they do
 *    not still counts as ready 5 s after the panel was mapped.
 *  - dbus-run-session, not dbus-launch: it keeps the bus daemon its own child,
 *    in the service's process group, and ends it with the session, where
 *    dbus-launch double-forks a daemon and a babysitter out of the group.
 *  - No blanking: Xvfb's own screen saver is off (-s 0, -dpms), and xfce4 gets
 *    a configuration directory, first on XDG_CONFIG_DIRS, whose autostart
 *    entries hide the screen lockers and savers and the power manager.
 *  - Every child carries DESK_SERVICE=<deskd pid>.<random>:<name> in its
 *    environment, inherited by everything it starts. Stops signal the process
 *    group and anything carrying the mark, so a daemon that left the group
 *    still goes; a deskd that starts finds the marks of a deskd that died
 *    without cleaning up and kills what it left.
 *  - Deskd's own DESK_* variables (the API token, the VNC password) are not
 *    passed to the desktop.
 */
#define _GNU_SOURCE
#include "stack.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xcb/xcb.h>

#include "log.h"
#include "proc.h"
#include "svc.h"
#include "vnc.h"

extern char **environ;

enum { XVFB, XFCE4, X11VNC, NOVNC };

#define LOG_CAP            (512 * 1024)
#define START_TIMEOUT_MS   90000
#define STOP_TIMEOUT_MS    60000
#define RESTART_TIMEOUT_MS 60000
/* A start gives up on a process after this many failed attempts (at once for spawn errors). */
#define OP_MAX_FAILS 3
#define NOVNC_WEB    "/usr/share/novnc"

static const char *const names[STACK_N] = {"xvfb", "xfce4", "x11vnc", "novnc"};

/* Autostart entries the desktop must not run: lockers, savers, power managers. */
static const char *const hidden_autostart[] = {"light-locker", "xscreensaver", "xfce4-screensaver",
        "xfce4-power-manager", "gnome-screensaver", "mate-screensaver"};

struct runtime {
    const char *exe;     /* looked up on PATH before each start */
    const char *also;    /* another executable it needs, or NULL */
    const char *package; /* the Debian package that has them */
    const char *argv[VNC_ARGV_MAX];
    struct vnc_argv vargv;
    char **envp;
    char marker[96];
    struct proc_log out, err;
    bool logs_open;
    int out_rd, err_rd;
    char out_path[600], err_path[600];
};

static struct {
    bool managed, thread_running;
    char display[32];
    int display_num;
    int width, height;
    char geometry[32];
    struct vnc_config vnc;
    char novnc_host[64];
    char state_dir[400];
    char xdg_dir[450];
    char passwd_path[450];
    char home[PATH_MAX];
    char password[VNC_PASSWORD_MAX + 1];
    char stack_id[48];
    char path_env[4096];

    pthread_mutex_t lock;
    pthread_cond_t changed;
    pthread_t thread;
    int wake_fd, sig_fd;
    bool quiescing, quitting;

    struct svc_def defs[STACK_N];
    struct svc_sup sup;
    struct runtime rt[STACK_N];

    enum { OP_NONE, OP_START, OP_STOP, OP_RESTART } op;
    unsigned op_gen, preempted_gen;
    int op_target;

    int64_t t_init;
    int64_t panel_mapped_at; /* of the xfce4 instance being started; 0: not yet */
    bool announced;
} S = {.wake_fd = -1, .sig_fd = -1};

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *env_or(const char *name, const char *def) {
    const char *v = getenv(name);
    return v && *v ? v : def;
}

static bool env_true(const char *name) {
    const char *v = getenv(name);
    return v && (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0);
}

static bool env_false(const char *name) {
    const char *v = getenv(name);
    return v && (strcmp(v, "0") == 0 || strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0);
}

void stack_config_defaults(struct stack_config *c) {
    memset(c, 0, sizeof *c);
    c->resolution = env_or("VNC_RESOLUTION", "1280x720");
    c->vnc_port = env_or("VNC_PORT", "5901");
    c->novnc_port = env_or("NO_VNC_PORT", "6080");
    c->novnc_host = env_or("DESK_NOVNC_HOST", "");
    c->state_dir = env_or("DESK_STATE_DIR", NULL);
    c->vnc_password = env_or("DESK_VNC_PASSWORD", NULL);
    c->attach = env_true("DESK_ATTACH");
    c->autostart = !env_false("DESK_START");
}

/* ---- readiness checks ---- */

/*
 * Sends the X connection setup on display num's socket and reads the answer.
 * 1: a server accepted us; 0: nothing there yet; negative: it refused (err).
 */
static int x11_probe(int num, int timeout_ms, char *err, size_t errlen) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "/tmp/.X11-unix/X%d", num);
    /* A local connect completes at once or fails (EAGAIN: backlog full: not yet). */
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return 0;
    }
    /* Little-endian, protocol 11.0, no authorization. */
    static const unsigned char setup[12] = {'l', 0, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    if (send(fd, setup, sizeof setup, MSG_NOSIGNAL) != (ssize_t)sizeof setup) {
        close(fd);
        return 0;
    }
    unsigned char head[8 + 256];
    size_t got = 0;
    int64_t deadline = mono_ms() + timeout_ms;
    while (got < sizeof head) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int left = (int)(deadline - mono_ms());
        if (left <= 0 || poll(&p, 1, left) <= 0)
            break;
        ssize_t r = read(fd, head + got, sizeof head - got);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
        if (got >= 8 && head[0] == 1)
            break;
        if (got >= 8 && got >= 8u + head[1])
            break;
    }
    close(fd);
    if (got < 8)
        return 0;
    if (head[0] == 1)
        return 1;
    if (err) {
        int n = head[0] == 0 ? (int)(got - 8 < head[1] ? got - 8 : head[1]) : 0;
        snprintf(err, errlen, "the X server on :%d refused the connection%s%.*s", num,
                n ? ": " : " (it wants authorization)", n, (const char *)head + 8);
    }
    return -EACCES;
}

static xcb_atom_t intern(xcb_connection_t *c, const char *name) {
    xcb_intern_atom_reply_t *r =
            xcb_intern_atom_reply(c, xcb_intern_atom(c, 1, (uint16_t)strlen(name), name), NULL);
    xcb_atom_t a = r ? r->atom : XCB_ATOM_NONE;
    free(r);
    return a;
}

/* Up to max 32-bit values of property prop of win; returns the count. */
static int prop32(xcb_connection_t *c, xcb_window_t win, xcb_atom_t prop, xcb_atom_t type,
        uint32_t *out, int max) {
    xcb_get_property_reply_t *r = xcb_get_property_reply(
            c, xcb_get_property(c, 0, win, prop, type, 0, (uint32_t)max), NULL);
    int n = 0;
    if (r && r->format == 32) {
        n = xcb_get_property_value_length(r) / 4;
        if (n > max)
            n = max;
        memcpy(out, xcb_get_property_value(r), (size_t)n * 4);
    }
    free(r);
    return n;
}

struct box {
    int x, y, w, h;
};

/* Mean colour (BGRX bytes) and the spread of the brightness over r on the root window. */
static bool sample(
        xcb_connection_t *c, xcb_window_t root, struct box r, double mean[3], double *sd) {
    xcb_get_image_reply_t *img = xcb_get_image_reply(c,
            xcb_get_image(c, XCB_IMAGE_FORMAT_Z_PIXMAP, root, (int16_t)r.x, (int16_t)r.y,
                    (uint16_t)r.w, (uint16_t)r.h, ~0u),
            NULL);
    int len = img ? xcb_get_image_data_length(img) : 0;
    if (!img || len < r.w * r.h * 4 || r.h <= 0) {
        free(img);
        return false;
    }
    const uint8_t *px = xcb_get_image_data(img);
    size_t stride = (size_t)len / (size_t)r.h;
    double sum[3] = {0}, sq = 0;
    for (int y = 0; y < r.h; y++) {
        for (int x = 0; x < r.w; x++) {
            const uint8_t *p = px + (size_t)y * stride + (size_t)x * 4;
            double l = (p[0] + p[1] + p[2]) / 3.0;
            for (int k = 0; k < 3; k++)
                sum[k] += p[k];
            sq += l * l;
        }
    }
    double n = (double)r.w * r.h, ml = 0;
    for (int k = 0; k < 3; k++) {
        mean[k] = sum[k] / n;
        ml += mean[k] / 3.0;
    }
    double var = sq / n - ml * ml;
    *sd = var > 0 ? sqrt(var) : 0;
    free(img);
    return true;
}

static bool clip(struct box *r, int sw, int sh) {
    int x0 = r->x < 0 ? 0 : r->x, y0 = r->y < 0 ? 0 : r->y;
    int x1 = r->x + r->w > sw ? sw : r->x + r->w, y1 = r->y + r->h > sh ? sh : r->y + r->h;
    *r = (struct box){x0, y0, x1 - x0, y1 - y0};
    return r->w > 0 && r->h > 0;
}

/*
 * True when the panel at r and the desktop beside it (towards the middle of
 * the screen) have been painted: the desktop is not black, and the panel shows
 * content and differs clearly from it. Until then a screenshot shows black,
 * or the wallpaper where the panel is.
 */
static bool painted(xcb_connection_t *c, xcb_window_t root, struct box r, int sw, int sh) {
    if (r.h > 64)
        r.h = 64;
    struct box bg = r;
    bg.y = r.y + r.h / 2 < sh / 2 ? r.y + r.h + 8 : r.y - r.h - 8;
    if (!clip(&bg, sw, sh))
        return false;
    double pm[3], bm[3], psd, bsd;
    if (!sample(c, root, r, pm, &psd) || !sample(c, root, bg, bm, &bsd))
        return false;
    double diff = fabs(pm[0] - bm[0]) + fabs(pm[1] - bm[1]) + fabs(pm[2] - bm[2]);
    return diff > 60 && psd > 3 && bm[0] + bm[1] + bm[2] > 24;
}

/*
 * 1 when the desktop is usable: a window manager runs (its EWMH check window
 * names itself), a panel (a dock window) is mapped, and every mapped panel and
 * the desktop beside it are painted. A panel that cannot be told from the
 * wallpaper (an unusual theme, a black wallpaper) counts PAINT_GRACE_MS after
 * the first panel was mapped.
 */
#define PAINT_GRACE_MS 5000
static int xfce_probe(void) {
    /* xcb would wait forever on a server that accepts but never answers. */
    if (x11_probe(S.display_num, 300, NULL, 0) != 1)
        return 0;
    int screen = 0;
    xcb_connection_t *c = xcb_connect(S.display, &screen);
    if (xcb_connection_has_error(c)) {
        xcb_disconnect(c);
        return 0;
    }
    int ready = 0;
    xcb_screen_iterator_t it = xcb_setup_roots_iterator(xcb_get_setup(c));
    for (int k = 0; k < screen && it.rem; k++)
        xcb_screen_next(&it);
    xcb_window_t root = it.data->root;
    int sw = it.data->width_in_pixels, sh = it.data->height_in_pixels;
    xcb_atom_t check = intern(c, "_NET_SUPPORTING_WM_CHECK");
    xcb_atom_t list = intern(c, "_NET_CLIENT_LIST");
    xcb_atom_t type = intern(c, "_NET_WM_WINDOW_TYPE");
    xcb_atom_t dock = intern(c, "_NET_WM_WINDOW_TYPE_DOCK");
    uint32_t wm = 0, wm2 = 0;
    if (!check || !list || !type || !dock)
        goto out;
    if (prop32(c, root, check, XCB_ATOM_WINDOW, &wm, 1) != 1 ||
            prop32(c, wm, check, XCB_ATOM_WINDOW, &wm2, 1) != 1 || wm != wm2)
        goto out;
    /* The dock windows on the screen. */
    uint32_t wins[512];
    int n = prop32(c, root, list, XCB_ATOM_WINDOW, wins, 512);
    struct box docks[8];
    int nd = 0;
    for (int k = 0; k < n; k++) {
        uint32_t types[16];
        int nt = prop32(c, wins[k], type, XCB_ATOM_ATOM, types, 16);
        bool is_dock = false;
        for (int t = 0; t < nt; t++)
            is_dock |= types[t] == dock;
        if (!is_dock)
            continue;
        xcb_get_window_attributes_reply_t *a =
                xcb_get_window_attributes_reply(c, xcb_get_window_attributes(c, wins[k]), NULL);
        bool viewable = a && a->map_state == XCB_MAP_STATE_VIEWABLE;
        free(a);
        xcb_get_geometry_reply_t *g =
                viewable ? xcb_get_geometry_reply(c, xcb_get_geometry(c, wins[k]), NULL) : NULL;
        xcb_translate_coordinates_reply_t *tr =
                g ? xcb_translate_coordinates_reply(
                            c, xcb_translate_coordinates(c, wins[k], root, 0, 0), NULL)
                  : NULL;
        if (g && tr) {
            struct box b = {tr->dst_x, tr->dst_y, g->width, g->height};
            if (clip(&b, sw, sh) && b.w * b.h >= 100 && nd < 8)
                docks[nd++] = b;
        }
        free(g);
        free(tr);
    }
    if (nd == 0)
        goto out;
    int64_t t = mono_ms();
    if (!S.panel_mapped_at)
        S.panel_mapped_at = t;
    bool all = true;
    for (int k = 0; k < nd && all; k++)
        all = painted(c, root, docks[k], sw, sh);
    if (all) {
        ready = 1;
    } else if (t - S.panel_mapped_at >= PAINT_GRACE_MS) {
        log_msg(LOG_WARN,
                "xfce4: its panel looks like the desktop behind it %d ms after it "
                "was mapped; taking it as ready",
                PAINT_GRACE_MS);
        ready = 1;
    }
out:
    xcb_disconnect(c);
    return ready;
}

/* ---- svc operations ---- */

static int64_t op_now(void *ctx) {
    (void)ctx;
    return mono_ms();
}

/* Reads what a pipe holds into its log; closes it at end of file. Under the lock. */
static void pump(struct proc_log *l, int *fd) {
    char buf[16384];
    while (*fd >= 0) {
        ssize_t r = read(*fd, buf, sizeof buf);
        if (r > 0) {
            proc_log_write(l, buf, (size_t)r);
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0 || errno != EAGAIN) {
            close(*fd);
            *fd = -1;
        }
        return;
    }
}

static int prepare(int i, char *err, size_t errlen) {
    switch (i) {
    case XVFB:
        if (x11_probe(S.display_num, 300, NULL, 0) == 1) {
            snprintf(err, errlen,
                    "display %s is already in use by another X server (use --attach to drive it, "
                    "or choose another display)",
                    S.display);
            return -EADDRINUSE;
        }
        return 0;
    case X11VNC: {
        if (vnc_port_busy("127.0.0.1", S.vnc.vnc_port)) {
            snprintf(err, errlen, "port %d (VNC_PORT) is already in use", S.vnc.vnc_port);
            return -EADDRINUSE;
        }
        int rc = vnc_password_write(S.passwd_path, S.password);
        if (rc < 0)
            snprintf(err, errlen, "cannot write %s: %s", S.passwd_path, strerror(-rc));
        return rc;
    }
    case NOVNC: {
        if (vnc_port_busy(S.novnc_host, S.vnc.novnc_port)) {
            snprintf(err, errlen, "port %d (NO_VNC_PORT) is already in use", S.vnc.novnc_port);
            return -EADDRINUSE;
        }
        char page[PATH_MAX];
        snprintf(page, sizeof page, "%s/vnc.html", S.vnc.web_dir);
        if (access(page, R_OK) < 0) {
            snprintf(err, errlen,
                    "noVNC's web files are missing: no %s (install the novnc package)", page);
            return -ENOENT;
        }
        return 0;
    }
    }
    return 0;
}

/*
 * Runs on the supervisor thread only (svc_tick is called nowhere else):
 * PR_SET_PDEATHSIG ties each child to the thread that forked it, and that
 * thread lives until the desktop is stopped.
 */
static int op_spawn(void *ctx, int i, pid_t *pid, char *err, size_t errlen) {
    (void)ctx;
    struct runtime *rt = &S.rt[i];
    char file[PATH_MAX], other[PATH_MAX];
    /* A failure to start leaves no last words of an older instance in the message. */
    proc_log_mark(&rt->err);
    const char *need[2] = {rt->exe, rt->also};
    for (int k = 0; k < 2 && need[k]; k++) {
        int rc = proc_which(need[k], S.path_env, k ? other : file, PATH_MAX);
        if (rc < 0) {
            snprintf(err, errlen, "%s is %s (install the %s package)", need[k],
                    rc == -EACCES ? "not executable" : "missing: no such executable on PATH",
                    rt->package);
            return rc;
        }
    }
    int rc = prepare(i, err, errlen);
    if (rc < 0)
        return rc;
    if (i == XFCE4)
        S.panel_mapped_at = 0;
    if (!rt->logs_open) {
        if ((rc = proc_log_open(&rt->out, rt->out_path, LOG_CAP)) < 0 ||
                (rc = proc_log_open(&rt->err, rt->err_path, LOG_CAP)) < 0) {
            snprintf(
                    err, errlen, "cannot open its log files in %s: %s", S.state_dir, strerror(-rc));
            proc_log_close(&rt->out);
            return rc;
        }
        rt->logs_open = true;
    }
    /* What the previous instance left in its pipes goes to the log first. */
    pump(&rt->out, &rt->out_rd);
    pump(&rt->err, &rt->err_rd);
    if (rt->out_rd >= 0)
        close(rt->out_rd);
    if (rt->err_rd >= 0)
        close(rt->err_rd);
    rt->out_rd = rt->err_rd = -1;

    int po[2], pe[2];
    if (pipe2(po, O_CLOEXEC) < 0) {
        rc = -errno;
        snprintf(err, errlen, "cannot make a pipe: %s", strerror(errno));
        return rc;
    }
    if (pipe2(pe, O_CLOEXEC) < 0) {
        rc = -errno;
        close(po[0]);
        close(po[1]);
        snprintf(err, errlen, "cannot make a pipe: %s", strerror(errno));
        return rc;
    }
    struct proc_spawn_args a = {
            .file = file,
            .argv = rt->argv,
            .envp = (const char *const *)rt->envp,
            .dir = S.home[0] ? S.home : NULL,
            .out_fd = po[1],
            .err_fd = pe[1],
    };
    rc = proc_spawn(&a, pid, err, errlen);
    close(po[1]);
    close(pe[1]);
    if (rc < 0) {
        close(po[0]);
        close(pe[0]);
        return rc;
    }
    fcntl(po[0], F_SETFL, O_NONBLOCK);
    fcntl(pe[0], F_SETFL, O_NONBLOCK);
    rt->out_rd = po[0];
    rt->err_rd = pe[0];
    return 0;
}

static void op_kill(void *ctx, int i, pid_t pgid, int sig) {
    (void)ctx;
    int strays = proc_kill(pgid, S.rt[i].marker, sig);
    if (strays > 0)
        log_msg(LOG_INFO, "%s: signalled %d of its processes outside its process group", names[i],
                strays);
}

static bool op_alive(void *ctx, int i, pid_t pgid) {
    (void)ctx;
    return proc_alive(pgid, S.rt[i].marker);
}

static int op_ready(void *ctx, int i, pid_t pid, char *err, size_t errlen) {
    (void)ctx;
    (void)pid;
    switch (i) {
    case XVFB:
        return x11_probe(S.display_num, 500, err, errlen);
    case XFCE4:
        return xfce_probe();
    case X11VNC:
        return vnc_probe_rfb(S.vnc.vnc_port, 300, err, errlen);
    case NOVNC:
        return vnc_probe_http(S.novnc_host, S.vnc.novnc_port, 500, err, errlen);
    }
    return -EINVAL;
}

static const char *novnc_shown_host(void) {
    const char *h = S.novnc_host;
    return !*h || strcmp(h, "0.0.0.0") == 0 || strcmp(h, "::") == 0 ? "localhost" : h;
}

static void op_event(void *ctx, int i, enum svc_event ev, const char *text) {
    (void)ctx;
    struct svc *v = &S.sup.svcs[i];
    switch (ev) {
    case SVC_EV_SPAWNED:
        log_msg(LOG_INFO, "%s: started, %s", names[i], text);
        break;
    case SVC_EV_READY:
        log_msg(LOG_INFO, "%s: ready %s", names[i], text);
        if (!S.announced && svc_mask(&S.sup, SVC_READY) == (1u << STACK_N) - 1) {
            S.announced = true;
            fprintf(stderr,
                    "deskd: desktop ready on %s (%dx%d) %.1f s after deskd started; noVNC at "
                    "http://%s:%d/vnc.html (password: GET /computeruse/vnc)\n",
                    S.display, S.width, S.height, (double)(mono_ms() - S.t_init) / 1000.0,
                    novnc_shown_host(), S.vnc.novnc_port);
        }
        break;
    case SVC_EV_FAILED: {
        /* Its last line of stderr usually says why. */
        char last[PROC_LOG_LINE];
        snprintf(last, sizeof last, "%s", S.rt[i].err.last);
        size_t el = strlen(v->error);
        /* Words before a SIGKILL say nothing about it. */
        if (last[0] && !strstr(v->error, "SIGKILL") && el + 20 < sizeof v->error)
            snprintf(v->error + el, sizeof v->error - el, " (its last words: \"%s\")", last);
        log_msg(LOG_WARN, "%s: %s%s", names[i], v->error,
                v->wanted ? "; it will be started again" : "");
        break;
    }
    case SVC_EV_EXITED:
        log_msg(LOG_INFO, "%s: %s, after its dependency went down", names[i], text);
        break;
    case SVC_EV_STOPPED:
        log_msg(LOG_INFO, "%s: stopped", names[i]);
        if (i == X11VNC)
            unlink(S.passwd_path);
        break;
    case SVC_EV_KILLED:
        log_msg(LOG_WARN, "%s: %s; sent SIGKILL", names[i], text);
        break;
    case SVC_EV_STUCK:
        log_msg(LOG_ERROR, "%s: %s; giving up on it", names[i], text);
        break;
    }
}

/* ---- the supervisor thread ---- */

/*
 * Reaps every child that exited. The deaths of one batch are handed to the
 * state machine in priority order: when Xvfb dies, its clients die of it a
 * moment later and may be reaped first, yet their exits are not failures of
 * their own (svc_exited sees that their dependency is down).
 */
static void reap(void) {
    for (bool more = true; more;) {
        struct {
            pid_t pid;
            int status;
        } dead[STACK_N];
        unsigned got = 0;
        more = false;
        for (;;) {
            int status;
            pid_t p = waitpid(-1, &status, WNOHANG);
            if (p <= 0)
                break;
            int i;
            for (i = 0; i < STACK_N && S.sup.svcs[i].pid != p; i++)
                ;
            if (i == STACK_N)
                continue; /* an orphan of the desktop, or a stray */
            dead[i].pid = p;
            dead[i].status = status;
            got |= 1u << i;
            if (got == (1u << STACK_N) - 1) {
                more = true;
                break;
            }
        }
        for (int i = 0; i < STACK_N; i++) {
            if (got & (1u << i))
                svc_exited(&S.sup, dead[i].pid, dead[i].status);
        }
    }
}

static void wake(void) {
    uint64_t one = 1;
    ssize_t w = write(S.wake_fd, &one, sizeof one);
    (void)w;
}

static void *loop(void *arg) {
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&S.lock);
        reap();
        int64_t next = svc_tick(&S.sup);
        bool done = S.quitting && svc_alive_mask(&S.sup) == 0;
        pthread_cond_broadcast(&S.changed);
        pthread_mutex_unlock(&S.lock);
        if (done)
            break;

        /* Only this thread opens and closes the pipes: no lock needed to list them. */
        struct pollfd fds[2 + 2 * STACK_N];
        int *owner[2 + 2 * STACK_N];
        struct proc_log *logs[2 + 2 * STACK_N];
        int nf = 0;
        fds[nf++] = (struct pollfd){.fd = S.sig_fd, .events = POLLIN};
        fds[nf++] = (struct pollfd){.fd = S.wake_fd, .events = POLLIN};
        for (int i = 0; i < STACK_N; i++) {
            if (S.rt[i].out_rd >= 0) {
                owner[nf] = &S.rt[i].out_rd;
                logs[nf] = &S.rt[i].out;
                fds[nf++] = (struct pollfd){.fd = S.rt[i].out_rd, .events = POLLIN};
            }
            if (S.rt[i].err_rd >= 0) {
                owner[nf] = &S.rt[i].err_rd;
                logs[nf] = &S.rt[i].err;
                fds[nf++] = (struct pollfd){.fd = S.rt[i].err_rd, .events = POLLIN};
            }
        }
        /* Wake at least once a second: a lost SIGCHLD costs a second at most. */
        int64_t wait = next == INT64_MAX ? 1000 : next - mono_ms();
        int timeout = wait < 0 ? 0 : wait > 1000 ? 1000 : (int)wait;
        if (poll(fds, (nfds_t)nf, timeout) <= 0)
            continue;
        if (fds[0].revents) {
            struct signalfd_siginfo si[8];
            ssize_t r = read(S.sig_fd, si, sizeof si);
            (void)r;
        }
        if (fds[1].revents) {
            uint64_t v;
            ssize_t r = read(S.wake_fd, &v, sizeof v);
            (void)r;
        }
        /* Output before exits: a process's last words reach its log before its death does. */
        pthread_mutex_lock(&S.lock);
        for (int k = 2; k < nf; k++) {
            if (fds[k].revents)
                pump(logs[k], owner[k]);
        }
        pthread_mutex_unlock(&S.lock);
    }
    return NULL;
}

/* ---- setup ---- */

static int parse_int(const char *s, long min, long max, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < min || v > max)
        return -EINVAL;
    *out = (int)v;
    return 0;
}

static int mkdirs(const char *path, mode_t mode) {
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, mode) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

static int write_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    size_t n = strlen(text);
    ssize_t w = write(fd, text, n);
    close(fd);
    return w == (ssize_t)n ? 0 : -EIO;
}

/* The environment of service i: ours without deskd's own settings, plus the desktop's. */
static char **make_env(int i) {
    static const char *const drop[] = {"DESK_", "DISPLAY=", "DBUS_SESSION_BUS_ADDRESS=",
            "SESSION_MANAGER=", "XDG_CONFIG_DIRS=", "XAUTHORITY=", "WAYLAND_DISPLAY="};
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 4, sizeof *env);
    if (!env)
        return NULL;
    size_t k = 0;
    for (size_t j = 0; j < n; j++) {
        bool keep = true;
        for (size_t d = 0; d < sizeof drop / sizeof drop[0] && keep; d++)
            keep = strncmp(environ[j], drop[d], strlen(drop[d])) != 0;
        if (keep)
            env[k++] = strdup(environ[j]);
    }
    const char *dirs = getenv("XDG_CONFIG_DIRS");
    if (asprintf(&env[k++], "DISPLAY=%s", S.display) < 0 ||
            asprintf(&env[k++], "%s", S.rt[i].marker) < 0 ||
            asprintf(&env[k++], "XDG_CONFIG_DIRS=%s:%s", S.xdg_dir,
                    dirs && *dirs ? dirs : "/etc/xdg") < 0)
        return NULL;
    env[k] = NULL;
    return env;
}

static void free_env(char **env) {
    for (size_t k = 0; env && env[k]; k++)
        free(env[k]);
    free(env);
}

/* True while pid runs (a zombie does not: its parent may be an init that reaps late). */
static bool running(pid_t pid) {
    char path[64], st[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno != ENOENT;
    ssize_t n = read(fd, st, sizeof st - 1);
    close(fd);
    if (n <= 0)
        return false;
    st[n] = '\0';
    const char *paren = strrchr(st, ')');
    return paren && paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X';
}

/* Kills what a deskd that died left behind (its processes carry its pid in their mark). */
static void sweep_orphans(void) {
    pid_t pids[256];
    int n = proc_find_marked("DESK_SERVICE=", pids, 256);
    int killed = 0;
    for (int k = 0; k < n && k < 256; k++) {
        char mark[96];
        if (proc_environ_get(pids[k], "DESK_SERVICE", mark, sizeof mark) < 0)
            continue;
        int owner = atoi(mark);
        if (owner <= 0 || owner == getpid() || running(owner))
            continue;
        if (kill(pids[k], SIGKILL) == 0)
            killed++;
    }
    if (killed)
        log_msg(LOG_WARN, "killed %d desktop processes left by a deskd that is gone", killed);
}

static int setup_dirs(const struct stack_config *c, char *err, size_t errlen) {
    const char *home = getenv("HOME");
    if (!home || !*home) {
        struct passwd *pw = getpwuid(getuid());
        home = pw ? pw->pw_dir : NULL;
    }
    snprintf(S.home, sizeof S.home, "%s", home ? home : "");
    if (c->state_dir && *c->state_dir)
        snprintf(S.state_dir, sizeof S.state_dir, "%s", c->state_dir);
    else if (home && *home)
        snprintf(S.state_dir, sizeof S.state_dir, "%s/.desk", home);
    else
        snprintf(S.state_dir, sizeof S.state_dir, "/tmp/desk-%d", (int)getuid());
    if (strlen(S.state_dir) > 300) {
        snprintf(err, errlen, "the state directory path is too long: %s", S.state_dir);
        return -1;
    }
    char logs[PATH_MAX], autostart[480];
    snprintf(logs, sizeof logs, "%s/logs", S.state_dir);
    snprintf(S.xdg_dir, sizeof S.xdg_dir, "%s/xdg", S.state_dir);
    snprintf(autostart, sizeof autostart, "%s/autostart", S.xdg_dir);
    snprintf(S.passwd_path, sizeof S.passwd_path, "%s/vnc.passwd", S.state_dir);
    int rc;
    if ((rc = mkdirs(S.state_dir, 0700)) < 0 || (rc = mkdirs(logs, 0700)) < 0 ||
            (rc = mkdirs(autostart, 0755)) < 0) {
        snprintf(err, errlen, "cannot make the state directory %s: %s", S.state_dir, strerror(-rc));
        return -1;
    }
    /* Everything deskd writes lives below this directory: it must be ours, a real
     * directory (not a link someone planted) and private, so that nobody else can put
     * links inside for deskd to write through. */
    struct stat st;
    if (lstat(S.state_dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
            chmod(S.state_dir, 0700) < 0) {
        snprintf(err, errlen,
                "the state directory %s must be a directory owned by uid %u (not a link); "
                "choose another with --state-dir",
                S.state_dir, (unsigned)geteuid());
        return -1;
    }
    for (size_t k = 0; k < sizeof hidden_autostart / sizeof hidden_autostart[0]; k++) {
        char path[PATH_MAX], text[256];
        snprintf(path, sizeof path, "%s/%s.desktop", autostart, hidden_autostart[k]);
        snprintf(text, sizeof text,
                "[Desktop Entry]\nType=Application\nName=%s\nExec=%s\nHidden=true\n",
                hidden_autostart[k], hidden_autostart[k]);
        if ((rc = write_file(path, text)) < 0) {
            snprintf(err, errlen, "cannot write %s: %s", path, strerror(-rc));
            return -1;
        }
    }
    return 0;
}

static int setup_password(const struct stack_config *c, char *err, size_t errlen) {
    char buf[256] = "";
    const char *pw = c->vnc_password;
    if (c->password_file) {
        FILE *f = fopen(c->password_file, "re");
        if (!f || !fgets(buf, sizeof buf, f)) {
            snprintf(err, errlen, "cannot read the VNC password from %s: %s", c->password_file,
                    f ? "it is empty" : strerror(errno));
            if (f)
                fclose(f);
            return -1;
        }
        fclose(f);
        buf[strcspn(buf, "\r\n")] = '\0';
        pw = buf;
    }
    if (pw) {
        char why[160];
        if (vnc_password_check(pw, why, sizeof why) < 0) {
            snprintf(err, errlen, "%s", why);
            explicit_bzero(buf, sizeof buf);
            return -1;
        }
        /* Checked: at most VNC_PASSWORD_MAX characters. */
        memcpy(S.password, pw, strlen(pw) + 1);
        explicit_bzero(buf, sizeof buf);
        return 0;
    }
    int rc = vnc_password_generate(S.password);
    if (rc < 0) {
        snprintf(err, errlen, "cannot generate a VNC password: %s", strerror(-rc));
        return -1;
    }
    return 0;
}

static void setup_services(void) {
    static const char *const exes[STACK_N] = {"Xvfb", "dbus-run-session", "x11vnc", "websockify"};
    static const char *const also[STACK_N] = {NULL, "xfce4-session", NULL, NULL};
    static const char *const pkgs[STACK_N] = {"xvfb", "dbus-bin and xfce4", "x11vnc", "websockify"};
    S.defs[XVFB] = (struct svc_def){"xvfb", 100, 0, 0, 15000};
    S.defs[XFCE4] = (struct svc_def){"xfce4", 200, 1u << XVFB, 1u << XVFB, 45000};
    S.defs[X11VNC] = (struct svc_def){"x11vnc", 300, 1u << XVFB, 1u << XVFB, 15000};
    S.defs[NOVNC] =
            (struct svc_def){"novnc", 400, (1u << XVFB) | (1u << X11VNC), 1u << XVFB, 15000};
    for (int i = 0; i < STACK_N; i++) {
        struct runtime *rt = &S.rt[i];
        rt->exe = exes[i];
        rt->also = also[i];
        rt->package = pkgs[i];
        rt->out_rd = rt->err_rd = -1;
        rt->out.fd = rt->err.fd = -1; /* not 0: a log never opened must not close stdin */
        snprintf(rt->marker, sizeof rt->marker, "DESK_SERVICE=%s:%s", S.stack_id, names[i]);
        snprintf(rt->out_path, sizeof rt->out_path, "%s/logs/%s.out.log", S.state_dir, names[i]);
        snprintf(rt->err_path, sizeof rt->err_path, "%s/logs/%s.err.log", S.state_dir, names[i]);
        /* Each run of deskd starts its logs afresh: a process that never ran has none. */
        char old[PATH_MAX];
        unlink(rt->out_path);
        unlink(rt->err_path);
        snprintf(old, sizeof old, "%s.1", rt->out_path);
        unlink(old);
        snprintf(old, sizeof old, "%s.1", rt->err_path);
        unlink(old);
    }
    snprintf(S.geometry, sizeof S.geometry, "%dx%dx24", S.width, S.height);
    const char *xvfb[] = {"Xvfb", S.display, "-screen", "0", S.geometry, "-nolisten", "tcp",
            "-noreset", "-s", "0", "-dpms", NULL};
    memcpy(S.rt[XVFB].argv, xvfb, sizeof xvfb);
    const char *xfce[] = {"dbus-run-session", "--", "xfce4-session", NULL};
    memcpy(S.rt[XFCE4].argv, xfce, sizeof xfce);
    vnc_x11vnc_argv(&S.vnc, &S.rt[X11VNC].vargv);
    vnc_novnc_argv(&S.vnc, &S.rt[NOVNC].vargv);
    for (int k = 0; k < VNC_ARGV_MAX; k++) {
        S.rt[X11VNC].argv[k] = S.rt[X11VNC].vargv.argv[k];
        S.rt[NOVNC].argv[k] = S.rt[NOVNC].vargv.argv[k];
    }
}

int stack_init(const struct stack_config *c, char *err, size_t errlen) {
    S.t_init = mono_ms();
    pthread_mutex_init(&S.lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&S.changed, &ca);
    pthread_condattr_destroy(&ca);
    snprintf(S.display, sizeof S.display, "%s", c->display ? c->display : ":1");
    S.managed = !c->attach;
    if (!S.managed)
        return 0;

    /* Only a local display can be started: ":N" or ":N.S". */
    char *end;
    long num = S.display[0] == ':' ? strtol(S.display + 1, &end, 10) : -1;
    if (num < 0 || num > 65535 || end == S.display + 1 || (*end && *end != '.')) {
        snprintf(err, errlen,
                "only a local display such as :1 can be started, not \"%s\"; use --attach to "
                "use a running one",
                S.display);
        return -1;
    }
    S.display_num = (int)num;
    const char *x = strchr(c->resolution, 'x');
    char wbuf[16];
    if (!x || (size_t)(x - c->resolution) >= sizeof wbuf) {
        snprintf(err, errlen,
                "--resolution (VNC_RESOLUTION) must be WxH, like 1280x720, not \"%s\"",
                c->resolution);
        return -1;
    }
    memcpy(wbuf, c->resolution, (size_t)(x - c->resolution));
    wbuf[x - c->resolution] = '\0';
    if (parse_int(wbuf, 16, 8192, &S.width) < 0 || parse_int(x + 1, 16, 8192, &S.height) < 0) {
        snprintf(err, errlen,
                "--resolution (VNC_RESOLUTION) must be WxH with sides from 16 to 8192, not \"%s\"",
                c->resolution);
        return -1;
    }
    int vport, nport;
    if (parse_int(c->vnc_port, 1, 65535, &vport) < 0 ||
            parse_int(c->novnc_port, 1, 65535, &nport) < 0 || vport == nport) {
        snprintf(err, errlen,
                "--vnc-port (VNC_PORT) and --novnc-port (NO_VNC_PORT) must be two different ports "
                "from 1 to 65535, not \"%s\" and \"%s\"",
                c->vnc_port, c->novnc_port);
        return -1;
    }
    snprintf(S.novnc_host, sizeof S.novnc_host, "%s", c->novnc_host ? c->novnc_host : "");
    if (S.novnc_host[0]) {
        struct addrinfo hints = {.ai_flags = AI_NUMERICHOST}, *ai = NULL;
        if (getaddrinfo(S.novnc_host, NULL, &hints, &ai) != 0) {
            snprintf(err, errlen,
                    "--novnc-host (DESK_NOVNC_HOST) must be a numeric address, not "
                    "\"%s\"",
                    S.novnc_host);
            return -1;
        }
        freeaddrinfo(ai);
    }
    if (setup_dirs(c, err, errlen) < 0 || setup_password(c, err, errlen) < 0)
        return -1;
    S.vnc = (struct vnc_config){
            .display = S.display,
            .vnc_port = vport,
            .novnc_port = nport,
            .novnc_host = S.novnc_host,
            .web_dir = NOVNC_WEB,
            .passwd_file = S.passwd_path,
    };
    snprintf(S.path_env, sizeof S.path_env, "%s", env_or("PATH", "/usr/local/bin:/usr/bin:/bin"));
    unsigned rnd = 0;
    if (getentropy(&rnd, sizeof rnd) < 0)
        rnd = (unsigned)mono_ms();
    snprintf(S.stack_id, sizeof S.stack_id, "%d.%08x", (int)getpid(), rnd);
    setup_services();
    for (int i = 0; i < STACK_N; i++) {
        if (!(S.rt[i].envp = make_env(i))) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    sweep_orphans();

    /* Orphans of the desktop come to us, not to init: we reap them and see them die. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    pthread_sigmask(SIG_BLOCK, &chld, NULL);
    S.sig_fd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
    S.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (S.sig_fd < 0 || S.wake_fd < 0) {
        snprintf(err, errlen, "cannot set up the supervisor: %s", strerror(errno));
        return -1;
    }
    struct svc_ops ops = {
            .ctx = NULL,
            .now = op_now,
            .spawn = op_spawn,
            .kill = op_kill,
            .alive = op_alive,
            .ready = op_ready,
            .event = op_event,
    };
    svc_init(&S.sup, S.defs, STACK_N, &svc_default_policy, &ops);
    if (c->autostart)
        svc_start(&S.sup, (1u << STACK_N) - 1);
    int rc = pthread_create(&S.thread, NULL, loop, NULL);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the supervisor thread: %s", strerror(rc));
        return -1;
    }
    S.thread_running = true;
    log_msg(LOG_INFO, "supervising the desktop on %s (%dx%d), VNC port %d, noVNC port %d%s",
            S.display, S.width, S.height, vport, nport, c->autostart ? "" : "; not started yet");
    return 0;
}

void stack_quiesce(void) {
    if (!S.thread_running)
        return;
    pthread_mutex_lock(&S.lock);
    S.quiescing = true;
    pthread_cond_broadcast(&S.changed);
    pthread_mutex_unlock(&S.lock);
}

void stack_finish(void) {
    if (!S.thread_running)
        return;
    pthread_mutex_lock(&S.lock);
    S.quiescing = S.quitting = true;
    svc_stop_all(&S.sup);
    wake();
    pthread_mutex_unlock(&S.lock);
    pthread_join(S.thread, NULL);
    S.thread_running = false;

    /* Whatever still carries our mark (it survived SIGKILL?) gets one more. */
    char prefix[80];
    snprintf(prefix, sizeof prefix, "DESK_SERVICE=%s:", S.stack_id);
    pid_t left[64];
    int n = proc_find_marked(prefix, left, 64);
    for (int k = 0; k < n && k < 64; k++)
        kill(left[k], SIGKILL);
    if (n)
        log_msg(LOG_WARN, "%d desktop processes were still alive at exit; killed them", n);
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    unlink(S.passwd_path);
    explicit_bzero(S.password, sizeof S.password);
    for (int i = 0; i < STACK_N; i++) {
        struct runtime *rt = &S.rt[i];
        pump(&rt->out, &rt->out_rd);
        pump(&rt->err, &rt->err_rd);
        if (rt->out_rd >= 0)
            close(rt->out_rd);
        if (rt->err_rd >= 0)
            close(rt->err_rd);
        proc_log_close(&rt->out);
        proc_log_close(&rt->err);
        free_env(rt->envp);
        rt->envp = NULL;
    }
    close(S.sig_fd);
    close(S.wake_fd);
    log_msg(LOG_INFO, "desktop stopped");
}

/* ---- operations for the routes ---- */

static const char *op_name(int op) {
    switch (op) {
    case OP_START:
        return "a start";
    case OP_STOP:
        return "a stop";
    case OP_RESTART:
        return "a restart";
    }
    return "nothing";
}

/* Waits for a change until deadline (monotonic ms). Under the lock. */
static void wait_change(int64_t deadline) {
    int64_t t = mono_ms();
    if (t >= deadline)
        return;
    int64_t until = deadline - t > 1000 ? t + 1000 : deadline;
    struct timespec ts = {.tv_sec = until / 1000, .tv_nsec = (long)(until % 1000) * 1000000L};
    pthread_cond_timedwait(&S.changed, &S.lock, &ts);
}

/* Appends "; " separated text to msg. */
static void append(char *msg, size_t len, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void append(char *msg, size_t len, const char *fmt, ...) {
    size_t used = strlen(msg);
    if (used + 3 >= len)
        return;
    if (used) {
        snprintf(msg + used, len - used, "; ");
        used += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + used, len - used, fmt, ap);
    va_end(ap);
}

/* Why each service of mask is not ready. Under the lock. */
static void describe(unsigned mask, char *msg, size_t len) {
    unsigned ready = svc_mask(&S.sup, SVC_READY);
    for (int i = 0; i < STACK_N; i++) {
        const struct svc *v = &S.sup.svcs[i];
        if (!(mask & (1u << i)) || v->state == SVC_READY)
            continue;
        unsigned blocked = v->def->after & ~ready;
        if (v->error[0]) {
            append(msg, len, "%s: %s", names[i], v->error);
        } else if (blocked) {
            char deps[64] = "";
            for (int j = 0; j < STACK_N; j++) {
                if (blocked & (1u << j))
                    snprintf(deps + strlen(deps), sizeof deps - strlen(deps), "%s%s",
                            deps[0] ? " and " : "", names[j]);
            }
            append(msg, len, "%s: waiting for %s", names[i], deps);
        } else {
            append(msg, len, "%s: %s, not ready yet", names[i], svc_state_name(v->state));
        }
    }
}

/* True when a service of mask failed too often (or could not be spawned) during this operation. */
static bool gave_up(unsigned mask) {
    for (int i = 0; i < STACK_N; i++) {
        const struct svc *v = &S.sup.svcs[i];
        if ((mask & (1u << i)) && v->state != SVC_READY &&
                ((v->fatal && v->op_fails > 0) || v->op_fails >= OP_MAX_FAILS))
            return true;
    }
    return false;
}

static enum stack_result refuse(char *msg, size_t len) {
    if (!S.managed) {
        snprintf(msg, len,
                "deskd is attached to an existing display (--attach); it does not manage desktop "
                "processes");
        return STACK_ATTACHED;
    }
    snprintf(msg, len, "deskd is shutting down");
    return STACK_SHUTDOWN;
}

/* Ends operation gen if it is still the current one. */
static void op_end(unsigned gen) {
    if (S.op_gen == gen)
        S.op = OP_NONE;
}

enum stack_result stack_start(char *msg, size_t len) {
    msg[0] = '\0';
    if (!S.managed)
        return refuse(msg, len);
    pthread_mutex_lock(&S.lock);
    if (S.quiescing) {
        pthread_mutex_unlock(&S.lock);
        return refuse(msg, len);
    }
    if (S.op == OP_STOP || S.op == OP_RESTART) {
        snprintf(msg, len, "cannot start now: %s is in progress%s%s; try again when it is done",
                op_name(S.op), S.op == OP_RESTART ? " of " : "",
                S.op == OP_RESTART ? names[S.op_target] : "");
        pthread_mutex_unlock(&S.lock);
        return STACK_CONFLICT;
    }
    /* A start joins a start in progress: both answer when the desktop is ready. */
    if (S.op == OP_NONE) {
        S.op = OP_START;
        S.op_gen++;
        svc_start(&S.sup, (1u << STACK_N) - 1);
        wake();
    }
    unsigned gen = S.op_gen, all = (1u << STACK_N) - 1;
    int64_t deadline = mono_ms() + START_TIMEOUT_MS;
    enum stack_result res;
    for (;;) {
        if (S.preempted_gen == gen) {
            snprintf(msg, len, "the start was interrupted by a stop");
            res = STACK_CONFLICT;
            break;
        }
        if (svc_mask(&S.sup, SVC_READY) == all) {
            res = STACK_OK;
            break;
        }
        if (S.quiescing) {
            snprintf(msg, len, "deskd is shutting down");
            res = STACK_SHUTDOWN;
            break;
        }
        if (gave_up(all) || mono_ms() >= deadline) {
            snprintf(msg, len, "the desktop did not become ready: ");
            describe(all, msg + strlen(msg), len - strlen(msg));
            res = STACK_NOT_READY;
            break;
        }
        wait_change(deadline);
    }
    op_end(gen);
    pthread_mutex_unlock(&S.lock);
    return res;
}

enum stack_result stack_stop(char *msg, size_t len) {
    msg[0] = '\0';
    if (!S.managed)
        return refuse(msg, len);
    pthread_mutex_lock(&S.lock);
    if (S.quiescing) {
        pthread_mutex_unlock(&S.lock);
        return refuse(msg, len);
    }
    /* A stop always runs: it ends a start or restart in progress (they answer 409). */
    if (S.op != OP_STOP) {
        if (S.op != OP_NONE)
            S.preempted_gen = S.op_gen;
        S.op = OP_STOP;
        S.op_gen++;
        svc_stop_all(&S.sup);
        wake();
    }
    unsigned gen = S.op_gen;
    int64_t deadline = mono_ms() + STOP_TIMEOUT_MS;
    enum stack_result res = STACK_OK;
    while (svc_alive_mask(&S.sup) != 0) {
        if (S.quiescing) {
            snprintf(msg, len, "deskd is shutting down");
            res = STACK_SHUTDOWN;
            break;
        }
        if (mono_ms() >= deadline) {
            snprintf(msg, len, "the desktop did not stop within %d s", STOP_TIMEOUT_MS / 1000);
            res = STACK_NOT_READY;
            break;
        }
        wait_change(deadline);
    }
    op_end(gen);
    pthread_mutex_unlock(&S.lock);
    return res;
}

enum stack_result stack_restart(int i, char *msg, size_t len) {
    msg[0] = '\0';
    if (!S.managed)
        return refuse(msg, len);
    pthread_mutex_lock(&S.lock);
    if (S.quiescing) {
        pthread_mutex_unlock(&S.lock);
        return refuse(msg, len);
    }
    if (S.op != OP_NONE) {
        snprintf(msg, len,
                "cannot restart %s now: %s%s%s is in progress; try again when it is done", names[i],
                op_name(S.op), S.op == OP_RESTART ? " of " : "",
                S.op == OP_RESTART ? names[S.op_target] : "");
        pthread_mutex_unlock(&S.lock);
        return STACK_CONFLICT;
    }
    S.op = OP_RESTART;
    S.op_target = i;
    unsigned gen = ++S.op_gen;
    unsigned starts = S.sup.svcs[i].starts;
    /* What must be ready afterwards: it, what it needs, and what runs bound to it. */
    unsigned want = 1u << i;
    for (int j = 0; j < STACK_N; j++) {
        const struct svc *v = &S.sup.svcs[j];
        if ((v->def->bound & (1u << i)) && v->wanted)
            want |= 1u << j;
    }
    svc_restart(&S.sup, i);
    for (int j = 0; j < STACK_N; j++) {
        if (S.sup.svcs[j].wanted && (S.sup.svcs[i].def->after & (1u << j)))
            want |= 1u << j;
    }
    wake();
    int64_t deadline = mono_ms() + RESTART_TIMEOUT_MS;
    enum stack_result res;
    for (;;) {
        if (S.preempted_gen == gen) {
            snprintf(msg, len, "the restart of %s was interrupted by a stop", names[i]);
            res = STACK_CONFLICT;
            break;
        }
        if (S.sup.svcs[i].starts > starts && (svc_mask(&S.sup, SVC_READY) & want) == want) {
            res = STACK_OK;
            break;
        }
        if (S.quiescing) {
            snprintf(msg, len, "deskd is shutting down");
            res = STACK_SHUTDOWN;
            break;
        }
        if (gave_up(want) || mono_ms() >= deadline) {
            snprintf(msg, len, "%s did not become ready again: ", names[i]);
            describe(want, msg + strlen(msg), len - strlen(msg));
            res = STACK_NOT_READY;
            break;
        }
        wait_change(deadline);
    }
    op_end(gen);
    pthread_mutex_unlock(&S.lock);
    return res;
}

void stack_snapshot(struct stack_status out[STACK_N]) {
    static const int prio[STACK_N] = {100, 200, 300, 400};
    if (!S.managed) {
        for (int i = 0; i < STACK_N; i++)
            out[i] = (struct stack_status){names[i], prio[i], false, false, 0};
        return;
    }
    pthread_mutex_lock(&S.lock);
    for (int i = 0; i < STACK_N; i++) {
        const struct svc *v = &S.sup.svcs[i];
        out[i] = (struct stack_status){
                names[i], v->def->priority, v->state == SVC_READY, true, v->pid};
    }
    pthread_mutex_unlock(&S.lock);
}

int stack_find(const char *name) {
    for (int i = 0; i < STACK_N; i++) {
        if (strcmp(names[i], name) == 0)
            return i;
    }
    return -1;
}

const char *stack_name(int i) {
    return i >= 0 && i < STACK_N ? names[i] : "?";
}

const char *stack_names(void) {
    return "xvfb, xfce4, x11vnc, novnc";
}

char *stack_log(int i, bool errors, size_t *len) {
    if (!S.managed || i < 0 || i >= STACK_N) {
        *len = 0;
        return strdup("");
    }
    return proc_log_read(errors ? S.rt[i].err_path : S.rt[i].out_path, 2 * LOG_CAP, len);
}

bool stack_vnc(char *password, size_t len, int *novnc_port, const char **novnc_host) {
    if (!S.managed)
        return false;
    snprintf(password, len, "%s", S.password);
    *novnc_port = S.vnc.novnc_port;
    *novnc_host = S.novnc_host;
    return true;
}
