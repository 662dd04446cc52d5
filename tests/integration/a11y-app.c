/*
 * a11y-app (integration tests): a small GTK 3 application for the
 * accessibility routes. One window, "desk a11y app", with a button "Press
 * me", a text entry named "Name", a check box "Check me" and a horizontal
 * slider named "Volume" (0-100), placed at fixed offsets in a GtkFixed.
 *
 * It reports on stdout, one line each, flushed:
 *   ready                                  the window is mapped and placed
 *   bounds WIDGET X Y WIDTH HEIGHT         each widget in root coordinates
 *   clicked | entry TEXT | check 0|1 | volume VALUE | focus WIDGET
 * and takes commands on stdin, one a line:
 *   bounds                                 says every widget's bounds again
 *   open                                   opens a second window, "desk a11y second",
 *                                          with a button "Second button"; says "opened"
 *   close                                  destroys it; says "closed"
 *   quit
 * At the end of stdin it takes no more commands and runs on.
 */
#include <atk/atk.h>
#include <gtk/gtk.h>
#include <stdio.h>
#include <string.h>

static GtkWidget *win, *second, *widgets[4];
static const char *const names[4] = {"button", "entry", "check", "volume"};

static void say(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

static void say(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static void say_bounds(void) {
    for (int i = 0; i < 4; i++) {
        GtkAllocation a;
        int ox = 0, oy = 0;
        gtk_widget_get_allocation(widgets[i], &a);
        gdk_window_get_origin(gtk_widget_get_window(widgets[i]), &ox, &oy);
        /* The widgets have no windows of their own: allocations are relative to the toplevel's. */
        say("bounds %s %d %d %d %d", names[i], ox + a.x, oy + a.y, a.width, a.height);
    }
}

static void on_clicked(GtkButton *b, gpointer data) {
    (void)b;
    (void)data;
    say("clicked");
}

static void on_entry(GtkEditable *e, gpointer data) {
    (void)data;
    say("entry %s", gtk_entry_get_text(GTK_ENTRY(e)));
}

static void on_check(GtkToggleButton *t, gpointer data) {
    (void)data;
    say("check %d", gtk_toggle_button_get_active(t) ? 1 : 0);
}

static void on_volume(GtkRange *r, gpointer data) {
    (void)data;
    say("volume %g", gtk_range_get_value(r));
}

static gboolean on_focus(GtkWidget *w, GdkEvent *ev, gpointer name) {
    (void)w;
    (void)ev;
    say("focus %s", (const char *)name);
    return FALSE;
}

static gboolean mapped_later(gpointer data) {
    (void)data;
    say_bounds();
    say("ready");
    return G_SOURCE_REMOVE;
}

static gboolean on_map(GtkWidget *w, GdkEvent *ev, gpointer data) {
    (void)w;
    (void)ev;
    (void)data;
    /* The window manager places the frame after the map: report once things settled. */
    g_timeout_add(300, mapped_later, NULL);
    return FALSE;
}

static void on_second_map(GtkWidget *w, gpointer data) {
    (void)w;
    (void)data;
    say("opened");
}

static gboolean on_stdin(GIOChannel *ch, GIOCondition cond, gpointer data) {
    (void)cond;
    (void)data;
    gchar *line = NULL;
    /* No more commands (stdin at its end, /dev/null): it runs until closed or killed. */
    if (g_io_channel_read_line(ch, &line, NULL, NULL, NULL) != G_IO_STATUS_NORMAL)
        return G_SOURCE_REMOVE;
    g_strstrip(line);
    if (strcmp(line, "bounds") == 0) {
        say_bounds();
        say("done");
    } else if (strcmp(line, "open") == 0 && !second) {
        second = gtk_window_new(GTK_WINDOW_TOPLEVEL);
        gtk_window_set_title(GTK_WINDOW(second), "desk a11y second");
        gtk_window_set_default_size(GTK_WINDOW(second), 200, 100);
        gtk_container_add(GTK_CONTAINER(second), gtk_button_new_with_label("Second button"));
        g_signal_connect(second, "map", G_CALLBACK(on_second_map), NULL);
        gtk_widget_show_all(second);
    } else if (strcmp(line, "close") == 0 && second) {
        gtk_widget_destroy(second);
        second = NULL;
        say("closed");
    } else if (strcmp(line, "quit") == 0) {
        gtk_main_quit();
    }
    g_free(line);
    return G_SOURCE_CONTINUE;
}

int main(int argc, char **argv) {
    gtk_init(&argc, &argv);
    win = gtk_window_new(GTK_WINDOW_TOPLEVEL);
    gtk_window_set_title(GTK_WINDOW(win), "desk a11y app");
    gtk_window_set_default_size(GTK_WINDOW(win), 420, 260);
    GtkWidget *fixed = gtk_fixed_new();
    gtk_container_add(GTK_CONTAINER(win), fixed);

    widgets[0] = gtk_button_new_with_label("Press me");
    widgets[1] = gtk_entry_new();
    widgets[2] = gtk_check_button_new_with_label("Check me");
    widgets[3] = gtk_scale_new_with_range(GTK_ORIENTATION_HORIZONTAL, 0, 100, 1);
    atk_object_set_name(gtk_widget_get_accessible(widgets[1]), "Name");
    atk_object_set_name(gtk_widget_get_accessible(widgets[3]), "Volume");
    gtk_widget_set_size_request(widgets[1], 200, -1);
    gtk_widget_set_size_request(widgets[3], 200, -1);
    const int pos[4][2] = {{20, 20}, {20, 70}, {20, 120}, {20, 170}};
    for (int i = 0; i < 4; i++) {
        gtk_fixed_put(GTK_FIXED(fixed), widgets[i], pos[i][0], pos[i][1]);
        g_signal_connect(widgets[i], "focus-in-event", G_CALLBACK(on_focus), (gpointer)names[i]);
    }
    g_signal_connect(widgets[0], "clicked", G_CALLBACK(on_clicked), NULL);
    g_signal_connect(widgets[1], "changed", G_CALLBACK(on_entry), NULL);
    g_signal_connect(widgets[2], "toggled", G_CALLBACK(on_check), NULL);
    g_signal_connect(widgets[3], "value-changed", G_CALLBACK(on_volume), NULL);
    g_signal_connect(win, "map-event", G_CALLBACK(on_map), NULL);
    g_signal_connect(win, "destroy", G_CALLBACK(gtk_main_quit), NULL);

    GIOChannel *in = g_io_channel_unix_new(0);
    g_io_add_watch(in, G_IO_IN | G_IO_HUP | G_IO_ERR, on_stdin, NULL);
    gtk_widget_show_all(win);
    gtk_main();
    return 0;
}
