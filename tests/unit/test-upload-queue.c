/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "time-util.h"
#include "upload-queue.h"


typedef struct Call {
        char *interface, *path, *target, *detail;
        bool success, final;
} Call;

typedef struct Fixture {
        char *dir;
        char *state_dir;
        char *state_file;
        sd_event *event;
        UploadQueue *queue;
        GPtrArray *calls;
        const char *forget_in_callback;
        const char *forget_on_timer;
} Fixture;

static void call_free(gpointer p) {
        Call *c = p;

        g_free(c->interface);
        g_free(c->path);
        g_free(c->target);
        g_free(c->detail);
        g_free(c);
}

static void on_finished(void *userdata, const char *interface, const char *path, const char *target,
                        bool success, bool final, const char *detail) {
        Fixture *f = userdata;
        Call *c = g_new0(Call, 1);

        *c = (Call) {
                .interface = g_strdup(interface),
                .path = g_strdup(path),
                .target = g_strdup(target),
                .detail = g_strdup(detail),
                .success = success,
                .final = final,
        };
        g_ptr_array_add(f->calls, c);

        if (f->forget_in_callback)
                g_assert_false(upload_queue_forget(f->queue, f->forget_in_callback));
        if (final)
                (void) sd_event_exit(f->event, 0);
}

static char *make_file(Fixture *f, const char *name) {
        char *path = g_build_filename(f->dir, name, NULL);

        g_assert_true(g_file_set_contents(path, "pcap data", -1, NULL));
        return path;
}

static void write_target(Fixture *f, const char *url) {
        g_autofree char *dir = g_build_filename(f->dir, "upload.d", NULL);
        g_autofree char *path = g_build_filename(dir, "cs.conf", NULL);
        g_autofree char *text = g_strdup_printf("[Upload]\nType=cloudshark\nURL=%s\nToken=T0KEN\nTimeout=5\n", url);

        g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
        g_assert_true(g_file_set_contents(path, text, -1, NULL));
        g_assert_cmpint(g_chmod(path, 0600), ==, 0);
}

static void use_targets(Fixture *f) {
        UploadTarget **targets = NULL;

        g_assert_cmpint(upload_targets_load(f->dir, &targets), ==, 0);
        upload_queue_set_targets(f->queue, targets);
}

static void new_queue(Fixture *f) {
        upload_queue_free(f->queue);
        g_assert_cmpint(upload_queue_new(&f->queue, f->event, f->state_dir, on_finished, f), ==, 0);
        upload_queue_set_retry(f->queue, 10 * USEC_PER_MSEC, 20 * USEC_PER_MSEC, 3);
}

static void setup(Fixture *f, gconstpointer data) {
        f->dir = g_dir_make_tmp("test-upload-queue-XXXXXX", NULL);
        g_assert_nonnull(f->dir);
        f->state_dir = g_build_filename(f->dir, "state", NULL);
        f->state_file = g_build_filename(f->state_dir, "uploads.json", NULL);
        f->calls = g_ptr_array_new_with_free_func(call_free);
        g_assert_cmpint(sd_event_new(&f->event), >=, 0);
        new_queue(f);
}

static void teardown(Fixture *f, gconstpointer data) {
        g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", f->dir);

        upload_queue_free(f->queue);
        sd_event_unref(f->event);
        g_ptr_array_unref(f->calls);
        g_assert_cmpint(system(cmd), ==, 0);
        g_free(f->dir);
        g_free(f->state_dir);
        g_free(f->state_file);
}

static char *read_state_file(Fixture *f) {
        char *text = NULL;

        /* Saves are deferred to the end of the loop iteration (issue 9). */
        upload_queue_flush_state(f->queue);
        g_assert_true(g_file_get_contents(f->state_file, &text, NULL, NULL));
        return text;
}

/* A TCP port on which nothing listens: connecting is refused. */
static unsigned refused_port(void) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t length = sizeof(sa);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), ==, 0);
        g_assert_cmpint(getsockname(fd, (struct sockaddr *) &sa, &length), ==, 0);
        close(fd);
        return ntohs(sa.sin_port);
}

/* A server that accepts connections (in the kernel's backlog) and never answers. */
static int silent_server(unsigned *ret_port) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t length = sizeof(sa);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), ==, 0);
        g_assert_cmpint(listen(fd, 8), ==, 0);
        g_assert_cmpint(getsockname(fd, (struct sockaddr *) &sa, &length), ==, 0);
        *ret_port = ntohs(sa.sin_port);
        return fd;
}

