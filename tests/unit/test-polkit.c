/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon's polkit client against a faked org.freedesktop.PolicyKit1
 * (libglib-testing's GtDBusQueue): yes, no, challenge, error and no reply,
 * which real polkitd cannot produce on demand. */
#include <gio/gio.h>
#include <glib.h>
#include <libglib-testing/dbus-queue.h>
#include <systemd/sd-bus.h>

#include "polkit.h"

#define AUTHORITY_PATH "/org/freedesktop/PolicyKit1/Authority"
#define AUTHORITY_INTERFACE "org.freedesktop.PolicyKit1.Authority"
#define CALLER ":1.4242"

static const char authority_xml[] =
        "<node>"
        "  <interface name='" AUTHORITY_INTERFACE "'>"
        "    <method name='CheckAuthorization'>"
        "      <arg type='(sa{sv})' name='subject' direction='in'/>"
        "      <arg type='s' name='action_id' direction='in'/>"
        "      <arg type='a{ss}' name='details' direction='in'/>"
        "      <arg type='u' name='flags' direction='in'/>"
        "      <arg type='s' name='cancellation_id' direction='in'/>"
        "      <arg type='(bba{ss})' name='result' direction='out'/>"
        "    </method>"
        "  </interface>"
        "</node>";

typedef struct Fixture {
        GtDBusQueue *queue;
        sd_bus *bus;
        gboolean answered;
        PolkitResult result;
        char *detail;
        gboolean destroyed;
} Fixture;

/* One fake polkitd on one test bus for all tests: starting a bus per test
 * only adds races at teardown. */
static GtDBusQueue *queue;
static guint name_id;

static void queue_start(void) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GDBusNodeInfo) node = NULL;

        queue = gt_dbus_queue_new();
        gt_dbus_queue_connect(queue, &error);
        g_assert_no_error(error);

        node = g_dbus_node_info_new_for_xml(authority_xml, &error);
        g_assert_no_error(error);
        name_id = gt_dbus_queue_own_name(queue, "org.freedesktop.PolicyKit1");
        gt_dbus_queue_export_object(queue, AUTHORITY_PATH, node->interfaces[0], &error);
        g_assert_no_error(error);
}

static void queue_stop(void) {
        gt_dbus_queue_disconnect(queue, TRUE);
        gt_dbus_queue_free(queue);
}

static void setup(Fixture *f, gconstpointer data) {
        const char *address = g_getenv("DBUS_SESSION_BUS_ADDRESS");

        /* The daemon side speaks sd-bus, to the same test bus. */
        f->queue = queue;
        g_assert_nonnull(address);
        g_assert_cmpint(sd_bus_new(&f->bus), >=, 0);
        g_assert_cmpint(sd_bus_set_address(f->bus, address), >=, 0);
        g_assert_cmpint(sd_bus_set_bus_client(f->bus, 1), >=, 0);
        g_assert_cmpint(sd_bus_start(f->bus), >=, 0);
        /* A round trip, so that authentication and Hello are done and a
         * flush later puts a message on the wire at once. */
        g_assert_cmpint(sd_bus_call_method(f->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                           "org.freedesktop.DBus", "GetId", NULL, NULL, ""), >=, 0);
}

static void teardown(Fixture *f, gconstpointer data) {
        sd_bus_flush_close_unref(f->bus);
        gt_dbus_queue_assert_no_messages(f->queue);
        g_free(f->detail);
}

/* A method call as the daemon receives it: from CALLER. */
static sd_bus_message *incoming_call(Fixture *f, gboolean interactive) {
        sd_bus_message *m = NULL;

        g_assert_cmpint(sd_bus_message_new_method_call(f->bus, &m, "io.captured.Capture1", "/io/captured/Capture1",
                                                       "io.captured.Capture1.Manager", "StartCapture"), >=, 0);
        g_assert_cmpint(sd_bus_message_set_sender(m, CALLER), >=, 0);
        g_assert_cmpint(sd_bus_message_set_allow_interactive_authorization(m, interactive), >=, 0);
        g_assert_cmpint(sd_bus_message_seal(m, 4242, 0), >=, 0);
        return m;
}

static void on_answer(PolkitResult result, const char *detail, void *userdata) {
        Fixture *f = userdata;

        g_assert_false(f->answered);
        f->answered = TRUE;
        f->result = result;
        f->detail = g_strdup(detail);
}

static void on_destroy(void *userdata) {
        Fixture *f = userdata;
        f->destroyed = TRUE;
}

static void ask(Fixture *f, gboolean interactive, uint64_t timeout_usec) {
        static const char *const details[] = { "interface", "lo", "verb", "start", NULL };
        sd_bus_message *call = incoming_call(f, interactive);

        g_assert_cmpint(polkit_check_authorization(f->bus, call, "io.captured.manage", details, timeout_usec,
                                                   on_answer, f, on_destroy), ==, 0);
        sd_bus_message_unref(call);
        /* Never answered from within the call. */
        g_assert_false(f->answered);
        /* On the wire before the fake waits for it. */
        g_assert_cmpint(sd_bus_flush(f->bus), >=, 0);
}

static void pump_until_answered(Fixture *f) {
        gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

        while (!f->answered) {
                int r = sd_bus_process(f->bus, NULL);

                g_assert_cmpint(r, >=, 0);
                if (r == 0)
                        g_assert_cmpint(sd_bus_wait(f->bus, 100 * 1000), >=, 0);
                g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        }
        /* The slot is gone once the answer is handled: userdata freed. */
        g_assert_true(f->destroyed);
}

