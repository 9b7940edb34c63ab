// util/clock.hpp — the one place that reads the wall clock.
//
// Contract: code that needs "now" takes a Clock&; tests pass a ManualClock and never sleep.
// SystemClock is thread-safe; ManualClock is for single-threaded tests.
#pragma once

#include <chrono>

namespace referent::util {

class Clock {
public:
    using time_point = std::chrono::system_clock::time_point;
    virtual ~Clock() = default;
    virtual time_point now() const = 0;
};

class SystemClock final : public Clock {
public:
    time_point now() const override { return std::chrono::system_clock::now(); }
};

class ManualClock final : public Clock {
public:
    explicit ManualClock(time_point t) : t_(t) {}
    time_point now() const override { return t_; }
    void advance(std::chrono::system_clock::duration d) { t_ += d; }
    void set(time_point t) { t_ = t; }

private:
    time_point t_;
};

}  // namespace referent::util