static void test_add_without_target(Fixture *f, gconstpointer data) {
        g_autofree char *path = make_file(f, "pcap-eth0-1.pcap");
        g_autofree char *text = NULL;
        const char *detail = "x";
        struct stat st;
        uint32_t pending;
        uint64_t succeeded, failed;

        g_assert_cmpint(upload_queue_add(f->queue, "eth0", "relative.pcap", "cs"), ==, -EINVAL);
        g_assert_cmpint(upload_queue_add(f->queue, "eth0", path, "cs"), ==, 1);
        g_assert_cmpint(upload_queue_add(f->queue, "eth0", path, "cs"), ==, 0);

        /* Without the target it waits; nothing happens in the loop. */
        g_assert_cmpint(sd_event_run(f->event, 50 * USEC_PER_MSEC), >=, 0);
        g_assert_cmpuint(f->calls->len, ==, 0);
        g_assert_cmpint(upload_queue_get_state(f->queue, path, &detail), ==, UPLOAD_PENDING);
        g_assert_null(detail);
        g_assert_true(upload_queue_is_pending(f->queue, path));
        g_assert_cmpint(upload_queue_get_state(f->queue, "/elsewhere", NULL), ==, UPLOAD_NONE);
        g_assert_false(upload_queue_is_pending(f->queue, "/elsewhere"));

        upload_queue_get_counts(f->queue, "eth0", &pending, &succeeded, &failed);
        g_assert_cmpuint(pending, ==, 1);
        g_assert_cmpuint(succeeded, ==, 0);
        g_assert_cmpuint(failed, ==, 0);
        upload_queue_get_counts(f->queue, "eth1", &pending, NULL, NULL);
        g_assert_cmpuint(pending, ==, 0);

        /* Persisted, private, and without any secret. */
        upload_queue_flush_state(f->queue);
        g_assert_cmpint(stat(f->state_file, &st), ==, 0);
        g_assert_cmpint(st.st_mode & 0777, ==, 0600);
        text = read_state_file(f);
        g_assert_nonnull(strstr(text, path));
        g_assert_nonnull(strstr(text, "\"pending\""));

        g_assert_true(upload_queue_forget(f->queue, path));
        g_assert_false(upload_queue_forget(f->queue, path));
        g_assert_cmpint(upload_queue_get_state(f->queue, path, NULL), ==, UPLOAD_NONE);
        g_free(text);
        text = read_state_file(f);
        g_assert_null(strstr(text, path));
}

/* Issue 13: Upload= with several targets, each tracked per file. */
static void test_several_targets(Fixture *f, gconstpointer data) {
        g_autofree char *path = make_file(f, "pcap-eth0-2.pcap");
        g_autofree char *state = NULL, *text = NULL;
        g_autofree UploadInfo *uploads = NULL;
        const char *detail = NULL;
        size_t n = 0;
        uint32_t pending;

        g_assert_cmpint(upload_queue_add(f->queue, "eth0", path, ""), ==, -EINVAL);
        g_assert_cmpint(upload_queue_add(f->queue, "eth0", path, "lab s3"), ==, 1);
        g_assert_cmpint(upload_queue_add(f->queue, "eth0", path, "lab s3"), ==, 0);

        g_assert_cmpint(upload_queue_get_uploads(f->queue, path, &uploads, &n), ==, 0);
        g_assert_cmpuint(n, ==, 2);
        g_assert_cmpstr(uploads[0].target, ==, "lab");
        g_assert_cmpstr(uploads[1].target, ==, "s3");
        g_assert_cmpint(uploads[1].state, ==, UPLOAD_PENDING);
        upload_queue_get_counts(f->queue, "eth0", &pending, NULL, NULL);
        g_assert_cmpuint(pending, ==, 2);
        g_assert_cmpint(upload_queue_get_state(f->queue, path, &detail), ==, UPLOAD_PENDING);
        g_assert_cmpstr(detail, ==, "lab: pending; s3: pending");
        g_assert_true(upload_queue_is_pending(f->queue, path));
        g_assert_cmpint(upload_queue_reupload(f->queue, "eth0", path, "s3"), ==, -EBUSY);

        /* One done, one still pending: retention must wait; the state shows both. */
        state = g_strdup_printf(
                "{\"version\": 1, \"uploads\": ["
                "{\"path\": \"%s\", \"interface\": \"eth0\", \"target\": \"lab\", \"state\": \"done\", \"attempts\": 1, \"remote\": \"https://cs/captures/7\", \"error\": \"\"},"
                "{\"path\": \"%s\", \"interface\": \"eth0\", \"target\": \"s3\", \"state\": \"uploading\", \"attempts\": 3, \"remote\": \"\", \"error\": \"HTTP 403\", \"resume\": \"ID\\nkey\"}"
                "]}", path, path);
        upload_queue_flush_state(f->queue);   /* what it would save at the end of this iteration */
        g_assert_true(g_file_set_contents(f->state_file, state, -1, NULL));
        new_queue(f);
        g_assert_cmpint(upload_queue_load(f->queue), ==, 0);
        g_assert_true(upload_queue_is_pending(f->queue, path));
        g_assert_cmpint(upload_queue_get_state(f->queue, path, &detail), ==, UPLOAD_PENDING);
        g_assert_cmpstr(detail, ==, "lab: https://cs/captures/7; s3: HTTP 403");
        text = read_state_file(f);
        g_assert_nonnull(strstr(text, "\"resume\":\"ID\\nkey\""));

        /* A manual re-upload of the done one queues it again. */
        g_assert_cmpint(upload_queue_reupload(f->queue, "eth0", path, "lab"), ==, 1);
        g_free(uploads);
        uploads = NULL;
        g_assert_cmpint(upload_queue_get_uploads(f->queue, path, &uploads, &n), ==, 0);
        g_assert_cmpint(uploads[0].state, ==, UPLOAD_PENDING);

        g_assert_true(upload_queue_forget(f->queue, path));
        g_assert_false(upload_queue_is_pending(f->queue, path));
        g_free(uploads);
        uploads = NULL;
        g_assert_cmpint(upload_queue_get_uploads(f->queue, path, &uploads, &n), ==, 0);
        g_assert_cmpuint(n, ==, 0);
}

