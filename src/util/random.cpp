#include "util/random.hpp"

#include <sys/random.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace referent::util {

void SystemRandom::bytes(std::span<std::uint8_t> out) {
    std::size_t done = 0;
    while (done < out.size()) {
        ssize_t n = ::getrandom(out.data() + done, out.size() - done, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            std::fprintf(stderr, "fatal: getrandom failed\n");
            std::abort();
        }
        done += static_cast<std::size_t>(n);
    }
}

}  // namespace referent::util
