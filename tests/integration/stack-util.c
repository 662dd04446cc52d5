/* stack-util (integration tests): free resources, deskd calls, /proc scans. */
#define _GNU_SOURCE
#include "stack-util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "http.h"

int64_t su_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int su_free_display(void) {
    /* High numbers: the other tests' X servers take the lowest free ones (-displayfd). */
    for (int k = 0; k < 400; k++) {
        int n = 200 + (int)((getpid() + k) % 400);
        char sock[64], lock[64];
        snprintf(sock, sizeof sock, "/tmp/.X11-unix/X%d", n);
        snprintf(lock, sizeof lock, "/tmp/.X%d-lock", n);
        if (access(sock, F_OK) != 0 && access(lock, F_OK) != 0)
            return n;
    }
    return -1;
}

int su_free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY)};
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        return -1;
    socklen_t sl = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    close(fd);
    return ntohs(sa.sin_port);
}

long su_call(const struct deskd_proc *d, const char *method, const char *path, const char *body,
        const char *content_type, json_t **json) {
    char url[512], ct[128];
    snprintf(url, sizeof url, "%s%s", d->url, path);
    snprintf(ct, sizeof ct, "Content-Type: %s", content_type ? content_type : "");
    const char *headers[] = {"Authorization: Bearer " SU_TOKEN, content_type ? ct : NULL, NULL};
    struct http_resp r;
    http_request(method, url, body, headers, &r);
    if (json)
        *json = r.status ? http_json(&r) : NULL;
    long status = r.status;
    http_resp_free(&r);
    return status;
}

const char *su_status(const struct deskd_proc *d) {
    static char buf[32];
    json_t *j = NULL;
    buf[0] = '\0';
    if (su_call(d, "GET", "/computeruse/status", NULL, NULL, &j) == 200) {
        const char *s = json_string_value(json_object_get(j, "status"));
        snprintf(buf, sizeof buf, "%s", s ? s : "");
    }
    json_decref(j);
    return buf;
}

pid_t su_pid_of(const struct deskd_proc *d, const char *name) {
    json_t *j = NULL;
    pid_t pid = 0;
    if (su_call(d, "POST", "/computeruse/start", NULL, NULL, &j) == 200) {
        json_t *p = json_object_get(json_object_get(json_object_get(j, "status"), name), "pid");
        pid = json_is_integer(p) ? (pid_t)json_integer_value(p) : 0;
    }
    json_decref(j);
    return pid;
}

long su_wait_status(const struct deskd_proc *d, const char *want, int timeout_ms) {
    int64_t t0 = su_ms();
    while (su_ms() - t0 < timeout_ms) {
        if (strcmp(su_status(d), want) == 0)
            return (long)(su_ms() - t0);
        struct timespec ts = {0, 20 * 1000 * 1000}; /* polling interval of a condition */
        nanosleep(&ts, NULL);
    }
    return -1;
}

long su_screenshot(const struct deskd_proc *d, struct image *img, char *err, size_t errlen) {
    char url[256];
    snprintf(url, sizeof url, "%s/computeruse/screenshot", d->url);
    const char *headers[] = {"Authorization: Bearer " SU_TOKEN, "Accept: image/png", NULL};
    struct http_resp r;
    memset(img, 0, sizeof *img);
    http_request("GET", url, NULL, headers, &r);
    long status = r.status;
    if (status == 200 && image_decode((const uint8_t *)r.body, r.len, img) != 0)
        status = -1;
    if (status != 200)
        snprintf(err, errlen, "%.300s", r.body ? r.body : "");
    http_resp_free(&r);
    return status;
}

long su_canvas_matches(const struct deskd_proc *d, json_t *samples, size_t *total) {
    struct image img;
    char err[400];
    *total = json_array_size(samples);
    if (su_screenshot(d, &img, err, sizeof err) != 200)
        return -1;
    json_t *smp;
    size_t k;
    long match = 0;
    json_array_foreach(samples, k, smp) {
        int sx = (int)json_integer_value(json_array_get(smp, 0));
        int sy = (int)json_integer_value(json_array_get(smp, 1));
        if (!img.rgb || sx < 0 || sy < 0 || sx >= img.width || sy >= img.height)
            continue;
        const uint8_t *p = image_px(&img, sx, sy);
        int diff = 0;
        for (int c = 0; c < 3; c++)
            diff += abs((int)json_integer_value(json_array_get(smp, 2 + (size_t)c)) - p[c]);
        match += diff <= 90;
    }
    image_free(&img);
    return match;
}

static ssize_t read_file(const char *path, char *buf, size_t len) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t got = 0;
    ssize_t r;
    while (got < len && (r = read(fd, buf + got, len - got)) > 0)
        got += (size_t)r;
    close(fd);
    return (ssize_t)got;
}

static bool is_zombie(pid_t pid) {
    char path[64], st[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    ssize_t n = read_file(path, st, sizeof st - 1);
    if (n <= 0)
        return true;
    st[n] = '\0';
    const char *p = strrchr(st, ')');
    return !p || p[2] == 'Z' || p[2] == 'X';
}

bool su_environ_has(pid_t pid, const char *needle) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
    static char buf[256 * 1024];
    ssize_t n = read_file(path, buf, sizeof buf);
    return n > 0 && memmem(buf, (size_t)n, needle, strlen(needle)) != NULL;
}

