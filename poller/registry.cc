// Copyright 2026 The poller Authors.
//
// The backends compiled into this build, and which one Create() uses.
// backends/backends.bzl decides both (by platform and --//poller:backend); this
// file only turns its decision into a C++ table.

#include <array>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "poller/core/backend.h"
#include "poller/internal/errno_status.h"
#include "poller/poller.h"

// The #includes and entries of every compiled backend, from the table in
// backends/backends.bzl.
#include "poller/compiled_backends.inc"

#define POLLER_STRINGIFY_INNER(x) #x
#define POLLER_STRINGIFY(x) POLLER_STRINGIFY_INNER(x)

#if defined(POLLER_BACKEND_OVERRIDE)
#define POLLER_DEFAULT_BACKEND_NAME POLLER_STRINGIFY(POLLER_BACKEND_OVERRIDE)
#elif defined(POLLER_PLATFORM_BACKEND)
#define POLLER_DEFAULT_BACKEND_NAME POLLER_STRINGIFY(POLLER_PLATFORM_BACKEND)
#else
#error \
    "poller/BUILD defines POLLER_PLATFORM_BACKEND; build with Bazel or define it"
#endif

namespace poller {
namespace {

using Factory = absl::StatusOr<std::unique_ptr<Backend>> (*)();

struct CompiledBackend {
  absl::string_view name;
  Factory create;
};

constexpr CompiledBackend kCompiledBackends[] = {
    POLLER_COMPILED_BACKEND_ENTRIES};

constexpr absl::string_view kDefaultBackend = POLLER_DEFAULT_BACKEND_NAME;

constexpr bool IsCompiled(absl::string_view name) {
  for (const CompiledBackend& backend : kCompiledBackends) {
    if (backend.name == name) return true;
  }
  return false;
}

static_assert(IsCompiled(kDefaultBackend),
              "--//poller:backend (from another workspace: "
              "--@poller//poller:backend) names a backend this platform does "
              "not compile, or one a switch such as --//poller:io_uring=false "
              "leaves out; backends/backends.bzl lists each backend's systems");

}  // namespace

absl::string_view Poller::DefaultBackendName() { return kDefaultBackend; }

std::vector<std::string> Poller::CompiledBackends() {
  std::vector<std::string> names;
  names.emplace_back(kDefaultBackend);
  for (const CompiledBackend& backend : kCompiledBackends) {
    if (backend.name != kDefaultBackend) names.emplace_back(backend.name);
  }
  return names;
}

absl::StatusOr<std::unique_ptr<Poller>> Poller::Create() {
  return Create(kDefaultBackend);
}

absl::StatusOr<std::unique_ptr<Poller>> Poller::Create(
    absl::string_view backend) {
  for (const CompiledBackend& compiled : kCompiledBackends) {
    if (compiled.name != backend) continue;
    absl::StatusOr<std::unique_ptr<Backend>> created = compiled.create();
    if (!created.ok()) {
      return internal::InOperation(absl::StrCat("Create(", backend, ")"),
                                   created.status());
    }
    return FromBackend(*std::move(created));
  }
  return absl::NotFoundError(
      absl::StrCat("Create: no backend named \"", backend,
                   "\" is compiled into this build; compiled: ",
                   absl::StrJoin(CompiledBackends(), ", ")));
}

}  // namespace poller
