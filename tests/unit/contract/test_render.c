/*
 * test_render.c - unit tests of chan_contract_consumer_yaml: the exact text
 * of a plain consumer, and the round trip through chan_contract_parse of
 * consumers whose scenario holds what YAML would otherwise misread (": ",
 * " #", quotes, leading and trailing spaces, newlines, control characters,
 * indicator characters, words read as booleans, null or numbers, non-ASCII
 * text), at several indents.  In memory only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chan/common.h"
#include "chan/contract.h"
#include "chan/model.h"

static const char head[] = "apiVersion: chanreg/v1\n"
                           "channel: orders.order-created\n"
                           "owner:\n"
                           "  team: orders\n"
                           "  maintainer: orders@example.com\n"
                           "peak_qps: 100\n"
                           "retention_hours: 168\n"
                           "schema:\n"
                           "  subject: orders.order-created-value\n"
                           "  compatibility: BACKWARD\n"
                           "  versions: [1]\n"
                           "consumers:\n";

static const char tail[] = "producers:\n"
                           "  - principal: User:orders-svc\n";

/* A consumer record over borrowed strings (only the rendered fields are set). */
static chan_consumer_record consumer(const char *scenario, const char *degradation)
{
    chan_consumer_record c;

    chan_consumer_record_init(&c);
    c.name = (char *)"fraud";
    c.principal = (char *)"User:fraud-svc";
    c.group = (char *)"fraud.orders";
    c.scenario = (char *)scenario;
    c.sla_p99_ms = 750;
    c.peak_rate_msgs = 300;
    c.degradation = (char *)degradation;
    return c;
}

/*
 * Render c at indent under `consumers:`, parse the contract and check that
 * its only consumer equals c.
 */
static void assert_round_trip(const chan_consumer_record *c, int indent)
{
    chan_contract_parse_options opts = CHAN_CONTRACT_PARSE_OPTIONS_INIT;
    chan_diag_list *diags = chan_diag_list_new();
    chan_error err = CHAN_ERROR_INIT;
    chan_contract *contract = NULL;
    const chan_contract_consumer *k;
    char *yaml = chan_contract_consumer_yaml(c, indent);
    char *text = chan_xasprintf("%s%s%s", head, yaml, tail);
    int rc;

    rc = chan_contract_parse(&contract, text, strlen(text), "t.yaml", &opts, diags, &err);
    if (rc != 0 || chan_diag_list_count_severity(diags, CHAN_DIAG_ERROR) != 0)
        fail_msg("the rendered consumer does not parse (%s):\n%s", err.message, yaml);
    assert_int_equal(chan_contract_consumer_count(contract), 1);
    k = chan_contract_consumer_at(contract, 0);
    assert_string_equal(k->name, c->name);
    assert_string_equal(k->principal, c->principal);
    assert_string_equal(k->group, c->group);
    if (strcmp(k->scenario, c->scenario) != 0)
        fail_msg("scenario %s read back as \"%s\" from:\n%s", c->scenario, k->scenario, yaml);
    assert_int_equal(k->sla_p99_ms, c->sla_p99_ms);
    assert_int_equal(k->peak_rate_msgs, (int64_t)c->peak_rate_msgs);
    assert_string_equal(chan_degradation_name(k->degradation), c->degradation);

    chan_contract_free(contract);
    chan_diag_list_free(diags);
    free(text);
    free(yaml);
}

static void test_contract_render__consumer_yaml_exact(void **state)
{
    chan_consumer_record c = consumer("Scores each order for fraud.", "lag");
    char *yaml = chan_contract_consumer_yaml(&c, 2);

    (void)state;
    assert_string_equal(yaml, "  - name: fraud\n"
                              "    principal: User:fraud-svc\n"
                              "    group: fraud.orders\n"
                              "    scenario: Scores each order for fraud.\n"
                              "    sla_p99_ms: 750\n"
                              "    peak_rate_msgs: 300\n"
                              "    degradation: lag\n");
    free(yaml);

    yaml = chan_contract_consumer_yaml(&c, 0);
    assert_true(strncmp(yaml, "- name: fraud\n  principal: User:fraud-svc\n", 41) == 0);
    free(yaml);
}

static void test_contract_render__consumer_yaml_roundtrip(void **state)
{
    static const char *const scenarios[] = {
        "Plain text.",
        "key: value inside",
        "ends with a colon:",
        "# looks like a comment",
        "text # with a comment mark",
        "text#no space is fine",
        "\"double quoted\"",
        "'single quoted'",
        "it's \"mixed\" 'quotes'",
        "  leading spaces",
        "trailing spaces  ",
        "first line\nsecond line\n",
        "\nstarts with a newline",
        "tab\there",
        "carriage\rreturn",
        "control \x01\x07\x1b\x7f characters",
        "back\\slash \\n not a newline",
        "yes",
        "No",
        "null",
        "~",
        "true",
        "123",
        "-12.5e3",
        ".inf",
        "0x1F",
        "- a list?",
        "? a key",
        "[flow, sequence]",
        "{flow: mapping}",
        "&anchor",
        "*alias",
        "!tag",
        "| literal",
        "> folded",
        "%directive",
        "@at",
        "`backtick",
        "---",
        "...",
        "User:colon-no-space",
        "caf\xc3\xa9 na\xc3\xafve \xe2\x9c\x93 \xf0\x9f\x9a\x80",
        "NEL\xc2\x85 LS\xe2\x80\xa8 PS\xe2\x80\xa9",
        "C1\xc2\x80\xc2\x9f BOM\xef\xbb\xbf",
    };
    static const char *const degradations[] = {"drop", "lag", "fallback", "block"};
    size_t i;

    (void)state;
    for (i = 0; i < CHAN_ARRAY_SIZE(scenarios); i++) {
        chan_consumer_record c = consumer(scenarios[i], degradations[i % 4]);

        assert_round_trip(&c, 2);
        assert_round_trip(&c, 0);
        assert_round_trip(&c, 4);
    }
}

static void test_contract_render__consumer_yaml_numbers(void **state)
{
    chan_consumer_record c = consumer("Numbers.", "block");
    char *yaml;

    (void)state;
    c.sla_p99_ms = 86400000;
    c.peak_rate_msgs = 1000000000.0;
    assert_round_trip(&c, 2);
    yaml = chan_contract_consumer_yaml(&c, 2);
    assert_non_null(strstr(yaml, "    peak_rate_msgs: 1000000000\n"));
    free(yaml);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_contract_render__consumer_yaml_exact),
        cmocka_unit_test(test_contract_render__consumer_yaml_roundtrip),
        cmocka_unit_test(test_contract_render__consumer_yaml_numbers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
