// mail/html_edit.hpp — the few edits the renderers make to HTML bodies, on the text, without a
// DOM.
//
// Contract: a lenient tokenizer (tags, comments, text; never fails, never allocates more than
// one token per tag or text run) and edits built on it. HTML in mail is often invalid; these
// functions never reject it, they find the place for their edit or fall back to the start or
// the end of the document, and leave every other byte as it was.
//  - insert_after_body_open(): right after "<body …>", else after "</head>" or "<html …>",
//    else at the start (the forward banner).
//  - insert_quote_aware(): before the first quoted block (blockquote, Gmail's gmail_quote,
//    Outlook's divRplyFwdMsg or its top-bordered header div, <hr>), else before "</body>",
//    else at the end (the signature card).
//  - relabel_meta_charset(): every <meta … charset=X> says utf-8, since the renderer re-encodes
//    the part as UTF-8 and a stale meta would make clients that obey it show mojibake.
// Pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace referent::mail {

struct HtmlToken {
    enum Kind { text, tag, comment } kind = text;
    std::size_t begin = 0;  // offsets into the document
    std::size_t end = 0;
    std::string name;      // tag name, lower-case, without '/'; "" for text and comments
    bool closing = false;  // "</p>"
};

std::vector<HtmlToken> tokenize_html(std::string_view html);

// The value of an attribute in a tag's source ("<div id=x class='a b'>"), lower-case name;
// "" when absent.
std::string html_attribute(std::string_view tag_source, std::string_view name);

// Offset of the first quoted block (see above), npos when none.
std::size_t html_quote_start(std::string_view html, const std::vector<HtmlToken>& tokens);

std::string insert_after_body_open(std::string_view html, std::string_view fragment);
std::string insert_quote_aware(std::string_view html, std::string_view fragment);
std::string relabel_meta_charset(std::string_view html);

// Visible text, tags removed, a few entities decoded (&nbsp; &amp; &lt; &gt; &quot; &#39;),
// <head>, <style> and <script> contents dropped.
std::string html_visible_text(std::string_view html);

}  // namespace referent::mail
