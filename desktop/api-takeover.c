/*
 * api-takeover: taking over from a browser (API.md §16). The API side
 * (bearer token): links to the live view and who holds control. The browser
 * side under /vnc/ (a link's token instead, never the API's): deskd's own page
 * around noVNC's RFB module, noVNC's files from Debian's novnc package, the
 * control buttons' route, and the WebSocket bridged to x11vnc (bridge.c).
 *
 * A link's token arrives once in the page's query (?token=) and is kept in a
 * cookie scoped to /vnc/ (HttpOnly, SameSite=Strict), which the page's
 * scripts, its WebSocket and its control requests carry.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bridge.h"
#include "deskd.h"
#include "params.h"
#include "stack.h"
#include "takeover.h"

#define COOKIE "desk_vnc"

static const char page_html[] =
        "<!DOCTYPE html>\n"
        "<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
        "<title>desk: live view</title>\n"
        "<style>\n"
        "body{margin:0;background:#1e1e1e;color:#eee;font:14px system-ui,sans-serif}\n"
        "#bar{display:flex;gap:14px;align-items:center;padding:6px 10px;background:#333}\n"
        "#bar button{font:inherit;padding:3px 10px}\n"
        "#screen{width:100vw;height:calc(100vh - 40px)}\n"
        "</style></head>\n"
        "<body data-state=\"connecting\">\n"
        "<div id=\"bar\"><span id=\"status\">connecting</span><span id=\"control\"></span>\n"
        "<button id=\"take\" hidden>Take control</button>"
        "<button id=\"give\" hidden>Give back</button></div>\n"
        "<div id=\"screen\"></div>\n"
        "<script type=\"module\">\n"
        "import RFB from './core/rfb.js';\n"
        "// The token is in the cookie now: keep it out of the address bar and history.\n"
        "if (location.search) history.replaceState(null, '', location.pathname);\n"
        "const $ = (id) => document.getElementById(id);\n"
        "async function control(body) {\n"
        "  const r = await fetch('control', body ? {method: 'POST',\n"
        "    headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)} : {});\n"
        "  return r.ok ? r.json() : null;\n"
        "}\n"
        "function show(c) {\n"
        "  if (!c) return;\n"
        "  const since = new Date(c.since).toLocaleTimeString();\n"
        "  $('control').textContent = c.holder === 'human'\n"
        "    ? `A person has control since ${since}: the agent's input is refused`\n"
        "    : `The agent has control since ${since}`;\n"
        "  $('take').hidden = c.viewOnly || c.holder === 'human';\n"
        "  $('give').hidden = c.viewOnly || c.holder !== 'human';\n"
        "  document.body.dataset.holder = c.holder;\n"
        "}\n"
        "const info = await control();\n"
        "show(info);\n"
        "const ws = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host +\n"
        "  '/vnc/websockify';\n"
        "const rfb = new RFB($('screen'), ws, {shared: true});\n"
        "rfb.viewOnly = !info || info.viewOnly;\n"
        "window.deskRfb = rfb;\n"
        "rfb.addEventListener('connect', () => {\n"
        "  $('status').textContent = rfb.viewOnly ? 'Connected, view only.' : 'Connected.';\n"
        "  document.body.dataset.state = 'connected';\n"
        "});\n"
        "rfb.addEventListener('disconnect', () => {\n"
        "  $('status').textContent = 'Disconnected (the link expired, was revoked, or deskd "
        "stopped).';\n"
        "  document.body.dataset.state = 'disconnected';\n"
        "});\n"
        "$('take').onclick = async () => show(await control({holder: 'human'}));\n"
        "$('give').onclick = async () => show(await control({holder: 'agent'}));\n"
        "setInterval(async () => show(await control()), 1000);\n"
        "</script></body></html>\n";

/* The link whose token the request carries (?token= first, then the cookie): 0 or -ENOENT. */
static int request_link(struct req *r, struct link_info *link, const char **token) {
    const char *q = req_arg(r, "token"), *c = req_cookie(r, COOKIE);
    if (q && link_by_token(q, link) == 0) {
        *token = q;
        return 0;
    }
    if (c && link_by_token(c, link) == 0) {
        *token = c;
        return 0;
    }
    return -ENOENT;
}

static bool need_link(struct req *r, struct link_info *link, const char **token) {
    if (request_link(r, link, token) == 0)
        return true;
    reply_error(r, ERR_UNAUTHORIZED,
            "the live view needs a live link's token: open the url of POST /computeruse/vnc/links "
            "(links expire, and revoked ones are refused)");
    return false;
}

