/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "capture-options.h"
#include "macro.h"

/* The settings of one interface's capture, as an INI file <iface>.conf with
 * a [Capture] section: the capture options it sets, and Enabled=. Two
 * directories hold them: capture.d/ under the configuration directory
 * (written by the admin) and captures/ under the state directory (written
 * by EnableCapture/DisableCapture, which win over capture.d/'s Enabled=). */

typedef struct CaptureSettings {
        char *interface;
        CaptureOptions options;   /* meaningful where mask says so */
        OptionMask mask;          /* the options the file sets */
        int enabled;              /* 1, 0, or -1 if the file does not say */
} CaptureSettings;

int capture_settings_new(CaptureSettings **ret, const char *interface);
CaptureSettings *capture_settings_free(CaptureSettings *s);
DEFINE_POINTER_CLEANUP(CaptureSettings, capture_settings_free);

/* NULL-terminated vectors of settings, one per interface. */
void capture_settings_vector_free(CaptureSettings **v);
CaptureSettings *capture_settings_find(CaptureSettings **v, const char *interface);

/* Loads every <iface>.conf in dir (a missing dir is empty). Files not named
 * after a valid interface name are logged and skipped. */
int capture_settings_load_directory(const char *dir, CaptureSettings ***ret);

/* Writes dir/<iface>.conf atomically (mode 0644, creating dir). */
int capture_settings_save(const char *dir, const CaptureSettings *s);
