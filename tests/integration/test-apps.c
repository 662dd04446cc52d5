/*
 * test-apps: launching applications into the real desktop (xfce4 under
 * deskd's supervision) and typing by paste into one:
 *
 * - xfce4-terminal launched with waitForWindow: its pid, its window (matched
 *   by _NET_WM_PID), the session's environment (DISPLAY, the xfce4 session's
 *   D-Bus address, the desktop's mark); the time from launch to window;
 * - "method": "paste" into the terminal (running tee into a file): the file
 *   gets exactly the text, non-ASCII included, and the clipboard afterwards
 *   holds what it held before;
 * - two launches with waitForWindow at once, the first a program whose window
 *   comes 4 s late: the second answers its own window (no 503 for the
 *   connection the first one's wait would hold), then the first its own;
 * - a launched program's output is in the desktop's log (xfce4's), and
 *   everything launched is gone after POST /computeruse/stop.
 *
 * Waits are polls of a condition with a limit, never fixed sleeps.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "stack-util.h"

static struct deskd_proc d;

static void sleep_ms(int ms) {
    struct timespec ts = {0, (long)ms * 1000000L};
    nanosleep(&ts, NULL);
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    char *buf = calloc(1, 65536);
    size_t n = fread(buf, 1, 65535, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static bool environ_entry(pid_t pid, const char *prefix) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    char *buf = calloc(1, 1 << 17);
    size_t n = fread(buf, 1, (1 << 17) - 1, f);
    fclose(f);
    bool found = false;
    for (size_t i = 0; i < n && !found; i += strlen(buf + i) + 1)
        found = strncmp(buf + i, prefix, strlen(prefix)) == 0;
    free(buf);
    return found;
}

static bool gone(pid_t pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    char *s = read_file(path);
    const char *p = s ? strrchr(s, ')') : NULL;
    bool g = !p || p[2] == 'Z' || p[2] == 'X';
    free(s);
    return g;
}

static int cmp_long(const void *a, const void *b) {
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

/* Launches xfce4-terminal running argv_tail (JSON list items) and waits for its window. */
static pid_t launch_terminal(const char *title, const char *tail, json_t **window, long *ms) {
    char body[1024];
    snprintf(body, sizeof body,
            "{\"argv\": [\"xfce4-terminal\", \"--disable-server\", \"--title\", \"%s\"%s%s], "
            "\"waitForWindow\": true, \"timeoutMs\": 20000}",
            title, tail ? ", " : "", tail ? tail : "");
    json_t *j = NULL;
    int64_t t0 = su_ms();
    long st = su_call(&d, "POST", "/computeruse/apps/launch", body, "application/json", &j);
    *ms = (long)(su_ms() - t0);
    CHECK_INT(st, 200);
    pid_t pid = (pid_t)json_integer_value(json_object_get(j, "pid"));
    if (window)
        *window = json_incref(json_object_get(j, "window"));
    if (st != 200)
        fprintf(stderr, "  launch: %s\n", json_dumps(j, 0));
    json_decref(j);
    return pid;
}

/* A launch on a thread of its own. */
struct launch {
    const char *body;
    long status;
    json_t *answer;
    pthread_t thread;
};

static void *launch_thread(void *arg) {
    struct launch *l = arg;
    l->status = su_call(
            &d, "POST", "/computeruse/apps/launch", l->body, "application/json", &l->answer);
    return NULL;
}

static long apps_count(void) {
    json_t *j = NULL;
    su_call(&d, "GET", "/computeruse/apps", NULL, NULL, &j);
    long n = (long)json_integer_value(json_object_get(j, "count"));
    json_decref(j);
    return n;
}

/*
 * Two waits for windows at once: the slow program's window comes 4 s after
 * its launch, longer than a request waits for an X connection (3 s). The
 * second launch, made while the first waits, answers its own window.
 */
