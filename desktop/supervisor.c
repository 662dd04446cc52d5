/*
 * supervisor: the desktop's services as jobs, driven by the svc state
 * machine on the supervisor thread (jobs.c runs it and calls tick below).
 *
 * svc's operations spawn, signal and watch each service through the job
 * layer; a service's exit comes back through its job's exit callback. The
 * readiness probes run here with stk.lock released, so the status routes
 * and the operations never wait behind a probe: svc_tick marks what is due,
 * the probes run, svc_probed reports each.
 *
 * Each service keeps two log files for all its instances: NAME.log with
 * everything it wrote (stdout and stderr in the order they arrived) and
 * NAME.err.log with stderr alone. Every child carries
 * DESK_SERVICE=<deskd pid>.<random>:<name> in its environment, inherited by
 * everything it starts: stops reach strays that left the process group, and a
 * deskd that starts later recognises what a dead one left behind. deskd's own
 * DESK_* variables (the API token, the VNC password) are not passed on.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobs.h"
#include "log.h"
#include "stack-int.h"
#include "util.h"

static void service_exited(void *data, int id, int status);

static void free_env(char **env) {
    for (size_t k = 0; env && env[k]; k++)
        free(env[k]);
    free(env);
}

/* The environment of a service: ours without deskd's own settings, plus the desktop's. */
static char **make_env(const char *marker) {
    static const char *const drop[] = {"DESK_",
            "DISPLAY=", "DBUS_SESSION_BUS_ADDRESS=", "QT_LINUX_ACCESSIBILITY_ALWAYS_ON=",
            "SESSION_MANAGER=", "XDG_CONFIG_DIRS=", "XAUTHORITY=", "WAYLAND_DISPLAY="};
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 6, sizeof *env);
    if (!env)
        return NULL;
    size_t k = 0;
    for (size_t j = 0; j < n; j++) {
        bool keep = true;
        for (size_t d = 0; d < sizeof drop / sizeof drop[0] && keep; d++)
            keep = strncmp(environ[j], drop[d], strlen(drop[d])) != 0;
        if (keep)
            env[k++] = strdup(environ[j]);
    }
    const char *dirs = getenv("XDG_CONFIG_DIRS");
    if (asprintf(&env[k++], "DISPLAY=%s", stk.display) < 0 ||
            asprintf(&env[k++], "%s", marker) < 0 ||
            asprintf(&env[k++], "DBUS_SESSION_BUS_ADDRESS=%s", stk.session_bus) < 0 ||
            /* Qt exports its accessibility tree only when asked (GTK always does). */
            asprintf(&env[k++], "QT_LINUX_ACCESSIBILITY_ALWAYS_ON=1") < 0 ||
            asprintf(&env[k++], "XDG_CONFIG_DIRS=%s:%s", stk.dir.xdg_dir,
                    dirs && *dirs ? dirs : "/etc/xdg") < 0) {
        env[k - 1] = NULL; /* what the failed asprintf left there is undefined */
        free_env(env);
        return NULL;
    }
    env[k] = NULL;
    return env;
}

/* Runs on the supervisor thread, under stk.lock, from svc_tick. */
static int op_spawn(void *ctx, int i, pid_t *pid, char *err, size_t errlen) {
    (void)ctx;
    const struct service *sv = &services[i];
    struct stack_proc *p = &stk.procs[i];
    char file[PATH_MAX], other[PATH_MAX];
    /* A failure to start leaves no last words of an older instance in the message. */
    proc_log_mark(&p->err);
    const char *need[2] = {sv->exe, sv->also};
    for (int k = 0; k < 2 && need[k]; k++) {
        int rc = proc_which(need[k], stk.path_env, k ? other : file, PATH_MAX);
        if (rc < 0) {
            snprintf(err, errlen, "%s is %s (install the %s package)", need[k],
                    rc == -EACCES ? "not executable" : "missing: no such executable on PATH",
                    sv->package);
            return rc;
        }
    }
    int rc = sv->prepare ? sv->prepare(&stk.env, err, errlen) : 0;
    if (rc < 0)
        return rc;
    if (!p->logs_open) {
        if ((rc = proc_log_open(&p->log, p->log_path, STACK_LOG_CAP)) < 0 ||
                (rc = proc_log_open(&p->err, p->err_path, STACK_LOG_CAP)) < 0) {
            snprintf(err, errlen, "cannot open its log files in %s: %s", stk.dir.path,
                    strerror(-rc));
            proc_log_close(&p->log);
            return rc;
        }
        p->logs_open = true;
    }
    /* The previous instance's pipes drain into the same logs before they close. */
    jobs_release(p->job);
    p->job = 0;
    p->probe = (struct probe_state){0};
    struct job_spec spec = {
            .file = file,
            .argv = p->argv.argv,
            .envp = (const char *const *)p->envp,
            .dir = stk.dir.home[0] ? stk.dir.home : NULL,
            .log = &p->log,
            .err_log = &p->err,
            .marker = p->marker,
            .order = sv->priority,
            .on_exit = service_exited,
            .data = (void *)(intptr_t)i,
    };
    if ((rc = jobs_start(&spec, &p->job, err, errlen)) < 0)
        return rc;
    *pid = jobs_pid(p->job);
    return 0;
}

