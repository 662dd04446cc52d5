/*
 * libFuzzer harness: libdesk's reply parsing (client/wire.c), every reply
 * shape, on arbitrary bodies and HTTP statuses. Whatever it returns, it must
 * not crash, leak or read out of bounds.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2)
        return 0;
    static const long statuses[] = {200, 400, 401, 404, 409, 413, 500, 503};
    long http = statuses[data[0] & 7];
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    struct desk_err e = {0};
    char *version = NULL;
    wire_error_reply(http, body, len, &e);
    if (wire_health(body, len, &e, &version) == DESK_OK)
        free(version);
    struct desk_point p;
    wire_point(body, len, &e, &p);
    wire_success(body, len, &e);
    wire_object(body, len, &e);
    bool running;
    wire_running(body, len, &e, &running);
    struct desk_vnc *vnc = NULL;
    if (wire_vnc(body, len, &e, &vnc) == DESK_OK)
        desk_vnc_free(vnc);
    struct desk_display_info *info = NULL;
    if (wire_display_info(body, len, &e, &info) == DESK_OK)
        desk_display_info_free(info);
    struct desk_window_list *wins = NULL;
    if (wire_windows(body, len, &e, &wins) == DESK_OK)
        desk_window_list_free(wins);
    struct desk_processes *procs = NULL;
    if (wire_processes(body, len, &e, &procs) == DESK_OK)
        desk_processes_free(procs);
    enum desk_desktop_state state;
    wire_state(body, len, &e, &state);
    char *text = NULL;
    if (wire_text(body, len, "logs", &e, &text) == DESK_OK)
        free(text);
    struct desk_image *img = NULL;
    if (wire_image_json(body, len, &e, &img) == DESK_OK)
        desk_image_free(img);
    return 0;
}
