#include "server/tls.hpp"

#include <openssl/err.h>

namespace referent::server {

namespace {

// Asio reports OpenSSL failures as "asio.ssl error"; the operator needs OpenSSL's own reason
// ("No such file or directory", "key values mismatch").
std::string reason(const boost::system::error_code& ec) {
    if (ec.category() != asio::error::get_ssl_category()) return ec.message();
    char buf[256];
    ::ERR_error_string_n(static_cast<unsigned long>(ec.value()), buf, sizeof buf);
    return buf;
}

}  // namespace

util::Result<std::unique_ptr<asio::ssl::context>> make_tls_context(const config::Tls& tls) {
    auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    boost::system::error_code ec;
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                         asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                         asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use,
                     ec);
    ctx->use_certificate_chain_file(tls.certificate, ec);
    if (ec)
        return util::Error::temporary("gateway.tls.certificate " + tls.certificate + ": " +
                                      reason(ec));
    ctx->use_private_key_file(tls.key, asio::ssl::context::pem, ec);
    if (ec) return util::Error::temporary("gateway.tls.key " + tls.key + ": " + reason(ec));
    return ctx;
}

}  // namespace referent::server
