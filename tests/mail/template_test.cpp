// The repository's templates, both languages: what each rendering says, escaping, anonymity.
#include "mail/template.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "config/load.hpp"
#include "mail/banner_marker.hpp"
#include "mail/template_fixture.hpp"

namespace referent::mail {
namespace {

using test::repository_organisation;

TemplateSet load_repository(const std::string& language) {
    auto set = TemplateSet::load(repository_organisation(language));
    if (!set.ok()) {
        ADD_FAILURE() << set.error().message;
        std::abort();
    }
    return std::move(set).value();
}

struct Rendering {
    std::string text, html, subject;
};

Rendering render_all(const TemplateSet& set, TemplateName name, const TemplateContext& ctx) {
    return {set.text(name, ctx), set.html(name, ctx),
            has_subject(name) ? set.subject(name, ctx) : std::string()};
}

bool has(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

// got/want: each template, each language, the strings its text and HTML must both carry.
struct Want {
    std::string language;
    TemplateName name;
    std::vector<std::string> in_both;
};

const std::vector<Want>& wants() {
    static const std::vector<Want> table{
        {"fr",
         TemplateName::signature,
         {"Jeanne Martin-Lefèvre", "Officière", "Service État civil", "+33 1 23 45 67 89",
          "etat-civil+c42@mairie-exemple.fr", "du lundi au vendredi, de 9 h à 12 h",
          "1 place de la République", "EC-2026-000042"}},
        {"fr",
         TemplateName::forward_banner,
         {"EC-2026-000042", "Paul Durand", "paul.durand@example.org", "2 mars 2026", "9 mars 2026",
          "2 messages antérieurs", "sous votre nom", "#interne"}},
        {"fr",
         TemplateName::acknowledgement,
         {"EC-2026-000042", "2 mars 2026", "9 mars 2026", "Jeanne Martin-Lefèvre",
          "Demande d’acte de naissance", "etat-civil@mairie-exemple.fr", "+33 1 23 45 67 00",
          "1 place de la République, 99000 Villeneuve-Exemple", "112-3", "112-11",
          "code des relations entre le public"}},
        {"fr",
         TemplateName::handover,
         {"EC-2026-000042", "nouvelle répartition", "Jeanne Martin-Lefèvre", "9 mars 2026"}},
        {"fr",
         TemplateName::absence,
         {"EC-2026-000042", "Jeanne Martin-Lefèvre", "20 mars 2026", "Karim Benali",
          "+33 1 23 45 67 90", "9 mars 2026"}},
        {"fr",
         TemplateName::delivery_failure,
         {"EC-2026-000042", "paul.durand@example.org", "5.1.1", "user unknown"}},
        {"fr", TemplateName::reminder, {"EC-2026-000042", "9 mars 2026", "sous votre nom"}},
        {"fr",
         TemplateName::escalation,
         {"EC-2026-000042", "9 mars 2026", "Jeanne Martin-Lefèvre", "Service État civil"}},
        {"en",
         TemplateName::signature,
         {"Jeanne Martin-Lefèvre", "Service État civil", "+33 1 23 45 67 89",
          "etat-civil+c42@mairie-exemple.fr", "1 place de la République", "EC-2026-000042"}},
        {"en",
         TemplateName::forward_banner,
         {"EC-2026-000042", "Paul Durand", "2 March 2026", "9 March 2026", "2 earlier messages",
          "under your name", "#internal"}},
        {"en",
         TemplateName::acknowledgement,
         {"EC-2026-000042", "2 March 2026", "9 March 2026", "etat-civil@mairie-exemple.fr",
          "+33 1 23 45 67 00", "112-3", "112-11"}},
        {"en", TemplateName::handover, {"EC-2026-000042", "new distribution"}},
        {"en", TemplateName::absence, {"20 March 2026", "Karim Benali"}},
        {"en", TemplateName::delivery_failure, {"paul.durand@example.org", "5.1.1"}},
        {"en", TemplateName::reminder, {"9 March 2026"}},
        {"en", TemplateName::escalation, {"9 March 2026", "Jeanne Martin-Lefèvre"}},
    };
    return table;
}

TEST(TemplateSetTest, LoadsBothLanguagesOfTheRepository) {
    for (const std::string language : {"fr", "en"}) {
        auto set = TemplateSet::load(repository_organisation(language));
        ASSERT_TRUE(set.ok()) << set.error().message;
        EXPECT_EQ(set->language(), language);
    }
}

TEST(TemplateSetTest, LoadsWithTheExampleConfiguration) {
    // config/referent.yaml is what script/server runs: its from_format must pass the checks.
    auto loaded = config::load_file(REFERENT_SOURCE_DIR "/config/referent.yaml");
    ASSERT_TRUE(loaded.ok());
    auto org = loaded.config().organisation;
    org.templates = (std::filesystem::path(REFERENT_SOURCE_DIR) / org.templates).string();
    auto set = TemplateSet::load(org);
    ASSERT_TRUE(set.ok()) << set.error().message;
    EXPECT_EQ(set->display_name(sample_context(org.language, Sample::full)),
              "Jeanne Martin-Lefèvre — Service État civil");
}

TEST(TemplateSetTest, EachTemplateSaysWhatItMust) {
    for (const auto& want : wants()) {
        const auto set = load_repository(want.language);
        const auto ctx = sample_context(want.language, Sample::full);
        const auto got = render_all(set, want.name, ctx);
        for (const auto& s : want.in_both) {
            EXPECT_TRUE(has(got.text, s)) << want.language << " " << template_stem(want.name)
                                          << " text lacks \"" << s << "\":\n"
                                          << got.text;
            EXPECT_TRUE(has(got.html, s)) << want.language << " " << template_stem(want.name)
                                          << " html lacks \"" << s << "\":\n"
                                          << got.html;
        }
    }
}

TEST(TemplateSetTest, SubjectsAreOneLineWithoutTheCaseTag) {
    for (const std::string language : {"fr", "en"}) {
        const auto set = load_repository(language);
        const auto ctx = sample_context(language, Sample::full);
        for (const auto name : all_template_names) {
            if (!has_subject(name)) continue;
            const auto subject = set.subject(name, ctx);
            EXPECT_FALSE(subject.empty());
            EXPECT_EQ(subject.find_first_of("\r\n\t"), std::string::npos) << subject;
            EXPECT_FALSE(has(subject, "[EC-")) << subject;
        }
    }
    const auto fr = load_repository("fr");
    EXPECT_EQ(fr.subject(TemplateName::acknowledgement, sample_context("fr", Sample::full)),
              "Accusé de réception\u00a0: Demande d’acte de naissance");
}

TEST(TemplateSetTest, ForwardBannerCarriesItsMarkers) {
    for (const std::string language : {"fr", "en"}) {
        const auto set = load_repository(language);
        const auto ctx = sample_context(language, Sample::full);
        const auto text = set.text(TemplateName::forward_banner, ctx);
        EXPECT_EQ(text.rfind(banner_begin("EC-2026-000042") + "\n", 0), 0u) << text;
        EXPECT_TRUE(has(text, "\n" + banner_end("EC-2026-000042") + "\n")) << text;
        const auto html = set.html(TemplateName::forward_banner, ctx);
        EXPECT_EQ(html.rfind("<div id=\"referent-banner\"", 0), 0u) << html;
        EXPECT_TRUE(has(html, banner_begin("EC-2026-000042")));
        EXPECT_TRUE(has(html, banner_end("EC-2026-000042")));
    }
}

TEST(TemplateSetTest, SignatureTextIsACardAfterTheSignatureDelimiter) {
    const auto set = load_repository("fr");
    const auto text = set.text(TemplateName::signature, sample_context("fr", Sample::full));
    EXPECT_EQ(text,
              "-- \n"
              "Jeanne Martin-Lefèvre\n"
              "Officière d’état civil\n"
              "Service État civil\n"
              "Mairie de Villeneuve-Exemple\n"
              "Téléphone\u00a0: +33 1 23 45 67 89\n"
              "Courriel\u00a0: etat-civil+c42@mairie-exemple.fr\n"
              "Horaires\u00a0: du lundi au vendredi, de 9 h à 12 h\n"
              "Adresse\u00a0: 1 place de la République, 99000 Villeneuve-Exemple\n"
              "Référence du dossier\u00a0: EC-2026-000042\n");
}

TEST(TemplateSetTest, HtmlIsAccessibleAndSelfContained) {
    for (const std::string language : {"fr", "en"}) {
        const auto set = load_repository(language);
        const auto ctx = sample_context(language, Sample::full);
        for (const auto name : all_template_names) {
            const auto html = set.html(name, ctx);
            const bool fragment =
                name == TemplateName::signature || name == TemplateName::forward_banner;
            const auto lang = "lang=\"" + language + "\"";
            EXPECT_TRUE(has(html, lang)) << template_stem(name);
            if (!fragment) {
                EXPECT_EQ(html.rfind("<!DOCTYPE html>\n<html " + lang + ">", 0), 0u);
                EXPECT_TRUE(has(html, "<meta charset=\"utf-8\">"));
                EXPECT_TRUE(has(html, "<main"));
            } else {
                EXPECT_FALSE(has(html, "<html")) << template_stem(name);
                EXPECT_FALSE(has(html, "<body")) << template_stem(name);
            }
            for (const char* external : {"src=", "<link", "url(", "http:", "https:", "<script"})
                EXPECT_FALSE(has(html, external)) << template_stem(name) << ": " << external;
        }
    }
}

TemplateContext hostile_context() {
    auto ctx = sample_context("fr", Sample::full);
    ctx.agent.name = "Jo \"Le Grand\" O'Brien <script>alert(1)</script> & Cie";
    ctx.case_->citizen.name = "<b>Paul</b>";
    return ctx;
}

TEST(TemplateSetTest, HtmlEscapesValuesAndTextDoesNot) {
    const auto set = load_repository("fr");
    const auto ctx = hostile_context();
    for (const auto name : {TemplateName::signature, TemplateName::acknowledgement,
                            TemplateName::absence, TemplateName::escalation}) {
        const auto html = set.html(name, ctx);
        EXPECT_FALSE(has(html, "<script>")) << template_stem(name);
        EXPECT_TRUE(has(html,
                        "Jo &quot;Le Grand&quot; O&apos;Brien &lt;script&gt;alert(1)"
                        "&lt;/script&gt; &amp; Cie"))
            << template_stem(name) << ":\n"
            << html;
        const auto text = set.text(name, ctx);
        EXPECT_TRUE(has(text, ctx.agent.name)) << template_stem(name) << ":\n" << text;
        EXPECT_FALSE(has(text, "&quot;") || has(text, "&lt;") || has(text, "&amp;"));
    }
    const auto banner = set.html(TemplateName::forward_banner, ctx);
    EXPECT_TRUE(has(banner, "&lt;b&gt;Paul&lt;/b&gt; &lt;paul.durand@example.org&gt;"));
    EXPECT_TRUE(
        has(set.text(TemplateName::forward_banner, ctx), "<b>Paul</b> <paul.durand@example.org>"));
}

TEST(TemplateSetTest, AnonymousAgentNameAppearsNowhere) {
    for (const std::string language : {"fr", "en"}) {
        const auto set = load_repository(language);
        auto ctx = sample_context(language, Sample::full);
        ctx.agent.anonymous = true;
        ctx.agent.email = "jeanne.martin@mairie-exemple.fr";  // a personal mailbox, by mistake
        ctx.absence->delegate->anonymous = true;
        for (const auto name : all_template_names) {
            const auto got = render_all(set, name, ctx);
            for (const auto* out : {&got.text, &got.html, &got.subject}) {
                for (const char* personal :
                     {"Jeanne", "Martin", "Officière", "Karim", "Benali", "jeanne.martin"}) {
                    EXPECT_FALSE(has(*out, personal))
                        << language << " " << template_stem(name) << " shows " << personal << ":\n"
                        << *out;
                }
            }
            const bool to_agent = name == TemplateName::delivery_failure ||
                                  name == TemplateName::reminder ||
                                  name == TemplateName::reply_refused;
            if (!to_agent) {  // to a citizen or a manager: the service speaks
                EXPECT_TRUE(has(got.text + got.html, "Service État civil")) << template_stem(name);
            }
        }
        EXPECT_EQ(set.display_name(ctx), "Service État civil");
    }
}

TEST(TemplateSetTest, AnonymousSignatureIsTheServiceCard) {
    const auto set = load_repository("fr");
    const auto text = set.text(TemplateName::signature, sample_context("fr", Sample::anonymous));
    EXPECT_EQ(text,
              "-- \n"
              "Service État civil\n"
              "Mairie de Villeneuve-Exemple\n"
              "Courriel\u00a0: etat-civil@mairie-exemple.fr\n"
              "Adresse\u00a0: 1 place de la République, 99000 Villeneuve-Exemple\n"
              "Référence du dossier\u00a0: EC-2026-000042\n");
}

TEST(TemplateSetTest, DisplayNameFollowsFromFormatOnOneLine) {
    const auto set = load_repository("fr");
    auto ctx = sample_context("fr", Sample::full);
    EXPECT_EQ(set.display_name(ctx), "Jeanne Martin-Lefèvre — Service État civil");
    ctx.agent.name = std::string("Jeanne\r\nBcc: x@example.net\t\0\x1F", 29);
    EXPECT_EQ(set.display_name(ctx), "Jeanne Bcc: x@example.net — Service État civil");
    ctx.case_->subject = "Acte\r\n  de naissance";
    EXPECT_EQ(set.subject(TemplateName::acknowledgement, ctx),
              "Accusé de réception\u00a0: Acte de naissance");
}

TEST(TemplateSetTest, ValuesAreInsertedVerbatimInText) {
    // Dot-stuffing and CRLF happen at send time (vectors E6, H4): nothing here touches them.
    const auto set = load_repository("en");
    auto ctx = sample_context("en", Sample::full);
    ctx.failure->diagnostic = std::string("550 rejected\r\n.\r\nQUIT\r\n\0", 24);
    const auto text = set.text(TemplateName::delivery_failure, ctx);
    EXPECT_TRUE(has(text, "diagnostic: 550 rejected\r\n.\r\nQUIT\r\n\n")) << text;
}

TEST(TemplateSetTest, FrenchPunctuationTakesANoBreakSpace) {
    const auto set = load_repository("fr");
    const auto ctx = sample_context("fr", Sample::full);
    for (const auto name : all_template_names) {
        for (const auto& out : {set.text(name, ctx), set.html(name, ctx)}) {
            for (const char* bad : {" :", " ;", " ?", " !", "« ", " »"})
                EXPECT_FALSE(has(out, bad)) << template_stem(name) << " has \"" << bad << "\"";
        }
    }
}

TEST(TemplateSetTest, RenderingWithoutARequiredPartIsABug) {
    const auto set = load_repository("fr");
    auto ctx = sample_context("fr", Sample::full);
    ctx.case_.reset();
    EXPECT_FALSE(set.text(TemplateName::signature, ctx).empty());  // the case is optional there
    EXPECT_FALSE(has(set.text(TemplateName::signature, ctx), "dossier"));
    EXPECT_DEATH((void)set.text(TemplateName::acknowledgement, ctx), "");
    ctx = sample_context("fr", Sample::full);
    ctx.absence.reset();
    EXPECT_DEATH((void)set.html(TemplateName::absence, ctx), "");
}

TEST(TemplateContextTest, FormatsDates) {
    EXPECT_EQ(format_date({2026, 3, 1}, "fr"), "1er mars 2026");
    EXPECT_EQ(format_date({2026, 8, 15}, "fr"), "15 août 2026");
    EXPECT_EQ(format_date({2026, 12, 1}, "en"), "1 December 2026");
    EXPECT_EQ(format_date({2026, 3, 9}, "de"), "2026-03-09");
    EXPECT_EQ(format_date({2026, 13, 9}, "fr"), "2026-13-09");
}

TEST(TemplateContextTest, MakesACardFromConfiguration) {
    config::Agent agent;
    agent.name = "Jeanne Martin";
    agent.title = "Officière d’état civil";
    agent.email = "jeanne.martin@interne.example";
    agent.phone = "+33 1 23 45 67 89";
    agent.hours = "le matin";
    agent.anonymous = true;
    config::Service service;
    service.name = "Service État civil";
    config::Organisation org;
    org.postal_address = "1 place de la République";
    const auto card = make_card(agent, service, org, "etat-civil+c42@example.fr");
    EXPECT_EQ(card.name, "Jeanne Martin");
    EXPECT_EQ(card.service, "Service État civil");
    EXPECT_EQ(card.email, "etat-civil+c42@example.fr");
    EXPECT_EQ(card.postal_address, "1 place de la République");
    EXPECT_TRUE(card.anonymous);
}

}  // namespace
}  // namespace referent::mail
