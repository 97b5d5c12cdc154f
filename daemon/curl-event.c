/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "array.h"
#include "curl-event.h"
#include "list.h"
#include "log.h"
#include "time-util.h"

/* One socket curl asked us to watch; curl keeps a pointer to it
 * (curl_multi_assign) and we keep them in a list so that nothing leaks
 * when the multi handle goes away with sockets still open. */
typedef struct CurlSocket {
        CurlEvent *ce;
        sd_event_source *source;
        LIST_FIELDS(struct CurlSocket);
} CurlSocket;

typedef struct CurlTransfer {
        CURL *easy;
        CurlDoneCallback callback;
        void *userdata;
        LIST_FIELDS(struct CurlTransfer);
} CurlTransfer;

struct CurlEvent {
        sd_event *event;
        CURLM *multi;
        sd_event_source *timer;
        CurlSocket *sockets;
        CurlTransfer *transfers;
};

/* Detaches a transfer from the multi handle and forgets it. */
static void curl_transfer_free(CurlEvent *ce, CurlTransfer *t) {
        (void) curl_multi_remove_handle(ce->multi, t->easy);
        (void) curl_easy_setopt(t->easy, CURLOPT_PRIVATE, NULL);

        LIST_REMOVE(ce->transfers, t);
        free(t);
}

static CurlSocket *curl_socket_free(CurlSocket *s) {
        if (!s)
                return NULL;

        LIST_REMOVE(s->ce->sockets, s);
        sd_event_source_disable_unref(s->source);
        free(s);
        return NULL;
}

/* Hands finished transfers back to their owners. */
static void dispatch_done(CurlEvent *ce) {
        CURLMsg *msg;
        int left;

        while ((msg = curl_multi_info_read(ce->multi, &left))) {
                CurlTransfer *transfer = NULL;
                CURL *easy = msg->easy_handle;
                CURLcode result = msg->data.result;
                CurlDoneCallback callback;
                void *userdata;

                if (msg->msg != CURLMSG_DONE)
                        continue;

                (void) curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **) &transfer);
                if (!transfer)
                        continue;

                /* msg is invalid once the handle is removed. */
                callback = transfer->callback;
                userdata = transfer->userdata;
                curl_transfer_free(ce, transfer);
                callback(easy, result, userdata);
        }
}

static void socket_action(CurlEvent *ce, curl_socket_t fd, int flags) {
        int running;
        CURLMcode mc;

        mc = curl_multi_socket_action(ce->multi, fd, flags, &running);
        if (mc != CURLM_OK)
                log_warning("curl_multi_socket_action() failed: %s", curl_multi_strerror(mc));

        dispatch_done(ce);
}

static int on_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        CurlEvent *ce = userdata;
        int flags = 0;

        if (revents & EPOLLIN)
                flags |= CURL_CSELECT_IN;
        if (revents & EPOLLOUT)
                flags |= CURL_CSELECT_OUT;
        if (revents & (EPOLLERR | EPOLLHUP))
                flags |= CURL_CSELECT_ERR;

        /* May free this source's CurlSocket (CURL_POLL_REMOVE); sd-event
         * keeps the source itself alive until we return. */
        socket_action(ce, fd, flags);
        return 0;
}

static int on_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        socket_action(userdata, CURL_SOCKET_TIMEOUT, 0);
        return 0;
}

/* CURLMOPT_SOCKETFUNCTION */
static int on_socket_change(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
        CurlEvent *ce = userp;
        CurlSocket *s = socketp;
        uint32_t events;
        int r;

        if (what == CURL_POLL_REMOVE) {
                curl_socket_free(s);
                return 0;
        }

        events = ((what & CURL_POLL_IN) ? EPOLLIN : 0) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0);

        if (s) {
                r = sd_event_source_set_io_events(s->source, events);
                if (r < 0) {
                        log_warning_errno(r, "Failed to change the events watched on a curl socket: %m");
                        return -1;
                }
                return 0;
        }

        s = calloc(1, sizeof(CurlSocket));
        if (!s) {
                log_oom();
                return -1;
        }
        s->ce = ce;

        r = sd_event_add_io(ce->event, &s->source, fd, events, on_io, ce);
        if (r < 0) {
                free(s);
                log_warning_errno(r, "Failed to watch a curl socket: %m");
                return -1;
        }
        (void) sd_event_source_set_description(s->source, "curl-socket");

        LIST_PREPEND(ce->sockets, s);

        (void) curl_multi_assign(ce->multi, fd, s);
        return 0;
}

/* CURLMOPT_TIMERFUNCTION: curl has one timeout for the whole multi handle;
 * -1 removes it, 0 means "as soon as possible" (never call curl from here). */
