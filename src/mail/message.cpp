// Parsing: bounds first, then GMime with the gateway's own options, then a flat, bounded view
// of the tree. Header and part accessors live in message_headers.cpp and message_parts.cpp.
#include <mutex>
#include <utility>

#include "mail/ascii.hpp"
#include "mail/message_impl.hpp"

namespace referent::mail {

std::string_view to_string(RefusalKind kind) {
    switch (kind) {
        case RefusalKind::too_large:
            return "too_large";
        case RefusalKind::header_too_large:
            return "header_too_large";
        case RefusalKind::too_deep:
            return "too_deep";
        case RefusalKind::too_many_parts:
            return "too_many_parts";
        case RefusalKind::no_header:
            return "no_header";
        case RefusalKind::damaged:
            return "damaged";
        case RefusalKind::bad_from:
            return "bad_from";
        case RefusalKind::unsafe_value:
            return "unsafe_value";
        case RefusalKind::empty_reply:
            return "empty_reply";
    }
    return "unknown";
}

void init() {
    static std::once_flag once;
    std::call_once(once, [] { g_mime_init(); });
}

namespace {

// A hostile message can raise a warning per line; a few are enough to say why.
constexpr std::size_t max_damage_lines = 20;

const char* critical_name(GMimeParserWarning code) {
    switch (code) {
        case GMIME_CRIT_INVALID_HEADER_NAME:
            return "GMIME_CRIT_INVALID_HEADER_NAME";
        case GMIME_CRIT_CONFLICTING_HEADER:
            return "GMIME_CRIT_CONFLICTING_HEADER";
        case GMIME_CRIT_CONFLICTING_PARAMETER:
            return "GMIME_CRIT_CONFLICTING_PARAMETER";
        case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY:
            return "GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY";
        case GMIME_CRIT_NESTING_OVERFLOW:
            return "GMIME_CRIT_NESTING_OVERFLOW";
        case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT:
            return "GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT";
        default:
            return nullptr;  // GMIME_WARN_*: nothing was lost
    }
}

// The item is quoted only when it names a header, a parameter or a subtype: for an invalid
// header line it is message content, which stays out of the logs.
bool item_is_a_name(GMimeParserWarning code, const gchar* item) {
    if (!item ||
        (code != GMIME_CRIT_CONFLICTING_HEADER && code != GMIME_CRIT_CONFLICTING_PARAMETER &&
         code != GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY))
        return false;
    std::string_view s(item);
    if (s.empty() || s.size() > 64) return false;
    for (char c : s)
        if (c <= ' ' || c >= 127) return false;
    return true;
}

void on_warning(gint64 offset, GMimeParserWarning code, const gchar* item, gpointer user_data) {
    const char* name = critical_name(code);
    auto* damage = static_cast<std::vector<std::string>*>(user_data);
    if (!name || damage->size() >= max_damage_lines) return;
    std::string line = name;
    if (item_is_a_name(code, item)) line.append(" (").append(item).append(")");
    if (offset >= 0) line += " at octet " + std::to_string(offset);
    damage->push_back(std::move(line));
}

GMimeParserOptions* make_options(std::vector<std::string>* damage) {
    GMimeParserOptions* options = g_mime_parser_options_new();
    g_mime_parser_options_set_warning_callback(options, on_warning, damage);
    // Raw 8-bit header text: UTF-8 when it is valid, else the usual Windows Western charset.
    static const char* fallback[] = {"utf-8", "windows-1252", nullptr};
    g_mime_parser_options_set_fallback_charsets(options, fallback);
    return options;
}

std::string lower_or_empty(const char* s) {
    return s ? lower(s) : std::string();
}

PartInfo describe(GMimeObject* object) {
    PartInfo info;
    GMimeContentType* ct = g_mime_object_get_content_type(object);
    if (ct) {
        info.content_type = media_type(object);
        GMimeParamList* params = g_mime_content_type_get_parameters(ct);
        int n = params ? g_mime_param_list_length(params) : 0;
        for (int i = 0; i < n; ++i) {
            GMimeParam* p = g_mime_param_list_get_parameter_at(params, i);
            const char* value = g_mime_param_get_value(p);
            info.parameters.emplace_back(lower_or_empty(g_mime_param_get_name(p)),
                                         sanitize_header_value(value ? value : ""));
        }
        info.charset = lower(info.parameter("charset"));
    }
    if (GMimeContentDisposition* d = g_mime_object_get_content_disposition(object))
        info.disposition = lower_or_empty(g_mime_content_disposition_get_disposition(d));
    if (GMimePart* part = as_part(object)) {
        const char* filename = g_mime_part_get_filename(part);
        info.filename = sanitize_header_value(filename ? filename : "");
        info.attachment = g_mime_part_is_attachment(part);
    }
    info.container = is_multipart(object) || is_message_part(object);
    return info;
}

// Lists the tree in document order with an explicit stack (no recursion), refusing what the
// bounds scan could not foresee, so the limits hold on GMime's own reading too.
std::optional<Refusal> flatten(Message::Impl& impl, const ParseLimits& limits) {
    struct Item {
        GMimeObject* object;
        std::size_t parent;
        std::uint32_t depth;
        bool in_message;
    };
    std::vector<Item> stack;
    if (GMimeObject* root = g_mime_message_get_mime_part(impl.message.get()))
        stack.push_back({root, PartInfo::npos, 0, false});
    while (!stack.empty()) {
        Item item = stack.back();
        stack.pop_back();
        if (item.depth > limits.max_mime_depth)
            return Refusal{RefusalKind::too_deep,
                           "MIME nesting deeper than " + std::to_string(limits.max_mime_depth)};
        if (impl.parts.size() >= limits.max_mime_parts)
            return Refusal{RefusalKind::too_many_parts,
                           "more than " + std::to_string(limits.max_mime_parts) + " MIME parts"};
        std::size_t index = impl.parts.size();
        PartInfo info = describe(item.object);
        info.parent = item.parent;
        info.depth = item.depth;
        info.in_attached_message = item.in_message;
        impl.parts.push_back(std::move(info));
        impl.objects.push_back(item.object);
        if (GMimeMultipart* mp = as_multipart(item.object)) {
            for (int i = g_mime_multipart_get_count(mp) - 1; i >= 0; --i)
                stack.push_back(
                    {g_mime_multipart_get_part(mp, i), index, item.depth + 1, item.in_message});
        } else if (GMimeMessagePart* mpart = as_message_part(item.object)) {
            GMimeMessage* inner = g_mime_message_part_get_message(mpart);
            GMimeObject* body = inner ? g_mime_message_get_mime_part(inner) : nullptr;
            if (body) stack.push_back({body, index, item.depth + 1, true});
        }
    }
    return std::nullopt;
}

}  // namespace

std::string media_type(GMimeObject* object) {
    GMimeContentType* ct = g_mime_object_get_content_type(object);
    if (!ct) return {};
    return lower_or_empty(g_mime_content_type_get_media_type(ct)) + "/" +
           lower_or_empty(g_mime_content_type_get_media_subtype(ct));
}

MailResult<Message> parse(std::string_view bytes, const ParseLimits& limits) {
    init();
    BoundsScan scan = scan_bounds(bytes, limits);
    if (scan.refusal) return *scan.refusal;
    auto impl = std::make_unique<Message::Impl>();
    impl->damage = std::move(scan.damage);
    impl->options.reset(make_options(&impl->damage));
    GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(bytes.data(), bytes.size()));
    GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
    impl->message.reset(g_mime_parser_construct_message(parser.get(), impl->options.get()));
    if (!impl->message) return Refusal{RefusalKind::no_header, "no header block"};
    if (auto refusal = flatten(*impl, limits)) return *refusal;
    return Message(std::move(impl));
}

Message::Message(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Message::Message(Message&&) noexcept = default;
Message& Message::operator=(Message&&) noexcept = default;
Message::~Message() = default;

Message::Impl& impl_of(Message& m) {
    return *m.impl_;
}

const Message::Impl& impl_of(const Message& m) {
    return *m.impl_;
}

bool Message::damaged() const {
    return !impl_->damage.empty();
}

const std::vector<std::string>& Message::damage() const {
    return impl_->damage;
}

std::optional<Refusal> Message::refuse_rewrite() const {
    if (!damaged()) return std::nullopt;
    std::string reason = "parser reported lost content: " + impl_->damage.front();
    if (impl_->damage.size() > 1)
        reason += " (and " + std::to_string(impl_->damage.size() - 1) + " more)";
    return Refusal{RefusalKind::damaged, std::move(reason)};
}

const std::vector<PartInfo>& Message::parts() const {
    return impl_->parts;
}

}  // namespace referent::mail
