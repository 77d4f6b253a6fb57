// Copyright 2026 The poller Authors.
//
// What every benchmark in bench/ records beside its figures, so that runs can
// be compared and trusted: a median with its min-max over the repetitions, the
// machine, the load average, and where --json goes. Shared by //bench:compare
// and //bench:uring_features (which does not link the peer event loops, hence
// this small library rather than bench/harness.h).

#ifndef POLLER_BENCH_REPORT_H_
#define POLLER_BENCH_REPORT_H_

#include <cmath>
#include <string>
#include <vector>

namespace poller_bench {

// The median and range of some repetitions (NAN when there are none).
struct Spread {
  double median = NAN;
  double min = NAN;
  double max = NAN;
};
Spread Summarize(std::vector<double> values);

// "<CPU model>, <n> CPUs, Linux <release>", from /proc.
std::string Machine();

// The load average over the last minute, as /proc/loadavg gives it.
std::string LoadAverage();

// `bazel run` starts the binary in its runfiles: a relative --json path means
// the directory the command was typed in.
std::string OutputPath(std::string path);

}  // namespace poller_bench

#endif  // POLLER_BENCH_REPORT_H_