/* Pops the daemon's CheckAuthorization and checks every argument. */
static GDBusMethodInvocation *pop_check(Fixture *f, guint32 expected_flags) {
        GDBusMethodInvocation *invocation = NULL;
        g_autoptr(GVariant) subject_details = NULL, details = NULL;
        const char *kind, *action, *cancellation, *name = NULL;
        guint32 flags;
        GVariant *parameters;

        g_assert_true(gt_dbus_queue_pop_message(f->queue, &invocation));
        g_assert_cmpstr(g_dbus_method_invocation_get_object_path(invocation), ==, AUTHORITY_PATH);
        g_assert_cmpstr(g_dbus_method_invocation_get_interface_name(invocation), ==, AUTHORITY_INTERFACE);
        g_assert_cmpstr(g_dbus_method_invocation_get_method_name(invocation), ==, "CheckAuthorization");

        parameters = g_dbus_method_invocation_get_parameters(invocation);
        g_variant_get(parameters, "((&s@a{sv})&s@a{ss}u&s)", &kind, &subject_details, &action, &details, &flags,
                      &cancellation);
        g_assert_cmpstr(kind, ==, "system-bus-name");
        g_assert_true(g_variant_lookup(subject_details, "name", "&s", &name));
        g_assert_cmpstr(name, ==, CALLER);
        g_assert_cmpstr(action, ==, "io.captured.manage");
        g_assert_cmpuint(g_variant_n_children(details), ==, 2);
        g_assert_true(g_variant_lookup(details, "interface", "&s", &name));
        g_assert_cmpstr(name, ==, "lo");
        g_assert_true(g_variant_lookup(details, "verb", "&s", &name));
        g_assert_cmpstr(name, ==, "start");
        g_assert_cmpuint(flags, ==, expected_flags);
        g_assert_cmpstr(cancellation, ==, "");
        return invocation;
}

static void answer(GDBusMethodInvocation *invocation, gboolean authorized, gboolean challenge) {
        g_dbus_method_invocation_return_value(invocation,
                                              g_variant_new("((bb@a{ss}))", authorized, challenge,
                                                            g_variant_new_array(G_VARIANT_TYPE("{ss}"), NULL, 0)));
}

static void test_yes(Fixture *f, gconstpointer data) {
        ask(f, FALSE, 5 * G_USEC_PER_SEC);
        answer(pop_check(f, 0), TRUE, FALSE);
        pump_until_answered(f);
        g_assert_cmpint(f->result, ==, POLKIT_AUTHORIZED);
}

static void test_no(Fixture *f, gconstpointer data) {
        ask(f, FALSE, 5 * G_USEC_PER_SEC);
        answer(pop_check(f, 0), FALSE, FALSE);
        pump_until_answered(f);
        g_assert_cmpint(f->result, ==, POLKIT_DENIED);
}

static void test_challenge_interactive(Fixture *f, gconstpointer data) {
        /* The caller allows interactive authorization: polkit may ask. */
        ask(f, TRUE, 5 * G_USEC_PER_SEC);
        answer(pop_check(f, 1), FALSE, TRUE);
        pump_until_answered(f);
        g_assert_cmpint(f->result, ==, POLKIT_CHALLENGE);
}

static void test_error(Fixture *f, gconstpointer data) {
        ask(f, FALSE, 5 * G_USEC_PER_SEC);
        g_dbus_method_invocation_return_dbus_error(pop_check(f, 0), "org.freedesktop.PolicyKit1.Error.Failed",
                                                   "Action io.captured.manage is not registered");
        pump_until_answered(f);
        g_assert_cmpint(f->result, ==, POLKIT_ERROR);
        g_assert_cmpstr(f->detail, ==, "Action io.captured.manage is not registered");
}

static void test_no_reply(Fixture *f, gconstpointer data) {
        g_autoptr(GDBusMethodInvocation) invocation = NULL;

        ask(f, FALSE, 300 * 1000);
        invocation = pop_check(f, 0);
        /* polkit never answers: the timeout denies. */
        pump_until_answered(f);
        g_assert_cmpint(f->result, ==, POLKIT_ERROR);
        /* Answer late, so that the queue is left clean; nobody listens any more. */
        answer(g_steal_pointer(&invocation), TRUE, FALSE);
}

/* polkitd absent: the bus itself answers ServiceUnknown. */
static void test_no_polkit(Fixture *f, gconstpointer data) {
        gt_dbus_queue_unown_name(f->queue, name_id);
        ask(f, FALSE, 5 * G_USEC_PER_SEC);
        pump_until_answered(f);
        g_assert_cmpint(f->result, ==, POLKIT_ERROR);
        g_assert_nonnull(f->detail);
        gt_dbus_queue_assert_no_messages(f->queue);
}

int main(int argc, char *argv[]) {
        int r;

        g_test_init(&argc, &argv, NULL);
        g_test_add("/polkit/yes", Fixture, NULL, setup, test_yes, teardown);
        g_test_add("/polkit/no", Fixture, NULL, setup, test_no, teardown);
        g_test_add("/polkit/challenge", Fixture, NULL, setup, test_challenge_interactive, teardown);
        g_test_add("/polkit/error", Fixture, NULL, setup, test_error, teardown);
        g_test_add("/polkit/no-reply", Fixture, NULL, setup, test_no_reply, teardown);
        /* Last: it takes the fake off the bus. */
        g_test_add("/polkit/no-polkit", Fixture, NULL, setup, test_no_polkit, teardown);

        queue_start();
        r = g_test_run();
        queue_stop();
        return r;
}
