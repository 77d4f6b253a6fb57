// Copyright 2026 The poller Authors.
//
// The results of //bench:compare: one Figure per case, parameters and
// implementation, with every repetition kept, so that each figure carries its
// spread (min-max) beside its median, in the output and in the JSON.
//
// Ratios are paired: within one repetition every implementation runs once,
// in turn, so each repetition gives one ratio to the baseline (raw, unless a
// case says otherwise) measured minutes apart at most; the figure's ratio is
// the median of those, with their min-max.

#ifndef POLLER_BENCH_SUITE_H_
#define POLLER_BENCH_SUITE_H_

#include <cmath>
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "bench/event_loop.h"
#include "bench/report.h"

namespace poller_bench {

struct Figure {
  std::string case_name;
  std::string implementation;
  std::vector<std::pair<std::string, std::string>> params;  // JSON values.
  std::string baseline = "raw";
  // Per repetition: wall ns per op, CPU ns per op of the measuring thread
  // (empty where a case has none), and the ratios of those to the baseline's
  // in the same repetition.
  std::vector<double> samples;
  std::vector<double> cpu_samples;
  std::vector<double> ratios;
  std::vector<double> cpu_ratios;
  // Other measures, each per repetition.
  std::vector<std::pair<std::string, std::vector<double>>> extra;
};

// What a case's run returns for one implementation and repetition.
struct Sample {
  Sample() = default;
  // Wall ns per op; the CPU time is what the run's Stopwatch recorded.
  explicit Sample(double wall_ns_per_op) : ns_per_op(wall_ns_per_op) {}

  double ns_per_op = NAN;
  double cpu_ns_per_op = NAN;
  std::vector<std::pair<std::string, double>> extra;
};

class Suite {
 public:
  Suite(std::vector<Implementation> implementations, int repetitions)
      : implementations_(std::move(implementations)),
        repetitions_(repetitions) {}

  struct TimeOptions {
    // The implementation ratios are taken to.
    std::string baseline = "raw";
    // Which implementations run the case (default: all).
    std::function<bool(const Implementation&)> only;
    // One warm-up repetition, thrown away, before the timed ones.
    bool warm_up = true;
    // Timed repetitions; 0 means the suite's.
    int repetitions = 0;
  };

  // Runs `run` for every implementation: a warm-up repetition, then the
  // timed ones, the implementations in turn within each (a different one
  // first each time), and prints the figures.
  void Time(const std::string& case_name,
            std::vector<std::pair<std::string, std::string>> params,
            const std::function<Sample(const Implementation&)>& run,
            const TimeOptions& options);
  void Time(const std::string& case_name,
            std::vector<std::pair<std::string, std::string>> params,
            const std::function<Sample(const Implementation&)>& run) {
    Time(case_name, std::move(params), run, TimeOptions());
  }

  // A figure measured otherwise (the memory case).
  void Add(Figure figure) { figures_.push_back(std::move(figure)); }
  void PrintFrom(size_t first) const;
  size_t size() const { return figures_.size(); }
  const std::vector<Implementation>& implementations() const {
    return implementations_;
  }

  bool WriteJson(const std::string& path, const std::string& header) const;

 private:
  void Print(size_t first) const;

  std::vector<Implementation> implementations_;
  const int repetitions_;
  std::vector<Figure> figures_;
};

}  // namespace poller_bench

#endif  // POLLER_BENCH_SUITE_H_
