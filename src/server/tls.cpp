#include "server/tls.hpp"

namespace referent::server {

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
                                      ec.message());
    ctx->use_private_key_file(tls.key, asio::ssl::context::pem, ec);
    if (ec) return util::Error::temporary("gateway.tls.key " + tls.key + ": " + ec.message());
    return ctx;
}

}  // namespace referent::server