/* "http://HOST" as the client reached deskd, for link urls; false after a 400. */
static bool base_url(struct req *r, char *out, size_t len) {
    const char *h = req_header(r, "Host");
    bool ok = h && *h && strlen(h) < 200;
    for (const char *p = h; ok && *p; p++)
        ok = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]", *p);
    if (!ok) {
        reply_error(r, ERR_INVALID_PARAMETER,
                "the Host header must name this server (a host name or address, and a port), "
                "to make the link's url");
        return false;
    }
    snprintf(out, len, "http://%s", h);
    return true;
}

static void iso_time(int64_t ms, char *buf, size_t len) {
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    char day[32];
    strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, len, "%s.%03dZ", day, (int)(ms % 1000));
}

static json_t *link_json(const struct link_info *l, const char *url) {
    char when[40];
    iso_time(l->expires_ms, when, sizeof when);
    json_t *o =
            json_pack("{s:s, s:s, s:b}", "id", l->id, "expiresAt", when, "viewOnly", l->view_only);
    if (url)
        json_object_set_new(o, "url", json_string(url));
    else
        json_object_set_new(o, "sessions", json_integer(l->sessions));
    return o;
}

/* Makes a link and its JSON ({"id","url","expiresAt","viewOnly"}); NULL after replying. */
static json_t *make_link(struct req *r, int ttl, bool view_only) {
    char base[256], token[LINK_TOKEN_LEN + 1], url[400];
    struct link_info l;
    if (!base_url(r, base, sizeof base))
        return NULL;
    int rc = link_create(ttl, view_only, &l, token);
    if (rc == -ENOSPC) {
        reply_error(r, ERR_CONFLICT, "%d links are alive already; revoke one first", LINKS_MAX);
        return NULL;
    }
    if (rc < 0) {
        reply_error(r, ERR_INTERNAL, "cannot make a link token: %s", strerror(-rc));
        return NULL;
    }
    snprintf(url, sizeof url, "%s/vnc/?token=%s", base, token);
    explicit_bzero(token, sizeof token);
    json_t *o = link_json(&l, url);
    explicit_bzero(url, sizeof url);
    return o;
}

/* Whether deskd runs x11vnc (else 409 ATTACHED). */
static bool managed(struct req *r) {
    char pw[32];
    int port;
    const char *dir;
    bool ok = stack_rfb(&port, pw, sizeof pw, &dir);
    explicit_bzero(pw, sizeof pw);
    if (!ok)
        reply_error(r, ERR_ATTACHED,
                "deskd is attached to an existing display (--attach); it runs no VNC server to "
                "view it through");
    return ok;
}

json_t *takeover_full_link(struct req *r) {
    return managed(r) ? make_link(r, LINK_TTL_DFLT, false) : NULL;
}

static void api_links_create(struct req *r) {
    char err[256];
    int ttl = LINK_TTL_DFLT;
    bool view_only = false;
    json_t *body = NULL;
    if (r->body_len) {
        json_error_t jerr;
        body = json_loadb(r->body, r->body_len, 0, &jerr);
        if (!json_is_object(body)) {
            json_decref(body);
            reply_error(r, ERR_INVALID_BODY,
                    "the request body must be a JSON object: {\"ttlSeconds\"?, \"viewOnly\"?}");
            return;
        }
    }
    if (body && (body_int(body, "ttlSeconds", false, 1, LINK_TTL_MAX, &ttl, err, sizeof err) < 0 ||
                        body_bool(body, "viewOnly", &view_only, err, sizeof err) < 0)) {
        reply_error(r, ERR_INVALID_PARAMETER, "%s", err);
    } else if (managed(r)) {
        json_t *o = make_link(r, ttl, view_only);
        if (o)
            reply_json(r, 201, o);
    }
    json_decref(body);
}

static void api_links_list(struct req *r) {
    struct link_info *all = calloc(LINKS_MAX, sizeof *all);
    if (!all) {
        reply_error(r, ERR_INTERNAL, "out of memory for the list of links");
        return;
    }
    json_t *arr = json_array();
    int n = link_list(all, LINKS_MAX);
    for (int i = 0; i < n; i++)
        json_array_append_new(arr, link_json(&all[i], NULL));
    free(all);
    reply_json(r, 200, json_pack("{s:o}", "links", arr));
}

static void api_links_revoke(struct req *r) {
    if (link_revoke(r->path_param) < 0)
        reply_error(r, ERR_NOT_FOUND,
                "no live link has id %s (GET /computeruse/vnc/links lists them; expired ones are "
                "gone)",
                r->path_param);
    else
        reply_bytes(r, 204, NULL, NULL, 0, NULL);
}

