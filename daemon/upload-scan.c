/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "time-util.h"
#include "upload-scan.h"

#define PCAP_MAGIC_USEC 0xa1b2c3d4u
#define PCAP_MAGIC_NSEC 0xa1b23c4du
#define GLOBAL_HEADER 24
#define RECORD_HEADER 16

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

struct UploadScan {
        sd_event_source *source;
        int fd;
        char *path;
        EVP_MD_CTX *md;
        uint8_t *buffer;
        uint64_t offset;
        uint64_t part_end;
        PcapSummary pcap;
        UploadScanResult result;
        UploadScanDone done;
        void *userdata;
};

static void hex(const uint8_t *digest, unsigned n, char *ret) {
        static const char digits[] = "0123456789abcdef";

        for (unsigned i = 0; i < n; i++) {
                ret[2 * i] = digits[digest[i] >> 4];
                ret[2 * i + 1] = digits[digest[i] & 15];
        }
        ret[2 * n] = '\0';
}

void upload_sha256_hex(const void *data, size_t size, char ret[static 65]) {
        uint8_t digest[EVP_MAX_MD_SIZE];
        unsigned n = 0;

        if (EVP_Digest(data, size, digest, &n, EVP_sha256(), NULL) != 1 || n != 32) {
                ret[0] = '\0';
                return;
        }
        hex(digest, n, ret);
}

static uint32_t read_u32(const uint8_t *p, bool swapped) {
        uint32_t v;

        memcpy(&v, p, sizeof(v));
        return swapped ? __builtin_bswap32(v) : v;
}

static void pcap_summary_record(PcapSummary *p) {
        uint64_t seconds = read_u32(p->header, p->swapped), fraction = read_u32(p->header + 4, p->swapped);
        uint64_t usec = seconds * USEC_PER_SEC + (p->nanoseconds ? fraction / NSEC_PER_USEC : fraction);

        if (p->packets == 0)
                p->first_usec = usec;
        p->last_usec = usec;
        p->packets++;
        p->next_record += RECORD_HEADER + read_u32(p->header + 8, p->swapped);
}

void pcap_summary_feed(PcapSummary *p, const uint8_t *data, size_t size) {
        uint64_t base = p->offset, end = base + size, pos;

        p->offset = end;
        if (!p->started) {
                size_t take = MIN(GLOBAL_HEADER - p->have, size);
                uint32_t magic;

                memcpy(p->header + p->have, data, take);
                p->have += take;
                if (p->have < GLOBAL_HEADER)
                        return;
                p->started = true;
                p->have = 0;
                magic = read_u32(p->header, false);
                p->swapped = magic != PCAP_MAGIC_USEC && magic != PCAP_MAGIC_NSEC;
                if (p->swapped)
                        magic = __builtin_bswap32(magic);
                p->valid = magic == PCAP_MAGIC_USEC || magic == PCAP_MAGIC_NSEC;
                p->nanoseconds = magic == PCAP_MAGIC_NSEC;
                p->next_record = GLOBAL_HEADER;
        }
        if (!p->valid)
                return;

        pos = MAX(p->next_record + p->have, base);
        while (pos < end) {
                size_t take = (size_t) MIN((uint64_t) (RECORD_HEADER - p->have), end - pos);

                memcpy(p->header + p->have, data + (pos - base), take);
                p->have += take;
                if (p->have < RECORD_HEADER)
                        break;
                p->have = 0;
                pcap_summary_record(p);
                pos = p->next_record;
        }
}

UploadScan *upload_scan_free(UploadScan *s) {
        if (!s)
                return NULL;

        sd_event_source_disable_unref(s->source);
        if (s->fd >= 0)
                close(s->fd);
        EVP_MD_CTX_free(s->md);
        free(s->buffer);
        free(s->path);
        free(s->result.part_sha256);
        free(s);
        return NULL;
}

