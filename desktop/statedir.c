/*
 * statedir: deskd's state directory ($DESK_STATE_DIR, else $HOME/.desk):
 * made private and checked to be deskd's own, with logs/ for the processes'
 * output and xdg/autostart/ whose entries hide the screen lockers, savers and
 * the power manager from xfce4 (first on its XDG_CONFIG_DIRS); the VNC
 * password (given, read from a file, or generated); and the sweep that kills
 * what a deskd that died left running.
 *
 * It starts and supervises nothing; it runs once, in stack_init.
 */
#define _GNU_SOURCE
#include "statedir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "proc.h"

/*
 * Autostart entries the desktop must not run: lockers, savers, power managers,
 * and the accessibility bus launcher, which deskd runs itself (its atspi
 * process): a second launcher would own org.a11y.Bus first and deskd's would
 * exit at once.
 */
static const char *const hidden_autostart[] = {"light-locker", "xscreensaver", "xfce4-screensaver",
        "xfce4-power-manager", "gnome-screensaver", "mate-screensaver", "at-spi-dbus-bus"};

/*
 * The session bus's own service files come after this directory's, so D-Bus
 * activation cannot start another accessibility bus launcher either: only
 * deskd's atspi process owns org.a11y.Bus, and a bus deskd stopped stays
 * stopped until its restart.
 */
static const char a11y_bus_service[] = "[D-BUS Service]\nName=org.a11y.Bus\nExec=/bin/false\n";

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
void statedir_sweep_orphans(void) {
    pid_t pids[256];
    int n = proc_find_marked("DESK_SERVICE=", pids, 256);
    int killed = 0;
    for (int k = 0; k < n && k < 256; k++) {
        char mark[96];
        if (proc_environ_get(pids[k], "DESK_SERVICE", mark, sizeof mark) < 0)
            continue;
        int owner = (int)strtol(mark, NULL, 10);
        if (owner <= 0 || owner == getpid() || running(owner))
            continue;
        if (kill(pids[k], SIGKILL) == 0)
            killed++;
    }
    if (killed)
        log_msg(LOG_WARN, "killed %d desktop processes left by a deskd that is gone", killed);
}

int statedir_init(struct statedir *d, const char *configured, char *err, size_t errlen) {
    const char *home = getenv("HOME");
    if (!home || !*home) {
        struct passwd *pw = getpwuid(getuid());
        home = pw ? pw->pw_dir : NULL;
    }
    snprintf(d->home, sizeof d->home, "%s", home ? home : "");
    if (configured && *configured)
        snprintf(d->path, sizeof d->path, "%s", configured);
    else if (home && *home)
        snprintf(d->path, sizeof d->path, "%s/.desk", home);
    else
        snprintf(d->path, sizeof d->path, "/tmp/desk-%d", (int)getuid());
    if (strlen(d->path) > 300) {
        snprintf(err, errlen, "the state directory path is too long: %s", d->path);
        return -1;
    }
    char autostart[480];
    snprintf(d->logs_dir, sizeof d->logs_dir, "%s/logs", d->path);
    snprintf(d->xdg_dir, sizeof d->xdg_dir, "%s/xdg", d->path);
    snprintf(autostart, sizeof autostart, "%s/autostart", d->xdg_dir);
    snprintf(d->passwd_path, sizeof d->passwd_path, "%s/vnc.passwd", d->path);
    snprintf(d->novnc_web, sizeof d->novnc_web, "%s/novnc-web", d->path);
    snprintf(d->bus_services, sizeof d->bus_services, "%s/dbus-services", d->path);
    int rc;
    if ((rc = mkdirs(d->path, 0700)) < 0 || (rc = mkdirs(d->logs_dir, 0700)) < 0 ||
            (rc = mkdirs(autostart, 0755)) < 0 || (rc = mkdirs(d->bus_services, 0700)) < 0) {
        snprintf(err, errlen, "cannot make the state directory %s: %s", d->path, strerror(-rc));
        return -1;
    }
    /* Everything deskd writes lives below this directory: it must be ours, a real
     * directory (not a link someone planted) and private, so that nobody else can put
     * links inside for deskd to write through. */
    struct stat st;
    if (lstat(d->path, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
            chmod(d->path, 0700) < 0) {
        snprintf(err, errlen,
                "the state directory %s must be a directory owned by uid %u (not a link); "
                "choose another with --state-dir",
                d->path, (unsigned)geteuid());
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
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/org.a11y.Bus.service", d->bus_services);
    if ((rc = write_file(path, a11y_bus_service)) < 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(-rc));
        return -1;
    }
    return 0;
}

int statedir_password(const char *given, const char *file, char out[VNC_PASSWORD_MAX + 1],
        char *err, size_t errlen) {
    char buf[256] = "";
    const char *pw = given;
    if (file) {
        FILE *f = fopen(file, "re");
        if (!f || !fgets(buf, sizeof buf, f)) {
            snprintf(err, errlen, "cannot read the VNC password from %s: %s", file,
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
        memcpy(out, pw, strlen(pw) + 1);
        explicit_bzero(buf, sizeof buf);
        return 0;
    }
    int rc = vnc_password_generate(out);
    if (rc < 0) {
        snprintf(err, errlen, "cannot generate a VNC password: %s", strerror(-rc));
        return -1;
    }
    return 0;
}
