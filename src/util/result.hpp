// util/result.hpp — the typed result of an operation that can fail at run time.
//
// Contract: a Result<T> holds either a value or an Error. An Error is temporary (the caller may
// retry: a full disk, a lost connection) or permanent (retrying cannot help: bad input). The
// edge maps the kind to an SMTP reply class (4xx / 5xx) or to a retry. Bugs are not Results:
// they abort. Results are [[nodiscard]]: ignoring one is a compile error under -Werror.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace referent::util {

enum class ErrorKind { temporary, permanent };

struct Error {
    ErrorKind kind = ErrorKind::permanent;
    std::string message;

    static Error temporary(std::string msg) { return {ErrorKind::temporary, std::move(msg)}; }
    static Error permanent(std::string msg) { return {ErrorKind::permanent, std::move(msg)}; }
    bool is_temporary() const { return kind == ErrorKind::temporary; }
};

// A value or a failure of type E, for the layers that type their failures otherwise
// (mail::MailResult holds a mail::Refusal). Result<T> below is Expected<T, Error>.
template <class T, class E>
class [[nodiscard]] Expected {
public:
    Expected(T value) : v_(std::move(value)) {}
    Expected(E failure) : v_(std::move(failure)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & {
        assert(ok());
        return std::get<0>(v_);
    }
    const T& value() const& {
        assert(ok());
        return std::get<0>(v_);
    }
    T&& value() && {
        assert(ok());
        return std::get<0>(std::move(v_));
    }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    const E& error() const {
        assert(!ok());
        return std::get<1>(v_);
    }

private:
    std::variant<T, E> v_;
};

template <class T>
class [[nodiscard]] Result : public Expected<T, Error> {
public:
    using Expected<T, Error>::Expected;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : error_(std::move(error)), ok_(false) {}

    bool ok() const { return ok_; }
    explicit operator bool() const { return ok_; }
    const Error& error() const {
        assert(!ok_);
        return error_;
    }

private:
    Error error_;
    bool ok_ = true;
};

using Status = Result<void>;

}  // namespace referent::util
