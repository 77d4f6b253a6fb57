// Copyright 2026 The poller Authors.
//
// The conformance suite on the epoll backend with kernel oneshot (EPOLLONESHOT)
// instead of the default lazy user-space disarming: both strategies must keep
// every rule.

#include "backends/epoll/epoll_backend.h"
#include "poller/poller.h"
#include "tests/conformance/suite.h"

POLLER_CONFORMANCE_SUITE(
    EpollKernelOneshot,
    []() -> absl::StatusOr<std::unique_ptr<poller::Poller>> {
      poller::EpollBackend::Options options;
      options.oneshot = poller::EpollBackend::OneshotStrategy::kKernel;
      auto backend = poller::EpollBackend::Create(options);
      if (!backend.ok()) return backend.status();
      return poller::Poller::FromBackend(*std::move(backend));
    });
