/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* MESSAGE_ID= of the journal records a user searches for
 * (journalctl MESSAGE_ID=...), explained by captured.catalog (journalctl -x)
 * and listed in captured(8). Fixed for good: never change one. */

#define MESSAGE_CAPTURE_STARTED         "547f33bbbc9f44279be6beeee4bd8ef0"
#define MESSAGE_CAPTURE_STOPPED         "976332bdb32d415a9578b93d98108bbf"
#define MESSAGE_CAPTURE_FAILED          "6b74acd4116b4474978bda7a301c86d6"
#define MESSAGE_CAPTURE_RESTARTING      "a7e821d80d5c482689970dcb9ecd4feb"
#define MESSAGE_FILE_COMPLETED          "f23c654179644654910857a971903867"
#define MESSAGE_UPLOAD_FINISHED         "e54d73344c4d4ea392ca36006ffc4cdd"
#define MESSAGE_UPLOAD_FAILED           "e3076a677cee427f9553490882be7274"
#define MESSAGE_FILE_DELETED_DISK_GUARD "ad35cd3f5ca549ca919bb32742013016"
#define MESSAGE_FILE_DELETED_RETENTION  "410071c4c28941b78f6e35d0fdb2bbe5"
#define MESSAGE_UPLOAD_DROPPED          "be609c189eb34a67ac0905fde06a7eb0"
