// check-config as both binaries run it: the YAML, then the templates and key files it names.
#include "ops/check.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <string>

#include "cases/token.hpp"
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

// The shipped example, with its templates taken from the source tree, `language` set, and its
// key file `key` (relative paths are the daemon's working directory's).
std::string example(const std::string& templates, const std::string& language,
                    const std::string& key) {
    std::string y = read_bytes(REFERENT_SOURCE_DIR "/config/referent.yaml");
    auto replace = [&y](const std::string& from, const std::string& to) {
        auto at = y.find(from);
        EXPECT_NE(at, std::string::npos) << from;
        if (at != std::string::npos) y.replace(at, from.size(), to);
    };
    replace("templates: templates ", "templates: " + templates + " ");
    replace("language: fr ", "language: " + language + " ");
    replace("secret_files: [var/secret.key]", "secret_files: [" + key + "]");
    return y;
}

std::string new_key(const TempDir& dir) {
    const std::string key = (dir.path() / "secret.key").string();
    if (!std::filesystem::exists(key)) {
        EXPECT_TRUE(referent::cases::write_new_secret(key).ok());
    }
    return key;
}

TEST(CheckConfig, ExampleWithItsTemplatesIsOk) {
    TempDir dir;
    for (const char* lang : {"fr", "en"}) {
        const std::string file = put(dir, std::string(lang) + ".yaml",
                                     example(REFERENT_SOURCE_DIR "/templates", lang, new_key(dir)));
        std::ostringstream out, err;
        EXPECT_EQ(check_config_command(file, out, err), 0) << err.str();
        EXPECT_EQ(out.str(), file + ": ok\n");
    }
}

TEST(CheckConfig, YamlErrorsReturnTwoWithFileLineColumn) {
    TempDir dir;
    std::string y = example(REFERENT_SOURCE_DIR "/templates", "fr", new_key(dir));
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
    const std::string file =
        put(dir, "missing.yaml", example((dir.path() / "tpl").string(), "fr", new_key(dir)));
    std::ostringstream out, err;
    EXPECT_EQ(check_config_command(file, out, err), 2);
    EXPECT_NE(err.str().find("signature"), std::string::npos) << err.str();
}

TEST(CheckConfig, KeyFileProblemsAreConfigurationErrors) {
    TempDir dir;
    const std::string missing = (dir.path() / "absent.key").string();
    const std::string file =
        put(dir, "nokey.yaml", example(REFERENT_SOURCE_DIR "/templates", "fr", missing));
    std::ostringstream out, err;
    EXPECT_EQ(check_config_command(file, out, err), 2);
    EXPECT_NE(err.str().find(missing), std::string::npos) << err.str();
    const std::string key = new_key(dir);
    std::filesystem::permissions(key, std::filesystem::perms::others_read,
                                 std::filesystem::perm_options::add);
    const std::string open =
        put(dir, "open.yaml", example(REFERENT_SOURCE_DIR "/templates", "fr", key));
    std::ostringstream out2, err2;
    EXPECT_EQ(check_config_command(open, out2, err2), 2);
    EXPECT_NE(err2.str().find("readable by group or others"), std::string::npos) << err2.str();
}

}  // namespace
