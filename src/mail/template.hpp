// mail/template.hpp — the Mustache templates of every message the gateway writes or decorates.
//
// Contract:
//  - TemplateSet::load(organisation) reads, from organisation.templates + "/" +
//    organisation.language, the files <stem>.txt.mustache and <stem>.html.mustache of every
//    TemplateName, and <stem>.subject.mustache for the notices (has_subject()). It also takes
//    organisation.from_format, the From: display name. Every problem is reported, one per line,
//    "FILE:LINE:COL: reason" (or "FILE: reason"): missing directory or file, unreadable file,
//    invalid UTF-8 or control characters, Mustache syntax, a name the template may not use
//    (see template_syntax.hpp: checked statically, every branch), an unescaped value in HTML.
//    Then each template is rendered with both sample contexts, and the forward banner must carry
//    the markers of banner_marker.hpp. A successful load cannot fail to render later.
//  - text() renders with no escaping at all; html() escapes every value (& < > " '). Both
//    return LF line endings and insert values verbatim: the caller converts to CRLF, encodes
//    and dot-stuffs at send time (a "." line in a template or value is left as it is).
//  - signature and forward_banner are fragments (text to append or prepend; HTML a <div> to put
//    inside an existing <body>); the notices are whole bodies (HTML a full document).
//  - subject() returns one line without the case tag (the renderer adds "[<case>] "): every
//    control character (CR, LF, TAB, NUL) becomes a space, runs of spaces collapse; RFC 2047
//    encoding is the renderer's. display_name() likewise, from
//    from_format; for an anonymous agent it is the service's name, as the service speaks.
//  - Rendering a template without a context part it needs (a notice without case_, absence
//    without absence…) is a bug in the caller: it aborts.
// A TemplateSet is immutable after load: rendering is const and thread-safe. Each template is
// parsed once, at load; a reload loads a new TemplateSet (the old one renders on, unchanged, for
// whoever still holds it).
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "mail/template_context.hpp"
#include "util/result.hpp"

namespace referent::mail {

// Parts of TemplateContext each template may use (others are unknown names for it):
//   every template: organisation, service, agent, case (case_ required except for signature)
//   forward_banner: + marker {begin, end}, absence (mail read by a delegate)
//   handover: + handover    absence: + absence
//   delivery_failure: + failure             reply_refused: + refusal
enum class TemplateName {
    signature,         // the referent's card appended to replies to citizens
    forward_banner,    // atop a citizen's message forwarded to the referent
    acknowledgement,   // to the citizen: a new case
    handover,          // to the citizen: a new referent
    absence,           // to the citizen: the referent is away, who covers
    delivery_failure,  // to an agent: the reply to a citizen bounced
    reminder,          // to the referent: the answer is due soon
    escalation,        // to the service's manager: the answer is overdue
    reply_refused,     // to an agent: their reply did not go to the citizen, and why
};

inline constexpr std::array<TemplateName, 9> all_template_names{
    TemplateName::signature, TemplateName::forward_banner, TemplateName::acknowledgement,
    TemplateName::handover,  TemplateName::absence,        TemplateName::delivery_failure,
    TemplateName::reminder,  TemplateName::escalation,     TemplateName::reply_refused};

std::string_view template_stem(TemplateName name);  // "forward_banner"
bool has_subject(TemplateName name);                // the notices, not signature or banner

class TemplateSet {
public:
    static util::Result<TemplateSet> load(const config::Organisation& organisation);

    const std::string& language() const { return language_; }

    std::string text(TemplateName name, const TemplateContext& context) const;
    std::string html(TemplateName name, const TemplateContext& context) const;
    std::string subject(TemplateName name, const TemplateContext& context) const;
    std::string display_name(const TemplateContext& context) const;

private:
    struct Parsed;  // the kainjow templates (template.cpp), parsed from the prepared sources

    TemplateSet() = default;

    std::string language_;
    std::shared_ptr<const Parsed> parsed_;
};

}  // namespace referent::mail
