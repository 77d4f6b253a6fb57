"""Targets that exist on one of this workspace's two paths only (WORKSPACE or MODULE.bazel)."""

load("@rules_cc//cc:defs.bzl", "cc_test")

def _under_bzlmod():
    # native.module_name() names the module of a Bzlmod repository and is empty for a WORKSPACE
    # one; Bazel 4 does not have it.
    return hasattr(native, "module_name") and bool(native.module_name())

def workspace_only_cc_test(**kwargs):
    """A cc_test declared only when this workspace is read through WORKSPACE."""
    if not _under_bzlmod():
        cc_test(**kwargs)
