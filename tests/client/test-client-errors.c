/*
 * libdesk on the client side of things going wrong, against a fake HTTP server in a thread
 * of this test: replies that are not JSON, not HTTP, of the wrong shape, truncated, over
 * the size cap (declared or streamed), silent (timeout), a closed port (connection error),
 * bad URLs and bad arguments. Each gives its status and a message, no crash, and no leak
 * (ASan and valgrind runs), and the handle keeps working afterwards.
 *
 * The fake server also records each request, so the test checks what libdesk sends: the
 * method, path and query (locale-independent numbers, percent-encoded process names), the
 * JSON bodies, the Accept and Authorization headers, and that one connection serves many
 * calls. No X and no deskd are involved.
 */
#define _GNU_SOURCE /* strcasestr */
#include <arpa/inet.h>
#include <desk/desk.h>
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"

enum mode {
    REPLY,       /* send the canned reply, keep the connection */
    REPLY_CLOSE, /* send it and close */
    SILENT,      /* read the request, answer nothing until the client goes */
    STREAM,      /* a chunked body that never ends */
};

static struct {
    int fd, port;
    pthread_mutex_t lock;
    enum mode mode;
    char reply[8192];
    size_t reply_len;
    char last[65536]; /* the last request: head and body */
    int requests, accepted;
} srv = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void set_reply(enum mode m, const char *status_line, const char *headers, const char *body) {
    pthread_mutex_lock(&srv.lock);
    srv.mode = m;
    srv.reply_len = (size_t)snprintf(srv.reply, sizeof srv.reply,
            "%s\r\n%sContent-Length: %zu\r\n\r\n%s", status_line, headers, strlen(body), body);
    pthread_mutex_unlock(&srv.lock);
}

/* A raw reply, sent as it is. */
static void set_raw(enum mode m, const char *raw) {
    pthread_mutex_lock(&srv.lock);
    srv.mode = m;
    srv.reply_len = (size_t)snprintf(srv.reply, sizeof srv.reply, "%s", raw);
    pthread_mutex_unlock(&srv.lock);
}

/* Reads one request (head and Content-Length body). Returns its length, 0 at EOF. */
static size_t read_request(int fd, char *buf, size_t cap) {
    size_t len = 0;
    for (;;) {
        buf[len] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (end) {
            const char *cl = strcasestr(buf, "\r\nContent-Length:");
            size_t want =
                    (size_t)(end + 4 - buf) + (cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
            if (len >= want)
                return len;
        }
        if (len + 1 >= cap)
            return len;
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n <= 0)
            return 0;
        len += (size_t)n;
    }
}

static void *serve(void *arg) {
    (void)arg;
    static char req[65536];
    for (;;) {
        int fd = accept(srv.fd, NULL, NULL);
        if (fd < 0)
            return NULL;
        pthread_mutex_lock(&srv.lock);
        srv.accepted++;
        pthread_mutex_unlock(&srv.lock);
        bool open = true;
        while (open) {
            size_t n = read_request(fd, req, sizeof req);
            if (n == 0)
                break;
            pthread_mutex_lock(&srv.lock);
            memcpy(srv.last, req, n + 1);
            srv.requests++;
            enum mode m = srv.mode;
            char reply[sizeof srv.reply];
            size_t rl = srv.reply_len;
            memcpy(reply, srv.reply, rl);
            pthread_mutex_unlock(&srv.lock);
            if (m == SILENT) {
                char sink[256];
                while (read(fd, sink, sizeof sink) > 0) {
                }
                open = false;
            } else if (m == STREAM) {
                const char *head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                   "Transfer-Encoding: chunked\r\n\r\n";
                static char chunk[16384 + 16];
                int hn = snprintf(chunk, sizeof chunk, "4000\r\n");
                memset(chunk + hn, ' ', 16384);
                memcpy(chunk + hn + 16384, "\r\n", 2);
                ssize_t w = write(fd, head, strlen(head));
                while (w > 0)
                    w = write(fd, chunk, (size_t)hn + 16384 + 2);
                open = false;
            } else {
                ssize_t w = write(fd, reply, rl);
                open = w == (ssize_t)rl && m == REPLY;
            }
        }
        close(fd);
    }
}

static int requests(void) {
    pthread_mutex_lock(&srv.lock);
    int n = srv.requests;
    pthread_mutex_unlock(&srv.lock);
    return n;
}

