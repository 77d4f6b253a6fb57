// Copyright 2026 The poller Authors.
//
// -----------------------------------------------------------------------------
// File: examples/echo_report.h
// -----------------------------------------------------------------------------
//
// The echo demo's summary on stdout, as text or as one JSON object:
//
//   echo_demo: epoll backend, server on 127.0.0.1:33277
//     connections: 50
//     messages:    50000 of 128 bytes, each echoed and checked
//     ...
//     errors: 0

#ifndef POLLER_EXAMPLES_ECHO_REPORT_H_
#define POLLER_EXAMPLES_ECHO_REPORT_H_

#include <string>

#include "examples/echo_load.h"

namespace poller_example {

// What the report says about the run besides the load's result.
struct RunDescription {
  std::string backend;
  std::string server_address;  // Shown in the text only.
  int message_size = 0;
  // The server is another process's (echo_demo --connect): `backend` is the
  // clients' only.
  bool server_elsewhere = false;
};

void PrintReport(const RunDescription& run, const LoadResult& result,
                 bool json);

}  // namespace poller_example

#endif  // POLLER_EXAMPLES_ECHO_REPORT_H_
