/*
 * deskd: the computer-use daemon. Start-up and shutdown order only: the
 * configuration (config.c), the desktop's supervisor (stack.c), the X
 * connections, the HTTP server (http.c with the routes of routes.c); then it
 * waits for SIGTERM or SIGINT, lets in-flight requests finish, stops the
 * desktop it started and exits 0.
 */
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bridge.h"
#include "clipw.h"
#include "config.h"
#include "deskd.h"
#include "keys.h"
#include "log.h"

/* Serves until SIGTERM or SIGINT, then lets the requests and recordings finish. */
static void serve(
        struct server *srv, struct deskd *d, const struct config *cfg, const sigset_t *sigs) {
    bool v6 = strchr(cfg->host, ':') != NULL;
    fprintf(stderr, "deskd: listening on http://%s%s%s:%d\n", v6 ? "[" : "", cfg->host,
            v6 ? "]" : "", server_port(srv));
    log_msg(LOG_INFO, "X display %s%s", cfg->display, cfg->token ? "; bearer token required" : "");
    int sig = 0;
    sigwait(sigs, &sig);
    log_msg(LOG_INFO, "%s: stopping", strsignal(sig));
    atomic_store(&d->stopping, true);
    stack_quiesce();
    /* Live-view sessions close before the server waits for its requests: each within a
     * tick and BRIDGE_CLOSE_MS, but hundreds take seconds on a loaded machine. */
    bridge_stop_all(5000);
    server_stop(srv, 10000);
    recs_finish(); /* each file finished by ffmpeg, before the desktop goes */
}

int main(int argc, char **argv) {
    struct config cfg;
    enum config_result res = config_parse(argc, argv, &cfg);
    if (res != CONFIG_RUN)
        return res == CONFIG_EXIT ? 0 : 2;
    log_threshold = cfg.log_level;
    keys_allow_state_keys(cfg.allow_state_keys);

    /* Screenshot bodies are megabytes: keep them on the heap and reuse the pages,
     * instead of a fresh mmap (and its page faults) per request. */
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);

    /* Signals go to the main thread only, through sigwait. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* Before any thread exists: Xlib must be made thread-safe before anything calls it, and
     * the supervisor blocks SIGCHLD for every thread. */
    xconn_global_init();
    /* The port first: when it is taken, nothing has started yet. */
    int port = 0;
    int listen_fd = server_listen(cfg.host, cfg.port, &port);
    if (listen_fd < 0)
        return 1;
    char err[512];
    if (stack_init(&cfg.stack, err, sizeof err) < 0 || recs_init(&cfg.recs, err, sizeof err) < 0) {
        fprintf(stderr, "deskd: %s\n", err);
        return 2;
    }

    static struct deskd d;
    d.display = cfg.display;
    d.damage = damage_new(cfg.display);
    d.shots = d.damage ? shots_new(cfg.display, d.damage) : NULL;
    d.input = inputw_new(cfg.display, &d.stopping, INPUTW_WAIT_MAX_MS);
    if (d.input)
        inputw_set_hold_timeout(d.input, cfg.hold_timeout_ms);
    d.xquery = xconn_new(cfg.display, "queries", NULL, NULL, NULL);
    d.xwm = xconn_new(cfg.display, "window actions", NULL, NULL, NULL);
    d.xapps = xconn_new(cfg.display, "launched programs' windows", NULL, NULL, NULL);
    d.clip = clipw_new(cfg.display);
    struct server_config scfg = {
            .listen_fd = listen_fd,
            .port = port,
            .token = cfg.token,
            .routes = deskd_routes,
            .ctx = &d,
            .acted = api_recordings_acted,
    };
    struct server *srv = NULL;
    if (d.shots && d.input && d.xquery && d.xwm && d.xapps && d.clip)
        srv = server_start(&scfg); /* it takes the socket over */
    else
        close(listen_fd);
    if (!srv)
        atomic_store(&d.stopping, true);
    else
        serve(srv, &d, &cfg, &sigs);
    /* The workers stop before exit runs, also when the start failed: a thread still in
     * Xlib while exit tears the process down crashes it. */
    inputw_destroy(d.input);
    shots_destroy(d.shots);
    damage_destroy(d.damage);
    xconn_destroy(d.xquery);
    xconn_destroy(d.xwm);
    xconn_destroy(d.xapps);
    clipw_destroy(d.clip);
    stack_finish();
    if (!srv)
        return 1;
    log_msg(LOG_INFO, "stopped");
    return 0;
}
