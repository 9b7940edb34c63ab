// mail/reply_text.hpp — what the rewrite removes from, and adds to, the text of an agent's
// reply, on decoded UTF-8 text (no MIME here).
//
// Contract:
//  - strip_text_banner(): removes every block from a banner_begin(case) line to the next
//    banner_end(case) line, whatever "> " quote prefixes the client added. A begin without an
//    end removes nothing (the agent's text is never cut on a guess).
//  - strip_html_banner(): removes the element with id "referent-banner" (with its nested divs);
//    when a client dropped the id (Outlook, Gmail), removes from the block element holding the
//    begin marker to the end of the block holding the end marker.
//  - strip_*_notes(): removes internal notes — paragraphs whose first word is "#interne" or
//    "#internal" (ASCII case-insensitive), quoted or not — and returns their text. A paragraph
//    ends at a blank line (text), or at an empty line or a quoted block (HTML: <br> or an empty
//    <p>/<div> ends it); in HTML the note's text is removed and its tags kept, so the
//    document stays balanced.
//  - *_own_text_empty(): true when nothing but whitespace is left outside the quoted text
//    (lines starting with ">", and everything from an Outlook-style original-message header or
//    a quoted HTML block on).
//  - append_text_signature(): inserts the card before the quoted text (above the attribution
//    line), else at the end.
// Pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace referent::mail {

struct Stripped {
    std::string text;
    std::vector<std::string> notes;
};

std::string strip_text_banner(std::string_view text, std::string_view case_number);
std::string strip_html_banner(std::string_view html, std::string_view case_number);
Stripped strip_text_notes(std::string_view text);
Stripped strip_html_notes(std::string_view html);

std::size_t text_quote_start(std::string_view text);  // offset of the quote, npos if none
bool text_own_text_empty(std::string_view text);
bool html_own_text_empty(std::string_view html);
std::string append_text_signature(std::string_view text, std::string_view signature);

}  // namespace referent::mail
