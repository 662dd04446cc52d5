/*
 * api-ready: GET /readyz (API.md §17), the readiness probe orchestrators ask
 * before they send work: 200 {"status":"ready"} when the desktop is active
 * (attached: when the X display answers a round trip), else 503
 * {"status":"starting"|"degraded","processes":{NAME: ProcessStatus}}. It needs
 * no token (a probe carries none) and says nothing a token protects.
 *
 * "degraded" means this deskd has answered ready before and part of the
 * desktop is still up (a process died and the supervisor is bringing it
 * back); "starting" means it has not been ready yet, or nothing runs at all.
 * /healthz stays the liveness probe: a desktop being restarted is not ready,
 * but deskd is alive and must not be killed for it.
 */
#include <stdatomic.h>

#include "deskd.h"
#include "stack.h"
#include "xconn.h"

/* Set the first time the desktop is found ready. */
static atomic_bool was_ready;

/*
 * The desktop processes as ProcessStatus objects into *map and their number
 * into *n; returns how many are ready, or -1 when deskd manages none
 * (attached). The one reader of stack.h here.
 */
static int desktop_processes(json_t **map, int *n) {
    struct stack_status st[STACK_MAX];
    *n = stack_snapshot(st);
    int ready = 0;
    bool managed = false;
    *map = json_object();
    for (int i = 0; i < *n; i++) {
        ready += st[i].running;
        managed |= st[i].auto_restart;
        json_object_set_new(*map, st[i].name,
                json_pack("{s:b, s:i, s:b, s:o}", "running", st[i].running, "priority",
                        st[i].priority, "autoRestart", st[i].auto_restart, "pid",
                        st[i].pid > 0 ? json_integer(st[i].pid) : json_null()));
    }
    return managed ? ready : -1;
}

/* Attached: the X display takes a round trip on the query connection. */
static bool display_answers(struct deskd *d) {
    Display *dpy = xconn_lock(d->xquery, NULL, 0);
    if (!dpy)
        return false;
    XSync(dpy, False);
    bool dead = xconn_dead(d->xquery);
    xconn_unlock(d->xquery);
    return !dead;
}

static void api_readyz(struct req *r) {
    json_t *processes = NULL;
    int n = 0, ready = desktop_processes(&processes, &n);
    bool ok = ready < 0 ? display_answers(req_deskd(r))
                        : ready == n && !xconn_unresponsive(req_deskd(r)->display);
    if (ok) {
        atomic_store(&was_ready, true);
        json_decref(processes);
        reply_json(r, 200, json_pack("{s:s}", "status", "ready"));
        return;
    }
    /* Attached, a display that answered once and no longer does is degraded too. */
    bool partial = ready != 0;
    const char *status = atomic_load(&was_ready) && partial ? "degraded" : "starting";
    reply_json(r, 503, json_pack("{s:s, s:o}", "status", status, "processes", processes));
}

const struct route api_ready_routes[] = {
        {"GET", "/readyz", api_readyz, ROUTE_PUBLIC},
        {NULL, NULL, NULL, 0},
};
