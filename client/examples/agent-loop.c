/*
 * agent-loop: the shape of an agent's step on libdesk. Look (a JPEG screenshot, fetched as
 * image bytes), act (click the middle of the screen, type a line), look again, and report
 * how long each step took. A real agent would send the image to its model and act on the
 * answer; this one acts on the screen's size alone.
 *
 * usage: desk-agent-loop [URL] [STEPS]   (token from DESK_TOKEN)
 */
#include <desk/desk.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int fail(desk_client *c, const char *what) {
    fprintf(stderr, "%s: %s (%s)\n", what, desk_last_error(c),
            desk_status_name(desk_last_status(c)));
    desk_client_free(c);
    return 1;
}

int main(int argc, char **argv) {
    desk_client *c = desk_client_new(argc > 1 ? argv[1] : NULL);
    long steps = argc > 2 ? strtol(argv[2], NULL, 10) : 3;
    if (!c || desk_last_status(c) != DESK_OK || desk_client_set_token(c, getenv("DESK_TOKEN")))
        return c ? fail(c, "set-up") : 1;

    const struct desk_compress look = {.format = DESK_IMAGE_JPEG, .quality = 75};
    struct desk_image *img = NULL;
    for (int step = 0; step < steps; step++) {
        double t0 = now_ms();
        if (desk_screenshot_compressed(c, &look, &img) != DESK_OK)
            return fail(c, "screenshot");
        double t1 = now_ms();
        int x = img->width / 2, y = img->height / 2;
        desk_image_free(img);
        if (desk_mouse_click(c, x, y, DESK_BUTTON_LEFT, false, NULL) != DESK_OK)
            return fail(c, "click");
        if (desk_keyboard_type(c, "hello from libdesk\n", 0) != DESK_OK)
            return fail(c, "type");
        double t2 = now_ms();
        if (desk_screenshot_compressed(c, &look, &img) != DESK_OK)
            return fail(c, "screenshot");
        double t3 = now_ms();
        printf("step %d: look %.1f ms (%zu bytes), act %.1f ms, look again %.1f ms\n", step,
                t1 - t0, img->size, t2 - t1, t3 - t2);
        desk_image_free(img);
    }
    printf("%ld connection(s) for %ld steps\n", desk_client_connections(c), steps);
    desk_client_free(c);
    return 0;
}
