/*
 * services: the table of the desktop's processes (see services.h).
 *
 *   xvfb    Xvfb :N -screen 0 WxHx24 -nolisten tcp -noreset -s 0 -dpms
 *           ready when its socket answers the X connection setup
 *   xfce4   dbus-run-session -- xfce4-session          (after and bound to xvfb)
 *           ready when a window manager runs and a panel is mapped and painted
 *   x11vnc  x11vnc -display :N -rfbport VNC_PORT -localhost ...   (same)
 *           ready when its port sends "RFB "
 *   atspi   at-spi-bus-launcher --launch-immediately  (after and bound to xfce4)
 *           ready when the accessibility registry answers on its bus; never
 *           restarted after an exit of its own (Daytona: autoRestart false)
 *   novnc   websockify --web STATE/novnc-web 127.0.0.1:NO_VNC_PORT 127.0.0.1:VNC_PORT
 *           (novnc-web: a mirror of /usr/share/novnc with an index.html in every
 *           directory, so that websockify lists none)
 *           (after xvfb and x11vnc, bound to xvfb) ready when it answers HTTP
 *
 * Why these choices:
 *  - dbus-run-session, not dbus-launch: it keeps the bus daemon its own child,
 *    in the service's process group, and ends it with the session, where
 *    dbus-launch double-forks a daemon and a babysitter out of the group.
 *  - The session bus listens on an address deskd chose (a bus configuration
 *    file that includes Debian's session.conf and adds one <listen>), so
 *    deskd, the accessibility bus launcher and the applications deskd starts
 *    reach the same session bus as the applications of the xfce4 session.
 *    Applications find the accessibility bus through it (org.a11y.Bus).
 *  - No blanking: Xvfb's own screen saver is off (-s 0, -dpms); the screen
 *    lockers, savers and the power manager are hidden from xfce4 by the
 *    state directory (statedir.c).
 *  - The password never appears on a command line: x11vnc's prepare hook
 *    writes the file x11vnc reads and deletes; its stopped hook removes a file
 *    an x11vnc that failed early left behind.
 */
#define _GNU_SOURCE
#include "services.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "a11y-bus.h"

static void xvfb_argv(const struct service_env *e, struct service_argv *out) {
    snprintf(out->store, sizeof out->store, "%dx%dx24", e->width, e->height);
    const char *argv[] = {"Xvfb", e->display, "-screen", "0", out->store, "-nolisten", "tcp",
            "-noreset", "-s", "0", "-dpms", NULL};
    memcpy(out->argv, argv, sizeof argv);
}

static int xvfb_prepare(const struct service_env *e, char *err, size_t errlen) {
    if (probe_x11(e->display_num, 300, NULL, 0) == 1) {
        snprintf(err, errlen,
                "display %s is already in use by another X server (use --attach to drive it, or "
                "choose another display)",
                e->display);
        return -EADDRINUSE;
    }
    return 0;
}

static int xvfb_probe(
        const struct service_env *e, struct probe_state *st, char *err, size_t errlen) {
    (void)st;
    return probe_x11(e->display_num, 500, err, errlen);
}

static void xfce4_argv(const struct service_env *e, struct service_argv *out) {
    const char *argv[] = {"dbus-run-session", e->bus_config_arg, "--", "xfce4-session", NULL};
    memcpy(out->argv, argv, sizeof argv);
}

/* Writes the session bus configuration: Debian's session bus, also listening on our address. */
static int xfce4_prepare(const struct service_env *e, char *err, size_t errlen) {
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s.new", e->bus_config);
    FILE *f = fopen(tmp, "we");
    int rc = 0;
    if (f) {
        fprintf(f,
                "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration "
                "1.0//EN\"\n \"http://www.freedesktop.org/standards/dbus/1.0/"
                "busconfig.dtd\">\n<busconfig>\n  <listen>%s</listen>\n"
                "  <servicedir>%s</servicedir>\n"
                "  <include>/usr/share/dbus-1/session.conf</include>\n</busconfig>\n",
                e->session_bus, e->bus_services);
        rc = fclose(f) == 0 ? 0 : -errno;
    } else {
        rc = -errno;
    }
    if (rc == 0 && rename(tmp, e->bus_config) < 0)
        rc = -errno;
    if (rc < 0)
        snprintf(err, errlen, "cannot write the session bus configuration %s: %s", e->bus_config,
                strerror(-rc));
    return rc;
}

static void atspi_argv(const struct service_env *e, struct service_argv *out) {
    (void)e;
    const char *argv[] = {"at-spi-bus-launcher", "--launch-immediately", NULL};
    memcpy(out->argv, argv, sizeof argv);
}

static int atspi_probe(
        const struct service_env *e, struct probe_state *st, char *err, size_t errlen) {
    (void)st;
    /* Not yet, not never: the launcher registers on the session bus and starts the registry. */
    return a11y_bus_probe(e->session_bus, 500, err, errlen) == 0 ? 1 : 0;
}

static int xfce4_probe(
        const struct service_env *e, struct probe_state *st, char *err, size_t errlen) {
    if (errlen)
        err[0] = '\0'; /* it never refuses: not ready yet is all it says */
    return probe_xfce(e->display, e->display_num, st);
}

static void copy_vnc_argv(struct service_argv *out) {
    for (int k = 0; k < SERVICE_ARGV_MAX; k++)
        out->argv[k] = out->vnc.argv[k];
}

static void x11vnc_argv(const struct service_env *e, struct service_argv *out) {
    vnc_x11vnc_argv(e->vnc, &out->vnc);
    copy_vnc_argv(out);
}

