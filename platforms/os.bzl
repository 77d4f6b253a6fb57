"""OS constraint values for NetBSD and DragonFly on any @platforms (see BUILD)."""

load("@poller_platforms_compat//:defs.bzl", "PLATFORMS_HAS_OS")

def optional_os_constraints():
    """Defines //platforms:netbsd and :dragonfly.

    Each is an alias of @platforms//os:<name> when @platforms has it (0.0.6 and later), so a user's
    own platform that names @platforms//os:netbsd selects what poller's own does; otherwise it is a
    constraint value of the same @platforms//os:os setting, defined here.
    """
    for os, present in PLATFORMS_HAS_OS.items():
        if present:
            native.alias(
                name = os,
                actual = "@platforms//os:" + os,
                visibility = ["//visibility:public"],
            )
        else:
            native.constraint_value(
                name = os,
                constraint_setting = "@platforms//os:os",
                visibility = ["//visibility:public"],
            )
