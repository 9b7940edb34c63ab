// Part content on demand: transfer decoding, and charset conversion of text to UTF-8.
#include <cassert>

#include "mail/ascii.hpp"
#include "mail/message_impl.hpp"
#include "mail/utf8.hpp"

namespace referent::mail {

namespace {

std::string bytes_of(GMimeStream* stream) {
    GByteArray* array = g_mime_stream_mem_get_byte_array(as_stream_mem(stream));
    if (!array || array->len == 0) return {};
    return std::string(reinterpret_cast<const char*>(array->data), array->len);
}

// Runs `bytes` through GMime's charset filter, which skips what it cannot convert instead of
// failing. nullopt when iconv does not know the charset.
// A charset name is handed to iconv only when it looks like one.
bool is_valid_charset(const std::string& charset) {
    if (charset.size() > 40) return false;
    for (char c : charset)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.' || c == ':'))
            return false;
    return true;
}

std::optional<std::string> convert_with_gmime(const std::string& bytes, const std::string& from) {
    GPtr<GMimeFilter> filter(g_mime_filter_charset_new(from.c_str(), "utf-8"));
    if (!filter) return std::nullopt;
    GPtr<GMimeStream> sink(g_mime_stream_mem_new());
    GPtr<GMimeStream> filtered(g_mime_stream_filter_new(sink.get()));
    g_mime_stream_filter_add(as_stream_filter(filtered.get()), filter.get());
    g_mime_stream_write(filtered.get(), bytes.data(), bytes.size());
    g_mime_stream_flush(filtered.get());
    return bytes_of(sink.get());
}

// MIME.md: text labelled iso-8859-1 is windows-1252 in practice (the € is 0x80), and
// unlabelled or us-ascii text with 8-bit bytes is UTF-8 when it is valid, else windows-1252.
std::string to_utf8(const std::string& bytes, const std::string& charset) {
    if (charset == "utf-8" || charset == "utf8") return valid_utf8(bytes);
    if (charset == "iso-8859-1" || charset == "iso8859-1" || charset == "iso_8859-1" ||
        charset == "latin1" || charset == "windows-1252" || charset == "cp1252")
        return windows1252_to_utf8(bytes);
    if (charset.empty() || charset == "us-ascii" || charset == "ascii" ||
        !is_valid_charset(charset))
        return is_valid_utf8(bytes) ? bytes : windows1252_to_utf8(bytes);
    if (auto converted = convert_with_gmime(bytes, charset)) return valid_utf8(*converted);
    return is_valid_utf8(bytes) ? bytes : windows1252_to_utf8(bytes);
}

}  // namespace

std::string Message::content(std::size_t index) const {
    assert(index < impl_->objects.size());
    GMimeObject* object = impl_->objects[index];
    GPtr<GMimeStream> sink(g_mime_stream_mem_new());
    if (GMimeMessagePart* mp = as_message_part(object)) {
        GMimeMessage* inner = g_mime_message_part_get_message(mp);
        if (!inner) return {};
        g_mime_object_write_to_stream(as_object(inner), nullptr, sink.get());
    } else if (GMimePart* part = as_part(object)) {
        GMimeDataWrapper* wrapper = g_mime_part_get_content(part);
        if (!wrapper) return {};
        g_mime_data_wrapper_write_to_stream(wrapper, sink.get());  // decodes base64 / QP
    } else {
        return {};
    }
    return bytes_of(sink.get());
}

std::string Message::preamble(std::size_t index) const {
    assert(index < impl_->objects.size());
    GMimeMultipart* mp = as_multipart(impl_->objects[index]);
    const char* prologue = mp ? g_mime_multipart_get_prologue(mp) : nullptr;
    return prologue ? valid_utf8(prologue) : std::string();
}

std::optional<std::string> Message::text(std::size_t index) const {
    assert(index < impl_->parts.size());
    const PartInfo& info = impl_->parts[index];
    if (info.container || !istarts_with(info.content_type, "text/")) return std::nullopt;
    return to_utf8(content(index), info.charset);
}

std::optional<TextBody> Message::body_text() const {
    for (const char* wanted : {"text/plain", "text/html"}) {
        for (std::size_t i = 0; i < impl_->parts.size(); ++i) {
            const PartInfo& p = impl_->parts[i];
            if (p.content_type == wanted && !p.attachment && !p.in_attached_message)
                return TextBody{text(i).value_or(""), p.content_type == "text/html"};
        }
    }
    return std::nullopt;
}

}  // namespace referent::mail
