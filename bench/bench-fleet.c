/*
 * bench-fleet: how many desktops one machine holds. It starts N desktops at 1280x720 (one
 * container each from localhost/desk:latest, or plain supervising deskd processes with
 * --processes or when no container engine is installed), lets them settle, measures their
 * idle CPU, then drives each with one JPEG screenshot and one click per second (through
 * libdesk, one handle per desktop, the desktops' seconds staggered) and prints per N the
 * p50/p95 of both calls, CPU and memory per desktop. It adds desktops until a p95 passes
 * 100 ms, the memory left would not hold another step, or --max is reached.
 *
 * CPU is the desktop's whole share: a container's cgroup (cpuacct.usage) or, for a deskd
 * process, deskd and every process marked as its (DESK_SERVICE in /proc/PID/environ).
 * Memory is the cgroup's usage less its inactive file pages (what the kernel cannot just
 * drop), or the processes' summed PSS (shared pages split between their users).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "bench-util.h"

#define MAX_DESKTOPS 256
#define P95_LIMIT_MS 100.0

static struct {
    bool processes;
    int max, settle_s, idle_s, drive_s;
    int steps[32], nsteps;
    const char *image;
} opt = {false, 128, 10, 10, 30, {0}, 0, "localhost/desk:latest"};

struct desktop {
    char name[64], url[96], token[40];
    pid_t pid; /* deskd (processes) or the container's init, as the host sees it */
    char cpu_path[256], mem_dir[256];
    desk_client *c;
    double *shot_ms, *click_ms;
    int nshot, nclick, errors;
    double offset_ms; /* where in each second this desktop acts */
};

static struct desktop desks[MAX_DESKTOPS];
static int ndesks;
static char engine[16];
/* In every container name, so that what a run started can be found after it. */
static int run_id;

/* ---- starting desktops ---- */

/* The decimal number at s (after blanks), or -1 when there is none. */
static long long num(const char *s, char **end) {
    char *e;
    errno = 0;
    long long v = strtoll(s, &e, 10);
    if (end)
        *end = e;
    return e == s || errno ? -1 : v;
}

/* The cgroup v1 (or v2) directory of pid for a controller, under /sys/fs/cgroup. */
static bool cgroup_dir(pid_t pid, const char *controller, char *out, size_t len) {
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
    FILE *f = fopen(path, "r");
    bool found = false;
    while (f && !found && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *ctl = strchr(line, ':'), *p = ctl ? strchr(ctl + 1, ':') : NULL;
        if (!p)
            continue;
        *p++ = 0;
        ctl++;
        bool v2 = !*ctl;
        if (v2 || strstr(ctl, controller)) {
            snprintf(out, len, "/sys/fs/cgroup/%s%s", v2 ? "" : ctl, p);
            found = !v2 || access(out, R_OK) == 0;
        }
    }
    if (f)
        fclose(f);
    return found;
}

/* podman on a hybrid cgroup layout needs runc (crun refuses it); elsewhere, the default. */
static bool need_runc(void) {
    struct statfs fs;
    return strcmp(engine, "podman") == 0 && in_path("runc") &&
           !(statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC);
}

