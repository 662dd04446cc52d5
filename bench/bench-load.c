/*
 * bench-load: deskd under many clients at once, and over a long time.
 *
 * The concurrency table (default): for each client count (4, 16, 64, 256) as
 * many threads, each with its own libdesk handle (one kept-alive connection),
 * loop one route kind for --seconds: a quarter full-screen PNG screenshots
 * ("png"), a quarter mouse moves ("input"), a quarter pointer queries
 * ("query"), a quarter /healthz ("health"). Beside them, not counted among
 * them, two probes as an orchestrator's liveness probe is: GET /healthz on a
 * fresh connection every 20 ms, sent as kubelet sends it (Connection: close). "probe" runs at
 * normal priority, so it also waits for this process's own load threads, which share the machine's
 * cores here; "probe-rt" runs at real-time priority (SCHED_FIFO 1, where the system allows it), as
 * a probe from another machine or a kubelet with its own CPU does not wait for them: its time is
 * deskd's. Printed per count and kind: the requests, p50, p99 and max latency, errors (anything but
 * success and 503), 503s; per count, deskd's largest resident size and thread count seen.
 *
 * The storm (--storm N): see storm() below.
 *
 * The soak (--soak SECONDS): 16 clients of the same mix for that long; every
 * --sample seconds deskd's resident size, open file descriptors and threads
 * are printed, and at the end their growth from the first sample.
 */
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench-util.h"

/* The clients' kinds (NLOAD of them), then the probes, which are not among the clients. */
enum kind { K_PNG, K_INPUT, K_QUERY, K_HEALTH, NLOAD, K_PROBE = NLOAD, K_PROBE_RT, NKINDS };
static const char *const kind_name[NKINDS] = {
        "png", "input", "query", "health", "probe", "probe-rt"};

static struct {
    const char *deskd;
    int seconds, soak_s, sample_s, timeout_s, storm, storm_rounds;
    int counts[8], ncounts;
    bool keep_tmp;
} opt = {DESKD_PATH, 6, 0, 10, 900, 0, 20, {4, 16, 64, 256}, 4, false};

struct samples {
    pthread_mutex_t lock;
    double *ms[NKINDS];
    int n[NKINDS], cap[NKINDS];
    long errors[NKINDS], busy[NKINDS];
};

struct client {
    pthread_t th;
    const char *url;
    enum kind kind;
    int id;
    struct samples *s;
};

static atomic_bool stop;

static void add(struct samples *s, enum kind k, double ms, enum desk_status st, long http) {
    pthread_mutex_lock(&s->lock);
    if (st == DESK_OK) {
        if (s->n[k] == s->cap[k]) {
            int cap = s->cap[k] ? s->cap[k] * 2 : 1024;
            double *p = realloc(s->ms[k], sizeof *p * (size_t)cap);
            if (p)
                s->ms[k] = p, s->cap[k] = cap;
        }
        if (s->n[k] < s->cap[k])
            s->ms[k][s->n[k]++] = ms;
    } else if (http == 503) {
        s->busy[k]++;
    } else {
        s->errors[k]++;
    }
    pthread_mutex_unlock(&s->lock);
}

/* deskd's address (url is http://127.0.0.1:PORT) and kubelet's probe request for it. */
static struct sockaddr_in kube_target(const char *url, char *req, size_t len) {
    const char *port = strrchr(url, ':');
    snprintf(req, len,
            "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1%s\r\nUser-Agent: kube-probe/1.30\r\n"
            "Accept: */*\r\nConnection: close\r\n\r\n",
            port);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port + 1))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sa;
}

/*
 * One probe as kubelet sends it (a new connection, one request with
 * Connection: close, the answer read to the end, within 5 s): the status,
 * or -1.
 */
