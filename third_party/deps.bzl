"""poller_deps(): the external repositories poller needs, under their usual Bazel names.

Call it from your WORKSPACE after declaring any of these yourself:

    load("@poller//third_party:deps.bzl", "poller_deps")
    poller_deps()

A repository you already declared (for example Abseil from source with http_archive) is left alone,
so poller and your code share one copy. The ones you did not declare are backed by Debian's
packages (see system_library.bzl): headers in /usr/include, libraries in the system library path.
"""

load("//third_party:platforms_compat.bzl", "platforms_compat")
load("//third_party:system_library.bzl", "system_library")

_INCLUDE = "/usr/include/"

# The target tables are public so that a workspace which declares these repositories itself with
# system_library (examples/consumer does) exposes the same targets poller uses.

# Abseil 20220623 as Debian ships it (libabsl-dev): one shared library per component. A shared
# library records its own dependencies, so each target names only the libraries it adds.
ABSL_TARGETS = {
    "absl/algorithm:algorithm": "",
    "absl/algorithm:container": "",
    "absl/base:base": "libs=absl_base,absl_spinlock_wait,absl_raw_logging_internal,absl_log_severity",
    "absl/base:core_headers": "",
    "absl/base:log_severity": "libs=absl_log_severity",
    "absl/cleanup:cleanup": "",
    "absl/container:btree": "",
    "absl/container:fixed_array": "",
    "absl/container:flat_hash_map": "libs=absl_raw_hash_set,absl_hash,absl_city,absl_low_level_hash",
    "absl/container:flat_hash_set": "libs=absl_raw_hash_set,absl_hash,absl_city,absl_low_level_hash",
    "absl/container:inlined_vector": "",
    "absl/container:node_hash_map": "libs=absl_raw_hash_set,absl_hash,absl_city,absl_low_level_hash",
    "absl/debugging:failure_signal_handler": "libs=absl_failure_signal_handler,absl_examine_stack",
    "absl/debugging:stacktrace": "libs=absl_stacktrace",
    "absl/debugging:symbolize": "libs=absl_symbolize",
    "absl/flags:flag": "libs=absl_flags_internal,absl_flags_marshalling,absl_flags_reflection,absl_flags_config,absl_flags_program_name,absl_flags_private_handle_accessor,absl_flags_commandlineflag,absl_flags_commandlineflag_internal;deps=//absl/strings",
    "absl/flags:parse": "libs=absl_flags_parse,absl_flags_usage,absl_flags_usage_internal;deps=//absl/flags:flag",
    "absl/flags:usage": "libs=absl_flags_usage,absl_flags_usage_internal;deps=//absl/flags:flag",
    "absl/functional:any_invocable": "",
    "absl/functional:bind_front": "",
    "absl/functional:function_ref": "",
    "absl/hash:hash": "libs=absl_hash,absl_city,absl_low_level_hash",
    "absl/memory:memory": "",
    "absl/meta:type_traits": "",
    "absl/numeric:bits": "",
    "absl/numeric:int128": "libs=absl_int128",
    "absl/random:random": "libs=absl_random_distributions,absl_random_internal_pool_urbg,absl_random_internal_randen,absl_random_internal_randen_hwaes,absl_random_internal_randen_hwaes_impl,absl_random_internal_randen_slow,absl_random_internal_platform,absl_random_internal_seed_material,absl_random_seed_gen_exception,absl_random_seed_sequences",
    "absl/status:status": "libs=absl_status;deps=//absl/strings,//absl/strings:cord",
    "absl/status:statusor": "libs=absl_statusor;deps=//absl/status",
    "absl/strings:cord": "libs=absl_cord,absl_cord_internal,absl_cordz_functions,absl_cordz_handle,absl_cordz_info",
    "absl/strings:str_format": "libs=absl_str_format_internal;deps=//absl/strings",
    "absl/strings:strings": "libs=absl_strings,absl_strings_internal,absl_int128,absl_throw_delegate;deps=//absl/base",
    "absl/synchronization:synchronization": "libs=absl_synchronization,absl_graphcycles_internal;deps=//absl/time,//absl/base",
    "absl/time:time": "libs=absl_time,absl_time_zone,absl_civil_time;deps=//absl/strings",
    "absl/types:optional": "libs=absl_bad_optional_access",
    "absl/types:span": "",
    "absl/types:variant": "libs=absl_bad_variant_access",
    "absl/utility:utility": "",
}