static void op_kill(void *ctx, int i, pid_t pgid, int sig) {
    (void)ctx;
    (void)pgid; /* the job's group */
    int strays = jobs_signal(stk.procs[i].job, sig);
    if (strays > 0)
        log_msg(LOG_INFO, "%s: signalled %d of its processes outside its process group",
                services[i].name, strays);
}

static bool op_alive(void *ctx, int i, pid_t pgid) {
    (void)ctx;
    (void)pgid;
    return jobs_alive(stk.procs[i].job);
}

static int64_t op_now(void *ctx) {
    (void)ctx;
    return util_mono_ms();
}

static const char *novnc_shown_host(void) {
    const char *h = stk.novnc_host;
    return !*h || strcmp(h, "0.0.0.0") == 0 || strcmp(h, "::") == 0 ? "localhost" : h;
}

static void op_event(void *ctx, int i, enum svc_event ev, const char *text) {
    (void)ctx;
    struct svc *v = &stk.sup.svcs[i];
    switch (ev) {
    case SVC_EV_SPAWNED:
        log_msg(LOG_INFO, "%s: started, %s", services[i].name, text);
        break;
    case SVC_EV_READY:
        log_msg(LOG_INFO, "%s: ready %s", services[i].name, text);
        if (!stk.announced && svc_mask(&stk.sup, SVC_READY) == services_all()) {
            stk.announced = true;
            fprintf(stderr,
                    "deskd: desktop ready on %s (%dx%d) %.1f s after deskd started; noVNC at "
                    "http://%s:%d/vnc.html (password: GET /computeruse/vnc)\n",
                    stk.display, stk.width, stk.height,
                    (double)(util_mono_ms() - stk.t_init) / 1000.0, novnc_shown_host(),
                    stk.vnc.novnc_port);
        }
        break;
    case SVC_EV_FAILED: {
        /* Its last line of stderr usually says why. */
        char last[PROC_LOG_LINE];
        snprintf(last, sizeof last, "%s", stk.procs[i].err.last);
        size_t el = strlen(v->error);
        /* Words before a SIGKILL say nothing about it. */
        if (last[0] && !strstr(v->error, "SIGKILL") && el + 20 < sizeof v->error)
            snprintf(v->error + el, sizeof v->error - el, " (its last words: \"%s\")", last);
        log_msg(LOG_WARN, "%s: %s%s", services[i].name, v->error,
                v->wanted ? "; it will be started again" : "");
        break;
    }
    case SVC_EV_EXITED:
        log_msg(LOG_INFO, "%s: %s, after its dependency went down", services[i].name, text);
        break;
    case SVC_EV_STOPPED:
        log_msg(LOG_INFO, "%s: stopped", services[i].name);
        if (services[i].stopped)
            services[i].stopped(&stk.env);
        /* Nothing of it is left: its job's pipes may close. */
        jobs_release(stk.procs[i].job);
        stk.procs[i].job = 0;
        break;
    case SVC_EV_KILLED:
        log_msg(LOG_WARN, "%s: %s; sent SIGKILL", services[i].name, text);
        break;
    case SVC_EV_STUCK:
        log_msg(LOG_ERROR, "%s: %s; giving up on it", services[i].name, text);
        break;
    }
}

/* ---- on the supervisor thread ---- */

/* A service's process was reaped (jobs.c reports exits reaped together in priority order). */
static void service_exited(void *data, int id, int status) {
    int i = (int)(intptr_t)data;
    pthread_mutex_lock(&stk.lock);
    if (stk.procs[i].job == id)
        svc_exited(&stk.sup, stk.sup.svcs[i].pid, status);
    stack_publish();
    pthread_cond_broadcast(&stk.changed);
    pthread_mutex_unlock(&stk.lock);
}

