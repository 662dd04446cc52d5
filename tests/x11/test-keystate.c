/*
 * Input requests change nothing in the keyboard beyond their own keys: key
 * names whose XKB actions switch accessibility or pointer-emulation features
 * are refused with a 400 that names them; and when deskd is told to accept
 * them (--allow-state-keys), what they switch is switched back before the
 * request answers.
 */
#include <X11/XKBlib.h>
#include <X11/keysym.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "deskproc.h"
#include "http.h"
#include "xserver.h"

static unsigned enabled_controls(Display *dpy) {
    XkbDescPtr xkb = XkbAllocKeyboard();
    unsigned on = ~0u;
    if (xkb && XkbGetControls(dpy, XkbControlsEnabledMask, xkb) == Success)
        on = xkb->ctrls->enabled_ctrls;
    XkbFreeKeyboard(xkb, 0, True);
    return on;
}

static long post_key(const char *base, const char *key, char *body, size_t len) {
    char url[256], json[128];
    snprintf(url, sizeof url, "%s/computeruse/keyboard/key", base);
    snprintf(json, sizeof json, "{\"key\":\"%s\"}", key);
    const char *hdr[] = {"Content-Type: application/json", NULL};
    struct http_resp r;
    http_request("POST", url, json, hdr, &r);
    snprintf(body, len, "%s", r.body ? r.body : "");
    long status = r.status;
    http_resp_free(&r);
    return status;
}

int main(void) {
    check_timeout(90);
    check_require_tool("Xvfb");
    struct xserver xs;
    if (xserver_start_xvfb(&xs, 320, 240) < 0)
        return 1;
    Display *dpy = XOpenDisplay(xs.name);
    CHECK(dpy, "open %s", xs.name);
    struct deskd_proc d;
    if (!dpy || deskd_start(&d, xs.name, NULL) < 0) {
        CHECK(false, "deskd did not start");
        return check_finish();
    }
    unsigned before = enabled_controls(dpy);
    CHECK(!(before & (XkbStickyKeysMask | XkbSlowKeysMask)), "controls at start %#x", before);

    char body[1024];
    const char *refused[] = {"SlowKeys_Enable", "StickyKeys_Enable", "MouseKeys_Enable",
            "Pointer_EnableKeys", "Pointer_Button1", "ISO_Level3_Latch", "Terminate_Server"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        CHECK_INT(post_key(d.url, refused[i], body, sizeof body), 400);
        CHECK(strstr(body, refused[i]) && strstr(body, "INVALID_PARAMETER"), "the 400 names %s: %s",
                refused[i], body);
    }
    CHECK_INT(enabled_controls(dpy), before);

    CHECK_INT(deskd_stop(&d), 0);
    if (check_failed)
        deskd_dump_log(&d);

    /* Accepted on request: pressed, and undone. */
    const char *allow[] = {"--allow-state-keys", NULL};
    if (deskd_start(&d, xs.name, allow) < 0) {
        CHECK(false, "deskd --allow-state-keys did not start");
        return check_finish();
    }
    const char *switches[] = {"StickyKeys_Enable", "SlowKeys_Enable", "MouseKeys_Enable"};
    for (size_t i = 0; i < sizeof switches / sizeof switches[0]; i++) {
        CHECK_INT(post_key(d.url, switches[i], body, sizeof body), 200);
        unsigned after = enabled_controls(dpy);
        CHECK(after == before, "after %s: controls %#x, were %#x", switches[i], after, before);
    }
    /* With StickyKeys on, a lone modifier latches: not left latched for the next client. */
    CHECK_INT(post_key(d.url, "ctrl", body, sizeof body), 200);
    XkbStateRec st;
    CHECK(XkbGetState(dpy, XkbUseCoreKbd, &st) == Success && st.latched_mods == 0,
            "no latched modifiers (%#x)", st.latched_mods);
    CHECK_INT(deskd_stop(&d), 0);
    if (check_failed)
        deskd_dump_log(&d);
    XCloseDisplay(dpy);
    xserver_stop(&xs);
    return check_finish();
}
