/*
 * services: the desktop deskd supervises, as one table with one row per
 * process: its name, executables, Debian package, priority, what it runs
 * after and is bound to, its readiness timeout and probe, its command line,
 * and the hooks run before each start and after each stop. The supervisor,
 * the status routes and the tests read this table; a new process is a new
 * row.
 *
 * Pure data and functions of struct service_env: nothing here runs a
 * process, holds a lock or keeps state between calls (a probe's memory of
 * one instance is the caller's struct probe_state).
 */
#ifndef DESK_SERVICES_H
#define DESK_SERVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "probes.h"
#include "svc.h"
#include "vnc.h"

#define SERVICE_DEPS_MAX 4
#define SERVICE_ARGV_MAX VNC_ARGV_MAX

/* The configuration the hooks read, fixed once stack_init checked it. */
struct service_env {
    const char *display; /* ":N" */
    int display_num;
    int width, height;
    const struct vnc_config *vnc; /* ports, noVNC's host and files, the password file */
    const char *password;         /* the VNC password */
    /* The session's D-Bus: the address xfce4's bus listens on (also, and first, in every
     * service's DBUS_SESSION_BUS_ADDRESS), the bus configuration file that says so, and
     * "--config-file=<that file>" for dbus-run-session. */
    const char *session_bus;
    const char *bus_config;
    const char *bus_config_arg;
    const char *bus_services; /* a service directory searched before the standard ones */
};

/* A command line: argv points into store or into static strings. */
struct service_argv {
    const char *argv[SERVICE_ARGV_MAX]; /* NULL-terminated */
    struct vnc_argv vnc;
    char store[64];
};

struct service {
    const char *name;
    int priority; /* the rows are in priority order; a stop runs in reverse */
    /* Names of the services that must be ready before it starts. */
    const char *after[SERVICE_DEPS_MAX];
    /* Of those, the ones whose loss stops it (it starts again with them). */
    const char *bound[SERVICE_DEPS_MAX];
    int64_t ready_timeout_ms;
    const char *exe;     /* looked up on PATH before each start */
    const char *also;    /* another executable it needs, or NULL */
    const char *package; /* the Debian package(s) that have them */
    void (*argv)(const struct service_env *e, struct service_argv *out);
    /* Before each start: refuses (negative errno, err says why) when it cannot work. May be NULL.
     */
    int (*prepare)(const struct service_env *e, char *err, size_t errlen);
    /* 1 ready, 0 not yet, negative: never (err says why). Bounded in time; blocks. */
    int (*probe)(const struct service_env *e, struct probe_state *st, char *err, size_t errlen);
    /* After nothing of it is left. May be NULL. */
    void (*stopped)(const struct service_env *e);
    bool no_restart; /* see struct svc_def */
};

extern const struct service services[];
extern const int services_n;

/* The svc definitions of the table, with after and bound as index masks; defs holds SVC_MAX. */
void services_defs(struct svc_def *defs);
/* Bit i set for every service. */
unsigned services_all(void);
/* Index of the service called name, or -1. */
int services_find(const char *name);
/* "xvfb, xfce4, x11vnc, novnc" */
const char *services_names(void);

#endif
