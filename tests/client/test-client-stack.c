/*
 * libdesk's process functions against a deskd that supervises the real desktop stack
 * (Xvfb, xfce4, the accessibility bus, x11vnc, noVNC) on a free display and free ports:
 * inactive at first (and screenshots 503), start returns the five processes running in
 * order, status and process-status say active, a screenshot works, vnc gives the noVNC
 * address, logs and errors read, restart gives the process a new pid, and stop leaves all
 * five stopped.
 * What the supervisor itself guarantees (readiness, reaping, kill -9) is tested in
 * tests/integration; this checks the client's view of it.
 */
#include <arpa/inet.h>
#include <desk/desk.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "deskproc.h"

#define TOKEN "client-stack-token"

static desk_client *c;

#define CHECK_OK(call)                                                                             \
    do {                                                                                           \
        enum desk_status st_ = (call);                                                             \
        CHECK(st_ == DESK_OK, "%s: %s: %s", #call, desk_status_name(st_), desk_last_error(c));     \
    } while (0)

/* A display number with neither a socket nor a lock file. */
static int free_display(void) {
    for (int n = 300 + getpid() % 300; n < 1000; n++) {
        char sock[64], lock[64];
        snprintf(sock, sizeof sock, "/tmp/.X11-unix/X%d", n);
        snprintf(lock, sizeof lock, "/tmp/.X%d-lock", n);
        if (access(sock, F_OK) != 0 && access(lock, F_OK) != 0)
            return n;
    }
    return -1;
}

/* A TCP port that was free a moment ago. */
static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
            getsockname(fd, (struct sockaddr *)&a, &al) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static const struct desk_process *find(const struct desk_processes *ps, const char *name) {
    for (size_t i = 0; ps && i < ps->count; i++) {
        if (strcmp(ps->procs[i].name, name) == 0)
            return &ps->procs[i];
    }
    return NULL;
}

int main(void) {
    check_timeout(120);
    check_require_tool("Xvfb");
    check_require_tool("xfce4-session");
    check_require_tool("x11vnc");
    check_require_tool("websockify");

    char display[16], vnc[16], novnc[16], state[64];
    snprintf(display, sizeof display, ":%d", free_display());
    snprintf(vnc, sizeof vnc, "%d", free_port());
    snprintf(novnc, sizeof novnc, "%d", free_port());
    snprintf(state, sizeof state, "/tmp/desk-client-stack-XXXXXX");
    if (!mkdtemp(state))
        return 1;
    const char *args[] = {"--display", display, "--no-start", "--vnc-port", vnc, "--novnc-port",
            novnc, "--novnc-host", "127.0.0.1", "--state-dir", state, "--token", TOKEN, NULL};
    struct deskd_proc d;
    if (deskd_start(&d, NULL, args) < 0) {
        CHECK(false, "deskd did not start");
        return check_finish();
    }
    c = desk_client_new(d.url);
    CHECK_OK(desk_client_set_token(c, TOKEN));
    CHECK_OK(desk_client_set_timeouts(c, 5000, 60000));

    /* Nothing runs yet. */
    enum desk_desktop_state s = DESK_DESKTOP_ACTIVE;
    CHECK_OK(desk_computeruse_status(c, &s));
    CHECK_INT(s, DESK_DESKTOP_INACTIVE);
    bool running = true;
    CHECK_OK(desk_process_status(c, "xvfb", &running));
    CHECK(!running, "xvfb not running before start");
    struct desk_image *img = NULL;
    CHECK(desk_screenshot(c, false, &img) == DESK_ERR_UNAVAILABLE && !img &&
                    desk_last_http_status(c) == 503,
            "no desktop: %s %s", desk_status_name(desk_last_status(c)), desk_last_error(c));

    /* Start: all five, in Daytona's order and priorities (atspi: no pid, as Daytona). */
    struct desk_processes *ps = NULL;
    CHECK_OK(desk_computeruse_start(c, &ps));
    static const char *const names[] = {"xvfb", "xfce4", "atspi", "x11vnc", "novnc"};
    static const int prio[] = {100, 200, 250, 300, 400};
    if (ps && ps->count == 5) {
        CHECK(*ps->message, "start has a message");
        for (int i = 0; i < 5; i++) {
            const struct desk_process *p = &ps->procs[i];
            bool atspi = i == 2;
            CHECK(!strcmp(p->name, names[i]) && p->running && (atspi ? p->pid == -1 : p->pid > 0) &&
                            p->priority == prio[i] && p->auto_restart == !atspi,
                    "%s: running %d pid %ld priority %d", p->name, p->running, p->pid, p->priority);
        }
    } else {
        CHECK(false, "start answered %zu processes: %s", ps ? ps->count : 0, desk_last_error(c));
    }
    const struct desk_process *vp = find(ps, "x11vnc");
    long vnc_pid = vp ? vp->pid : 0;
    desk_processes_free(ps);

    CHECK_OK(desk_computeruse_status(c, &s));
    CHECK_INT(s, DESK_DESKTOP_ACTIVE);
    CHECK_OK(desk_computeruse_process_status(c, &s));
    CHECK_INT(s, DESK_DESKTOP_ACTIVE);
    CHECK_OK(desk_process_status(c, "x11vnc", &running));
    CHECK(running, "x11vnc running");
    CHECK_OK(desk_screenshot(c, false, &img));
    CHECK(img && img->width == 1280 && img->height == 720, "screenshot of the started desktop");
    desk_image_free(img);

    struct desk_vnc *v = NULL;
    CHECK_OK(desk_vnc(c, &v));
    CHECK(v && strstr(v->url, novnc) && *v->password, "vnc %s", v ? v->url : "");
    desk_vnc_free(v);

    char *text = NULL;
    CHECK_OK(desk_process_logs(c, "xvfb", &text));
    CHECK(text != NULL, "xvfb logs");
    desk_free(text);
    CHECK_OK(desk_process_errors(c, "xfce4", &text));
    CHECK(text != NULL, "xfce4 errors");
    desk_free(text);

    /* Restart gives x11vnc a new pid; start again is idempotent and shows it. */
    char *msg = NULL;
    CHECK_OK(desk_process_restart(c, "x11vnc", &msg));
    CHECK(msg && strstr(msg, "x11vnc"), "restart message: %s", msg ? msg : "");
    desk_free(msg);
    CHECK_OK(desk_computeruse_start(c, &ps));
    vp = find(ps, "x11vnc");
    CHECK(vp && vp->running && vp->pid > 0 && vp->pid != vnc_pid, "x11vnc pid %ld, was %ld",
            vp ? vp->pid : 0, vnc_pid);
    desk_processes_free(ps);

    /* Stop: all five stopped. */
    CHECK_OK(desk_computeruse_stop(c, &ps));
    for (int i = 0; ps && i < 5; i++) {
        const struct desk_process *p = find(ps, names[i]);
        CHECK(p && !p->running, "%s stopped", names[i]);
    }
    desk_processes_free(ps);
    CHECK_OK(desk_computeruse_status(c, &s));
    CHECK_INT(s, DESK_DESKTOP_INACTIVE);
    CHECK(desk_client_connections(c) == 1, "%ld connections", desk_client_connections(c));

    desk_client_free(c);
    CHECK_INT(deskd_stop(&d), 0);
    if (check_failed)
        deskd_dump_log(&d);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", state);
    if (system(cmd) != 0)
        CHECK(false, "cannot remove %s", state);
    return check_finish();
}
