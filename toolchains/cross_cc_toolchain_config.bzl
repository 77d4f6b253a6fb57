"""A compile-only C++ toolchain config for cross-checking poller on platforms this machine lacks.

The compiler is cross_cc.sh, which adds the target's system headers. Only
compiling and archiving are real: linking runs /bin/false, so a binary or test for these platforms
fails to build. No dependency_file feature: the headers come from outside the workspace (the
npm-installed macOS SDK, mingw's), and without .d files Bazel does not validate their inclusion.
"""

load("@bazel_tools//tools/build_defs/cc:action_names.bzl", "ACTION_NAMES")
load(
    "@bazel_tools//tools/cpp:cc_toolchain_config_lib.bzl",
    "feature",
    "flag_group",
    "flag_set",
    "tool_path",
)

def _impl(ctx):
    tool_paths = [
        tool_path(name = "gcc", path = "cross_cc.sh"),
        tool_path(name = "ar", path = "/usr/bin/ar"),
        tool_path(name = "cpp", path = "/bin/false"),
        tool_path(name = "gcov", path = "/bin/false"),
        tool_path(name = "ld", path = "/bin/false"),
        tool_path(name = "nm", path = "/bin/false"),
        tool_path(name = "objdump", path = "/bin/false"),
        tool_path(name = "strip", path = "/bin/false"),
    ]

    # cross_cc.sh takes the target from this flag (and removes it), so one script serves all.
    target = feature(
        name = "cross_target",
        enabled = True,
        flag_sets = [flag_set(
            actions = [ACTION_NAMES.c_compile, ACTION_NAMES.cpp_compile],
            flag_groups = [flag_group(flags = ["--cross-target=" + ctx.attr.cross_target])],
        )],
    )
    return cc_common.create_cc_toolchain_config_info(
        ctx = ctx,
        features = [target],
        toolchain_identifier = ctx.attr.name,
        host_system_name = "x86_64-unknown-linux-gnu",
        target_system_name = ctx.attr.target_system_name,
        target_cpu = ctx.attr.target_cpu,
        target_libc = ctx.attr.target_libc,
        compiler = ctx.attr.compiler_name,
        abi_version = "local",
        abi_libc_version = "local",
        tool_paths = tool_paths,
    )

cross_cc_toolchain_config = rule(
    implementation = _impl,
    attrs = {
        "cross_target": attr.string(mandatory = True, doc = "What cross_cc.sh compiles for."),
        "compiler_name": attr.string(mandatory = True),
        "target_cpu": attr.string(mandatory = True),
        "target_libc": attr.string(mandatory = True),
        "target_system_name": attr.string(mandatory = True),
    },
    provides = [CcToolchainConfigInfo],
)