static void test_load(Fixture *f, gconstpointer data) {
        g_autofree char *uploading = make_file(f, "uploading.pcap");
        g_autofree char *done = make_file(f, "done.pcap");
        g_autofree char *failed = make_file(f, "failed.pcap");
        g_autofree char *gone = g_build_filename(f->dir, "gone.pcap", NULL);
        g_autofree char *state = NULL, *text = NULL;
        const char *detail;

        state = g_strdup_printf(
                "{\"version\": 1, \"uploads\": ["
                "{\"path\": \"%s\", \"interface\": \"eth0\", \"target\": \"cs\", \"state\": \"uploading\", \"attempts\": 2, \"remote\": \"\", \"error\": \"Connection refused\"},"
                "{\"path\": \"%s\", \"interface\": \"eth0\", \"target\": \"cs\", \"state\": \"done\", \"attempts\": 1, \"remote\": \"https://cs/captures/1\", \"error\": \"\"},"
                "{\"path\": \"%s\", \"interface\": \"eth1\", \"target\": \"cs\", \"state\": \"failed\", \"attempts\": 12, \"remote\": \"\", \"error\": \"HTTP 500 from server\"},"
                "{\"path\": \"%s\", \"interface\": \"eth0\", \"target\": \"cs\", \"state\": \"pending\", \"attempts\": 0, \"remote\": \"\", \"error\": \"\"},"
                "{\"path\": 17}, \"junk\""
                "]}", uploading, done, failed, gone);
        g_assert_cmpint(g_mkdir_with_parents(f->state_dir, 0700), ==, 0);
        g_assert_true(g_file_set_contents(f->state_file, state, -1, NULL));

        g_assert_cmpint(upload_queue_load(f->queue), ==, 0);

        /* Interrupted uploads resume; done stays done; a vanished file is dropped. */
        g_assert_cmpint(upload_queue_get_state(f->queue, uploading, &detail), ==, UPLOAD_PENDING);
        g_assert_cmpstr(detail, ==, "Connection refused");
        g_assert_cmpint(upload_queue_get_state(f->queue, done, &detail), ==, UPLOAD_DONE);
        g_assert_cmpstr(detail, ==, "https://cs/captures/1");
        g_assert_cmpint(upload_queue_get_state(f->queue, failed, &detail), ==, UPLOAD_FAILED);
        g_assert_cmpstr(detail, ==, "HTTP 500 from server");
        g_assert_cmpint(upload_queue_get_state(f->queue, gone, NULL), ==, UPLOAD_NONE);
        text = read_state_file(f);
        g_assert_null(strstr(text, gone));

        /* Never uploaded twice after a success; a failed file may be queued again. */
        g_assert_cmpint(upload_queue_add(f->queue, "eth0", done, "cs"), ==, 0);
        g_assert_cmpint(upload_queue_get_state(f->queue, done, NULL), ==, UPLOAD_DONE);
        g_assert_cmpint(upload_queue_add(f->queue, "eth1", failed, "cs"), ==, 1);
        g_assert_cmpint(upload_queue_get_state(f->queue, failed, NULL), ==, UPLOAD_PENDING);

        /* What was saved loads the same. */
        new_queue(f);
        g_assert_cmpint(upload_queue_load(f->queue), ==, 0);
        g_assert_cmpint(upload_queue_get_state(f->queue, uploading, NULL), ==, UPLOAD_PENDING);
        g_assert_cmpint(upload_queue_get_state(f->queue, done, NULL), ==, UPLOAD_DONE);
        g_assert_cmpint(upload_queue_get_state(f->queue, failed, NULL), ==, UPLOAD_PENDING);
}

