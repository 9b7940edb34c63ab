#include "smtp/transcript.hpp"

#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "smtp/server_session.hpp"

namespace referent::test {

using smtp::CommitOutcome;
using smtp::ServerSession;

std::string unescape(const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '\\' || i + 1 == s.size()) {
            out += s[i];
            continue;
        }
        char c = s[++i];
        switch (c) {
            case 'r':
                out += '\r';
                break;
            case 'n':
                out += '\n';
                break;
            case 't':
                out += '\t';
                break;
            case '0':
                out += '\0';
                break;
            case '\\':
                out += '\\';
                break;
            case 'x': {
                out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
                i += 2;
                break;
            }
            default:
                out += '\\';
                out += c;
        }
    }
    return out;
}

namespace {

std::string repeat(std::size_t n, const std::string& s) {
    std::string out;
    out.reserve(n * s.size());
    for (std::size_t i = 0; i < n; ++i) out += s;
    return out;
}

// "N text" → text repeated N times.
std::string repeated(const std::string& rest) {
    std::size_t sp = rest.find(' ');
    return repeat(std::stoul(rest.substr(0, sp)), unescape(rest.substr(sp + 1)));
}

std::string show(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '\r')
            out += "\\r";
        else if (c == '\n')
            out += "\\n\n";
        else if (c == '\0')
            out += "\\0";
        else
            out += c;
    }
    if (out.size() > 2000) out = out.substr(0, 2000) + "…";
    return out;
}

// The memory spill of the transcripts (@spill): what a session appended, and how many spills
// exist (a spill the session dropped removed its file: it is gone from `open`).
struct SpillState {
    std::size_t open = 0;
    std::optional<std::size_t> fail_after;  // append fails once it would pass this many octets
};

class MemorySpill final : public smtp::DataSpill {
public:
    explicit MemorySpill(std::shared_ptr<SpillState> state) : state_(std::move(state)) {
        ++state_->open;
    }
    ~MemorySpill() override { --state_->open; }
    bool append(std::string_view octets) override {
        if (state_->fail_after && data.size() + octets.size() > *state_->fail_after) return false;
        data.append(octets);
        return true;
    }
    std::string data;

private:
    std::shared_ptr<SpillState> state_;
};

smtp::SessionOptions options_for(const Transcript& t, const std::shared_ptr<SpillState>& spill) {
    smtp::SessionOptions o;
    o.hostname = "mx.example.gov";
    o.check_recipient = [](const smtp::Address& a) -> std::optional<smtp::Reply> {
        if (smtp::iequals(a.domain, "example.gov")) return std::nullopt;
        return smtp::Reply{550, "5.1.1", "Error: mailbox unavailable"};
    };
    for (const auto& line : t.options) {
        std::istringstream in(line.substr(1));
        std::string key, value;
        in >> key >> value;
        if (key == "dialect")
            o.dialect = value == "lmtp" ? smtp::Dialect::lmtp : smtp::Dialect::smtp;
        else if (key == "tls")
            o.tls_available = true;
        else if (key == "one-write")
            continue;  // read by the split test
        else if (key == "space")
            o.has_space = [](std::uint64_t) { return false; };
        else if (key == "max_recipients")
            o.max_recipients = static_cast<std::uint32_t>(std::stoul(value));
        else if (key == "max_errors")
            o.max_errors = static_cast<std::uint32_t>(std::stoul(value));
        else if (key == "max_nonmail_commands")
            o.max_nonmail_commands = static_cast<std::uint32_t>(std::stoul(value));
        else if (key == "max_command_length")
            o.max_command_length = static_cast<std::uint32_t>(std::stoul(value));
        else if (key == "max_message_size")
            o.max_message_size = std::stoull(value);
        else if (key == "max_header_size")
            o.max_header_size = std::stoull(value);
        else if (key == "max_data_in_memory")
            o.max_data_in_memory = std::stoull(value);
        else if (key == "spill")
            o.open_spill = [spill](const smtp::Transaction&) {
                return std::make_unique<MemorySpill>(spill);
            };
        else if (key == "spill-fails-after")
            spill->fail_after = std::stoull(value);
        else
            throw std::runtime_error("unknown option " + line);
    }
    return o;
}

struct Runner {
    std::shared_ptr<SpillState> spill;
    ServerSession session;
    CommitOutcome::Status next = CommitOutcome::Status::ok;
    std::vector<smtp::AcceptedMessage> committed;
    std::vector<bool> spilled;  // per committed message: it came in a spill
    std::string output;
    std::size_t max_buffered = 0;

    explicit Runner(const Transcript& t)
        : spill(std::make_shared<SpillState>()), session(options_for(t, spill)) {}

    // Resolves commits and STARTTLS the way a connection would, collecting the output.
    void settle() {
        while (true) {
            output += session.take_output();
            max_buffered = std::max(max_buffered, session.buffered());
            if (session.want() == ServerSession::Want::commit) {
                smtp::AcceptedMessage m = session.take_message();
                CommitOutcome out{next, {}};
                const bool from_spill = m.spill != nullptr;
                if (from_spill) {  // committed: the bytes move on, the spill is gone
                    if (!m.data.empty()) throw std::runtime_error("spill and data both set");
                    m.data = std::move(dynamic_cast<MemorySpill&>(*m.spill).data);
                    m.spill.reset();
                }
                if (next == CommitOutcome::Status::ok) {
                    spilled.push_back(from_spill);
                    committed.push_back(std::move(m));
                    out.queue_id = "Q" + std::to_string(committed.size());
                }
                session.commit_done(out);
            } else if (session.want() == ServerSession::Want::start_tls) {
                session.tls_started();
            } else {
                return;
            }
        }
    }

