"""Module extensions for poller under Bzlmod (MODULE.bazel). Not loaded by WORKSPACE builds, since
Bazel 4 has no module_extension. Tested with Bazel 7.7.1 by tools/bzlmod_test.sh.
"""

load("//third_party:deps.bzl", "declare_bench_peers")
load("//third_party:platforms_compat.bzl", "platforms_compat")

def _platforms_compat_extension_impl(_module_ctx):
    platforms_compat(name = "poller_platforms_compat")

# Declares @poller_platforms_compat, which //platforms:os.bzl loads, as poller_deps() does.
platforms_compat_extension = module_extension(implementation = _platforms_compat_extension_impl)

def _bench_peers_extension_impl(_module_ctx):
    declare_bench_peers()

# Declares @libevent, @libev, @libuv and @boost from Debian's packages, as poller_bench_deps() does.
# MODULE.bazel uses it as a dev_dependency: only poller's own //bench needs them.
bench_peers_extension = module_extension(implementation = _bench_peers_extension_impl)