static json_t *control_json(const struct link_info *link) {
    int64_t since;
    enum holder h = control_get(&since);
    char when[40];
    iso_time(since, when, sizeof when);
    json_t *o = json_pack("{s:s, s:s}", "holder", control_name(h), "since", when);
    if (link)
        json_object_set_new(o, "viewOnly", json_boolean(link->view_only));
    return o;
}

/* Reads {"holder": "agent"|"human"}; false after a 400. */
static bool parse_holder(struct req *r, enum holder *h) {
    char err[256];
    const char *name = NULL;
    if (body_string(r->json, "holder", true, &name, NULL, err, sizeof err) < 0) {
        reply_error(r, ERR_INVALID_PARAMETER, "%s", err);
        return false;
    }
    if (strcmp(name, "agent") != 0 && strcmp(name, "human") != 0) {
        reply_error(r, ERR_INVALID_PARAMETER, "holder must be \"agent\" or \"human\", got \"%s\"",
                name);
        return false;
    }
    *h = strcmp(name, "human") == 0 ? HOLDER_HUMAN : HOLDER_AGENT;
    return true;
}

/* Releases what deskd's input holds (keyboard/down, mouse/down), below the gate. */
static int release_job(struct input *in, void *arg) {
    (void)arg;
    int rc = input_release_sticky(in, NULL);
    return rc < 0 ? rc : input_release_all(in);
}

static void hand_over(struct req *r, enum holder h, const char *by) {
    bool taking = h == HOLDER_HUMAN && !control_human();
    control_set(h, by);
    if (taking) {
        /* The gate is closed now; what the agent still holds down would be under the person's
         * fingers, so it is released (after any input job already running). */
        struct inputw_job job = {.fn = release_job, .cost_ms = INPUTW_JOB_BASE_MS};
        char err[128];
        inputw_run(req_deskd(r)->input, &job, NULL, err, sizeof err);
    }
}

static void api_control_get(struct req *r) {
    reply_json(r, 200, control_json(NULL));
}

static void api_control_set(struct req *r) {
    enum holder h;
    if (parse_holder(r, &h)) {
        hand_over(r, h, "the API");
        reply_json(r, 200, control_json(NULL));
    }
}

/* The page and noVNC's files. */
static void vnc_page(struct req *r) {
    struct link_info link;
    const char *token;
    if (!need_link(r, &link, &token))
        return;
    char cookie[160];
    int64_t left = (link.expires_ms - (int64_t)time(NULL) * 1000) / 1000;
    snprintf(cookie, sizeof cookie,
            COOKIE "=%s; Path=/vnc/; Max-Age=%lld; HttpOnly; SameSite=Strict", token,
            (long long)(left > 0 ? left : 1));
    const char *headers[] = {"Set-Cookie", cookie, "Cache-Control", "no-store", "Referrer-Policy",
            "no-referrer", "X-Content-Type-Options", "nosniff", NULL};
    reply_bytes(r, 200, "text/html; charset=utf-8", page_html, sizeof page_html - 1, headers);
    explicit_bzero(cookie, sizeof cookie);
}

static const char *mime_of(const char *path) {
    static const char *const types[][2] = {{".js", "text/javascript; charset=utf-8"},
            {".html", "text/html; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
            {".svg", "image/svg+xml"}, {".png", "image/png"}, {".ico", "image/x-icon"},
            {".json", "application/json"}, {".ogg", "audio/ogg"}, {".mp3", "audio/mpeg"},
            {".woff", "font/woff"}, {".woff2", "font/woff2"}};
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i][0]) == 0)
            return types[i][1];
    return "application/octet-stream";
}

/* A path below noVNC's directory: segments of visible names only (no "..", ".", "", ".x"). */
static bool safe_path(const char *p) {
    for (const char *seg = p; *seg;) {
        size_t n = strcspn(seg, "/");
        if (n == 0 || seg[0] == '.' || memchr(seg, '\\', n))
            return false;
        seg += n + (seg[n] == '/');
        if (seg[-1] == '/' && !*seg)
            return false; /* a trailing slash names a directory */
    }
    return true;
}

static void vnc_file(struct req *r) {
    struct link_info link;
    const char *token;
    if (!need_link(r, &link, &token))
        return;
    char pw[32], path[512];
    int port;
    const char *dir = NULL;
    bool ok = stack_rfb(&port, pw, sizeof pw, &dir);
    explicit_bzero(pw, sizeof pw);
    if (!ok || !safe_path(r->path_param)) {
        reply_error(r, ERR_NOT_FOUND, "no file /vnc/%s", r->path_param);
        return;
    }
    snprintf(path, sizeof path, "%s/%s", dir, r->path_param);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    /* Directories are not listed: only regular files are served. */
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        reply_error(r, ERR_NOT_FOUND, "no file /vnc/%s", r->path_param);
        return;
    }
    const char *headers[] = {
            "X-Content-Type-Options", "nosniff", "Cache-Control", "no-cache", NULL};
    reply_fd(r, 200, mime_of(path), fd, 0, (uint64_t)st.st_size, headers);
}