static const char *last_request(void) {
    static char copy[sizeof srv.last];
    pthread_mutex_lock(&srv.lock);
    memcpy(copy, srv.last, sizeof copy);
    pthread_mutex_unlock(&srv.lock);
    return copy;
}

#define JSON_OK "HTTP/1.1 200 OK", "Content-Type: application/json\r\n"

/* CHECKs status st and a message containing needle. */
#define CHECK_ERR(call, st, needle)                                                                \
    do {                                                                                           \
        enum desk_status got_ = (call);                                                            \
        CHECK(got_ == (st) && strstr(desk_last_error(c), needle),                                  \
                "%s: %s \"%s\", expected %s "                                                      \
                "with \"%s\"",                                                                     \
                #call, desk_status_name(got_), desk_last_error(c), desk_status_name(st), needle);  \
    } while (0)

static void test_bad_urls(void) {
    static const char *const bad[] = {"ftp://127.0.0.1/", "not a url", "http://", "/just/a/path",
            "http://127.0.0.1:1/?q=1", "http://127.0.0.1:1/#frag", "127.0.0.1:2280"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        desk_client *c = desk_client_new(bad[i]);
        CHECK(c && desk_last_status(c) == DESK_ERR_URL && *desk_last_error(c), "URL \"%s\": %s",
                bad[i], c ? desk_status_name(desk_last_status(c)) : "NULL");
        struct desk_point p;
        /* Every call on it fails the same way, and the message stays. */
        CHECK_ERR(desk_mouse_position(c, &p), DESK_ERR_URL, "URL");
        CHECK_ERR(desk_client_set_token(c, "t"), DESK_ERR_URL, "URL");
        desk_client_free(c);
    }
    char *huge = malloc(4000);
    memset(huge, 'a', 3999);
    memcpy(huge, "http://", 7);
    huge[3999] = '\0';
    desk_client *c = desk_client_new(huge);
    CHECK(desk_last_status(c) == DESK_ERR_URL && strstr(desk_last_error(c), "longer"),
            "long URL: %s", desk_last_error(c));
    desk_client_free(c);
    free(huge);

    c = desk_client_new(NULL);
    CHECK_STR(desk_client_url(c), DESK_DEFAULT_URL);
    desk_client_free(c);
    c = desk_client_new("http://127.0.0.1:5/prefix//");
    CHECK_STR(desk_client_url(c), "http://127.0.0.1:5/prefix");
    CHECK_INT(desk_last_status(c), DESK_OK);
    desk_client_free(c);
    desk_client_free(NULL);
}

static void test_null_and_bad_args(void) {
    struct desk_point p;
    struct desk_image *img = (void *)1;
    CHECK_INT(desk_mouse_position(NULL, &p), DESK_ERR_INVALID_ARG);
    CHECK_INT(desk_screenshot(NULL, false, &img), DESK_ERR_INVALID_ARG);
    CHECK(img == NULL, "*out cleared even for a NULL handle");
    CHECK_INT(desk_last_status(NULL), DESK_ERR_INVALID_ARG);
    CHECK(desk_last_error(NULL) && *desk_last_error(NULL), "a message for NULL");
    CHECK_INT(desk_last_http_status(NULL), 0);
    CHECK(desk_client_url(NULL) == NULL, "no URL for NULL");

    desk_client *c = desk_client_new("http://127.0.0.1:9"); /* nothing is sent below */
    int before = requests();
    CHECK_ERR(desk_mouse_position(c, NULL), DESK_ERR_INVALID_ARG, "out");
    CHECK_ERR(desk_screenshot(c, false, NULL), DESK_ERR_INVALID_ARG, "out");
    CHECK_ERR(desk_screenshot_region(c, NULL, false, &img), DESK_ERR_INVALID_ARG, "region");
    const struct desk_compress badfmt = {.format = (enum desk_image_format)9};
    CHECK_ERR(desk_screenshot_compressed(c, &badfmt, &img), DESK_ERR_INVALID_ARG, "format");
    const struct desk_compress nan = {.scale = NAN};
    CHECK_ERR(desk_screenshot_compressed(c, &nan, &img), DESK_ERR_INVALID_ARG, "scale");
    CHECK_ERR(desk_mouse_click(c, 1, 1, (enum desk_button)5, false, NULL), DESK_ERR_INVALID_ARG,
            "button");
    CHECK_ERR(
            desk_mouse_scroll(c, 1, 1, (enum desk_scroll)4, 1), DESK_ERR_INVALID_ARG, "direction");
    CHECK_ERR(desk_keyboard_type(c, NULL, 0), DESK_ERR_INVALID_ARG, "text");
    CHECK_ERR(desk_keyboard_type(c, "bad \xc3\x28", 0), DESK_ERR_INVALID_ARG, "UTF-8");
    CHECK_ERR(desk_keyboard_key(c, NULL, NULL, 0), DESK_ERR_INVALID_ARG, "key");
    CHECK_ERR(desk_keyboard_key(c, "a", NULL, 2), DESK_ERR_INVALID_ARG, "modifiers");
    const char *mods[] = {"ctrl", NULL};
    CHECK_ERR(desk_keyboard_key(c, "a", mods, 2), DESK_ERR_INVALID_ARG, "modifiers[1]");
    const char *badmods[] = {"\xff"};
    CHECK_ERR(desk_keyboard_key(c, "a", badmods, 1), DESK_ERR_INVALID_ARG, "UTF-8");
    CHECK_ERR(desk_keyboard_hotkey(c, NULL), DESK_ERR_INVALID_ARG, "keys");
    bool running;
    char *text = (char *)1;
    CHECK_ERR(desk_process_status(c, "", &running), DESK_ERR_INVALID_ARG, "name");
    CHECK_ERR(desk_process_status(c, "xvfb", NULL), DESK_ERR_INVALID_ARG, "running");
    CHECK_ERR(desk_process_logs(c, NULL, &text), DESK_ERR_INVALID_ARG, "name");
    CHECK(text == NULL, "*logs cleared");
    char longname[200];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    CHECK_ERR(desk_process_errors(c, longname, &text), DESK_ERR_INVALID_ARG, "longer");
    CHECK_ERR(desk_process_logs(c, "xvfb", NULL), DESK_ERR_INVALID_ARG, "NULL");
    CHECK_ERR(desk_client_set_timeouts(c, -1, 5), DESK_ERR_INVALID_ARG, "timeouts");
    CHECK_ERR(desk_client_set_max_reply(c, 10), DESK_ERR_INVALID_ARG, "1024");
    CHECK_ERR(desk_client_set_token(c, "a\r\nX-Evil: 1"), DESK_ERR_INVALID_ARG, "line break");
    CHECK_ERR(desk_display_info(c, NULL), DESK_ERR_INVALID_ARG, "out");
    CHECK_ERR(desk_vnc(c, NULL), DESK_ERR_INVALID_ARG, "out");
    CHECK_INT(requests(), before);
    desk_client_free(c);
}

static void test_unreachable(void) {
    /* A port that was just free: bind, note it, close. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &al);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", ntohs(a.sin_port));
    close(fd);
    desk_client *c = desk_client_new(url);
    struct desk_image *img = (void *)1;
    CHECK_ERR(desk_screenshot(c, false, &img), DESK_ERR_CONNECT, url);
    CHECK(img == NULL && desk_last_http_status(c) == 0, "no image, no HTTP status");
    desk_client_free(c);

    c = desk_client_new("http://no-such-host.invalid:2280");
    struct desk_point p;
    CHECK_ERR(desk_mouse_position(c, &p), DESK_ERR_CONNECT, "no-such-host");
    desk_client_free(c);
}

static void test_replies(desk_client *c) {
    struct desk_point p;
    struct desk_image *img = NULL;
    struct desk_display_info *info = NULL;

    set_reply(REPLY, "HTTP/1.1 200 OK", "Content-Type: text/html\r\n", "<html>hi</html>");
    CHECK_ERR(desk_mouse_position(c, &p), DESK_ERR_PROTOCOL, "not JSON");
    CHECK(strstr(desk_last_error(c), "GET /computeruse/mouse/position") &&
                    desk_last_http_status(c) == 200,
            "names the route: %s", desk_last_error(c));

    set_reply(REPLY, JSON_OK, "{\"x\":\"1\",\"y\":2}");
    CHECK_ERR(desk_mouse_position(c, &p), DESK_ERR_PROTOCOL, "\"x\"");
    set_reply(REPLY, JSON_OK, "{\"displays\":{}}");
    CHECK_ERR(desk_display_info(c, &info), DESK_ERR_PROTOCOL, "\"displays\"");
    CHECK(info == NULL, "no info");

    /* A 2xx with an empty body where JSON was due. */
    set_reply(REPLY, "HTTP/1.1 204 No Content", "", "");
    CHECK_ERR(desk_keyboard_hotkey(c, "a"), DESK_ERR_PROTOCOL, "not JSON");

    set_reply(REPLY, "HTTP/1.1 502 Bad Gateway", "Content-Type: text/html\r\n",
            "<html>bad gateway</html>");
    CHECK_ERR(desk_mouse_position(c, &p), DESK_ERR_HTTP, "HTTP 502");
    CHECK_INT(desk_last_http_status(c), 502);

    set_reply(REPLY, "HTTP/1.1 409 Conflict", "Content-Type: application/json\r\n",
            "{\"error\":\"the desktop is managed elsewhere (--attach)\",\"code\":\"CONFLICT\"}");
    struct desk_processes *ps = (void *)1;
    CHECK_ERR(desk_computeruse_start(c, &ps), DESK_ERR_CONFLICT, "managed elsewhere");
    CHECK(ps == NULL && !strcmp(desk_last_error_code(c), "CONFLICT"), "409 code");

    /* A binary screenshot without its headers, and one whose bytes are not the format. */
    set_reply(REPLY, "HTTP/1.1 200 OK", "Content-Type: image/png\r\n", "\x89PNG\r\n\x1a\nxx");
    CHECK_ERR(desk_screenshot(c, false, &img), DESK_ERR_PROTOCOL, "X-Desk-Width");
    set_reply(REPLY, "HTTP/1.1 200 OK",
            "Content-Type: image/png\r\nX-Desk-Width: 1\r\nX-Desk-Height: 1\r\n"
            "X-Desk-Region: 0,0,1,1\r\n",
            "GIF89a");
    CHECK_ERR(desk_screenshot(c, false, &img), DESK_ERR_PROTOCOL, "not a png");
    set_reply(REPLY, "HTTP/1.1 200 OK", "Content-Type: application/octet-stream\r\n", "xx");
    CHECK_ERR(desk_screenshot(c, false, &img), DESK_ERR_PROTOCOL, "Content-Type");
    CHECK(img == NULL, "no image");

    /* A well-formed binary screenshot, and a Daytona-style JSON one to an image request. */
    set_reply(REPLY, "HTTP/1.1 200 OK",
            "Content-Type: image/png\r\nX-Desk-Width: 2\r\nX-Desk-Height: 3\r\n"
            "X-Desk-Region: 4,5,6,7\r\nX-Desk-Cursor-X: 8\r\nX-Desk-Cursor-Y: 9\r\n",
            "\x89PNG\r\n\x1a\nxx");
    CHECK(desk_screenshot(c, false, &img) == DESK_OK && img && img->size == 10 && img->width == 2 &&
                    img->height == 3 && img->region.x == 4 && img->region.height == 7 &&
                    img->has_cursor && img->cursor.y == 9,
            "binary screenshot: %s", desk_last_error(c));
    desk_image_free(img);
    set_reply(REPLY, JSON_OK,
            "{\"screenshot\":\"iVBORw0KGgp4eA==\",\"sizeBytes\":10,\"width\":2,\"height\":3,"
            "\"format\":\"png\",\"region\":{\"x\":0,\"y\":0,\"width\":2,\"height\":3},"
            "\"cursorPosition\":{\"x\":0,\"y\":0}}");
    CHECK(desk_screenshot(c, false, &img) == DESK_OK && img && img->size == 10 &&
                    !memcmp(img->data, "\x89PNG\r\n\x1a\nxx", 10),
            "JSON answer to a binary request: %s", desk_last_error(c));
    desk_image_free(img);

    /* Not HTTP at all. */
    set_raw(REPLY_CLOSE, "SSH-2.0-OpenSSH_9.2\r\n");
    CHECK_ERR(desk_mouse_position(c, &p), DESK_ERR_PROTOCOL, "");
    /* Closed without a reply; truncated body. */
    set_raw(REPLY_CLOSE, "");
    CHECK_ERR(desk_mouse_position(c, &p), DESK_ERR_TRANSPORT, "");
    set_raw(REPLY_CLOSE, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"x\":1");
    CHECK_ERR(desk_mouse_position(c, &p), DESK_ERR_TRANSPORT, "");

    /* Over the cap: declared up front, and streamed without a length. */
    CHECK(desk_client_set_max_reply(c, 64 * 1024) == DESK_OK, "cap");
    set_raw(REPLY_CLOSE, "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n"
                         "Content-Length: 1000000000\r\n\r\n\x89PNG");
    CHECK_ERR(desk_screenshot(c, false, &img), DESK_ERR_TOO_LARGE, "cap of 65536");
    set_raw(STREAM, "");
    CHECK_ERR(desk_display_info(c, &info), DESK_ERR_TOO_LARGE, "cap");
    CHECK(info == NULL, "no info");

    /* Silent: the total timeout ends it. */
    CHECK(desk_client_set_timeouts(c, 1000, 300) == DESK_OK, "timeouts");
    set_raw(SILENT, "");
    CHECK_ERR(desk_mouse_position(c, &p), DESK_ERR_TIMEOUT, "");
    CHECK(desk_client_set_timeouts(c, 5000, 10000) == DESK_OK, "timeouts");

    /* After all that, the same handle works. */
    set_reply(REPLY, JSON_OK, "{\"x\":5,\"y\":6}");
    CHECK(desk_mouse_position(c, &p) == DESK_OK && p.x == 5 && p.y == 6 && !*desk_last_error(c) &&
                    desk_last_http_status(c) == 200,
            "recovered: %s", desk_last_error(c));
}

static void test_requests(desk_client *c) {
    const char *r;
    struct desk_image *img = NULL;
    CHECK(desk_client_set_token(c, "s3cret") == DESK_OK, "token");

    set_reply(REPLY, JSON_OK, "{\"x\":10,\"y\":20}");
    CHECK(desk_mouse_click(c, 10, 20, DESK_BUTTON_RIGHT, true, NULL) == DESK_OK, "click");
    r = last_request();
    CHECK(!strncmp(r, "POST /computeruse/mouse/click HTTP/1.1\r\n", 40), "click line: %.60s", r);
    CHECK(strstr(r, "\r\nAuthorization: Bearer s3cret\r\n") &&
                    strstr(r, "\r\nContent-Type: application/json\r\n") &&
                    strstr(r, "\r\nAccept: application/json\r\n") && !strstr(r, "Expect:"),
            "click headers: %s", r);
    CHECK(strstr(r, "{\"x\":10,\"y\":20,\"button\":\"right\",\"double\":true}"), "click body: %s",
            r);

    CHECK(desk_mouse_drag(c, 1, 2, 3, 4, DESK_BUTTON_LEFT, NULL) == DESK_OK, "drag");
    CHECK(strstr(last_request(),
                  "{\"startX\":1,\"startY\":2,\"endX\":3,\"endY\":4,\"button\":\"left\"}"),
            "drag body");
    const char *mods[] = {"ctrl", "shift"};
    set_reply(REPLY, JSON_OK, "{}");
    CHECK(desk_keyboard_key(c, "t", mods, 2) == DESK_OK, "key");
    CHECK(strstr(last_request(), "{\"key\":\"t\",\"modifiers\":[\"ctrl\",\"shift\"]}"), "key body");
    CHECK(desk_keyboard_type(c, "a\"b\\c\n✓", 5) == DESK_OK, "type");
    CHECK(strstr(last_request(), "{\"text\":\"a\\\"b\\\\c\\n✓\",\"delay\":5}"), "type body: %s",
            strstr(last_request(), "\r\n\r\n"));
    set_reply(REPLY, JSON_OK, "{\"success\":true}");
    CHECK(desk_mouse_scroll(c, 7, 8, DESK_SCROLL_RIGHT, 2) == DESK_OK, "scroll");
    CHECK(strstr(last_request(), "{\"x\":7,\"y\":8,\"direction\":\"right\",\"amount\":2}"),
            "scroll body");

    /* The query: exact keys, a locale-proof decimal, and the image type in Accept. */
    if (!setlocale(LC_NUMERIC, "de_DE.UTF-8"))
        setlocale(LC_NUMERIC, "fr_FR.UTF-8");
    set_reply(REPLY, "HTTP/1.1 404 Not Found", "Content-Type: application/json\r\n",
            "{\"error\":\"stop here\",\"code\":\"NOT_FOUND\"}");
    const struct desk_rect reg = {-3, 4, 50, 60};
    const struct desk_compress q = {
            .format = DESK_IMAGE_JPEG, .quality = 60, .scale = 0.5, .show_cursor = true};
    CHECK(desk_screenshot_region_compressed(c, &reg, &q, &img) == DESK_ERR_NOT_FOUND && !img,
            "region compressed");
    r = last_request();
    CHECK(!strncmp(r,
                  "GET /computeruse/screenshot/region/compressed?showCursor=true&x=-3&y=4&width=50"
                  "&height=60&format=jpeg&quality=60&scale=0.500000 HTTP/1.1\r\n",
                  130),
            "query: %.140s", r);
    CHECK(strstr(r, "\r\nAccept: image/jpeg\r\n"), "Accept image/jpeg");
    setlocale(LC_NUMERIC, "C");
    CHECK(desk_screenshot(c, false, &img) == DESK_ERR_NOT_FOUND, "full");
    CHECK(!strncmp(last_request(), "GET /computeruse/screenshot?showCursor=false HTTP/1.1", 53),
            "full query: %.60s", last_request());
    CHECK(strstr(last_request(), "\r\nAccept: image/png\r\n"), "Accept image/png");
    CHECK(desk_client_set_binary_screenshots(c, false) == DESK_OK, "json form");
    CHECK(desk_screenshot_compressed(c, NULL, &img) == DESK_ERR_NOT_FOUND, "compressed");
    CHECK(!strncmp(last_request(),
                  "GET /computeruse/screenshot/compressed?showCursor=false&format=png HTTP", 71),
            "defaults: %.80s", last_request());
    CHECK(strstr(last_request(), "\r\nAccept: application/json\r\n"), "JSON form asks for JSON");
    CHECK(desk_client_set_binary_screenshots(c, true) == DESK_OK, "binary form");

    /* Process names are percent-encoded; a 404 keeps the server's list of names. */
    char *text = NULL;
    set_reply(REPLY, "HTTP/1.1 404 Not Found", "Content-Type: application/json\r\n",
            "{\"error\":\"unknown process \\\"a b/c\\\"; valid: xvfb, xfce4, x11vnc, novnc\","
            "\"code\":\"NOT_FOUND\"}");
    CHECK(desk_process_logs(c, "a b/c", &text) == DESK_ERR_NOT_FOUND && !text &&
                    strstr(desk_last_error(c), "valid: xvfb"),
            "unknown process: %s", desk_last_error(c));
    CHECK(!strncmp(last_request(), "GET /computeruse/process/a%20b%2Fc/logs HTTP/1.1", 48),
            "encoded name: %.60s", last_request());
    set_reply(REPLY, JSON_OK, "{\"message\":\"xvfb restarted\",\"processName\":\"xvfb\"}");
    CHECK(desk_process_restart(c, "xvfb", &text) == DESK_OK && text &&
                    !strcmp(text, "xvfb restarted"),
            "restart: %s", desk_last_error(c));
    desk_free(text);
    CHECK(!strncmp(last_request(), "POST /computeruse/process/xvfb/restart HTTP/1.1", 47),
            "restart line");
    set_reply(REPLY, JSON_OK, "{\"status\":\"partial\"}");
    enum desk_desktop_state s;
    CHECK(desk_computeruse_process_status(c, &s) == DESK_OK && s == DESK_DESKTOP_PARTIAL, "state");
    CHECK(!strncmp(last_request(), "GET /computeruse/process-status HTTP/1.1", 40), "line");

    /* A cleared token sends no Authorization. */
    CHECK(desk_client_set_token(c, NULL) == DESK_OK, "clear token");
    set_reply(REPLY, JSON_OK, "{\"status\":\"ok\",\"version\":\"9\"}");
    CHECK(desk_health(c, NULL) == DESK_OK, "health");
    CHECK(!strstr(last_request(), "Authorization"), "no token sent");
}

int main(void) {
    check_timeout(60);
    signal(SIGPIPE, SIG_IGN);
    srv.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (bind(srv.fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(srv.fd, 16) < 0 ||
            getsockname(srv.fd, (struct sockaddr *)&a, &al) < 0) {
        perror("fake server");
        return 1;
    }
    srv.port = ntohs(a.sin_port);
    pthread_t th;
    pthread_create(&th, NULL, serve, NULL);

    test_bad_urls();
    test_null_and_bad_args();
    test_unreachable();

    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", srv.port);
    desk_client *c = desk_client_new(url);
    test_requests(c);
    /* Keep-alive: every request so far went over the one connection. */
    pthread_mutex_lock(&srv.lock);
    int accepted = srv.accepted;
    pthread_mutex_unlock(&srv.lock);
    CHECK(desk_client_connections(c) == 1 && accepted == 1, "%ld connections, %d accepted",
            desk_client_connections(c), accepted);
    test_replies(c);
    desk_client_free(c);

    /* The server thread blocks in accept until the process ends; shutdown wakes it. */
    shutdown(srv.fd, SHUT_RDWR);
    pthread_join(th, NULL);
    close(srv.fd);
    return check_finish();
}
