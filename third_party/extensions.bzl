"""Module extensions for poller under Bzlmod (MODULE.bazel). Not loaded by WORKSPACE builds, since
Bazel 4 has no module_extension.

NOT TESTED: this repository's CI has only Bazel 4.2.3 (see MODULE.bazel).
"""

load("//third_party:platforms_compat.bzl", "platforms_compat")

def _platforms_compat_extension_impl(_module_ctx):
    platforms_compat(name = "poller_platforms_compat")

# Declares @poller_platforms_compat, which //platforms:os.bzl loads, as poller_deps() does.
platforms_compat_extension = module_extension(implementation = _platforms_compat_extension_impl)