static int start_container(struct desktop *d, int i) {
    snprintf(d->name, sizeof d->name, "desk-fleet-%d-%d", run_id, i);
    snprintf(d->token, sizeof d->token, "fleet-%d-%d", (int)getpid(), i);
    char tokenenv[64];
    snprintf(tokenenv, sizeof tokenenv, "DESK_TOKEN=%s", d->token);
    const char *argv[24];
    int n = 0;
    argv[n++] = engine;
    if (need_runc()) {
        argv[n++] = "--runtime";
        argv[n++] = "runc";
    }
    const char *rest[] = {"run", "-d", "--name", d->name, "--ulimit=nofile=20000:20000",
            "--ulimit=nproc=16384:16384", "-e", tokenenv, "-e", "VNC_RESOLUTION=1280x720",
            opt.image, NULL};
    for (int k = 0; rest[k]; k++)
        argv[n++] = rest[k];
    argv[n] = NULL;
    char out[256];
    if (run_capture(argv, environ, out, sizeof out) != 0) {
        say("%s: could not start the container", d->name);
        return -1;
    }
    const char *insp[] = {engine, "inspect", "--format",
            "{{.State.Pid}} {{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", d->name,
            NULL};
    char *ip = NULL;
    long long pid = run_capture(insp, environ, out, sizeof out) == 0 ? num(out, &ip) : -1;
    if (pid <= 0 || *ip != ' ' || !ip[1])
        return -1;
    ip[1 + strcspn(ip + 1, " \n")] = 0;
    d->pid = (pid_t)pid;
    snprintf(d->url, sizeof d->url, "http://%.48s:2280", ip + 1);
    char dir[256];
    if (cgroup_dir(d->pid, "cpuacct", dir, sizeof dir))
        snprintf(d->cpu_path, sizeof d->cpu_path, "%.230s/cpuacct.usage", dir);
    else if (cgroup_dir(d->pid, "cpu", dir, sizeof dir))
        snprintf(d->cpu_path, sizeof d->cpu_path, "%.230s/cpu.stat", dir);
    cgroup_dir(d->pid, "memory", d->mem_dir, sizeof d->mem_dir);
    return 0;
}

/* A TCP port that was free a moment ago. */
static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
            getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* A supervising deskd on its own display and ports, with its own HOME and state directory. */
static int start_process(struct desktop *d, int i) {
    char dpy[16], vnc[16], novnc[16], home[160], state[160], log[160];
    /* A display with neither a socket nor a lock file. */
    for (int n = 500 + i; n < 6000; n += MAX_DESKTOPS) {
        char sock[64], lock[64];
        snprintf(sock, sizeof sock, "/tmp/.X11-unix/X%d", n);
        snprintf(lock, sizeof lock, "/tmp/.X%d-lock", n);
        snprintf(dpy, sizeof dpy, ":%d", n);
        if (access(sock, F_OK) != 0 && access(lock, F_OK) != 0)
            break;
    }
    snprintf(vnc, sizeof vnc, "%d", free_port());
    snprintf(novnc, sizeof novnc, "%d", free_port());
    snprintf(home, sizeof home, "%s/home-%d", tmpdir, i);
    snprintf(state, sizeof state, "%s/state-%d", tmpdir, i);
    snprintf(log, sizeof log, "%s/deskd-%d.log", tmpdir, i);
    mkdirs(home, 0700);
    snprintf(d->name, sizeof d->name, "deskd-%d", i);
    snprintf(d->token, sizeof d->token, "fleet-%d-%d", (int)getpid(), i);
    const char *argv[] = {DESKD_PATH, "--listen", "127.0.0.1:0", "--token", d->token, "--display",
            dpy, "--vnc-port", vnc, "--novnc-port", novnc, "--state-dir", state, "--resolution",
            "1280x720", NULL};
    char **env = env_build(NULL);
    for (int k = 0; env && env[k]; k++) {
        if (strncmp(env[k], "HOME=", 5) == 0) {
            free(env[k]);
            if (asprintf(&env[k], "HOME=%s", home) < 0)
                env[k] = strdup("HOME=/tmp");
        }
    }
    struct spawn_opts so = {.log = log, .out_fd = -1, .pass_fd = -1, .session = true};
    d->pid = spawn(argv, env, &so);
    env_free(env);
    if (d->pid < 0)
        return -1;
    /* Its URL, from its "listening on" line. */
    for (double t0 = now_ms(); now_ms() - t0 < 20000; nap_ms(20)) {
        FILE *f = fopen(log, "r");
        char line[512];
        while (f && fgets(line, sizeof line, f)) {
            char *p = strstr(line, "listening on http://");
            if (p) {
                p[strcspn(p, "\n")] = 0;
                snprintf(d->url, sizeof d->url, "%s", p + strlen("listening on "));
            }
        }
        if (f)
            fclose(f);
        if (*d->url)
            return 0;
    }
    say("%s: no listening line in %s", d->name, log);
    return -1;
}

