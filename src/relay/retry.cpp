#include "relay/retry.hpp"

#include <algorithm>
#include <array>
#include <cstddef>

namespace referent::relay {

namespace {

std::uint64_t draw(util::Random& random) {
    std::array<std::uint8_t, 8> b{};
    random.bytes(b);
    std::uint64_t x = 0;
    for (std::uint8_t octet : b) x = (x << 8) | octet;
    return x;
}

// base ± base/10, uniform over the whole seconds in between (the modulo bias of a 64-bit draw
// over at most a few million values is negligible). Below 10s there is nothing to spread.
std::chrono::seconds jittered(std::chrono::seconds base, util::Random& random) {
    const std::int64_t span = base.count() / 10;
    if (span <= 0) return base;
    const auto width = static_cast<std::uint64_t>(2 * span + 1);
    const auto offset = static_cast<std::int64_t>(draw(random) % width) - span;
    return base + std::chrono::seconds{offset};
}

}  // namespace

std::optional<std::chrono::seconds> next_attempt(const config::Relay& relay, std::uint32_t attempts,
                                                 std::chrono::seconds age, util::Random& random) {
    if (relay.retry.empty()) return std::nullopt;  // load() never yields one; a struct may
    // attempts 0 (nothing failed yet) is read as 1: the first interval.
    const std::size_t index =
        std::min<std::size_t>(attempts == 0 ? 0 : attempts - 1, relay.retry.size() - 1);
    const std::chrono::seconds delay = jittered(relay.retry[index], random);
    if (age + delay > relay.max_queue_lifetime) return std::nullopt;
    return delay;
}

}  // namespace referent::relay
