/*
 * test_consumer.c - chan_contract_consumer_check, the one validation of a
 * consumer's fields (unit.contract.consumer): the fields given as values with
 * positions, and as the JSON body of the consumers API.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "chan/contract.h"

static chan_field_value str(const char *s, int line)
{
    chan_field_value v = {CHAN_FIELD_STRING, s, strlen(s), "string", "c.yaml", line, 3};

    return v;
}

static chan_field_value num(const char *digits, int line)
{
    chan_field_value v = {CHAN_FIELD_INTEGER, digits, strlen(digits), "integer", "c.yaml", line, 3};

    return v;
}

static chan_consumer_fields valid_fields(void)
{
    chan_consumer_fields in;

    in.name = str("fraud", 1);
    in.principal = str("User:fraud-svc", 2);
    in.group = str("fraud.orders", 3);
    in.scenario = str("Scores orders.", 4);
    in.sla_p99_ms = num("1000", 5);
    in.peak_rate_msgs = num("1300", 6);
    in.degradation = str("block", 7);
    return in;
}

static void test_valid(void **state)
{
    chan_consumer_fields in = valid_fields();
    chan_diag_list *diags = chan_diag_list_new();
    chan_contract_consumer out;

    (void)state;
    memset(&out, 0, sizeof(out));
    assert_int_equal(chan_contract_consumer_check(&out, &in, "consumers[0]", diags), 0);
    assert_int_equal(chan_diag_list_count(diags), 0);
    assert_string_equal(out.name, "fraud");
    assert_string_equal(out.group, "fraud.orders");
    assert_int_equal(out.sla_p99_ms, 1000);
    assert_int_equal(out.peak_rate_msgs, 1300);
    assert_int_equal(out.degradation, CHAN_DEGRADATION_BLOCK);
    chan_contract_consumer_dispose(&out);
    chan_diag_list_free(diags);
}

static void test_every_problem_with_its_position(void **state)
{
    chan_consumer_fields in = valid_fields();
    chan_diag_list *diags = chan_diag_list_new();
    chan_contract_consumer out;
    const chan_diag *d;

    (void)state;
    memset(&out, 0, sizeof(out));
    in.principal = str("fraud-svc", 2);
    in.group = str("bad group", 3);
    memset(&in.scenario, 0, sizeof(in.scenario)); /* absent */
    in.sla_p99_ms = num("0", 5);
    in.peak_rate_msgs = str("fast", 6);
    in.degradation = str("panic", 7);
    assert_int_equal(chan_contract_consumer_check(&out, &in, "consumers[0]", diags), CHAN_EINVALID);
    assert_int_equal(chan_diag_list_count(diags), 6);
    d = chan_diag_list_get(diags, 0);
    assert_string_equal(d->rule, CHAN_CONTRACT_RULE_PRINCIPAL);
    assert_string_equal(d->path, "consumers[0].principal");
    assert_string_equal(d->message, "invalid principal \"fraud-svc\"");
    assert_int_equal(d->line, 2);
    assert_string_equal(chan_diag_list_get(diags, 1)->message,
                        "invalid consumer group id \"bad group\"");
    assert_string_equal(chan_diag_list_get(diags, 2)->message, "consumers[0].scenario is missing");
    assert_string_equal(chan_diag_list_get(diags, 3)->message,
                        "consumers[0].sla_p99_ms must be between 1 and 86400000, got 0");
    assert_string_equal(chan_diag_list_get(diags, 3)->hint, "sla_p99_ms must be positive");
    assert_string_equal(chan_diag_list_get(diags, 4)->message,
                        "consumers[0].peak_rate_msgs must be an integer, not a string");
    assert_string_equal(chan_diag_list_get(diags, 5)->message, "unknown degradation \"panic\"");
    assert_null(out.principal);
    assert_null(out.group);
    chan_contract_consumer_dispose(&out);
    chan_diag_list_free(diags);
}

static void test_json_body_gives_the_same_messages(void **state)
{
    json_t *body =
        json_pack("{s:s,s:s,s:i,s:i,s:i,s:s}", "principal", "fraud-svc", "group", "bad group",
                  "scenario", 5, "sla_p99_ms", 0, "peak_rate_msgs", 1300, "degradation", "panic");
    chan_diag_list *diags = chan_diag_list_new();
    chan_contract_consumer out;
    const chan_diag *d;

    (void)state;
    memset(&out, 0, sizeof(out));
    assert_int_equal(chan_contract_consumer_check_json(&out, body, "Fraud", diags), CHAN_EINVALID);
    assert_int_equal(chan_diag_list_count(diags), 6);
    d = chan_diag_list_get(diags, 0);
    assert_string_equal(d->path, "name");
    assert_string_equal(d->message, "invalid consumer name \"Fraud\"");
    assert_int_equal(d->line, 0);
    assert_string_equal(chan_diag_list_get(diags, 1)->message, "invalid principal \"fraud-svc\"");
    assert_string_equal(chan_diag_list_get(diags, 3)->message,
                        "scenario must be a string, not an integer");
    assert_string_equal(chan_diag_list_get(diags, 3)->hint, "quote the value: \"5\"");
    assert_string_equal(chan_diag_list_get(diags, 4)->message,
                        "sla_p99_ms must be between 1 and 86400000, got 0");
    chan_contract_consumer_dispose(&out);
    chan_diag_list_free(diags);
    json_decref(body);
}

static void test_rules_as_data(void **state)
{
    json_t *rules = chan_contract_consumer_rules_json();
    json_t *fields = json_object_get(rules, "fields");

    (void)state;
    assert_int_equal(json_array_size(fields), 7);
    assert_string_equal(json_string_value(json_object_get(json_array_get(fields, 4), "name")),
                        "sla_p99_ms");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(fields, 4), "max")),
                     86400000);
    json_decref(rules);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_every_problem_with_its_position),
        cmocka_unit_test(test_json_body_gives_the_same_messages),
        cmocka_unit_test(test_rules_as_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
