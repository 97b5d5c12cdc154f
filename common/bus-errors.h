/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#define CAPTURED_ERROR_NO_SUCH_INTERFACE      "io.captured.Capture1.Error.NoSuchInterface"
#define CAPTURED_ERROR_INVALID_FILTER         "io.captured.Capture1.Error.InvalidFilter"
#define CAPTURED_ERROR_NO_SUCH_CAPTURE        "io.captured.Capture1.Error.NoSuchCapture"
#define CAPTURED_ERROR_ALREADY_RUNNING        "io.captured.Capture1.Error.AlreadyRunning"
#define CAPTURED_ERROR_NO_SUCH_UPLOAD_TARGET  "io.captured.Capture1.Error.NoSuchUploadTarget"

extern const sd_bus_error_map captured_error_map[];

/* Registers captured_error_map with sd-bus; daemon and client call it once at start. */
int captured_error_map_register(void);
