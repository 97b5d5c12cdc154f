/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The names of SPEC §2: the only place they are spelled out. */

#define CAPTURED_BUS_NAME                 "io.captured.Capture1"
#define CAPTURED_MANAGER_PATH             "/io/captured/Capture1"
#define CAPTURED_MANAGER_INTERFACE        "io.captured.Capture1.Manager"
#define CAPTURED_CAPTURE_INTERFACE        "io.captured.Capture1.Capture"
#define CAPTURED_CAPTURE_PATH_PREFIX      "/io/captured/Capture1/capture"
#define CAPTURED_POLKIT_ACTION            "io.captured.manage"
