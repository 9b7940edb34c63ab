// util/random.hpp — the one place that reads entropy.
//
// Contract: Random::bytes fills a buffer. SystemRandom uses the kernel CSPRNG (getrandom) and is
// thread-safe; it aborts if the kernel cannot supply entropy (a broken host, not a runtime error).
// SequenceRandom is a deterministic test double.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace referent::util {

class Random {
public:
    virtual ~Random() = default;
    virtual void bytes(std::span<std::uint8_t> out) = 0;
};

class SystemRandom final : public Random {
public:
    void bytes(std::span<std::uint8_t> out) override;
};

class SequenceRandom final : public Random {
public:
    void bytes(std::span<std::uint8_t> out) override {
        for (auto& b : out) b = next_++;
    }

private:
    std::uint8_t next_ = 0;
};

}  // namespace referent::util
