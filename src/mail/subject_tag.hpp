// mail/subject_tag.hpp — the case tag and the reply prefix of the subjects the gateway writes.
//
// Contract:
//  - forward_subject(): "[<case>] <subject>" for the referent, unless the subject already holds
//    the tag (a citizen answering our acknowledgement keeps it): then the subject is kept as it
//    is, so the tag is never doubled. An empty subject gives "[<case>]".
//  - reply_subject(): "Re: [<case>] <rest>" for the citizen, with exactly one tag and one "Re:":
//    every leading reply or forward prefix, in the forms clients write them ("RE:", "Re :",
//    "Réf :", "TR:", "AW:", "WG:", "SV:", "Fwd:", "Fw:", "RE[2]:", "Antw:", fullwidth colon…),
//    is removed, in any stack, and so is every copy of the tag wherever it stands.
//  - Tags compare ASCII case-insensitively. Input is the decoded subject (UTF-8, no CR/LF);
//    RFC 2047 encoding is the renderer's. Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace referent::mail {

std::string case_tag(std::string_view case_number);  // "[EC-2026-000042]"
std::string forward_subject(std::string_view case_number, std::string_view subject);
std::string reply_subject(std::string_view case_number, std::string_view subject);

}  // namespace referent::mail