static long kube_probe(const struct sockaddr_in *sa, const char *req) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    long status = -1;
    if (fd < 0)
        return -1;
    char buf[1024];
    size_t n = 0;
    if (connect(fd, (const struct sockaddr *)sa, sizeof *sa) == 0 &&
            write(fd, req, strlen(req)) == (ssize_t)strlen(req)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        for (ssize_t r = 1; r > 0 && poll(&p, 1, 5000) == 1;) {
            r = read(fd, buf + n, n + 1 < sizeof buf ? sizeof buf - 1 - n : 0);
            n += r > 0 ? (size_t)r : 0;
            if (n + 1 >= sizeof buf)
                n = 0; /* only the status line matters; it was seen */
            buf[n] = '\0';
            if (status < 0)
                sscanf(buf, "HTTP/1.%*c %ld", &status);
        }
    }
    close(fd);
    return status;
}

/* The liveness probe: a fresh connection for each GET /healthz, one every 20 ms. */
static void *probe_loop(void *arg) {
    struct client *c = arg;
    if (c->kind == K_PROBE_RT) {
        struct sched_param sp = {.sched_priority = 1};
        int rc = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
        if (rc != 0) {
            static atomic_bool said;
            if (!atomic_exchange(&said, true))
                say("probe-rt: no real-time priority here (%s); that row is left out",
                        strerror(rc));
            return NULL;
        }
    }
    char req[256];
    struct sockaddr_in sa = kube_target(c->url, req, sizeof req);
    while (!atomic_load(&stop)) {
        double t0 = now_ms();
        long status = kube_probe(&sa, req);
        add(c->s, c->kind, now_ms() - t0, status == 200 ? DESK_OK : DESK_ERR_PROTOCOL, status);
        nap_ms(20);
    }
    return NULL;
}

static void *client_loop(void *arg) {
    struct client *c = arg;
    desk_client *h = bench_client(c->url);
    if (!h)
        return NULL;
    struct desk_compress png = {.format = DESK_IMAGE_PNG};
    for (unsigned i = 0; !atomic_load(&stop); i++) {
        double t0 = now_ms();
        enum desk_status st = DESK_OK;
        struct desk_point p;
        struct desk_image *img = NULL;
        switch (c->kind) {
        case K_PNG:
            st = desk_screenshot_compressed(h, &png, &img);
            desk_image_free(img);
            break;
        case K_INPUT:
            st = desk_mouse_move(
                    h, (int)((i * 37 + (unsigned)c->id * 11) % 600), (int)((i * 17) % 400), NULL);
            break;
        case K_QUERY:
            st = desk_mouse_position(h, &p);
            break;
        default:
            st = desk_health(h, NULL);
            break;
        }
        add(c->s, c->kind, now_ms() - t0, st, desk_last_http_status(h));
    }
    desk_client_free(h);
    return NULL;
}

static long proc_field(pid_t pid, const char *field) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long v = -1;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            v = strtol(line + n + 1, NULL, 10);
            break;
        }
    }
    if (f)
        fclose(f);
    return v;
}