/* Waits until the desktop's status is active; returns the ms waited, or -1. */
static double wait_active(struct desktop *d, int timeout_ms) {
    double t0 = now_ms();
    while (now_ms() - t0 < timeout_ms) {
        enum desk_desktop_state st = DESK_DESKTOP_INACTIVE;
        if (desk_computeruse_status(d->c, &st) == DESK_OK && st == DESK_DESKTOP_ACTIVE)
            return now_ms() - t0;
        nap_ms(100);
    }
    return -1;
}

static int add_desktops(int n) {
    int first = ndesks;
    for (int i = first; i < n; i++) {
        struct desktop *d = &desks[i];
        memset(d, 0, sizeof *d);
        if ((opt.processes ? start_process(d, i) : start_container(d, i)) < 0)
            return -1;
        ndesks = i + 1;
        if (!(d->c = bench_client(d->url)))
            return -1;
        desk_client_set_token(d->c, d->token);
        desk_client_set_binary_screenshots(d->c, true);
    }
    double t0 = now_ms();
    for (int i = first; i < n; i++) {
        if (wait_active(&desks[i], 180000) < 0) {
            say("%s: not active after 180 s", desks[i].name);
            return -1;
        }
    }
    say("%d desktop%s up (%d new, all active after %.1f s)", n, n == 1 ? "" : "s", n - first,
            (now_ms() - t0) / 1e3);
    return 0;
}

/* ---- measuring ---- */

static long long read_ll(const char *path, const char *key) {
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[256];
    long long v = -1;
    while (fgets(line, sizeof line, f)) {
        if (!key) {
            v = num(line, NULL);
            break;
        }
        size_t kl = strlen(key);
        if (strncmp(line, key, kl) == 0 && line[kl] == ' ') {
            v = num(line + kl + 1, NULL);
            break;
        }
    }
    fclose(f);
    return v;
}

/* Pids of deskd d->pid and of every process that carries its DESK_SERVICE mark. */
static int desktop_pids(const struct desktop *d, pid_t *out, int max) {
    char needle[48];
    int nl = snprintf(needle, sizeof needle, "DESK_SERVICE=%d.", (int)d->pid);
    int n = 0;
    out[n++] = d->pid;
    DIR *dir = opendir("/proc");
    struct dirent *e;
    while (dir && (e = readdir(dir)) && n < max) {
        long long pid = num(e->d_name, NULL);
        if (pid <= 0)
            continue;
        char path[64], buf[8192];
        snprintf(path, sizeof path, "/proc/%lld/environ", pid);
        int fd = open(path, O_RDONLY);
        ssize_t len = fd >= 0 ? read(fd, buf, sizeof buf) : -1;
        if (fd >= 0)
            close(fd);
        for (ssize_t i = 0; i + nl <= len; i += (ssize_t)strnlen(buf + i, (size_t)(len - i)) + 1) {
            if (memcmp(buf + i, needle, (size_t)nl) == 0) {
                out[n++] = (pid_t)pid;
                break;
            }
        }
    }
    if (dir)
        closedir(dir);
    return n;
}

