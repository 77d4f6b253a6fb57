// Copyright 2026 The poller Authors.

#include "bench/suite.h"

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "bench/harness.h"

namespace poller_bench {
namespace {

std::string JsonNumber(double value) {
  if (std::isnan(value)) return "null";
  return absl::StrFormat("%.6g", value);
}

// "name": median, "name_min": min, "name_max": max (nothing if empty).
void AppendSpread(std::string& json, const std::string& median_key,
                  const std::string& prefix,
                  const std::vector<double>& values) {
  if (values.empty()) return;
  const Spread spread = Summarize(values);
  absl::StrAppend(&json, ", \"", median_key, "\": ", JsonNumber(spread.median),
                  ", \"", prefix, "_min\": ", JsonNumber(spread.min), ", \"",
                  prefix, "_max\": ", JsonNumber(spread.max));
}

std::string JsonList(const std::vector<double>& values) {
  std::vector<std::string> numbers;
  for (double value : values) numbers.push_back(JsonNumber(value));
  return absl::StrCat("[", absl::StrJoin(numbers, ", "), "]");
}

std::string ToJson(const Figure& figure) {
  std::vector<std::string> params;
  for (const auto& [name, value] : figure.params) {
    params.push_back(absl::StrCat("\"", name, "\": ", value));
  }
  std::string json = absl::StrCat(
      "{\"case\": \"", figure.case_name, "\", \"impl\": \"",
      figure.implementation, "\", \"params\": {", absl::StrJoin(params, ", "),
      "}, \"baseline\": \"", figure.baseline, "\"");
  AppendSpread(json, "ns_per_op", "ns", figure.samples);
  AppendSpread(json, "ratio", "ratio", figure.ratios);
  AppendSpread(json, "cpu_ns_per_op", "cpu", figure.cpu_samples);
  AppendSpread(json, "cpu_ratio", "cpu_ratio", figure.cpu_ratios);
  for (const auto& [name, values] : figure.extra) {
    AppendSpread(json, name, name, values);
  }
  absl::StrAppend(&json, ", \"samples\": ", JsonList(figure.samples));
  if (!figure.cpu_samples.empty()) {
    absl::StrAppend(&json, ", \"cpu_samples\": ", JsonList(figure.cpu_samples));
  }
  absl::StrAppend(&json, "}");
  return json;
}

std::string ParamsKey(const Figure& figure) {
  std::string key = figure.case_name;
  for (const auto& [name, value] : figure.params) {
    absl::StrAppend(&key, " ", name, "=", value);
  }
  return key;
}

// Three significant digits or more, never an exponent.
std::string Number(double value) {
  if (std::isnan(value)) return "-";
  const double magnitude = std::fabs(value);
  if (magnitude >= 100) return absl::StrFormat("%.0f", value);
  if (magnitude >= 1) return absl::StrFormat("%.3g", value);
  return absl::StrFormat("%.3f", value);
}

// "median [min-max]" after `prefix`.
std::string SpreadText(const std::vector<double>& values,
                       const std::string& prefix) {
  if (values.empty()) return "";
  const Spread spread = Summarize(values);
  return absl::StrCat("  ", prefix, Number(spread.median), " [",
                      Number(spread.min), "-", Number(spread.max), "]");
}

// Each extra measure's values in repetition order, by name.
std::vector<std::pair<std::string, std::vector<double>>> GatherExtras(
    const std::vector<Sample>& samples) {
  std::vector<std::pair<std::string, std::vector<double>>> extras;
  for (const Sample& sample : samples) {
    for (const auto& [extra_name, value] : sample.extra) {
      // A named copy: C++17 lambdas cannot capture a structured binding.
      const std::string& name = extra_name;
      auto found = std::find_if(extras.begin(), extras.end(),
                                [&](const auto& e) { return e.first == name; });
      if (found == extras.end()) {
        extras.emplace_back(name, std::vector<double>());
        found = extras.end() - 1;
      }
      if (!std::isnan(value)) found->second.push_back(value);
    }
  }
  return extras;
}

}  // namespace

void Suite::Time(const std::string& case_name,
                 std::vector<std::pair<std::string, std::string>> params,
                 const std::function<Sample(const Implementation&)>& run,
                 const TimeOptions& options) {
  std::vector<const Implementation*> chosen;
  for (const Implementation& implementation : implementations_) {
    if (!options.only || options.only(implementation)) {
      chosen.push_back(&implementation);
    }
  }
  const size_t count = chosen.size();
  const int repetitions =
      options.repetitions > 0 ? options.repetitions : repetitions_;
  std::vector<std::vector<Sample>> samples(count);
  for (int repetition = options.warm_up ? -1 : 0; repetition < repetitions;
       ++repetition) {
    // Each repetition starts with the next implementation, so none always
    // runs first (right after the previous case's setup).
    for (size_t turn = 0; turn < count; ++turn) {
      const size_t i = (turn + static_cast<size_t>(repetition + 1)) % count;
      WatchdogArm(absl::StrCat(case_name, " on ", chosen[i]->name));
      (void)TakeCpuPerOp();
      Sample sample = run(*chosen[i]);
      if (std::isnan(sample.cpu_ns_per_op)) {
        sample.cpu_ns_per_op = TakeCpuPerOp();
      }
      WatchdogDisarm();
      if (repetition >= 0) samples[i].push_back(std::move(sample));
    }
  }
  const std::vector<Sample>* baseline = nullptr;
  for (size_t i = 0; i < count; ++i) {
    if (chosen[i]->name == options.baseline) baseline = &samples[i];
  }
  const size_t first = figures_.size();
  for (size_t i = 0; i < count; ++i) {
    Figure figure;
    figure.case_name = case_name;
    figure.implementation = chosen[i]->name;
    figure.params = params;
    figure.baseline = options.baseline;
    for (size_t r = 0; r < samples[i].size(); ++r) {
      const Sample& sample = samples[i][r];
      figure.samples.push_back(sample.ns_per_op);
      if (!std::isnan(sample.cpu_ns_per_op)) {
        figure.cpu_samples.push_back(sample.cpu_ns_per_op);
      }
      if (baseline == nullptr) continue;
      const Sample& base = (*baseline)[r];
      figure.ratios.push_back(sample.ns_per_op / base.ns_per_op);
      if (!std::isnan(sample.cpu_ns_per_op) &&
          !std::isnan(base.cpu_ns_per_op)) {
        figure.cpu_ratios.push_back(sample.cpu_ns_per_op / base.cpu_ns_per_op);
      }
    }
    figure.extra = GatherExtras(samples[i]);
    figures_.push_back(std::move(figure));
  }
  Print(first);
}

void Suite::PrintFrom(size_t first) const { Print(first); }

void Suite::Print(size_t first) const {
  if (first >= figures_.size()) return;
  std::printf("\n%s\n", ParamsKey(figures_[first]).c_str());
  for (size_t i = first; i < figures_.size(); ++i) {
    const Figure& figure = figures_[i];
    std::string line = absl::StrFormat("  %-28s", figure.implementation);
    absl::StrAppend(&line, SpreadText(figure.samples, "ns "),
                    SpreadText(figure.ratios, "x"),
                    SpreadText(figure.cpu_samples, "cpu_ns "),
                    SpreadText(figure.cpu_ratios, "cpu_x"));
    for (const auto& [name, values] : figure.extra) {
      absl::StrAppend(&line, SpreadText(values, name + "="));
    }
    std::printf("%s\n", line.c_str());
  }
  std::fflush(stdout);
}

bool Suite::WriteJson(const std::string& path,
                      const std::string& header) const {
  std::ofstream out(path);
  out << "{" << header << ",\n \"results\": [\n";
  for (size_t i = 0; i < figures_.size(); ++i) {
    out << "  " << ToJson(figures_[i])
        << (i + 1 < figures_.size() ? ",\n" : "\n");
  }
  out << "]}\n";
  return static_cast<bool>(out);
}

}  // namespace poller_bench
