// tests/mail/render_fixture.hpp — what the forward and rewrite tests share: loaded templates,
// contexts, a fixed date, and checks on rendered bytes.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>

#include "mail/message.hpp"
#include "mail/template.hpp"
#include "template_fixture.hpp"

namespace referent::mail::test {

inline const TemplateSet& templates(const std::string& language) {
    static std::map<std::string, TemplateSet> loaded;
    auto it = loaded.find(language);
    if (it == loaded.end()) {
        auto r = TemplateSet::load(referent::test::repository_organisation(language));
        if (!r.ok()) std::abort();  // the repository's templates must load
        it = loaded.emplace(language, std::move(r).value()).first;
    }
    return it->second;
}

inline std::chrono::system_clock::time_point fixed_date() {
    using namespace std::chrono;
    return sys_days{year{2026} / March / 4} + hours{9} + minutes{30};
}

// Pure CRLF: no bare CR, no bare LF (vectors A outbound).
inline bool only_crlf(const std::string& s) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\r' && (i + 1 >= s.size() || s[i + 1] != '\n')) return false;
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) return false;
    }
    return true;
}

inline Message reparsed(const std::string& bytes) {
    MailResult<Message> r = parse(bytes, ParseLimits{});
    if (!r) {
        ADD_FAILURE() << "rendered message refused: " << r.refusal().reason;
        return std::move(parse("From: a@example.org\r\n\r\nx\r\n", ParseLimits{})).value();
    }
    return std::move(r).value();
}

inline std::string language_of(const std::string& path) {
    return path.find("_en.") != std::string::npos ? "en" : "fr";
}

}  // namespace referent::mail::test