    void feed(const std::string& bytes) {
        session.feed(bytes);
        settle();
    }
};

std::string check_directive(Runner& r, const std::string& d) {
    std::string key = d.substr(0, d.find(' '));
    std::string arg = d.size() > key.size() ? d.substr(key.size() + 1) : "";
    if (key == "=commit") {
        r.next = arg == "ok"          ? CommitOutcome::Status::ok
                 : arg == "temporary" ? CommitOutcome::Status::temporary
                                      : CommitOutcome::Status::permanent;
    } else if (key == "=message") {
        if (r.committed.empty()) return "no message committed";
        if (r.committed.back().data != unescape(arg))
            return "message differs:\n got: " + show(r.committed.back().data) +
                   "\nwant: " + show(unescape(arg));
    } else if (key == "=messages") {
        if (r.committed.size() != std::stoul(arg))
            return "messages: got " + std::to_string(r.committed.size()) + " want " + arg;
    } else if (key == "=recipients") {
        if (r.committed.empty()) return "no message committed";
        std::string got;
        for (const auto& a : r.committed.back().transaction.recipients)
            got += (got.empty() ? "" : ",") + a.to_string();
        if (got != arg) return "recipients: got " + got + " want " + arg;
    } else if (key == "=closed") {
        if (r.session.want() != ServerSession::Want::close) return "session is not closed";
    } else if (key == "=open") {
        if (r.session.want() == ServerSession::Want::close) return "session is closed";
    } else if (key == "=timeout") {
        r.session.timeout();
        r.settle();
    } else if (key == "=shutdown") {
        r.session.shutdown();
        r.settle();
    } else if (key == "=force-close") {
        r.session.force_close();
        r.settle();
    } else if (key == "=spilled") {
        if (r.spilled.empty()) return "no message committed";
        if (r.spilled.back() != (arg == "yes"))
            return std::string("last message ") + (r.spilled.back() ? "was" : "was not") +
                   " spilled";
    } else if (key == "=spills-open") {
        if (r.spill->open != std::stoul(arg))
            return "spills open: got " + std::to_string(r.spill->open) + " want " + arg;
    } else if (key == "=buffered-max") {
        if (r.max_buffered > std::stoul(arg))
            return "buffered " + std::to_string(r.max_buffered) + " > " + arg;
    } else {
        return "unknown directive " + d;
    }
    return "";
}

}  // namespace

Transcript parse_transcript(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open " + path);
    Transcript t;
    t.name = path;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        if (line[0] == '@')
            t.options.push_back(line);
        else if (line.rfind("C: ", 0) == 0)
            t.steps.push_back({TranscriptStep::Kind::send, unescape(line.substr(3)) + "\r\n"});
        else if (line.rfind("C| ", 0) == 0)
            t.steps.push_back({TranscriptStep::Kind::send, unescape(line.substr(3))});
        else if (line.rfind("C* ", 0) == 0)
            t.steps.push_back({TranscriptStep::Kind::send, repeated(line.substr(3))});
        else if (line.rfind("S: ", 0) == 0)
            t.steps.push_back({TranscriptStep::Kind::expect, unescape(line.substr(3)) + "\r\n"});
        else if (line.rfind("S* ", 0) == 0)
            t.steps.push_back({TranscriptStep::Kind::expect, repeated(line.substr(3) + "\\r\\n")});
        else if (line[0] == '=')
            t.steps.push_back({TranscriptStep::Kind::directive, line});
        else
            throw std::runtime_error(path + ": bad line: " + line);
    }
    return t;
}

std::vector<std::size_t> turn_sizes(const Transcript& t) {
    std::vector<std::size_t> sizes;
    bool in_turn = false;
    for (const auto& s : t.steps) {
        if (s.kind == TranscriptStep::Kind::send) {
            if (!in_turn) sizes.push_back(0);
            sizes.back() += s.text.size();
            in_turn = true;
        } else {
            in_turn = false;
        }
    }
    return sizes;
}

std::string run_transcript(const Transcript& t, std::optional<std::size_t> split_turn,
                           std::size_t split_at) {
    Runner r(t);
    std::size_t i = 0;
    std::size_t turn = 0;
    if (!t.steps.empty() && t.steps[0].kind == TranscriptStep::Kind::expect) {
        r.session.start();
        r.settle();
    }
    while (i < t.steps.size()) {
        const auto& step = t.steps[i];
        if (step.kind == TranscriptStep::Kind::directive) {
            if (auto err = check_directive(r, step.text); !err.empty())
                return "step " + std::to_string(i) + " " + step.text + ": " + err;
            ++i;
            continue;
        }
        if (step.kind == TranscriptStep::Kind::send) {
            std::string bytes;
            while (i < t.steps.size() && t.steps[i].kind == TranscriptStep::Kind::send)
                bytes += t.steps[i++].text;
            if (split_turn && *split_turn == turn) {
                r.feed(bytes.substr(0, split_at));
                r.feed(bytes.substr(split_at));
            } else {
                r.feed(bytes);
            }
            ++turn;
        }
        std::string want;
        std::size_t first = i;
        while (i < t.steps.size() && t.steps[i].kind == TranscriptStep::Kind::expect)
            want += t.steps[i++].text;
        std::string got = std::exchange(r.output, {});
        if (got != want)
            return "after step " + std::to_string(first) + ":\n got: " + show(got) +
                   "\nwant: " + show(want);
    }
    return "";
}

}  // namespace referent::test
