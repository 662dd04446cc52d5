/*
 * bench-a11y: times deskd's accessibility routes from the client's side (libdesk, one
 * kept-alive handle) on a real GTK desktop: Xvfb, a session bus, the AT-SPI bus launcher,
 * xfce4-terminal and the tests' GTK application (a11y-app), with deskd attached to it.
 *
 *   tree   GET a11y/tree of xfce4-terminal's pid (whole tree): nodes and ms
 *   find   POST a11y/find in the terminal: the terminal widget by role (walks the tree)
 *   invoke POST a11y/node/invoke on a11y-app's button (the app really clicks)
 *
 * Peers in the same run, in this process:
 *   libatspi   the same tree walked through libatspi (role, name, description, states,
 *              extents, action names, children): what an AT-SPI client library costs
 *   floor      one D-Bus round trip (GDBus GetRoleName on the button): the least any
 *              AT-SPI request can cost
 * ratio = peer p50 / deskd p50.
 *
 * It is a benchmark, not a test: it fails only when something cannot run.
 */
#define _GNU_SOURCE
#include <atspi/atspi.h>
#include <gio/gio.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench-util.h"

#ifndef DESKD_PATH
#define DESKD_PATH "deskd"
#endif
#ifndef A11Y_APP_PATH
#define A11Y_APP_PATH "a11y-app"
#endif
#define LAUNCHER "/usr/libexec/at-spi-bus-launcher"

static struct {
    int runs, warmup, timeout_s;
    bool keep_tmp;
} opt = {.runs = 50, .warmup = 3, .timeout_s = 600};

struct row {
    char name[64];
    double p50, p95;
    int n;
    char note[64];
};

static struct row rows[8];
static int nrows;

static void add_row(const char *name, double *s, int n, const char *note) {
    struct row *r = &rows[nrows++];
    snprintf(r->name, sizeof r->name, "%s", name);
    percentiles(s, n, &r->p50, &r->p95);
    r->n = n;
    snprintf(r->note, sizeof r->note, "%s", note ? note : "");
}

static int count_nodes(json_t *n) {
    int c = 1;
    json_t *k;
    size_t i;
    json_array_foreach(json_object_get(n, "children"), i, k) c += count_nodes(k);
    return c;
}

/* ---- the libatspi peer ---- */

static int atspi_walk(AtspiAccessible *a) {
    GError *e = NULL;
    int n = 1;
    g_free(atspi_accessible_get_role_name(a, &e));
    g_clear_error(&e);
    g_free(atspi_accessible_get_name(a, &e));
    g_clear_error(&e);
    g_free(atspi_accessible_get_description(a, &e));
    g_clear_error(&e);
    AtspiStateSet *ss = atspi_accessible_get_state_set(a);
    if (ss)
        g_object_unref(ss);
    AtspiComponent *c = atspi_accessible_get_component_iface(a);
    if (c) {
        AtspiRect *r = atspi_component_get_extents(c, ATSPI_COORD_TYPE_SCREEN, &e);
        g_clear_error(&e);
        g_free(r);
        g_object_unref(c);
    }
    AtspiAction *ac = atspi_accessible_get_action_iface(a);
    if (ac) {
        int na = atspi_action_get_n_actions(ac, &e);
        g_clear_error(&e);
        for (int i = 0; i < na; i++) {
            g_free(atspi_action_get_action_name(ac, i, &e));
            g_clear_error(&e);
        }
        g_object_unref(ac);
    }
    int kids = atspi_accessible_get_child_count(a, &e);
    g_clear_error(&e);
    for (int i = 0; i < kids; i++) {
        AtspiAccessible *k = atspi_accessible_get_child_at_index(a, i, &e);
        g_clear_error(&e);
        if (k) {
            n += atspi_walk(k);
            g_object_unref(k);
        }
    }
    return n;
}

static AtspiAccessible *atspi_app_of(pid_t pid) {
    AtspiAccessible *desktop = atspi_get_desktop(0);
    int n = atspi_accessible_get_child_count(desktop, NULL);
    AtspiAccessible *found = NULL;
    for (int i = 0; i < n && !found; i++) {
        AtspiAccessible *app = atspi_accessible_get_child_at_index(desktop, i, NULL);
        if (app && (pid_t)atspi_accessible_get_process_id(app, NULL) == pid)
            found = app;
        else if (app)
            g_object_unref(app);
    }
    g_object_unref(desktop);
    return found;
}

/* ---- the run ---- */

static char **env_with(char **env, const char *var) {
    size_t n = 0;
    while (env[n])
        n++;
    char **out = calloc(n + 2, sizeof *out);
    for (size_t i = 0; i < n; i++)
        out[i] = strdup(env[i]);
    out[n] = strdup(var);
    return out;
}

