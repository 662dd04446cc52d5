/* evproc (tests): the evlog X client as a child process, read line by line. */
#define _GNU_SOURCE
#include "evproc.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

int evproc_start(
        struct evproc *e, const char *display, int x, int y, int w, int h, const char *title) {
    return evproc_start_args(e, display, x, y, w, h, title, NULL);
}

int evproc_start_args(struct evproc *e, const char *display, int x, int y, int w, int h,
        const char *title, const char *const *extra) {
    memset(e, 0, sizeof *e);
    e->fd = -1;
    char exe[PATH_MAX], path[PATH_MAX + 16];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n < 0)
        return -1;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    snprintf(path, sizeof path, "%s/evlog", exe);
    if (access(path, X_OK) != 0) /* tests in other folders: evlog lives in tests/x11 */
        snprintf(path, sizeof path, "%s/../x11/evlog", exe);

    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(fds[1], 1);
        setenv("DISPLAY", display, 1);
        char geom[64];
        snprintf(geom, sizeof geom, "%dx%d+%d+%d", w, h, x, y);
        const char *argv[32] = {
                "evlog", "--geometry", geom, "--title", title, "--color", "gray50", "--focus"};
        for (int i = 0, k = 8; extra && extra[i] && k < 31; i++)
            argv[k++] = extra[i];
        execv(path, (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    e->pid = pid;
    e->fd = fds[0];
    char *ready = evproc_line(e, 10000);
    bool ok = ready && sscanf(ready, "ready %lx", &e->window) == 1;
    if (!ok)
        fprintf(stderr, "evlog did not get ready: %s\n", ready ? ready : "(nothing)");
    free(ready);
    return ok ? 0 : -1;
}

void evproc_stop(struct evproc *e) {
    if (e->pid > 0) {
        kill(e->pid, SIGTERM);
        waitpid(e->pid, NULL, 0);
        e->pid = 0;
    }
    if (e->fd >= 0)
        close(e->fd);
    e->fd = -1;
    evproc_free_lines(e);
}

char *evproc_line(struct evproc *e, int timeout_ms) {
    for (;;) {
        char *nl = memchr(e->buf, '\n', e->len);
        if (nl) {
            size_t n = (size_t)(nl - e->buf);
            char *line = strndup(e->buf, n);
            memmove(e->buf, nl + 1, e->len - n - 1);
            e->len -= n + 1;
            return line;
        }
        if (e->len == sizeof e->buf)
            return NULL;
        struct pollfd p = {.fd = e->fd, .events = POLLIN};
        if (poll(&p, 1, timeout_ms) <= 0)
            return NULL;
        ssize_t r = read(e->fd, e->buf + e->len, sizeof e->buf - e->len);
        if (r <= 0)
            return NULL;
        e->len += (size_t)r;
    }
}

void evproc_free_lines(struct evproc *e) {
    for (int i = 0; i < e->nlines; i++)
        free(e->lines[i]);
    e->nlines = 0;
}

bool evproc_collect(struct evproc *e, const char *marker, int timeout_ms) {
    evproc_free_lines(e);
    size_t ml = strlen(marker);
    for (;;) {
        char *line = evproc_line(e, timeout_ms);
        if (!line)
            return false;
        if (strncmp(line, marker, ml) == 0) {
            free(line);
            return true;
        }
        if (strncmp(line, "keyup ", 6) == 0 || e->nlines >= EVPROC_MAX_LINES)
            free(line); /* releases are checked through the server's key state instead */
        else
            e->lines[e->nlines++] = line;
    }
}

char *evproc_text(const struct evproc *e) {
    size_t cap = 1, len = 0;
    for (int i = 0; i < e->nlines; i++)
        cap += strlen(e->lines[i]);
    char *text = calloc(1, cap);
    for (int i = 0; text && i < e->nlines; i++) {
        char name[128], state[32], hex[4096];
        if (sscanf(e->lines[i], "key %127s %31s %4095s", name, state, hex) != 3 ||
                strcmp(hex, "-") == 0)
            continue;
        for (size_t j = 0; hex[j] && hex[j + 1]; j += 2) {
            unsigned byte;
            sscanf(hex + j, "%2x", &byte);
            text[len++] = (char)byte;
        }
    }
    return text;
}

void check_nothing_held(Display *dpy, const char *after) {
    char keys[32];
    XQueryKeymap(dpy, keys);
    for (int kc = 0; kc < 256; kc++)
        CHECK(!(keys[kc / 8] & (1 << (kc % 8))), "after %s: keycode %d is still down", after, kc);
    Window root, child;
    int rx, ry, wx, wy;
    unsigned mask = 0;
    XQueryPointer(dpy, DefaultRootWindow(dpy), &root, &child, &rx, &ry, &wx, &wy, &mask);
    CHECK((mask & (Button1Mask | Button2Mask | Button3Mask | Button4Mask | Button5Mask)) == 0,
            "after %s: pointer buttons still down (state 0x%x)", after, mask);
}
