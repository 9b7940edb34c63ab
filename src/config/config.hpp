// config/config.hpp — the whole configuration of the gateway as plain structs.
//
// Contract: these structs are produced only by config::load (config/load.hpp), which validates
// everything; code that receives a Config may trust it (addresses parse, references resolve,
// no CR/LF/NUL in any string, every bound within range). Defaults below are the documented
// defaults of config/referent.yaml. Paths are kept as written (relative to the working
// directory). No yaml-cpp type appears here: yaml-cpp lives in config/load.cpp and
// config/yaml_reader.{hpp,cpp} only.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace referent::config {

using Seconds = std::chrono::seconds;

enum class Protocol { smtp, lmtp };
enum class Role { public_, internal };  // "public": citizens via the MX; "internal": agents
enum class StartTls { never, opportunistic, required };
enum class Assignment { sticky, least_loaded, round_robin };

struct Listen {
    std::string address;     // IPv4 or IPv6 literal
    std::uint16_t port = 0;  // 0 = any free port (tests)
    Protocol protocol = Protocol::smtp;
    Role role = Role::public_;
};

struct Tls {
    std::string certificate;
    std::string key;
};

struct Limits {
    std::uint64_t max_message_size = 25ull << 20;  // octets, announced in EHLO SIZE
    std::uint32_t max_recipients = 100;            // per transaction
    std::uint32_t max_connections = 200;           // per listener set, all clients
    std::uint32_t max_connections_per_ip = 20;
    Seconds idle_timeout{300};                     // no byte received for this long: 421, close
    std::uint64_t max_header_size = 256ull << 10;  // octets of the header block
    // DATA octets a session holds in memory; past them the message goes to the spool's tmp/
    // as it arrives (100 sessions of 10 MB hold 100 x this, not 1 GB).
    std::uint64_t max_data_in_memory = 256ull << 10;
    std::uint32_t max_mime_depth = 32;
    std::uint32_t max_mime_parts = 1000;
    std::uint32_t max_errors = 10;               // 4xx/5xx replies before 421 and close
    std::uint32_t max_nonmail_commands = 50;     // NOOP, RSET, HELP, VRFY… before 421 and close
    std::uint32_t max_command_length = 512;      // octets incl. CRLF (RFC 5321 §4.5.3.1.4)
    std::uint64_t min_free_space = 64ull << 20;  // below this on the spool's disk: 452 at MAIL
    Seconds shutdown_grace{30};  // on SIGTERM, transactions in flight get this long to finish
    std::uint32_t max_thread_keys = 50;     // References ids and subject tags looked up per message
    std::uint32_t max_notices_per_day = 5;  // automatic messages to one address in 24 hours
};

struct Gateway {
    std::string hostname;
    std::vector<Listen> listen;
    std::optional<Tls> tls;
    std::vector<std::string> trusted_authserv_ids;
    std::vector<std::string> secret_files{"var/secret.key"};
    std::string spool;
    std::uint32_t processor_workers = 2;  // threads turning incoming/ into outgoing/; 0 = hold
    std::uint32_t processor_batch = 32;   // messages per store transaction and outgoing/ flush
    Limits limits;
};

struct Store {
    std::optional<std::string> sqlite;      // path of the database file
    std::optional<std::string> postgresql;  // libpq connection string
};

struct Relay {
    std::optional<std::string> url;  // smtp://host:port or smtps://host:port
    StartTls starttls = StartTls::opportunistic;
    std::optional<std::string> username;
    std::optional<std::string> password_file;
    std::uint32_t workers = 4;
    std::vector<Seconds> retry{Seconds{60}, Seconds{300}, Seconds{900}, Seconds{1800},
                               Seconds{3600}};
    Seconds max_queue_lifetime{5 * 24 * 3600};
    Seconds connect_timeout{30};         // until the relay is ready for MAIL (TCP, EHLO, TLS, AUTH)
    Seconds timeout{300};                // the whole SMTP transaction of one message
    std::optional<std::string> maildir;  // instead of url
};

struct Organisation {
    std::string name;
    std::string postal_address;
    std::string language = "fr";  // fr | en
    std::string citizen_domain;
    std::string agent_domain;
    std::string from_format = "{{agent.name}} — {{service.name}}";
    std::string holidays = "fr";  // fr | none
    std::string templates = "templates";
};

struct Service {
    std::string id;
    std::string name;
    std::string address;  // in citizen_domain
    std::string case_prefix;
    Assignment assignment = Assignment::sticky;
    bool acknowledge = true;
    std::uint32_t response_days = 5;  // working days
    std::uint32_t reopen_days = 30;
    std::uint32_t retention_days = 730;
    std::optional<std::string> manager;   // an email address
    std::optional<std::string> fallback;  // an email address
    std::vector<std::string> agents;      // agent ids
};

struct Date {
    int year = 0;
    unsigned month = 0;
    unsigned day = 0;
    friend auto operator<=>(const Date&, const Date&) = default;
};

struct Absence {
    Date from;
    Date to;               // inclusive
    std::string delegate;  // agent id, never the absent agent; "" = none (the service's others)
};

struct Agent {
    std::string id;
    std::string name;
    std::string title;
    std::string email;
    std::vector<std::string> aliases;
    std::string phone;
    std::string hours;
    std::uint32_t max_open_cases = 200;
    bool anonymous = false;
    bool is_public = true;  // YAML key "public"
    std::vector<Absence> absences;
};

enum class LogLevelName { debug, info, warning, error };

struct Ops {
    std::string metrics_listen = "127.0.0.1:9125";  // host:port, "" = disabled
    Seconds deadline_check{900};  // how often referentd looks for reminders and escalations
    LogLevelName log_level = LogLevelName::info;
};

struct Config {
    std::string source_file;  // the file this was loaded from
    Gateway gateway;
    Store store;
    Relay relay;
    Organisation organisation;
    std::vector<Service> services;
    std::vector<Agent> agents;
    Ops ops;

    const Agent* find_agent(const std::string& id) const;
    const Service* find_service(const std::string& id) const;
};

}  // namespace referent::config