/* CPU time the desktop has used, in ns. */
static double cpu_ns(const struct desktop *d) {
    if (*d->cpu_path) {
        if (strstr(d->cpu_path, "cpu.stat"))
            return (double)read_ll(d->cpu_path, "usage_usec") * 1e3;
        return (double)read_ll(d->cpu_path, NULL);
    }
    pid_t pids[512];
    int n = desktop_pids(d, pids, 512);
    double ticks = 0;
    for (int i = 0; i < n; i++) {
        char path[64], buf[1024];
        snprintf(path, sizeof path, "/proc/%d/stat", (int)pids[i]);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = 0;
        /* utime and stime: fields 14 and 15, the 12th and 13th after the ")" of comm. */
        char *p = strrchr(buf, ')');
        for (int k = 0; p && k < 12; k++)
            p = strchr(p + 1, ' ');
        char *e = NULL;
        long long ut = p ? num(p + 1, &e) : -1, st = ut >= 0 ? num(e, NULL) : -1;
        if (ut >= 0 && st >= 0)
            ticks += (double)(ut + st);
    }
    return ticks * 1e9 / (double)sysconf(_SC_CLK_TCK);
}

/* Memory the desktop holds, in bytes. */
static double mem_bytes(const struct desktop *d) {
    if (*d->mem_dir) {
        char usage[300], stat[300];
        snprintf(usage, sizeof usage, "%s/memory.usage_in_bytes", d->mem_dir);
        snprintf(stat, sizeof stat, "%s/memory.stat", d->mem_dir);
        long long u = read_ll(usage, NULL), inactive = read_ll(stat, "total_inactive_file");
        if (u < 0) { /* cgroup v2 */
            snprintf(usage, sizeof usage, "%s/memory.current", d->mem_dir);
            u = read_ll(usage, NULL);
            inactive = read_ll(stat, "inactive_file");
        }
        return (double)(u - (inactive > 0 ? inactive : 0));
    }
    pid_t pids[512];
    int n = desktop_pids(d, pids, 512);
    double kib = 0;
    for (int i = 0; i < n; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)pids[i]);
        long long pss = read_ll(path, "Pss:");
        kib += pss >= 0 ? (double)pss : (double)rss_kib(pids[i]);
    }
    return kib * 1024;
}

static double total_cpu_ns(void) {
    double s = 0;
    for (int i = 0; i < ndesks; i++)
        s += cpu_ns(&desks[i]);
    return s;
}

static double mem_available(void) {
    return (double)read_ll("/proc/meminfo", "MemAvailable:") * 1024;
}

/* ---- driving ---- */

static double drive_end_ms;

/* One desktop's agent: each second, a JPEG screenshot, then a click on the empty desktop. */
static void *drive(void *arg) {
    struct desktop *d = arg;
    struct desk_compress q = {.format = DESK_IMAGE_JPEG, .quality = 75};
    double start = now_ms() + d->offset_ms;
    for (int k = 0;; k++) {
        double at = start + k * 1000.0;
        if (at >= drive_end_ms)
            break;
        double wait = at - now_ms();
        if (wait > 0)
            nap_ms((int)wait);
        struct desk_image *img = NULL;
        double t0 = now_ms();
        if (desk_screenshot_compressed(d->c, &q, &img) == DESK_OK && img->width == 1280)
            d->shot_ms[d->nshot++] = now_ms() - t0;
        else
            d->errors++;
        desk_image_free(img);
        t0 = now_ms();
        if (desk_mouse_click(d->c, 640, 400, DESK_BUTTON_LEFT, false, NULL) == DESK_OK)
            d->click_ms[d->nclick++] = now_ms() - t0;
        else
            d->errors++;
    }
    return NULL;
}

struct step {
    int n;
    double shot50, shot95, click50, click95;
    double idle_cpu, busy_cpu; /* % of one core per desktop */
    double mem_mib;            /* per desktop */
    int errors;
};

/* Idle CPU of the desktops as they are, over opt.idle_s. */
static double idle_cpu_per_desktop(void) {
    double c0 = total_cpu_ns(), t0 = now_ms();
    nap_ms(opt.idle_s * 1000);
    double c1 = total_cpu_ns(), t1 = now_ms();
    return (c1 - c0) / 1e6 / (t1 - t0) * 100.0 / ndesks;
}

