/*
 * probes: the readiness checks of the desktop's own processes that are not
 * vnc's (RFB and HTTP live in vnc/): the X connection set-up on a display's
 * socket, and "xfce4 is usable" (a window manager, and its panels mapped and
 * painted). Each is bounded in time and blocks its caller meanwhile, so the
 * supervisor runs them without holding its lock.
 */
#ifndef DESK_PROBES_H
#define DESK_PROBES_H

#include <stddef.h>
#include <stdint.h>

/*
 * Sends the X connection setup on display num's socket and reads the answer
 * (at most timeout_ms). 1: a server accepted us; 0: nothing there yet;
 * -EACCES: it refused (err says why; err may be NULL).
 */
int probe_x11(int num, int timeout_ms, char *err, size_t errlen);

/* What the xfce4 probe remembers between the probes of one instance; zero it at each start. */
struct probe_state {
    int64_t panel_mapped_at; /* when a panel was first seen mapped; 0: not yet */
};

/*
 * 1 when the desktop on display (number num) is usable: a window manager runs
 * (its EWMH check window names itself), a panel is mapped, and every mapped
 * panel and the desktop beside it are painted; 0 not yet. A panel that cannot
 * be told from the wallpaper counts 5 s after it was first seen mapped.
 */
int probe_xfce(const char *display, int num, struct probe_state *st);

#endif
