// Copyright 2026 The poller Authors.

#include "examples/echo_report.h"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"

namespace poller_example {
namespace {

// The rates and latencies both formats print (latencies in microseconds).
struct Figures {
  double messages_per_second = 0;
  double megabytes_per_second = 0;
  double p50 = 0;
  double p90 = 0;
  double p99 = 0;
  double max = 0;
};

Figures FiguresOf(const LoadResult& result) {
  // A run too short to time still divides by something.
  const double seconds = std::max(result.seconds, 1e-9);
  Figures figures;
  figures.messages_per_second = static_cast<double>(result.messages) / seconds;
  // Each checked byte crossed the loopback twice (there and back).
  figures.megabytes_per_second =
      2.0 * static_cast<double>(result.bytes) / seconds / 1e6;
  figures.p50 = result.latency.Percentile(0.50) / 1e3;
  figures.p90 = result.latency.Percentile(0.90) / 1e3;
  figures.p99 = result.latency.Percentile(0.99) / 1e3;
  figures.max = static_cast<double>(result.latency.max()) / 1e3;
  return figures;
}

std::string JsonString(absl::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      absl::StrAppendFormat(&out, "\\u%04x", c);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

void PrintJson(const RunDescription& run, const LoadResult& result,
               const Figures& figures) {
  std::vector<std::string> samples;
  for (const std::string& sample : result.error_samples) {
    samples.push_back(JsonString(sample));
  }
  std::printf(
      "{\"backend\": %s, \"connections\": %llu, \"messages\": %llu, "
      "\"message_size\": %d, \"bytes\": %llu, \"seconds\": %.3f, "
      "\"messages_per_second\": %.0f, \"megabytes_per_second\": %.2f, "
      "\"latency_us\": {\"p50\": %.1f, \"p90\": %.1f, \"p99\": %.1f, "
      "\"max\": %.1f}, \"errors\": %llu, \"error_samples\": [%s]}\n",
      JsonString(run.backend).c_str(),
      static_cast<unsigned long long>(result.connections),
      static_cast<unsigned long long>(result.messages), run.message_size,
      static_cast<unsigned long long>(result.bytes), result.seconds,
      figures.messages_per_second, figures.megabytes_per_second, figures.p50,
      figures.p90, figures.p99, figures.max,
      static_cast<unsigned long long>(result.errors),
      absl::StrJoin(samples, ", ").c_str());
}

void PrintText(const RunDescription& run, const LoadResult& result,
               const Figures& figures) {
  std::printf("echo_demo: %s backend%s, server on %s\n", run.backend.c_str(),
              run.server_elsewhere ? " (clients only)" : "",
              run.server_address.c_str());
  std::printf("  connections: %llu\n",
              static_cast<unsigned long long>(result.connections));
  std::printf("  messages:    %llu of %d bytes, each echoed and checked\n",
              static_cast<unsigned long long>(result.messages),
              run.message_size);
  std::printf("  bytes:       %llu each way\n",
              static_cast<unsigned long long>(result.bytes));
  std::printf("  time:        %.3f s\n", result.seconds);
  std::printf("  throughput:  %.0f messages/s, %.2f MB/s (both ways)\n",
              figures.messages_per_second, figures.megabytes_per_second);
  std::printf(
      "  latency:     p50 %.1f us, p90 %.1f us, p99 %.1f us, max %.1f us\n",
      figures.p50, figures.p90, figures.p99, figures.max);
  std::printf("  errors: %llu\n",
              static_cast<unsigned long long>(result.errors));
  for (const std::string& sample : result.error_samples) {
    std::printf("    %s\n", sample.c_str());
  }
}

}  // namespace

void PrintReport(const RunDescription& run, const LoadResult& result,
                 bool json) {
  const Figures figures = FiguresOf(result);
  if (json) {
    PrintJson(run, result, figures);
  } else {
    PrintText(run, result, figures);
  }
}

}  // namespace poller_example
