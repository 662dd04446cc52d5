/*
 * xserver: starts a private X server (Xvfb, or Xephyr nested in one) on a free
 * display number for one test, and stops it. Uses -displayfd, so no display
 * number is guessed and no sleep is needed: the server tells when it is ready.
 */
#ifndef DESK_TEST_XSERVER_H
#define DESK_TEST_XSERVER_H

#include <sys/types.h>

struct xserver {
    pid_t pid;
    int number;    /* display number */
    char name[32]; /* ":N" */
};

/*
 * Starts argv[0] (e.g. "Xvfb") with argv[1..] followed by -displayfd. argv is
 * NULL-terminated. env_display, when not NULL, is put in the child's DISPLAY
 * (for Xephyr). Returns 0, or -1 with a message on stderr.
 */
int xserver_start(struct xserver *xs, const char *const *argv, const char *env_display);
/* Starts "Xvfb -screen 0 WxHx24 -nolisten tcp". */
int xserver_start_xvfb(struct xserver *xs, int width, int height);
/*
 * The same on a display number of the test's own, 600 and up, far above the
 * lowest free ones -displayfd hands the other tests: a test that kills its
 * server and starts another on the same number (xs->name) does not find a
 * parallel test's server there. 0, or -1 after a few numbers were tried.
 */
int xserver_start_xvfb_own(struct xserver *xs, int width, int height);
/* SIGTERM, then SIGKILL after 3 s; reaps the process. */
void xserver_stop(struct xserver *xs);

#endif
