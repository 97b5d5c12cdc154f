/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-event.h>

#include "macro.h"

/* Tells once that tcpdump wrote to a capture's directory, i.e. that packets
 * flow: one IN_MODIFY (inotify, IN_ONESHOT), after which it is disarmed
 * until armed again, so that a busy capture costs no event per write and an
 * idle one no wake-up at all. All watches share one inotify instance (the
 * per-user limit of instances is low; it stays open). */
typedef struct TrafficWatch TrafficWatch;
typedef void (*TrafficCallback)(void *userdata);

int traffic_watch_new(TrafficWatch **ret, sd_event *event, const char *directory, TrafficCallback callback,
                      void *userdata);
TrafficWatch *traffic_watch_free(TrafficWatch *w);
DEFINE_POINTER_CLEANUP(TrafficWatch, traffic_watch_free);

/* Arms the watch for one event (nothing if armed already). */
int traffic_watch_arm(TrafficWatch *w);
