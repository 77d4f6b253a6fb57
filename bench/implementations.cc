// Copyright 2026 The poller Authors.
//
// Every implementation the suite can run, in the order it reports them.

#include <string>
#include <vector>

#include "bench/event_loop.h"
#include "poller/poller.h"

namespace poller_bench {

std::vector<Implementation> AllImplementations() {
  std::vector<Implementation> all;
  all.push_back({"raw", NewRawLoop, false});
  all.push_back({"raw-pwait2", NewRawPwait2Loop, false, true});
  for (const std::string& backend : poller::Poller::CompiledBackends()) {
    all.push_back({"poller/" + backend,
                   [backend](const LoopOptions& options) {
                     return NewPollerLoop(backend, options);
                   },
                   false});
  }
#if defined(POLLER_HAVE_EPOLL_BACKEND)
  // The epoll backend with kernel oneshot (EPOLLONESHOT, one EPOLL_CTL_MOD per
  // re-arm) instead of its default user-space oneshot, for comparison.
  all.push_back(
      {"poller/epoll-kernel-oneshot", NewPollerEpollKernelOneshotLoop, false});
#endif
#if defined(POLLER_HAVE_IO_URING_BACKEND)
  // The io_uring backend with the caller's promise to Delete before close
  // (no identity check per re-arm). Every bench case deletes before close.
  all.push_back({"poller/io_uring-deleted-before-close",
                 NewPollerIoUringDeletedBeforeCloseLoop, false});
#endif
  all.push_back({"libevent", NewLibeventLoop, true});
  all.push_back({"libev", NewLibevLoop, true});
  all.push_back({"libuv", NewLibuvLoop, true});
  all.push_back({"asio", NewAsioLoop, true});
  return all;
}

}  // namespace poller_bench
