/*
 * input: pointer and keyboard injection through XTest on a display the caller
 * owns. Each action is a short run of XTest requests and one XSync.
 *
 * Keys are looked up on the live XKB keymap, read at the start of every
 * keyboard action (so a setxkbmap between requests is seen), as a client will
 * look them up: a character is typed with the key that gives it in any group
 * and level, the group locked for it and its level keys (Shift, AltGr) held,
 * so that the application sees the layout's own key code. Characters no
 * layout key has are bound to a spare keycode, one without keysyms, through
 * the core keyboard mapping. Latches and locks others left (Caps Lock, a
 * sticky Shift, a locked group) are cleared while text is typed and restored
 * after; a modifier another client holds is refused, never released: the
 * XTest device is shared with x11vnc, so a key down may be a person's.
 *
 * Timing is what toolkits need, not what Xlib needs: the presses of a
 * multi-click carry distinct server times, drags are paced, and a freshly
 * bound keycode is pressed only once clients can have read the new map.
 *
 * Spare keycodes stay bound after a request and are re-used; when a text
 * needs more of them than there are, the least recently used are re-bound,
 * as many as the next characters need at once. A client looks a key event up
 * in the keymap as it is when it gets to the event, and Xlib loses keymap
 * changes that arrive while it fetches the keymap; so the keymap is never
 * changed sooner than KEYMAP_GUARD_NS after our last key event, and never
 * un-bound right after typing (only in input_destroy). The two lowest spare
 * keycodes are left alone for other tools (xdotool takes the first free one).
 *
 * It does not parse key names (keys.c), open displays or install Xlib error
 * handlers (desktop/), and it does not use libxdo: libxdo 3.20160805 reads
 * the keymap once in xdo_new, calls XGetKeyboardMapping twice per character,
 * un-binds its scratch keycode right after each character (so slow clients
 * read the wrong one) and calls setlocale.
 */
#include "input.h"

#include <X11/XKBlib.h>
#include <X11/Xlib-xcb.h>
#include <X11/Xutil.h>
#include <X11/extensions/XTest.h>
#include <X11/keysym.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xcb/xtest.h>

#include "util.h"

/* The lowest spare keycodes, left free for other tools' scratch bindings. */
#define SPARE_RESERVED 2
/*
 * How long after our last key event the keymap may change (see keymap_guard):
 * a receiver further behind than this reads those events with the new map.
 * 50 ms was too little for an Xlib client while X stress tests ran beside it
 * (80 CJK characters: 1 run of 3 wrong; with 150 ms, 5 of 5 right). It costs
 * time only when a text needs more spare keycodes than there are.
 */
#define KEYMAP_GUARD_NS (150ull * 1000 * 1000)
/*
 * How long after a keymap change its keys may be pressed. A client re-reads
 * the keymap when MappingNotify reaches it; Chromium reads a key pressed
 * right behind the change with the old map (measured: 0 ms after, 8 wrong
 * of 8; 5 ms, 1 of 8; 20 ms, none; 10 runs of 100 CJK characters: 0 ms,
 * 2 runs wrong; 10 ms, none), so wait that with a margin.
 */
#define KEYMAP_SETTLE_NS (30ull * 1000 * 1000)
/*
 * A drag moves in DRAG_STEPS steps DRAG_STEP_NS apart, and waits
 * DRAG_SETTLE_NS at the end before the release: Chromium's HTML5 drag and
 * xfwm4's window move need time per step (measured against Chromium, 20
 * HTML5 drags: an XSync per step alone, 2 drops; 3 ms per step, 20), taken
 * with a margin: about 150 ms per drag whatever the distance.
 */
#define DRAG_STEPS     12
#define DRAG_STEP_NS   (10ull * 1000 * 1000)
#define DRAG_SETTLE_NS (20ull * 1000 * 1000)
/*
 * Between the clicks of a multi-click: the X server stamps events in
 * milliseconds, so this keeps the presses apart, and is far inside any
 * double-click interval (GTK 400 ms, xfwm4 250 ms, Chromium 500 ms). The
 * receiver must also have taken the first click before the second arrives:
 * xfwm4 grabs the pointer with the first press's time, and that grab fails
 * once the second press is in. With 8 ms, 12 of 20 title-bar double clicks
 * maximized on a machine with 12 busy loops on 2 cores; with 50 ms, 100/100.
 */
#define CLICK_GAP_NS (50ull * 1000 * 1000)
#define MAX_HELD     (8 + INPUT_HOLD_KEYS_MAX)
/* The longest input waits for the server to put the pointer where it was sent (input_pointer_at).
 */
#define POINTER_WAIT_MS 1000ull
/* Open-addressed table of the characters the layout types: up to 4 groups of 4 levels. */
#define TABLE_SIZE 4096

struct slot {
    KeySym bound[2];  /* our binding (levels 1 and 2), NoSymbol when we hold none */
    uint32_t ucs[2];  /* what it types without and with Shift in this call's state */
    uint64_t used_ns; /* when it was bound or last typed, for least-recently-used re-binding */
    bool usable;      /* spare in this call's keymap: ours, or empty and not reserved */
};

struct entry {
    uint32_t ucs; /* 0: empty */
    KeyCode kc;
    uint8_t group; /* the group it is typed in */
    uint8_t mods;  /* the level's real modifiers, set by the keys in mod_kc */
};

/* The keyboard state of others that typing clears and restores (see clear_foreign). */
struct kbd_saved {
    unsigned locked_mods, latched_mods;
    int locked_group, latched_group;
};

struct input {
    Display *dpy;
    int (*cancel)(void *);
    void *cancel_arg;
    bool (*dead)(void *); /* the owner's word on the connection, or NULL */
    void *dead_arg;

    /* Keys pressed and not yet released, in press order; buttons as a bit set. */
    KeyCode held[MAX_HELD];
    int nheld;
    unsigned held_buttons;
    uint64_t last_key_ns; /* when our last key event was sent */
    /* What the current and the last action pressed: all input_release_all may lift. */
    uint8_t ours[32], ours_last[32];
    unsigned ours_buttons, ours_buttons_last;
    char held_name[32]; /* the modifier another client held, for -EBUSY */
    /*
     * What input_key_set and input_button_set hold across actions, with the
     * keysym each key was pressed for and the modifiers those keys set. The
     * actions press and release around them, never through them.
     */
    KeySym sticky_sym[256];
    unsigned sticky_buttons;
    uint8_t sticky_modbits[256];
    unsigned sticky_mods;
    bool in_run; /* between input_run_begin and input_run_end */
    /* Core buttons (as Button1Mask...) released and not yet seen up by the server. */
    unsigned released_unseen;

    struct slot slot[256];

