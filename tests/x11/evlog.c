/*
 * evlog: the tests' X client. It opens $DISPLAY, maps a window (optionally
 * painted and focused) and prints one line per input event on stdout,
 * flushed at once, so that a test can see what an X client received:
 *
 *   ready <window id>                      once mapped (and focused with --focus)
 *   key <keysym name> <state hex> <text> kc=<keycode>
 *                                          KeyPress; text is the UTF-8 that
 *                                          Xutf8LookupString gives, in hex, "-" if none
 *   keyup <keycode> <state hex>            KeyRelease
 *   press <button> <x_root> <y_root> <time> <state hex>
 *   release <button> <x_root> <y_root> <time> <state hex>
 *   motion <x_root> <y_root>
 *
 * It refreshes its keymap on MappingNotify, so remapped keycodes read right.
 * It does nothing else: no drawing beyond the background, no exit but by
 * signal or by the X connection closing.
 *
 * With --freeze MS/N it also plays a slow window manager: it grabs every
 * button on its window synchronously (as xfwm4 does for click-to-focus), so
 * the X server freezes the pointer at each press, and on every Nth press it
 * lets events through only MS milliseconds later. --ignore-term makes it
 * ignore SIGTERM (for tests of stopping a stubborn program).
 *
 * usage: evlog [--geometry WxH+X+Y] [--title TEXT] [--color NAME] [--focus] [--freeze MS/N]
 *              [--ignore-term]
 */
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <X11/keysym.h>
#include <locale.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void print_text(const char *s, int n) {
    if (n <= 0) {
        fputs("-", stdout);
        return;
    }
    for (int i = 0; i < n; i++)
        printf("%02x", (unsigned char)s[i]);
}

static void print_key(XIC ic, XKeyEvent *ev) {
    char small[64], *buf = small;
    int cap = sizeof small, n;
    KeySym sym = NoSymbol;
    Status status = 0;

    if (ic) {
        n = Xutf8LookupString(ic, ev, buf, cap, &sym, &status);
        if (status == XBufferOverflow) {
            cap = n + 1;
            buf = malloc((size_t)cap);
            if (!buf)
                return;
            n = Xutf8LookupString(ic, ev, buf, cap, &sym, &status);
        }
        if (status != XLookupChars && status != XLookupBoth)
            n = 0;
        if (status != XLookupKeySym && status != XLookupBoth)
            sym = XLookupKeysym(ev, 0);
    } else {
        n = XLookupString(ev, buf, cap, &sym, NULL);
    }
    const char *name = sym == NoSymbol ? "NoSymbol" : XKeysymToString(sym);
    if (name)
        printf("key %s 0x%x ", name, ev->state);
    else
        printf("key 0x%lx 0x%x ", sym, ev->state);
    print_text(buf, n);
    printf(" kc=%u\n", ev->keycode);
    fflush(stdout);
    if (buf != small)
        free(buf);
}

static bool parse_geometry(const char *s, unsigned *w, unsigned *h, int *x, int *y) {
    int flags = XParseGeometry(s, x, y, w, h);
    return (flags & WidthValue) && (flags & HeightValue);
}

