// The public directory: services with their address and their public, named referents (title,
// phone, hours, never the agent's own address); anonymous and non-public agents left out; every
// text escaped in the HTML and the JSON; the page's accessibility skeleton; the command's files
// and exit codes.
#include "ops/directory.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "spool/temp_dir.hpp"

namespace {

using referent::ops::render_directory;

referent::config::Config sample() {
    referent::config::Config c;
    c.organisation.name = "Mairie de Saint-<Exemple> & Co";
    c.organisation.language = "fr";
    referent::config::Service s;
    s.id = "etat-civil";
    s.name = "État civil";
    s.address = "etat-civil@mairie.example.fr";
    s.agents = {"helene", "anon", "hidden"};
    referent::config::Service t = s;
    t.id = "urbanisme";
    t.name = "Urbanisme";
    t.address = "urbanisme@mairie.example.fr";
    t.agents = {"anon"};
    c.services = {s, t};
    referent::config::Agent a;
    a.id = "helene";
    a.name = "Hélène \"Lena\" Lefèvre";
    a.title = "Officière d'état civil";
    a.email = "helene.private@agents.example.fr";
    a.phone = "+33 1 23 45 67 89";
    a.hours = "du lundi au vendredi, 9 h – 12 h";
    referent::config::Agent anon = a;
    anon.id = "anon";
    anon.name = "Anonyme Agent";
    anon.email = "anon@agents.example.fr";
    anon.anonymous = true;
    referent::config::Agent hidden = a;
    hidden.id = "hidden";
    hidden.name = "Caché Agent";
    hidden.email = "hidden@agents.example.fr";
    hidden.is_public = false;
    c.agents = {a, anon, hidden};
    return c;
}

TEST(Directory, ListsPublicNamedReferentsEscapedAndAccessible) {
    const auto d = render_directory(sample());
    const std::string& h = d.html;
    EXPECT_TRUE(h.starts_with("<!DOCTYPE html>\n<html lang=\"fr\">")) << h.substr(0, 40);
    EXPECT_NE(h.find("<meta charset=\"utf-8\">"), std::string::npos);
    EXPECT_NE(h.find("<title>Qui traite votre demande — Mairie de Saint-&lt;Exemple&gt; &amp; "
                     "Co</title>"),
              std::string::npos);
    EXPECT_NE(h.find("<h2 id=\"s-etat-civil\">État civil</h2>"), std::string::npos);
    EXPECT_NE(h.find("<caption>État civil</caption>"), std::string::npos);
    EXPECT_NE(h.find("<th scope=\"col\">Téléphone</th>"), std::string::npos);
    EXPECT_NE(h.find("<th scope=\"row\">Hélène &quot;Lena&quot; Lefèvre</th>"), std::string::npos);
    EXPECT_NE(h.find("<a href=\"tel:+33 1 23 45 67 89\">"), std::string::npos);
    EXPECT_NE(h.find("mailto:etat-civil@mairie.example.fr"), std::string::npos);
    // Urbanisme has only an anonymous agent: the team answers.
    EXPECT_NE(h.find("Les demandes sont traitées par l'équipe du service."), std::string::npos);
    for (const char* never : {"helene.private", "Anonyme", "Caché", "anon@", "hidden@"}) {
        EXPECT_EQ(h.find(never), std::string::npos) << never;
        EXPECT_EQ(d.json.find(never), std::string::npos) << never;
    }
    EXPECT_EQ(d.json,
              "{\"organisation\": \"Mairie de Saint-<Exemple> & Co\", \"services\": [{\"id\": "
              "\"etat-civil\", \"name\": \"État civil\", \"address\": "
              "\"etat-civil@mairie.example.fr\", \"referents\": [{\"name\": \"Hélène \\\"Lena\\\" "
              "Lefèvre\", \"title\": \"Officière d'état civil\", \"phone\": \"+33 1 23 45 67 89\", "
              "\"hours\": \"du lundi au vendredi, 9 h – 12 h\"}]}, {\"id\": \"urbanisme\", "
              "\"name\": \"Urbanisme\", \"address\": \"urbanisme@mairie.example.fr\", "
              "\"referents\": []}]}\n");
}

TEST(Directory, EnglishPagesSayItInEnglish) {
    auto c = sample();
    c.organisation.language = "en";
    const auto d = render_directory(c);
    EXPECT_TRUE(d.html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    EXPECT_NE(d.html.find("Who handles your request"), std::string::npos);
    EXPECT_NE(d.html.find("Write to the service:"), std::string::npos);
}

TEST(Directory, CommandWritesBothFilesAndRefusesBadUse) {
    referent::test::TempDir dir;
    std::ostringstream out, err;
    const std::string config = REFERENT_SOURCE_DIR "/config/referent.yaml";
    EXPECT_EQ(referent::ops::directory_command(config, {}, out, err), 2);
    EXPECT_EQ(referent::ops::directory_command(config, {"--out"}, out, err), 2);
    EXPECT_EQ(referent::ops::directory_command(config, {"--help"}, out, err), 0);
    const int rc = referent::ops::directory_command(
        config, {"--out", (dir.path() / "pub").string()}, out, err);
    ASSERT_EQ(rc, 0) << err.str();
    EXPECT_TRUE(std::filesystem::exists(dir.path() / "pub" / "index.html"));
    EXPECT_TRUE(std::filesystem::exists(dir.path() / "pub" / "directory.json"));
    EXPECT_NE(referent::test::read_bytes(dir.path() / "pub" / "index.html").find("Hélène Lefèvre"),
              std::string::npos);
    // A file where the directory should be: cannot write.
    referent::test::write_bytes(dir.path() / "file", "x");
    const int bad = referent::ops::directory_command(
        config, {"--out", (dir.path() / "file").string()}, out, err);
    EXPECT_EQ(bad, 1);
}

}  // namespace
