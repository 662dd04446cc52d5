/*
 * result: the free functions of libdesk's result structs and the names of its small enums.
 * Every free accepts NULL and a half-built struct (lists count only finished elements), so
 * the parsers in wire.c can use them on their error paths. Nothing here allocates.
 */
#include <stdlib.h>

#include "desk/desk.h"
#include "desk/wire.h"

void desk_free(void *p) {
    free(p);
}

void desk_image_free(struct desk_image *img) {
    if (!img)
        return;
    free(img->data);
    free(img);
}

void desk_display_info_free(struct desk_display_info *info) {
    if (!info)
        return;
    free(info->displays);
    free(info);
}

void desk_window_list_free(struct desk_window_list *list) {
    if (!list)
        return;
    for (size_t i = 0; i < list->count; i++) {
        free(list->windows[i].title);
        free(list->windows[i].type);
        free(list->windows[i].states);
    }
    free(list->windows);
    free(list);
}

void desk_app_list_free(struct desk_app_list *list) {
    if (!list)
        return;
    for (size_t i = 0; i < list->count; i++)
        free(list->apps[i].command);
    free(list->apps);
    free(list);
}

void desk_processes_free(struct desk_processes *p) {
    if (!p)
        return;
    for (size_t i = 0; i < p->count; i++)
        free(p->procs[i].name);
    free(p->procs);
    free(p->message);
    free(p);
}

static void recording_finish(struct desk_recording *r) {
    free(r->id);
    free(r->file_name);
    free(r->file_path);
    free(r->start_time);
    free(r->end_time);
    free(r->reason);
}

void desk_recording_free(struct desk_recording *r) {
    if (!r)
        return;
    recording_finish(r);
    free(r);
}

void desk_recording_list_free(struct desk_recording_list *list) {
    if (!list)
        return;
    for (size_t i = 0; i < list->count; i++)
        recording_finish(&list->items[i]);
    free(list->items);
    free(list);
}

const char *desk_recording_state_name(enum desk_recording_state state) {
    static const char *const names[] = {[DESK_RECORDING_ACTIVE] = "recording",
            [DESK_RECORDING_COMPLETED] = "completed",
            [DESK_RECORDING_FAILED] = "failed"};
    unsigned i = (unsigned)state;
    return i < sizeof names / sizeof names[0] ? names[i] : NULL;
}

void desk_vnc_free(struct desk_vnc *v) {
    if (!v)
        return;
    free(v->url);
    free(v->password);
    free(v->link_url);
    free(v);
}

static void vnc_link_finish(struct desk_vnc_link *l) {
    free(l->id);
    free(l->url);
    free(l->expires_at);
}

void desk_vnc_link_free(struct desk_vnc_link *l) {
    if (!l)
        return;
    vnc_link_finish(l);
    free(l);
}

void desk_vnc_link_list_free(struct desk_vnc_link_list *list) {
    if (!list)
        return;
    for (size_t i = 0; i < list->count; i++)
        vnc_link_finish(&list->items[i]);
    free(list->items);
    free(list);
}

const char *desk_holder_name(enum desk_holder holder) {
    return holder == DESK_HOLDER_AGENT ? "agent" : holder == DESK_HOLDER_HUMAN ? "human" : NULL;
}

/* libdesk's enum and the wire table list the formats in the same order. */
_Static_assert(DESK_IMAGE_PNG == 0 && DESK_IMAGE_JPEG == 1 && DESK_IMAGE_WEBP == 2 &&
                       DESK_WIRE_NFORMATS == 3,
        "enum desk_image_format follows DESK_WIRE_IMAGE_FORMATS");

const char *desk_image_format_name(enum desk_image_format format) {
    return (int)format >= 0 && (int)format < DESK_WIRE_NFORMATS ? desk_wire_format_names[format]
                                                                : NULL;
}

const char *desk_desktop_state_name(enum desk_desktop_state state) {
    static const char *const names[] = {[DESK_DESKTOP_INACTIVE] = "inactive",
            [DESK_DESKTOP_PARTIAL] = "partial",
            [DESK_DESKTOP_ACTIVE] = "active"};
    unsigned i = (unsigned)state;
    return i < sizeof names / sizeof names[0] ? names[i] : NULL;
}

void desk_held_free(struct desk_held *h) {
    if (!h)
        return;
    for (size_t i = 0; i < h->nkeys; i++)
        free(h->keys[i]);
    for (size_t i = 0; i < h->nbuttons; i++)
        free(h->buttons[i]);
    free(h->keys);
    free(h->buttons);
    free(h);
}

void desk_actions_result_free(struct desk_actions_result *r) {
    if (!r)
        return;
    free(r->points);
    free(r->has_point);
    desk_image_free(r->screenshot);
    free(r);
}
