/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <systemd/sd-bus.h>

/* Connects to the system bus, of host (over SSH) if not NULL. Logs failures. */
int bus_connect(sd_bus **ret, const char *host, bool ask_password);

/* Explains a failed call as one line on stderr, naming iface (may be NULL)
 * where the error is about it; action says what failed ("start the capture
 * on 'eth0'") for errors without a better explanation. Returns r. */
int log_bus_error(sd_bus *bus, const sd_bus_error *error, int r, const char *iface, const char *action);

/* Whether an error concerns only the interface of the call, so that a
 * command on several interfaces goes on with the next one. */
bool bus_error_is_per_interface(const sd_bus_error *error);

/* Whether an error says that there is no capture on the interface. */
bool bus_error_is_no_such_capture(const sd_bus_error *error);

/* Manager.GetCapture: the object path of the capture on iface. */
int bus_get_capture(sd_bus *bus, const char *iface, char **ret_path, sd_bus_error *error);

/* Properties.GetAll of the Capture interface of path, as a JSON object
 * keyed by property name. */
int bus_get_capture_properties(sd_bus *bus, const char *path, json_object **ret, sd_bus_error *error);

/* Reads one complete value of any D-Bus type at the current position of m as
 * JSON: numbers, booleans and strings as such, variants unwrapped, arrays and
 * structs as arrays, dictionaries with string keys as objects. */
int bus_message_read_json(sd_bus_message *m, json_object **ret);
