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
/* The side buttons: X buttons 8 and 9 (browsers' back and forward). */
#define INPUT_BUTTON_BACK    8
#define INPUT_BUTTON_FORWARD 9
/* The most points of one drag path. */
#define INPUT_PATH_MAX 1000
/* The most keys input_hold_keys holds; the longest input_key_hold holds a key, in ms. */
#define INPUT_HOLD_KEYS_MAX 8
#define INPUT_HOLD_MAX_MS   60000

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
/* -ECANCELED when the cancel hook says stop now, else 0 (a run of actions asks between them). */
int input_check_cancel(struct input *in);

/* The pointer position in root (screen) coordinates. */
int input_pointer(struct input *in, int *x, int *y);

/* Moves the pointer to (x, y); X clamps it to the screen. */
int input_move(struct input *in, int x, int y);

/* The most clicks one input_click_n sends (a triple click). */
#define INPUT_CLICKS_MAX 3

/*
 * Waits, up to a second, until the server has the pointer at (x, y) clamped
 * to the screen, and gives where it is then in (*px, *py). Input sent while
 * another client holds a synchronous pointer grab (xfwm4 takes one on every
 * press) waits in the server until that client lets it through, after XSync
 * has returned: this is where an action's answer learns where it really left
 * the pointer.
 */
int input_pointer_at(struct input *in, int x, int y, int *px, int *py);

/*
 * A run of actions (a batch): between input_run_begin and input_run_end,
 * actions end without their own XSync; the requests still reach the server
 * in order, and the next round trip (a pointer query) or input_run_end waits
 * for all of them. Timing inside an action (multi-click pacing, drag steps,
 * keymap changes) is unchanged. input_run_end returns 0 or -EIO.
 */
void input_run_begin(struct input *in);
int input_run_end(struct input *in);

/*
 * The pointer position as the server has it once it has processed what was
 * sent so far, without waiting for it: input_pointer_ask sends the query,
 * input_pointer_answer (with its ticket, in the order asked) waits for the
 * reply. A run's pointer actions ask one after the other and read the
 * answers at the end: one round trip for all of them.
 */
int input_pointer_ask(struct input *in, unsigned *ticket);
int input_pointer_answer(struct input *in, unsigned ticket, int *x, int *y);

/* The root window's size now (a round trip: it follows RandR changes). */
int input_screen_size(struct input *in, int *w, int *h);

/*
 * Waits ms (>= 0) after the server has processed what was sent, asking the
 * cancel hook every 50 ms (-ECANCELED). Holds nothing.
 */
int input_pause(struct input *in, int ms);

/*
 * Presses the keys syms[0..n-1] (n <= INPUT_HOLD_KEYS_MAX; modifiers by their
 * modifier-map key) and leaves them held for the next action (a move, click,
 * drag or scroll), which releases them with its own when it ends, on every
 * path. On failure (-ENOSPC, -EIO, -EPROTO) nothing is left held.
 */
int input_hold_keys(struct input *in, const KeySym *syms, int n);

/*
 * Moves to (x, y) and clicks button 1 (left), 2 (middle), 3 (right), 8
 * (back) or 9 (forward) count times (1..INPUT_CLICKS_MAX). The clicks of a multi-click are a few
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

/*
 * A drag along pts[0..n-1] (2 <= n <= INPUT_PATH_MAX, root coordinates):
 * pressed at the first point, through every point in order, released at the
 * last once the server has the pointer there. Each point is a paced step
 * (about 10 ms); a path of fewer points than input_drag's steps has its
 * segments cut so that it has as many.
 */
int input_drag_path(struct input *in, const int (*pts)[2], int n, int button);

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
 * input_key holding the key (with its modifiers) hold_ms (0..INPUT_HOLD_MAX_MS)
 * before the release; the cancel hook is asked every 50 ms.
 */
int input_key_hold(struct input *in, const struct key_combo *combo, int hold_ms);

/*
 * Presses (down) or releases the key for sym and, unlike every other action,
 * leaves it so: it stays down until input_key_set(sym, false),
 * input_release_sticky or input_destroy. Actions meanwhile neither press nor
 * release it (a held Shift applies to clicks and keys), except input_type,
 * which types text as given: it lifts held modifiers while it types. Pressing a
 * held key again, or releasing one input does not hold, does nothing.
 */
int input_key_set(struct input *in, KeySym sym, bool down);

/*
 * The same for a pointer button (1..3, 8, 9), moving to (x, y) first when
 * move is true.
 */
int input_button_set(struct input *in, int button, bool down, bool move, int x, int y);

/* What input_key_set and input_button_set hold: keysym per keycode (NoSymbol: none), buttons. */
struct input_sticky {
    KeySym keys[256];
    unsigned buttons; /* bit b: button b */
};

void input_sticky_get(const struct input *in, struct input_sticky *out);
/* True while input_key_set or input_button_set holds something. */
bool input_sticky_any(const struct input *in);
/* Releases what they hold, except what keep (may be NULL) lists. 0 or -EIO. */
int input_release_sticky(struct input *in, const struct input_sticky *keep);

/*
 * What is down on the X server, whoever pressed it: keys from XQueryKeymap
 * (each as its keysym on level 1 of group 1, or the keysym input bound to a
 * spare keycode), buttons 1..5 from the pointer state; the core protocol
 * has no state for buttons 8 and 9, so those are the ones input holds.
 */
struct input_down {
    KeySym keys[256];
    int nkeys;
    unsigned buttons; /* bit b: button b */
};

int input_query_down(struct input *in, struct input_down *out);

/*
 * The safety net after a failure: releases every key and pointer button that
 * is down and that in pressed in its current or last action. Keys others
 * hold (a person on VNC shares deskd's XTest device) are left alone, unless
 * deskd pressed the same key. Returns 0 or -EIO.
 */
int input_release_all(struct input *in);

#endif
