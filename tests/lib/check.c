/* check: assertion counters, the watchdog and the summary line. */
#include "check.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int check_passed, check_failed;

static void on_alarm(int sig) {
    (void)sig;
    static const char msg[] = "test timed out\n";
    ssize_t n = write(2, msg, sizeof msg - 1);
    (void)n;
    /* Kill the process group so helpers (Xvfb, deskd) die with the test. */
    kill(0, SIGKILL);
    _exit(124);
}

void check_timeout(unsigned seconds) {
    /* Own process group: the watchdog's kill(0) must not reach ctest. */
    setpgid(0, 0);
    signal(SIGALRM, on_alarm);
    alarm(seconds);
}

int check_finish(void) {
    printf("%d passed, %d failed\n", check_passed, check_failed);
    if (check_passed == 0 && check_failed == 0)
        printf("no check ran: that is a failure\n");
    return check_failed || check_passed == 0 ? 1 : 0;
}

void check_require_tool(const char *name) {
    const char *path = getenv("PATH");
    char buf[4096];
    if (path) {
        const char *p = path;
        while (*p) {
            const char *end = strchr(p, ':');
            size_t n = end ? (size_t)(end - p) : strlen(p);
            snprintf(buf, sizeof buf, "%.*s/%s", (int)n, p, name);
            if (access(buf, X_OK) == 0)
                return;
            p += n + (end ? 1 : 0);
        }
    }
    /*
     * scripts/test installs every tool the tests use, so a missing one means a
     * broken set-up, and a skipped test would hide it: fail, unless the
     * person running the tests asked for skips on purpose.
     */
    const char *allow = getenv("DESK_TEST_ALLOW_SKIP");
    if (allow && strcmp(allow, "1") == 0) {
        printf("skipped: %s is not installed (DESK_TEST_ALLOW_SKIP=1)\n", name);
        exit(77);
    }
    fprintf(stderr,
            "FAILED: %s is not installed; scripts/deps.sh test installs it "
            "(DESK_TEST_ALLOW_SKIP=1 turns this into a skip)\n",
            name);
    exit(1);
}