static int measure(struct step *st) {
    st->n = ndesks;
    nap_ms(opt.settle_s * 1000);
    st->idle_cpu = idle_cpu_per_desktop();
    int cap = opt.drive_s + 2;
    double *all_shot = calloc((size_t)cap * ndesks, sizeof(double));
    double *all_click = calloc((size_t)cap * ndesks, sizeof(double));
    pthread_t th[MAX_DESKTOPS];
    if (!all_shot || !all_click) {
        free(all_shot);
        free(all_click);
        return -1;
    }
    for (int i = 0; i < ndesks; i++) {
        struct desktop *d = &desks[i];
        d->shot_ms = all_shot + (size_t)i * cap;
        d->click_ms = all_click + (size_t)i * cap;
        d->nshot = d->nclick = d->errors = 0;
        d->offset_ms = 1000.0 * i / ndesks;
    }
    double c0 = total_cpu_ns(), t0 = now_ms();
    drive_end_ms = t0 + opt.drive_s * 1000.0;
    int started = 0;
    while (started < ndesks && pthread_create(&th[started], NULL, drive, &desks[started]) == 0)
        started++;
    double mem = 0;
    nap_ms(opt.drive_s * 1000 / 2);
    for (int i = 0; i < ndesks; i++)
        mem += mem_bytes(&desks[i]);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    double c1 = total_cpu_ns(), t1 = now_ms();
    st->busy_cpu = (c1 - c0) / 1e6 / (t1 - t0) * 100.0 / ndesks;
    st->mem_mib = mem / ndesks / (1024.0 * 1024.0);
    /* Pack the samples of every desktop together for the percentiles. */
    int ns = 0, nc = 0;
    st->errors = 0;
    for (int i = 0; i < ndesks; i++) {
        memmove(all_shot + ns, desks[i].shot_ms, sizeof(double) * desks[i].nshot);
        ns += desks[i].nshot;
        memmove(all_click + nc, desks[i].click_ms, sizeof(double) * desks[i].nclick);
        nc += desks[i].nclick;
        st->errors += desks[i].errors;
    }
    percentiles(all_shot, ns, &st->shot50, &st->shot95);
    percentiles(all_click, nc, &st->click50, &st->click95);
    free(all_shot);
    free(all_click);
    return ns > 0 && nc > 0 ? 0 : -1;
}

static void print_row(const struct step *s) {
    printf("%4d  %8.1f %8.1f  %8.1f %8.1f  %8.1f %8.1f  %8.0f  %6d\n", s->n, s->shot50, s->shot95,
            s->click50, s->click95, s->busy_cpu, s->idle_cpu, s->mem_mib, s->errors);
    fflush(stdout);
}

/* ---- the run ---- */

static void stop_desktops(void) {
    for (int i = 0; i < ndesks; i++) {
        desk_client_free(desks[i].c);
        desks[i].c = NULL;
        if (!opt.processes) {
            const char *argv[] = {engine, "rm", "-f", "-t", "10", desks[i].name, NULL};
            char out[256];
            run_capture(argv, environ, out, sizeof out);
        }
    }
    if (opt.processes)
        stop_kids();
}

