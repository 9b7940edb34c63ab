// server/asio.hpp — the one way to include Boost.Asio in this project.
//
// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility>; including it
// first here keeps every translation unit correct whatever its include order.
#pragma once

#include <utility>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

namespace referent::server {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
}  // namespace referent::server
