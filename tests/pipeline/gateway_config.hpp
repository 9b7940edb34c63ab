// The configuration the pipeline tests share: one gateway, one service (etat-civil, prefix EC)
// with one agent (helene), the repository's templates. Tests change what they are about.
#pragma once

#include <memory>

#include "config/config.hpp"

namespace referent::test {

inline std::shared_ptr<config::Config> gateway_config() {
    auto c = std::make_shared<config::Config>();
    c->gateway.hostname = "gw.mairie.example.fr";
    c->organisation.name = "Mairie de Villeneuve-Exemple";
    c->organisation.citizen_domain = "mairie.example.fr";
    c->organisation.agent_domain = "reponse.mairie.example.fr";
    c->organisation.templates = REFERENT_SOURCE_DIR "/templates";
    config::Service s;
    s.id = "etat-civil";
    s.name = "État civil";
    s.address = "etat-civil@mairie.example.fr";
    s.case_prefix = "EC";
    s.agents = {"helene"};
    c->services = {s};
    config::Agent a;
    a.id = "helene";
    a.name = "Hélène Lefèvre";
    a.email = "helene@agents.example.fr";
    c->agents = {a};
    return c;
}

}  // namespace referent::test
