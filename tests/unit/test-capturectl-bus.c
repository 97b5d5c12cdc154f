/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The messages the real capturectl sends, as a faked captured
 * (libglib-testing's GtDBusQueue) receives them: --no-auto-start sets
 * NO_AUTO_START on every call, so that a unit's ExecStop= never
 * bus-activates the daemon (issue 8, item 7). capturectl is not the queue's
 * own client connection, so its calls are popped and checked by hand
 * (SPEC §10). */
#include <gio/gio.h>
#include <glib.h>
#include <libglib-testing/dbus-queue.h>

#define BUS_NAME "io.captured.Capture1"
#define MANAGER_PATH "/io/captured/Capture1"
#define MANAGER_INTERFACE "io.captured.Capture1.Manager"

static const char manager_xml[] =
        "<node>"
        "  <interface name='" MANAGER_INTERFACE "'>"
        "    <method name='StartCapture'>"
        "      <arg type='s' name='interface' direction='in'/>"
        "      <arg type='a{sv}' name='options' direction='in'/>"
        "      <arg type='o' name='capture' direction='out'/>"
        "    </method>"
        "    <method name='StopCapture'><arg type='s' name='interface' direction='in'/></method>"
        "    <method name='RestartCapture'><arg type='s' name='interface' direction='in'/></method>"
        "    <method name='EnableCapture'>"
        "      <arg type='s' name='interface' direction='in'/>"
        "      <arg type='a{sv}' name='options' direction='in'/>"
        "    </method>"
        "    <method name='DisableCapture'><arg type='s' name='interface' direction='in'/></method>"
        "  </interface>"
        "</node>";

static const char *capturectl_path;
static GtDBusQueue *queue;

static void queue_start(void) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GDBusNodeInfo) node = NULL;

        queue = gt_dbus_queue_new();
        gt_dbus_queue_connect(queue, &error);
        g_assert_no_error(error);

        node = g_dbus_node_info_new_for_xml(manager_xml, &error);
        g_assert_no_error(error);
        gt_dbus_queue_own_name(queue, BUS_NAME);
        gt_dbus_queue_export_object(queue, MANAGER_PATH, node->interfaces[0], &error);
        g_assert_no_error(error);
}

/* Disconnects, asserting that capturectl made no call the test did not
 * expect. The queue is not freed: gt_dbus_queue_disconnect() releases the
 * bus name from this thread after the server thread may already have
 * stopped, so the name's release can still sit in the server context, and
 * gt_dbus_queue_free() asserts that context is empty (about 1 run in 20).
 * The process exits next. */
static void queue_stop(void) {
        gt_dbus_queue_disconnect(queue, TRUE);
}

/* Runs capturectl with args against the test bus as its system bus. */
static GSubprocess *spawn_capturectl(const char *const *args) {
        g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDIN_PIPE);
        g_autoptr(GPtrArray) argv = g_ptr_array_new();
        g_autoptr(GError) error = NULL;
        GSubprocess *p;

        g_subprocess_launcher_setenv(launcher, "DBUS_SYSTEM_BUS_ADDRESS", g_getenv("DBUS_SESSION_BUS_ADDRESS"), TRUE);
        g_ptr_array_add(argv, (char *) capturectl_path);
        g_ptr_array_add(argv, (char *) "--no-ask-password");
        for (size_t i = 0; args[i]; i++)
                g_ptr_array_add(argv, (char *) args[i]);
        g_ptr_array_add(argv, NULL);

        p = g_subprocess_launcher_spawnv(launcher, (const char *const *) argv->pdata, &error);
        g_assert_no_error(error);
        return p;
}

