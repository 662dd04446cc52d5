/*
 * api-process: the desktop-process routes of API.md §2 and the [ext] route
 * GET /computeruse/vnc. Everything here is HTTP and JSON around stack.c; the
 * waiting (start returns when every process is ready) happens there.
 *
 * start, stop and restart ignore the request body and its content type.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deskd.h"
#include "stack.h"
#include "util.h"

static json_t *status_map(void) {
    struct stack_status st[STACK_MAX];
    int n = stack_snapshot(st);
    json_t *map = json_object();
    for (int i = 0; i < n; i++) {
        json_object_set_new(map, st[i].name,
                json_pack("{s:b, s:i, s:b, s:o}", "running", st[i].running, "priority",
                        st[i].priority, "autoRestart", st[i].auto_restart, "pid",
                        st[i].pid > 0 ? json_integer(st[i].pid) : json_null()));
    }
    return map;
}

static void reply_result(struct req *r, enum stack_result res, const char *msg) {
    static const enum err_code codes[] = {[STACK_CONFLICT] = ERR_CONFLICT,
            [STACK_ATTACHED] = ERR_ATTACHED,
            [STACK_NOT_READY] = ERR_NOT_READY,
            [STACK_SHUTDOWN] = ERR_SHUTTING_DOWN};
    if (res != STACK_OK)
        reply_error(r, codes[res], "%s", msg);
}

/* start and stop: run op, then answer with every process's status. */
static void start_stop(struct req *r, enum stack_result (*op)(char *, size_t), const char *done) {
    char msg[1024];
    enum stack_result res = op(msg, sizeof msg);
    if (res != STACK_OK) {
        reply_result(r, res, msg);
        return;
    }
    reply_json(r, 200, json_pack("{s:s, s:o}", "message", done, "status", status_map()));
}

static void api_process_start(struct req *r) {
    start_stop(r, stack_start, "Computer use processes started successfully");
}

static void api_process_stop(struct req *r) {
    start_stop(r, stack_stop, "Computer use processes stopped successfully");
}

static void api_process_status_all(struct req *r) {
    struct stack_status st[STACK_MAX];
    int n = stack_snapshot(st);
    int running = 0;
    for (int i = 0; i < n; i++)
        running += st[i].running;
    /* A display whose server runs but does not answer (stopped, hung) is not active. */
    bool unresponsive = xconn_unresponsive(req_deskd(r)->display);
    const char *s = running == n && !unresponsive ? "active"
                    : running || unresponsive     ? "partial"
                                                  : "inactive";
    json_t *body = json_pack("{s:s}", "status", s);
    if (unresponsive)
        json_object_set_new(body, "display", json_string("unresponsive"));
    reply_json(r, 200, body);
}

/* The process named by the path, or -1 after replying 404. */
static int process_arg(struct req *r) {
    int i = r->path_param ? stack_find(r->path_param) : -1;
    if (i < 0)
        reply_error(r, ERR_PROCESS_NOT_FOUND, "unknown process \"%s\"; valid names: %s",
                r->path_param ? r->path_param : "", stack_names());
    return i;
}

static void api_process_status(struct req *r) {
    int i = process_arg(r);
    if (i < 0)
        return;
    struct stack_status st[STACK_MAX];
    stack_snapshot(st);
    reply_json(
            r, 200, json_pack("{s:s, s:b}", "processName", st[i].name, "running", st[i].running));
}

static void api_process_restart(struct req *r) {
    int i = process_arg(r);
    if (i < 0)
        return;
    char msg[1024];
    enum stack_result res = stack_restart(i, msg, sizeof msg);
    if (res != STACK_OK) {
        reply_result(r, res, msg);
        return;
    }
    char text[128];
    snprintf(text, sizeof text, "Process %s restarted successfully", stack_name(i));
    reply_json(r, 200, json_pack("{s:s, s:s}", "message", text, "processName", stack_name(i)));
}

static void logs(struct req *r, bool errors) {
    int i = process_arg(r);
    if (i < 0)
        return;
    size_t len = 0;
    char *text = stack_log(i, errors, &len);
    json_t *s = text ? json_stringn(text, len) : NULL;
    free(text);
    if (!s) {
        reply_error(r, ERR_INTERNAL, "out of memory while reading the log of %s", stack_name(i));
        return;
    }
    reply_json(r, 200,
            json_pack("{s:s, s:o}", "processName", stack_name(i), errors ? "errors" : "logs", s));
}

static void api_process_logs(struct req *r) {
    logs(r, false);
}

static void api_process_errors(struct req *r) {
    logs(r, true);
}

static void api_vnc(struct req *r) {
    char password[32], hostbuf[256];
    int port = 0;
    const char *listen_host = NULL;
    if (!stack_vnc(password, sizeof password, &port, &listen_host)) {
        reply_error(r, ERR_ATTACHED,
                "deskd is attached to an existing display (--attach); it does not run VNC");
        return;
    }
    /* The page is on the host the client reached deskd by, unless noVNC listens on one address. */
    const char *host =
            listen_host && *listen_host && strcmp(listen_host, "0.0.0.0") != 0 &&
                            strcmp(listen_host, "::") != 0
                    ? listen_host
                    : util_host_of_header(req_header(r, "Host"), hostbuf, sizeof hostbuf);
    char url[512];
    bool v6 = host && host[0] != '[' && strchr(host, ':');
    snprintf(url, sizeof url, "http://%s%s%s:%d/vnc.html", v6 ? "[" : "", host ? host : "127.0.0.1",
            v6 ? "]" : "", port);
    /* [ext] A fresh full-control link to deskd's own live view, beside Daytona's shape. */
    json_t *link = takeover_full_link(r);
    if (link)
        reply_json(r, 200,
                json_pack("{s:s, s:s, s:o}", "url", url, "password", password, "link", link));
    explicit_bzero(password, sizeof password);
}

const struct route api_process_routes[] = {
        {"POST", "/computeruse/start", api_process_start, 0},
        {"POST", "/computeruse/stop", api_process_stop, 0},
        {"GET", "/computeruse/status", api_process_status_all, 0},
        {"GET", "/computeruse/process-status", api_process_status_all, 0},
        {"GET", "/computeruse/process/*/status", api_process_status, 0},
        {"POST", "/computeruse/process/*/restart", api_process_restart, 0},
        {"GET", "/computeruse/process/*/logs", api_process_logs, 0},
        {"GET", "/computeruse/process/*/errors", api_process_errors, 0},
        {"GET", "/computeruse/vnc", api_vnc, 0},
        {NULL, NULL, NULL, 0},
};
