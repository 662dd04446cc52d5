/*
 * The input queue's bounds, end to end against a real deskd and observed by
 * evlog: a type whose characters x delay pass 10 minutes is a 400 naming
 * text, delay and the limit; a request that would wait more than 30 s behind
 * a slow type is a 503 INPUT_BUSY with Retry-After. Neither rejected request
 * may type anything, and when the slow type's client hangs up the typing
 * stops and the queue serves the next request at once.
 *
 * Waits are on evlog's output and on HTTP replies, never on timers.
 */
#include <X11/Xlib.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "deskproc.h"
#include "evproc.h"
#include "http.h"
#include "xserver.h"

#define LINE_MS 5000
/* The slow type: 45 characters a second apart, some 45 s of declared work. */
#define SLOW_CHARS 45

static const char *base;
static int port;
static Display *dpy;
static struct evproc ev;

static long post(const char *path, const char *body, struct http_resp *out) {
    char url[256];
    snprintf(url, sizeof url, "%s%s", base, path);
    const char *headers[] = {"Content-Type: application/json", NULL};
    http_request("POST", url, body, headers, out);
    return out->status;
}

/* Taps the F1 marker and collects evlog's lines up to it. */
static bool collect(void) {
    struct http_resp r;
    CHECK_INT(post("/computeruse/keyboard/key", "{\"key\":\"f1\"}", &r), 200);
    http_resp_free(&r);
    bool ok = evproc_collect(&ev, "key F1 ", LINE_MS);
    CHECK(ok, "evlog sent no marker");
    return ok;
}

static void test_ten_minutes(void) {
    /* 601 characters a second apart: 601 s, one over the limit. */
    char body[1024];
    int n = snprintf(body, sizeof body, "{\"text\":\"");
    for (int i = 0; i < 601; i++)
        body[n++] = 'q';
    snprintf(body + n, sizeof body - (size_t)n, "\",\"delay\":1000}");
    struct http_resp r;
    CHECK_INT(post("/computeruse/keyboard/type", body, &r), 400);
    CHECK(strstr(r.body, "text") && strstr(r.body, "delay") && strstr(r.body, "10 minutes") &&
                    strstr(r.body, "INVALID_PARAMETER"),
            "the 400 names text, delay and the limit: %s", r.body);
    http_resp_free(&r);
    /* "\r\n" is one Return: 301 lines of "a\r\n" are 602 keys, not 903. */
    char lines[4096];
    n = snprintf(lines, sizeof lines, "{\"text\":\"");
    for (int i = 0; i < 301; i++)
        n += snprintf(lines + n, sizeof lines - (size_t)n, "a\\r\\n");
    snprintf(lines + n, sizeof lines - (size_t)n, "\",\"delay\":1000}");
    CHECK_INT(post("/computeruse/keyboard/type", lines, &r), 400);
    CHECK(strstr(r.body, "602 characters") != NULL, "CR LF counted as one key: %s", r.body);
    http_resp_free(&r);
    if (collect())
        CHECK(ev.nlines == 0, "the rejected types produced %d events, first: %s", ev.nlines,
                ev.nlines ? ev.lines[0] : "");
}

/* Sends a slow type on a raw connection and returns its socket, not reading the reply. */
static int start_slow_type(void) {
    char body[256];
    int n = snprintf(body, sizeof body, "{\"text\":\"");
    for (int i = 0; i < SLOW_CHARS; i++)
        body[n++] = 'a';
    n += snprintf(body + n, sizeof body - (size_t)n, "\",\"delay\":1000}");
    char req[512];
    int len = snprintf(req, sizeof req,
            "POST /computeruse/keyboard/type HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
            n, body);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
            write(fd, req, (size_t)len) != len) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* Waits for the slow type's first character (the marker's release may come first). */
static void await_first_char(void) {
    char *line = evproc_line(&ev, LINE_MS);
    while (line && strncmp(line, "keyup ", 6) == 0) {
        free(line);
        line = evproc_line(&ev, LINE_MS);
    }
    CHECK(line && strncmp(line, "key a ", 6) == 0, "the slow type started: %s",
            line ? line : "(nothing)");
    free(line);
}

/* After the slow type's client hung up: only its characters arrived, and not all of them. */
static void check_after_hang_up(void) {
    char *text = evproc_text(&ev);
    size_t n = text ? strlen(text) : 0;
    CHECK(text && strspn(text, "a") == n, "only the slow type's characters arrived: \"%s\"",
            text ? text : "");
    CHECK(n < SLOW_CHARS - 1, "the typing stopped when its client hung up (%zu typed)", n);
    int clicks = 0;
    for (int i = 0; i < ev.nlines; i++)
        clicks +=
                strncmp(ev.lines[i], "press ", 6) == 0 || strncmp(ev.lines[i], "release ", 8) == 0;
    CHECK(clicks == 0, "the refused click pressed nothing (%d button events)", clicks);
    free(text);
}

static void test_busy(void) {
    int fd = start_slow_type();
    CHECK(fd >= 0, "cannot send the slow type");
    if (fd < 0)
        return;
    await_first_char();

    struct http_resp r;
    long st = post("/computeruse/keyboard/type", "{\"text\":\"zzz\"}", &r);
    char retry[32] = "";
    http_header(&r, "Retry-After", retry, sizeof retry);
    long secs = strtol(retry, NULL, 10);
    CHECK(st == 503 && strstr(r.body, "\"INPUT_BUSY\"") && strstr(r.body, "30 s"),
            "a request behind 45 s of typing is refused: %ld %s", st, r.body);
    CHECK(secs >= 1 && secs <= SLOW_CHARS - 30 + 1, "Retry-After is the seconds until room: %s",
            retry);
    http_resp_free(&r);
    st = post("/computeruse/mouse/click", "{\"x\":150,\"y\":100}", &r);
    CHECK(st == 503 && strstr(r.body, "\"INPUT_BUSY\""), "a click too: %ld %s", st, r.body);
    http_resp_free(&r);

    /* The slow type's client hangs up: the typing stops, the marker gets through at once. */
    close(fd);
    if (collect())
        check_after_hang_up();
    check_nothing_held(dpy, "the refused requests");
}

int main(void) {
    check_timeout(90);
    check_require_tool("Xvfb");
    struct xserver xs;
    if (xserver_start_xvfb(&xs, 1280, 720) < 0)
        return 1;
    dpy = XOpenDisplay(xs.name);
    struct deskd_proc d;
    if (!dpy || evproc_start(&ev, xs.name, 100, 50, 400, 300, "input-queue") < 0 ||
            deskd_start(&d, xs.name, NULL) < 0) {
        CHECK(false, "set-up failed");
        xserver_stop(&xs);
        return check_finish();
    }
    base = d.url;
    port = d.port;
    test_ten_minutes();
    test_busy();
    CHECK_INT(deskd_stop(&d), 0);
    if (check_failed)
        deskd_dump_log(&d);
    evproc_stop(&ev);
    XCloseDisplay(dpy);
    xserver_stop(&xs);
    return check_finish();
}
