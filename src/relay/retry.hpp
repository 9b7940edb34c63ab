// relay/retry.hpp — when a deferred delivery is tried again.
//
// Contract: next_attempt() gives the delay before attempt number `attempts + 1` after
// `attempts` failed ones: relay.retry[attempts - 1], the last interval repeating once the list
// is exhausted, each with a random jitter of up to ±10% (so a relay coming back is not hit by
// the whole queue at once). It returns nullopt when the item would then be older than
// relay.max_queue_lifetime: the caller fails it. Pure but for the injected Random.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "config/config.hpp"
#include "util/random.hpp"

namespace referent::relay {

std::optional<std::chrono::seconds> next_attempt(const config::Relay& relay,
                                                 std::uint32_t attempts,
                                                 std::chrono::seconds age, util::Random& random);

}  // namespace referent::relay
