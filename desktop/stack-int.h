/*
 * stack-int: what stack.c (the operations), stack-config.c (the checked
 * configuration) and supervisor.c (the svc glue on the supervisor thread)
 * share. Not for other modules: they use stack.h.
 *
 * Locking: stk.lock guards sup, op*, quiescing, quitting and announced; it
 * is never held while a probe runs, but it is while a service is forked.
 * status_lock guards status[], the copy of the services' states that the
 * status routes read: stack_publish refreshes it under stk.lock before that
 * lock is released, so a reader never waits for a fork or a tick, and an
 * operation that saw the desktop ready answers after the copy shows it.
 * Lock order: stk.lock, then status_lock, then the job layer's.
 *
 * Per-service logs, probe states, job handles and command lines belong to
 * the supervisor thread. The rest is written once in stack_init, before any
 * thread runs, and only read after.
 */
#ifndef DESK_STACK_INT_H
#define DESK_STACK_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "gate.h"
#include "proc.h"
#include "services.h"
#include "stack.h"
#include "statedir.h"
#include "svc.h"
#include "vnc.h"

#define STACK_LOG_CAP ((size_t)512 * 1024)
#define NOVNC_WEB     "/usr/share/novnc"

enum stack_op { OP_NONE, OP_START, OP_STOP, OP_RESTART };

/* One per row of the services table. */
struct stack_proc {
    int job; /* the job of its current instance; 0: none (supervisor thread) */
    struct service_argv argv;
    char **envp;
    char marker[96]; /* DESK_SERVICE=<id>:<name> */
    struct proc_log log, err;
    bool logs_open;
    char log_path[600], err_path[600];
    struct probe_state probe;
};

struct stack_state {
    bool managed, running;
    char display[32];
    int display_num, width, height;
    struct vnc_config vnc;
    /* Between websockify and x11vnc: VNC authentication failures are rate-limited there. */
    struct vnc_gate *gate;
    char novnc_host[64];
    struct statedir dir;
    char password[VNC_PASSWORD_MAX + 1];
    char stack_id[48];
    char path_env[4096];
    char names[128];
    struct service_env env;
    char session_bus[128];
    char bus_config[480];
    char bus_config_arg[500];
    int64_t t_init;

    pthread_mutex_t lock;
    pthread_cond_t changed;
    bool quiescing, quitting, announced;
    struct svc_def defs[SVC_MAX];
    struct svc_sup sup;
    struct stack_proc procs[SVC_MAX];
    pthread_mutex_t status_lock;
    struct stack_status status[STACK_MAX];
    enum stack_op op;
    unsigned op_gen, preempted_gen;
    int op_target;
};

extern struct stack_state stk;

/* Copies the services' states into status[]. Under stk.lock. */
void stack_publish(void);
/* Checks c and fills stk's display, size, ports and noVNC host. 0, or -1 with a sentence. */
int stack_config_check(const struct stack_config *c, char *err, size_t errlen);
/* Prepares the services' environments, logs and marks, starts the supervisor thread. */
int supervisor_init(bool autostart, char *err, size_t errlen);
/* Stops the whole desktop, waits until nothing of it is left, ends the thread. */
void supervisor_finish(void);

#endif
