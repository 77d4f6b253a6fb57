// Copyright 2026 The poller Authors.
//
// -----------------------------------------------------------------------------
// File: tests/builtin_backends.h
// -----------------------------------------------------------------------------
//
// poller's own backend instances, as the stress, fault and fuzz-replay suites
// run them: one per name of Poller::CompiledBackends() (with the options its
// conformance test uses), plus the instances of a backend with options, such
// as epoll with kernel oneshot.

#ifndef POLLER_TESTS_BUILTIN_BACKENDS_H_
#define POLLER_TESTS_BUILTIN_BACKENDS_H_

#include <string>
#include <vector>

#include "tests/backend_under_test.h"

namespace poller::conformance {

// Poller::Create(name), with the options the backend needs declared (poll(2)
// has only millisecond timeouts off Linux, iocp everywhere).
BackendUnderTest BuiltinBackend(const std::string& name);

// The epoll backend with kernel oneshot (EPOLLONESHOT) instead of the default
// lazy user-space disarming: both strategies must keep every rule. Its factory
// says Unimplemented where epoll is not compiled in.
BackendUnderTest EpollKernelOneshot();

// The io_uring backend with the caller's promise to Delete before close
// (IoUringBackend::Options::deleted_before_close). It declares unsupported
// the conformance rules that close a registered handle without Delete (and
// one more, see its list). Its factory says Unimplemented where io_uring is
// not compiled in.
BackendUnderTest IoUringDeletedBeforeClose();

// Every built-in instance compiled in here: BuiltinBackend() of each compiled
// backend, then EpollKernelOneshot() where epoll is compiled in and
// IoUringDeletedBeforeClose() where io_uring is.
std::vector<BackendUnderTest> BuiltinBackends();

}  // namespace poller::conformance

#endif  // POLLER_TESTS_BUILTIN_BACKENDS_H_
