// mail/fields.hpp — reads "Name: value" field blocks from text: the per-message and
// per-recipient blocks of a delivery status notification (RFC 3464 §2, RFC 6533), and the
// header block of an attached original message (text/rfc822-headers, message/rfc822).
//
// Contract: lenient and bounded. Lines end at LF (a CR before it is dropped); a line starting
// with a space or tab continues the previous field (unfolded with one space); a blank or
// whitespace-only line ends a block; lines that are not fields are skipped; empty blocks are
// not returned. Reading stops after max_blocks blocks. Values are trimmed and not decoded.
// Pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace referent::mail {

struct Field {
    std::string name;
    std::string value;
};

using FieldBlock = std::vector<Field>;

std::vector<FieldBlock> parse_field_blocks(std::string_view text, std::size_t max_blocks = 1000);

// The value of the first field of that name (case-insensitive), "" when absent.
std::string field_value(const FieldBlock& block, std::string_view name);
bool has_field(const FieldBlock& block, std::string_view name);

}  // namespace referent::mail
