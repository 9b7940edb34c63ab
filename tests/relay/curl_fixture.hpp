// tests/relay/curl_fixture.hpp — what the CurlTransport tests share: a letter with the lines
// that test dot-stuffing and 8-bit text, and transports aimed at a scripted SmtpServer.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "relay/curl_transport.hpp"
#include "relay/transport.hpp"
#include "smtp_server.hpp"

namespace referent::relay::test {

inline const std::string kHostname = "gw.example.fr";
inline const std::string kFrom = "anne@staff.example.fr";
inline const std::string kRcpt = "citoyen@example.net";
inline const std::string kLetter =
    "From: Anne <anne@staff.example.fr>\r\n"
    "To: <citoyen@example.net>\r\n"
    "Subject: =?UTF-8?Q?Votre_demande_d=E2=80=99acte?=\r\n"
    "Content-Type: text/plain; charset=UTF-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    ".Une ligne qui commence par un point\r\n"
    ".\r\n"
    "..\r\n"
    "Bonjour Hélène, ça va ? — 日本語 ✓\r\n";

inline OutboundMessage message(std::string bytes = kLetter, std::string from = kFrom) {
    return {"q1", std::move(from), kRcpt, std::move(bytes)};
}

inline config::Relay relay_for(const SmtpServer& server,
                               config::StartTls starttls = config::StartTls::opportunistic) {
    config::Relay r;
    r.url = server.url();
    r.starttls = starttls;
    r.connect_timeout = std::chrono::seconds{5};
    r.timeout = std::chrono::seconds{
        10};  // never reached by a passing test: it only keeps a failing one short
    return r;
}

inline std::unique_ptr<Transport> make(const config::Relay& relay) {
    auto t = make_transport(relay, kHostname);
    EXPECT_TRUE(t.ok()) << t.error().message;
    return t.ok() ? std::move(t).value() : nullptr;
}

// A transport that trusts the test certificate, to reach `url`.
inline std::unique_ptr<Transport> make_trusting(const TestCertificate& cert, const std::string& url,
                                                config::StartTls starttls) {
    config::Relay relay;
    relay.url = url;
    relay.starttls = starttls;
    relay.timeout = std::chrono::seconds{10};
    auto settings = curl_settings(relay, kHostname);
    EXPECT_TRUE(settings.ok());
    settings->ca_file = cert.cert_file();
    auto t = CurlTransport::create(std::move(settings).value());
    EXPECT_TRUE(t.ok());
    return t.ok() ? std::unique_ptr<Transport>(std::move(t).value()) : nullptr;
}

inline bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

}  // namespace referent::relay::test