static void vnc_control_get(struct req *r) {
    struct link_info link;
    const char *token;
    if (need_link(r, &link, &token))
        reply_json(r, 200, control_json(&link));
}

static void vnc_control_set(struct req *r) {
    struct link_info link;
    const char *token;
    enum holder h;
    if (!need_link(r, &link, &token))
        return;
    if (link.view_only) {
        reply_error(r, ERR_UNAUTHORIZED,
                "this link is view-only: it cannot take or give back control (make a full-control "
                "link)");
        return;
    }
    if (!parse_holder(r, &h))
        return;
    char by[64];
    snprintf(by, sizeof by, "the browser on link %s", link.id);
    hand_over(r, h, by);
    reply_json(r, 200, control_json(&link));
}

/* Whether the comma-separated header value h has token t (any case). */
static bool header_has(const char *h, const char *t) {
    size_t n = strlen(t);
    for (const char *p = h; p && *p;) {
        p += strspn(p, " \t,");
        size_t len = strcspn(p, ",");
        size_t end = len;
        while (end > 0 && (p[end - 1] == ' ' || p[end - 1] == '\t'))
            end--;
        if (end == n && strncasecmp(p, t, n) == 0)
            return true;
        p += len;
    }
    return false;
}

static void vnc_websockify(struct req *r) {
    struct link_info link;
    const char *token;
    if (!need_link(r, &link, &token))
        return;
    const char *origin = req_header(r, "Origin"), *host = req_header(r, "Host");
    if (origin && host) {
        const char *o = strstr(origin, "://");
        if (!o || strcmp(o + 3, host) != 0) {
            reply_error(r, ERR_UNAUTHORIZED,
                    "the WebSocket's Origin %s is not this server (%s): only deskd's own page "
                    "may open it",
                    origin, host);
            return;
        }
    }
    const char *key = req_header(r, "Sec-WebSocket-Key");
    const char *ver = req_header(r, "Sec-WebSocket-Version");
    if (!header_has(req_header(r, "Upgrade"), "websocket") ||
            !header_has(req_header(r, "Connection"), "upgrade")) {
        reply_error(r, ERR_INVALID_PARAMETER,
                "/vnc/websockify is a WebSocket: send Upgrade: websocket and Connection: Upgrade");
        return;
    }
    if (!ver || strcmp(ver, "13") != 0 || !key || strlen(key) != 24) {
        reply_error(r, ERR_INVALID_PARAMETER,
                "Sec-WebSocket-Version must be 13 and Sec-WebSocket-Key 24 base64 characters");
        return;
    }
    char pw[32];
    int port;
    const char *dir;
    if (!stack_rfb(&port, pw, sizeof pw, &dir)) {
        managed(r);
        return;
    }
    void *s = bridge_session_new(&link, port, pw);
    explicit_bzero(pw, sizeof pw);
    if (!s) {
        reply_error(r, ERR_SHUTTING_DOWN, "deskd is stopping: no new live-view sessions");
        return;
    }
    char accept[29];
    bridge_accept_key(key, accept);
    const char *proto = req_header(r, "Sec-WebSocket-Protocol");
    bool binary = proto && header_has(proto, "binary");
    const char *headers[] = {"Upgrade", "websocket", "Sec-WebSocket-Accept", accept,
            binary ? "Sec-WebSocket-Protocol" : NULL, "binary", NULL};
    reply_upgrade(r, headers, bridge_upgraded, bridge_discard, s);
}

const struct route api_takeover_routes[] = {
        {"POST", "/computeruse/vnc/links", api_links_create, 0},
        {"GET", "/computeruse/vnc/links", api_links_list, 0},
        {"DELETE", "/computeruse/vnc/links/*", api_links_revoke, 0},
        {"GET", "/computeruse/control", api_control_get, 0},
        {"POST", "/computeruse/control", api_control_set, ROUTE_JSON},
        {"GET", "/vnc/", vnc_page, ROUTE_PUBLIC},
        {"GET", "/vnc/websockify", vnc_websockify, ROUTE_PUBLIC},
        {"GET", "/vnc/control", vnc_control_get, ROUTE_PUBLIC},
        {"POST", "/vnc/control", vnc_control_set, ROUTE_PUBLIC | ROUTE_JSON},
        {"GET", "/vnc/**", vnc_file, ROUTE_PUBLIC},
        {NULL, NULL, NULL, 0},
};
