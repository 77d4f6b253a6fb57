// Copyright 2026 The poller Authors.
//
// -----------------------------------------------------------------------------
// File: backends/iocp/iocp_backend.h
// -----------------------------------------------------------------------------
//
// The Windows backend: readiness of sockets through an I/O completion port and
// the Ancillary Function Driver's poll request (IOCTL_AFD_POLL), the technique
// of wepoll (piscisaureus/wepoll, src/sock.c), Rust's mio (src/sys/windows/
// afd.rs) and polling (src/iocp/), and libuv's uv_poll. NativeHandle is a
// SOCKET; nothing else can be registered.
//
// Strategy
//   Create opens one completion port (with no concurrency limit, so that a
//   thread busy with its events never keeps another thread's Wait from its
//   own) and one AFD helper handle (NtCreateFile on \Device\Afd\poller),
//   associated with the port; more helpers open as registrations grow, 32
//   registrations each. Each registration holds one poll request at a time:
//   IOCTL_AFD_POLL through NtDeviceIoControlFile on its helper handle,
//   naming the socket's base handle (WSAIoctl SIO_BASE_HANDLE, which looks
//   through layered service providers; if a provider breaks it, with any
//   error but WSAENOTSOCK, SIO_BSP_HANDLE_POLL and then SIO_BSP_HANDLE_SELECT
//   name the socket beneath, and failing those the socket itself is polled)
//   and the AFD_POLL_* events its interest needs. When the socket
//   has one of them, the driver completes the request and the completion port
//   queues a packet that points back at the registration. Wait collects
//   packets with GetQueuedCompletionStatusEx and turns each into an event:
//     AFD_POLL_RECEIVE, AFD_POLL_ACCEPT   -> readable
//     AFD_POLL_DISCONNECT                 -> hang-up and readable (end of file)
//     AFD_POLL_ABORT (a reset)            -> hang-up, and readable and
//                                            writable if asked for; not
//                                            error: Windows leaves SO_ERROR
//                                            at 0 after a reset (the next
//                                            recv or send says
//                                            WSAECONNRESET)
//     AFD_POLL_CONNECT_FAIL               -> error and hang-up, and readable
//                                            and writable if asked for
//     AFD_POLL_SEND                       -> writable
//     AFD_POLL_RECEIVE_EXPEDITED          -> priority (TCP urgent data)
//     AFD_POLL_LOCAL_CLOSE                -> the socket was closed without
//                                            Delete: the registration is
//                                            dropped silently
//   Readable interest asks for RECEIVE, ACCEPT, DISCONNECT, ABORT and
//   CONNECT_FAIL; writable for SEND, ABORT and CONNECT_FAIL; priority for
//   RECEIVE_EXPEDITED; every request also asks for LOCAL_CLOSE.
//
//   Between two Waits every registration has a request pending, so that the
//   driver's LOCAL_CLOSE tells it when its socket is closed: its full request,
//   or a watch that asks for LOCAL_CLOSE and for none of the events the socket
//   is known to have. A level registration that reported is watched for what
//   it did not report, and the next Wait cancels the watch and issues the
//   full request once the cancelled packet is in: a socket that is still
//   ready is reported again, one the program drained is not. A oneshot
//   registration that reported, and one with kNone interest, keep a
//   LOCAL_CLOSE-only watch until Rearm or Modify. A Modify or Rearm that needs
//   events the pending request does not ask for cancels it (NtCancelIoFileEx),
//   and the Wait that collects the cancelled packet issues the new request; a
//   change the pending request covers only changes the token, interest and
//   mode (the completion is filtered by the current interest). A new request
//   is never issued beside a cancelled one on the same socket (Windows mixes
//   up the completions of two requests on one socket): an Add right after
//   Delete takes the cancelled packet off the port first, or leaves its
//   request to the Wait that collects it. Every Wait issues what cancelled
//   packets were waiting for and looks at the port again (at most three
//   times), so readiness already there is reported by the next Wait, Wait(0)
//   included. Delete cancels the pending request; the registration's memory
//   is freed when its last packet arrives (the driver writes into it until
//   then), and that packet is dropped. Every request can be issued from any
//   thread: a request on a handle associated with a completion port is not
//   cancelled when the thread that issued it exits.
//
//   Cost: a oneshot registration's report and Rearm take three requests
//   (the watch, its cancel, the full request) and a second look at the port;
//   a level registration that reports does the same on every Wait. The
//   other backends re-arm in one call or none.
//
//   Wake posts a packet with its own completion key
//   (PostQueuedCompletionStatus). Poller coalesces wakes, so a burst posts one.
//
//   Wait: GetQueuedCompletionStatusEx takes whole milliseconds, rounded up;
//   timeout_resolution() says 1 ms, so the conformance suite's
//   sub-millisecond precision test skips for this backend. A high-resolution
//   waitable timer ending an alertable wait would be finer on Windows 10, but
//   not under Wine 8, whose server runs every timer to the millisecond
//   (measured: a 100 us timer ended the wait after 1.1 to 1.4 ms), and an
//   alertable wait would also run the thread's other APCs. At most 256 packets
//   are taken per call, and never more than the Events buffer holds, so no
//   event is taken from the kernel and then dropped.
//
//   If issuing a request fails in Wait, the registration stays queued for the
//   next Wait, so nothing is lost for good, and Wait returns the error if it
//   has no event to return; if it fails because the socket is gone (closed
//   without Delete), the registration is dropped, as for LOCAL_CLOSE.
//
//   Destruction cancels every request on every helper handle and waits (up to
//   5 s) for their packets before freeing the registrations, since the driver
//   writes into them until then; a registration whose packet never comes is
//   leaked rather than freed under the driver.
//
// Modes
//   kLevel, kOneshot: as above.
//   kEdgeOneshot: the same as kOneshot. Re-arming checks the readiness that is
//     already there, which is also what epoll does for EPOLLET | EPOLLONESHOT
//     on EPOLL_CTL_MOD, so within one arm the two cannot be told apart.
//   kEdge: not supported (SupportsMode is false; Add and Modify return
//     Unimplemented). A poll request reports states, never changes: it
//     completes at once for a socket that is still readable, so "new data
//     arrived since the last report" cannot be told from "the same data is
//     still there" without the program's reads, which poller does not see
//     (mio gets edge semantics on Windows by wrapping every read and write).
//     Emulating it by re-polling would spin. Use kOneshot and re-arm.
//
// Memory
//   128 bytes per registration (the request's IO_STATUS_BLOCK and
//   AFD_POLL_INFO, the socket, its base handle, helper handle, token,
//   interest and state), allocated once by Add and never moved, plus a
//   hash-map node, plus what the driver keeps for a pending request. One
//   helper handle per 32 registrations (as wepoll and mio): a cancel walks the
//   requests pending on its helper, so with one helper for every socket it
//   would cost more the more sockets there are. A helper left empty is closed,
//   the last one excepted.
//
// Semantics that differ from other backends
//   - Sockets only (TCP, UDP, listeners; IPv4 and IPv6). Another handle (a
//     file, a pipe, a CRT descriptor, a closed socket) is InvalidArgument,
//     with a message naming the Windows error.
//   - kNone interest reports nothing at all, hang-up and error included (its
//     request only watches for the close), unlike epoll and poll.
//   - Closing a socket without Delete: the driver completes the pending
//     request with LOCAL_CLOSE, and the next Wait drops the registration
//     silently (Delete then says NotFound). Add of a new socket that got the
//     same SOCKET value (Windows reuses them) succeeds: it takes the closed
//     socket's packet off the port if it is there, which it is once
//     closesocket has returned on Windows and under Wine; if not yet, Add says
//     AlreadyExists until the next Wait. A Modify of the value before the
//     next Wait returns OK and reports nothing under either token (the
//     registration is dropped). What cannot be told apart: a completion that
//     was queued before the close is reported once, under the old token (the
//     readiness was the old socket's), and the request issued after it polls
//     whatever socket has the value by then. Delete before closesocket.
//   - One socket, two registrations (two handles from WSADuplicateSocket, or
//     two pollers): two requests on one socket, whose completions Windows may
//     mix up (one reports the other's events and the other never completes;
//     reported on Windows 10 and 11, not seen under Wine). Register a socket
//     once.
//   - No fork() and no exec inheritance to speak of: the port and the helper
//     handle are not inheritable.
//   - Timeouts are whole milliseconds (see Wait above).
//
// Wine and Windows
//   The conformance, fault, pitfall and stress suites run under Wine 8
//   (tools/windows_test.sh); nothing here has run on Windows itself. Wine
//   implements IOCTL_AFD_POLL in its own server rather than in a driver, and
//   behaves as described above in every case the suites check. Known
//   differences: a TCP socket that is neither connected nor connecting stays
//   pending with no events under Wine (Windows may report it writable or
//   hung up); WSAIoctl(SIO_BASE_HANDLE) under Wine returns any value it is
//   given, so a closed socket or a file is caught by the poll request
//   (STATUS_INVALID_HANDLE or STATUS_OBJECT_TYPE_MISMATCH -> InvalidArgument)
//   instead of by WSAIoctl (WSAENOTSOCK -> InvalidArgument); Wine's
//   GetProcessHandleCount always says 0 (the tests count handles with
//   NtQuerySystemInformation instead). The AFD interface is undocumented;
//   libuv, mio, polling and wepoll depend on it, which makes a silent change
//   unlikely.
//
// Thread-safety: as Backend requires. A mutex guards the registrations; Wait
// holds it while it turns packets into events, never while it blocks.

#ifndef POLLER_BACKENDS_IOCP_IOCP_BACKEND_H_
#define POLLER_BACKENDS_IOCP_IOCP_BACKEND_H_

#include <memory>

#include "absl/status/statusor.h"
#include "poller/core/backend.h"

namespace poller {

// The factory; the backend itself lives in iocp_backend.cc, so that the
// Windows headers stay out of every file that includes this one.
class IocpBackend {
 public:
  static constexpr absl::string_view kName = "iocp";

  // Errors: Unavailable when this Windows (or Wine) lacks what the backend
  // needs (the ntdll entry points, Winsock 2.2, \Device\Afd); otherwise the
  // code of the failing call's error (ResourceExhausted when out of memory or
  // handles).
  static absl::StatusOr<std::unique_ptr<Backend>> Create();
};

}  // namespace poller

#endif  // POLLER_BACKENDS_IOCP_IOCP_BACKEND_H_
