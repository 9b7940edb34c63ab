// Header access: raw and decoded values, From, and the message-id fields.
#include <utility>

#include "mail/ascii.hpp"
#include "mail/mailbox.hpp"
#include "mail/message_impl.hpp"
#include "mail/utf8.hpp"

namespace referent::mail {

namespace {

// Labels whose text is, in practice, windows-1252 (MIME.md): € and curly quotes live in
// 0x80..0x9F, which iso-8859-1 maps to invisible control characters.
bool is_latin1_label(std::string_view charset) {
    static constexpr std::string_view labels[] = {"iso-8859-1", "iso8859-1", "iso_8859-1", "latin1",
                                                  "l1",         "cp819",     "us-ascii",   "ascii"};
    for (std::string_view l : labels)
        if (iequals(charset, l)) return true;
    return false;
}

// Rewrites the charset of RFC 2047 words "=?iso-8859-1?Q?...?=" to windows-1252.
std::string relabel_encoded_words(std::string_view raw) {
    std::string out;
    out.reserve(raw.size());
    std::size_t i = 0;
    while (i < raw.size()) {
        std::size_t start = raw.find("=?", i);
        if (start == std::string_view::npos) break;
        std::size_t cs = start + 2;
        std::size_t end = raw.find_first_of("?*", cs);
        out.append(raw.substr(i, cs - i));
        if (end == std::string_view::npos) {
            i = cs;
            break;
        }
        std::string_view charset = raw.substr(cs, end - cs);
        out.append(is_latin1_label(charset) ? std::string_view("windows-1252") : charset);
        i = end;
    }
    out.append(raw.substr(i));
    return out;
}

std::vector<std::string> parse_msg_ids(const Message::Impl& impl, const std::string& raw) {
    std::vector<std::string> ids;
    GMimeReferences* refs = g_mime_references_parse(impl.options.get(), raw.c_str());
    if (!refs) return ids;
    int n = g_mime_references_length(refs);
    for (int i = 0; i < n; ++i)
        if (const char* id = g_mime_references_get_message_id(refs, i))
            ids.push_back(sanitize_header_value(id));
    g_mime_references_free(refs);
    return ids;
}

}  // namespace

std::string unfold(std::string_view raw) {
    std::string out;
    out.reserve(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) {
        char c = raw[i];
        bool fold = (c == '\r' || c == '\n') &&
                    (i + 1 == raw.size() || is_wsp(raw[i + 1]) || raw[i + 1] == '\n');
        if (!fold) out.push_back(c);
    }
    return std::string(trim(out));
}

std::string sanitize_header_value(std::string_view decoded) {
    std::string out = valid_utf8(decoded);
    for (char& c : out)
        if (c == '\r' || c == '\n' || c == '\0') c = ' ';
    return out;
}

std::string decode_text(const Message::Impl& impl, std::string_view raw) {
    std::string relabelled = relabel_encoded_words(raw);
    GString_ decoded(g_mime_utils_header_decode_text(impl.options.get(), relabelled.c_str()));
    return sanitize_header_value(decoded ? std::string_view(decoded.get()) : std::string_view());
}

std::string Mailbox::domain() const {
    std::size_t at = address.rfind('@');
    return at == std::string::npos ? std::string() : address.substr(at + 1);
}

std::string PartInfo::parameter(std::string_view name) const {
    for (const auto& [n, v] : parameters)
        if (n == name) return v;
    return {};
}

std::vector<HeaderField> Message::header_fields() const {
    std::vector<HeaderField> out;
    GMimeHeaderList* list = g_mime_object_get_header_list(as_object(impl_->message.get()));
    int n = list ? g_mime_header_list_get_count(list) : 0;
    for (int i = 0; i < n; ++i) {
        GMimeHeader* h = g_mime_header_list_get_header_at(list, i);
        const char* name = g_mime_header_get_name(h);
        const char* raw = g_mime_header_get_raw_value(h);
        out.push_back({name ? name : "", unfold(raw ? raw : "")});
    }
    return out;
}

std::vector<std::string> Message::raw_headers(std::string_view name) const {
    std::vector<std::string> out;
    GMimeHeaderList* list = g_mime_object_get_header_list(as_object(impl_->message.get()));
    int n = list ? g_mime_header_list_get_count(list) : 0;
    for (int i = 0; i < n; ++i) {
        GMimeHeader* h = g_mime_header_list_get_header_at(list, i);
        const char* hname = g_mime_header_get_name(h);
        if (!hname || !iequals(hname, name)) continue;
        const char* raw = g_mime_header_get_raw_value(h);
        out.push_back(unfold(raw ? raw : ""));
    }
    return out;
}

std::size_t Message::header_count(std::string_view name) const {
    return raw_headers(name).size();
}

std::optional<std::string> Message::raw_header(std::string_view name) const {
    std::vector<std::string> all = raw_headers(name);
    if (all.empty()) return std::nullopt;
    return std::move(all.front());
}

std::optional<std::string> Message::header(std::string_view name) const {
    std::optional<std::string> raw = raw_header(name);
    if (!raw) return std::nullopt;
    return decode_text(*impl_, *raw);
}

MailResult<Mailbox> Message::from() const {
    std::vector<std::string> values = raw_headers("From");
    if (values.empty()) return Refusal{RefusalKind::bad_from, "no From header"};
    if (values.size() > 1)
        return Refusal{RefusalKind::bad_from, std::to_string(values.size()) + " From headers"};
    std::optional<RawMailbox> mb = parse_mailbox(values.front());
    if (!mb) return Refusal{RefusalKind::bad_from, "From is not exactly one mailbox"};
    Mailbox out;
    out.display_name = decode_text(*impl_, mb->display_name);
    out.address = sanitize_header_value(mb->local_part + "@" + mb->domain);
    return out;
}

std::string Message::subject() const {
    return header("Subject").value_or("");
}

std::string Message::message_id() const {
    std::optional<std::string> raw = raw_header("Message-ID");
    if (!raw) return {};
    std::vector<std::string> ids = parse_msg_ids(*impl_, *raw);
    return ids.empty() ? std::string() : ids.front();
}

std::vector<std::string> Message::in_reply_to() const {
    std::optional<std::string> raw = raw_header("In-Reply-To");
    return raw ? parse_msg_ids(*impl_, *raw) : std::vector<std::string>{};
}

std::vector<std::string> Message::references() const {
    std::optional<std::string> raw = raw_header("References");
    return raw ? parse_msg_ids(*impl_, *raw) : std::vector<std::string>{};
}

}  // namespace referent::mail