static long open_fds(pid_t pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    long n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* n clients for seconds (the table) or the soak; returns 0, or -1 when deskd died. */
static int run_level(const char *url, struct kid *deskd, int n, int seconds, bool soak) {
    struct samples s = {.lock = PTHREAD_MUTEX_INITIALIZER};
    struct client *cl = calloc((size_t)n + 2, sizeof *cl);
    if (!cl)
        return -1;
    atomic_store(&stop, false);
    int started = 0;
    for (int i = 0; i < n + 2; i++) {
        enum kind k = i < n ? (enum kind)(i % NLOAD) : i == n ? K_PROBE : K_PROBE_RT;
        cl[i] = (struct client){.url = url, .kind = k, .id = i, .s = &s};
        if (pthread_create(&cl[i].th, NULL, i < n ? client_loop : probe_loop, &cl[i]) != 0)
            break;
        started++;
    }
    long rss_max = 0, thr_max = 0, first[3] = {-1, -1, -1};
    double end = now_ms() + seconds * 1000.0, next_sample = now_ms();
    while (now_ms() < end && kid_alive(deskd)) {
        long rss = rss_kib(deskd->pid), thr = proc_field(deskd->pid, "Threads");
        rss_max = rss > rss_max ? rss : rss_max;
        thr_max = thr > thr_max ? thr : thr_max;
        if (soak && now_ms() >= next_sample) {
            long fds = open_fds(deskd->pid);
            if (first[0] < 0)
                first[0] = rss, first[1] = fds, first[2] = thr;
            say("soak %5.0f s: RSS %ld KiB, %ld fds, %ld threads",
                    (now_ms() - (end - seconds * 1000.0)) / 1000.0, rss, fds, thr);
            next_sample += opt.sample_s * 1000.0;
        }
        nap_ms(100);
    }
    atomic_store(&stop, true);
    for (int i = 0; i < started; i++)
        pthread_join(cl[i].th, NULL);
    free(cl);
    bool alive = kid_alive(deskd);
    if (soak && alive) {
        long rss = rss_kib(deskd->pid), fds = open_fds(deskd->pid),
             thr = proc_field(deskd->pid, "Threads");
        say("soak end: RSS %ld KiB (%+ld), %ld fds (%+ld), %ld threads (%+ld)", rss, rss - first[0],
                fds, fds - first[1], thr, thr - first[2]);
    }
    for (int k = 0; k < NKINDS; k++) {
        if (!s.n[k] && !s.errors[k] && !s.busy[k])
            continue;
        qsort(s.ms[k], (size_t)s.n[k], sizeof(double), cmp_double);
        double p50 = s.n[k] ? percentile(s.ms[k], s.n[k], 0.50) : 0;
        double p99 = s.n[k] ? percentile(s.ms[k], s.n[k], 0.99) : 0;
        double max = s.n[k] ? s.ms[k][s.n[k] - 1] : 0;
        printf("| %4d | %-8s | %7d | %8.1f | %8.1f | %8.1f | %6ld | %6ld | %7ld | %4ld |\n", n,
                kind_name[k], s.n[k], p50, p99, max, s.errors[k], s.busy[k], rss_max / 1024,
                thr_max);
        free(s.ms[k]);
    }
    fflush(stdout);
    if (!alive)
        say("deskd died");
    return alive ? 0 : -1;
}

/*
 * The connect storm (--storm N): N connects started at once, a probe sent as
 * kubelet sends it right behind them, timed to its answer's end; then the N
 * closed and a pause. Repeated --rounds times; p50, p95 and max printed.
 */
static int storm(const char *url) {
    char req[256];
    struct sockaddr_in sa = kube_target(url, req, sizeof req);
    int *fd = calloc((size_t)opt.storm, sizeof *fd);
    double *ms = calloc((size_t)opt.storm_rounds, sizeof *ms);
    int failed = 0;
    for (int r = 0; fd && ms && r < opt.storm_rounds; r++) {
        for (int i = 0; i < opt.storm; i++) {
            fd[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
            if (fd[i] >= 0)
                (void)connect(fd[i], (struct sockaddr *)&sa, sizeof sa); /* EINPROGRESS */
        }
        double t0 = now_ms();
        failed += kube_probe(&sa, req) != 200;
        ms[r] = now_ms() - t0;
        for (int i = 0; i < opt.storm; i++)
            if (fd[i] >= 0)
                close(fd[i]);
        nap_ms(500); /* deskd drops the closed connections before the next round */
    }
    if (fd && ms) {
        double p50, p95;
        percentiles(ms, opt.storm_rounds, &p50, &p95);
        printf("| connects | rounds | probe p50 ms | p95 ms | max ms | failed "
               "|\n|---|---|---|---|---|---|\n"
               "| %d | %d | %.1f | %.1f | %.1f | %d |\n",
                opt.storm, opt.storm_rounds, p50, p95, ms[opt.storm_rounds - 1], failed);
    }
    free(fd);
    free(ms);
    return fd && ms ? 0 : -1;
}

static int bench(void) {
    char display[32], url[128], log[256];
    struct kid *x = start_xvfb(1280, 720, display, sizeof display);
    char **env = x ? env_build(display) : NULL;
    snprintf(log, sizeof log, "%s/deskd.log", tmpdir);
    struct kid *deskd = env ? start_deskd(opt.deskd, display, env, log, url, sizeof url) : NULL;
    int rc = -1;
    if (!deskd)
        goto out;
    say("deskd at %s on X %s (1280x720)", url, display);
    if (opt.soak_s) {
        rc = run_level(url, deskd, 16, opt.soak_s, true);
        goto out;
    }
    if (opt.storm) {
        rc = storm(url);
        goto out;
    }
    printf("| clients | kind | requests | p50 ms | p99 ms | max ms | errors | 503s | RSS MiB | "
           "threads |\n|---|---|---|---|---|---|---|---|---|---|\n");
    rc = 0;
    for (int i = 0; i < opt.ncounts && rc == 0; i++)
        rc = run_level(url, deskd, opt.counts[i], opt.seconds, false);
out:
    if (rc < 0 && deskd)
        print_file_tail(log, 4000);
    env_free(env);
    return rc;
}

static int worker(void) {
    if (!in_path("Xvfb")) {
        say("Xvfb is needed");
        return 1;
    }
    if (!in_path(opt.deskd)) {
        say("no deskd at %s (build it, or pass --deskd PATH)", opt.deskd);
        return 1;
    }
    return bench() < 0 ? 1 : 0;
}

static void usage(FILE *f) {
    fprintf(f, "usage: bench-load [options]\n"
               "  --deskd PATH       deskd to run (default: the one this build made)\n"
               "  --clients N,N,...  client counts of the table (default 4,16,64,256)\n"
               "  --seconds N        seconds per client count (default 6)\n"
               "  --soak SECONDS     instead: 16 clients for that long, sampling deskd\n"
               "  --sample N         seconds between soak samples (default 10)\n"
               "  --storm N          instead: N connects at once with a probe behind them\n"
               "  --rounds N         storm rounds (default 20)\n"
               "  --timeout SEC      stop everything after SEC seconds (default 900)\n"
               "  --keep-tmp         keep the temporary directory (logs)\n");
}

static int parse_args(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = true;
        if (strcmp(a, "--deskd") == 0 && v) {
            opt.deskd = v, i++;
        } else if (strcmp(a, "--clients") == 0 && v) {
            opt.ncounts = 0;
            char buf[128];
            snprintf(buf, sizeof buf, "%s", v);
            for (char *save = NULL, *t = strtok_r(buf, ",", &save); t && ok;
                    t = strtok_r(NULL, ",", &save))
                ok = opt.ncounts < 8 && parse_int(t, 1, 1000, &opt.counts[opt.ncounts++]) == 0;
            i++;
        } else if (strcmp(a, "--seconds") == 0 && v) {
            ok = parse_int(v, 1, 3600, &opt.seconds) == 0, i++;
        } else if (strcmp(a, "--soak") == 0 && v) {
            ok = parse_int(v, 1, 7 * 86400, &opt.soak_s) == 0, i++;
        } else if (strcmp(a, "--storm") == 0 && v) {
            ok = parse_int(v, 1, 900, &opt.storm) == 0, i++;
        } else if (strcmp(a, "--rounds") == 0 && v) {
            ok = parse_int(v, 1, 10000, &opt.storm_rounds) == 0, i++;
        } else if (strcmp(a, "--sample") == 0 && v) {
            ok = parse_int(v, 1, 3600, &opt.sample_s) == 0, i++;
        } else if (strcmp(a, "--timeout") == 0 && v) {
            ok = parse_int(v, 10, 8 * 86400, &opt.timeout_s) == 0, i++;
        } else if (strcmp(a, "--keep-tmp") == 0) {
            opt.keep_tmp = true;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        } else {
            ok = false;
        }
        if (!ok) {
            usage(stderr);
            return -1;
        }
    }
    if (opt.soak_s && opt.timeout_s < opt.soak_s + 120)
        opt.timeout_s = opt.soak_s + 120;
    return 0;
}

int main(int argc, char **argv) {
    bench_name = "bench-load";
    if (parse_args(argc, argv) < 0)
        return 2;
    return bench_supervise(worker, opt.timeout_s, opt.keep_tmp);
}
