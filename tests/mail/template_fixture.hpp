// tests/mail/template_fixture.hpp — the repository's templates, or a scratch copy of them.
//
// Contract: repository_organisation(lang) points at REFERENT_SOURCE_DIR/templates. A
// ScratchTemplates copies templates/<lang> into a fresh temporary directory (removed at the
// end of the test), so a test can break one file and see what load() says about it.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "config/config.hpp"
#include "mail/template.hpp"
#include "spool/temp_dir.hpp"

namespace referent::test {

inline config::Organisation repository_organisation(const std::string& language) {
    config::Organisation org;
    org.name = "Mairie de Villeneuve-Exemple";
    org.templates = REFERENT_SOURCE_DIR "/templates";
    org.language = language;
    return org;
}

class ScratchTemplates {
public:
    explicit ScratchTemplates(const std::string& language = "fr") {
        org_ = repository_organisation(language);
        org_.templates = dir_.path().string();
        std::filesystem::copy(std::filesystem::path(REFERENT_SOURCE_DIR "/templates") / language,
                              lang_dir());
    }

    std::filesystem::path lang_dir() const { return dir_.path() / org_.language; }
    std::string file(const std::string& name) const { return (lang_dir() / name).string(); }
    void write(const std::string& name, const std::string& bytes) {
        write_bytes(lang_dir() / name, bytes);
    }
    void remove(const std::string& name) { std::filesystem::remove(lang_dir() / name); }

    config::Organisation& organisation() { return org_; }
    util::Result<mail::TemplateSet> load() const { return mail::TemplateSet::load(org_); }

    // The load error; fails the test if the load succeeded.
    std::string load_error() const {
        auto r = load();
        EXPECT_FALSE(r.ok()) << "load() succeeded";
        return r.ok() ? std::string() : r.error().message;
    }

private:
    TempDir dir_;
    config::Organisation org_;
};

}  // namespace referent::test
