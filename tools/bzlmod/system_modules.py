#!/usr/bin/env python3
"""Writes the local Bazel modules tools/bzlmod_test.sh passes with --override_module.

Usage: system_modules.py DEPS_BZL OUT_DIR

Under Bzlmod, poller's MODULE.bazel names the Bazel Central Registry's abseil-cpp, googletest and
liburing. The offline lane cannot download them, so it stands in Debian's installed libraries, the
way the WORKSPACE path does (third_party/system_library.bzl): a module of BUILD files whose
cc_library targets link the installed shared libraries, headers staying in /usr/include. The
targets come from the tables in third_party/deps.bzl (ABSL_TARGETS, GTEST_TARGETS,
_LIBURING_TARGETS), the same ones poller_deps() uses, in system_library's "libs=a,b;deps=//x"
form. A Starlark repository rule cannot make a module for --override_module, hence this script.

The libraries each Abseil target links are the table's on Debian 12, but sid's Abseil is newer and
split differently (Debian 12's libabsl_low_level_hash is gone, for one). So where sid ships a
pkg-config file for an Abseil target (absl_NAME.pc), its libraries come from that file and those it
requires, recursively; the table still names the targets and their deps.

It also writes:
  liburing-absent/  a liburing whose BUILD file fails when loaded: the consumer steps use it to
                    show that --@poller//poller:io_uring=false leaves liburing unused;
  buildozer, apple_support, zlib, protobuf/  empty modules. Bazel 7's own module graph (its
                    bazel_tools) names them; nothing here builds with them, and the registry
                    cannot be reached.
"""

import ast
import os
import re
import shutil
import sys

# Module name -> (table in deps.bzl, header that proves the Debian package is installed).
_SYSTEM_MODULES = {
    "abseil-cpp": ("ABSL_TARGETS", "/usr/include/absl/status/status.h"),
    "googletest": ("GTEST_TARGETS", "/usr/include/gmock/gmock.h"),
    "liburing": ("_LIBURING_TARGETS", "/usr/include/liburing.h"),
}

_EMPTY_MODULES = ["apple_support", "buildozer", "protobuf", "zlib"]

_PKGCONFIG = "/usr/lib/x86_64-linux-gnu/pkgconfig"


def pkgconfig_libs(name, seen=None):
    """The -l libraries of NAME.pc and of every .pc it requires, each once, in link order."""
    seen = set() if seen is None else seen
    if name in seen:
        return []
    seen.add(name)
    libs, requires = [], []
    with open(os.path.join(_PKGCONFIG, name + ".pc")) as f:
        for line in f:
            if line.startswith("Libs:"):
                libs = [t[2:] for t in line.split()[1:] if t.startswith("-l")]
            elif line.startswith("Requires:"):
                requires = [r.split()[0] for r in line[len("Requires:"):].split(",") if r.strip()]
    result = list(libs)
    for required in requires:
        result += [lib for lib in pkgconfig_libs(required, seen) if lib not in result]
    return result


def absl_pkgconfig(label):
    """The sid pkg-config file for an Abseil target "absl/PKG:NAME", or None."""
    package, _, name = label.partition(":")
    base = package.rsplit("/", 1)[-1]
    for candidate in ["absl_" + name, "absl_%s_%s" % (base, name), "absl_" + base]:
        if os.path.exists(os.path.join(_PKGCONFIG, candidate + ".pc")):
            return candidate
    return None


def read_table(deps_bzl, name):
    """The dict literal `NAME = {...}` of deps.bzl, comments dropped."""
    match = re.search(r"^%s = (\{.*?^\})" % re.escape(name), deps_bzl, re.M | re.S)
    if not match:
        sys.exit("system_modules.py: no table %s in third_party/deps.bzl" % name)
    text = "\n".join(line for line in match.group(1).splitlines()
                     if not line.strip().startswith("#"))
    return ast.literal_eval(text)


def cc_library(name, spec):
    """One target, as system_library.bzl's _cc_library writes it."""
    libs, deps = [], []
    for part in spec.split(";"):
        key, _, value = part.partition("=")
        values = [v for v in value.split(",") if v]
        if key == "libs":
            libs = values
        elif key == "deps":
            deps = values
        elif key:
            sys.exit("system_modules.py: bad target spec %r for %s" % (spec, name))
    return ("cc_library(\n    name = %r,\n    linkopts = %r,\n    deps = %r,\n)\n" %
            (name, ["-l" + lib for lib in libs], deps)).replace("'", '"')


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def module_file(name, why):
    return "# %s\nmodule(name = %r)\n" % (why, name)


def main():
    deps_bzl_path, out = sys.argv[1:3]
    with open(deps_bzl_path) as f:
        deps_bzl = f.read()
    if os.path.exists(out):
        shutil.rmtree(out)
    for module, (table, required) in _SYSTEM_MODULES.items():
        if not os.path.exists(required):
            sys.exit("system_modules.py: %s missing: the sid root lacks a package" % required)
        packages = {}
        for label, spec in read_table(deps_bzl, table).items():
            package, _, name = label.partition(":")
            pc = absl_pkgconfig(label) if module == "abseil-cpp" else None
            if pc:
                deps = [part for part in spec.split(";") if part.startswith("deps=")]
                spec = ";".join(["libs=" + ",".join(pkgconfig_libs(pc))] + deps)
            packages.setdefault(package, []).append(cc_library(name, spec))
        packages.setdefault("", [])
        root = os.path.join(out, module)
        write(os.path.join(root, "MODULE.bazel"),
              module_file(module, "Debian's installed %s (tools/bzlmod/system_modules.py)." % module))
        for package, rules in packages.items():
            header = ('# Generated from third_party/deps.bzl %s.\n'
                      'package(default_visibility = ["//visibility:public"])\n\n' % table)
            write(os.path.join(root, package, "BUILD.bazel"), header + "\n".join(rules))
    absent = os.path.join(out, "liburing-absent")
    write(os.path.join(absent, "MODULE.bazel"),
          module_file("liburing", "Stands for a missing liburing: loading any target fails."))
    write(os.path.join(absent, "BUILD.bazel"),
          'fail("@liburing was loaded, but --@poller//poller:io_uring=false should leave it unused")\n')
    for module in _EMPTY_MODULES:
        write(os.path.join(out, module, "MODULE.bazel"),
              module_file(module, "Empty: named by Bazel 7's own modules, unused by poller."))
        write(os.path.join(out, module, "BUILD.bazel"), "")


if __name__ == "__main__":
    main()
