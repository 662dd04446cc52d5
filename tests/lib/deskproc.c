/* deskproc (tests): start and stop the daemon under test, readiness by its own log line. */
#include "deskproc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The logs this test made: removed at exit when every check passed, kept to read otherwise. */
enum { MAX_LOGS = 64 };
static char logs[MAX_LOGS][128];
static int nlogs;

static void remove_logs(void) {
    for (int i = 0; i < nlogs && check_failed == 0; i++)
        unlink(logs[i]);
}

int deskd_start(struct deskd_proc *d, const char *display, const char *const *extra) {
    memset(d, 0, sizeof *d);
    snprintf(d->log_path, sizeof d->log_path, "/tmp/deskd-test-%d-%ld.log", (int)getpid(),
            (long)time(NULL) ^ (long)random());
    if (nlogs == 0)
        atexit(remove_logs);
    if (nlogs < MAX_LOGS)
        snprintf(logs[nlogs++], sizeof logs[0], "%s", d->log_path);
    const char *args[40];
    int n = 0;
    const char *vg = getenv("DESK_TEST_VALGRIND");
    char supp[512];
    if (vg && *vg) {
        /* deskd's own memory errors and leaks fail the test through its exit status. */
        snprintf(supp, sizeof supp, "--suppressions=%s", vg);
        args[n++] = "valgrind";
        args[n++] = "-q";
        args[n++] = "--error-exitcode=99";
        args[n++] = "--leak-check=full";
        args[n++] = "--errors-for-leak-kinds=definite";
        args[n++] = supp;
    }
    args[n++] = DESKD_PATH;
    args[n++] = "--listen";
    args[n++] = "127.0.0.1:0";
    for (int i = 0; extra && extra[i] && n < 38; i++)
        args[n++] = extra[i];
    args[n] = NULL;

    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        /* Nothing a test starts may outlive it, whatever way the test ends. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(d->log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0)
            dup2(fd, 2);
        if (display)
            setenv("DISPLAY", display, 1);
        unsetenv("DESK_TOKEN");
        unsetenv("DESK_LISTEN");
        /* Tests bring their own X server: deskd attaches to it, unless the test asks for
         * the supervised desktop (--no-start, or DESK_ATTACH=0 in its environment). */
        setenv("DESK_ATTACH", "1", 0);
        execvp(args[0], (char *const *)args);
        _exit(127);
    }
    d->pid = pid;
    /* Readiness: the line deskd prints once it accepts requests. */
    for (int i = 0; i < 3000; i++) {
        FILE *f = fopen(d->log_path, "r");
        char line[512];
        while (f && fgets(line, sizeof line, f)) {
            char *p = strstr(line, "deskd: listening on http://");
            if (p) {
                char *colon = strrchr(p, ':');
                d->port = atoi(colon + 1);
                snprintf(d->url, sizeof d->url, "http://127.0.0.1:%d", d->port);
                fclose(f);
                return 0;
            }
        }
        if (f)
            fclose(f);
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            d->pid = 0;
            fprintf(stderr, "deskd exited before listening\n");
            deskd_dump_log(d);
            return -1;
        }
        sleep_ms(10);
    }
    fprintf(stderr, "deskd did not start listening within 30 s\n");
    deskd_stop(d);
    return -1;
}

int deskd_alive(struct deskd_proc *d) {
    if (d->pid <= 0)
        return 0;
    return waitpid(d->pid, NULL, WNOHANG) == 0;
}

int deskd_stop(struct deskd_proc *d) {
    if (d->pid <= 0)
        return -1;
    kill(d->pid, SIGTERM);
    int status = 0;
    for (int i = 0; i < 1500; i++) {
        pid_t r = waitpid(d->pid, &status, WNOHANG);
        if (r == d->pid) {
            d->pid = 0;
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        if (r < 0 && errno != EINTR)
            break;
        sleep_ms(10);
    }
    kill(d->pid, SIGKILL);
    waitpid(d->pid, NULL, 0);
    d->pid = 0;
    return -1;
}

void deskd_dump_log(const struct deskd_proc *d) {
    FILE *f = fopen(d->log_path, "r");
    char line[512];
    fprintf(stderr, "---- deskd log %s ----\n", d->log_path);
    while (f && fgets(line, sizeof line, f))
        fputs(line, stderr);
    if (f)
        fclose(f);
}
