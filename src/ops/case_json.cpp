// Cases as JSON: see case_json.hpp.
#include "ops/case_json.hpp"

#include "ops/output.hpp"

namespace referent::ops {

std::string case_json(const cases::Case& c) {
    JsonObject o;
    o.text("number", c.number)
        .text("service", c.service)
        .text("citizen", c.citizen.address)
        .text("citizen_name", c.citizen.name)
        .text("referent", c.referent)
        .text("status", cases::to_string(c.status))
        .text("opened", instant_text(c.opened))
        .text("due", day_text(c.due));
    if (c.closed)
        o.text("closed", instant_text(*c.closed));
    else
        o.null("closed");
    return o.str();
}

std::string referents_json(const std::vector<cases::ReferentPeriod>& periods) {
    std::vector<std::string> out;
    for (const auto& r : periods) {
        JsonObject o;
        o.text("agent", r.agent).text("from", instant_text(r.from)).text("reason", r.reason);
        if (r.to)
            o.text("to", instant_text(*r.to));
        else
            o.null("to");
        out.push_back(o.str());
    }
    return json_array(out);
}

std::string events_json(const std::vector<cases::Event>& events) {
    std::vector<std::string> out;
    for (const auto& e : events)
        out.push_back(JsonObject()
                          .text("at", instant_text(e.at))
                          .text("kind", e.kind)
                          .text("detail", e.detail)
                          .str());
    return json_array(out);
}

}  // namespace referent::ops