    /* The keymap of the current call. */
    XkbDescPtr xkb;
    unsigned mods; /* effective modifiers: locks, latches, keys held by others */
    int group;     /* the effective group when the call began */
    int locked_group;
    int ngroups;
    KeyCode shift_kc;
    KeyCode mod_kc[8];   /* per real modifier, a key that sets it for a level (Shift, AltGr) */
    unsigned level_mods; /* the modifiers mod_kc can set */
    int type_group;      /* while typing: the group locked now */
    bool group_locked;   /* while typing: whether we locked a group */
    unsigned mods_down;  /* while typing: the level modifiers held now */
    struct entry table[TABLE_SIZE];
};

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns) {
    struct timespec ts = {(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

/*
 * Whether the connection has failed. Xlib has no public call for it: after
 * an I/O error whose exit handler returns, requests are dropped and XSync
 * returns as if all went well. The Display's owner, whose exit handler saw
 * the error, knows: ask it (input_set_dead_check).
 */
static bool dead(const struct input *in) {
    return in->dead && in->dead(in->dead_arg);
}

/* XSync, then whether the display is still there. */
static int sync_check(struct input *in) {
    if (dead(in))
        return -EIO;
    XSync(in->dpy, False);
    return dead(in) ? -EIO : 0;
}

/* Our keymap changes come back as MappingNotify; let Xlib's own keymap cache follow them. */
static void drain_mapping_notify(struct input *in) {
    XEvent ev;
    /* On a dead connection libX11's refresh reads the keymap from nothing and crashes. */
    while (!dead(in) && XCheckTypedEvent(in->dpy, MappingNotify, &ev))
        if (!dead(in))
            XRefreshKeyboardMapping(&ev.xmapping);
}

static int clamp16(int v) {
    return v < -32768 ? -32768 : v > 32767 ? 32767 : v;
}

/* ---- pressing and releasing ---- */

/* A key input_key_set holds: actions leave it down (neither press nor release it). */
static bool sticky_key(const struct input *in, KeyCode kc) {
    return in->sticky_sym[kc] != NoSymbol;
}

/*
 * Every XTest key event goes out here. On a connection whose I/O failed,
 * Xlib's buffer is gone and a request would write through a NULL pointer:
 * nothing is sent once the connection is dead (the server has no key of ours
 * to release then).
 */
static void fake_key(struct input *in, unsigned kc, bool down) {
    if (!dead(in))
        XTestFakeKeyEvent(in->dpy, kc, down, CurrentTime);
}

static void key_down(struct input *in, KeyCode kc) {
    if (in->nheld < MAX_HELD)
        in->held[in->nheld++] = kc;
    if (sticky_key(in, kc))
        return;
    in->ours[kc / 8] |= (uint8_t)(1u << (kc % 8));
    fake_key(in, kc, true);
}

static void key_up(struct input *in, KeyCode kc) {
    for (int i = in->nheld - 1; i >= 0; i--) {
        if (in->held[i] == kc) {
            memmove(&in->held[i], &in->held[i + 1], (size_t)(in->nheld - i - 1) * sizeof(KeyCode));
            in->nheld--;
            break;
        }
    }
    if (sticky_key(in, kc))
        return;
    fake_key(in, kc, false);
    in->last_key_ns = now_ns();
}

/*
 * Pointer input goes out through Xlib's XCB connection, not Xlib: XCB queues
 * it with a batch's pointer queries, so a batch of clicks reaches the server
 * in one write. A request made through Xlib between two XCB ones makes each
 * library hand the socket to the other with a write, once per action. Both
 * libraries share one sequence of requests, so the order is kept either way.
 */
static void fake_pointer(struct input *in, uint8_t type, uint8_t detail, int x, int y) {
    if (dead(in))
        return;
    xcb_test_fake_input(XGetXCBConnection(in->dpy), type, detail, XCB_CURRENT_TIME, XCB_NONE,
            (int16_t)x, (int16_t)y, 0);
}

static void send_button(struct input *in, int button, bool down) {
    fake_pointer(in, down ? XCB_BUTTON_PRESS : XCB_BUTTON_RELEASE, (uint8_t)button, 0, 0);
    if (!down && button <= 5) /* the core state has bits for buttons 1 to 5 only */
        in->released_unseen |= Button1Mask << (button - 1);
}

static void button_down(struct input *in, int button) {
    if (in->sticky_buttons & (1u << button))
        return;
    in->held_buttons |= 1u << button;
    in->ours_buttons |= 1u << button;
    send_button(in, button, true);
}

static void button_up(struct input *in, int button) {
    if (!(in->held_buttons & (1u << button)))
        return;
    in->held_buttons &= ~(1u << button);
    send_button(in, button, false);
}

/*
 * Waits until the server has let through the button releases we sent, at
 * most POINTER_WAIT_MS. A window manager that focuses on click (xfwm4)
 * freezes the pointer with a synchronous grab on the press and replays it
 * later; the keyboard is not frozen, so a key sent meanwhile would reach
 * the window that had the focus before, ahead of the click. While the
 * pointer is frozen, the release waits in the server's queue and the
 * button still reads as down. Called before any keyboard input: one round
 * trip when a key follows a click, none otherwise.
 */
static int pointer_settle(struct input *in) {
    if (!in->released_unseen)
        return 0;
    uint64_t end = now_ns() + POINTER_WAIT_MS * 1000000ull;
    for (;;) {
        Window root, child;
        int rx, ry, wx, wy;
        unsigned mask = 0;
        if (dead(in))
            return -EIO;
        XQueryPointer(
                in->dpy, DefaultRootWindow(in->dpy), &root, &child, &rx, &ry, &wx, &wy, &mask);
        if (dead(in))
            return -EIO;
        /* Seen up; or still down after the wait: someone else holds it (a person on VNC). */
        if (!(mask & in->released_unseen) || now_ns() >= end) {
            in->released_unseen = 0;
            return 0;
        }
        sleep_ns(1000000ull);
    }
}

/* Releases whatever this call still holds, last pressed first. */
static void release_held(struct input *in) {
    while (in->nheld > 0)
        key_up(in, in->held[in->nheld - 1]);
    for (int b = 1; b < 32; b++)
        if (in->held_buttons & (1u << b))
            button_up(in, b);
}

/* Ends an action: releases what is held and waits until the server has processed it all. */
static int finish(struct input *in, int r) {
    release_held(in);
    /*
     * In a run, the next round trip (a pointer query) or the run's end sends
     * and waits, and the run's end drains: looking at the event queue flushes.
     */
    int s = 0;
    if (in->in_run) {
        s = dead(in) ? -EIO : 0;
    } else {
        s = sync_check(in);
        drain_mapping_notify(in);
    }
    memcpy(in->ours_last, in->ours, sizeof in->ours);
    in->ours_buttons_last = in->ours_buttons;
    memset(in->ours, 0, sizeof in->ours);
    in->ours_buttons = 0;
    return r < 0 ? r : s;
}

/* A failure to read or change the keymap: the connection's, or the keymap's own. */
static int keymap_err(const struct input *in) {
    return dead(in) ? -EIO : -EPROTO;
}

/* ---- the keymap ---- */

/* What kc gives with mods held in group, as a client's XLookupString will see it. */
static KeySym translate_in(const struct input *in, KeyCode kc, unsigned mods, int group) {
    unsigned consumed = 0;
    KeySym sym = NoSymbol;
    if (!XkbTranslateKeyCode(in->xkb, kc, XkbBuildCoreState(mods, group), &consumed, &sym))
        return NoSymbol;
    if ((mods & LockMask) && !(consumed & LockMask)) {
        /* Xlib capitalises with Caps Lock when the key type did not use it. */
        KeySym lower, upper;
        XConvertCase(sym, &lower, &upper);
        sym = upper;
    }
    return sym;
}

/* What kc gives with mods held in the current group. */
static KeySym translate(const struct input *in, KeyCode kc, unsigned mods) {
    return translate_in(in, kc, mods, in->group);
}

/* The character a keysym types; Return stands for "\n". */
static uint32_t sym_char(KeySym sym) {
    return sym == XK_Return ? '\n' : keys_keysym_to_ucs(sym);
}

static bool key_empty(XkbDescPtr xkb, int kc) {
    int n = XkbKeyNumSyms(xkb, kc);
    KeySym *syms = XkbKeySymsPtr(xkb, kc);
    for (int i = 0; i < n; i++)
        if (syms[i] != NoSymbol)
            return false;
    return true;
}

/* Whether kc holds what we bound; a server may fold two equal levels into one. */
static bool holds_binding(XkbDescPtr xkb, int kc, const KeySym bound[2]) {
    if (XkbKeyNumGroups(xkb, kc) != 1 || XkbKeySymEntry(xkb, kc, 0, 0) != bound[0])
        return false;
    int width = XkbKeyGroupWidth(xkb, kc, 0);
    return width == 2 ? XkbKeySymEntry(xkb, kc, 1, 0) == bound[1]
                      : width == 1 && bound[0] == bound[1];
}

static void slot_chars(struct input *in, int kc) {
    struct slot *s = &in->slot[kc];
    s->ucs[0] = sym_char(translate(in, (KeyCode)kc, in->mods));
    s->ucs[1] = in->shift_kc ? sym_char(translate(in, (KeyCode)kc, in->mods | ShiftMask)) : 0;
}

static void table_add(struct input *in, uint32_t ucs, KeyCode kc, int group, unsigned mods) {
    for (size_t i = ucs * 2654435761u % TABLE_SIZE;; i = (i + 1) % TABLE_SIZE) {
        if (in->table[i].ucs == ucs)
            return; /* the first key found wins (see build_table) */
        if (in->table[i].ucs == 0) {
            in->table[i] = (struct entry){ucs, kc, (uint8_t)group, (uint8_t)mods};
            return;
        }
    }
}

static const struct entry *table_find(const struct input *in, uint32_t ucs) {
    for (size_t i = ucs * 2654435761u % TABLE_SIZE;; i = (i + 1) % TABLE_SIZE) {
        if (in->table[i].ucs == ucs)
            return &in->table[i];
        if (in->table[i].ucs == 0)
            return NULL;
    }
}

static void unload_keymap(struct input *in) {
    if (in->xkb)
        XkbFreeKeyboard(in->xkb, 0, True);
    in->xkb = NULL;
}

/*
 * The real modifiers that select level of type: none for the first level, else
 * those of the map entry with the fewest; ~0u when no entry reaches it.
 */
static unsigned level_mask(const XkbKeyTypeRec *type, int level) {
    unsigned best = level == 0 ? 0 : ~0u;
    for (int i = 0; level > 0 && i < type->map_count; i++) {
        const XkbKTMapEntryRec *e = &type->map[i];
        if (e->active && e->level == level &&
                (best == ~0u || __builtin_popcount(e->mods.mask) < __builtin_popcount(best)))
            best = e->mods.mask;
    }
    return best;
}

/*
 * Adds the characters of group's keys with nbits level modifiers. Keys that
 * are modifiers would change the state of what follows, and our spare
 * keycodes are looked up on their own (slot_for_char).
 */
static void add_level_chars(struct input *in, int group, int nbits) {
    XkbDescPtr xkb = in->xkb;
    for (int kc = xkb->min_key_code; kc <= xkb->max_key_code; kc++) {
        int n = XkbKeyNumGroups(xkb, kc);
        if (n == 0 || in->slot[kc].bound[0] != NoSymbol || xkb->map->modmap[kc])
            continue;
        const XkbKeyTypeRec *type = XkbKeyKeyType(xkb, kc, group % n);
        for (int level = 0; level < type->num_levels; level++) {
            unsigned mask = level_mask(type, level);
            if (mask == ~0u || (mask & ~in->level_mods) || __builtin_popcount(mask) != nbits)
                continue;
            uint32_t ucs = sym_char(translate_in(in, (KeyCode)kc, in->mods | mask, group));
            if (ucs)
                table_add(in, ucs, (KeyCode)kc, group, mask);
        }
    }
}

/*
 * The table of the characters the layout types: a character is typed with
 * the key that gives it in the current group if there is one, else in the
 * lowest other group, and with the fewest level modifiers (none, Shift,
 * AltGr, both) in its group, the lowest keycode first.
 */
static void build_table(struct input *in) {
    memset(in->table, 0, sizeof in->table);
    for (int i = 0; i < in->ngroups; i++) {
        int g = i == 0 ? in->group : i <= in->group ? i - 1 : i;
        for (int nbits = 0; nbits <= 2; nbits++)
            add_level_chars(in, g, nbits);
    }
}

/* The keys that select levels: Shift_L (else any Shift key), AltGr and Level5 keys. */
static void find_level_keys(struct input *in) {
    XkbDescPtr xkb = in->xkb;
    memset(in->mod_kc, 0, sizeof in->mod_kc);
    in->level_mods = 0;
    for (int kc = xkb->max_key_code; kc >= xkb->min_key_code; kc--) {
        unsigned mm = xkb->map->modmap[kc];
        if (!mm || XkbKeyNumGroups(xkb, kc) == 0)
            continue;
        KeySym sym = XkbKeySymEntry(xkb, kc, 0, 0);
        int bit = __builtin_ctz(mm);
        bool shift = (mm & ShiftMask) && (sym == XK_Shift_L || sym == XK_Shift_R);
        bool level = sym == XK_ISO_Level3_Shift || sym == XK_ISO_Level5_Shift;
        if ((shift || level) && (!in->mod_kc[bit] || sym == XK_Shift_L)) {
            in->mod_kc[bit] = (KeyCode)kc;
            in->level_mods |= 1u << bit;
        }
    }
    /* Shift_L if it is a Shift key, else whichever key sets Shift. */
    for (int kc = xkb->max_key_code; !in->mod_kc[ShiftMapIndex] && kc >= xkb->min_key_code; kc--)
        if (xkb->map->modmap[kc] & ShiftMask)
            in->mod_kc[ShiftMapIndex] = (KeyCode)kc;
    if (in->mod_kc[ShiftMapIndex])
        in->level_mods |= ShiftMask;
    in->shift_kc = in->mod_kc[ShiftMapIndex];
}

/* Which keycodes are spare in this keymap, and which of our bindings survived. */
static void find_slots(struct input *in) {
    XkbDescPtr xkb = in->xkb;
    int reserved = 0;
    in->ngroups = 1;
    for (int kc = 0; kc < 256; kc++) {
        struct slot *s = &in->slot[kc];
        s->usable = false;
        if (kc < xkb->min_key_code || kc > xkb->max_key_code) {
            s->bound[0] = s->bound[1] = NoSymbol;
            continue;
        }
        if (XkbKeyNumGroups(xkb, kc) > in->ngroups)
            in->ngroups = XkbKeyNumGroups(xkb, kc);
        if (s->bound[0] != NoSymbol && !holds_binding(xkb, kc, s->bound))
            s->bound[0] = s->bound[1] = NoSymbol;
        if (s->bound[0] != NoSymbol) {
            s->usable = true;
        } else if (key_empty(xkb, kc) && !xkb->map->modmap[kc]) {
            if (reserved < SPARE_RESERVED)
                reserved++;
            else
                s->usable = true;
        }
    }
}

/*
 * Reads the keymap and keyboard state (the state from known when not NULL,
 * saving a round trip), checks which of our bindings survived (a new layout
 * replaces them all), picks this call's spare keycodes, and for typing
 * builds the table of characters the layout reaches.
 */
static int load_keymap(struct input *in, const XkbStateRec *known, bool for_text) {
    XkbStateRec st;
    if (dead(in))
        return -EIO;
    int r = pointer_settle(in); /* keys go out after this: no key may overtake a click */
    if (r < 0)
        return r;
    if (known)
        st = *known;
    else if (XkbGetState(in->dpy, XkbUseCoreKbd, &st) != Success)
        return keymap_err(in);
    in->xkb = XkbGetMap(
            in->dpy, XkbKeyTypesMask | XkbKeySymsMask | XkbModifierMapMask, XkbUseCoreKbd);
    if (!in->xkb || !in->xkb->map || !in->xkb->map->modmap)
        return keymap_err(in);
    /* The effective modifiers are what clients see in key events (lookup_mods reads 0 on Xvfb). */
    in->mods = st.mods;
    in->group = st.group;
    in->locked_group = st.locked_group;

    find_slots(in);
    in->group %= in->ngroups; /* XKB wraps an effective group out of range */
    find_level_keys(in);
    if (!for_text)
        return 0;
    build_table(in);
    for (int kc = in->xkb->min_key_code; kc <= in->xkb->max_key_code; kc++)
        if (in->slot[kc].bound[0] != NoSymbol)
            slot_chars(in, kc);
    return 0;
}

static bool latin_letter(KeySym sym) {
    return (sym >= XK_a && sym <= XK_z) || (sym >= XK_A && sym <= XK_Z);
}

/*
 * A layout key (not one of ours) that gives sym on its first level, and the
 * group where it does. A Latin letter is looked for in the first group that
 * has it, as X toolkits resolve shortcuts (ctrl+a under us,ru is the key of
 * "a" in either group); anything else in the current group first. Modifier
 * keys only if modmap_only.
 */
static KeyCode find_key_group(const struct input *in, KeySym sym, bool modmap_only, int *group) {
    XkbDescPtr xkb = in->xkb;
    bool latin = latin_letter(sym);
    for (int i = 0; i < in->ngroups; i++) {
        int g = latin ? i : i == 0 ? in->group : i <= in->group ? i - 1 : i;
        for (int kc = xkb->min_key_code; kc <= xkb->max_key_code; kc++) {
            if (in->slot[kc].bound[0] != NoSymbol || (modmap_only && !xkb->map->modmap[kc]))
                continue;
            if (translate_in(in, (KeyCode)kc, 0, g) == sym) {
                *group = latin ? in->group : g;
                return (KeyCode)kc;
            }
        }
    }
    return 0;
}

/* The level modifiers (nbits of them) with which kc gives sym in group, or ~0u. */
static unsigned level_for(const struct input *in, KeyCode kc, int group, int nbits, KeySym sym) {
    XkbDescPtr xkb = in->xkb;
    int n = XkbKeyNumGroups(xkb, kc);
    if (n == 0 || in->slot[kc].bound[0] != NoSymbol || xkb->map->modmap[kc])
        return ~0u;
    const XkbKeyTypeRec *type = XkbKeyKeyType(xkb, kc, group % n);
    for (int level = 1; level < type->num_levels; level++) {
        unsigned mask = level_mask(type, level);
        if (mask != ~0u && !(mask & ~in->level_mods) && __builtin_popcount(mask) == nbits &&
                translate_in(in, kc, mask, group) == sym)
            return mask;
    }
    return ~0u;
}

/*
 * A layout key that gives sym on a higher level, with the group and the level
 * modifiers (Shift, AltGr) it needs: the current group first, the fewest
 * modifiers first. 0 when no key has it.
 */
static KeyCode find_key_level(const struct input *in, KeySym sym, int *group, unsigned *mods) {
    for (int i = 0; i < in->ngroups; i++) {
        int g = i == 0 ? in->group : i <= in->group ? i - 1 : i;
        for (int nbits = 1; nbits <= 2; nbits++) {
            for (int kc = in->xkb->min_key_code; kc <= in->xkb->max_key_code; kc++) {
                unsigned mask = level_for(in, (KeyCode)kc, g, nbits, sym);
                if (mask != ~0u) {
                    *group = g;
                    *mods = mask;
                    return (KeyCode)kc;
                }
            }
        }
    }
    return 0;
}

static KeyCode find_key(const struct input *in, KeySym sym, bool modmap_only) {
    int group;
    return find_key_group(in, sym, modmap_only, &group);
}

static KeyCode find_slot_sym(const struct input *in, KeySym sym) {
    for (int kc = in->xkb->min_key_code; kc <= in->xkb->max_key_code; kc++)
        if (in->slot[kc].usable && in->slot[kc].bound[0] == sym)
            return (KeyCode)kc;
    return 0;
}

/* ---- spare keycodes ---- */

/*
 * Waits, before changing the keymap, until KEYMAP_GUARD_NS have passed since
 * our last key event. A client looks a key event up in the keymap as it is
 * when it gets to the event, and Xlib drops keymap changes that arrive while
 * it is fetching the keymap for a lookup: a change right behind key events
 * can make a client read them with the new keymap, or miss the change.
 */
static int keymap_guard(struct input *in) {
    uint64_t now = now_ns(), ready = in->last_key_ns + KEYMAP_GUARD_NS;
    if (in->last_key_ns == 0 || now >= ready)
        return 0;
    int r = sync_check(in); /* the wait counts from when the events left */
    if (r < 0)
        return r;
    sleep_ns(ready - now);
    return 0;
}

/*
 * The keysyms to bind for sym. A letter gets its two cases on levels 1 and 2,
 * which makes XKB give the key the ALPHABETIC type for the letters it knows
 * the case of, and TWO_LEVEL for the others: text types either case with the
 * Shift state the key then needs, and a key such as ctrl+shift+t reads as T
 * as on a real keyboard. For a key (not text) that is only done when sym is
 * the lower case, since level 1 is what gets pressed. Anything else is the
 * same keysym on both levels, so that Shift leaves it alone.
 */
static void binding_for(KeySym sym, bool for_text, KeySym out[2]) {
    KeySym lower, upper;
    XConvertCase(sym, &lower, &upper);
    out[0] = out[1] = sym;
    if (lower != upper && (sym == lower || (for_text && sym == upper))) {
        out[0] = lower;
        out[1] = upper;
    }
}

/*
 * Binds n keysyms to the spare keycodes kcs[], each with one core request,
 * then reads back in one request what the server made of them: the key type
 * it chose decides what each level gives.
 */
static int bind_all(struct input *in, const KeyCode *kcs, const KeySym (*syms)[2], int n) {
    int lo = 255, hi = 0;
    if (n == 0)
        return 0;
    int r = keymap_guard(in);
    if (r < 0)
        return r;
    uint64_t now = now_ns();
    for (int i = 0; i < n; i++) {
        XChangeKeyboardMapping(in->dpy, kcs[i], 2, (KeySym *)syms[i], 1);
        struct slot *s = &in->slot[kcs[i]];
        s->bound[0] = syms[i][0];
        s->bound[1] = syms[i][1];
        s->used_ns = now;
        lo = kcs[i] < lo ? kcs[i] : lo;
        hi = kcs[i] > hi ? kcs[i] : hi;
    }
    /* XkbGetKeySyms would do, but libX11's asks for no part of the map. */
    XkbMapChangesRec changes = {0};
    changes.changed = XkbKeySymsMask;
    changes.first_key_sym = (KeyCode)lo;
    changes.num_key_syms = (unsigned char)(hi - lo + 1);
    if (XkbGetMapChanges(in->dpy, in->xkb, &changes) != Success)
        return keymap_err(in);
    for (int i = 0; i < n; i++) {
        struct slot *s = &in->slot[kcs[i]];
        if (!holds_binding(in->xkb, kcs[i], s->bound)) {
            s->bound[0] = s->bound[1] = NoSymbol;
            return keymap_err(in);
        }
        slot_chars(in, kcs[i]);
    }
    /* The read-back was a round trip: the server has the new map; now the clients. */
    sleep_ns(KEYMAP_SETTLE_NS);
    return 0;
}

/*
 * A spare keycode to bind anew: a free one (highest first, away from the
 * ones other tools pick), else the least recently used binding that keep[]
 * does not mark. 0 when there is none.
 */
static KeyCode pick_slot(const struct input *in, const bool *keep) {
    int best = 0;
    for (int kc = in->xkb->max_key_code; kc >= in->xkb->min_key_code; kc--) {
        const struct slot *s = &in->slot[kc];
        if (!s->usable || (keep && keep[kc]) || sticky_key(in, kc))
            continue;
        if (s->bound[0] == NoSymbol)
            return (KeyCode)kc;
        if (!best || s->used_ns < in->slot[best].used_ns)
            best = kc;
    }
    return (KeyCode)best;
}

/* ---- keyboard ---- */

/* The slot that types ucs in this call's state, and whether it needs Shift. */
static KeyCode slot_for_char(const struct input *in, uint32_t ucs, bool *shift) {
    for (int kc = in->xkb->min_key_code; kc <= in->xkb->max_key_code; kc++) {
        const struct slot *s = &in->slot[kc];
        if (!s->usable || s->bound[0] == NoSymbol)
            continue;
        if (s->ucs[0] == ucs) {
            *shift = false;
            return (KeyCode)kc;
        }
        if (s->ucs[1] == ucs && in->shift_kc) {
            *shift = true;
            return (KeyCode)kc;
        }
    }
    return 0;
}

static KeySym char_sym(uint32_t ucs) {
    return ucs == '\n' ? XK_Return : keys_ucs_to_keysym(ucs);
}

/*
 * Makes sure the next characters from cps[pos] that the layout lacks have
 * spare keycodes: as many distinct ones as there are spare keycodes, bound
 * together, before any of them is typed. Bindings those characters use are
 * kept; the others are re-bound least recently used first.
 */
static int bind_ahead(struct input *in, const uint32_t *cps, size_t n, size_t pos) {
    bool keep[256] = {false};
    KeyCode kcs[256];
    KeySym syms[256][2];
    int nslots = 0, nbind = 0, nwant = 0;

    for (int kc = 0; kc < 256; kc++)
        nslots += in->slot[kc].usable;
    for (size_t i = pos; i < n && (nwant < nslots || nslots == 0); i++) {
        bool shift;
        if (table_find(in, cps[i]))
            continue;
        if (nslots == 0)
            return -ENOSPC;
        KeyCode kc = slot_for_char(in, cps[i], &shift);
        if (kc) {
            nwant += !keep[kc];
            keep[kc] = true;
            continue;
        }
        bool dup = false;
        for (int j = 0; j < nbind && !dup; j++)
            dup = syms[j][0] == char_sym(cps[i]) || syms[j][1] == char_sym(cps[i]);
        if (dup)
            continue;
        binding_for(char_sym(cps[i]), true, syms[nbind]);
        nbind++;
        nwant++;
    }
    if (nbind == 0)
        return 0;
    for (int j = 0; j < nbind; j++) {
        kcs[j] = pick_slot(in, keep);
        if (!kcs[j])
            return -ENOSPC;
        keep[kcs[j]] = true;
    }
    return bind_all(in, kcs, (const KeySym(*)[2])syms, nbind);
}

/* Decodes text to code points, "\r\n" and "\r" becoming "\n". */
static uint32_t *decode_text(const char *utf8, size_t len, size_t *count) {
    uint32_t *cps = malloc((len + 1) * sizeof *cps);
    size_t n = 0;
    if (!cps)
        return NULL;
    for (size_t i = 0; i < len;) {
        uint32_t c;
        int k = util_utf8_decode(utf8 + i, len - i, &c);
        if (k < 0) { /* checked by keys_check_text already */
            free(cps);
            return NULL;
        }
        i += (size_t)k;
        if (c == '\r') {
            if (i < len && utf8[i] == '\n')
                continue;
            c = '\n';
        }
        cps[n++] = c;
    }
    *count = n;
    return cps;
}

/* The key, group and level modifiers for cps[i], binding the characters ahead when it has none. */
static int key_for_char(struct input *in, const uint32_t *cps, size_t n, size_t i, KeyCode *kc,
        int *group, unsigned *mods) {
    const struct entry *e = table_find(in, cps[i]);
    if (e) {
        *kc = e->kc;
        *group = e->group;
        *mods = e->mods;
        return 0;
    }
    bool shift = false;
    *group = in->type_group; /* a spare keycode has one group, which every group reaches */
    *kc = slot_for_char(in, cps[i], &shift);
    if (!*kc) {
        int r = bind_ahead(in, cps, n, i);
        if (r < 0)
            return r;
        *kc = slot_for_char(in, cps[i], &shift);
    }
    *mods = shift ? ShiftMask : 0;
    /* Only a keymap with unusual key types could make a fresh binding type something else. */
    return *kc ? 0 : keymap_err(in);
}

/*
 * Puts the keyboard in the group and level the next key needs: the group
 * locked, the level keys (Shift, AltGr) held, the others released.
 */
static void set_level(struct input *in, int group, unsigned mods) {
    if (group != in->type_group) {
        XkbLockGroup(in->dpy, XkbUseCoreKbd, (unsigned)group);
        in->type_group = group;
        in->group_locked = true;
    }
    for (int bit = 0; bit < 8; bit++)
        if ((in->mods_down & ~mods) & (1u << bit))
            key_up(in, in->mod_kc[bit]);
    for (int bit = 0; bit < 8; bit++)
        if ((mods & ~in->mods_down) & (1u << bit))
            key_down(in, in->mod_kc[bit]);
    in->mods_down = mods;
}

static int type_chars(struct input *in, const uint32_t *cps, size_t n, int delay_ms) {
    for (size_t i = 0; i < n; i++) {
        /* Xlib's buffer of a dead connection is never emptied: its next full request crashes. */
        if (dead(in))
            return -EIO;
        KeyCode kc;
        int group;
        unsigned mods;
        bool shift;
        if (in->mods_down && !table_find(in, cps[i]) && !slot_for_char(in, cps[i], &shift))
            set_level(
                    in, in->type_group, 0); /* a keymap change is coming: nothing held across it */
        int r = key_for_char(in, cps, n, i, &kc, &group, &mods);
        if (r < 0)
            return r;
        set_level(in, group, mods);
        key_down(in, kc);
        key_up(in, kc);
        if (in->slot[kc].bound[0] != NoSymbol)
            in->slot[kc].used_ns = in->last_key_ns;

        if (delay_ms > 0 && i + 1 < n) {
            set_level(in, in->type_group, 0);
            r = sync_check(in);
            if (r < 0)
                return r;
            sleep_ns((uint64_t)delay_ms * 1000000ull);
        }
        if (in->cancel && (delay_ms > 0 || i % 256 == 255) && in->cancel(in->cancel_arg))
            return -ECANCELED;
    }
    return 0;
}

/* Names the modifier key another client holds (held: the modifiers it sets) in held_name. */
static void name_held(struct input *in, unsigned held) {
    static const char *const mod_names[8] = {
            "Shift", "Lock", "Control", "Mod1", "Mod2", "Mod3", "Mod4", "Mod5"};
    char keys[32];
    XModifierKeymap *mm = XGetModifierMapping(in->dpy);
    XQueryKeymap(in->dpy, keys);
    snprintf(in->held_name, sizeof in->held_name, "%s", mod_names[__builtin_ctz(held)]);
    for (int i = 0; mm && i < 8 * mm->max_keypermod; i++) {
        KeyCode kc = mm->modifiermap[i];
        if (!kc || !((held >> (i / mm->max_keypermod)) & 1) || !(keys[kc / 8] & (1 << (kc % 8))))
            continue;
        const char *name = XKeysymToString(XkbKeycodeToKeysym(in->dpy, kc, 0, 0));
        if (name) {
            snprintf(in->held_name, sizeof in->held_name, "%s", name);
            break;
        }
    }
    if (mm)
        XFreeModifiermap(mm);
}

/*
 * Clears what others left in the keyboard state that would change what keys
 * type: latched and locked modifiers (Caps Lock, Num Lock, a sticky Shift)
 * and a latched group; the locked group is set per character (set_level).
 * A modifier held down by another client (a person on VNC, whose XTest keys
 * deskd shares and must not release) is -EBUSY, named in held_name. sv
 * gets what to restore, after the state the clearing leaves.
 */
static int clear_foreign(struct input *in, struct kbd_saved *sv, XkbStateRec *after) {
    XkbStateRec st;
    memset(sv, 0, sizeof *sv);
    /* On a dead connection Xlib's buffer fills and XkbGetState writes through NULL. */
    if (dead(in))
        return -EIO;
    if (XkbGetState(in->dpy, XkbUseCoreKbd, &st) != Success)
        return keymap_err(in);
    unsigned held = st.base_mods & ~(unsigned)LockMask;
    if (held) {
        name_held(in, held);
        return dead(in) ? -EIO : -EBUSY;
    }
    sv->locked_mods = st.locked_mods;
    sv->latched_mods = st.latched_mods;
    sv->locked_group = st.locked_group;
    sv->latched_group = st.latched_group;
    if (st.latched_mods)
        XkbLatchModifiers(in->dpy, XkbUseCoreKbd, st.latched_mods, 0);
    if (st.locked_mods)
        XkbLockModifiers(in->dpy, XkbUseCoreKbd, st.locked_mods, 0);
    if (st.latched_group)
        XkbLatchGroup(in->dpy, XkbUseCoreKbd, 0);
    /* The state those requests leave, without asking again: no latches, no locked modifiers. */
    *after = st;
    after->mods = st.base_mods;
    after->group = (unsigned char)(st.base_group + st.locked_group);
    return 0;
}

/* Puts back what clear_foreign cleared and, when typing locked a group, the locked group. */
static void restore_foreign(struct input *in, const struct kbd_saved *sv, bool group_changed) {
    if (group_changed)
        XkbLockGroup(in->dpy, XkbUseCoreKbd, (unsigned)sv->locked_group);
    if (sv->locked_mods)
        XkbLockModifiers(in->dpy, XkbUseCoreKbd, sv->locked_mods, sv->locked_mods);
    if (sv->latched_mods)
        XkbLatchModifiers(in->dpy, XkbUseCoreKbd, sv->latched_mods, sv->latched_mods);
    if (sv->latched_group)
        XkbLatchGroup(in->dpy, XkbUseCoreKbd, (unsigned)sv->latched_group);
}

/*
 * Lets go of (down false) or presses again the modifier keys input_key_set
 * holds: text is typed as given, so a held Shift is lifted while it is typed.
 */
static void lift_sticky_mods(struct input *in, bool down) {
    for (int kc = 0; kc < 256; kc++)
        if (in->sticky_sym[kc] != NoSymbol && in->sticky_modbits[kc])
            fake_key(in, (unsigned)kc, down);
}

int input_type(struct input *in, const char *utf8, size_t len, int delay_ms) {
    if (delay_ms < 0 || keys_check_text(utf8, len, NULL, 0) < 0)
        return -EINVAL;
    if (len == 0)
        return 0;
    int settled = pointer_settle(in); /* before any key or keyboard state changes */
    if (settled < 0)
        return settled;

    size_t n = 0;
    uint32_t *cps = decode_text(utf8, len, &n);
    if (!cps)
        return -ENOMEM;

    struct kbd_saved sv;
    XkbStateRec st;
    in->held_name[0] = '\0';
    lift_sticky_mods(in, false);
    int r = clear_foreign(in, &sv, &st);
    bool cleared = r == 0;
    if (r == 0)
        r = load_keymap(in, &st, true);
    in->type_group = in->group;
    in->group_locked = false;
    in->mods_down = 0;
    /* Bind what the first characters lack before typing any: text that cannot be typed fails
     * whole. */
    if (r == 0)
        r = bind_ahead(in, cps, n, 0);
    if (r == 0)
        r = type_chars(in, cps, n, delay_ms);
    free(cps);
    unload_keymap(in);
    release_held(in);
    in->mods_down = 0;
    if (cleared)
        restore_foreign(in, &sv, in->group_locked);
    lift_sticky_mods(in, true);
    return finish(in, r);
}

const char *input_held_modifier(const struct input *in) {
    return in->held_name;
}

/* The key for a modifier keysym: one in the modifier map first, so that it sets its modifier. */
static KeyCode find_modifier(const struct input *in, KeySym sym) {
    static const KeySym other[][2] = {
            {XK_Control_L, XK_Control_R},
            {XK_Shift_L, XK_Shift_R},
            {XK_Alt_L, XK_Alt_R},
            {XK_Super_L, XK_Super_R},
            {XK_Alt_L, XK_Meta_L},
    };
    KeyCode kc = find_key(in, sym, true);
    for (size_t i = 0; !kc && i < sizeof other / sizeof *other; i++)
        if (other[i][0] == sym)
            kc = find_key(in, other[i][1], true);
    return kc ? kc : find_key(in, sym, false);
}

/*
 * The key for sym, the group to press it in (another than the current one
 * only for a keysym the current group lacks) and the level modifiers it needs
 * (a keysym only a higher level has); a spare keycode when no key has it.
 */
static int key_for_sym(struct input *in, KeySym sym, bool modifier, bool *keep, KeyCode *kc,
        int *group, unsigned *level) {
    *group = in->group;
    *level = 0;
    *kc = modifier ? find_modifier(in, sym) : find_key_group(in, sym, false, group);
    if (!*kc && !modifier)
        *kc = find_key_level(in, sym, group, level);
    if (!*kc)
        *kc = find_slot_sym(in, sym);
    if (*kc) {
        keep[*kc] = true;
        return 0;
    }
    KeyCode spare = pick_slot(in, keep);
    if (!spare)
        return -ENOSPC;
    KeySym syms[1][2];
    binding_for(sym, false, syms[0]);
    int r = bind_all(in, &spare, (const KeySym(*)[2])syms, 1);
    if (r < 0)
        return r;
    keep[spare] = true;
    *kc = spare;
    return 0;
}

/* Presses (down) or releases the level keys of level that combo's own modifiers do not hold. */
static void press_level(struct input *in, const struct key_combo *combo, const KeyCode *mods,
        unsigned level, bool down) {
    for (int b = 0; b < 8; b++) {
        int bit = down ? b : 7 - b;
        KeyCode kc = in->mod_kc[bit];
        bool held = false;
        for (int i = 0; i < combo->nmods; i++)
            held = held || mods[i] == kc;
        if (!(level & (1u << bit)) || !kc || held)
            continue;
        if (down)
            key_down(in, kc);
        else
            key_up(in, kc);
    }
}

/* Sleeps ms in steps, stopping early when the cancel hook says so. */
static int hold_for(struct input *in, int ms) {
    int r = sync_check(in);
    for (int left = ms; r == 0 && left > 0; left -= 50) {
        sleep_ns((uint64_t)(left < 50 ? left : 50) * 1000000ull);
        if (in->cancel && in->cancel(in->cancel_arg))
            r = -ECANCELED;
    }
    return r;
}

int input_key(struct input *in, const struct key_combo *combo) {
    return input_key_hold(in, combo, 0);
}

int input_key_hold(struct input *in, const struct key_combo *combo, int hold_ms) {
    KeyCode mods[KEYS_MAX_MODS], key;
    int r, group, key_group = 0;
    unsigned level = 0, unused;

    if (!combo || combo->key == NoSymbol || combo->nmods < 0 || combo->nmods > KEYS_MAX_MODS ||
            hold_ms < 0 || hold_ms > INPUT_HOLD_MAX_MS)
        return -EINVAL;
    for (int i = 0; i < combo->nmods; i++)
        if (combo->mods[i] == NoSymbol)
            return -EINVAL;

    bool keep[256] = {false};
    r = load_keymap(in, NULL, false);
    /* Every key is found (or bound) before the first is pressed. */
    for (int i = 0; r == 0 && i < combo->nmods; i++)
        r = key_for_sym(in, combo->mods[i], true, keep, &mods[i], &group, &unused);
    if (r == 0)
        r = key_for_sym(in, combo->key, false, keep, &key, &key_group, &level);
    if (r == 0) {
        /* A keysym of another group only (not a Latin letter): its group for the tap. */
        if (key_group != in->group)
            XkbLockGroup(in->dpy, XkbUseCoreKbd, (unsigned)key_group);
        for (int i = 0; i < combo->nmods; i++)
            key_down(in, mods[i]);
        press_level(in, combo, mods, level, true);
        key_down(in, key);
        if (hold_ms > 0)
            r = hold_for(in, hold_ms);
        key_up(in, key);
        press_level(in, combo, mods, level, false);
        for (int i = combo->nmods - 1; i >= 0; i--)
            key_up(in, mods[i]);
        if (key_group != in->group)
            XkbLockGroup(in->dpy, XkbUseCoreKbd, (unsigned)in->locked_group);
        if (in->slot[key].bound[0] != NoSymbol)
            in->slot[key].used_ns = in->last_key_ns;
    }
    unload_keymap(in);
    return finish(in, r);
}

/* ---- pointer ---- */

int input_pointer(struct input *in, int *x, int *y) {
    Window root, child;
    int rx = 0, ry = 0, wx, wy;
    unsigned mask;

    if (dead(in))
        return -EIO;
    XQueryPointer(in->dpy, DefaultRootWindow(in->dpy), &root, &child, &rx, &ry, &wx, &wy, &mask);
    if (dead(in))
        return -EIO;
    *x = rx;
    *y = ry;
    return 0;
}

/* An absolute motion (detail 0) on the screen the pointer is on (root None). */
static void move_to(struct input *in, int x, int y) {
    fake_pointer(in, XCB_MOTION_NOTIFY, 0, clamp16(x), clamp16(y));
}

int input_move(struct input *in, int x, int y) {
    move_to(in, x, y);
    return finish(in, 0);
}

static bool valid_button(int button) {
    return (button >= 1 && button <= 3) || button == INPUT_BUTTON_BACK ||
           button == INPUT_BUTTON_FORWARD;
}

/*
 * Waits until the server puts the pointer at (x, y), clamped to the screen,
 * or POINTER_WAIT_MS passed; (*px, *py) get where it is. While a client
 * holds a synchronous pointer grab (xfwm4 takes one on every press, for
 * click-to-focus) the device is frozen: our motion waits in the server's
 * queue after XSync has returned, until that client lets events through.
 */
int input_pointer_at(struct input *in, int x, int y, int *px, int *py) {
    Screen *scr = DefaultScreenOfDisplay(in->dpy);
    int tx = x < 0 ? 0 : x >= WidthOfScreen(scr) ? WidthOfScreen(scr) - 1 : x;
    int ty = y < 0 ? 0 : y >= HeightOfScreen(scr) ? HeightOfScreen(scr) - 1 : y;
    uint64_t end = now_ns() + POINTER_WAIT_MS * 1000000ull;
    for (;;) {
        int r = input_pointer(in, px, py);
        if (r < 0 || (*px == tx && *py == ty) || now_ns() >= end)
            return r;
        sleep_ns(1000000ull);
    }
}

int input_pointer_ask(struct input *in, unsigned *ticket) {
    if (dead(in))
        return -EIO;
    *ticket = xcb_query_pointer(XGetXCBConnection(in->dpy), DefaultRootWindow(in->dpy)).sequence;
    return 0;
}

int input_pointer_answer(struct input *in, unsigned ticket, int *x, int *y) {
    xcb_query_pointer_cookie_t cookie = {ticket};
    xcb_query_pointer_reply_t *r =
            xcb_query_pointer_reply(XGetXCBConnection(in->dpy), cookie, NULL);
    if (!r || dead(in)) {
        free(r);
        return -EIO;
    }
    *x = r->root_x;
    *y = r->root_y;
    free(r);
    return 0;
}

void input_run_begin(struct input *in) {
    in->in_run = true;
}

int input_run_end(struct input *in) {
    in->in_run = false;
    int r = sync_check(in);
    drain_mapping_notify(in);
    return r;
}

int input_screen_size(struct input *in, int *w, int *h) {
    Window root;
    int x, y;
    unsigned uw = 0, uh = 0, border, depth;
    if (dead(in))
        return -EIO;
    XGetGeometry(in->dpy, DefaultRootWindow(in->dpy), &root, &x, &y, &uw, &uh, &border, &depth);
    if (dead(in) || uw == 0 || uh == 0)
        return -EIO;
    *w = (int)uw;
    *h = (int)uh;
    return 0;
}

int input_pause(struct input *in, int ms) {
    return ms < 0 ? -EINVAL : hold_for(in, ms);
}

int input_hold_keys(struct input *in, const KeySym *syms, int n) {
    bool keep[256] = {false};
    KeyCode kcs[INPUT_HOLD_KEYS_MAX];
    int group;
    unsigned level;
    if (n < 0 || n > INPUT_HOLD_KEYS_MAX)
        return -EINVAL;
    if (n == 0)
        return 0;
    int r = load_keymap(in, NULL, false);
    for (int i = 0; r == 0 && i < n; i++)
        r = key_for_sym(in, syms[i], IsModifierKey(syms[i]), keep, &kcs[i], &group, &level);
    unload_keymap(in);
    if (r < 0)
        return finish(in, r);
    for (int i = 0; i < n; i++)
        key_down(in, kcs[i]);
    return 0;
}

int input_click_n(struct input *in, int x, int y, int button, int count) {
    if (!valid_button(button) || count < 1 || count > INPUT_CLICKS_MAX)
        return finish(in, -EINVAL);
    move_to(in, x, y);
    for (int i = 0; i < count; i++) {
        if (i > 0) {
            /*
             * Each press of a multi-click must carry a later server time than
             * the one before: Chromium takes a press stamped like the previous
             * one for that same press again, and counts no double click.
             */
            int r = sync_check(in);
            if (r < 0)
                return finish(in, r);
            sleep_ns(CLICK_GAP_NS);
        }
        button_down(in, button);
        button_up(in, button);
    }
    return finish(in, 0);
}

int input_click(struct input *in, int x, int y, int button, bool double_click) {
    return input_click_n(in, x, y, button, double_click ? 2 : 1);
}

/* Sends a motion, waits until the server has processed it, then lets the receiver catch up. */
static int paced_move(struct input *in, int x, int y, uint64_t pause_ns) {
    move_to(in, x, y);
    int r = sync_check(in);
    if (r == 0)
        sleep_ns(pause_ns);
    return r;
}

int input_drag(struct input *in, int x1, int y1, int x2, int y2, int button) {
    const int pts[2][2] = {{x1, y1}, {x2, y2}};
    return input_drag_path(in, pts, 2, button);
}

int input_drag_path(struct input *in, const int (*pts)[2], int n, int button) {
    if (!valid_button(button) || n < 2 || n > INPUT_PATH_MAX)
        return finish(in, -EINVAL);
    int r = paced_move(in, clamp16(pts[0][0]), clamp16(pts[0][1]), 0);
    if (r < 0)
        return finish(in, r);
    button_down(in, button);
    /*
     * Toolkits start a drag only after motion with the button down, and then
     * begin work of their own (Chromium an XDND session with a pointer grab,
     * xfwm4 a move loop): motion sent in one burst lands before they are
     * ready for it. So every step is processed by the server and followed by
     * a pause, and the release waits until the receiver has seen the end.
     * A short path is cut into at least DRAG_STEPS steps in all.
     */
    int per = (DRAG_STEPS + n - 2) / (n - 1);
    for (int k = 1; r == 0 && k < n; k++) {
        int x1 = clamp16(pts[k - 1][0]), y1 = clamp16(pts[k - 1][1]);
        int x2 = clamp16(pts[k][0]), y2 = clamp16(pts[k][1]);
        for (int i = 1; r == 0 && i <= per; i++)
            r = paced_move(in, x1 + (x2 - x1) * i / per, y1 + (y2 - y1) * i / per,
                    k == n - 1 && i == per ? DRAG_SETTLE_NS : DRAG_STEP_NS);
    }
    /* The release only once the pointer is at the end (see input_pointer_at), so it lands there. */
    int px, py;
    if (r == 0)
        r = input_pointer_at(in, pts[n - 1][0], pts[n - 1][1], &px, &py);
    if (r == 0)
        button_up(in, button);
    return finish(in, r);
}

int input_scroll(struct input *in, int x, int y, int button, int amount) {
    if (button < 4 || button > 7 || amount < 1 || amount > INPUT_SCROLL_MAX)
        return finish(in, -EINVAL);
    move_to(in, x, y);
    for (int i = 0; i < amount; i++) {
        button_down(in, button);
        button_up(in, button);
    }
    return finish(in, 0);
}

/* ---- lifetime and hygiene ---- */

int input_release_all(struct input *in) {
    char keys[32];
    Window root, child;
    int rx, ry, wx, wy;
    unsigned mask = 0;

    release_held(in);
    if (dead(in))
        return -EIO;
    XQueryKeymap(in->dpy, keys);
    XQueryPointer(in->dpy, DefaultRootWindow(in->dpy), &root, &child, &rx, &ry, &wx, &wy, &mask);
    if (dead(in))
        return -EIO;
    /*
     * Only what deskd pressed in this action or the last one: a person on VNC
     * presses through the same XTest device, so a key down is not ours to
     * release unless we pressed it.
     */
    for (int kc = 8; kc < 256; kc++) {
        uint8_t bit = (uint8_t)(1u << (kc % 8));
        if ((keys[kc / 8] & bit) && ((in->ours[kc / 8] | in->ours_last[kc / 8]) & bit) &&
                !sticky_key(in, (KeyCode)kc))
            fake_key(in, (unsigned)kc, false);
    }
    unsigned buttons = (in->ours_buttons | in->ours_buttons_last) & ~in->sticky_buttons;
    for (int b = 1; b <= 5; b++)
        if ((mask & (Button1Mask << (b - 1))) && (buttons & (1u << b)))
            send_button(in, b, false);
    /* The core state has no bits for the side buttons: release ours (a release of a button
     * that is up changes nothing). */
    for (int b = INPUT_BUTTON_BACK; b <= INPUT_BUTTON_FORWARD; b++)
        if (buttons & (1u << b))
            send_button(in, b, false);
    int r = finish(in, 0);
    memset(in->ours_last, 0, sizeof in->ours_last);
    in->ours_buttons_last = 0;
    return r;
}

/* ---- what stays held between actions ---- */

int input_key_set(struct input *in, KeySym sym, bool down) {
    if (sym == NoSymbol)
        return -EINVAL;
    int r = 0;
    if (!down) {
        for (int kc = 0; kc < 256; kc++) {
            if (in->sticky_sym[kc] != sym)
                continue;
            in->sticky_sym[kc] = NoSymbol;
            in->sticky_mods &= ~in->sticky_modbits[kc];
            in->sticky_modbits[kc] = 0;
            key_up(in, (KeyCode)kc);
        }
        return finish(in, 0);
    }
    for (int kc = 0; kc < 256; kc++)
        if (in->sticky_sym[kc] == sym)
            return finish(in, 0); /* already held */
    bool keep[256] = {false};
    KeyCode kc = 0;
    int group;
    unsigned level;
    r = load_keymap(in, NULL, false);
    if (r == 0)
        r = key_for_sym(in, sym, IsModifierKey(sym), keep, &kc, &group, &level);
    if (r == 0 && !sticky_key(in, kc)) {
        fake_key(in, kc, true);
        in->last_key_ns = now_ns();
        in->sticky_sym[kc] = sym;
        in->sticky_modbits[kc] = in->xkb->map->modmap[kc];
        in->sticky_mods |= in->sticky_modbits[kc];
    }
    unload_keymap(in);
    return finish(in, r);
}

int input_button_set(struct input *in, int button, bool down, bool move, int x, int y) {
    if (!valid_button(button))
        return finish(in, -EINVAL);
    if (move)
        move_to(in, x, y);
    unsigned bit = 1u << button;
    if (down != !!(in->sticky_buttons & bit)) {
        send_button(in, button, down);
        in->sticky_buttons ^= bit;
    }
    return finish(in, 0);
}

void input_sticky_get(const struct input *in, struct input_sticky *out) {
    memcpy(out->keys, in->sticky_sym, sizeof out->keys);
    out->buttons = in->sticky_buttons;
}

bool input_sticky_any(const struct input *in) {
    for (int kc = 0; kc < 256; kc++)
        if (in->sticky_sym[kc] != NoSymbol)
            return true;
    return in->sticky_buttons != 0;
}

int input_release_sticky(struct input *in, const struct input_sticky *keep) {
    for (int kc = 0; kc < 256; kc++) {
        if (in->sticky_sym[kc] == NoSymbol || (keep && keep->keys[kc] != NoSymbol))
            continue;
        in->sticky_sym[kc] = NoSymbol;
        in->sticky_mods &= ~in->sticky_modbits[kc];
        in->sticky_modbits[kc] = 0;
        key_up(in, (KeyCode)kc);
    }
    for (int b = 1; b < 32; b++) {
        unsigned bit = 1u << b;
        if ((in->sticky_buttons & bit) && !(keep && (keep->buttons & bit))) {
            in->sticky_buttons &= ~bit;
            send_button(in, b, false);
        }
    }
    return finish(in, 0);
}

int input_query_down(struct input *in, struct input_down *out) {
    char keys[32];
    Window root, child;
    int rx, ry, wx, wy;
    unsigned mask = 0;
    memset(out, 0, sizeof *out);
    if (dead(in))
        return -EIO;
    XQueryKeymap(in->dpy, keys);
    XQueryPointer(in->dpy, DefaultRootWindow(in->dpy), &root, &child, &rx, &ry, &wx, &wy, &mask);
    if (dead(in))
        return -EIO;
    for (int kc = 8; kc < 256; kc++) {
        if (!(keys[kc / 8] & (1 << (kc % 8))))
            continue;
        KeySym sym = XkbKeycodeToKeysym(in->dpy, (KeyCode)kc, 0, 0);
        out->keys[out->nkeys++] = sym != NoSymbol ? sym : in->sticky_sym[kc];
    }
    for (int b = 1; b <= 5; b++)
        if (mask & (Button1Mask << (b - 1)))
            out->buttons |= 1u << b;
    out->buttons |= in->sticky_buttons & ((1u << INPUT_BUTTON_BACK) | (1u << INPUT_BUTTON_FORWARD));
    return 0;
}

struct input *input_new(Display *dpy) {
    int ev, err, major = XkbMajorVersion, minor = XkbMinorVersion, op;

    if (!dpy || !XTestQueryExtension(dpy, &ev, &err, &major, &minor))
        return NULL;
    major = XkbMajorVersion;
    minor = XkbMinorVersion;
    if (!XkbQueryExtension(dpy, &op, &ev, &err, &major, &minor))
        return NULL;
    struct input *in = calloc(1, sizeof *in);
    if (!in)
        return NULL;
    in->dpy = dpy;
    return in;
}

void input_set_dead_check(struct input *in, bool (*fn)(void *arg), void *arg) {
    in->dead = fn;
    in->dead_arg = arg;
}

int input_check_cancel(struct input *in) {
    return in->cancel && in->cancel(in->cancel_arg) ? -ECANCELED : 0;
}

void input_set_cancel(struct input *in, int (*fn)(void *arg), void *arg) {
    in->cancel = fn;
    in->cancel_arg = arg;
}

void input_destroy(struct input *in) {
    if (!in)
        return;
    input_release_sticky(in, NULL);
    /* Give back the spare keycodes that still hold our bindings, and only those. */
    if (load_keymap(in, NULL, false) == 0 && keymap_guard(in) == 0) {
        for (int kc = in->xkb->min_key_code; kc <= in->xkb->max_key_code; kc++) {
            if (in->slot[kc].bound[0] == NoSymbol)
                continue;
            KeySym none = NoSymbol;
            XChangeKeyboardMapping(in->dpy, kc, 1, &none, 1);
        }
    }
    unload_keymap(in);
    sync_check(in);
    drain_mapping_notify(in);
    free(in);
}
