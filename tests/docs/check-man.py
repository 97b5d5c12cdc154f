#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks of the man pages.

  check-man.py render PAGE...
      every page renders with `man -l` without a warning
  check-man.py dbus-members XML BUS_ERRORS_H PAGE
      PAGE names every method, signal and property of the interface XML
      and every error name of common/bus-errors.h
  check-man.py config-keys SOURCE_ROOT PAGE
      PAGE documents (as "Key=") every key the daemon accepts: the capture
      option table and the strcmp(key, "...") keys of the config parsers;
      and every key PAGE describes (a .TP item) is one of them
  check-man.py capturectl CAPTURECTL PAGE
      PAGE names every command and option of `capturectl --help`
  check-man.py readme-dbus XML README
      README's D-Bus API section names every method and signal of the
      interface XML

Exit status 0 when the check passes, 1 when it fails (saying what is
missing), 77 (skip) when `man` is not installed.
"""

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def words_of_page(path):
    """The page's source with font escapes removed and \\- made '-', so that
    "\\fBFileSize=\\fR" and "\\-\\-file\\-size" match plain names."""
    text = read(path)
    text = re.sub(r"\\f[BIRP]|\\f\[[A-Z]*\]", "", text)
    text = text.replace("\\-", "-").replace("\\&", "")
    return text


def check_render(pages):
    if not shutil.which("man"):
        print("SKIP: man (package man-db) is not installed", file=sys.stderr)
        sys.exit(77)

    problems = []
    for page in pages:
        before = len(problems)
        for locale in ("C", "C.UTF-8"):
            env = dict(os.environ, MANWIDTH="80", LC_ALL=locale, MAN_DISABLE_SECCOMP="1")
            env.pop("MANPAGER", None)
            env.pop("PAGER", None)
            result = subprocess.run(["man", "--warnings", "-l", page], env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            if result.returncode != 0 or result.stderr.strip():
                problems.append(f"{os.path.basename(page)} (LC_ALL={locale}, exit {result.returncode}):\n"
                                f"{result.stderr.rstrip()}")
            elif len(result.stdout.splitlines()) < 10:
                problems.append(f"{os.path.basename(page)} rendered to almost nothing")
        if len(problems) == before:
            print(f"ok: {os.path.basename(page)} renders without warnings")

    if problems:
        fail("man pages with warnings:\n" + "\n".join(problems))


def check_dbus_members(xml_path, errors_h, page):
    text = words_of_page(page)
    names = []
    for interface in ET.parse(xml_path).getroot().iter("interface"):
        names.append(interface.get("name"))
        for kind in ("method", "signal", "property"):
            names += [member.get("name") for member in interface.iter(kind)]
    if len(names) < 10:
        fail(f"found only {len(names)} names in {xml_path}: is the parser still right?")

    errors = re.findall(r'"(io\.captured\.Capture1\.Error\.[A-Za-z]+)"', read(errors_h))
    if not errors:
        fail(f"found no error names in {errors_h}")

    missing = [n for n in names + errors if not re.search(r"(?<![\w.])" + re.escape(n) + r"(?![\w])", text)]
    if missing:
        fail(f"{os.path.basename(page)} does not mention: {', '.join(missing)}")
    print(f"ok: {os.path.basename(page)} mentions all {len(names)} interfaces and members "
          f"and {len(errors)} errors")


def check_readme_dbus(xml_path, readme):
    section = read(readme).split("\n## D-Bus API\n", 1)[-1].split("\n## ", 1)[0]
    names = [member.get("name") for interface in ET.parse(xml_path).getroot().iter("interface")
             for kind in ("method", "signal") for member in interface.iter(kind)]
    missing = [n for n in names if not re.search(r"`" + re.escape(n) + r"[`(]", section)]
    if missing:
        fail(f"the D-Bus API section of {os.path.basename(readme)} does not name: {', '.join(missing)}")
    print(f"ok: the D-Bus API section of {os.path.basename(readme)} names all {len(names)} methods and signals")


def config_keys(source_root):
    keys = set()
    table = read(os.path.join(source_root, "common", "capture-options.c"))
    keys |= set(re.findall(r'\bOPT\(\s*"([A-Za-z]+)"', table))
    if len(keys) < 5:
        fail("found fewer than 5 keys in the option table of common/capture-options.c")

    for name in ("configuration.c", "upload-target.c", "capture-settings.c"):
        source = read(os.path.join(source_root, "daemon", name))
        found = set(re.findall(r'strcmp\(\s*key\s*,\s*"([A-Za-z]+)"\s*\)', source))
        if not found:
            fail(f"found no strcmp(key, \"...\") in daemon/{name}: is the parser still right?")
        keys |= found
    return keys


def check_config_keys(source_root, page):
    text = words_of_page(page)
    keys = config_keys(source_root)
    missing = sorted(k for k in keys if not re.search(r"(?<![\w])" + re.escape(k) + "=", text))
    if missing:
        fail(f"{os.path.basename(page)} does not document: {', '.join(k + '=' for k in missing)}")
    # And the other way: every key the page describes (a .TP item) is one
    # the daemon reads.
    described = set(re.findall(r"^\.TP\n\.BI? ([A-Z][A-Za-z]+)=", text, re.M))
    unknown = sorted(described - keys)
    if len(described) < 10 or unknown:
        fail(f"{os.path.basename(page)} describes keys the daemon does not read: {', '.join(k + '=' for k in unknown)}"
             if unknown else f"found only {len(described)} described keys in {page}: is the parser still right?")
    print(f"ok: {os.path.basename(page)} documents all {len(keys)} keys: {', '.join(sorted(keys))}")


def capturectl_help(capturectl):
    result = subprocess.run([capturectl, "--help"], stdout=subprocess.PIPE, text=True, check=True)
    return result.stdout


def help_options(text):
    """The long options of `capturectl --help`: "--[no-]x" gives --x and --no-x."""
    options = set()
    for match in re.finditer(r"--(\[no-\])?([a-z][a-z-]*)", text):
        options.add("--" + match.group(2))
        if match.group(1):
            options.add("--no-" + match.group(2))
    return options


def help_commands(text):
    section = text.split("Commands:", 1)[1].split("\n\n", 1)[0]
    return [line.split()[0] for line in section.splitlines() if line.strip()]


def check_capturectl(capturectl, page):
    text = words_of_page(page)
    help_text = capturectl_help(capturectl)
    options = help_options(help_text)
    commands = help_commands(help_text)
    if len(options) < 10 or len(commands) < 5:
        fail("could not read the options and commands of capturectl --help")

    missing = sorted(o for o in options if not re.search(re.escape(o) + r"(?![\w-])", text))
    missing += [c for c in commands if not re.search(r"^\.B[IR]? " + re.escape(c) + r"\b", text, re.M)]
    for code in range(5):
        if not re.search(r"^\.B " + str(code) + "$", text, re.M):
            missing.append(f"exit status {code}")
    if missing:
        fail(f"{os.path.basename(page)} does not document: {', '.join(missing)}")
    print(f"ok: {os.path.basename(page)} documents {len(commands)} commands, {len(options)} options "
          f"and exit status 0-4")


def main(argv):
    if len(argv) < 2:
        fail(__doc__)
    check, args = argv[1], argv[2:]
    if check == "render" and args:
        check_render(args)
    elif check == "dbus-members" and len(args) == 3:
        check_dbus_members(*args)
    elif check == "config-keys" and len(args) == 2:
        check_config_keys(*args)
    elif check == "capturectl" and len(args) == 2:
        check_capturectl(*args)
    elif check == "readme-dbus" and len(args) == 2:
        check_readme_dbus(*args)
    else:
        fail(f"bad arguments: {argv[1:]}\n{__doc__}")


if __name__ == "__main__":
    main(sys.argv)