static int worker(void) {
    printf("%s: 1280x720 desktops as %s; per desktop each second: one JPEG q75 screenshot "
           "and one click (libdesk)\n",
            bench_name, opt.processes ? "deskd processes" : engine);
    printf("settle %d s, idle %d s, driven %d s per step; stop at p95 > %.0f ms, "
           "at --max %d, or when memory runs short\n",
            opt.settle_s, opt.idle_s, opt.drive_s, P95_LIMIT_MS, opt.max);
    printf("\n   N  shot p50 shot p95  clk p50  clk p95  cpu %%/d  idle %%/d  MiB/d  errors\n");
    struct step prev = {0};
    int rc = 0;
    for (int k = 0; k < opt.nsteps && opt.steps[k] <= opt.max; k++) {
        int n = opt.steps[k];
        /* Room for the new desktops, with 2 GiB to spare, judged by the last step. */
        double need = prev.n ? (n - prev.n) * prev.mem_mib * 1024 * 1024 * 1.5 : 0;
        if (prev.n && mem_available() - need < 2.0 * 1024 * 1024 * 1024) {
            say("stopping before N=%d: %.1f GiB available, about %.1f GiB needed", n,
                    mem_available() / (1 << 30), need / (1 << 30));
            break;
        }
        if (add_desktops(n) < 0) {
            rc = 1;
            break;
        }
        struct step st;
        if (measure(&st) < 0) {
            say("N=%d: no successful calls", n);
            rc = 1;
            break;
        }
        print_row(&st);
        prev = st;
        if (st.shot95 > P95_LIMIT_MS || st.click95 > P95_LIMIT_MS) {
            say("stopping: p95 passed %.0f ms at N=%d", P95_LIMIT_MS, n);
            break;
        }
    }
    stop_desktops();
    return rc;
}

static int parse_steps(const char *s) {
    opt.nsteps = 0;
    for (const char *p = s; *p && opt.nsteps < 32;) {
        long long v = num(p, NULL);
        if (v < 1 || v > MAX_DESKTOPS)
            return -1;
        opt.steps[opt.nsteps++] = (int)v;
        p += strcspn(p, ",");
        p += *p == ',';
    }
    return opt.nsteps ? 0 : -1;
}

static void usage(void) {
    fprintf(stderr, "usage: bench-fleet [--processes] [--max N] [--steps 1,2,4,...] "
                    "[--drive S] [--idle S] [--settle S] [--image NAME]\n");
}

int main(int argc, char **argv) {
    bench_name = "bench-fleet";
    parse_steps("1,2,4,8,12,16,24,32,48,64,80,96,128");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--processes") == 0) {
            opt.processes = true;
            continue;
        }
        bool ok = v != NULL;
        if (ok && strcmp(a, "--max") == 0)
            ok = parse_int(v, 1, MAX_DESKTOPS, &opt.max) == 0;
        else if (ok && strcmp(a, "--steps") == 0)
            ok = parse_steps(v) == 0;
        else if (ok && strcmp(a, "--drive") == 0)
            ok = parse_int(v, 2, 3600, &opt.drive_s) == 0;
        else if (ok && strcmp(a, "--idle") == 0)
            ok = parse_int(v, 1, 3600, &opt.idle_s) == 0;
        else if (ok && strcmp(a, "--settle") == 0)
            ok = parse_int(v, 0, 3600, &opt.settle_s) == 0;
        else if (ok && strcmp(a, "--image") == 0)
            opt.image = v;
        else
            ok = false;
        if (!ok) {
            usage();
            return 2;
        }
        i++;
    }
    if (!opt.processes) {
        snprintf(engine, sizeof engine, "%s", in_path("podman") ? "podman" : "docker");
        if (!in_path(engine)) {
            say("no container engine: measuring plain deskd processes");
            opt.processes = true;
        }
    }
    run_id = (int)getpid();
    int rc = bench_supervise(worker, 3 * 3600, false);
    if (!opt.processes) {
        /* Containers are not our children: remove any the worker could not (a signal). */
        char filter[64], out[4096];
        snprintf(filter, sizeof filter, "name=desk-fleet-%d-", run_id);
        const char *ps[] = {engine, "ps", "-aq", "--filter", filter, NULL};
        if (run_capture(ps, environ, out, sizeof out) == 0 && *out) {
            for (char *id = strtok(out, "\n"); id; id = strtok(NULL, "\n")) {
                const char *one[] = {engine, "rm", "-f", "-t", "5", id, NULL};
                char o2[256];
                run_capture(one, environ, o2, sizeof o2);
            }
        }
    }
    return rc;
}
