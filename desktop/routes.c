/*
 * routes: every route deskd serves, as the list of the api-*.c tables. A new
 * route is a row in its api file; a new api file is one line here. The
 * health route lives here: it belongs to no route group and needs nothing.
 */
#include "deskd.h"

static void api_healthz(struct req *r) {
    reply_json(r, 200, json_pack("{s:s, s:s}", "status", "ok", "version", DESK_VERSION));
}

static const struct route health_routes[] = {
        {"GET", "/healthz", api_healthz, ROUTE_PUBLIC},
        {NULL, NULL, NULL, 0},
};

const struct route *const deskd_routes[] = {
        health_routes,
        api_screenshot_routes,
        api_display_routes,
        api_windows_routes,
        api_input_routes,
        api_process_routes,
        NULL,
};
