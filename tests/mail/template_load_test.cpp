// TemplateSet::load on broken template directories: every problem is a configuration error
// naming the file (and the line and column when there is one).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "mail/template.hpp"
#include "mail/template_fixture.hpp"

namespace referent::mail {
namespace {

using test::ScratchTemplates;

bool has(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

TEST(TemplateLoadTest, ScratchCopyLoads) {
    ScratchTemplates t("en");
    auto set = t.load();
    ASSERT_TRUE(set.ok()) << set.error().message;
}

TEST(TemplateLoadTest, UnknownLanguageDirectory) {
    ScratchTemplates t;
    t.organisation().language = "de";
    const auto error = t.load_error();
    EXPECT_TRUE(has(error, "/de: no such template directory (organisation.language \"de\")"))
        << error;
}

TEST(TemplateLoadTest, MissingFile) {
    ScratchTemplates t;
    t.remove("reminder.html.mustache");
    EXPECT_EQ(t.load_error(), t.file("reminder.html.mustache") + ": no such file");
}

TEST(TemplateLoadTest, MissingSubjectFile) {
    ScratchTemplates t;
    t.remove("handover.subject.mustache");
    EXPECT_EQ(t.load_error(), t.file("handover.subject.mustache") + ": no such file");
}

TEST(TemplateLoadTest, UnreadableFile) {
    ScratchTemplates t;
    t.remove("signature.txt.mustache");
    std::filesystem::create_directory(t.lang_dir() / "signature.txt.mustache");
    EXPECT_EQ(t.load_error(), t.file("signature.txt.mustache") + ": not a regular file");
}

TEST(TemplateLoadTest, UnknownVariableWithPosition) {
    ScratchTemplates t;
    t.write("signature.txt.mustache", "-- \n{{agent.name}}\nTél. : {{ agent.phne }}\n");
    EXPECT_EQ(t.load_error(),
              t.file("signature.txt.mustache") + ":3:8: unknown name \"agent.phne\"");
}

TEST(TemplateLoadTest, UnknownVariableInsideASkippedBranch) {
    // No sample context would render this branch; the static check sees it anyway.
    ScratchTemplates t;
    t.write("reminder.txt.mustache",
            "{{#agent.anonymous}}\n{{^case.subject}}\n{{case.numbr}}\n{{/case.subject}}\n"
            "{{/agent.anonymous}}\n");
    EXPECT_EQ(t.load_error(),
              t.file("reminder.txt.mustache") + ":3:1: unknown name \"case.numbr\"");
}

TEST(TemplateLoadTest, NameOfAPartTheTemplateDoesNotReceive) {
    ScratchTemplates t;
    t.write("signature.html.mustache", "<div lang=\"fr\">{{failure.status}}</div>\n");
    EXPECT_EQ(t.load_error(),
              t.file("signature.html.mustache") + ":1:16: unknown name \"failure.status\"");
}

TEST(TemplateLoadTest, NamesResolveInsideSectionsAsKainjowDoes) {
    ScratchTemplates t;
    t.write("signature.txt.mustache",
            "{{#agent}}{{name}} {{service.name}}{{/agent}}{{#case}}{{number}}{{/case}}"
            "{{#case.subject}}{{.}}{{/case.subject}}\n");
    auto set = t.load();
    ASSERT_TRUE(set.ok()) << set.error().message;
}

TEST(TemplateLoadTest, EveryProblemIsReportedOnePerLine) {
    ScratchTemplates t;
    t.write("reminder.txt.mustache", "{{agent.nom}}\n{{case.numero}}\n");
    t.remove("escalation.subject.mustache");
    EXPECT_EQ(t.load_error(),
              t.file("reminder.txt.mustache") + ":1:1: unknown name \"agent.nom\"\n" +
                  t.file("reminder.txt.mustache") + ":2:1: unknown name \"case.numero\"\n" +
                  t.file("escalation.subject.mustache") + ": no such file");
}

struct SyntaxCase {
    std::string file;
    std::string source;
    std::string want;  // after "FILE:"
};

TEST(TemplateLoadTest, SyntaxErrorsNameFileLineAndColumn) {
    const SyntaxCase cases[] = {
        {"reminder.txt.mustache", "Bonjour\n{{#case}}\n{{case.number}}\n",
         "2:1: section \"case\" never closed"},
        {"reminder.txt.mustache", "Bonjour {{agent.name\n", "1:9: unclosed tag"},
        {"reminder.txt.mustache", "{{#case}}{{/agent}}\n",
         "1:10: section \"case\" closed by {{/agent}}"},
        {"reminder.txt.mustache", "x{{/case}}\n", "1:2: section \"case\" closed but never opened"},
        {"reminder.txt.mustache", "{{}}\n", "1:1: empty tag"},
        {"reminder.txt.mustache", "{{> card}}\n", "1:1: partials ({{>name}}) are not supported"},
        {"reminder.txt.mustache", "{{=<% %>=}}\n",
         "1:1: delimiter changes ({{=<% %>=}}) are not supported"},
        {"reminder.txt.mustache", "{{! write {{case.number}} here }}\n",
         "1:32: stray \"}}\" (a comment cannot contain a tag)"},
        {"reminder.txt.mustache", "{{agent}}\n",
         "1:1: \"agent\" is a group, not a value: name one of its fields"},
        {"reminder.txt.mustache", "{{agent.anonymous}}\n",
         "1:1: \"agent.anonymous\" is a yes/no flag: use it as "
         "{{#agent.anonymous}}…{{/agent.anonymous}}"},
        {"reminder.txt.mustache", "{{.}}\n", "1:1: {{.}} outside a section on a value"},
        {"reminder.txt.mustache", "{{#case}}{{.}}{{/case}}\n",
         "1:10: {{.}} outside a section on a value"},
        {"reminder.html.mustache", "<p>é {{{agent.name}}}</p>\n",
         "1:6: unescaped value {{{agent.name}}} in an HTML template; write {{agent.name}} so the "
         "value is escaped"},
        {"reminder.html.mustache", "<p>{{& agent.name}}</p>\n",
         "1:4: unescaped value {{{agent.name}}} in an HTML template; write {{agent.name}} so the "
         "value is escaped"},
        {"reminder.txt.mustache", "caf\xC3\n", "1:4: not valid UTF-8"},
        {"reminder.txt.mustache", std::string("a\0b\n", 4), "1:2: control character"},
        {"reminder.txt.mustache",
         "a\x1F"
         "b\n",
         "1:2: control character"},
    };
    for (const auto& c : cases) {
        ScratchTemplates t;
        t.write(c.file, c.source);
        EXPECT_EQ(t.load_error(), t.file(c.file) + ":" + c.want) << c.source;
    }
}

TEST(TemplateLoadTest, UnescapedValuesAreFineInText) {
    ScratchTemplates t;
    t.write("reminder.txt.mustache", "{{{agent.name}}} {{&agent.name}}\n");
    auto set = t.load();
    ASSERT_TRUE(set.ok()) << set.error().message;
}

TEST(TemplateLoadTest, ForwardBannerWithoutMarkers) {
    ScratchTemplates t;
    t.write("forward_banner.txt.mustache", "Dossier {{case.number}}\n{{marker.end}}\n");
    t.write("forward_banner.html.mustache",
            "<div>{{marker.begin}} {{case.number}} {{marker.end}}</div>\n");
    const auto error = t.load_error();
    EXPECT_TRUE(has(error, t.file("forward_banner.txt.mustache") +
                               ": lacks the marker line \"-- Referent EC-2026-000042 --\""))
        << error;
    EXPECT_TRUE(has(error, t.file("forward_banner.html.mustache") +
                               ": the banner element lacks id=\"referent-banner\""))
        << error;
}

TEST(TemplateLoadTest, EmptySubject) {
    ScratchTemplates t;
    t.write("reminder.subject.mustache", "{{#case.subject}}{{case.subject}}{{/case.subject}}\n");
    EXPECT_EQ(t.load_error(), t.file("reminder.subject.mustache") + ": renders an empty subject");
}

TEST(TemplateLoadTest, FromFormatIsChecked) {
    ScratchTemplates t;
    t.organisation().from_format = "{{agent.name}} — {{case.number}}";
    EXPECT_EQ(t.load_error(), "organisation.from_format:1:18: unknown name \"case.number\"");
}

TEST(TemplateLoadTest, TooLargeFile) {
    ScratchTemplates t;
    t.write("reminder.txt.mustache", std::string(256 * 1024 + 1, 'x'));
    EXPECT_EQ(t.load_error(), t.file("reminder.txt.mustache") + ": larger than 262144 octets");
}

// Standalone section lines vanish as the Mustache spec says, whatever the data: paragraph
// breaks do not depend on whether a section rendered (kainjow alone gets this wrong).
TEST(TemplateLoadTest, StandaloneLinesFollowTheSpec) {
    ScratchTemplates t;
    t.write("reminder.txt.mustache",
            "A\n"
            "{{#case.subject}}\n"
            "\n"
            "S {{case.subject}}\n"
            "  {{/case.subject}}\n"
            "\n"
            "B\n"
            "{{^case.subject}}\n"
            "none\n"
            "{{/case.subject}}\n"
            "{{! a comment line }}\n"
            ".\n"
            "C {{#case.subject}}x{{/case.subject}} D\n");
    auto set = t.load();
    ASSERT_TRUE(set.ok()) << set.error().message;
    EXPECT_EQ(set->text(TemplateName::reminder, sample_context("fr", Sample::full)),
              "A\n\nS Demande d’acte de naissance\n\nB\n.\nC x D\n");
    EXPECT_EQ(set->text(TemplateName::reminder, sample_context("fr", Sample::anonymous)),
              "A\n\nB\nnone\n.\nC  D\n");
}

TEST(TemplateLoadTest, WindowsLineEndingsAndDotLines) {
    ScratchTemplates t;
    t.write("reminder.txt.mustache", "A\r\n.\r\n..\r\n{{#case}}\r\n.x\r\n{{/case}}\r\nB");
    auto set = t.load();
    ASSERT_TRUE(set.ok()) << set.error().message;
    EXPECT_EQ(set->text(TemplateName::reminder, sample_context("fr", Sample::full)),
              "A\n.\n..\n.x\nB");
}

}  // namespace
}  // namespace referent::mail
