// libFuzzer target: one command line through the command, MAIL/RCPT and address parsers.
// A parsed address must re-parse to itself and respect the RFC 5321 length limits.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "smtp/command.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace referent::smtp;
    std::string_view line(reinterpret_cast<const char*>(data), size);
    Command c = parse_command(line);
    MailParse m = parse_mail(c.argument);
    if (m.args) {
        const Address& a = m.args->from;
        if (!a.is_null()) {
            if (a.local.size() > 64 || a.domain.size() > 255) std::abort();
            auto again = parse_path("<" + a.to_string() + ">", false, true);
            if (!again.ok || again.address.local != a.local || again.address.domain != a.domain)
                std::abort();
        }
    } else if (m.refusal.lines.empty()) {
        std::abort();
    }
    RcptParse r = parse_rcpt(c.argument, (size & 1) != 0);
    if (!r.args && r.refusal.lines.empty()) std::abort();
    return 0;
}
