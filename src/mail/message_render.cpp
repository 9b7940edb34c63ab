// GMime helpers shared by the renderers: see message_render.hpp.
#include "mail/message_render.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>

#include "mail/canonical.hpp"

namespace referent::mail {

namespace {

struct FormatOptionsDeleter {
    void operator()(GMimeFormatOptions* p) const { g_mime_format_options_free(p); }
};
using FormatOptions = std::unique_ptr<GMimeFormatOptions, FormatOptionsDeleter>;

FormatOptions dos_format() {
    FormatOptions f(g_mime_format_options_new());
    g_mime_format_options_set_newline_format(f.get(), GMIME_NEWLINE_FORMAT_DOS);
    return f;
}

bool is_ascii(std::string_view s) {
    for (char c : s)
        if (static_cast<unsigned char>(c) >= 0x80) return false;
    return true;
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
GMimeObject* object_of(GMimePart* p) {
    return GMIME_OBJECT(p);
}
GMimePart* part_of(GMimeTextPart* p) {
    return GMIME_PART(p);
}
GMimeMultipart* multipart_of(GMimeMultipart* p) {
    return p;
}
#pragma GCC diagnostic pop

bool is_atext(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

bool is_atom(std::string_view word) {
    for (char c : word)
        if (!is_atext(c)) return false;
    return !word.empty();
}

bool char_boundary(std::string_view s, std::size_t i) {
    return i >= s.size() || (static_cast<unsigned char>(s[i]) & 0xC0) != 0x80;
}

// "B" words of at most 45 octets of UTF-8 (72 characters), cut between characters and, but
// for the last, a multiple of 3 octets: no "=" padding inside a run of adjacent words, which
// GMime's decoder (hence mail::parse) reads as the end of the whole run.
void append_b_words(std::vector<std::string>& out, std::string_view run) {
    constexpr std::size_t max_chunk = 45;
    for (std::size_t i = 0; i < run.size();) {
        const std::size_t left = run.size() - i;
        std::size_t n = std::min(max_chunk, left);
        while (n > 0 && n < left && (n % 3 != 0 || !char_boundary(run, i + n))) --n;
        if (n == 0) {  // no aligned cut (4-octet characters): a boundary will do
            n = std::min(max_chunk, left);
            while (!char_boundary(run, i + n)) --n;
        }
        const std::string chunk(run.substr(i, n));
        GString_ b64(g_base64_encode(reinterpret_cast<const guchar*>(chunk.data()), chunk.size()));
        std::string word = "=?UTF-8?B?";
        word.append(b64.get()).append("?=");
        out.push_back(std::move(word));
        i += n;
    }
}

// A non-ASCII display name as a phrase: atoms stay as they are and each run of other words
// becomes encoded words holding the spaces between them. Cutting the whole name every 45
// octets instead would split inside a word ("…civi" "l"): RFC 2047 §6.2 decoders drop the
// space between two encoded words, but Python's email and some clients keep it. Here a cut
// falls between an atom and an encoded word, where every reader keeps the space; only a run
// of non-atoms over 45 octets is still cut.
std::vector<std::string> phrase_words(std::string_view display) {
    std::vector<std::string> words;
    std::string run;
    auto flush = [&] {
        append_b_words(words, run);
        run.clear();
    };
    std::size_t i = 0;
    while (i <= display.size()) {
        std::size_t end = std::min(display.find(' ', i), display.size());
        std::string_view w = display.substr(i, end - i);
        i = end + 1;
        if (w.empty()) continue;
        if (is_atom(w)) {
            flush();
            words.emplace_back(w);
        } else {
            run.append(run.empty() ? "" : " ").append(w);
        }
    }
    flush();
    return words;
}

// A display name as words ready to be joined by spaces: ASCII names as atoms, or one
// quoted-string when they hold specials (vector E3: commas, parentheses, quotes); others as a
// phrase of atoms and RFC 2047 "B" words (phrase_words).
std::vector<std::string> display_words(std::string_view display) {
    std::vector<std::string> words;
    if (display.empty()) return words;
    if (!is_ascii(display)) return phrase_words(display);
    bool atoms = true;
    for (char c : display) atoms = atoms && (is_atext(c) || c == ' ');
    if (atoms && display.find("  ") == std::string_view::npos && display.front() != ' ' &&
        display.back() != ' ') {
        words.emplace_back(display);
        return words;
    }
    std::string q = "\"";
    for (char c : display) {
        if (c == '"' || c == '\\') q += '\\';
        q += c;
    }
    words.push_back(q + "\"");
    return words;
}

}  // namespace

bool HeaderWriter::check(std::string_view name, std::string_view value) {
    if (refusal_) return false;
    if (header_value_safe(value) && header_value_safe(name)) return true;
    refusal_ = Refusal{render_refusal, std::string(name) + " value holds CR, LF or NUL"};
    return false;
}

void HeaderWriter::folded(const std::string& line, bool structured) {
    FormatOptions f = dos_format();
    GString_ out(structured
                     ? g_mime_utils_structured_header_fold(nullptr, f.get(), line.c_str())
                     : g_mime_utils_unstructured_header_fold(nullptr, f.get(), line.c_str()));
    std::string s = out ? out.get() : line;
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    bytes_ += canonical_crlf(s) + "\r\n";
}

void HeaderWriter::mailbox(std::string_view name, std::string_view display,
                           std::string_view address) {
    if (!check(name, display) || !check(name, address)) return;
    if (address.empty() || address.find('@') == std::string_view::npos ||
        address.find_first_of(" \t<>()\",;:\\[]") != std::string_view::npos) {
        refusal_ = Refusal{render_refusal, std::string(name) + " address is not an addr-spec"};
        return;
    }
    std::vector<std::string> words = display_words(display);
    // Appends, not "<" + std::string: GCC 12 at -O3 warns falsely on the latter (-Wrestrict).
    std::string angle = "<";
    angle.append(address).append(">");
    words.push_back(std::move(angle));
    std::string line(name);
    line += ':';
    std::size_t column = line.size();
    for (const std::string& w : words) {
        // Fold only between words (RFC 5322 §2.2.3): never inside a quoted string, an encoded
        // word or the angle address.
        if (column + 1 + w.size() > 76 && column > name.size() + 1) {
            line += "\r\n";
            column = 0;
        }
        line += " " + w;
        column += 1 + w.size();
    }
    bytes_ += line + "\r\n";
}

void HeaderWriter::text(std::string_view name, std::string_view value) {
    if (!check(name, value)) return;
    std::string v(value);
    if (is_ascii(v)) {
        folded(std::string(name) + ": " + v, false);
        return;
    }
    FormatOptions f = dos_format();
    GString_ encoded(g_mime_utils_header_encode_text(f.get(), v.c_str(), "utf-8"));
    folded(std::string(name) + ": " + (encoded ? encoded.get() : v), false);
}

void HeaderWriter::token(std::string_view name, std::string_view ascii) {
    if (!check(name, ascii)) return;
    bytes_.append(name).append(": ").append(ascii).append("\r\n");
}

void HeaderWriter::msg_id(std::string_view name, std::string_view id) {
    msg_ids(name, {std::string(id)});
}

void HeaderWriter::msg_ids(std::string_view name, const std::vector<std::string>& ids) {
    std::string line = std::string(name) + ":";
    for (const std::string& id : ids) {
        bool bad = id.empty() || id.find_first_of("<> \t\"") != std::string::npos;
        if (!check(name, id)) return;
        if (bad) continue;  // not a msg-id: dropping it loses threading, not mail
        line += " <" + id + ">";
    }
    if (line.size() == name.size() + 1) return;  // nothing valid to write
    folded(line, true);
}

GPtr<GMimeMessage> reparse(std::string_view bytes) {
    GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(bytes.data(), bytes.size()));
    GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
    return GPtr<GMimeMessage>(g_mime_parser_construct_message(parser.get(), nullptr));
}

std::string write_object(GMimeObject* object) {
    FormatOptions f = dos_format();
    GPtr<GMimeStream> sink(g_mime_stream_mem_new());
    g_mime_object_write_to_stream(object, f.get(), sink.get());
    GByteArray* array = g_mime_stream_mem_get_byte_array(as_stream_mem(sink.get()));
    if (!array || array->len == 0) return {};
    return std::string(reinterpret_cast<const char*>(array->data), array->len);
}

std::string serialise(const Message& message) {
    return write_object(as_object(impl_of(message).message.get()));
}

// Pre-order with an explicit stack, exactly as message.cpp's flatten(), so indices match
// Message::parts().
std::vector<TreeEntry> walk_object(GMimeObject* root) {
    std::vector<TreeEntry> out;
    std::vector<TreeEntry> stack;
    if (root) stack.push_back({root, PartInfo::npos, false});
    while (!stack.empty()) {
        TreeEntry e = stack.back();
        stack.pop_back();
        const std::size_t index = out.size();
        out.push_back(e);
        if (GMimeMultipart* mp = as_multipart(e.object)) {
            for (int i = g_mime_multipart_get_count(mp) - 1; i >= 0; --i)
                stack.push_back({g_mime_multipart_get_part(mp, i), index, e.in_message});
        } else if (GMimeMessagePart* mpart = as_message_part(e.object)) {
            GMimeMessage* inner = g_mime_message_part_get_message(mpart);
            GMimeObject* body = inner ? g_mime_message_get_mime_part(inner) : nullptr;
            if (body) stack.push_back({body, index, true});
        }
    }
    return out;
}

std::vector<TreeEntry> walk(GMimeMessage* message) {
    return walk_object(g_mime_message_get_mime_part(message));
}

void renew_boundaries(const std::vector<TreeEntry>& tree, std::string_view seed) {
    int n = 10;  // 0 and 1 are the forward's own wrappers
    for (const TreeEntry& t : tree)
        if (GMimeMultipart* mp = as_multipart(t.object); mp && !t.in_message)
            g_mime_multipart_set_boundary(mp, boundary(seed, n++).c_str());
}

bool reads_back_as(std::string_view bytes, GMimeObject* root) {
    GPtr<GMimeMessage> again = reparse(bytes);
    if (!again) return false;
    const std::vector<TreeEntry> want = walk_object(root), got = walk(again.get());
    if (want.size() != got.size()) return false;
    for (std::size_t i = 0; i < want.size(); ++i)
        if (want[i].parent != got[i].parent ||
            media_type(want[i].object) != media_type(got[i].object))
            return false;
    return true;
}

bool same_shape(const Message& message, const std::vector<TreeEntry>& tree) {
    const std::vector<PartInfo>& parts = message.parts();
    if (tree.size() != parts.size()) return false;
    for (std::size_t i = 0; i < tree.size(); ++i) {
        const PartInfo& p = parts[i];
        const TreeEntry& t = tree[i];
        const bool container = is_multipart(t.object) || is_message_part(t.object);
        if (t.parent != p.parent || t.in_message != p.in_attached_message ||
            container != p.container || media_type(t.object) != p.content_type)
            return false;
    }
    return true;
}

void set_utf8_text(GMimePart* part, std::string_view utf8) {
    std::size_t high = 0;
    for (char c : utf8) high += static_cast<unsigned char>(c) >= 0x80 ? 1 : 0;
    // QP keeps mostly-ASCII text (French, English) readable and small; past one byte in six
    // (Greek, Cyrillic, CJK) base64 is smaller.
    GMimeContentEncoding encoding = high * 6 > utf8.size() ? GMIME_CONTENT_ENCODING_BASE64
                                                           : GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE;
    // Base64 carries the canonical CRLF form of text (RFC 2045 §6.8); QP is given LF so that
    // no CR is ever encoded as "=0D": the final canonical pass turns its lines into CRLF.
    std::string lf;
    lf.reserve(utf8.size());
    for (std::size_t i = 0; i < utf8.size();) {  // every CR of a CRLF dropped
        std::size_t cr = utf8.find('\r', i);
        if (cr == std::string_view::npos) cr = utf8.size();
        const bool pair = cr + 1 < utf8.size() && utf8[cr + 1] == '\n';
        lf.append(utf8.substr(i, cr - i + (pair || cr == utf8.size() ? 0 : 1)));
        i = cr + 1;
    }
    std::string text =
        encoding == GMIME_CONTENT_ENCODING_BASE64 ? canonical_crlf(lf) : std::move(lf);
    GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(text.data(), text.size()));
    GPtr<GMimeDataWrapper> wrapper(
        g_mime_data_wrapper_new_with_stream(stream.get(), GMIME_CONTENT_ENCODING_DEFAULT));
    g_mime_part_set_content(part, wrapper.get());
    g_mime_object_set_content_type_parameter(object_of(part), "charset", "utf-8");
    g_mime_part_set_content_encoding(part, encoding);
}

GPtr<GMimePart> new_text_part(std::string_view subtype, std::string_view utf8) {
    std::string sub(subtype);
    GMimeTextPart* tp = g_mime_text_part_new_with_subtype(sub.c_str());
    GPtr<GMimePart> part(part_of(tp));
    set_utf8_text(part.get(), utf8);
    return part;
}

GPtr<GMimeMultipart> new_multipart(std::string_view subtype, std::string boundary_) {
    std::string sub(subtype);
    GPtr<GMimeMultipart> mp(multipart_of(g_mime_multipart_new_with_subtype(sub.c_str())));
    g_mime_multipart_set_boundary(mp.get(), boundary_.c_str());
    return mp;
}

std::string boundary(std::string_view message_id, int index) {
    std::uint64_t h = 14695981039346656037ull;  // FNV-1a
    for (char c : message_id) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    char buf[64];
    std::snprintf(buf, sizeof buf, "=_referent_%016llx_%d", static_cast<unsigned long long>(h),
                  index);
    return buf;
}

std::string render(std::string_view header_block, GMimeObject* root) {
    std::string out(header_block);
    out += "MIME-Version: 1.0\r\n";
    out += write_object(root);
    return canonical_crlf(out);
}

}  // namespace referent::mail
