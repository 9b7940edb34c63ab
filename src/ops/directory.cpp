// The public directory: see directory.hpp.
#include "ops/directory.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "config/load.hpp"
#include "ops/output.hpp"
#include "ops/session.hpp"
#include "util/html.hpp"

namespace referent::ops {

namespace {

constexpr const char* usage =
    "usage: referentctl directory --out DIR [--json]\n"
    "  write DIR/index.html and DIR/directory.json: the services and their public referents\n"
    "  (name, title, phone, hours), to publish\n";

std::string esc(std::string_view s) {
    return util::html_escape(s);
}

std::vector<const config::Agent*> published(const config::Config& c, const config::Service& s) {
    std::vector<const config::Agent*> out;
    for (const std::string& id : s.agents)
        if (const config::Agent* a = c.find_agent(id); a && a->is_public && !a->anonymous)
            out.push_back(a);
    return out;
}

struct Words {
    const char* title;
    const char* intro;
    const char* write_to;
    const char* name;
    const char* role;
    const char* phone;
    const char* hours;
    const char* none;
};

const Words fr{"Qui traite votre demande",
               "Chaque demande écrite à un service est suivie par une personne nommée, votre "
               "référent, qui vous répond directement.",
               "Écrire au service :",
               "Nom",
               "Fonction",
               "Téléphone",
               "Horaires",
               "Les demandes sont traitées par l'équipe du service."};
const Words en{"Who handles your request",
               "Every request written to a service is followed by one named person, your "
               "referent, who answers you directly.",
               "Write to the service:",
               "Name",
               "Title",
               "Phone",
               "Hours",
               "Requests are handled by the service's team."};

}  // namespace

Directory render_directory(const config::Config& c) {
    const Words& w = c.organisation.language == "en" ? en : fr;
    Directory d;
    std::string& h = d.html;
    h = "<!DOCTYPE html>\n<html lang=\"" + esc(c.organisation.language) +
        "\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>" +
        esc(w.title) + " — " + esc(c.organisation.name) +
        "</title>\n<style>\nbody{font-family:sans-serif;max-width:60rem;margin:auto;padding:1rem;"
        "line-height:1.5}\ntable{border-collapse:collapse;width:100%}\nth,td{text-align:left;"
        "padding:.4rem;border-bottom:1px solid #555}\ncaption{text-align:left;font-weight:bold}\n"
        "</style>\n</head>\n<body>\n<main>\n<h1>" +
        esc(w.title) + " — " + esc(c.organisation.name) + "</h1>\n<p>" + esc(w.intro) + "</p>\n";
    std::vector<std::string> services;
    for (const config::Service& s : c.services) {
        const auto agents = published(c, s);
        h += "<section aria-labelledby=\"s-" + esc(s.id) + "\">\n<h2 id=\"s-" + esc(s.id) + "\">" +
             esc(s.name) + "</h2>\n<p>" + esc(w.write_to) + " <a href=\"mailto:" + esc(s.address) +
             "\">" + esc(s.address) + "</a></p>\n";
        std::vector<std::string> people;
        if (agents.empty()) {
            h += "<p>" + esc(w.none) + "</p>\n";
        } else {
            h += "<table>\n<caption>" + esc(s.name) + "</caption>\n<thead><tr><th scope=\"col\">" +
                 esc(w.name) + "</th><th scope=\"col\">" + esc(w.role) + "</th><th scope=\"col\">" +
                 esc(w.phone) + "</th><th scope=\"col\">" + esc(w.hours) +
                 "</th></tr></thead>\n<tbody>\n";
            for (const config::Agent* a : agents) {
                h += "<tr><th scope=\"row\">" + esc(a->name) + "</th><td>" + esc(a->title) +
                     "</td><td>" +
                     (a->phone.empty()
                          ? std::string()
                          : "<a href=\"tel:" + esc(a->phone) + "\">" + esc(a->phone) + "</a>") +
                     "</td><td>" + esc(a->hours) + "</td></tr>\n";
                people.push_back(JsonObject()
                                     .text("name", a->name)
                                     .text("title", a->title)
                                     .text("phone", a->phone)
                                     .text("hours", a->hours)
                                     .str());
            }
            h += "</tbody>\n</table>\n";
        }
        h += "</section>\n";
        services.push_back(JsonObject()
                               .text("id", s.id)
                               .text("name", s.name)
                               .text("address", s.address)
                               .raw("referents", json_array(people))
                               .str());
    }
    h += "</main>\n</body>\n</html>\n";
    d.json = JsonObject()
                 .text("organisation", c.organisation.name)
                 .raw("services", json_array(services))
                 .str() +
             "\n";
    return d;
}

int directory_command(const std::string& config_path, const std::vector<std::string>& args,
                      std::ostream& out, std::ostream& err) {
    Args a = Args::parse(args, {"--json"}, {"--out"});
    if (a.has("--help")) return out << usage, 0;
    if (!a.error.empty() || !a.positional.empty() || !a.option("--out")) {
        err << "referentctl: directory: " << (a.error.empty() ? "want --out DIR" : a.error) << '\n'
            << usage;
        return 2;
    }
    // Only the YAML matters here: no store, no templates, no keys.
    const config::LoadResult loaded = config::load_file(config_path);
    if (!loaded.ok()) {
        for (const auto& p : loaded.diagnostics()) err << p.to_string() << '\n';
        return 2;
    }
    const Directory d = render_directory(loaded.config());
    const std::filesystem::path dir = *a.option("--out");
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    for (const auto& [name, text] :
         {std::pair{"index.html", &d.html}, std::pair{"directory.json", &d.json}}) {
        const std::filesystem::path tmp = dir / (std::string(".") + name + ".tmp");
        std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
        f << *text;
        f.close();
        if (!f || (std::filesystem::rename(tmp, dir / name, ec), ec)) {
            err << "referentctl: directory: cannot write " << (dir / name).string() << '\n';
            std::filesystem::remove(tmp, ec);
            return 1;
        }
    }
    if (a.has("--json"))
        return out << JsonObject()
                          .text("html", (dir / "index.html").string())
                          .text("json", (dir / "directory.json").string())
                          .str()
                   << '\n',
               0;
    out << (dir / "index.html").string() << "\n" << (dir / "directory.json").string() << '\n';
    return 0;
}

}  // namespace referent::ops
