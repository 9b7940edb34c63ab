// cases/model.hpp — what the store remembers, as plain values.
//
// Contract: plain data, no behaviour. Instants are UTC seconds (system_clock), civil dates
// (due dates, absences) are local dates (calendar.hpp). Ids are the store's row ids; case and
// party ids fit in 32 bits because reply tokens carry them (token.hpp). An empty `referent`
// means the case waits in its service's fallback mailbox. Citizen addresses are stored as the
// citizen wrote them, compared ASCII case-insensitively.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace referent::cases {

using Instant = std::chrono::system_clock::time_point;
using Day = std::chrono::year_month_day;

enum class CaseStatus { open, closed };
enum class Direction { in, out };
enum class DeliveryState { queued, delivered, failed };

struct Citizen {
    std::int64_t id = 0;
    std::string address;
    std::string name;
};

struct Case {
    std::int64_t id = 0;
    std::string number;  // "<prefix>-<year>-<6 digits>"
    std::string service;
    Citizen citizen;
    std::string referent;  // agent id; "" = the service's fallback mailbox
    CaseStatus status = CaseStatus::open;
    Instant opened{};
    Day due{};
    std::optional<Instant> closed;
    std::optional<std::int64_t> predecessor;  // the case this one follows (closed too long ago)
};

struct MessageRecord {
    std::int64_t id = 0;
    std::optional<std::int64_t> case_id;
    Direction direction = Direction::in;
    std::string kind;      // in: the class (human, auto-reply…); out: forward, reply, notice…
    std::string spool_id;  // in: the spool id; out: the idempotency key
    std::string message_id;
    std::string sender;
    std::string subject;
    Instant at{};
    bool has_raw = false;  // raw bytes kept until the retention purge
};

struct ReferentPeriod {
    std::string agent;
    Instant from{};
    std::optional<Instant> to;
    std::string reason;
};

struct Event {
    std::int64_t id = 0;
    std::optional<std::int64_t> case_id;
    Instant at{};
    std::string kind;    // created, threaded, assigned, reassigned, verified, refused, notified…
    std::string detail;  // the reason, one line
};

struct StoredAbsence {
    std::int64_t id = 0;  // 0 for an absence from the configuration
    std::string agent;
    Day from{};
    Day to{};
    std::string delegate;
    bool from_config = false;
};

struct Delivery {
    std::int64_t id = 0;
    std::int64_t message = 0;  // the outbound MessageRecord
    std::string recipient;
    DeliveryState state = DeliveryState::queued;
    std::uint32_t attempts = 0;
    std::string last_error;
    Instant updated{};
};

struct CaseFile {  // everything about one case, for `referentctl show`
    Case case_;
    std::vector<MessageRecord> messages;
    std::vector<ReferentPeriod> referents;
    std::vector<Event> events;
};

const char* to_string(CaseStatus s);
const char* to_string(Direction d);
const char* to_string(DeliveryState s);

}  // namespace referent::cases