static int each_pid(pid_t *pids, int max) {
    DIR *d = opendir("/proc");
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d))) {
        char *end;
        long v = strtol(de->d_name, &end, 10);
        if (*end || v <= 0 || v == getpid())
            continue;
        if (n < max)
            pids[n] = (pid_t)v;
        n++;
    }
    if (d)
        closedir(d);
    return n < max ? n : max;
}

int su_marked(pid_t owner, pid_t *pids, int max) {
    static pid_t all[65536];
    int n = each_pid(all, 65536), k = 0;
    char needle[64];
    snprintf(needle, sizeof needle, "DESK_SERVICE=%d.", (int)owner);
    for (int i = 0; i < n; i++) {
        if (su_environ_has(all[i], needle) && !is_zombie(all[i])) {
            if (k < max)
                pids[k] = all[i];
            k++;
        }
    }
    return k;
}

static bool comm_is(pid_t pid, const char *comm) {
    char path[64], c[64];
    snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
    ssize_t r = read_file(path, c, sizeof c - 1);
    if (r <= 0)
        return false;
    c[r] = '\0';
    c[strcspn(c, "\n")] = '\0';
    return strcmp(c, comm) == 0;
}

int su_marked_comm(pid_t owner, const char *comm) {
    pid_t pids[1024];
    int n = su_marked(owner, pids, 1024), count = 0;
    for (int i = 0; i < n && i < 1024; i++)
        count += comm_is(pids[i], comm);
    return count;
}

pid_t su_marked_pid(pid_t owner, const char *comm) {
    pid_t pids[1024];
    int n = su_marked(owner, pids, 1024);
    for (int i = 0; i < n && i < 1024; i++) {
        if (comm_is(pids[i], comm))
            return pids[i];
    }
    return 0;
}

pid_t su_cmdline_has(const char *needle, bool exact, pid_t exclude) {
    static pid_t all[65536];
    int n = each_pid(all, 65536);
    for (int i = 0; i < n; i++) {
        char path[64], buf[8192];
        snprintf(path, sizeof path, "/proc/%d/cmdline", (int)all[i]);
        ssize_t r = read_file(path, buf, sizeof buf);
        for (ssize_t off = 0; r > 0 && off < r;) {
            size_t len = strnlen(buf + off, (size_t)(r - off));
            bool hit = exact ? len == strlen(needle) && memcmp(buf + off, needle, len) == 0
                             : len && memmem(buf + off, len, needle, strlen(needle));
            if (hit && all[i] != exclude && !is_zombie(all[i]))
                return all[i];
            off += (ssize_t)len + 1;
        }
    }
    return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void su_rm_rf(const char *dir) {
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int su_tmpdir(char *out, size_t len, const char *what) {
    snprintf(out, len, "/tmp/desk-%s-XXXXXX", what);
    return mkdtemp(out) ? 0 : -1;
}

int su_desktop_prepare(struct su_desktop *s, const char *what) {
    int display = su_free_display(), vnc = su_free_port(), novnc = su_free_port();
    CHECK(display > 0 && vnc > 0 && novnc > 0 && vnc != novnc, "free display and ports");
    if (display <= 0 || vnc <= 0 || novnc <= 0 || vnc == novnc ||
            su_tmpdir(s->top, sizeof s->top, what) < 0)
        return -1;
    snprintf(s->dpy, sizeof s->dpy, ":%d", display);
    snprintf(s->vnc, sizeof s->vnc, "%d", vnc);
    snprintf(s->novnc, sizeof s->novnc, "%d", novnc);
    snprintf(s->state, sizeof s->state, "%s/state", s->top);
    snprintf(s->home, sizeof s->home, "%s/home", s->top);
    CHECK(mkdir(s->home, 0700) == 0, "mkdir %s", s->home);
    setenv("DESK_ATTACH", "0", 1);
    setenv("HOME", s->home, 1);
    return 0;
}

char *su_run(const char *const *argv, int timeout_ms, int *status, size_t *outlen) {
    int p[2];
    *status = -1;
    if (pipe2(p, O_CLOEXEC) < 0)
        return NULL;
    pid_t pid = fork();
    if (pid < 0)
        return NULL;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(p[1], 1);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, 0);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(p[1]);
    size_t len = 0, cap = 1 << 16;
    char *out = malloc(cap);
    int64_t t0 = su_ms();
    bool eof = false;
    while (out && !eof) {
        int left = timeout_ms - (int)(su_ms() - t0);
        struct pollfd pfd = {.fd = p[0], .events = POLLIN};
        if (left <= 0 || poll(&pfd, 1, left) <= 0)
            break;
        if (len + 1 >= cap) {
            char *bigger = realloc(out, cap *= 2);
            if (!bigger)
                break;
            out = bigger;
        }
        ssize_t r = read(p[0], out + len, cap - 1 - len);
        if (r <= 0)
            eof = true;
        else
            len += (size_t)r;
    }
    close(p[0]);
    if (!eof)
        kill(pid, SIGKILL);
    int st = 0;
    waitpid(pid, &st, 0);
    if (!eof || !out) {
        free(out);
        return NULL;
    }
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    out[len] = '\0';
    if (outlen)
        *outlen = len;
    return out;
}