static int finish_part(UploadScan *s) {
        uint8_t digest[EVP_MAX_MD_SIZE];
        unsigned n = 0;

        if (EVP_DigestFinal_ex(s->md, digest, &n) != 1)
                return -EIO;
        hex(digest, n, s->result.part_sha256[s->result.n_parts++]);
        if (EVP_DigestInit_ex(s->md, EVP_sha256(), NULL) != 1)
                return -EIO;
        s->part_end = MIN(s->part_end + s->result.part_size, s->result.size);
        return 0;
}

static void scan_done(UploadScan *s, int error) {
        UploadScanResult *r = &s->result;

        (void) sd_event_source_set_enabled(s->source, SD_EVENT_OFF);
        r->pcap = s->pcap.valid;
        r->packets = s->pcap.packets;
        r->first_usec = s->pcap.first_usec;
        r->last_usec = s->pcap.last_usec;
        s->done(s->userdata, error, error < 0 ? NULL : r);
}

/* One chunk per event loop iteration. */
static int on_defer(sd_event_source *source, void *userdata) {
        UploadScan *s = userdata;
        size_t want = (size_t) MIN((uint64_t) UPLOAD_SCAN_CHUNK, s->part_end - s->offset);
        ssize_t n;
        int r;

        if (s->offset == s->result.size && s->result.n_parts > 0) {
                scan_done(s, 0);
                return 0;
        }
        n = want > 0 ? pread(s->fd, s->buffer, want, (off_t) s->offset) : 0;
        if (n < 0) {
                scan_done(s, -errno);
                return 0;
        }
        if (n == 0 && want > 0) {
                scan_done(s, -ENODATA);    /* shorter than it was: not a finished file */
                return 0;
        }
        if (EVP_DigestUpdate(s->md, s->buffer, (size_t) n) != 1) {
                scan_done(s, -EIO);
                return 0;
        }
        pcap_summary_feed(&s->pcap, s->buffer, (size_t) n);
        s->offset += (uint64_t) n;
        if (s->offset == s->part_end) {
                r = finish_part(s);
                if (r < 0)
                        scan_done(s, r);
                else if (s->offset == s->result.size)
                        scan_done(s, 0);
        }
        return 0;
}

int upload_scan_start(UploadScan **ret, sd_event *event, const char *path, uint64_t part_size,
                      uint64_t multipart_threshold, UploadScanDone done, void *userdata) {
        _cleanup_(upload_scan_freep) UploadScan *s = NULL;
        struct stat st;
        int r;

        s = calloc(1, sizeof(UploadScan));
        if (!s)
                return -ENOMEM;
        s->fd = -EBADF;
        s->done = done;
        s->userdata = userdata;

        s->path = strdup(path);
        s->buffer = malloc(UPLOAD_SCAN_CHUNK);
        s->md = EVP_MD_CTX_new();
        if (!s->path || !s->buffer || !s->md || EVP_DigestInit_ex(s->md, EVP_sha256(), NULL) != 1)
                return -ENOMEM;

        s->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (s->fd < 0 || fstat(s->fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -EBADFD;

        s->result.size = (uint64_t) st.st_size;
        s->result.mtime_usec = timespec_to_usec(&st.st_mtim);
        if (part_size == 0 || s->result.size <= multipart_threshold)
                part_size = s->result.size;
        s->result.part_size = MAX(part_size, 1);
        s->result.part_sha256 = calloc(s->result.size / s->result.part_size + 1, sizeof(*s->result.part_sha256));
        if (!s->result.part_sha256)
                return -ENOMEM;
        s->part_end = MIN(s->result.part_size, s->result.size);
        if (s->result.size == 0) {
                r = finish_part(s);           /* the hash of nothing */
                if (r < 0)
                        return r;
        }

        r = sd_event_add_defer(event, &s->source, on_defer, s);
        if (r < 0)
                return r;
        (void) sd_event_source_set_priority(s->source, SD_EVENT_PRIORITY_IDLE);
        (void) sd_event_source_set_enabled(s->source, SD_EVENT_ON);
        (void) sd_event_source_set_description(s->source, "upload-scan");

        *ret = TAKE_PTR(s);
        return 0;
}
