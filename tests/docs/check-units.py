#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""packet-capture@.service as built (issue 8, item 7): its ExecStop= never
bus-activates captured (--no-auto-start), it is bound to captured.service,
and its capturectl command lines are ones this capturectl accepts (run
against a bus that does not exist: a usage error exits 2, a connection
failure 1).

usage: check-units.py TEMPLATE CAPTURECTL"""

import os
import re
import shlex
import subprocess
import sys

EXIT_USAGE = 2


def unit_settings(path):
    settings = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith(("#", ";", "[")):
                continue
            key, _, value = line.partition("=")
            settings.setdefault(key, []).append(value)
    return settings


def expand(command, environment, instance):
    """The command line as systemd runs it: ${VAR} and %i expanded, the
    leading '-' (ignore failure) dropped."""
    command = command.lstrip("-").replace("%i", instance)
    return [re.sub(r"\$\{(\w+)\}", lambda m: environment.get(m.group(1), ""), word)
            for word in shlex.split(command)]


def main():
    template, capturectl = sys.argv[1:3]
    settings = unit_settings(template)
    failures = []

    if settings.get("BindsTo") != ["captured.service"]:
        failures.append(f"BindsTo= is {settings.get('BindsTo')}, not captured.service")
    if "captured.service" not in " ".join(settings.get("After", [])).split():
        failures.append("not ordered After=captured.service")
    (stop,) = settings["ExecStop"]
    if "--no-auto-start" not in shlex.split(stop):
        failures.append(f"ExecStop= may bus-activate captured: {stop}")

    environment = {}
    for value in settings.get("Environment", []):
        for assignment in shlex.split(value):
            key, _, v = assignment.partition("=")
            environment[key] = v
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS="unix:path=/nonexistent/captured-check-units")
    for key in ("ExecStart", "ExecStop"):
        for command in settings.get(key, []):
            argv = [capturectl] + expand(command, environment, "lo")[1:]
            p = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
            if p.returncode == EXIT_USAGE or "failed to connect to the system bus" not in p.stderr:
                failures.append(f"{key}= {argv[1:]}: exit {p.returncode}: {p.stderr.strip()}")
            else:
                print(f"ok: {key}= parses: {' '.join(argv[1:])}")

    for failure in failures:
        print("FAIL: " + failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
