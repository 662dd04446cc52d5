/*
 * stack: the desktop deskd supervises — the rows of the services table
 * (services.c: xvfb, xfce4, x11vnc, novnc) — run as jobs of the supervisor
 * thread (jobs.c) and driven by the svc state machine (supervisor.c). The
 * process routes (api-process.c) call the operations below, which block until
 * the desktop is where they asked it to be.
 *
 * Attached mode (--attach) manages no desktop: the job layer's thread runs
 * only deskd's own children (ffmpeg for recordings, launched programs), the
 * status is "inactive" and start, stop and restart answer STACK_ATTACHED.
 *
 * deskd is made a child subreaper and the job layer reaps every child it
 * has: nothing else in deskd may fork and wait for a child of its own.
 */
#ifndef DESK_STACK_H
#define DESK_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* At most this many processes (svc.h's SVC_MAX). */
#define STACK_MAX 8

/* Strings are borrowed until stack_finish. */
struct stack_config {
    const char *display;    /* ":N" */
    const char *resolution; /* "WxH" */
    const char *vnc_port;   /* decimal */
    const char *novnc_port;
    const char *novnc_host;    /* "" for every interface */
    const char *state_dir;     /* NULL: $HOME/.desk */
    const char *vnc_password;  /* NULL: generated */
    const char *password_file; /* read the password from this file's first line */
    bool attach;
    bool autostart; /* bring the desktop up at once, not only on POST /computeruse/start */
};

/* Defaults and the environment: VNC_RESOLUTION, VNC_PORT, NO_VNC_PORT, DESK_STATE_DIR,
 * DESK_ATTACH=1, DESK_START=0, DESK_VNC_PASSWORD, DESK_NOVNC_HOST. */
void stack_config_defaults(struct stack_config *c);

/*
 * Checks the configuration, prepares the state directory and the password,
 * and (unless attached) starts the supervisor thread, then the desktop when
 * autostart is set (without waiting for it). Call from the main thread before
 * any other thread exists: it blocks SIGCHLD for the process. Returns 0, or -1
 * with a sentence in err.
 */
int stack_init(const struct stack_config *c, char *err, size_t errlen);
/* Wakes every waiting operation (they answer STACK_SHUTDOWN) and refuses new ones. */
void stack_quiesce(void);
/* Stops the whole desktop (reverse order, SIGTERM then SIGKILL) and ends the thread. */
void stack_finish(void);

enum stack_result {
    STACK_OK,
    STACK_CONFLICT,  /* another operation is running: 409 */
    STACK_ATTACHED,  /* deskd manages no processes: 409 */
    STACK_NOT_READY, /* something could not become ready: 503 */
    STACK_SHUTDOWN,  /* deskd is stopping: 503 */
};

/* Each returns when done; msg gets a sentence for every result but STACK_OK. */
enum stack_result stack_start(char *msg, size_t len);
enum stack_result stack_stop(char *msg, size_t len);
enum stack_result stack_restart(int i, char *msg, size_t len);

struct stack_status {
    const char *name;
    int priority;
    bool running; /* ready, and not being stopped */
    bool auto_restart;
    pid_t pid; /* 0 when no process */
};

/* Fills one entry per process, in priority order; returns how many. */
int stack_snapshot(struct stack_status out[STACK_MAX]);
/* Index of the process called name, or -1. */
int stack_find(const char *name);
const char *stack_name(int i);
/* "xvfb, xfce4, x11vnc, novnc" */
const char *stack_names(void);
/*
 * Its whole output, stdout and stderr in the order they arrived (errors:
 * stderr alone), as UTF-8; malloc'd; "" if it never ran; NULL on OOM.
 */
char *stack_log(int i, bool errors, size_t *len);
/*
 * The session bus address of the desktop (where org.a11y.Bus is found): the
 * one deskd gave xfce4's bus, or, attached, deskd's own DBUS_SESSION_BUS_ADDRESS
 * (NULL when it has none).
 */
const char *stack_session_bus(void);
/* The VNC password and the noVNC port and host; false when attached. */
bool stack_vnc(char *password, size_t len, int *novnc_port, const char **novnc_host);
/* x11vnc's port and password and noVNC's web files (for deskd's own bridge); false when attached.
 */
bool stack_rfb(int *vnc_port, char *password, size_t len, const char **web_dir);

/*
 * What a program launched into the desktop session (API.md §12) starts with:
 * the environment of the xfce4 session (DISPLAY, its session bus, its
 * DESK_SERVICE mark, so that stopping the desktop stops the program too; a
 * UTF-8 LANG when none is set), its log files and the desktop's HOME as the
 * working directory. Attached: deskd's environment with DISPLAY, no logs.
 */
struct proc_log;
struct stack_session {
    char **envp;                /* NULL-terminated; free with stack_session_free */
    struct proc_log *log, *err; /* the xfce4 session's logs (for the job layer), or NULL */
    const char *dir;            /* the desktop's HOME, or NULL */
    const char *path;           /* the PATH to find executables on */
};
/* Returns 0; -ENXIO when the desktop (xfce4) is not running, with a sentence; -ENOMEM. */
int stack_session(struct stack_session *s, char *err, size_t errlen);
void stack_session_free(struct stack_session *s);

#endif