static int on_timer_change(CURLM *multi, long timeout_ms, void *userp) {
        CurlEvent *ce = userp;
        uint64_t usec;
        int r;

        if (timeout_ms < 0) {
                if (ce->timer)
                        (void) sd_event_source_set_enabled(ce->timer, SD_EVENT_OFF);
                return 0;
        }

        usec = (uint64_t) timeout_ms * USEC_PER_MSEC;
        if (!ce->timer) {
                /* Accuracy 1 µs: curl's timeouts are short and drive the
                 * transfer itself; the 250 ms default slack would slow it. */
                r = sd_event_add_time_relative(ce->event, &ce->timer, CLOCK_MONOTONIC, usec, 1, on_timer, ce);
                if (r < 0)
                        return log_warning_errno(r, "Failed to add the curl timer: %m"), -1;
                (void) sd_event_source_set_description(ce->timer, "curl-timer");
        } else {
                r = sd_event_source_set_time_relative(ce->timer, usec);
                if (r < 0)
                        return log_warning_errno(r, "Failed to set the curl timer: %m"), -1;
        }

        r = sd_event_source_set_enabled(ce->timer, SD_EVENT_ONESHOT);
        return r < 0 ? -1 : 0;
}

int curl_event_new(CurlEvent **ret, sd_event *event) {
        _cleanup_(curl_event_freep) CurlEvent *ce = NULL;

        ce = calloc(1, sizeof(CurlEvent));
        if (!ce)
                return -ENOMEM;

        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                free(TAKE_PTR(ce));
                return -EIO;
        }

        ce->event = sd_event_ref(event);
        ce->multi = curl_multi_init();
        if (!ce->multi)
                return -ENOMEM;

        if (curl_multi_setopt(ce->multi, CURLMOPT_SOCKETFUNCTION, on_socket_change) != CURLM_OK ||
            curl_multi_setopt(ce->multi, CURLMOPT_SOCKETDATA, ce) != CURLM_OK ||
            curl_multi_setopt(ce->multi, CURLMOPT_TIMERFUNCTION, on_timer_change) != CURLM_OK ||
            curl_multi_setopt(ce->multi, CURLMOPT_TIMERDATA, ce) != CURLM_OK)
                return -EIO;

        *ret = TAKE_PTR(ce);
        return 0;
}

CurlEvent *curl_event_free(CurlEvent *ce) {
        if (!ce)
                return NULL;

        /* Owners remove their transfers before; what is left is only
         * cleaned up, without callbacks. */
        while (ce->transfers)
                curl_transfer_free(ce, ce->transfers);
        if (ce->multi)
                curl_multi_cleanup(ce->multi);

        while (ce->sockets)
                curl_socket_free(ce->sockets);
        sd_event_source_disable_unref(ce->timer);
        sd_event_unref(ce->event);
        curl_global_cleanup();
        free(ce);
        return NULL;
}

int curl_event_add(CurlEvent *ce, CURL *easy, CurlDoneCallback callback, void *userdata) {
        CurlTransfer *transfer;
        CURLMcode mc;

        transfer = malloc(sizeof(CurlTransfer));
        if (!transfer)
                return -ENOMEM;
        *transfer = (CurlTransfer) { .easy = easy, .callback = callback, .userdata = userdata };

        if (curl_easy_setopt(easy, CURLOPT_PRIVATE, transfer) != CURLE_OK) {
                free(transfer);
                return -EIO;
        }

        mc = curl_multi_add_handle(ce->multi, easy);
        if (mc != CURLM_OK) {
                (void) curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
                free(transfer);
                log_warning("Failed to start a transfer: %s", curl_multi_strerror(mc));
                return mc == CURLM_OUT_OF_MEMORY ? -ENOMEM : -EIO;
        }

        LIST_PREPEND(ce->transfers, transfer);
        return 0;
}

void curl_event_remove(CurlEvent *ce, CURL *easy) {
        CurlTransfer *transfer = NULL;

        if (!ce || !easy)
                return;

        (void) curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **) &transfer);
        if (transfer)
                curl_transfer_free(ce, transfer);
}

static size_t on_response_data(char *data, size_t size, size_t nmemb, void *userdata) {
        CurlResponse *response = userdata;
        size_t n = size * nmemb;

        if (n > response->max_size - response->size) {
                response->too_large = true;
                return 0;
        }

        if (ARRAY_GROW(response->data, NULL, response->size + n + 1) < 0)
                return 0;

        memcpy(response->data + response->size, data, n);
        response->size += n;
        response->data[response->size] = '\0';
        return n;
}

/* Each header line, the status line first; a blank line ends the headers
 * of a response (an interim 100 Continue has its own). */
static size_t on_response_header(char *data, size_t size, size_t nmemb, void *userdata) {
        CurlResponse *response = userdata;
        size_t n = size * nmemb;

        response->headers_done = n == 0 || data[0] == '\r' || data[0] == '\n';
        return n;
}

int curl_response_attach(CurlResponse *response, CURL *easy, size_t max_size) {
        curl_response_done(response);
        response->max_size = max_size;

        if (curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_response_data) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_WRITEDATA, response) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_response_header) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_HEADERDATA, response) != CURLE_OK)
                return -EIO;
        return 0;
}

bool curl_response_header_too_large(const CurlResponse *response, CURLcode result) {
        /* curl has no code of its own for a header line longer than it
         * buffers (CURL_MAX_HTTP_HEADER) before 8.6: it says out of memory. */
        bool too_large = result == CURLE_OUT_OF_MEMORY;

#if LIBCURL_VERSION_NUM >= 0x080600
        too_large = too_large || result == CURLE_TOO_LARGE;
#endif
        return too_large && !response->headers_done;
}

void curl_response_done(CurlResponse *response) {
        free(response->data);
        *response = (CurlResponse) {};
}
