/*
 * clipw: the clipboard deskd owns. One thread with an X connection of its
 * own (an xconn) and a window on it runs the selection protocol (ICCCM
 * §2): it owns CLIPBOARD or PRIMARY with the text it was given and answers
 * other clients' SelectionRequests for UTF8_STRING, text/plain;charset=utf-8,
 * STRING (Latin-1), TEXT (STRING or COMPOUND_TEXT), TARGETS and TIMESTAMP,
 * sending text larger than INCR_CHUNK in INCR chunks; and it reads other
 * owners' selections (UTF8_STRING, else STRING; INCR too) as UTF-8. No other
 * program (xclip, xsel) is involved.
 *
 * Requests from any thread are queued and run by the clipboard thread one at
 * a time; the thread serves other clients' requests all the while, also
 * during a read that waits for an owner. Knows xconn and X; knows nothing of
 * HTTP or JSON.
 *
 * The selection dies with the connection: when the X server goes away deskd
 * owns nothing, and the next request reconnects.
 */
#ifndef DESK_CLIPW_H
#define DESK_CLIPW_H

#include <stdbool.h>
#include <stddef.h>

/* The most text a selection holds (either way). */
#define CLIP_MAX ((size_t)16 << 20)

enum clip_sel { CLIP_CLIPBOARD, CLIP_PRIMARY };

struct clipw;

/* Starts the thread for display_name (connecting on the first request); NULL on failure. */
struct clipw *clipw_new(const char *display_name);
/* Ends the thread (failing queued requests), closes the connection; accepts NULL. */
void clipw_destroy(struct clipw *c);

/*
 * Makes deskd the owner of sel with text (len bytes, valid UTF-8 without
 * NUL, at most CLIP_MAX; copied). Returns 0 once the X server says deskd owns
 * it; -ENXIO (the display cannot be opened) or -EIO (it went away, or refused
 * the ownership) with a sentence in err; -ENOMEM.
 */
int clipw_set(
        struct clipw *c, enum clip_sel sel, const char *text, size_t len, char *err, size_t errlen);
/* Gives sel up when deskd owns it (nobody owns it then). Same returns. */
int clipw_clear(struct clipw *c, enum clip_sel sel, char *err, size_t errlen);
/*
 * The text of sel as UTF-8 (invalid bytes become U+FFFD), malloc'd and
 * NUL-terminated, in *text and *len: deskd's own, or converted from the
 * owner's; "" with *owned false when no client owns it. Waits at most
 * timeout_ms for the owner to answer (and between INCR chunks). Returns 0;
 * -ETIMEDOUT; -EFBIG when it holds more than CLIP_MAX; -ENXIO, -EIO (err);
 * -ENOMEM.
 */
int clipw_get(struct clipw *c, enum clip_sel sel, int timeout_ms, char **text, size_t *len,
        bool *owned, char *err, size_t errlen);
/*
 * How many conversions of sel's text (not TARGETS or TIMESTAMP) deskd has
 * completed for other clients, INCR transfers counted when their last chunk
 * was taken.
 */
unsigned long clipw_served(struct clipw *c, enum clip_sel sel);
/* Waits until clipw_served(c, sel) > since, at most timeout_ms; true when it is. */
bool clipw_wait_served(struct clipw *c, enum clip_sel sel, unsigned long since, int timeout_ms);
/*
 * Waits until no client asked deskd for sel (any target) for quiet_ms, at
 * most max_ms in all: an application may ask more than once for one paste
 * (xfce4-terminal reads the text to check it, then its terminal widget reads
 * it again, with the same timestamp).
 */
void clipw_wait_quiet(struct clipw *c, enum clip_sel sel, int quiet_ms, int max_ms);

#endif
