/* xserver: private X servers for tests, readiness through -displayfd. */
#define _GNU_SOURCE
#include "xserver.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int xserver_start(struct xserver *xs, const char *const *argv, const char *env_display) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -1;
    const char *args[64];
    char fdbuf[16];
    int n = 0;
    for (; argv[n] && n < 60; n++)
        args[n] = argv[n];
    snprintf(fdbuf, sizeof fdbuf, "%d", fds[1]);
    args[n++] = "-displayfd";
    args[n++] = fdbuf;
    args[n] = NULL;

    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        /* Nothing a test starts may outlive it, whatever way the test ends. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        /* The write end must survive exec; everything else stays close-on-exec. */
        fcntl(fds[1], F_SETFD, 0);
        if (env_display)
            setenv("DISPLAY", env_display, 1);
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0 && !getenv("DESK_TEST_VERBOSE")) {
            dup2(devnull, 1);
            dup2(devnull, 2);
        }
        execvp(args[0], (char *const *)args);
        _exit(127);
    }
    close(fds[1]);

    char buf[32] = {0};
    size_t got = 0;
    struct pollfd p = {.fd = fds[0], .events = POLLIN};
    /* The server writes "N\n" once it accepts connections. */
    while (got < sizeof buf - 1 && !memchr(buf, '\n', got)) {
        if (poll(&p, 1, 20000) <= 0)
            break;
        ssize_t r = read(fds[0], buf + got, sizeof buf - 1 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fds[0]);
    if (!memchr(buf, '\n', got)) {
        fprintf(stderr, "xserver: %s did not report a display\n", argv[0]);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    xs->pid = pid;
    xs->number = atoi(buf);
    snprintf(xs->name, sizeof xs->name, ":%d", xs->number);
    return 0;
}

int xserver_start_xvfb(struct xserver *xs, int width, int height) {
    char geom[32];
    snprintf(geom, sizeof geom, "%dx%dx24", width, height);
    const char *argv[] = {"Xvfb", "-screen", "0", geom, "-nolisten", "tcp", "-noreset", NULL};
    return xserver_start(xs, argv, NULL);
}

int xserver_start_xvfb_own(struct xserver *xs, int width, int height) {
    char geom[32], disp[16];
    snprintf(geom, sizeof geom, "%dx%dx24", width, height);
    const char *argv[] = {"Xvfb", disp, "-screen", "0", geom, "-nolisten", "tcp", "-noreset", NULL};
    for (int tries = 0; tries < 5; tries++) {
        snprintf(disp, sizeof disp, ":%d", 600 + (getpid() + tries) % 300);
        if (xserver_start(xs, argv, NULL) == 0)
            return 0;
    }
    return -1;
}

void xserver_stop(struct xserver *xs) {
    if (xs->pid <= 0)
        return;
    kill(xs->pid, SIGTERM);
    for (int i = 0; i < 300; i++) {
        if (waitpid(xs->pid, NULL, WNOHANG) == xs->pid) {
            xs->pid = 0;
            return;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(xs->pid, SIGKILL);
    waitpid(xs->pid, NULL, 0);
    xs->pid = 0;
}