static void test_load_broken(Fixture *f, gconstpointer data) {
        g_assert_cmpint(upload_queue_load(f->queue), ==, 0);   /* no file yet */

        g_assert_cmpint(g_mkdir_with_parents(f->state_dir, 0700), ==, 0);
        g_assert_true(g_file_set_contents(f->state_file, "{\"uploads\": [", -1, NULL));
        g_assert_cmpint(upload_queue_load(f->queue), ==, 0);
}

static void test_retries_then_gives_up(Fixture *f, gconstpointer data) {
        g_autofree char *path = make_file(f, "pcap-eth0-2.pcap");
        g_autofree char *url = g_strdup_printf("http://127.0.0.1:%u", refused_port());
        g_autofree char *text = NULL;
        const char *detail;
        uint32_t pending;
        uint64_t succeeded, failed;

        write_target(f, url);
        use_targets(f);
        g_assert_nonnull(upload_queue_find_target(f->queue, "cs"));
        g_assert_null(upload_queue_find_target(f->queue, "other"));

        g_assert_cmpint(upload_queue_add(f->queue, "eth0", path, "cs"), ==, 1);
        g_assert_cmpint(sd_event_loop(f->event), ==, 0);

        /* One callback per attempt; the last one is final. */
        g_assert_cmpuint(f->calls->len, ==, 3);
        for (unsigned i = 0; i < 3; i++) {
                Call *c = g_ptr_array_index(f->calls, i);

                g_assert_cmpstr(c->interface, ==, "eth0");
                g_assert_cmpstr(c->path, ==, path);
                g_assert_cmpstr(c->target, ==, "cs");
                g_assert_false(c->success);
                g_assert_cmpint(c->final, ==, i == 2);
                g_assert_cmpstr(c->detail, ==, "Connection refused");
        }

        g_assert_cmpint(upload_queue_get_state(f->queue, path, &detail), ==, UPLOAD_FAILED);
        g_assert_cmpstr(detail, ==, "Connection refused");
        g_assert_false(upload_queue_is_pending(f->queue, path));
        upload_queue_get_counts(f->queue, "eth0", &pending, &succeeded, &failed);
        g_assert_cmpuint(pending, ==, 0);
        g_assert_cmpuint(succeeded, ==, 0);
        g_assert_cmpuint(failed, ==, 1);

        text = read_state_file(f);
        g_assert_nonnull(strstr(text, "\"failed\""));
        g_assert_null(strstr(text, "T0KEN"));
}

static void test_vanished_file_fails(Fixture *f, gconstpointer data) {
        g_autofree char *path = make_file(f, "pcap-eth0-3.pcap");
        g_autofree char *url = g_strdup_printf("http://127.0.0.1:%u", refused_port());
        Call *c;

        write_target(f, url);
        use_targets(f);
        g_assert_cmpint(upload_queue_add(f->queue, "eth0", path, "cs"), ==, 1);
        g_assert_cmpint(unlink(path), ==, 0);
        g_assert_cmpint(sd_event_loop(f->event), ==, 0);

        g_assert_cmpuint(f->calls->len, ==, 1);
        c = g_ptr_array_index(f->calls, 0);
        g_assert_true(c->final);
        g_assert_false(c->success);
        g_assert_cmpstr(c->detail, ==, "Cannot read the file: No such file or directory");
}

static int on_forget_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Fixture *f = userdata;

        g_assert_cmpint(upload_queue_get_state(f->queue, f->forget_on_timer, NULL), ==, UPLOAD_UPLOADING);
        g_assert_true(upload_queue_forget(f->queue, f->forget_on_timer));
        return 0;
}

static int on_exit_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Fixture *f = userdata;

        return sd_event_exit(f->event, 0);
}

