/*
 * nodeproc: a child process spoken to in lines (see nodeproc.h).
 */
#define _GNU_SOURCE
#include "nodeproc.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stack-util.h"

int nodeproc_start(struct nodeproc *n, const char *const *argv) {
    int pin[2], pout[2];
    if (pipe2(pin, O_CLOEXEC) < 0)
        return -1;
    if (pipe2(pout, O_CLOEXEC) < 0) {
        close(pin[0]);
        close(pin[1]);
        return -1;
    }
    n->pid = fork();
    if (n->pid < 0)
        return -1;
    if (n->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(pin[0], 0);
        dup2(pout[1], 1);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(pin[0]);
    close(pout[1]);
    n->in = pin[1];
    n->out = pout[0];
    n->len = 0;
    return 0;
}

char *nodeproc_line(struct nodeproc *n, int timeout_ms) {
    int64_t t0 = su_ms();
    for (;;) {
        char *nl = memchr(n->buf, '\n', n->len);
        if (nl) {
            *nl = '\0';
            char *line = strdup(n->buf);
            size_t used = (size_t)(nl - n->buf) + 1;
            memmove(n->buf, nl + 1, n->len - used);
            n->len -= used;
            return line;
        }
        int left = timeout_ms - (int)(su_ms() - t0);
        struct pollfd p = {.fd = n->out, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, left) <= 0 || n->len >= sizeof n->buf - 1)
            return NULL;
        ssize_t r = read(n->out, n->buf + n->len, sizeof n->buf - 1 - n->len);
        if (r <= 0)
            return NULL;
        n->len += (size_t)r;
    }
}

static int write_line(int fd, const char *s) {
    size_t len = strlen(s);
    char *buf = malloc(len + 2);
    if (!buf)
        return -1;
    memcpy(buf, s, len + 1);
    buf[len] = '\n';
    ssize_t w = write(fd, buf, len + 1);
    free(buf);
    return w == (ssize_t)(len + 1) ? 0 : -1;
}

json_t *nodeproc_ask(struct nodeproc *n, int timeout_ms, const char *cmd) {
    if (write_line(n->in, cmd) < 0)
        return NULL;
    char *line = nodeproc_line(n, timeout_ms);
    json_t *j = line ? json_loads(line, 0, NULL) : NULL;
    free(line);
    return j;
}

int nodeproc_finish(struct nodeproc *n, const char *last, int timeout_ms) {
    if (last)
        write_line(n->in, last);
    close(n->in);
    close(n->out);
    int64_t t0 = su_ms();
    int status = 0;
    while (waitpid(n->pid, &status, WNOHANG) == 0) {
        if (su_ms() - t0 > timeout_ms) {
            kill(n->pid, SIGKILL);
            waitpid(n->pid, NULL, 0);
            return -1;
        }
        struct timespec ts = {0, 20L * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
