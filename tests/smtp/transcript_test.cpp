// Runs every tests/smtp/transcripts/*.smtp file whole, then again with each client turn split
// into two writes at every byte offset (turns over 4 KiB are split at 64 sampled offsets).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "smtp/transcript.hpp"

namespace {

std::vector<std::string> transcript_files() {
    std::vector<std::string> files;
    for (const auto& e :
         std::filesystem::directory_iterator(REFERENT_SOURCE_DIR "/tests/smtp/transcripts"))
        if (e.path().extension() == ".smtp") files.push_back(e.path().stem().string());
    std::sort(files.begin(), files.end());
    return files;
}

class TranscriptTest : public testing::TestWithParam<std::string> {};

TEST_P(TranscriptTest, Whole) {
    auto t = referent::test::parse_transcript(REFERENT_SOURCE_DIR "/tests/smtp/transcripts/" +
                                              GetParam() + ".smtp");
    EXPECT_EQ(referent::test::run_transcript(t), "");
}

TEST_P(TranscriptTest, SplitAtEveryOffset) {
    auto t = referent::test::parse_transcript(REFERENT_SOURCE_DIR "/tests/smtp/transcripts/" +
                                              GetParam() + ".smtp");
    for (const auto& o : t.options)
        if (o == "@one-write") GTEST_SKIP() << "the vector is defined by a single write";
    auto sizes = referent::test::turn_sizes(t);
    for (std::size_t turn = 0; turn < sizes.size(); ++turn) {
        std::size_t n = sizes[turn];
        std::size_t step = n > 4096 ? n / 64 : 1;
        for (std::size_t at = 1; at < n; at += step) {
            std::string err = referent::test::run_transcript(t, turn, at);
            ASSERT_EQ(err, "") << "turn " << turn << " split at " << at;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Transcripts, TranscriptTest, testing::ValuesIn(transcript_files()),
                         [](const testing::TestParamInfo<std::string>& p) {
                             std::string n = p.param;
                             std::replace(n.begin(), n.end(), '-', '_');
                             return n;
                         });

}  // namespace