/*
 * The tick hook: advances the state machine, then runs the probes it asks
 * for with the lock released and reports them, until none is due.
 */
static int64_t tick(void *ctx) {
    (void)ctx;
    pthread_mutex_lock(&stk.lock);
    int64_t next = svc_tick(&stk.sup);
    for (unsigned due; (due = svc_probes_due(&stk.sup)) != 0;) {
        pid_t pids[SVC_MAX];
        for (int i = 0; i < services_n; i++)
            pids[i] = stk.sup.svcs[i].pid;
        stack_publish();
        pthread_cond_broadcast(&stk.changed);
        pthread_mutex_unlock(&stk.lock);
        int rc[SVC_MAX];
        char err[SVC_MAX][SVC_ERR_LEN];
        for (int i = 0; i < services_n; i++) {
            err[i][0] = '\0';
            /* The probe's state belongs to this thread, like the instance it probes. */
            if (due & (1u << i))
                rc[i] = services[i].probe(&stk.env, &stk.procs[i].probe, err[i], SVC_ERR_LEN);
        }
        pthread_mutex_lock(&stk.lock);
        for (int i = 0; i < services_n; i++) {
            if (due & (1u << i))
                svc_probed(&stk.sup, i, pids[i], rc[i], err[i]);
        }
        next = svc_tick(&stk.sup);
    }
    stack_publish();
    pthread_cond_broadcast(&stk.changed);
    pthread_mutex_unlock(&stk.lock);
    return next;
}

static void setup_proc(int i) {
    struct stack_proc *p = &stk.procs[i];
    const char *name = services[i].name;
    p->log.fd = p->err.fd = -1; /* not 0: a log never opened must not close stdin */
    snprintf(p->marker, sizeof p->marker, "DESK_SERVICE=%s:%s", stk.stack_id, name);
    snprintf(p->log_path, sizeof p->log_path, "%s/%s.log", stk.dir.logs_dir, name);
    snprintf(p->err_path, sizeof p->err_path, "%s/%s.err.log", stk.dir.logs_dir, name);
    /* Each run of deskd starts its logs afresh: a process that never ran has none. */
    const char *const paths[] = {p->log_path, p->err_path};
    for (int k = 0; k < 2; k++) {
        char old[PATH_MAX];
        unlink(paths[k]);
        snprintf(old, sizeof old, "%s.1", paths[k]);
        unlink(old);
    }
    services[i].argv(&stk.env, &p->argv);
}