GTEST_TARGETS = {
    ":gtest": "libs=gtest,pthread",
    ":gtest_main": "libs=gtest_main;deps=//:gtest",
    ":gmock": "libs=gmock;deps=//:gtest",
    ":gmock_main": "libs=gmock_main;deps=//:gmock",
}

# liburing 2.3 as Debian ships it (liburing-dev), for the io_uring backend only: with
# --@poller//poller:io_uring=false nothing depends on it and it is never looked for.
_LIBURING_TARGETS = {
    ":liburing": "libs=uring",
}

def poller_deps():
    """Declares poller's external repositories that the caller has not declared already."""
    existing = native.existing_rules()

    # Which OS constraint values @platforms has: //platforms defines the missing ones.
    if "poller_platforms_compat" not in existing:
        platforms_compat(name = "poller_platforms_compat")

    if "com_google_absl" not in existing:
        system_library(
            name = "com_google_absl",
            debian_package = "libabsl-dev",
            required_files = [_INCLUDE + "absl/status/status.h"],
            targets = ABSL_TARGETS,
        )
    if "com_google_googletest" not in existing:
        system_library(
            name = "com_google_googletest",
            debian_package = "libgtest-dev libgmock-dev",
            required_files = [_INCLUDE + "gtest/gtest.h", _INCLUDE + "gmock/gmock.h"],
            targets = GTEST_TARGETS,
        )
    if "liburing" not in existing:
        system_library(
            name = "liburing",
            alternative = ("Or leave the io_uring backend out, which is all that needs it: " +
                           "--//poller:io_uring=false (from another workspace " +
                           "--@poller//poller:io_uring=false; in your .bazelrc: " +
                           "build --@poller//poller:io_uring=false)."),
            debian_package = "liburing-dev",
            required_files = [_INCLUDE + "liburing.h"],
            targets = _LIBURING_TARGETS,
        )

# The peers //bench:compare measures poller against, from Debian's packages: libevent 2.1
# (libevent-dev), libev 4.33 (libev-dev), libuv 1.44 (libuv1-dev) and Boost.Asio 1.74
# (libboost-dev, header-only). Only //bench depends on them.
_LIBEVENT_TARGETS = {
    # Static: Debian's libev.so also exports libevent's event_* names (its compatibility layer),
    # and whichever shared library loads first would win; symbols in the binary always do.
    ":libevent": "libs=:libevent_pthreads.a,:libevent_core.a,pthread",
}

_LIBEV_TARGETS = {
    ":libev": "libs=ev",
}

_LIBUV_TARGETS = {
    ":libuv": "libs=uv,pthread",
}

_BOOST_TARGETS = {
    ":asio": "libs=pthread",
}

def poller_bench_deps():
    """Declares the benchmark peers' repositories that the caller has not declared already."""
    declare_bench_peers(native.existing_rules())

def declare_bench_peers(existing = {}):
    """Declares the benchmark peers not in `existing` (the module extension passes nothing)."""
    if "libevent" not in existing:
        system_library(
            name = "libevent",
            debian_package = "libevent-dev",
            required_files = [_INCLUDE + "event2/event.h", _INCLUDE + "event2/thread.h"],
            targets = _LIBEVENT_TARGETS,
        )
    if "libev" not in existing:
        system_library(
            name = "libev",
            debian_package = "libev-dev",
            required_files = [_INCLUDE + "ev.h"],
            targets = _LIBEV_TARGETS,
        )
    if "libuv" not in existing:
        system_library(
            name = "libuv",
            debian_package = "libuv1-dev",
            required_files = [_INCLUDE + "uv.h"],
            targets = _LIBUV_TARGETS,
        )
    if "boost" not in existing:
        system_library(
            name = "boost",
            debian_package = "libboost-dev",
            required_files = [_INCLUDE + "boost/asio.hpp"],
            targets = _BOOST_TARGETS,
        )