static void launch_two_at_once(void) {
    long before = apps_count();
    struct launch slow = {.body = "{\"argv\": [\"sh\", \"-c\", \"sleep 4; exec xfce4-terminal "
                                  "--disable-server --title slow\"], \"waitForWindow\": true, "
                                  "\"timeoutMs\": 20000}"};
    CHECK(pthread_create(&slow.thread, NULL, launch_thread, &slow) == 0, "thread");
    /* The first launch waits for its window once its program is listed. */
    for (int waited = 0; apps_count() <= before && waited < 5000; waited += 20)
        sleep_ms(20);
    json_t *w = NULL;
    long ms;
    pid_t fast = launch_terminal("beside a slow one", NULL, &w, &ms);
    CHECK(fast > 0 && w && json_integer_value(json_object_get(w, "pid")) == fast,
            "the second launch answers its own window while the first waits (%ld ms)", ms);
    json_decref(w);
    pthread_join(slow.thread, NULL);
    CHECK_INT(slow.status, 200);
    json_t *sw = json_object_get(slow.answer, "window");
    CHECK(json_integer_value(json_object_get(sw, "pid")) ==
                            json_integer_value(json_object_get(slow.answer, "pid")) &&
                    strcmp(json_string_value(json_object_get(sw, "title")) ?: "", "slow") == 0,
            "the slow launch answers its own window");
    printf("launch beside a slow one: %ld ms\n", ms);
    json_decref(slow.answer);
}