/* Pops capturectl's next call, checks it, and answers it. */
static void expect_call(const char *method, gboolean want_auto_start) {
        g_autoptr(GDBusMethodInvocation) invocation = NULL;
        GDBusMessageFlags flags;

        gt_dbus_queue_pop_message(queue, &invocation);
        g_assert_cmpstr(g_dbus_method_invocation_get_object_path(invocation), ==, MANAGER_PATH);
        g_assert_cmpstr(g_dbus_method_invocation_get_interface_name(invocation), ==, MANAGER_INTERFACE);
        g_assert_cmpstr(g_dbus_method_invocation_get_method_name(invocation), ==, method);

        flags = g_dbus_message_get_flags(g_dbus_method_invocation_get_message(invocation));
        if (want_auto_start)
                g_assert_false(flags & G_DBUS_MESSAGE_FLAGS_NO_AUTO_START);
        else
                g_assert_true(flags & G_DBUS_MESSAGE_FLAGS_NO_AUTO_START);

        if (g_str_equal(method, "StartCapture"))
                g_dbus_method_invocation_return_value(g_steal_pointer(&invocation),
                                                      g_variant_new("(o)", MANAGER_PATH "/capture/lo"));
        else
                g_dbus_method_invocation_return_value(g_steal_pointer(&invocation), NULL);
}

static void expect_success(GSubprocess *p) {
        g_autoptr(GError) error = NULL;

        g_subprocess_wait_check(p, NULL, &error);
        g_assert_no_error(error);
        g_object_unref(p);
        gt_dbus_queue_assert_no_messages(queue);
}

typedef struct Case {
        const char *const *args;
        const char *const *methods;   /* the calls capturectl makes, in order */
} Case;

static const char *const stop_args[] = { "stop", "lo", NULL };
static const char *const stop_calls[] = { "StopCapture", NULL };
static const char *const start_args[] = { "start", "lo", "--file-count=5", NULL };
static const char *const start_calls[] = { "StartCapture", NULL };
static const char *const restart_args[] = { "restart", "lo", NULL };
static const char *const restart_calls[] = { "RestartCapture", NULL };
static const char *const enable_args[] = { "enable", "--now", "lo", NULL };
static const char *const enable_calls[] = { "EnableCapture", "StartCapture", NULL };
static const char *const disable_args[] = { "disable", "--now", "lo", NULL };
static const char *const disable_calls[] = { "DisableCapture", "StopCapture", NULL };

static const Case cases[] = {
        { stop_args, stop_calls },
        { start_args, start_calls },
        { restart_args, restart_calls },
        { enable_args, enable_calls },
        { disable_args, disable_calls },
};

static void run_case(const Case *c, gboolean auto_start) {
        g_autoptr(GPtrArray) args = g_ptr_array_new();
        GSubprocess *p;

        if (!auto_start)
                g_ptr_array_add(args, (char *) "--no-auto-start");
        for (size_t i = 0; c->args[i]; i++)
                g_ptr_array_add(args, (char *) c->args[i]);
        g_ptr_array_add(args, NULL);

        p = spawn_capturectl((const char *const *) args->pdata);
        for (size_t i = 0; c->methods[i]; i++)
                expect_call(c->methods[i], auto_start);
        expect_success(p);
}

static void test_no_auto_start(gconstpointer data) {
        run_case(data, FALSE);
}

static void test_auto_start_by_default(gconstpointer data) {
        run_case(data, TRUE);
}

int main(int argc, char *argv[]) {
        int r;

        g_test_init(&argc, &argv, NULL);
        capturectl_path = g_getenv("CAPTURECTL");
        if (!capturectl_path) {
                g_printerr("$CAPTURECTL must name the capturectl binary (run the tests with meson test)\n");
                return 1;
        }

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_autofree char *name = g_strdup_printf("/capturectl/no-auto-start/%s", cases[i].args[0]);
                g_autofree char *name_default = g_strdup_printf("/capturectl/auto-start-by-default/%s",
                                                                cases[i].args[0]);

                g_test_add_data_func(name, &cases[i], test_no_auto_start);
                g_test_add_data_func(name_default, &cases[i], test_auto_start_by_default);
        }

        queue_start();
        r = g_test_run();
        queue_stop();
        return r;
}