/* Waits until find with query matches at least once; its first match's id into id. */
static bool wait_node(desk_client *cl, const char *query, char *id, size_t idlen, int timeout_ms) {
    for (double end = now_ms() + timeout_ms; now_ms() < end; nap_ms(50)) {
        char *text = NULL;
        if (desk_a11y_find(cl, query, &text) != DESK_OK)
            continue;
        json_t *j = json_loads(text, 0, NULL);
        desk_free(text);
        json_t *m = json_array_get(json_object_get(j, "matches"), 0);
        if (m) {
            snprintf(id, idlen, "%s", json_string_value(json_object_get(m, "id")));
            json_decref(j);
            return true;
        }
        json_decref(j);
    }
    say("no node for %s within %d ms", query, timeout_ms);
    return false;
}

static int bench(void) {
    char display[16], busvar[300], bus[256], err[256];
    if (!start_xvfb(1280, 720, display, sizeof display))
        return -1;
    snprintf(bus, sizeof bus, "unix:path=%s/session-bus", tmpdir);
    snprintf(busvar, sizeof busvar, "DBUS_SESSION_BUS_ADDRESS=%s", bus);
    char **base = env_build(display);
    char **env = env_with(base, busvar);
    env_free(base);
    char log[128], addr_arg[300];
    snprintf(log, sizeof log, "%s/desktop.log", tmpdir);
    snprintf(addr_arg, sizeof addr_arg, "--address=%s", bus);
    const char *daemon[] = {"dbus-daemon", "--session", "--nofork", addr_arg, NULL};
    const char *launcher[] = {LAUNCHER, "--launch-immediately", NULL};
    if (!kid_start("dbus-daemon", daemon, env, log, -1))
        return -1;
    for (double end = now_ms() + 5000; access(bus + strlen("unix:path="), F_OK) != 0; nap_ms(10)) {
        if (now_ms() > end) {
            say("the session bus did not come up");
            return -1;
        }
    }
    if (!kid_start("at-spi-bus-launcher", launcher, env, log, -1))
        return -1;
    char deskd_log[128], url[128];
    snprintf(deskd_log, sizeof deskd_log, "%s/deskd.log", tmpdir);
    struct kid *deskd = start_deskd(DESKD_PATH, display, env, deskd_log, url, sizeof url);
    if (!deskd)
        return -1;
    desk_client *cl = bench_client(url);
    if (!cl)
        return -1;
    /* The bus answers (deskd's own probe of it) before the applications start. */
    char *text = NULL;
    for (double end = now_ms() + 10000; desk_a11y_tree(cl, "all", 0, 0, &text) != DESK_OK;
            nap_ms(50)) {
        if (now_ms() > end) {
            say("the accessibility bus did not answer: %s", bench_desk_error(cl, err, sizeof err));
            return -1;
        }
    }
    desk_free(text);
    const char *term[] = {"xfce4-terminal", "--disable-server", NULL};
    const char *app[] = {A11Y_APP_PATH, NULL};
    struct kid *tk = kid_start("xfce4-terminal", term, env, log, -1);
    struct kid *ak = kid_start("a11y-app", app, env, log, -1);
    if (!tk || !ak)
        return -1;
    char query[256], button[256], copy[256];
    snprintf(query, sizeof query,
            "{\"scope\":\"pid\",\"pid\":%d,\"name\":\"Press me\",\"nameMatch\":\"exact\"}",
            (int)ak->pid);
    if (!wait_node(cl, query, button, sizeof button, 20000))
        return -1;
    char find_q[256];
    snprintf(find_q, sizeof find_q, "{\"scope\":\"pid\",\"pid\":%d,\"role\":\"terminal\"}",
            (int)tk->pid);
    if (!wait_node(cl, find_q, copy, sizeof copy, 20000))
        return -1;

    int n = opt.runs;
    double *s = calloc((size_t)n, sizeof *s);
    int nodes = 0;
    bool truncated = false;
    for (int i = -opt.warmup; i < n; i++) {
        double t0 = now_ms();
        if (desk_a11y_tree(cl, "pid", tk->pid, -1, &text) != DESK_OK) {
            say("tree failed: %s", bench_desk_error(cl, err, sizeof err));
            return -1;
        }
        double ms = now_ms() - t0;
        if (i >= 0)
            s[i] = ms;
        json_t *j = json_loads(text, 0, NULL);
        nodes = count_nodes(json_object_get(j, "root"));
        truncated = json_is_true(json_object_get(j, "truncated"));
        json_decref(j);
        desk_free(text);
    }
    char note[64];
    snprintf(note, sizeof note, "%d nodes%s", nodes, truncated ? ", truncated" : "");
    add_row("deskd tree xfce4-terminal", s, n, note);

    for (int i = -opt.warmup; i < n; i++) {
        double t0 = now_ms();
        if (desk_a11y_find(cl, find_q, &text) != DESK_OK) {
            say("find failed: %s", bench_desk_error(cl, err, sizeof err));
            return -1;
        }
        if (i >= 0)
            s[i] = now_ms() - t0;
        desk_free(text);
    }
    add_row("deskd find (terminal, role terminal)", s, n, NULL);

    for (int i = -opt.warmup; i < n; i++) {
        double t0 = now_ms();
        if (desk_a11y_invoke(cl, button, NULL) != DESK_OK) {
            say("invoke failed: %s", bench_desk_error(cl, err, sizeof err));
            return -1;
        }
        if (i >= 0)
            s[i] = now_ms() - t0;
    }
    add_row("deskd invoke (a11y-app button)", s, n, NULL);

    /* Peers, in this process, on the same bus. */
    setenv("DBUS_SESSION_BUS_ADDRESS", bus, 1);
    setenv("DISPLAY", display, 1);
    if (atspi_init() < 0) {
        say("libatspi did not initialise");
        return -1;
    }
    atspi_set_timeout(5000, 5000);
    AtspiAccessible *tapp = atspi_app_of(tk->pid);
    if (!tapp) {
        say("libatspi does not see xfce4-terminal");
        return -1;
    }
    int anodes = 0;
    for (int i = -opt.warmup; i < n; i++) {
        double t0 = now_ms();
        anodes = atspi_walk(tapp);
        if (i >= 0)
            s[i] = now_ms() - t0;
    }
    snprintf(note, sizeof note, "%d nodes", anodes);
    add_row("libatspi walk xfce4-terminal", s, n, note);
    g_object_unref(tapp);

    GError *e = NULL;
    GDBusConnection *a11y = NULL;
    {
        GDBusConnection *session = g_dbus_connection_new_for_address_sync(bus,
                G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                        G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                NULL, NULL, &e);
        GVariant *r = session ? g_dbus_connection_call_sync(session, "org.a11y.Bus",
                                        "/org/a11y/bus", "org.a11y.Bus", "GetAddress", NULL,
                                        G_VARIANT_TYPE("(s)"), 0, 5000, NULL, &e)
                              : NULL;
        const char *addr = NULL;
        if (r)
            g_variant_get(r, "(&s)", &addr);
        if (addr)
            a11y = g_dbus_connection_new_for_address_sync(addr,
                    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                            G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                    NULL, NULL, &e);
        if (r)
            g_variant_unref(r);
        if (session)
            g_object_unref(session);
    }
    if (!a11y) {
        say("no connection to the accessibility bus: %s", e ? e->message : "?");
        return -1;
    }
    char *slash = strchr(button, '/');
    char *name = strndup(button, (size_t)(slash - 1 - button));
    for (int i = -opt.warmup; i < n; i++) {
        double t0 = now_ms();
        GVariant *r = g_dbus_connection_call_sync(a11y, name, slash, "org.a11y.atspi.Accessible",
                "GetRoleName", NULL, G_VARIANT_TYPE("(s)"), 0, 5000, NULL, &e);
        if (!r) {
            say("GetRoleName failed: %s", e->message);
            return -1;
        }
        g_variant_unref(r);
        if (i >= 0)
            s[i] = now_ms() - t0;
    }
    add_row("floor: one D-Bus round trip", s, n, NULL);
    free(name);
    g_object_unref(a11y);
    free(s);

    printf("\n== accessibility: %d timed requests after %d warm-up; ms at the client ==\n",
            opt.runs, opt.warmup);
    printf("%-40s %9s %9s  %s\n", "case", "p50", "p95", "note");
    for (int i = 0; i < nrows; i++)
        printf("%-40s %9.2f %9.2f  %s\n", rows[i].name, rows[i].p50, rows[i].p95, rows[i].note);
    printf("-- ratio libatspi walk p50 / deskd tree p50: %.2f\n", rows[3].p50 / rows[0].p50);
    printf("-- ratio floor p50 / deskd invoke p50: %.3f; deskd tree p50 per node: %.3f ms\n",
            rows[4].p50 / rows[2].p50, rows[0].p50 / (nodes ? nodes : 1));
    desk_client_free(cl);
    env_free(env);
    return 0;
}

static int worker(void) {
    static const char *const need[] = {"Xvfb", "dbus-daemon", "xfce4-terminal"};
    for (int i = 0; i < 3; i++) {
        if (!in_path(need[i])) {
            say("%s is needed", need[i]);
            return 1;
        }
    }
    if (access(LAUNCHER, X_OK) != 0) {
        say("%s is needed (at-spi2-core)", LAUNCHER);
        return 1;
    }
    return bench() < 0 ? 1 : 0;
}

int main(int argc, char **argv) {
    bench_name = "bench-a11y";
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--keep-tmp") == 0) {
            opt.keep_tmp = true;
        } else if (v && strcmp(argv[i], "-n") == 0 && parse_int(v, 1, 100000, &opt.runs) == 0) {
            i++;
        } else if (v && strcmp(argv[i], "--timeout") == 0 &&
                   parse_int(v, 10, 36000, &opt.timeout_s) == 0) {
            i++;
        } else {
            fprintf(stderr,
                    "usage: bench-a11y [-n RUNS (default 50)] [--timeout SEC] [--keep-tmp]\n");
            return 2;
        }
    }
    return bench_supervise(worker, opt.timeout_s, opt.keep_tmp);
}
