// mail/utf8.hpp — UTF-8 validity and the windows-1252 fallback, without GMime.
//
// Contract: valid_utf8() returns its input with every ill-formed sequence (overlongs,
// surrogates, code points past U+10FFFF, truncated sequences) replaced by U+FFFD, so that
// whatever the mail engine hands on is valid UTF-8. windows1252_to_utf8() converts every byte
// (the five bytes windows-1252 leaves undefined become U+FFFD). Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace referent::mail {

bool is_valid_utf8(std::string_view s);
std::string valid_utf8(std::string_view s);
std::string windows1252_to_utf8(std::string_view s);

}  // namespace referent::mail
