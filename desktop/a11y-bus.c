/*
 * a11y-bus: see a11y-bus.h.
 *
 * Connecting is asynchronous with a cancellable and a timer on a private
 * main context, because GDBus's synchronous connect has no timeout: a bus
 * daemon that accepted the socket and then stopped answering must not hold a
 * request thread forever.
 */
#define _GNU_SOURCE
#include "a11y-bus.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "util.h"

static pthread_mutex_t bus_lock = PTHREAD_MUTEX_INITIALIZER;
static GDBusConnection *bus; /* under bus_lock */

struct connecting {
    GDBusConnection *conn;
    GError *error;
    bool done;
};

static void connected(GObject *src, GAsyncResult *res, gpointer data) {
    (void)src;
    struct connecting *c = data;
    c->conn = g_dbus_connection_new_for_address_finish(res, &c->error);
    c->done = true;
}

static gboolean time_up(gpointer cancel) {
    g_cancellable_cancel(cancel);
    return G_SOURCE_REMOVE;
}

/* A message bus connection to addr within timeout_ms, or NULL with *error. */
static GDBusConnection *connect_bus(const char *addr, int timeout_ms, GError **error) {
    GMainContext *ctx = g_main_context_new();
    g_main_context_push_thread_default(ctx);
    GCancellable *cancel = g_cancellable_new();
    GSource *timer = g_timeout_source_new((guint)timeout_ms);
    g_source_set_callback(timer, time_up, cancel, NULL);
    g_source_attach(timer, ctx);
    struct connecting c = {0};
    g_dbus_connection_new_for_address(addr,
            G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                    G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
            NULL, cancel, connected, &c);
    while (!c.done)
        g_main_context_iteration(ctx, TRUE);
    g_source_destroy(timer);
    g_source_unref(timer);
    g_object_unref(cancel);
    g_main_context_pop_thread_default(ctx);
    g_main_context_unref(ctx);
    if (!c.conn)
        g_propagate_error(error, c.error);
    return c.conn;
}

/* Asks the session bus for the accessibility bus's address and connects to it. */
static GDBusConnection *open_bus(
        const char *session_addr, int timeout_ms, char *err, size_t errlen) {
    if (!session_addr || !*session_addr) {
        snprintf(err, errlen, "%s: session bus: no session bus address is known", A11Y_UNREACHABLE);
        return NULL;
    }
    GError *e = NULL;
    GDBusConnection *session = connect_bus(session_addr, timeout_ms, &e);
    if (!session) {
        snprintf(err, errlen, "%s: session bus: %s", A11Y_UNREACHABLE, e->message);
        g_error_free(e);
        return NULL;
    }
    GVariant *r = g_dbus_connection_call_sync(session, "org.a11y.Bus", "/org/a11y/bus",
            "org.a11y.Bus", "GetAddress", NULL, G_VARIANT_TYPE("(s)"),
            G_DBUS_CALL_FLAGS_NO_AUTO_START, timeout_ms, NULL, &e);
    g_dbus_connection_close_sync(session, NULL, NULL);
    g_object_unref(session);
    if (!r) {
        snprintf(err, errlen, "%s: GetAddress: %s", A11Y_UNREACHABLE, e->message);
        g_error_free(e);
        return NULL;
    }
    const char *addr = NULL;
    g_variant_get(r, "(&s)", &addr);
    GDBusConnection *conn = connect_bus(addr, timeout_ms, &e);
    g_variant_unref(r);
    if (!conn) {
        snprintf(err, errlen, "%s: dial: %s", A11Y_UNREACHABLE, e->message);
        g_error_free(e);
    }
    return conn;
}

GDBusConnection *a11y_bus_get(const char *session_addr, int timeout_ms, char *err, size_t errlen) {
    pthread_mutex_lock(&bus_lock);
    if (bus && g_dbus_connection_is_closed(bus))
        g_clear_object(&bus);
    GDBusConnection *conn = bus ? g_object_ref(bus) : NULL;
    pthread_mutex_unlock(&bus_lock);
    if (conn) {
        /* GDBus notices a closed socket only when it reads: one round trip to the bus daemon
         * tells a live connection from one to a bus that was restarted meanwhile. */
        GVariant *r = g_dbus_connection_call_sync(conn, "org.freedesktop.DBus",
                "/org/freedesktop/DBus", "org.freedesktop.DBus.Peer", "Ping", NULL, NULL,
                G_DBUS_CALL_FLAGS_NONE, timeout_ms, NULL, NULL);
        if (r) {
            g_variant_unref(r);
            return conn;
        }
        pthread_mutex_lock(&bus_lock);
        if (bus == conn)
            g_clear_object(&bus);
        pthread_mutex_unlock(&bus_lock);
        g_object_unref(conn);
    }
    /* Opened unlocked: a stalled bus must not hold the requests that find the connection. */
    conn = open_bus(session_addr, timeout_ms, err, errlen);
    if (!conn)
        return NULL;
    pthread_mutex_lock(&bus_lock);
    if (bus && !g_dbus_connection_is_closed(bus)) {
        /* Another request connected meanwhile: keep one. */
        g_object_unref(conn);
        conn = g_object_ref(bus);
    } else {
        g_clear_object(&bus);
        bus = g_object_ref(conn);
    }
    pthread_mutex_unlock(&bus_lock);
    return conn;
}

int a11y_bus_probe(const char *session_addr, int timeout_ms, char *err, size_t errlen) {
    GDBusConnection *conn = a11y_bus_get(session_addr, timeout_ms, err, errlen);
    if (!conn)
        return -1;
    GError *e = NULL;
    GVariant *r = g_dbus_connection_call_sync(conn, A11Y_REGISTRY_BUS, A11Y_ROOT_PATH, A11Y_IFACE,
            "GetChildren", NULL, G_VARIANT_TYPE("(a(so))"), G_DBUS_CALL_FLAGS_NONE, timeout_ms,
            NULL, &e);
    g_object_unref(conn);
    if (!r) {
        snprintf(err, errlen, "%s: GetChildren: %s", A11Y_UNREACHABLE, e->message);
        g_error_free(e);
        return -1;
    }
    g_variant_unref(r);
    return 0;
}

bool a11y_bus_healthy(const char *session_addr) {
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static int64_t checked_at = INT64_MIN / 2;
    static atomic_bool healthy;
    /* One caller checks; the others take the last answer rather than wait. */
    if (pthread_mutex_trylock(&lock) != 0)
        return atomic_load(&healthy);
    int64_t now = util_mono_ms();
    /* Only a healthy answer is kept: a bus that came back is seen at once. */
    if (!atomic_load(&healthy) || now - checked_at >= 2000) {
        char err[256];
        atomic_store(&healthy, a11y_bus_probe(session_addr, 100, err, sizeof err) == 0);
        checked_at = util_mono_ms();
    }
    bool h = atomic_load(&healthy);
    pthread_mutex_unlock(&lock);
    return h;
}
