/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What an upload server answers: the raw bytes as an HTTP response through
 * libcurl (status line, headers, framing) with the daemon's response
 * callbacks, then the body, and the raw bytes too, through the CloudShark
 * JSON readers. The server end of a socket pair holds the response, as
 * curl's own fuzzer does it: no network. */
#include <curl/curl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cloudshark.h"
#include "curl-event.h"
#include "strv.h"

#define FILENAME "pcap-eth0-20240101T120000.000000Z.pcap"
#define KEEP_ID "new"
/* What a socket's buffer surely takes without a reader. */
#define RESPONSE_MAX (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_json(const char *body, size_t size) {
        char *id = NULL, *error = NULL, **ids = NULL;
        size_t invalid = 0;

        if (cloudshark_parse_upload_response(body, size, &id, &error) >= 0 &&
            !cloudshark_id_is_valid(id, strlen(id)))
                abort();
        free(id);
        free(error);
        error = NULL;

        if (cloudshark_parse_search_response(body, size, FILENAME, KEEP_ID, &ids, &invalid, &error) >= 0)
                for (char **i = ids; *i; i++)
                        if (!cloudshark_id_is_valid(*i, strlen(*i)) || strcmp(*i, KEEP_ID) == 0)
                                abort();
        strv_free(ids);
        free(error);
}

static curl_socket_t open_socket(void *userdata, curlsocktype purpose, struct curl_sockaddr *address) {
        int *fd = userdata;
        curl_socket_t s = *fd;

        *fd = -1;   /* curl closes it */
        return s;
}

static int socket_options(void *userdata, curl_socket_t fd, curlsocktype purpose) {
        return CURL_SOCKOPT_ALREADY_CONNECTED;
}

static void check_http(const uint8_t *data, size_t size) {
        static bool initialized = false;
        CurlResponse response = {};
        int pair[2] = { -1, -1 };
        CURLcode result;
        CURL *easy;

        if (!initialized) {
                if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                        abort();
                initialized = true;
        }
        if (size > RESPONSE_MAX)
                size = RESPONSE_MAX;
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
                return;
        if (write(pair[1], data, size) != (ssize_t) size || shutdown(pair[1], SHUT_WR) < 0)
                goto finish;

        easy = curl_easy_init();
        if (!easy)
                goto finish;
        if (curl_response_attach(&response, easy, 1024 * 1024) >= 0 &&
            curl_easy_setopt(easy, CURLOPT_URL, "http://127.0.0.1/api/v1/T/search?search%5Bfilename%5D="
                             FILENAME) == CURLE_OK &&
            curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, open_socket) == CURLE_OK &&
            curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, &pair[0]) == CURLE_OK &&
            curl_easy_setopt(easy, CURLOPT_SOCKOPTFUNCTION, socket_options) == CURLE_OK &&
            curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
            curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 2000L) == CURLE_OK) {
                result = curl_easy_perform(easy);
                /* A response that worked had all of its headers. */
                if (result == CURLE_OK && !response.headers_done)
                        abort();
                if (result == CURLE_OK)
                        check_json(response.data ? response.data : "", response.size);
        }
        curl_easy_cleanup(easy);
        curl_response_done(&response);

finish:
        if (pair[0] >= 0)
                close(pair[0]);
        close(pair[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        check_json((const char *) data, size);
        check_http(data, size);
        return 0;
}
