// Copyright 2026 The poller Authors.
//
// Replays the committed seed corpus (tests/fuzz/corpus/) through the model on
// every compiled backend, so the ordinary build (gcc, //...) checks what the
// fuzzer checks. One test per backend and corpus file:
//   CorpusReplay/CorpusReplayTest.Matches/epoll_wake_then_wait

#include <dirent.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "poller/poller.h"
#include "tests/fuzz/model.h"

namespace poller::fuzz {
namespace {

std::string CorpusDirectory() {
  const char* runfiles = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  return absl::StrCat(runfiles == nullptr ? "." : runfiles, "/",
                      workspace == nullptr ? "poller" : workspace,
                      "/tests/fuzz/corpus");
}

std::vector<std::string> CorpusFiles() {
  std::vector<std::string> files;
  DIR* directory = ::opendir(CorpusDirectory().c_str());
  if (directory == nullptr) return files;
  while (const dirent* entry = ::readdir(directory)) {
    if (entry->d_name[0] != '.') files.emplace_back(entry->d_name);
  }
  ::closedir(directory);
  std::sort(files.begin(), files.end());
  return files;
}

struct Case {
  std::string backend;
  std::string file;
};

std::vector<Case> AllCases() {
  std::vector<Case> cases;
  for (const std::string& backend : Poller::CompiledBackends()) {
    for (const std::string& file : CorpusFiles()) {
      cases.push_back(Case{backend, file});
    }
  }
  return cases;
}

class CorpusReplayTest : public ::testing::TestWithParam<Case> {};

TEST_P(CorpusReplayTest, Matches) {
  const std::string path =
      absl::StrCat(CorpusDirectory(), "/", GetParam().file);
  std::ifstream input(path, std::ios::binary);
  ASSERT_TRUE(input) << "cannot open " << path;
  const std::vector<std::uint8_t> program(
      (std::istreambuf_iterator<char>(input)),
      std::istreambuf_iterator<char>());
  const absl::Status status = RunProgram(GetParam().backend, program);
  if (status.code() == absl::StatusCode::kUnavailable) {
    GTEST_SKIP() << GetParam().backend << " is unavailable here: " << status;
  }
  EXPECT_TRUE(status.ok()) << status.message() << "\nprogram:\n"
                           << Disassemble(program);
}

INSTANTIATE_TEST_SUITE_P(CorpusReplay, CorpusReplayTest,
                         ::testing::ValuesIn(AllCases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           std::string name = absl::StrCat(
                               info.param.backend, "_", info.param.file);
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c)))
                               c = '_';
                           }
                           return name;
                         });

TEST(CorpusTest, CorpusIsThere) {
  EXPECT_GE(CorpusFiles().size(), 20u) << "in " << CorpusDirectory();
}

// The model must be able to fail: a program the backend cannot agree with is
// impossible to write through the public API, so check the model's own
// bookkeeping instead. Reading a handle whose peer wrote nothing reports 0
// bytes, and the model agrees; these runs pass on every backend.
TEST(CorpusTest, EmptyAndGarbageProgramsRun) {
  for (const std::string& backend : Poller::CompiledBackends()) {
    EXPECT_TRUE(RunProgram(backend, {}).ok()) << backend;
    std::vector<std::uint8_t> garbage(257);
    for (size_t i = 0; i < garbage.size(); ++i) {
      garbage[i] = static_cast<std::uint8_t>(i * 37 + 11);
    }
    const absl::Status status = RunProgram(backend, garbage);
    EXPECT_TRUE(status.ok() || status.code() == absl::StatusCode::kUnavailable)
        << backend << ": " << status.message();
  }
}

}  // namespace
}  // namespace poller::fuzz