int supervisor_init(bool autostart, char *err, size_t errlen) {
    /* Abstract: no socket file to outlive a killed bus, and no path length limit. */
    snprintf(
            stk.session_bus, sizeof stk.session_bus, "unix:abstract=desk-session-%s", stk.stack_id);
    snprintf(stk.bus_config, sizeof stk.bus_config, "%s/session-bus.conf", stk.dir.path);
    snprintf(stk.bus_config_arg, sizeof stk.bus_config_arg, "--config-file=%s", stk.bus_config);
    stk.env = (struct service_env){
            .session_bus = stk.session_bus,
            .bus_config = stk.bus_config,
            .bus_config_arg = stk.bus_config_arg,
            .bus_services = stk.dir.bus_services,
            .display = stk.display,
            .display_num = stk.display_num,
            .width = stk.width,
            .height = stk.height,
            .vnc = &stk.vnc,
            .password = stk.password,
    };
    services_defs(stk.defs);
    for (int i = 0; i < services_n; i++) {
        setup_proc(i);
        if (!(stk.procs[i].envp = make_env(stk.procs[i].marker))) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    struct svc_ops ops = {
            .ctx = NULL,
            .now = op_now,
            .spawn = op_spawn,
            .kill = op_kill,
            .alive = op_alive,
            .event = op_event,
    };
    svc_init(&stk.sup, stk.defs, services_n, &svc_default_policy, &ops);
    if (autostart)
        svc_start(&stk.sup, services_all());
    stack_publish();
    struct jobs_hooks hooks = {.tick = tick};
    if (jobs_init(&hooks, err, errlen) < 0)
        return -1;
    stk.running = true;
    return 0;
}

void supervisor_finish(void) {
    if (!stk.running)
        return;
    pthread_mutex_lock(&stk.lock);
    stk.quiescing = stk.quitting = true;
    svc_stop_all(&stk.sup);
    jobs_wake();
    /* svc gives up on what survives SIGKILL, so this ends. */
    while (svc_alive_mask(&stk.sup) != 0)
        pthread_cond_wait(&stk.changed, &stk.lock);
    pthread_mutex_unlock(&stk.lock);
    /* Whatever still carries our mark (it survived SIGKILL?) gets one more. */
    char prefix[80];
    snprintf(prefix, sizeof prefix, "DESK_SERVICE=%s:", stk.stack_id);
    pid_t left[64];
    int n = proc_find_marked(prefix, left, 64);
    for (int k = 0; k < n && k < 64; k++)
        kill(left[k], SIGKILL);
    if (n)
        log_msg(LOG_WARN, "%d desktop processes were still alive at exit; killed them", n);
    jobs_finish();
    stk.running = false;
    for (int i = 0; i < services_n; i++) {
        struct stack_proc *p = &stk.procs[i];
        proc_log_close(&p->log);
        proc_log_close(&p->err);
        free_env(p->envp);
        p->envp = NULL;
    }
}

/* ---- programs launched into the session ---- */

/* A copy of env (NULL-terminated) with room for extra more entries; NULL on OOM. */
static char **env_copy(char *const *env, const char *const *drop, size_t extra) {
    size_t n = 0;
    while (env[n])
        n++;
    char **out = calloc(n + extra + 1, sizeof *out);
    if (!out)
        return NULL;
    size_t k = 0;
    for (size_t j = 0; j < n; j++) {
        bool keep = true;
        for (size_t d = 0; drop && drop[d] && keep; d++)
            keep = strncmp(env[j], drop[d], strlen(drop[d])) != 0;
        if (keep && !(out[k++] = strdup(env[j]))) {
            free_env(out);
            return NULL;
        }
    }
    return out;
}

static bool env_has(char *const *env, const char *prefix) {
    for (size_t k = 0; env[k]; k++) {
        if (strncmp(env[k], prefix, strlen(prefix)) == 0)
            return true;
    }
    return false;
}

/* Appends "fmt..." to env (which has room); false on OOM. */
static bool env_add(char **env, const char *name, const char *value) {
    size_t k = 0;
    while (env[k])
        k++;
    return asprintf(&env[k], "%s=%s", name, value) >= 0 || (env[k] = NULL, false);
}

/* DBUS_SESSION_BUS_ADDRESS of a process of the running xfce4 session, into bus. */
static void session_bus(int x, char *bus, size_t len) {
    pid_t pids[64];
    int n = proc_find_marked(stk.procs[x].marker, pids, 64);
    bus[0] = '\0';
    for (int k = 0; k < n && k < 64 && !bus[0]; k++) {
        if (proc_environ_get(pids[k], "DBUS_SESSION_BUS_ADDRESS", bus, len) < 0)
            bus[0] = '\0';
    }
}

int stack_session(struct stack_session *s, char *err, size_t errlen) {
    *s = (struct stack_session){0};
    if (!stk.managed) {
        static const char *const drop[] = {"DESK_", "DISPLAY=", NULL};
        if (!(s->envp = env_copy(environ, drop, 2)) || !env_add(s->envp, "DISPLAY", stk.display))
            goto oom;
        s->dir = getenv("HOME");
        s->path = util_env_or("PATH", "/usr/local/bin:/usr/bin:/bin");
    } else {
        int x = stack_find("xfce4");
        pthread_mutex_lock(&stk.lock);
        bool up = x >= 0 && stk.procs[x].logs_open && stk.sup.svcs[x].pid > 0 &&
                  svc_mask(&stk.sup, SVC_READY) & (1u << x);
        pthread_mutex_unlock(&stk.lock);
        if (!up) {
            snprintf(err, errlen,
                    "the desktop session (xfce4) is not running; start it with POST "
                    "/computeruse/start");
            return -ENXIO;
        }
        char bus[512];
        session_bus(x, bus, sizeof bus);
        if (!(s->envp = env_copy(stk.procs[x].envp, NULL, 2)) ||
                (bus[0] && !env_add(s->envp, "DBUS_SESSION_BUS_ADDRESS", bus)))
            goto oom;
        /* Written once before any job, closed only after the last one ended. */
        s->log = &stk.procs[x].log;
        s->err = &stk.procs[x].err;
        s->dir = stk.dir.home[0] ? stk.dir.home : NULL;
        s->path = stk.path_env;
    }
    if (!env_has(s->envp, "LANG=") && !env_add(s->envp, "LANG", "C.UTF-8"))
        goto oom;
    return 0;
oom:
    stack_session_free(s);
    snprintf(err, errlen, "out of memory");
    return -ENOMEM;
}

void stack_session_free(struct stack_session *s) {
    free_env(s->envp);
    s->envp = NULL;
}
