"""Forwards the rules_cc macros to Bazel's native C++ rules.

Bazel 4.2.3 asks for @rules_cc itself (its generated C++ toolchain loads this file). Debian's
bazel-rules-cc is too new for it, and offline nothing can be downloaded, so ./bazelw points
@rules_cc here. A newer Bazel with network access uses the real rules_cc instead.
"""

def cc_library(**kwargs):
    native.cc_library(**kwargs)

def cc_binary(**kwargs):
    native.cc_binary(**kwargs)

def cc_test(**kwargs):
    native.cc_test(**kwargs)

def cc_import(**kwargs):
    native.cc_import(**kwargs)

def cc_toolchain(**kwargs):
    native.cc_toolchain(**kwargs)

def cc_toolchain_suite(**kwargs):
    native.cc_toolchain_suite(**kwargs)
