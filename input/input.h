/*
 * input: pointer and keyboard injection into an X display through XTest.
 *
 * struct input works on a Display * it is handed: it never opens, closes or
 * reconnects one, installs no error handlers, and is not thread-safe (the
 * caller serialises calls on its own lock). Every action ends with XSync, so
 * it returns once the X server has processed it, and releases every key and
 * button it pressed before returning, on every path. The only sleeps are the
 * per-character delay of input_type and the wait before the keymap changes
 * (see input_type).
 *
 * Return values: 0; -EINVAL for arguments out of range (nothing was sent);
 * -EIO when the X connection failed (the display may be gone; the caller's
 * I/O error handler has run); -ENOSPC when text or a key needs a keysym the
 * keymap lacks and no spare keycode is free (nothing was typed);
 * -ECANCELED when the cancel hook asked to stop; -ENOMEM.
 *
 * The X server must have XTest and XKB. input consumes MappingNotify events
 * on the display (they come from its own keymap changes) and refreshes Xlib's
 * keymap with them; it leaves every other event alone.
 */
#ifndef DESK_INPUT_INPUT_H
#define DESK_INPUT_INPUT_H

#include <X11/Xlib.h>
#include <stdbool.h>
#include <stddef.h>

#include "keys.h"

/* The most wheel clicks one input_scroll sends. */
#define INPUT_SCROLL_MAX 1000

struct input;

/*
 * Creates the injector for dpy, which must stay open until input_destroy.
 * Returns NULL when the server lacks XTest or XKB, or on allocation failure.
 */
struct input *input_new(Display *dpy);

/*
 * Releases anything still held, gives back the spare keycodes it bound, and
 * frees in. Call it before closing the display; it is safe on a display whose
 * connection already failed. NULL is accepted.
 */
void input_destroy(struct input *in);

/*
 * Sets a hook that input_type calls between characters (every character when
 * a delay is set, every 256 otherwise); when it returns nonzero, typing stops,
 * keys are released and input_type returns -ECANCELED. fn may be NULL.
 */
void input_set_cancel(struct input *in, int (*fn)(void *arg), void *arg);

/* The pointer position in root (screen) coordinates. */
int input_pointer(struct input *in, int *x, int *y);

/* Moves the pointer to (x, y); X clamps it to the screen. */
int input_move(struct input *in, int x, int y);

/* The most clicks one input_click_n sends (a triple click). */
#define INPUT_CLICKS_MAX 3

/*
 * Moves to (x, y) and clicks button 1 (left), 2 (middle) or 3 (right) count
 * times (1..INPUT_CLICKS_MAX). The clicks of a multi-click are a few
 * milliseconds apart, so that each press carries its own server time (toolkits
 * ignore a press stamped like the one before) and all of them fall well
 * inside the double-click interval.
 */
int input_click_n(struct input *in, int x, int y, int button, int count);

/* input_click_n with a count of 2 when double_click, else 1. */
int input_click(struct input *in, int x, int y, int button, bool double_click);

/*
 * Moves to (x1, y1), presses button (1..3), moves through intermediate
 * points to (x2, y2) and releases there. Nothing is clicked at the start.
 * The motion is paced (each step processed by the server, then a pause of
 * a few milliseconds), so that toolkits that start work of their own when a
 * drag begins (HTML5 drag and drop, a window manager's move) follow it: a
 * drag takes about 150 ms whatever the distance.
 */
int input_drag(struct input *in, int x1, int y1, int x2, int y2, int button);

/* Moves to (x, y) and clicks wheel button 4 (up), 5 (down), 6 (left) or 7 (right) amount times
 * (1..INPUT_SCROLL_MAX). */
int input_scroll(struct input *in, int x, int y, int button, int amount);

/*
 * Types len bytes of UTF-8 as those characters whatever the keyboard layout
 * and Caps Lock: "\n", "\r\n" and "\r" press Return; text that
 * keys_check_text rejects is -EINVAL with nothing typed. Characters the
 * layout reaches with at most Shift use their keys; any other character is
 * bound to a spare keycode, which stays bound afterwards (un-binding right
 * away would make clients that look up the keymap late read the wrong
 * character) and is re-used, least recently used first. The keymap is only
 * changed 50 ms or more after the last key event sent, so a request that
 * needs a new binding right after another typed may wait up to 50 ms, and a
 * text with more distinct such characters than spare keycodes (17 on a
 * default Xvfb) waits 50 ms per batch of them. delay_ms (>= 0) is waited
 * after each character.
 */
int input_type(struct input *in, const char *utf8, size_t len, int delay_ms);

/* Presses combo's modifiers in order, taps its key, releases the modifiers in reverse. */
int input_key(struct input *in, const struct key_combo *combo);

/*
 * Releases every key and pointer button that is down (whoever pressed it
 * through XTest), the safety net after a failure. Returns 0 or -EIO.
 */
int input_release_all(struct input *in);

#endif
