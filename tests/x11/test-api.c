/*
 * The HTTP side of deskd: the health probe, bearer tokens, the refusal to
 * listen beyond loopback without one, per-request log lines, the body cap, and
 * a SIGTERM that lets an in-flight request finish before exiting 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "deskproc.h"
#include "http.h"
#include "xserver.h"

static long get_status(const char *base, const char *path, const char *auth) {
    char url[256];
    snprintf(url, sizeof url, "%s%s", base, path);
    const char *headers[] = {auth, NULL};
    struct http_resp r;
    http_request("GET", url, NULL, auth ? headers : NULL, &r);
    long st = r.status;
    if (st == 401) {
        json_t *j = http_json(&r);
        CHECK(json_string_value(json_object_get(j, "error")) &&
                        json_string_value(json_object_get(j, "code")),
                "401 has a JSON error: %s", r.body);
        json_decref(j);
    }
    http_resp_free(&r);
    return st;
}

/* Waits until the log file contains needle; the condition, not a fixed sleep. */
static bool log_has(const struct deskd_proc *d, const char *needle, int timeout_ms) {
    for (int waited = 0; waited <= timeout_ms; waited += 10) {
        FILE *f = fopen(d->log_path, "r");
        char line[512];
        bool hit = false;
        while (f && !hit && fgets(line, sizeof line, f))
            hit = strstr(line, needle) != NULL;
        if (f)
            fclose(f);
        if (hit)
            return true;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return false;
}

static void test_health_and_token(const char *display) {
    struct deskd_proc d;
    const char *args[] = {"--token", "s3cret", NULL};
    if (deskd_start(&d, display, args) < 0) {
        CHECK(false, "deskd did not start");
        return;
    }
    char url[256];
    struct http_resp r;
    snprintf(url, sizeof url, "%s/healthz", d.url);
    http_get(url, &r);
    CHECK_INT(r.status, 200);
    json_t *j = http_json(&r);
    CHECK_STR(json_string_value(json_object_get(j, "status")), "ok");
    CHECK(json_string_value(json_object_get(j, "version")), "healthz has a version");
    json_decref(j);
    http_resp_free(&r);

    CHECK_INT(get_status(d.url, "/computeruse/display/info", NULL), 401);
    CHECK_INT(get_status(d.url, "/computeruse/display/info", "Authorization: Bearer wrong"), 401);
    CHECK_INT(get_status(d.url, "/computeruse/display/info", "Authorization: Bearer s3cre"), 401);
    CHECK_INT(get_status(d.url, "/computeruse/display/info", "Authorization: Bearer s3cretx"), 401);
    CHECK_INT(get_status(d.url, "/computeruse/display/info", "Authorization: s3cret"), 401);
    CHECK_INT(get_status(d.url, "/computeruse/nothing", NULL), 401);
    CHECK_INT(get_status(d.url, "/computeruse/display/info", "Authorization: Bearer s3cret"), 200);
    CHECK_INT(get_status(d.url, "/computeruse/screenshot", "Authorization: bearer s3cret"), 200);
    CHECK_INT(get_status(d.url, "/computeruse/nothing", "Authorization: Bearer s3cret"), 404);

    /* One line per request: method, path, status, milliseconds. */
    CHECK(log_has(&d, "GET /computeruse/display/info 401", 2000), "401 logged");
    CHECK(log_has(&d, "GET /computeruse/display/info 200", 2000), "200 logged");
    CHECK(!log_has(&d, "s3cret", 0), "the token never reaches the log");
    char path[64], cmdline[4096] = "";
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)d.pid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(cmdline, 1, sizeof cmdline - 1, f) : 0;
    if (f)
        fclose(f);
    for (size_t i = 0; i < n; i++)
        cmdline[i] = cmdline[i] ? cmdline[i] : ' ';
    /* Under valgrind, /proc shows valgrind's own argv, which deskd cannot reach. */
    if (!getenv("DESK_TEST_VALGRIND"))
        CHECK(n > 0 && strstr(cmdline, "--token") && !strstr(cmdline, "s3cret"),
                "the token is blanked in the process listing: %s", cmdline);
    CHECK_INT(deskd_stop(&d), 0);
}

