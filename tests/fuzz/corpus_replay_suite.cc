// Copyright 2026 The poller Authors.
//
// Replays the committed seed corpus (tests/fuzz/corpus/) through the model on
// a backend instance, so the ordinary build (gcc, //...) checks what the
// fuzzer checks. A failure names the corpus file and lists the program.

#include "tests/fuzz/corpus_replay_suite.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
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

bool IsDirectory(const std::string& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

// The corpus among the test's runfiles: under this workspace when poller is
// the main repository, under poller's repository name (whatever the user
// called it) when a test of another workspace links this suite.
std::string CorpusDirectory() {
  constexpr char kCorpus[] = "/tests/fuzz/corpus";
  const char* runfiles = std::getenv("TEST_SRCDIR");
  const std::string root = runfiles == nullptr ? "." : runfiles;
  const char* workspace = std::getenv("TEST_WORKSPACE");
  const std::string own = absl::StrCat(
      root, "/", workspace == nullptr ? "poller" : workspace, kCorpus);
  if (IsDirectory(own)) return own;
  std::vector<std::string> repositories;
  if (DIR* directory = ::opendir(root.c_str())) {
    while (const dirent* entry = ::readdir(directory)) {
      if (entry->d_name[0] != '.') repositories.emplace_back(entry->d_name);
    }
    ::closedir(directory);
  }
  std::sort(repositories.begin(), repositories.end());
  for (const std::string& repository : repositories) {
    const std::string candidate = absl::StrCat(root, "/", repository, kCorpus);
    if (IsDirectory(candidate)) return candidate;
  }
  return own;
}

std::vector<std::string> CorpusFiles(const std::string& directory_path) {
  std::vector<std::string> files;
  DIR* directory = ::opendir(directory_path.c_str());
  if (directory == nullptr) return files;
  while (const dirent* entry = ::readdir(directory)) {
    if (entry->d_name[0] != '.') files.emplace_back(entry->d_name);
  }
  ::closedir(directory);
  std::sort(files.begin(), files.end());
  return files;
}

TEST_P(CorpusReplayTest, EveryCorpusProgramMatchesTheModel) {
  const std::string directory = CorpusDirectory();
  const std::vector<std::string> files = CorpusFiles(directory);
  // A corpus that is not found would make this test pass on nothing.
  ASSERT_GE(files.size(), 20u) << "the corpus is missing from " << directory;
  // A broken backend usually fails most programs: a few listings suffice.
  constexpr int kFailuresShown = 5;
  int failures = 0;
  for (const std::string& file : files) {
    const std::string path = absl::StrCat(directory, "/", file);
    std::ifstream input(path, std::ios::binary);
    ASSERT_TRUE(input) << "cannot open " << path;
    const std::vector<std::uint8_t> program(
        (std::istreambuf_iterator<char>(input)),
        std::istreambuf_iterator<char>());
    const absl::Status status = RunProgram(backend().factory, program);
    if (status.ok()) continue;
    ADD_FAILURE() << "corpus file " << file << ": " << status.message()
                  << "\nprogram:\n"
                  << Disassemble(program);
    if (++failures == kFailuresShown) {
      FAIL() << "stopped after " << kFailuresShown << " failing programs";
    }
  }
}

// Programs of no operation and of every kind of operation in turn, arguments
// included that make no sense: the interpreter skips what it cannot run, and
// poller and the model still agree.
TEST_P(CorpusReplayTest, EmptyAndGarbageProgramsRun) {
  EXPECT_TRUE(RunProgram(backend().factory, {}).ok());
  std::vector<std::uint8_t> garbage(257);
  for (size_t i = 0; i < garbage.size(); ++i) {
    garbage[i] = static_cast<std::uint8_t>(i * 37 + 11);
  }
  const absl::Status status = RunProgram(backend().factory, garbage);
  EXPECT_TRUE(status.ok()) << status.message();
}

}  // namespace
}  // namespace poller::fuzz
