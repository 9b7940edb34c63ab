// server/tls.hpp — the TLS server context for STARTTLS.
//
// Contract: make_tls_context() loads the certificate chain and key named in gateway.tls and
// returns a context allowing TLS 1.2 and later only, or a temporary Error naming the file and
// OpenSSL's reason (an unreadable file is an environment problem: exit 1).
#pragma once

#include <memory>

#include "config/config.hpp"
#include "server/asio.hpp"
#include "util/result.hpp"

namespace referent::server {

util::Result<std::unique_ptr<asio::ssl::context>> make_tls_context(const config::Tls& tls);

}  // namespace referent::server
