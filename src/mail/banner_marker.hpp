// mail/banner_marker.hpp — how the forward banner is found again in an agent's quoted reply.
//
// Contract: the banner that forward_banner.{txt,html}.mustache puts at the top of a citizen's
// message carries two sentinel lines, banner_begin(case) first and banner_end(case) last, in
// both the text and the HTML rendering; the HTML rendering also wraps the banner in an element
// with id and class banner_html_id. TemplateSet::load refuses forward_banner templates whose
// rendering lacks them, so the rewrite may rely on them.
//
// Why text sentinels and not only the HTML element: Outlook (Word engine) and Gmail drop ids
// and classes when they quote, and text/plain replies have no elements at all; the text of the
// banner survives every client, prefixed by "> " or inside <blockquote>. The sentinels are
// ASCII on purpose: the quoting client may re-encode the text (windows-1252, NFD on Apple
// Mail), and ASCII matches byte for byte whatever happened to the accents around it. They
// carry the case number so the rewrite strips only this gateway's banner for this case.
// Header-only, no state; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace referent::mail {

inline constexpr std::string_view banner_html_id = "referent-banner";
inline constexpr std::string_view banner_begin_prefix = "-- Referent ";
inline constexpr std::string_view banner_end_prefix = "-- /Referent ";
inline constexpr std::string_view banner_suffix = " --";

// "-- Referent EC-2026-000042 --"
inline std::string banner_begin(std::string_view case_number) {
    std::string s(banner_begin_prefix);
    s.append(case_number).append(banner_suffix);
    return s;
}

// "-- /Referent EC-2026-000042 --"
inline std::string banner_end(std::string_view case_number) {
    std::string s(banner_end_prefix);
    s.append(case_number).append(banner_suffix);
    return s;
}

}  // namespace referent::mail
