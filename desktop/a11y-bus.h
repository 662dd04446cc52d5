/*
 * a11y-bus: the connection to the desktop's accessibility (AT-SPI) bus, as
 * Daytona finds it: on the session bus, org.a11y.Bus /org/a11y/bus
 * org.a11y.Bus.GetAddress, then that address. One GDBus connection is kept
 * and shared by every request thread (GDBus connections are thread-safe: each
 * call waits for its own reply, so a slow application delays only the
 * requests that talk to it). It is opened again when the bus went away.
 *
 * The bus launcher is never started from here: the lookup does not
 * auto-start org.a11y.Bus, so a bus the supervisor stopped stays stopped
 * until its process is restarted.
 */
#ifndef DESK_A11Y_BUS_H
#define DESK_A11Y_BUS_H

#include <gio/gio.h>
#include <stdbool.h>
#include <stddef.h>

#define A11Y_REGISTRY_BUS "org.a11y.atspi.Registry"
#define A11Y_ROOT_PATH    "/org/a11y/atspi/accessible/root"
#define A11Y_IFACE        "org.a11y.atspi.Accessible"
#define A11Y_UNREACHABLE  "accessibility bus not reachable"

/*
 * A new reference to the accessibility bus (g_object_unref it), or NULL with
 * "accessibility bus not reachable: <stage>: <why>" in err. session_addr is
 * the session bus address (NULL: none known). Each step of a new connection
 * is bounded by timeout_ms.
 */
GDBusConnection *a11y_bus_get(const char *session_addr, int timeout_ms, char *err, size_t errlen);

/*
 * Daytona's health check: the registry root's GetChildren answers within
 * timeout_ms (the registry daemon is started on the accessibility bus when
 * it is not yet running). 0, or -1 with a sentence in err.
 */
int a11y_bus_probe(const char *session_addr, int timeout_ms, char *err, size_t errlen);

/*
 * a11y_bus_probe with 100 ms (what the status routes show, as Daytona's
 * atspi entry): a healthy answer is kept for 2 s, an unhealthy one is asked
 * again by the next caller. Concurrent callers take the last answer.
 */
bool a11y_bus_healthy(const char *session_addr);

#endif
