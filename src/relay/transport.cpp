#include "relay/transport.hpp"

#include "relay/curl_transport.hpp"
#include "relay/maildir_transport.hpp"
#include "util/clock.hpp"

namespace referent::relay {

const char* to_string(Outcome o) {
    switch (o) {
        case Outcome::delivered:
            return "delivered";
        case Outcome::temporary:
            return "temporary";
        case Outcome::permanent:
            return "permanent";
    }
    return "unknown";
}

util::Result<std::unique_ptr<Transport>> make_transport(const config::Relay& relay,
                                                        const std::string& hostname) {
    static const util::SystemClock clock;  // stateless, so shared by every worker
    if (relay.maildir) return make_maildir_transport(*relay.maildir, hostname, clock);
    if (relay.url) return make_curl_transport(relay, hostname);
    return util::Error::permanent("relay: neither url nor maildir is configured");
}

}  // namespace referent::relay
