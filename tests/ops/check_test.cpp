// check-config as both binaries run it: the YAML, then the templates it names.
#include "ops/check.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <string>

#include "spool/temp_dir.hpp"

namespace {

using referent::ops::check_config_command;

using referent::test::read_bytes;
using referent::test::TempDir;
using referent::test::write_bytes;

std::string put(const TempDir& dir, const std::string& name, const std::string& bytes) {
    std::filesystem::path p = dir.path() / name;
    std::filesystem::create_directories(p.parent_path());
    write_bytes(p, bytes);
    return p.string();
}

// The shipped example, with its templates taken from the source tree and `language` set.
std::string example(const std::string& templates, const std::string& language) {
    std::string y = read_bytes(REFERENT_SOURCE_DIR "/config/referent.yaml");
    auto replace = [&y](const std::string& from, const std::string& to) {
        auto at = y.find(from);
        EXPECT_NE(at, std::string::npos) << from;
        if (at != std::string::npos) y.replace(at, from.size(), to);
    };
    replace("templates: templates ", "templates: " + templates + " ");
    replace("language: fr ", "language: " + language + " ");
    return y;
}

TEST(CheckConfig, ExampleWithItsTemplatesIsOk) {
    TempDir dir;
    for (const char* lang : {"fr", "en"}) {
        const std::string file =
            put(dir, std::string(lang) + ".yaml", example(REFERENT_SOURCE_DIR "/templates", lang));
        std::ostringstream out, err;
        EXPECT_EQ(check_config_command(file, out, err), 0) << err.str();
        EXPECT_EQ(out.str(), file + ": ok\n");
    }
}

TEST(CheckConfig, YamlErrorsReturnTwoWithFileLineColumn) {
    TempDir dir;
    std::string y = example(REFERENT_SOURCE_DIR "/templates", "fr");
    y.replace(y.find("port: 2525"), 10, "port: x   ");
    const std::string file = put(dir, "bad.yaml", y);
    std::ostringstream out, err;
    EXPECT_EQ(check_config_command(file, out, err), 2);
    EXPECT_EQ(out.str(), "");
    EXPECT_NE(err.str().find(file + ":"), std::string::npos) << err.str();
    EXPECT_NE(err.str().find("gateway.listen[0].port"), std::string::npos) << err.str();
}

TEST(CheckConfig, TemplateProblemsAreConfigurationErrors) {
    TempDir dir;
    // A template directory without any template: every missing file is named.
    put(dir, "tpl/fr/.keep", "");
    const std::string file = put(dir, "missing.yaml", example((dir.path() / "tpl").string(), "fr"));
    std::ostringstream out, err;
    EXPECT_EQ(check_config_command(file, out, err), 2);
    EXPECT_NE(err.str().find("signature"), std::string::npos) << err.str();
}

}  // namespace