/* Every error body has the fields Daytona's SDKs read to pick their error classes. */
static void check_error_body(const char *base, const char *method, const char *path,
        const char *body, long want_status, const char *want_code) {
    char url[256];
    snprintf(url, sizeof url, "%s%s", base, path);
    const char *headers[] = {
            "Authorization: Bearer s3cret", "Content-Type: application/json", NULL};
    struct http_resp r;
    http_request(method, url, body, headers, &r);
    CHECK_INT(r.status, want_status);
    json_t *j = http_json(&r);
    const char *error = json_string_value(json_object_get(j, "error"));
    const char *message = json_string_value(json_object_get(j, "message"));
    const char *stamp = json_string_value(json_object_get(j, "timestamp"));
    CHECK(error && *error && message && strcmp(error, message) == 0,
            "error and message carry the same sentence: %s", r.body);
    CHECK_STR(json_string_value(json_object_get(j, "code")), want_code);
    CHECK_INT(json_integer_value(json_object_get(j, "statusCode")), want_status);
    CHECK_STR(json_string_value(json_object_get(j, "source")), "DAYTONA_DAEMON");
    const char *got_path = json_string_value(json_object_get(j, "path"));
    size_t plen = strcspn(path, "?"); /* the path, without the query */
    CHECK(got_path && strlen(got_path) == plen && strncmp(got_path, path, plen) == 0,
            "path %s for %s", got_path ? got_path : "(none)", path);
    CHECK_STR(json_string_value(json_object_get(j, "method")), method);
    /* RFC 3339 in UTC: 2026-11-29T22:30:00.123Z */
    CHECK(stamp && strlen(stamp) == 24 && stamp[4] == '-' && stamp[10] == 'T' && stamp[19] == '.' &&
                    stamp[23] == 'Z',
            "timestamp is RFC 3339 UTC: %s", stamp ? stamp : "(none)");
    json_decref(j);
    http_resp_free(&r);
}

static void test_error_bodies(const char *display) {
    struct deskd_proc d;
    const char *args[] = {"--token", "s3cret", NULL};
    if (deskd_start(&d, display, args) < 0) {
        CHECK(false, "deskd did not start");
        return;
    }
    check_error_body(d.url, "GET", "/computeruse/nothing", NULL, 404, "NOT_FOUND");
    check_error_body(
            d.url, "GET", "/computeruse/process/foo/status", NULL, 404, "PROCESS_NOT_FOUND");
    check_error_body(
            d.url, "POST", "/computeruse/mouse/move", "{\"x\":1}", 400, "INVALID_PARAMETER");
    check_error_body(d.url, "POST", "/computeruse/mouse/move", "[1]", 400, "INVALID_BODY");
    check_error_body(d.url, "DELETE", "/computeruse/screenshot", NULL, 405, "METHOD_NOT_ALLOWED");
    check_error_body(d.url, "POST", "/computeruse/start", NULL, 409, "ATTACHED");
    /* API.md §1: no NUL or other control bytes in query keys and values, even encoded. */
    check_error_body(d.url, "GET", "/computeruse/screenshot/compressed?format=png%00gif", NULL, 400,
            "INVALID_PARAMETER");
    check_error_body(d.url, "GET", "/computeruse/screenshot?showCursor=1%01", NULL, 400,
            "INVALID_PARAMETER");
    /* Sentences, not the JSON library's flag names. */
    check_error_body(
            d.url, "POST", "/computeruse/mouse/move", "{\"x\":\"a\\u0000\"}", 400, "INVALID_BODY");
    /* A 405 says what the path accepts. */
    struct http_resp r;
    char url[256];
    snprintf(url, sizeof url, "%s/computeruse/screenshot", d.url);
    const char *auth[] = {"Authorization: Bearer s3cret", NULL};
    http_request("DELETE", url, NULL, auth, &r);
    CHECK(r.status == 405 && strstr(r.headers, "Allow: GET, HEAD"), "405 with Allow: %s",
            r.headers);
    http_resp_free(&r);
    /* A body announced over the cap is refused before it is sent. */
    snprintf(url, sizeof url, "%s/computeruse/mouse/click", d.url);
    const char *big[] = {"Authorization: Bearer s3cret", "Content-Length: 5000000",
            "Expect: 100-continue", NULL};
    http_request("POST", url, "{}", big, &r);
    CHECK_INT(r.status, 413);
    CHECK(strstr(r.body, "BODY_TOO_LARGE") != NULL, "413 body: %s", r.body);
    http_resp_free(&r);
    /* HEAD of a GET route: the headers of the GET, no body. */
    snprintf(url, sizeof url, "%s/healthz", d.url);
    http_request("HEAD", url, NULL, NULL, &r);
    CHECK_INT(r.status, 200);
    CHECK_INT((long)r.len, 0);
    http_resp_free(&r);
    CHECK_INT(deskd_stop(&d), 0);
}

