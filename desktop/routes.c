/*
 * routes: every route deskd serves, as the list of the api-*.c tables. A new
 * route is a row in its api file; a new api file api-NAME.c, exporting
 * api_NAME_routes, is one X(NAME) line here (CMake compiles every api-*.c).
 * The health route lives here: it belongs to no group and needs nothing.
 */
#include "deskd.h"

static void api_healthz(struct req *r) {
    reply_json(r, 200, json_pack("{s:s, s:s}", "status", "ok", "version", DESK_VERSION));
}

static const struct route health_routes[] = {
        {"GET", "/healthz", api_healthz, ROUTE_PUBLIC},
        {NULL, NULL, NULL, 0},
};

#define ROUTE_GROUPS(X)                                                                            \
    X(ready)                                                                                       \
    X(screenshot)                                                                                  \
    X(screen)                                                                                      \
    X(display)                                                                                     \
    X(windows)                                                                                     \
    X(clipboard)                                                                                   \
    X(apps)                                                                                        \
    X(input)                                                                                       \
    X(actions)                                                                                     \
    X(tools)                                                                                       \
    X(process)                                                                                     \
    X(a11y)                                                                                        \
    X(recordings)                                                                                  \
    X(mcp)                                                                                         \
    X(takeover)

#define DECLARE_GROUP_(name) extern const struct route api_##name##_routes[];
ROUTE_GROUPS(DECLARE_GROUP_)

#define LIST_GROUP_(name) api_##name##_routes,
const struct route *const deskd_routes[] = {health_routes, ROUTE_GROUPS(LIST_GROUP_) NULL};
