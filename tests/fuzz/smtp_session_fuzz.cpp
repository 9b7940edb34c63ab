// libFuzzer target: arbitrary client bytes, split into writes by the input itself, against the
// SMTP and LMTP sessions. Checks the invariants every transcript relies on: replies are CRLF
// lines with a 3-digit code, unconsumed input stays bounded, and a closed session stays closed.
// With a spill (large DATA out of memory): a message is whole in memory or in its spill, never
// over the size limit, and no spill outlives its transaction.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "smtp/server_session.hpp"

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

int live_spills = 0;

class CountedSpill final : public referent::smtp::DataSpill {
public:
    explicit CountedSpill(std::size_t fail_after) : fail_after_(fail_after) { ++live_spills; }
    ~CountedSpill() override { --live_spills; }
    bool append(std::string_view octets) override {
        if (size + octets.size() > fail_after_) return false;
        size += octets.size();
        return true;
    }
    std::size_t size = 0;

private:
    std::size_t fail_after_;
};

void check_replies(const std::string& out) {
    std::size_t pos = 0;
    while (pos < out.size()) {
        std::size_t end = out.find("\r\n", pos);
        check(end != std::string::npos);
        check(end - pos >= 3);
        for (std::size_t i = pos; i < pos + 3; ++i) check(out[i] >= '0' && out[i] <= '9');
        pos = end + 2;
    }
}

void fuzz_session(const referent::smtp::SessionOptions& o, const std::uint8_t* data,
                  std::size_t size) {
    referent::smtp::ServerSession s(o);
    s.start();
    std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
    // A 0xff octet splits the input into separate writes.
    while (!in.empty()) {
        std::size_t cut = in.find('\xff');
        std::string_view chunk = in.substr(0, cut);
        in = cut == std::string_view::npos ? std::string_view{} : in.substr(cut + 1);
        s.feed(chunk);
        while (true) {
            check_replies(s.take_output());
            check(s.buffered() <= chunk.size() + o.max_command_length + 8192);
            auto want = s.want();
            if (want == referent::smtp::ServerSession::Want::commit) {
                auto m = s.take_message();
                check(m.data.size() <= o.max_message_size);
                if (m.spill) {
                    check(m.data.empty());
                    check(live_spills == 1);
                    check(static_cast<CountedSpill&>(*m.spill).size <= o.max_message_size);
                } else {
                    check(live_spills == 0);
                }
                check(!m.transaction.recipients.empty());
                s.commit_done({referent::smtp::CommitOutcome::Status::ok, "Q"});
            } else if (want == referent::smtp::ServerSession::Want::start_tls) {
                s.tls_started();
            } else {
                break;
            }
        }
        if (s.want() == referent::smtp::ServerSession::Want::close) {
            s.feed("NOOP\r\n");
            check(s.take_output().empty());
            break;
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    referent::smtp::SessionOptions o;
    o.dialect = (data[0] & 1) ? referent::smtp::Dialect::lmtp : referent::smtp::Dialect::smtp;
    o.tls_available = (data[0] & 2) != 0;
    o.max_message_size = 4096;
    o.max_header_size = 1024;
    o.max_recipients = 5;
    o.check_recipient =
        [](const referent::smtp::Address& a) -> std::optional<referent::smtp::Reply> {
        if (a.domain.size() % 2 == 0) return std::nullopt;
        return referent::smtp::Reply{550, "5.1.1", "no"};
    };
    if (data[0] & 4) {
        o.max_data_in_memory = 64;
        const std::size_t fail_after = (data[0] & 8) ? 512 : SIZE_MAX;
        o.open_spill = [fail_after](const referent::smtp::Transaction&) {
            return std::make_unique<CountedSpill>(fail_after);
        };
    }
    fuzz_session(o, data, size);
    check(live_spills == 0);
    return 0;
}
