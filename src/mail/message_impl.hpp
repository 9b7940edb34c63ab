// mail/message_impl.hpp — PRIVATE to src/mail/message*.cpp: the GMime side of mail::Message.
//
// Contract: the only header that includes GMime. It gives the other message*.cpp files (the
// parser, header and part accessors, and later the forward and rewrite renderers) the
// GMimeMessage tree behind a Message, RAII owners for GObjects, and checked casts. glib's
// type macros (GMIME_IS_MULTIPART, GMIME_PART…) are C casts: they are wrapped here, once, with
// -Wold-style-cast silenced locally, so no other file needs the pragma.
// Thread-safety: as Message — one thread at a time per Message.
#pragma once

#include <gmime/gmime.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mail/message.hpp"

namespace referent::mail {

struct GObjectUnref {
    void operator()(void* p) const {
        if (p) g_object_unref(p);
    }
};

// Owns one reference to a GObject.
template <class T>
using GPtr = std::unique_ptr<T, GObjectUnref>;

struct GFreeDeleter {
    void operator()(void* p) const { g_free(p); }
};
using GString_ = std::unique_ptr<char, GFreeDeleter>;  // a g_malloc'd C string

struct ParserOptionsDeleter {
    void operator()(GMimeParserOptions* p) const {
        if (p) g_mime_parser_options_free(p);
    }
};

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
inline bool is_multipart(GMimeObject* o) {
    return GMIME_IS_MULTIPART(o);
}
inline bool is_message_part(GMimeObject* o) {
    return GMIME_IS_MESSAGE_PART(o);
}
inline bool is_part(GMimeObject* o) {
    return GMIME_IS_PART(o);
}
inline bool is_text_part(GMimeObject* o) {
    return GMIME_IS_TEXT_PART(o);
}
inline GMimeMultipart* as_multipart(GMimeObject* o) {
    return is_multipart(o) ? GMIME_MULTIPART(o) : nullptr;
}
inline GMimeMessagePart* as_message_part(GMimeObject* o) {
    return is_message_part(o) ? GMIME_MESSAGE_PART(o) : nullptr;
}
inline GMimePart* as_part(GMimeObject* o) {
    return is_part(o) ? GMIME_PART(o) : nullptr;
}
inline GMimeObject* as_object(GMimeMessage* m) {
    return GMIME_OBJECT(m);
}
inline GMimeStream* as_stream(GMimeStreamMem* s) {
    return GMIME_STREAM(s);
}
inline GMimeStreamFilter* as_stream_filter(GMimeStream* s) {
    return GMIME_STREAM_FILTER(s);
}
inline GMimeStreamMem* as_stream_mem(GMimeStream* s) {
    return GMIME_STREAM_MEM(s);
}
inline GMimeObject* obj(GMimePart* p) {
    return GMIME_OBJECT(p);
}
inline GMimeObject* obj(GMimeMultipart* p) {
    return GMIME_OBJECT(p);
}
#pragma GCC diagnostic pop

// "type/subtype" of a part, lower-case, as PartInfo::content_type; "" without a Content-Type.
std::string media_type(GMimeObject* object);

struct Message::Impl {
    // Declared first so it is destroyed last: GMime's header lists keep a pointer to the
    // parser options they were parsed with and use it to decode values lazily.
    std::unique_ptr<GMimeParserOptions, ParserOptionsDeleter> options;
    GPtr<GMimeMessage> message;
    std::vector<std::string> damage;
    std::vector<GMimeObject*> objects;  // parts() order; owned by `message`
    std::vector<PartInfo> parts;
};

// The tree behind a Message, for the renderers (mutable) and the readers.
Message::Impl& impl_of(Message& m);
const Message::Impl& impl_of(const Message& m);

// Decoding shared by the message*.cpp files (message_headers.cpp).
std::string decode_text(const Message::Impl& impl, std::string_view raw);
std::string sanitize_header_value(std::string_view decoded);
std::string unfold(std::string_view raw);

}  // namespace referent::mail
