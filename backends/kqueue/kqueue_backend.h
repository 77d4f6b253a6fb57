// Copyright 2026 The poller Authors.
//
// -----------------------------------------------------------------------------
// File: backends/kqueue/kqueue_backend.h
// -----------------------------------------------------------------------------
//
// The backend for macOS, FreeBSD, OpenBSD, NetBSD and DragonFly: one kqueue,
// its wake source (kqueue_waker.h), and a small table of registrations.
//
// Verification status
//   NOT run on a kqueue kernel: the project has no macOS or BSD machine. What
//   is checked, and how:
//   - Its decisions (filters per registration, changes per Add and Modify,
//     what each kernel event means, what a oneshot silences, which token an
//     event carries) live in kqueue_logic.h, which compiles everywhere;
//     kqueue_logic_test runs them on Linux under ./bazelw test //... with
//     kernel answers scripted from the XNU and FreeBSD sources cited below.
//   - This backend, kqueue_backend_test.cc and the conformance suite compile
//     against the macOS 13 SDK headers (x86_64, arm64) with the project's
//     cross toolchains: build //backends/kqueue/... for
//     --platforms=//platforms:macos_arm64 (and macos_x86_64) with the flags
//     tools/cross_compile_check.sh passes, or run that script with
//     --without-bazel. The BSD-only branches (#if on EVFILT_EXCEPT,
//     KQUEUE_CLOEXEC, __NetBSD__, no EV_DISPATCH) are checked by reading
//     only.
//   - Behaviour only a kernel shows is pinned by kqueue_backend_test.cc and
//     the conformance suite, which run only on macOS and the BSDs:
//       ./bazelw test //backends/kqueue/... //tests/conformance:kqueue_test
//     Please run them on a Mac or a BSD and report failures.
//   Sources read (2026): XNU (apple-oss-distributions/xnu) bsd/kern/
//   kern_event.c, uipc_socket.c, sys_pipe.c; FreeBSD sys/kern/kern_event.c,
//   sys_pipe.c, uipc_socket.c, kern_descrip.c; OpenBSD sys/sys/event.h 1.74
//   and uipc_socket.c; NetBSD and DragonFly kern_descrip.c; mio
//   src/sys/unix/selector/kqueue.rs; libuv src/unix/kqueue.c.
//
// Public API: KqueueBackend below. A program that wants
// the backend itself, to wrap it (a decorator that counts or logs calls) or to
// test it, depends on @poller//backends/kqueue and calls
// KqueueBackend::Create(), then hands the result to Poller::FromBackend();
// Poller::Create("kqueue") does the same without the wrapper. What follows is
// what this backend promises beyond poller/poller.h.
//
// How it works (filters per registration, threads, memory, and each
// decision with the kernel source it rests on) is described at the top of
// kqueue_backend.cc.
//
// Semantics that differ from epoll
//   - Readable and writable are separate filters: within one Wait they are
//     merged into one Event per registration; across two Waits they are two
//     Events (level and edge modes).
//   - kNone interest reports nothing at all, not even hang-up (epoll reports
//     hang-up and error regardless). It keeps a disabled EVFILT_READ filter.
//   - Closing a descriptor removes its filters at once, even if duplicates of
//     it are open (XNU knote_fdclose; epoll keeps them until the last
//     duplicate closes). The table still holds the number until Delete, which
//     then returns NotFound; an Add of another file that got the number
//     succeeds (its identity differs). A descriptor closed and replaced by a
//     duplicate of the same file is taken for the old registration: Add says
//     AlreadyExists, Delete says NotFound and forgets it. A Modify of a reused
//     number registers the new descriptor: call Delete before close.
//   - Regular files and directories are refused with InvalidArgument, as epoll
//     refuses them (kqueue would report them always readable). Checked with
//     fstat.
//   - Where the headers lack EV_DISPATCH (none of the systems above, in their
//     current releases), oneshot uses EV_ONESHOT, which deletes a filter once
//     it fires; Modify adds it again.
//
// fork() and exec()
//   fork(): see item 6. In the child, destroy the inherited Poller (it closes
//   nothing of the parent's) and Create a new one.
//   exec(): the kqueue is close-on-exec. macOS creates it so (kqueue_internal,
//   FP_CLOEXEC); FreeBSD 14+ with kqueuex(KQUEUE_CLOEXEC) and NetBSD with
//   kqueue1(O_CLOEXEC), atomically. Elsewhere (OpenBSD, DragonFly, older
//   FreeBSD) kqueue() is followed by fcntl(FD_CLOEXEC): another thread's
//   execve() between the two would carry the kqueue into the new program. A
//   fork()+exec() cannot, since the child never gets it.

#ifndef POLLER_BACKENDS_KQUEUE_KQUEUE_BACKEND_H_
#define POLLER_BACKENDS_KQUEUE_KQUEUE_BACKEND_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "poller/core/backend.h"

namespace poller {

// KqueueBackend
//
// Makes kqueue backends. Thread-safety and errors of the backend are Poller's
// (poller/poller.h); what differs is in the file comment above.
class KqueueBackend {
 public:
  static constexpr absl::string_view kName = "kqueue";

  // Errors: ResourceExhausted when out of descriptors or memory (EMFILE,
  // ENFILE, ENOMEM).
  static absl::StatusOr<std::unique_ptr<Backend>> Create();
};

}  // namespace poller

#endif  // POLLER_BACKENDS_KQUEUE_KQUEUE_BACKEND_H_
