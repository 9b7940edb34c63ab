#include "mail/bounce_report.hpp"

#include <cstddef>
#include <cstring>

#include "mail/ascii.hpp"
#include "mail/bounce_text.hpp"
#include "mail/content_type.hpp"
#include "mail/fields.hpp"
#include "mail/utf8.hpp"

namespace referent::mail {

namespace {

constexpr std::size_t max_value = 300;

// Valid UTF-8, no CR, LF or NUL, bounded (cut on a character boundary).
std::string clean(std::string_view v) {
    std::string out = valid_utf8(trim(v));
    for (char& c : out)
        if (c == '\r' || c == '\n' || c == '\0' || c == '\t') c = ' ';
    if (out.size() > max_value) {
        std::size_t cut = max_value;
        while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
        out.resize(cut);
    }
    return out;
}

// "rfc822; <a@example.org>" → "<a@example.org>"; "smtp; 550 ..." → "550 ...".
std::string_view strip_type(std::string_view v) {
    v = trim(v);
    std::size_t semi = v.find(';');
    if (semi != std::string_view::npos && semi <= 20 &&
        v.substr(0, semi).find(' ') == std::string_view::npos)
        v = trim(v.substr(semi + 1));
    return v;
}

std::string_view strip_angles(std::string_view v) {
    v = trim(v);
    if (v.size() >= 2 && v.front() == '<' && v.back() == '>') v = trim(v.substr(1, v.size() - 2));
    return v;
}

std::string recipient_of(const FieldBlock& block) {
    std::string v = field_value(block, "Final-Recipient");
    if (v.empty()) v = field_value(block, "Original-Recipient");
    return std::string(strip_angles(strip_type(v)));
}

bool is_recipient_block(const FieldBlock& block) {
    return has_field(block, "Final-Recipient") || has_field(block, "Original-Recipient") ||
           has_field(block, "Action") || has_field(block, "Status");
}

void read_recipient_block(const FieldBlock& block, BounceReport& r) {
    r.final_recipient = recipient_of(block);
    r.action = lower(first_token(field_value(block, "Action")));
    std::string status = field_value(block, "Status");
    r.status = find_status_code(status, "245");
    if (r.status.empty()) r.status = std::string(first_token(status));
    r.diagnostic_code = std::string(strip_type(field_value(block, "Diagnostic-Code")));
}

// The report part: message/delivery-status or message/global-delivery-status.
void read_delivery_status(const Message& m, BounceReport& r) {
    const auto& parts = m.parts();
    for (std::size_t i = 0; i < parts.size(); ++i) {
        const PartInfo& p = parts[i];
        if (p.in_attached_message || (p.content_type != "message/delivery-status" &&
                                      p.content_type != "message/global-delivery-status"))
            continue;
        r.source = p.content_type;
        std::vector<FieldBlock> blocks = parse_field_blocks(m.content(i));
        const FieldBlock* chosen = nullptr;
        for (const FieldBlock& b : blocks) {
            if (!is_recipient_block(b)) continue;
            if (std::string rcpt = recipient_of(b); !rcpt.empty()) r.recipients.push_back(rcpt);
            bool failed = iequals(first_token(field_value(b, "Action")), "failed");
            if (!chosen ||
                (failed && !iequals(first_token(field_value(*chosen, "Action")), "failed")))
                chosen = &b;
        }
        if (chosen) read_recipient_block(*chosen, r);
        // Exchange puts the original id among the per-message fields.
        if (!blocks.empty() && r.original_message_id.empty())
            r.original_message_id =
                find_message_id(field_value(blocks.front(), "X-Original-Message-ID"));
        return;
    }
}

void read_original_headers(const Message& m, BounceReport& r) {
    const auto& parts = m.parts();
    for (std::size_t i = 0; i < parts.size(); ++i) {
        const PartInfo& p = parts[i];
        const std::string& t = p.content_type;
        if (p.in_attached_message || (t != "message/rfc822" && t != "message/global" &&
                                      t != "text/rfc822-headers" && t != "message/global-headers"))
            continue;
        std::vector<FieldBlock> headers = parse_field_blocks(m.content(i), 1);
        if (headers.empty()) continue;
        std::string id = find_message_id(field_value(headers.front(), "Message-ID"));
        if (!id.empty()) {
            r.original_message_id = id;
            return;
        }
    }
}

std::vector<std::string> failed_recipients_header(const Message& m) {
    std::vector<std::string> out;
    for (const std::string& v : m.raw_headers("X-Failed-Recipients"))
        for (std::string& a : addresses_in(v, 100)) out.push_back(std::move(a));
    return out;
}

// Addresses the fallback must not take for the failed recipient: the bounce's own ends.
std::vector<std::string> own_ends(const Message& m) {
    std::vector<std::string> out;
    for (const char* name : {"From", "To", "Cc", "Sender", "Reply-To"})
        for (const std::string& v : m.raw_headers(name))
            for (std::string& a : addresses_in(v, 100)) out.push_back(std::move(a));
    return out;
}

// Delay warnings without a status code (Gmail, Sendmail): not a failure yet.
bool mentions_delay(std::string_view text) {
    std::string l = lower(text.substr(0, 4096));
    for (std::string_view phrase : {"has been delayed", "will be retried", "still being retried",
                                    "warning message only", "delivery delayed"})
        if (l.find(phrase) != std::string::npos) return true;
    return false;
}

// Sendmail and others sometimes write the report's fields into the text itself.
void read_inline_fields(std::string_view text, BounceReport& r) {
    for (const FieldBlock& b : parse_field_blocks(text, 200)) {
        if (!has_field(b, "Final-Recipient") && !has_field(b, "Status")) continue;
        BounceReport inline_report;
        read_recipient_block(b, inline_report);
        if (r.final_recipient.empty()) r.final_recipient = inline_report.final_recipient;
        if (r.action.empty()) r.action = inline_report.action;
        if (r.status.empty()) r.status = inline_report.status;
        if (r.diagnostic_code.empty()) r.diagnostic_code = inline_report.diagnostic_code;
        return;
    }
}

void fill_from_text(const Message& m, BounceReport& r) {
    if (r.final_recipient.empty()) {
        std::vector<std::string> failed = failed_recipients_header(m);
        if (!failed.empty()) {
            r.final_recipient = failed.front();
            if (r.recipients.empty()) r.recipients = failed;
        }
    }
    bool need_text = r.final_recipient.empty() || r.status.empty() || r.diagnostic_code.empty() ||
                     r.original_message_id.empty();
    if (!need_text) return;
    std::string text = bounce_text(m);
    read_inline_fields(text, r);
    if (r.final_recipient.empty()) r.final_recipient = first_recipient_in(text, own_ends(m));
    if (r.status.empty()) r.status = find_status_code(r.diagnostic_code, "45");
    if (r.status.empty()) r.status = find_status_code(text, "45");
    if (r.diagnostic_code.empty()) r.diagnostic_code = diagnostic_line(text, r.status);
    if (r.original_message_id.empty()) r.original_message_id = quoted_message_id(text);
    if (r.action.empty() && r.status.empty() && mentions_delay(text)) r.action = "delayed";
}

std::string action_from_status(std::string_view status) {
    if (!status.empty() && status[0] == '4') return "delayed";
    if (!status.empty() && status[0] == '2') return "delivered";
    return "failed";
}

}  // namespace

BounceReport extract_bounce_report(const Message& m) {
    BounceReport r;
    read_original_headers(m, r);
    read_delivery_status(m, r);
    fill_from_text(m, r);
    if (r.source.empty()) r.source = "text";
    if (r.action.empty()) r.action = action_from_status(r.status);
    if (r.recipients.empty() && !r.final_recipient.empty())
        r.recipients.push_back(r.final_recipient);
    for (std::string* v : {&r.action, &r.status, &r.final_recipient, &r.diagnostic_code,
                           &r.original_message_id, &r.source})
        *v = clean(*v);
    for (std::string& v : r.recipients) v = clean(v);
    return r;
}

}  // namespace referent::mail
