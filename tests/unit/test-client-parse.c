/*
 * libdesk's reply parsing (client/wire.c) fed literal replies, well-formed and not: every
 * route's success shape, HTTP error bodies with and without the server's JSON, bodies that
 * are not JSON or lack a field or have one of the wrong type, screenshots in both the JSON
 * (base64) and binary (headers) forms, and base64 edge cases. A malformed reply must give
 * DESK_ERR_PROTOCOL with the field named, return nothing through the out pointer, and leak
 * nothing (this test runs under ASan and valgrind). No HTTP and no X are involved.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "util.h"
#include "wire.h"

#define LIT(s) (s), strlen(s)

/* The PNG signature plus a little: enough for the signature check, not a real image. */
#define PNG_B64 "iVBORw0KGgpib2R5" /* "\x89PNG\r\n\x1a\n" "body" */

static struct desk_err e;

/* CHECKs a protocol failure whose message mentions needle. */
#define CHECK_PROTO(rc, needle)                                                                    \
    do {                                                                                           \
        enum desk_status rc_ = (rc);                                                               \
        CHECK(rc_ == DESK_ERR_PROTOCOL && strstr(e.msg, needle), "%s: %s, \"%s\" lacks \"%s\"",    \
                #rc, desk_status_name(rc_), e.msg, needle);                                        \
    } while (0)

static void test_status_names(void) {
    const char *seen[64] = {0};
    for (int s = 0; s <= DESK_ERR_HTTP; s++) {
        const char *name = desk_status_name((enum desk_status)s);
        CHECK(strncmp(name, "DESK_", 5) == 0 && strcmp(name, "DESK_UNKNOWN") != 0,
                "status %d is named %s", s, name);
        CHECK(strcmp(desk_strerror((enum desk_status)s), "unknown status") != 0,
                "status %d has a sentence", s);
        for (int k = 0; k < s; k++)
            CHECK(strcmp(seen[k], name) != 0, "statuses %d and %d share the name %s", k, s, name);
        seen[s] = name;
    }
    CHECK_STR(desk_status_name(DESK_OK), "DESK_OK");
    CHECK_STR(desk_status_name(DESK_ERR_UNAUTHORIZED), "DESK_ERR_UNAUTHORIZED");
    CHECK_STR(desk_status_name((enum desk_status)999), "DESK_UNKNOWN");
    CHECK_STR(desk_status_name((enum desk_status) - 1), "DESK_UNKNOWN");
    CHECK_STR(desk_strerror((enum desk_status)999), "unknown status");
    CHECK_INT(desk_version(), DESK_VERSION_NUM);
    CHECK_STR(desk_version_string(), DESK_VERSION_STRING);
    CHECK_STR(desk_image_format_name(DESK_IMAGE_WEBP), "webp");
    CHECK(desk_image_format_name((enum desk_image_format)7) == NULL, "unknown format has no name");
    CHECK_STR(desk_desktop_state_name(DESK_DESKTOP_PARTIAL), "partial");
    /* Every free accepts NULL. */
    desk_image_free(NULL);
    desk_display_info_free(NULL);
    desk_window_list_free(NULL);
    desk_processes_free(NULL);
    desk_vnc_free(NULL);
    desk_free(NULL);
}

static void test_error_replies(void) {
    static const struct {
        long http;
        enum desk_status st;
    } map[] = {{400, DESK_ERR_BAD_REQUEST}, {401, DESK_ERR_UNAUTHORIZED}, {404, DESK_ERR_NOT_FOUND},
            {405, DESK_ERR_METHOD}, {409, DESK_ERR_CONFLICT}, {413, DESK_ERR_BODY_TOO_LARGE},
            {500, DESK_ERR_SERVER}, {503, DESK_ERR_UNAVAILABLE}, {502, DESK_ERR_HTTP},
            {302, DESK_ERR_HTTP}, {418, DESK_ERR_HTTP}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        CHECK_INT(wire_http_status(map[i].http), map[i].st);

    const char *b401 = "{\"error\":\"missing or wrong bearer token\",\"code\":\"UNAUTHORIZED\"}";
    CHECK_INT(wire_error_reply(401, LIT(b401), &e), DESK_ERR_UNAUTHORIZED);
    CHECK_INT(e.status, DESK_ERR_UNAUTHORIZED);
    CHECK_INT(e.http, 401);
    CHECK_STR(e.msg, "missing or wrong bearer token");
    CHECK_STR(e.code, "UNAUTHORIZED");

    /* The code decides before the HTTP status: a 503 is not always a stopped desktop. */
    static const struct {
        const char *code;
        enum desk_status st;
    } codes[] = {{"NO_SPARE_KEYCODE", DESK_ERR_NO_KEYCODE}, {"INPUT_BUSY", DESK_ERR_BUSY},
            {"NOT_READY", DESK_ERR_NOT_READY}, {"CANCELLED", DESK_ERR_CANCELLED},
            {"SHUTTING_DOWN", DESK_ERR_SHUTTING_DOWN},
            {"DISPLAY_UNAVAILABLE", DESK_ERR_UNAVAILABLE}, {"SOMETHING_NEW", DESK_ERR_UNAVAILABLE}};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        char body[256];
        snprintf(body, sizeof body,
                "{\"error\":\"old\",\"message\":\"why\",\"code\":\"%s\",\"statusCode\":503,"
                "\"source\":\"DAYTONA_DAEMON\"}",
                codes[i].code);
        CHECK_INT(wire_error_reply(503, body, strlen(body), &e), codes[i].st);
        CHECK_STR(e.msg, "why");
        CHECK_STR(e.code, codes[i].code);
        CHECK(desk_strerror(codes[i].st)[0] &&
                        strcmp(desk_status_name(codes[i].st), "DESK_UNKNOWN"),
                "status %d has a name and a sentence", (int)codes[i].st);
    }

    /* A proxy's HTML page: the status and the start of the body, made printable. */
    const char *html = "<html>\r\n<body>Bad Gateway</body></html>";
    CHECK_INT(wire_error_reply(502, LIT(html), &e), DESK_ERR_HTTP);
    CHECK(strstr(e.msg, "HTTP 502") && strstr(e.msg, "<html>..<body>"), "502: %s", e.msg);
    CHECK_STR(e.code, "");

    CHECK_INT(wire_error_reply(503, "", 0, &e), DESK_ERR_UNAVAILABLE);
    CHECK(strstr(e.msg, "HTTP 503") && strstr(e.msg, "empty"), "empty 503: %s", e.msg);

    /* JSON, but "error" is not a sentence: the code is still kept. */
    CHECK_INT(wire_error_reply(400, LIT("{\"error\":5,\"code\":\"INVALID_PARAMETER\"}"), &e),
            DESK_ERR_BAD_REQUEST);
    CHECK(strstr(e.msg, "HTTP 400"), "400 with a number for error: %s", e.msg);
    CHECK_STR(e.code, "INVALID_PARAMETER");

    /* A long body: the message is cut, not overrun; the body need not be NUL-terminated. */
    char big[4096];
    memset(big, 'x', sizeof big);
    CHECK_INT(wire_error_reply(500, big, sizeof big, &e), DESK_ERR_SERVER);
    CHECK(strlen(e.msg) < sizeof e.msg && strstr(e.msg, "..."), "long body: %zu", strlen(e.msg));

    /* An over-long server sentence is truncated to the buffer. */
    char *longmsg = malloc(2100);
    strcpy(longmsg, "{\"error\":\"");
    memset(longmsg + 10, 'y', 2000);
    strcpy(longmsg + 2010, "\"}");
    CHECK_INT(wire_error_reply(400, LIT(longmsg), &e), DESK_ERR_BAD_REQUEST);
    CHECK_INT(strlen(e.msg), sizeof e.msg - 1);
    free(longmsg);

    /* wire_prefix keeps the prefix and cuts the end. */
    wire_fail(&e, DESK_ERR_PROTOCOL, "\"x\" is missing");
    wire_prefix(&e, "malformed reply to GET /p: ");
    CHECK_STR(e.msg, "malformed reply to GET /p: \"x\" is missing");
    memset(e.msg, 'z', sizeof e.msg - 1);
    e.msg[sizeof e.msg - 1] = '\0';
    wire_prefix(&e, "pre: ");
    CHECK(strncmp(e.msg, "pre: zz", 7) == 0 && strlen(e.msg) == sizeof e.msg - 1, "cut prefix");
}

static void test_point(void) {
    struct desk_point p = {-1, -1};
    CHECK_INT(wire_point(LIT("{\"x\":120,\"y\":-80}"), &e, &p), DESK_OK);
    CHECK(p.x == 120 && p.y == -80, "point %d,%d", p.x, p.y);
    /* Drag's answer carries more members; they are ignored. */
    CHECK_INT(
            wire_point(LIT("{\"x\":3,\"y\":4,\"from\":{\"x\":1,\"y\":2},\"to\":{\"x\":3,\"y\":4}}"),
                    &e, &p),
            DESK_OK);
    CHECK(p.x == 3 && p.y == 4, "drag point %d,%d", p.x, p.y);

    p = (struct desk_point){7, 7};
    CHECK_PROTO(wire_point(LIT("{\"x\":1.0,\"y\":2}"), &e, &p), "\"x\" is of another type");
    CHECK_PROTO(wire_point(LIT("{\"x\":1}"), &e, &p), "\"y\" is missing");
    CHECK_PROTO(wire_point(LIT("{\"x\":\"1\",\"y\":2}"), &e, &p), "\"x\"");
    CHECK_PROTO(wire_point(LIT("{\"x\":1099511627776,\"y\":2}"), &e, &p), "out of range");
    CHECK_PROTO(wire_point(LIT("<html>oops</html>"), &e, &p), "not JSON");
    CHECK_PROTO(wire_point(LIT("[1,2]"), &e, &p), "not an object");
    CHECK_PROTO(wire_point("", 0, &e, &p), "not JSON");
    CHECK_PROTO(wire_point(LIT("{\"x\":1,\"y\":2"), &e, &p), "not JSON");
    CHECK(p.x == 7 && p.y == 7, "a failed parse left the point alone");
    /* Not NUL-terminated: only len bytes are read. */
    const char buf[] = {'{', '"', 'x', '"', ':', '1', ',', '"', 'y', '"', ':', '2', '}', 'Z'};
    CHECK_INT(wire_point(buf, sizeof buf - 1, &e, &p), DESK_OK);

    CHECK_INT(wire_success(LIT("{\"success\":true}"), &e), DESK_OK);
    CHECK_PROTO(wire_success(LIT("{\"success\":false}"), &e), "false");
    CHECK_PROTO(wire_success(LIT("{\"success\":1}"), &e), "\"success\"");
    CHECK_INT(wire_object(LIT("{}"), &e), DESK_OK);
    CHECK_PROTO(wire_object(LIT("null"), &e), "not an object");
}

static void test_display_info(void) {
    struct desk_display_info *info = (void *)1;
    const char *good = "{\"displays\":[{\"id\":0,\"x\":0,\"y\":0,\"width\":1280,\"height\":720,"
                       "\"isActive\":true},{\"id\":1,\"x\":1280,\"y\":0,\"width\":800,"
                       "\"height\":600,\"isActive\":true}],\"primary_display\":{\"id\":0,\"x\":0,"
                       "\"y\":0,\"width\":1280,\"height\":720,\"isActive\":true},"
                       "\"total_displays\":2}";
    CHECK_INT(wire_display_info(LIT(good), &e, &info), DESK_OK);
    if (info) {
        CHECK_INT(info->count, 2);
        CHECK_INT(info->total, 2);
        CHECK(info->displays[1].x == 1280 && info->displays[1].width == 800 &&
                        info->displays[1].active,
                "second display");
        CHECK(info->primary.id == 0 && info->primary.height == 720, "primary");
    }
    desk_display_info_free(info);

    const char *empty = "{\"displays\":[],\"primary_display\":{\"id\":0,\"x\":0,\"y\":0,"
                        "\"width\":1,\"height\":1,\"isActive\":true},\"total_displays\":0}";
    CHECK_INT(wire_display_info(LIT(empty), &e, &info), DESK_OK);
    CHECK(info && info->count == 0 && info->displays == NULL, "empty list");
    desk_display_info_free(info);

    CHECK_PROTO(wire_display_info(LIT("{\"displays\":null}"), &e, &info), "\"displays\"");
    CHECK(info == NULL, "nothing returned on failure");
    const char *bad_item = "{\"displays\":[{\"id\":0,\"x\":0,\"y\":0,\"width\":1,\"height\":1,"
                           "\"isActive\":true},{\"id\":1,\"x\":0,\"y\":0,\"width\":1,"
                           "\"height\":1}],\"primary_display\":{},\"total_displays\":2}";
    CHECK_PROTO(wire_display_info(LIT(bad_item), &e, &info), "\"isActive\" is missing");
    CHECK(strstr(e.msg, "displays[1]"), "names the element: %s", e.msg);
    CHECK(info == NULL, "nothing returned on failure");
    const char *bad_prim = "{\"displays\":[],\"primary_display\":{\"id\":0},\"total_displays\":0}";
    CHECK_PROTO(wire_display_info(LIT(bad_prim), &e, &info), "primary_display");
    const char *no_total = "{\"displays\":[],\"primary_display\":{\"id\":0,\"x\":0,\"y\":0,"
                           "\"width\":1,\"height\":1,\"isActive\":true}}";
    CHECK_PROTO(wire_display_info(LIT(no_total), &e, &info), "\"total_displays\" is missing");
    CHECK_PROTO(wire_display_info(LIT("{\"displays\":[5],\"primary_display\":{}}"), &e, &info),
            "not an object");
}

static void test_windows(void) {
    struct desk_window_list *wl = NULL;
    const char *good = "{\"windows\":[{\"id\":10485763,\"title\":\"Gr\\u00fc\\u00dfe \\u2713\","
                       "\"x\":100,\"y\":50,\"width\":400,\"height\":300,\"isActive\":true,"
                       "\"pid\":4242},{\"id\":10485800,\"title\":\"\",\"x\":-5,\"y\":0,"
                       "\"width\":1,\"height\":1,\"isActive\":false,\"pid\":null}],\"count\":2}";
    CHECK_INT(wire_windows(LIT(good), &e, &wl), DESK_OK);
    if (wl && wl->count == 2) {
        CHECK_INT(wl->windows[0].id, 10485763);
        CHECK_STR(wl->windows[0].title, "Grüße ✓");
        CHECK(wl->windows[0].x == 100 && wl->windows[0].height == 300 && wl->windows[0].active,
                "first window geometry");
        CHECK_INT(wl->windows[0].pid, 4242);
        CHECK_STR(wl->windows[1].title, "");
        CHECK_INT(wl->windows[1].pid, 0);
        CHECK_INT(wl->windows[1].x, -5);
    } else {
        CHECK(false, "two windows: %s", e.msg);
    }
    desk_window_list_free(wl);

    CHECK_INT(wire_windows(LIT("{\"windows\":[],\"count\":0}"), &e, &wl), DESK_OK);
    CHECK(wl && wl->count == 0, "no windows");
    desk_window_list_free(wl);

    /* The second window is broken after the first was built: the first must not leak. */
    const char *second_bad = "{\"windows\":[{\"id\":1,\"title\":\"ok\",\"x\":0,\"y\":0,"
                             "\"width\":1,\"height\":1,\"isActive\":false,\"pid\":1},"
                             "{\"id\":2,\"title\":7,\"x\":0,\"y\":0,\"width\":1,\"height\":1,"
                             "\"isActive\":false,\"pid\":1}],\"count\":2}";
    CHECK_PROTO(wire_windows(LIT(second_bad), &e, &wl), "\"title\" is of another type");
    CHECK(strstr(e.msg, "windows[1]") && wl == NULL, "names windows[1]: %s", e.msg);
    const char *neg = "{\"windows\":[{\"id\":-1,\"title\":\"\",\"x\":0,\"y\":0,\"width\":1,"
                      "\"height\":1,\"isActive\":false,\"pid\":1}],\"count\":1}";
    CHECK_PROTO(wire_windows(LIT(neg), &e, &wl), "\"id\"");
    const char *miscount = "{\"windows\":[],\"count\":3}";
    CHECK_PROTO(wire_windows(LIT(miscount), &e, &wl), "\"count\" is 3");
    /* Daytona's shape: a null list is not an empty one. */
    CHECK_PROTO(wire_windows(LIT("{\"windows\":null,\"count\":0}"), &e, &wl), "\"windows\"");

    /* [ext] type and states; a server without them gives "". */
    const char *typed = "{\"windows\":[{\"id\":1,\"title\":\"t\",\"x\":0,\"y\":0,\"width\":1,"
                        "\"height\":1,\"isActive\":false,\"pid\":1,\"type\":\"dialog\","
                        "\"states\":[\"maximized\",\"above\"]}],\"count\":1}";
    CHECK_INT(wire_windows(LIT(typed), &e, &wl), DESK_OK);
    if (wl && wl->count == 1) {
        CHECK_STR(wl->windows[0].type, "dialog");
        CHECK_STR(wl->windows[0].states, "maximized,above");
    }
    desk_window_list_free(wl);
    CHECK_INT(wire_windows(LIT(good), &e, &wl), DESK_OK);
    if (wl && wl->count == 2)
        CHECK(!strcmp(wl->windows[0].type, "") && !strcmp(wl->windows[0].states, ""),
                "no type or states from a server that sends none");
    desk_window_list_free(wl);
    const char *bad_state = "{\"windows\":[{\"id\":1,\"title\":\"t\",\"x\":0,\"y\":0,"
                            "\"width\":1,\"height\":1,\"isActive\":false,\"pid\":1,"
                            "\"states\":[\"above\",3]}],\"count\":1}";
    CHECK_PROTO(wire_windows(LIT(bad_state), &e, &wl), "\"states\"");
}

static void test_processes(void) {
    struct desk_processes *ps = NULL;
    const char *good =
            "{\"message\":\"desktop started\",\"status\":{"
            "\"xvfb\":{\"running\":true,\"priority\":100,\"autoRestart\":true,\"pid\":11},"
            "\"xfce4\":{\"running\":true,\"priority\":200,\"autoRestart\":true,\"pid\":12},"
            "\"x11vnc\":{\"running\":false,\"priority\":300,\"autoRestart\":true,"
            "\"pid\":null},"
            "\"novnc\":{\"running\":true,\"priority\":400,\"autoRestart\":false,"
            "\"pid\":14}}}";
    CHECK_INT(wire_processes(LIT(good), &e, &ps), DESK_OK);
    if (ps && ps->count == 4) {
        CHECK_STR(ps->message, "desktop started");
        static const char *const order[] = {"xvfb", "xfce4", "x11vnc", "novnc"};
        for (int i = 0; i < 4; i++)
            CHECK_STR(ps->procs[i].name, order[i]);
        CHECK(ps->procs[0].running && ps->procs[0].pid == 11 && ps->procs[0].priority == 100,
                "xvfb");
        CHECK(!ps->procs[2].running && ps->procs[2].pid == -1, "x11vnc pid null is -1");
        CHECK(!ps->procs[3].auto_restart, "novnc autoRestart false");
    } else {
        CHECK(false, "four processes: %s", e.msg);
    }
    desk_processes_free(ps);

    /* Daytona's capitalised keys are what its own clients cannot read: rejected, named. */
    const char *capital = "{\"message\":\"m\",\"status\":{\"xvfb\":{\"Running\":true,"
                          "\"Priority\":100,\"AutoRestart\":true,\"Pid\":1}}}";
    CHECK_PROTO(wire_processes(LIT(capital), &e, &ps), "\"running\" is missing");
    CHECK(strstr(e.msg, "status.xvfb") && ps == NULL, "names status.xvfb: %s", e.msg);
    const char *later_bad = "{\"message\":\"m\",\"status\":{"
                            "\"xvfb\":{\"running\":true,\"priority\":100,\"autoRestart\":true,"
                            "\"pid\":1},\"xfce4\":{\"running\":true,\"priority\":200,"
                            "\"autoRestart\":true,\"pid\":\"12\"}}}";
    CHECK_PROTO(wire_processes(LIT(later_bad), &e, &ps), "status.xfce4");
    CHECK_PROTO(wire_processes(LIT("{\"message\":\"m\",\"status\":[]}"), &e, &ps), "\"status\"");
    CHECK_PROTO(wire_processes(LIT("{\"status\":{}}"), &e, &ps), "\"message\" is missing");
    CHECK_INT(wire_processes(LIT("{\"message\":\"\",\"status\":{}}"), &e, &ps), DESK_OK);
    CHECK(ps && ps->count == 0, "no processes");
    desk_processes_free(ps);
}

static void test_recordings(void) {
    struct desk_recording *r = NULL;
    const char *running = "{\"id\":\"6f1c\",\"fileName\":\"6f1c_session_20261130_004307.mp4\","
                          "\"filePath\":\"/r/6f1c_session_20261130_004307.mp4\","
                          "\"startTime\":\"2026-11-30T00:43:07.6696Z\",\"status\":\"recording\"}";
    CHECK_INT(wire_recording(LIT(running), &e, &r), DESK_OK);
    CHECK(r && r->state == DESK_RECORDING_ACTIVE && !r->end_time && r->duration_s < 0 &&
                    r->size_bytes < 0 && !r->reason,
            "a running recording has no end, duration or size");
    CHECK_STR(r ? r->file_path : NULL, "/r/6f1c_session_20261130_004307.mp4");
    desk_recording_free(r);
    const char *failed = "{\"recordings\":[{\"id\":\"a\",\"fileName\":\"a.mp4\","
                         "\"filePath\":\"/r/a.mp4\",\"startTime\":\"t0\",\"endTime\":\"t1\","
                         "\"status\":\"failed\",\"durationSeconds\":2.5,\"sizeBytes\":1234,"
                         "\"reason\":\"ffmpeg killed\"},{\"id\":\"b\",\"fileName\":\"b.mp4\","
                         "\"filePath\":\"/r/b.mp4\",\"startTime\":\"t\",\"endTime\":\"t\","
                         "\"status\":\"completed\",\"sizeBytes\":9}]}";
    struct desk_recording_list *l = NULL;
    CHECK_INT(wire_recordings(LIT(failed), &e, &l), DESK_OK);
    if (l && l->count == 2) {
        CHECK(l->items[0].state == DESK_RECORDING_FAILED && l->items[0].duration_s == 2.5 &&
                        l->items[0].size_bytes == 1234,
                "the failed one");
        CHECK_STR(l->items[0].reason, "ffmpeg killed");
        CHECK_STR(l->items[0].end_time, "t1");
        CHECK(l->items[1].state == DESK_RECORDING_COMPLETED && l->items[1].duration_s < 0,
                "a file from disk has no duration");
    } else {
        CHECK(false, "two recordings: %s", e.msg);
    }
    desk_recording_list_free(l);
    CHECK_PROTO(wire_recordings(LIT("{\"recordings\":[{\"id\":\"a\"}]}"), &e, &l),
            "\"fileName\" is missing");
    CHECK(l == NULL && strstr(e.msg, "recordings"), "names recordings: %s", e.msg);
    CHECK_PROTO(wire_recording(LIT("{\"id\":\"a\",\"fileName\":\"a\",\"filePath\":\"a\","
                                   "\"startTime\":\"t\",\"status\":\"paused\"}"),
                        &e, &r),
            "not a recording state");
    CHECK_INT(wire_recordings(LIT("{\"recordings\":[]}"), &e, &l), DESK_OK);
    CHECK(l && l->count == 0, "an empty list");
    desk_recording_list_free(l);
}

static void test_state_and_text(void) {
    enum desk_desktop_state s = DESK_DESKTOP_PARTIAL;
    CHECK_INT(wire_state(LIT("{\"status\":\"active\"}"), &e, &s), DESK_OK);
    CHECK_INT(s, DESK_DESKTOP_ACTIVE);
    CHECK_INT(wire_state(LIT("{\"status\":\"inactive\"}"), &e, &s), DESK_OK);
    CHECK_INT(s, DESK_DESKTOP_INACTIVE);
    CHECK_INT(wire_state(LIT("{\"status\":\"partial\"}"), &e, &s), DESK_OK);
    CHECK_INT(s, DESK_DESKTOP_PARTIAL);
    CHECK_PROTO(wire_state(LIT("{\"status\":\"Active\"}"), &e, &s), "\"Active\"");
    CHECK_PROTO(wire_state(LIT("{\"status\":true}"), &e, &s), "\"status\"");

    bool running = false;
    CHECK_INT(wire_running(LIT("{\"processName\":\"xvfb\",\"running\":true}"), &e, &running),
            DESK_OK);
    CHECK(running, "running");
    CHECK_PROTO(wire_running(LIT("{\"processName\":\"xvfb\",\"running\":\"yes\"}"), &e, &running),
            "\"running\"");
    CHECK_PROTO(wire_running(LIT("{\"running\":true}"), &e, &running), "\"processName\"");

    char *text = NULL;
    CHECK_INT(wire_text(LIT("{\"processName\":\"xvfb\",\"logs\":\"line 1\\nline 2\\n\"}"), "logs",
                      &e, &text),
            DESK_OK);
    CHECK_STR(text, "line 1\nline 2\n");
    free(text);
    CHECK_INT(wire_text(LIT("{\"processName\":\"xvfb\",\"errors\":\"\"}"), "errors", &e, &text),
            DESK_OK);
    CHECK_STR(text, "");
    free(text);
    CHECK_PROTO(wire_text(LIT("{\"processName\":\"xvfb\",\"logs\":null}"), "logs", &e, &text),
            "\"logs\"");
    CHECK(text == NULL, "nothing on failure");
    CHECK_INT(wire_text(LIT("{\"message\":\"restarted\",\"processName\":\"xvfb\"}"), "message", &e,
                      &text),
            DESK_OK);
    CHECK_STR(text, "restarted");
    free(text);

    struct desk_vnc *v = NULL;
    CHECK_INT(wire_vnc(LIT("{\"url\":\"http://127.0.0.1:6080/vnc.html\",\"password\":\"pw\"}"), &e,
                      &v),
            DESK_OK);
    CHECK(v && !strcmp(v->url, "http://127.0.0.1:6080/vnc.html") && !strcmp(v->password, "pw"),
            "vnc");
    desk_vnc_free(v);
    CHECK_PROTO(wire_vnc(LIT("{\"url\":\"u\"}"), &e, &v), "\"password\" is missing");
    CHECK(v == NULL, "nothing on failure");

    char *version = NULL;
    CHECK_INT(wire_health(LIT("{\"status\":\"ok\",\"version\":\"0.1.0\"}"), &e, &version), DESK_OK);
    CHECK_STR(version, "0.1.0");
    free(version);
    CHECK_INT(wire_health(LIT("{\"status\":\"ok\",\"version\":\"0.1.0\"}"), &e, NULL), DESK_OK);
    CHECK_PROTO(wire_health(LIT("{\"status\":\"down\",\"version\":\"1\"}"), &e, &version), "down");
}

static void test_image_json(void) {
    struct desk_image *img = NULL;
    const char *good = "{\"screenshot\":\"" PNG_B64 "\",\"cursorPosition\":{\"x\":5,\"y\":6},"
                       "\"sizeBytes\":12,\"width\":300,\"height\":200,\"format\":\"png\","
                       "\"region\":{\"x\":10,\"y\":20,\"width\":300,\"height\":200},"
                       "\"size_bytes\":12}";
    CHECK_INT(wire_image_json(LIT(good), &e, &img), DESK_OK);
    if (img) {
        CHECK_INT(img->size, 12);
        CHECK(memcmp(img->data, "\x89PNG\r\n\x1a\nbody", 12) == 0, "decoded bytes");
        CHECK(img->width == 300 && img->height == 200 && img->format == DESK_IMAGE_PNG, "size");
        CHECK(img->region.x == 10 && img->region.y == 20 && img->region.width == 300, "region");
        CHECK(img->has_cursor && img->cursor.x == 5 && img->cursor.y == 6, "cursor");
    }
    desk_image_free(img);

    /* Compressed routes without showCursor carry no cursorPosition. */
    const char *nocur = "{\"screenshot\":\"" PNG_B64 "\",\"sizeBytes\":12,\"width\":1,"
                        "\"height\":1,\"format\":\"png\",\"region\":{\"x\":0,\"y\":0,"
                        "\"width\":1,\"height\":1}}";
    CHECK_INT(wire_image_json(LIT(nocur), &e, &img), DESK_OK);
    CHECK(img && !img->has_cursor, "no cursor");
    desk_image_free(img);

    /* The base64 is cut out of the text before parsing; a nested "screenshot" key met first
     * must not be taken for it, nor an escaped one. */
    const char *nested = "{\"meta\":{\"screenshot\":\"QUJD\"}, \"screenshot\" : \"" PNG_B64
                         "\",\"sizeBytes\":12,\"width\":1,\"height\":1,\"format\":\"png\","
                         "\"region\":{\"x\":0,\"y\":0,\"width\":1,\"height\":1}}";
    CHECK_INT(wire_image_json(LIT(nested), &e, &img), DESK_OK);
    CHECK(img && img->size == 12 && memcmp(img->data, "\x89PNG", 4) == 0,
            "the top-level screenshot is decoded, not the nested one");
    desk_image_free(img);
    const char *escaped = "{\"screenshot\":\"" PNG_B64 "\\u0041\",\"sizeBytes\":12,"
                          "\"width\":1,\"height\":1,\"format\":\"png\","
                          "\"region\":{\"x\":0,\"y\":0,\"width\":1,\"height\":1}}";
    CHECK_PROTO(wire_image_json(LIT(escaped), &e, &img), "base64");

    static const struct {
        const char *json, *needle;
    } bad[] = {
            {"{\"screenshot\":\"@@@@\",\"sizeBytes\":3,\"width\":1,\"height\":1,\"format\":\"png\","
             "\"region\":{\"x\":0,\"y\":0,\"width\":1,\"height\":1}}",
                    "base64"},
            {"{\"screenshot\":\"" PNG_B64 "\",\"sizeBytes\":13,\"width\":1,\"height\":1,"
             "\"format\":\"png\",\"region\":{\"x\":0,\"y\":0,\"width\":1,\"height\":1}}",
                    "\"sizeBytes\" is 13"},
            {"{\"screenshot\":\"" PNG_B64 "\",\"sizeBytes\":12,\"width\":1,\"height\":1,"
             "\"format\":\"gif\",\"region\":{\"x\":0,\"y\":0,\"width\":1,\"height\":1}}",
                    "\"gif\""},
            {"{\"screenshot\":\"" PNG_B64 "\",\"sizeBytes\":12,\"width\":1,\"height\":1,"
             "\"format\":\"jpeg\",\"region\":{\"x\":0,\"y\":0,\"width\":1,\"height\":1}}",
                    "not a jpeg file"},
            {"{\"screenshot\":\"" PNG_B64 "\",\"sizeBytes\":12,\"width\":0,\"height\":1,"
             "\"format\":\"png\",\"region\":{\"x\":0,\"y\":0,\"width\":1,\"height\":1}}",
                    "not positive"},
            {"{\"screenshot\":\"" PNG_B64 "\",\"sizeBytes\":12,\"width\":1,\"height\":1,"
             "\"format\":\"png\"}",
                    "\"region\" is missing"},
            {"{\"screenshot\":\"" PNG_B64 "\",\"sizeBytes\":12,\"width\":1,\"height\":1,"
             "\"format\":\"png\",\"region\":{\"x\":0,\"y\":0,\"width\":1}}",
                    "in region"},
            {"{\"screenshot\":\"" PNG_B64 "\",\"sizeBytes\":12,\"width\":1,\"height\":1,"
             "\"format\":\"png\",\"region\":{\"x\":0,\"y\":0,\"width\":1,\"height\":1},"
             "\"cursorPosition\":{\"x\":1}}",
                    "cursorPosition"},
            {"{\"screenshot\":null}", "\"screenshot\""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        img = (void *)1;
        CHECK_PROTO(wire_image_json(LIT(bad[i].json), &e, &img), bad[i].needle);
        CHECK(img == NULL, "case %zu returned an image", i);
    }
}

static void test_image_binary(void) {
    static const unsigned char png[] = "\x89PNG\r\n\x1a\nrest";
    static const unsigned char jpg[] = "\xff\xd8\xff\xe0rest";
    static const unsigned char webp[] = "RIFF\x10\0\0\0WEBPVP8 ";
    struct desk_image *img = NULL;
    struct wire_shot_headers h = {
            "image/jpeg", "640", "360", "0,0,1280,720", "320", "180", "1795999124925687"};

    unsigned char *data = malloc(sizeof jpg);
    memcpy(data, jpg, sizeof jpg);
    CHECK_INT(wire_image_binary(data, sizeof jpg - 1, &h, &e, &img), DESK_OK);
    if (img) {
        CHECK(img->data == data && img->size == sizeof jpg - 1, "the image took the buffer");
        CHECK(img->format == DESK_IMAGE_JPEG && img->width == 640 && img->height == 360, "jpeg");
        CHECK(img->region.width == 1280 && img->region.height == 720, "region");
        CHECK(img->has_cursor && img->cursor.x == 320 && img->cursor.y == 180, "cursor");
        CHECK(img->frame_id == 1795999124925687ULL && !img->unchanged, "frame id");
    } else {
        free(data);
    }
    desk_image_free(img);

    /* No cursor headers; negative region origin; media type parameters. */
    struct wire_shot_headers h2 = {
            "image/webp; q=1", "30", "40", "-10,-20,30,40", NULL, NULL, NULL};
    data = malloc(sizeof webp);
    memcpy(data, webp, sizeof webp);
    CHECK_INT(wire_image_binary(data, sizeof webp - 1, &h2, &e, &img), DESK_OK);
    CHECK(img && !img->has_cursor && img->region.x == -10 && img->region.y == -20 &&
                    img->format == DESK_IMAGE_WEBP,
            "webp with a negative origin");
    if (!img)
        free(data);
    desk_image_free(img);

    static const struct {
        struct wire_shot_headers h;
        const char *needle;
    } bad[] = {
            {{"text/html", "1", "1", "0,0,1,1", NULL, NULL, NULL}, "Content-Type"},
            {{NULL, "1", "1", "0,0,1,1", NULL, NULL, NULL}, "Content-Type"},
            {{"image/png", NULL, "1", "0,0,1,1", NULL, NULL, NULL}, "X-Desk-Width"},
            {{"image/png", "1x", "1", "0,0,1,1", NULL, NULL, NULL}, "X-Desk-Width"},
            {{"image/png", " 1", "1", "0,0,1,1", NULL, NULL, NULL}, "X-Desk-Width"},
            {{"image/png", "1", "99999999999", "0,0,1,1", NULL, NULL, NULL}, "X-Desk-Height"},
            {{"image/png", "1", "1", "0,0,1", NULL, NULL, NULL}, "X-Desk-Region"},
            {{"image/png", "1", "1", "0,0,1,1,1", NULL, NULL, NULL}, "X-Desk-Region"},
            {{"image/png", "1", "1", "0,,1,1", NULL, NULL, NULL}, "X-Desk-Region"},
            {{"image/png", "1", "1", "a,b,c,d", NULL, NULL, NULL}, "X-Desk-Region"},
            {{"image/png", "1", "1", NULL, NULL, NULL, NULL}, "X-Desk-Region"},
            {{"image/png", "1", "1", "0,0,1,1", "5", NULL, NULL}, "X-Desk-Cursor"},
            {{"image/png", "1", "1", "0,0,1,1", NULL, NULL, "12x"}, "X-Desk-Frame"},
            {{"image/png", "0", "1", "0,0,1,1", NULL, NULL, NULL}, "not positive"},
            {{"image/png", "1", "1", "0,0,0,1", NULL, NULL, NULL}, "not positive"},
            {{"image/jpeg", "1", "1", "0,0,1,1", NULL, NULL, NULL}, "not a jpeg file"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        data = malloc(sizeof png);
        memcpy(data, png, sizeof png);
        img = (void *)1;
        CHECK_PROTO(wire_image_binary(data, sizeof png - 1, &bad[i].h, &e, &img), bad[i].needle);
        CHECK(img == NULL, "case %zu returned an image", i);
        free(data); /* on failure the caller keeps the buffer */
    }
    /* A truncated body: too short for any signature. */
    data = malloc(2);
    memcpy(data, "\x89P", 2);
    struct wire_shot_headers h3 = {"image/png", "1", "1", "0,0,1,1", NULL, NULL, NULL};
    CHECK_PROTO(wire_image_binary(data, 2, &h3, &e, &img), "not a png file");
    free(data);

    /* A 304: no bytes, the frame from its header. */
    CHECK_INT(wire_image_unchanged("42", &e, &img), DESK_OK);
    CHECK(img && img->unchanged && !img->data && img->frame_id == 42, "unchanged image");
    desk_image_free(img);
    CHECK_PROTO(wire_image_unchanged(NULL, &e, &img), "X-Desk-Frame");
}

static void test_changes_and_wait(void) {
    struct desk_changes c;
    const char *ok = "{\"frameId\":1795999124925687,\"changed\":true,\"regions\":[{\"x\":1,"
                     "\"y\":2,\"width\":3,\"height\":4}],\"complete\":false}";
    CHECK_INT(wire_changes(ok, strlen(ok), &e, &c), DESK_OK);
    CHECK(c.frame_id == 1795999124925687ULL && c.changed && !c.complete && c.count == 1 &&
                    c.regions[0].x == 1 && c.regions[0].height == 4,
            "changes parsed");
    const char *bad = "{\"frameId\":1,\"changed\":true,\"regions\":[{\"x\":1}],\"complete\":true}";
    CHECK_PROTO(wire_changes(bad, strlen(bad), &e, &c), "regions");
    struct desk_wait_result w;
    const char *wt = "{\"frameId\":7,\"changed\":false,\"stable\":false,\"timedOut\":true,"
                     "\"waitedMs\":400,\"regions\":[]}";
    CHECK_INT(wire_wait(wt, strlen(wt), &e, &w), DESK_OK);
    CHECK(w.timed_out && !w.stable && !w.changed && w.waited_ms == 400 && w.changes.frame_id == 7 &&
                    w.changes.count == 0,
            "wait parsed");
    const char *wb = "{\"frameId\":7,\"changed\":false,\"regions\":[]}";
    CHECK_PROTO(wire_wait(wb, strlen(wb), &e, &w), "stable");
}

static void check_b64(const char *in, const char *want) {
    unsigned char *out = NULL;
    size_t n = 99;
    int rc = util_base64_decode(in, strlen(in), &out, &n);
    if (want) {
        CHECK(rc == 0 && n == strlen(want) && memcmp(out, want, n) == 0, "base64 \"%s\"", in);
    } else {
        CHECK(rc < 0 && out == NULL && n == 0, "base64 \"%s\" must be rejected", in);
    }
    free(out);
}

static void test_base64(void) {
    check_b64("", "");
    check_b64("Zg==", "f");
    check_b64("Zm8=", "fo");
    check_b64("Zm9v", "foo");
    check_b64("Zm9vYg==", "foob");
    check_b64("Zm9vYmE=", "fooba");
    check_b64("Zm9vYmFy", "foobar");
    check_b64("+/+/", "\xfb\xff\xbf");
    check_b64("Zg=", NULL);
    check_b64("Zg", NULL);
    check_b64("Z===", NULL);
    check_b64("====", NULL);
    check_b64("Zg==Zg==", NULL);
    check_b64("Zm9v\n", NULL);
    check_b64("Zm 9", NULL);
    check_b64("Zm-_", NULL); /* URL-safe alphabet is not what the server sends */
}

int main(void) {
    check_timeout(30);
    test_status_names();
    test_error_replies();
    test_point();
    test_display_info();
    test_windows();
    test_processes();
    test_recordings();
    test_state_and_text();
    test_image_json();
    test_image_binary();
    test_changes_and_wait();
    test_base64();
    return check_finish();
}