int main(int argc, char **argv) {
    unsigned width = 400, height = 300;
    int x = 0, y = 0;
    const char *title = "evlog", *color = NULL;
    bool focus = false;
    int freeze_ms = 0, freeze_every = 0, presses = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--geometry") == 0 && i + 1 < argc) {
            if (!parse_geometry(argv[++i], &width, &height, &x, &y)) {
                fprintf(stderr, "evlog: bad geometry %s\n", argv[i]);
                return 2;
            }
        } else if (strcmp(argv[i], "--title") == 0 && i + 1 < argc) {
            title = argv[++i];
        } else if (strcmp(argv[i], "--color") == 0 && i + 1 < argc) {
            color = argv[++i];
        } else if (strcmp(argv[i], "--focus") == 0) {
            focus = true;
        } else if (strcmp(argv[i], "--freeze") == 0 && i + 1 < argc &&
                   sscanf(argv[++i], "%d/%d", &freeze_ms, &freeze_every) == 2 && freeze_every > 0) {
            continue;
        } else if (strcmp(argv[i], "--ignore-term") == 0) {
            signal(SIGTERM, SIG_IGN);
        } else {
            fprintf(stderr,
                    "usage: evlog [--geometry WxH+X+Y] [--title TEXT] [--color NAME] [--focus] "
                    "[--freeze MS/N] [--ignore-term]\n");
            return 2;
        }
    }

    /* Xutf8LookupString gives UTF-8 for any keysym only in a UTF-8 locale. */
    if (!setlocale(LC_ALL, "C.UTF-8") && !setlocale(LC_ALL, "en_US.UTF-8"))
        fprintf(stderr, "evlog: no UTF-8 locale; text beyond Latin-1 will be missing\n");
    if (!XSupportsLocale())
        fprintf(stderr, "evlog: Xlib does not support the locale\n");
    XSetLocaleModifiers("@im=none");

    Display *dpy = XOpenDisplay(NULL);
    if (!dpy) {
        fprintf(stderr, "evlog: cannot open display\n");
        return 1;
    }
    int screen = DefaultScreen(dpy);
    unsigned long bg = BlackPixel(dpy, screen);
    if (color) {
        XColor c, exact;
        if (XAllocNamedColor(dpy, DefaultColormap(dpy, screen), color, &c, &exact))
            bg = c.pixel;
        else
            fprintf(stderr, "evlog: unknown color %s\n", color);
    }

    XSetWindowAttributes attrs = {0};
    attrs.background_pixel = bg;
    attrs.event_mask = KeyPressMask | KeyReleaseMask | ButtonPressMask | ButtonReleaseMask |
                       PointerMotionMask | StructureNotifyMask | FocusChangeMask | ExposureMask;
    Window win = XCreateWindow(dpy, RootWindow(dpy, screen), x, y, width, height, 0, CopyFromParent,
            InputOutput, CopyFromParent, CWBackPixel | CWEventMask, &attrs);
    XSizeHints hints = {0};
    hints.flags = USPosition | USSize;
    hints.x = x;
    hints.y = y;
    hints.width = (int)width;
    hints.height = (int)height;
    XSetWMNormalHints(dpy, win, &hints);
    Xutf8SetWMProperties(dpy, win, title, title, NULL, 0, &hints, NULL, NULL);
    /* Modern clients name themselves in UTF-8 through _NET_WM_NAME as well. */
    XChangeProperty(dpy, win, XInternAtom(dpy, "_NET_WM_NAME", False),
            XInternAtom(dpy, "UTF8_STRING", False), 8, PropModeReplace,
            (const unsigned char *)title, (int)strlen(title));

    XIM im = XOpenIM(dpy, NULL, NULL, NULL);
    XIC ic = NULL;
    if (im)
        ic = XCreateIC(im, XNInputStyle, XIMPreeditNothing | XIMStatusNothing, XNClientWindow, win,
                XNFocusWindow, win, NULL);
    if (!ic)
        fprintf(stderr, "evlog: no input context; falling back to XLookupString\n");
    else
        XSetICFocus(ic);

    if (freeze_every > 0)
        XGrabButton(dpy, AnyButton, AnyModifier, win, False,
                ButtonPressMask | ButtonReleaseMask | PointerMotionMask, GrabModeSync,
                GrabModeAsync, None, None);
    XMapRaised(dpy, win);
    bool mapped = false, focused = !focus, ready = false;
    for (;;) {
        XEvent ev;
        XNextEvent(dpy, &ev);
        if (XFilterEvent(&ev, None))
            continue;
        switch (ev.type) {
        case MapNotify:
            if (ev.xmap.window == win && !mapped) {
                mapped = true;
                if (focus)
                    XSetInputFocus(dpy, win, RevertToParent, CurrentTime);
            }
            break;
        case FocusIn:
            if (ev.xfocus.window == win)
                focused = true;
            break;
        case MappingNotify:
            XRefreshKeyboardMapping(&ev.xmapping);
            break;
        case KeyPress:
            print_key(ic, &ev.xkey);
            break;
        case KeyRelease:
            printf("keyup %u 0x%x\n", ev.xkey.keycode, ev.xkey.state);
            fflush(stdout);
            break;
        case ButtonPress:
        case ButtonRelease:
            printf("%s %u %d %d %lu 0x%x\n", ev.type == ButtonPress ? "press" : "release",
                    ev.xbutton.button, ev.xbutton.x_root, ev.xbutton.y_root,
                    (unsigned long)ev.xbutton.time, ev.xbutton.state);
            fflush(stdout);
            if (ev.type == ButtonPress && freeze_every > 0) {
                /* The pointer is frozen until we allow events: a slow window manager. */
                if (++presses % freeze_every == 0) {
                    struct timespec ts = {freeze_ms / 1000, (freeze_ms % 1000) * 1000000L};
                    nanosleep(&ts, NULL);
                }
                XAllowEvents(dpy, AsyncPointer, CurrentTime);
                XFlush(dpy);
            }
            break;
        case MotionNotify:
            printf("motion %d %d\n", ev.xmotion.x_root, ev.xmotion.y_root);
            fflush(stdout);
            break;
        default:
            break;
        }
        if (!ready && mapped && focused) {
            ready = true;
            printf("ready 0x%lx\n", win);
            fflush(stdout);
        }
    }
}