static void test_loopback_rule(const char *display) {
    struct deskd_proc d;
    const char *wide[] = {"--listen", "0.0.0.0:0", NULL};
    CHECK(deskd_start(&d, display, wide) < 0, "no token beyond loopback: refused");
    CHECK(log_has(&d, "refusing to listen on 0.0.0.0 without a token", 0), "says why");
    const char *insecure[] = {"--listen", "0.0.0.0:0", "--insecure", NULL};
    if (deskd_start(&d, display, insecure) == 0) {
        CHECK_INT(get_status(d.url, "/healthz", NULL), 200);
        CHECK_INT(deskd_stop(&d), 0);
    } else {
        CHECK(0, "--insecure lets deskd listen on 0.0.0.0");
    }
    const char *bad[] = {"--log-level", "loud", NULL};
    CHECK(deskd_start(&d, display, bad) < 0, "bad log level refused");
    CHECK(log_has(&d, "--log-level must be", 0), "names --log-level");
}

/* A state directory that is a link (someone else's, say) is refused, not written through. */
static void test_state_dir_link(const char *display) {
    char dir[] = "/tmp/desk-test-state-XXXXXX", link[64];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(link, sizeof link, "%s.link", dir);
    CHECK(symlink(dir, link) == 0, "symlink");
    struct deskd_proc d;
    const char *args[] = {"--no-start", "--state-dir", link, NULL};
    CHECK(deskd_start(&d, display, args) < 0, "a linked state directory is refused");
    CHECK(log_has(&d, "must be a directory owned by uid", 0), "says why");
    const char *ok[] = {"--no-start", "--state-dir", dir, NULL};
    CHECK(deskd_start(&d, display, ok) == 0, "the real directory is accepted");
    if (d.pid > 0)
        CHECK_INT(deskd_stop(&d), 0);
    unlink(link);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0, "clean up");
}

static int connect_to(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void test_graceful_stop_and_body_cap(const char *display) {
    struct deskd_proc d;
    const char *args[] = {"--log-level", "debug", NULL};
    if (deskd_start(&d, display, args) < 0) {
        CHECK(false, "deskd did not start");
        return;
    }

    /* Too large a body: 413, not a crash and not a buffer without bound. */
    size_t big = 2 * 1024 * 1024;
    char *body = malloc(big + 1);
    memset(body, 'a', big);
    body[big] = '\0';
    char url[256];
    struct http_resp r;
    snprintf(url, sizeof url, "%s/computeruse/screenshot", d.url);
    http_request("POST", url, body, NULL, &r);
    CHECK_INT(r.status, 413);
    http_resp_free(&r);
    free(body);

    /* An in-flight request: headers sent, half the body still to come. */
    int fd = connect_to(d.port);
    const char head[] = "POST /computeruse/display/info HTTP/1.1\r\nHost: t\r\n"
                        "Content-Type: application/json\r\nContent-Length: 10\r\n\r\n{\"a\":";
    CHECK(fd >= 0 && write(fd, head, sizeof head - 1) == (ssize_t)(sizeof head - 1), "send");
    CHECK(log_has(&d, "POST /computeruse/display/info started", 5000), "request under way");
    kill(d.pid, SIGTERM);
    CHECK(log_has(&d, "stopped accepting; finishing 1 in-flight requests", 5000), "deskd drains");
    int fd2 = connect_to(d.port);
    CHECK(fd2 < 0, "no new connections once stopping");
    if (fd2 >= 0)
        close(fd2);
    CHECK(deskd_alive(&d), "still serving the in-flight request");
    CHECK(write(fd, "1}     ", 5) == 5, "rest of the body");
    char reply[1024] = "";
    size_t got = 0;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (got < sizeof reply - 1 && poll(&p, 1, 5000) > 0) {
        ssize_t n = read(fd, reply + got, sizeof reply - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    reply[got] = '\0';
    CHECK(strncmp(reply, "HTTP/1.1 405", 12) == 0, "the in-flight request was answered: %.60s",
            reply);
    close(fd);
    CHECK_INT(deskd_stop(&d), 0);
    if (check_failed)
        deskd_dump_log(&d);
}

int main(void) {
    check_timeout(90);
    check_require_tool("Xvfb");
    signal(SIGPIPE, SIG_IGN);
    struct xserver xs;
    if (xserver_start_xvfb(&xs, 320, 200) < 0)
        return 1;
    test_health_and_token(xs.name);
    test_error_bodies(xs.name);
    test_loopback_rule(xs.name);
    test_state_dir_link(xs.name);
    test_graceful_stop_and_body_cap(xs.name);
    xserver_stop(&xs);
    return check_finish();
}
