// mail/content_type.hpp — a small, lenient reader of Content-Type values for the code that must
// look at raw bytes without GMime (the bounds scan, the fields of delivery reports).
//
// Contract: parse_content_type() never fails: an unreadable value gives empty type and subtype.
// Type, subtype and parameter names are lower-cased; values keep their case. Comments are
// skipped, quoted strings unquoted, unquoted values run to the next ';' or space (so that the
// common boundary=----=_Part_1 is read as GMime reads it). RFC 2231 parameters are joined and
// percent-decoded (the charset is not converted: boundaries are ASCII). When a parameter is
// repeated, the last one wins, as in GMime. Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace referent::mail {

struct ContentType {
    std::string type;                                             // "multipart"
    std::string subtype;                                          // "mixed"
    std::vector<std::pair<std::string, std::string>> parameters;  // name lower-cased

    // The value of a parameter, "" when absent.
    std::string parameter(std::string_view name) const;
};

ContentType parse_content_type(std::string_view value);

// The first token of a header value ("8bit (comment)" → "8bit"), spaces trimmed.
std::string_view first_token(std::string_view value);

}  // namespace referent::mail
