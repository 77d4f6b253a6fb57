#!/usr/bin/env python3
"""Prints the tasks of .bcr/presubmit.yml for tools/bzlmod_test.sh, which runs each of them.

Usage: presubmit.py PRESUBMIT_YML

Output, one line per value, tab-separated: SECTION TASK KEY VALUE, where SECTION is "tasks" (the
BCR's anonymous module, which has only bazel_dep(name = "poller")) or "bcr_test_module", KEY is
build_flags, build_targets, test_flags, test_targets or run_targets; and one line
"bcr_test_module - module_path PATH". Tasks come in file order.

No YAML library is at hand in the lane's root, so this reads the plain subset the file keeps to
("key:" and "key: value" lines, "- value" lists, two-space indents) and fails on anything else, or
on a task key it does not know, rather than skip a target the BCR would build.
"""

import re
import sys

_LIST_KEYS = {"build_flags", "build_targets", "test_flags", "test_targets", "run_targets"}
_SCALAR_KEYS = {"name", "platform", "bazel"}


def unquote(value):
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def fail(number, line, why):
    sys.exit("presubmit.py: line %d: %s: %r" % (number, why, line))


def main():
    stack = []  # (indent, key) of the open "key:" lines
    out = []
    with open(sys.argv[1]) as f:
        lines = f.read().splitlines()
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        text = line.strip()
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = [key for _, key in stack]
        if text.startswith("- "):
            value = unquote(text[2:])
            if len(path) >= 3 and path[-3] == "tasks" and path[-1] in _LIST_KEYS:
                section = "tasks" if len(path) == 3 else path[0]
                if path[:-3] not in ([], ["bcr_test_module"]):
                    fail(number, line, "a task list outside tasks or bcr_test_module.tasks")
                out.append((section, path[-2], path[-1], value))
            elif not (path and path[-1] in ("platform", "bazel")):
                fail(number, line, "a list the lane does not know")
            continue
        match = re.match(r"^([A-Za-z_][A-Za-z0-9_]*):(.*)$", text)
        if not match:
            fail(number, line, "not a key line")
        key, value = match.group(1), match.group(2).strip()
        if len(path) >= 2 and path[-2] == "tasks" and key not in _LIST_KEYS | _SCALAR_KEYS:
            fail(number, line, "a task key the lane does not run")
        if path == ["bcr_test_module"] and key == "module_path":
            out.append(("bcr_test_module", "-", "module_path", unquote(value)))
        if not value:
            stack.append((indent, key))
    for row in out:
        print("\t".join(row))


if __name__ == "__main__":
    main()
