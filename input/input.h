/*
 * input: pointer and keyboard injection into an X display through XTest.
 *
 * struct input works on a Display * it is handed: it never opens, closes or
 * reconnects one, installs no error handlers, and is not thread-safe (the
 * caller serialises calls on its own lock). Every action ends with XSync, so
 * it returns once the X server has processed it, and releases every key and
 * button it pressed before returning, on every path. The only sleeps are the
 * per-character delay of input_type, the waits around keymap changes (see
 * input_type) and the pacing of multi-clicks and drags.
 *
 * Return values: 0; -EINVAL for arguments out of range (nothing was sent);
 * -EIO when the X connection failed (the display may be gone; the caller's
 * I/O error handler has run and its dead check, input_set_dead_check, says
 * so); -ENOSPC when text or a key needs a keysym the keymap lacks and no
 * spare keycode is free (nothing was typed); -EPROTO when the keyboard map
 * could not be read or changed although the connection is fine; -EBUSY when
 * another client holds a modifier down (input_type only; nothing was typed);
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
 * Sets how input learns that the connection failed: fn(arg) returns true once
 * the Display's I/O error handler has run (Xlib keeps that to itself; the
 * owner that installed the handler knows). Without it, a lost connection
 * reads as zero replies and is not reported as -EIO. fn may be NULL.
 */
void input_set_dead_check(struct input *in, bool (*fn)(void *arg), void *arg);

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
 * inside the double-click interval. Separate calls are not paced: two calls
 * less than a millisecond apart can give presses the same server time.
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
 * and its state: "\n", "\r\n" and "\r" press Return; text that
 * keys_check_text rejects is -EINVAL with nothing typed.
 *
 * A character the keymap has anywhere (any group, any level) is typed with
 * its own key, the group locked for it and its level keys (Shift, AltGr)
 * held: the current group first, the fewest level keys first. Any other
 * character is bound to a spare keycode, which stays bound afterwards
 * (un-binding right away would make clients that look up the keymap late
 * read the wrong character) and is re-used, least recently used first. The
 * keymap is only changed 50 ms or more after the last key event sent, and a
 * freshly bound key is pressed only once clients can have read the new map,
 * so a request that needs new bindings waits a few tens of milliseconds, and
 * a text with more distinct such characters than spare keycodes (17 on a
 * default Xvfb) waits that long per batch of them.
 *
 * Locked and latched modifiers (Caps Lock, Num Lock) and a latched or locked
 * group are cleared for the request and restored after it. A modifier that
 * another client holds down is -EBUSY with nothing typed and the modifier's
 * name in input_held_modifier: deskd does not release keys it did not press.
 * delay_ms (>= 0) is waited between characters.
 */
int input_type(struct input *in, const char *utf8, size_t len, int delay_ms);

/*
 * The name of the modifier key ("Shift_L") another client held when
 * input_type last returned -EBUSY; "" otherwise. Borrowed until the next call.
 */
const char *input_held_modifier(const struct input *in);

/*
 * Presses combo's modifiers in order, taps its key, releases the modifiers in
 * reverse. The key is the layout's own: a Latin letter that of the first
 * group that has it (toolkits resolve shortcuts there, so ctrl+c copies under
 * us,ru with either group active), another keysym the current group's, else
 * another group's (locked for the tap), else a spare keycode bound to it.
 */
int input_key(struct input *in, const struct key_combo *combo);

/*
 * The safety net after a failure: releases every key and pointer button that
 * is down and that in pressed in its current or last action. Keys others
 * hold (a person on VNC shares deskd's XTest device) are left alone, unless
 * deskd pressed the same key. Returns 0 or -EIO.
 */
int input_release_all(struct input *in);

#endif