static int x11vnc_prepare(const struct service_env *e, char *err, size_t errlen) {
    if (vnc_port_busy("127.0.0.1", e->vnc->vnc_port)) {
        snprintf(err, errlen, "port %d (VNC_PORT) is already in use", e->vnc->vnc_port);
        return -EADDRINUSE;
    }
    int rc = vnc_password_write(e->vnc->passwd_file, e->password);
    if (rc < 0)
        snprintf(err, errlen, "cannot write %s: %s", e->vnc->passwd_file, strerror(-rc));
    return rc;
}

static int x11vnc_probe(
        const struct service_env *e, struct probe_state *st, char *err, size_t errlen) {
    (void)st;
    return vnc_probe_rfb(e->vnc->vnc_port, 300, err, errlen);
}

static void x11vnc_stopped(const struct service_env *e) {
    unlink(e->vnc->passwd_file);
}

static void novnc_argv(const struct service_env *e, struct service_argv *out) {
    vnc_novnc_argv(e->vnc, &out->vnc);
    copy_vnc_argv(out);
}

static int novnc_prepare(const struct service_env *e, char *err, size_t errlen) {
    if (vnc_port_busy(e->vnc->novnc_host, e->vnc->novnc_port)) {
        snprintf(err, errlen, "port %d (NO_VNC_PORT) is already in use", e->vnc->novnc_port);
        return -EADDRINUSE;
    }
    char page[PATH_MAX];
    snprintf(page, sizeof page, "%s/vnc.html", e->vnc->web_dir);
    if (access(page, R_OK) < 0) {
        snprintf(err, errlen, "noVNC's web files are missing: no %s (install the novnc package)",
                page);
        return -ENOENT;
    }
    /* websockify lists directories that have no index.html: it serves a mirror that has one
     * in each. */
    return e->vnc->novnc_web ? vnc_web_mirror(e->vnc->web_dir, e->vnc->novnc_web, err, errlen) : 0;
}

static int novnc_probe(
        const struct service_env *e, struct probe_state *st, char *err, size_t errlen) {
    (void)st;
    return vnc_probe_http(e->vnc->novnc_host, e->vnc->novnc_port, 500, err, errlen);
}

const struct service services[] = {
        {
                .name = "xvfb",
                .priority = 100,
                .ready_timeout_ms = 15000,
                .exe = "Xvfb",
                .package = "xvfb",
                .argv = xvfb_argv,
                .prepare = xvfb_prepare,
                .probe = xvfb_probe,
        },
        {
                .name = "xfce4",
                .priority = 200,
                .after = {"xvfb"},
                .bound = {"xvfb"},
                .ready_timeout_ms = 45000,
                .exe = "dbus-run-session",
                .also = "xfce4-session",
                .package = "dbus-bin and xfce4",
                .argv = xfce4_argv,
                .prepare = xfce4_prepare,
                .probe = xfce4_probe,
        },
        {
                .name = "atspi",
                .priority = 250,
                .after = {"xfce4"},
                .bound = {"xfce4"},
                .ready_timeout_ms = 15000,
                /* Debian's place for it, off PATH (Daytona looks there first too). */
                .exe = "/usr/libexec/at-spi-bus-launcher",
                .package = "at-spi2-core",
                .argv = atspi_argv,
                .probe = atspi_probe,
                .no_restart = true,
        },
        {
                .name = "x11vnc",
                .priority = 300,
                .after = {"xvfb"},
                .bound = {"xvfb"},
                .ready_timeout_ms = 15000,
                .exe = "x11vnc",
                .package = "x11vnc",
                .argv = x11vnc_argv,
                .prepare = x11vnc_prepare,
                .probe = x11vnc_probe,
                .stopped = x11vnc_stopped,
        },
        {
                .name = "novnc",
                .priority = 400,
                .after = {"xvfb", "x11vnc"},
                .bound = {"xvfb"},
                .ready_timeout_ms = 15000,
                .exe = "websockify",
                .package = "websockify",
                .argv = novnc_argv,
                .prepare = novnc_prepare,
                .probe = novnc_probe,
        },
};

const int services_n = (int)(sizeof services / sizeof services[0]);

_Static_assert(sizeof services / sizeof services[0] <= SVC_MAX, "svc.c supervises SVC_MAX at most");

int services_find(const char *name) {
    for (int i = 0; i < services_n; i++) {
        if (strcmp(services[i].name, name) == 0)
            return i;
    }
    return -1;
}

static unsigned mask_of(const char *const names[SERVICE_DEPS_MAX]) {
    unsigned m = 0;
    for (int k = 0; k < SERVICE_DEPS_MAX && names[k]; k++) {
        int j = services_find(names[k]);
        if (j >= 0)
            m |= 1u << j;
    }
    return m;
}

void services_defs(struct svc_def *defs) {
    for (int i = 0; i < services_n; i++) {
        defs[i] = (struct svc_def){
                .name = services[i].name,
                .priority = services[i].priority,
                .after = mask_of(services[i].after),
                .bound = mask_of(services[i].bound),
                .ready_timeout_ms = services[i].ready_timeout_ms,
                .no_restart = services[i].no_restart,
        };
    }
}

unsigned services_all(void) {
    return (1u << services_n) - 1;
}

const char *services_names(void) {
    static char names[128];
    static bool made;
    /* Filled once, before any thread runs (stack_init calls it), then only read. */
    if (!made) {
        for (int i = 0; i < services_n; i++) {
            size_t n = strlen(names);
            snprintf(names + n, sizeof names - n, "%s%s", i ? ", " : "", services[i].name);
        }
        made = true;
    }
    return names;
}
