// Copyright 2026 The poller Authors.
//
// The conformance suite on the io_uring backend with the caller's promise
// that every handle is Deleted before it is closed
// (IoUringBackend::Options::deleted_before_close). The rules that close a
// registered handle without Delete test what that promise gives up, and are
// declared unsupported (tests/builtin_backends.cc).

#include "tests/builtin_backends.h"
#include "tests/conformance/suite.h"

POLLER_CONFORMANCE_SUITE(IoUringDeletedBeforeClose,
                         ::poller::conformance::IoUringDeletedBeforeClose());