static void test_forget_aborts(Fixture *f, gconstpointer data) {
        g_autofree char *path = make_file(f, "pcap-eth0-4.pcap");
        g_autofree char *url = NULL;
        sd_event_source *timer = NULL, *exit_timer = NULL;
        unsigned port;
        int server;

        server = silent_server(&port);
        url = g_strdup_printf("http://127.0.0.1:%u", port);
        write_target(f, url);
        use_targets(f);

        g_assert_cmpint(upload_queue_add(f->queue, "eth0", path, "cs"), ==, 1);
        f->forget_on_timer = path;
        g_assert_cmpint(sd_event_add_time_relative(f->event, &timer, CLOCK_MONOTONIC, 300 * USEC_PER_MSEC, 0,
                                                   on_forget_timer, f), >=, 0);
        g_assert_cmpint(sd_event_add_time_relative(f->event, &exit_timer, CLOCK_MONOTONIC, 600 * USEC_PER_MSEC, 0,
                                                   on_exit_timer, f), >=, 0);
        g_assert_cmpint(sd_event_loop(f->event), ==, 0);

        /* Aborted, not reported, not retried. */
        g_assert_cmpuint(f->calls->len, ==, 0);
        g_assert_cmpint(upload_queue_get_state(f->queue, path, NULL), ==, UPLOAD_NONE);

        sd_event_source_unref(timer);
        sd_event_source_unref(exit_timer);
        close(server);
}

static void test_forget_in_callback(Fixture *f, gconstpointer data) {
        g_autofree char *path = make_file(f, "pcap-eth0-5.pcap");
        g_autofree char *url = g_strdup_printf("http://127.0.0.1:%u", refused_port());

        write_target(f, url);
        use_targets(f);
        upload_queue_set_retry(f->queue, 10 * USEC_PER_MSEC, 20 * USEC_PER_MSEC, 1);
        g_assert_cmpint(upload_queue_add(f->queue, "eth0", path, "cs"), ==, 1);

        /* The callback may drop the very file it is told about. */
        f->forget_in_callback = path;
        g_assert_cmpint(sd_event_loop(f->event), ==, 0);
        g_assert_cmpuint(f->calls->len, ==, 1);
        g_assert_cmpint(upload_queue_get_state(f->queue, path, NULL), ==, UPLOAD_NONE);
}

static void test_state_names(void) {
        g_assert_cmpstr(upload_state_to_string(UPLOAD_NONE), ==, "none");
        g_assert_cmpstr(upload_state_to_string(UPLOAD_PENDING), ==, "pending");
        g_assert_cmpstr(upload_state_to_string(UPLOAD_UPLOADING), ==, "uploading");
        g_assert_cmpstr(upload_state_to_string(UPLOAD_DONE), ==, "done");
        g_assert_cmpstr(upload_state_to_string(UPLOAD_FAILED), ==, "failed");
        g_assert_null(upload_state_to_string(_UPLOAD_STATE_MAX));
}

/* Issue 9: changes within one loop iteration are saved together, once,
 * when the iteration is done, not on every change. */
static void test_save_deferred(Fixture *f, gconstpointer data) {
        g_autofree char *a = make_file(f, "pcap-eth0-a.pcap");
        g_autofree char *b = make_file(f, "pcap-eth0-b.pcap");
        g_autofree char *text = NULL;
        struct stat st;

        g_assert_cmpint(upload_queue_add(f->queue, "eth0", a, "cs"), ==, 1);
        g_assert_cmpint(upload_queue_add(f->queue, "eth0", b, "cs"), ==, 1);
        g_assert_true(upload_queue_forget(f->queue, a));
        /* Nothing written yet: not even the state directory. */
        g_assert_cmpint(stat(f->state_file, &st), <, 0);

        /* The loop's next iterations write it, with all three changes. */
        for (int i = 0; i < 10 && stat(f->state_file, &st) < 0; i++)
                g_assert_cmpint(sd_event_run(f->event, 0), >=, 0);
        g_assert_cmpint(g_file_get_contents(f->state_file, &text, NULL, NULL), ==, TRUE);
        g_assert_null(strstr(text, a));
        g_assert_nonnull(strstr(text, b));
}

#define ADD(name, func) g_test_add(name, Fixture, NULL, setup, func, teardown)

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_unsetenv("CAPTURED_UPLOAD_RETRY");

        ADD("/upload-queue/add-without-target", test_add_without_target);
        ADD("/upload-queue/several-targets", test_several_targets);
        ADD("/upload-queue/load", test_load);
        ADD("/upload-queue/save-deferred", test_save_deferred);
        ADD("/upload-queue/load-broken", test_load_broken);
        ADD("/upload-queue/retries-then-gives-up", test_retries_then_gives_up);
        ADD("/upload-queue/vanished-file-fails", test_vanished_file_fails);
        ADD("/upload-queue/forget-aborts", test_forget_aborts);
        ADD("/upload-queue/forget-in-callback", test_forget_in_callback);
        g_test_add_func("/upload-queue/state-names", test_state_names);

        return g_test_run();
}
