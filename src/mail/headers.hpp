// mail/headers.hpp — names of the header fields the gateway writes and reads, in one place.
//
// Contract: constants only. The classifier reads these, the renderer writes them; keeping one
// definition means a renamed header cannot make the gateway blind to its own loops.
// The loop header's value is the gateway's host name (gateway.hostname), so that two gateways
// exchanging mail each recognise only their own mark.
#pragma once

#include <string_view>

namespace referent::mail::headers {

inline constexpr std::string_view loop = "X-Referent-Loop";
inline constexpr std::string_view case_number = "X-Referent-Case";
inline constexpr std::string_view auto_submitted = "Auto-Submitted";
inline constexpr std::string_view auto_response_suppress = "X-Auto-Response-Suppress";

}  // namespace referent::mail::headers
