// Runs every tests/smtp/transcripts/*.smtp file whole, then again with each client turn split
// into two writes at every byte offset (turns over 4 KiB are split at 64 sampled offsets).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "smtp/transcript.hpp"

namespace {

std::string transcript_path(const std::string& name) {
    return REFERENT_SOURCE_DIR "/tests/smtp/transcripts/" + name + ".smtp";
}

bool one_write(const std::string& name) {
    for (const auto& o : referent::test::parse_transcript(transcript_path(name)).options)
        if (o == "@one-write") return true;
    return false;
}

// `splittable`: only the transcripts whose meaning survives a split of the client's writes
// (not those marked @one-write, whose vector is precisely what arrives in one write).
std::vector<std::string> transcript_files(bool splittable) {
    std::vector<std::string> files;
    for (const auto& e :
         std::filesystem::directory_iterator(REFERENT_SOURCE_DIR "/tests/smtp/transcripts")) {
        std::string name = e.path().stem().string();
        if (e.path().extension() == ".smtp" && !(splittable && one_write(name)))
            files.push_back(name);
    }
    std::sort(files.begin(), files.end());
    return files;
}

std::string test_name(const testing::TestParamInfo<std::string>& p) {
    std::string n = p.param;
    std::replace(n.begin(), n.end(), '-', '_');
    return n;
}

class TranscriptTest : public testing::TestWithParam<std::string> {};
class TranscriptSplitTest : public testing::TestWithParam<std::string> {};

TEST_P(TranscriptTest, Whole) {
    auto t = referent::test::parse_transcript(transcript_path(GetParam()));
    EXPECT_EQ(referent::test::run_transcript(t), "");
}

TEST_P(TranscriptSplitTest, SplitAtEveryOffset) {
    auto t = referent::test::parse_transcript(transcript_path(GetParam()));
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

INSTANTIATE_TEST_SUITE_P(Transcripts, TranscriptTest, testing::ValuesIn(transcript_files(false)),
                         test_name);
INSTANTIATE_TEST_SUITE_P(Transcripts, TranscriptSplitTest,
                         testing::ValuesIn(transcript_files(true)), test_name);

}  // namespace
