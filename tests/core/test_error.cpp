// SPDX-License-Identifier: MIT
// Error context chains and atomic writes.
#include <gtest/gtest.h>

#include <fstream>

#include "common/test_util.h"
#include "mprotonet/core/error.h"
#include "mprotonet/core/fs.h"

namespace mprotonet {
namespace {

TEST(Error, ContextIsPrependedOuterFirst) {
  try {
    with_context("while loading subject S1", [] {
      return with_context("while reading header of t1.nii.gz", []() -> int { throw Error("dim[1] = -3 is not positive"); });
    });
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "while loading subject S1: while reading header of t1.nii.gz: dim[1] = -3 is not positive");
    EXPECT_EQ(e.message(), "dim[1] = -3 is not positive");
    ASSERT_EQ(e.context().size(), 2u);
  }
}

TEST(Error, ForeignExceptionsAreWrapped) {
  EXPECT_THROW(with_context("ctx", []() -> int { throw std::out_of_range("boom"); }), Error);
}

TEST(AtomicWrite, FailedWriteLeavesTargetUntouched) {
  test::TempDir dir;
  const auto target = dir / "result.json";
  write_text_atomically(target, "old");
  EXPECT_THROW(write_atomically(target,
                                [](const std::filesystem::path& tmp) {
                                  std::ofstream(tmp) << "half";
                                  throw Error("simulated failure");
                                }),
               Error);
  EXPECT_EQ(read_text_file(target), "old");
  // No temporary left behind.
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.path())) { (void)e; ++files; }
  EXPECT_EQ(files, 1);
}

TEST(AtomicWrite, MissingFileErrorNamesIt) {
  try {
    read_text_file("/nonexistent/dir/x.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/x.json"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("no such file"), std::string::npos);
  }
}

}  // namespace
}  // namespace mprotonet