int main(void) {
    check_timeout(300);
    check_require_tool("Xvfb");
    check_require_tool("xfce4-session");
    check_require_tool("xfce4-terminal");
    struct su_desktop s;
    if (su_desktop_prepare(&s, "apps") < 0)
        return check_finish();
    const char *args[] = {"--token", SU_TOKEN, "--display", s.dpy, "--vnc-port", s.vnc,
            "--novnc-port", s.novnc, "--state-dir", s.state, NULL};
    if (deskd_start(&d, s.dpy, args) < 0) {
        CHECK(0, "deskd started");
        return check_finish();
    }
    CHECK(su_wait_status(&d, "active", 90000) >= 0, "the desktop is up");

    /* Launch to window, three times. */
    long times[3];
    pid_t extra[2] = {0};
    for (int i = 0; i < 3; i++) {
        json_t *w = NULL;
        char title[32];
        snprintf(title, sizeof title, "launch %d", i);
        pid_t pid = launch_terminal(title, NULL, &w, &times[i]);
        CHECK(pid > 0 && w, "xfce4-terminal %d: pid and window", i);
        CHECK_INT(json_integer_value(json_object_get(w, "pid")), pid);
        CHECK_STR(json_string_value(json_object_get(w, "type")), "normal");
        json_decref(w);
        if (i < 2)
            extra[i] = pid;
        else
            CHECK(pid > 0 && gone(pid) == false, "it runs");
        if (i == 2 && pid > 0) {
            char path[64];
            snprintf(path, sizeof path, "/computeruse/apps/%d/kill", (int)pid);
            CHECK_INT(su_call(&d, "POST", path, NULL, NULL, NULL), 200);
            CHECK(gone(pid), "killed terminal %d is gone", (int)pid);
        }
    }
    qsort(times, 3, sizeof times[0], cmp_long);
    launch_two_at_once();
    printf("launch to window (xfce4-terminal): p50 %ld ms (of %ld, %ld, %ld)\n", times[1], times[0],
            times[1], times[2]);
    CHECK(environ_entry(extra[0], "DBUS_SESSION_BUS_ADDRESS="),
            "the terminal has the session's D-Bus address");
    CHECK(environ_entry(extra[0], "DESK_SERVICE="), "the terminal carries the desktop's mark");
    char want_display[32];
    snprintf(want_display, sizeof want_display, "DISPLAY=%s", s.dpy);
    CHECK(environ_entry(extra[0], want_display), "the terminal is on the desktop's display");

    /* Paste into a terminal that writes what it reads to a file. */
    char out_path[PATH_MAX], tail[PATH_MAX + 64];
    snprintf(out_path, sizeof out_path, "%s/pasted.txt", s.top);
    snprintf(tail, sizeof tail, "\"-x\", \"tee\", \"%s\"", out_path);
    json_t *w = NULL;
    long ms;
    pid_t term = launch_terminal("paste target", tail, &w, &ms);
    CHECK(term > 0 && w, "the tee terminal has a window");
    char path[96];
    snprintf(path, sizeof path, "/computeruse/windows/%lld/activate",
            (long long)json_integer_value(json_object_get(w, "id")));
    json_decref(w);
    CHECK_INT(su_call(&d, "POST", path, NULL, NULL, NULL), 200);
    CHECK_INT(su_call(&d, "POST", "/computeruse/clipboard", "{\"text\": \"before ✓\"}",
                      "application/json", NULL),
            200);
    /* Without a line break: xfce4-terminal asks before it pastes one (an "unsafe paste"). */
    const char *pasted = "héllo ✓ 日本語 pasted", *text = "héllo ✓ 日本語 pasted\n";
    json_t *body = json_pack(
            "{s:s, s:s, s:s}", "text", pasted, "method", "paste", "pasteKeys", "ctrl+shift+v");
    char *b = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    json_t *j = NULL;
    int64_t t0 = su_ms();
    long st = su_call(&d, "POST", "/computeruse/keyboard/type", b, "application/json", &j);
    CHECK(st == 200, "paste: %ld %s", st, json_string_value(json_object_get(j, "message")));
    printf("paste answered in %lld ms\n", (long long)(su_ms() - t0));
    json_decref(j);
    free(b);
    /* Enter: tee writes the line. */
    CHECK_INT(su_call(&d, "POST", "/computeruse/keyboard/key", "{\"key\": \"enter\"}",
                      "application/json", NULL),
            200);
    char *got = NULL;
    for (int waited = 0; waited < 10000; waited += 20) {
        free(got);
        got = read_file(out_path);
        if (got && strcmp(got, text) == 0)
            break;
        sleep_ms(20);
    }
    CHECK(got && strcmp(got, text) == 0, "the terminal got the pasted text: \"%s\"",
            got ? got : "(no file)");
    free(got);
    CHECK_INT(su_call(&d, "GET", "/computeruse/clipboard", NULL, NULL, &j), 200);
    CHECK_STR(json_string_value(json_object_get(j, "text")), "before ✓");
    json_decref(j);

    /* A launched program's output is in the desktop's log. */
    char exe[PATH_MAX], evlog[PATH_MAX + 16], launch[PATH_MAX + 128];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = '\0';
    *strrchr(exe, '/') = '\0';
    snprintf(evlog, sizeof evlog, "%s/../x11/evlog", exe);
    snprintf(launch, sizeof launch, "{\"argv\": [\"%s\", \"--title\", \"logged\"]}", evlog);
    CHECK_INT(su_call(&d, "POST", "/computeruse/apps/launch", launch, "application/json", &j), 200);
    pid_t ev = (pid_t)json_integer_value(json_object_get(j, "pid"));
    json_decref(j);
    bool logged = false;
    for (int waited = 0; !logged && waited < 10000; waited += 50) {
        j = NULL;
        su_call(&d, "GET", "/computeruse/process/xfce4/logs", NULL, NULL, &j);
        const char *logs = json_string_value(json_object_get(j, "logs"));
        logged = logs && strstr(logs, "ready 0x");
        json_decref(j);
        if (!logged)
            sleep_ms(50);
    }
    CHECK(logged, "evlog's output is in the desktop's log");

    /* Stop: everything launched is gone. */
    CHECK_INT(su_call(&d, "POST", "/computeruse/stop", NULL, NULL, NULL), 200);
    pid_t all[] = {extra[0], extra[1], term, ev};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        CHECK(all[i] > 0 && gone(all[i]), "launched program %d is gone after stop", (int)all[i]);
    /* Their exits are reported as they are reaped. */
    long count = -1;
    for (int waited = 0; count != 0 && waited < 5000; waited += 20) {
        j = NULL;
        su_call(&d, "GET", "/computeruse/apps", NULL, NULL, &j);
        count = (long)json_integer_value(json_object_get(j, "count"));
        json_decref(j);
        if (count)
            sleep_ms(20);
    }
    CHECK_INT(count, 0);
    /* And launching needs the desktop. */
    CHECK_INT(su_call(&d, "POST", "/computeruse/apps/launch", "{\"argv\": [\"true\"]}",
                      "application/json", NULL),
            503);

    CHECK_INT(deskd_stop(&d), 0);
    if (check_failed)
        deskd_dump_log(&d);
    else
        su_rm_rf(s.top);
    return check_finish();
}
