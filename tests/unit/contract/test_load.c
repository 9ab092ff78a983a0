/*
 * test_load.c - unit tests of chan_contract_load and chan_contract_set on
 * files: schema resolution, Avro errors, the version chain checks, duplicate
 * channels across files, and the example contracts of the repository, which
 * must validate without a single diagnostic.
 *
 * CHAN_FIXTURES_DIR and CHAN_CONTRACTS_DIR are set by CMakeLists.txt.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "chan/common.h"
#include "chan/contract.h"

#define FX CHAN_FIXTURES_DIR "/contracts"

static const char *const example_contracts[] = {
    "inventory.stock-updated.yaml",
    "orders.order-created.yaml",
    "payments.payment-settled.yaml",
    "shipping.parcel-scanned.yaml",
};

/* Load options with a fixed "today" (2026-06-01): the examples' dates stay in the future. */
static chan_contract_load_options fixed_date_options(void)
{
    chan_contract_load_options opts = CHAN_CONTRACT_LOAD_OPTIONS_INIT;

    assert_true(chan_date_parse("2026-06-01", &opts.parse.today));
    return opts;
}

static const chan_diag *find_rule(const chan_diag_list *diags, const char *rule)
{
    size_t i;

    for (i = 0; i < chan_diag_list_count(diags); i++) {
        const chan_diag *d = chan_diag_list_get(diags, i);

        if (d->rule && strcmp(d->rule, rule) == 0)
            return d;
    }
    for (i = 0; i < chan_diag_list_count(diags); i++) {
        const chan_diag *d = chan_diag_list_get(diags, i);

        print_message("  have %s:%d:%d [%s] %s\n", d->file, d->line, d->column, d->rule,
                      d->message);
    }
    fail_msg("no diagnostic with rule %s", rule);
    return NULL;
}

/* Load a fixture that must fail with exactly one error: rule at line:col. */
static void assert_load_error(const char *name, const char *rule, int line, int column)
{
    char *path = chan_xasprintf("%s/%s", FX, name);
    chan_diag_list *diags = chan_diag_list_new();
    chan_contract *c = NULL;
    chan_error err = CHAN_ERROR_INIT;
    const chan_diag *d;
    int rc = chan_contract_load(&c, path, NULL, diags, &err);

    assert_int_equal(rc, CHAN_EINVALID);
    assert_null(c);
    d = find_rule(diags, rule);
    assert_string_equal(d->file, path);
    assert_int_equal(d->line, line);
    assert_int_equal(d->column, column);
    assert_int_equal(chan_diag_list_count_severity(diags, CHAN_DIAG_ERROR), 1);
    chan_diag_list_free(diags);
    free(path);
}

static void test_examples_valid(void **state)
{
    chan_contract_load_options opts = fixed_date_options();
    size_t i, k;

    (void)state;
    for (i = 0; i < CHAN_ARRAY_SIZE(example_contracts); i++) {
        char *path = chan_xasprintf("%s/%s", CHAN_CONTRACTS_DIR, example_contracts[i]);
        chan_diag_list *diags = chan_diag_list_new();
        chan_contract *c = NULL;
        int rc = chan_contract_load(&c, path, &opts, diags, NULL);

        for (k = 0; k < chan_diag_list_count(diags); k++) {
            const chan_diag *d = chan_diag_list_get(diags, k);

            print_message("%s:%d:%d: %s [%s]\n", d->file, d->line, d->column, d->message, d->rule);
        }
        assert_int_equal(rc, 0);
        assert_int_equal(chan_diag_list_count(diags), 0);
        assert_non_null(c);
        assert_true(chan_contract_version_count(c) >= 1);
        for (k = 0; k < chan_contract_version_count(c); k++) {
            const chan_contract_version *v = chan_contract_version_at(c, k);
            char *suffix = chan_xasprintf("schemas/%s/v%lld.avsc", chan_contract_subject(c),
                                          (long long)v->number);

            assert_non_null(v->schema);
            assert_true(chan_str_endswith(v->path, suffix));
            free(suffix);
        }
        chan_contract_free(c);
        chan_diag_list_free(diags);
        free(path);
    }
}

static void test_examples_cover_the_features(void **state)
{
    char *path = chan_xasprintf("%s/orders.order-created.yaml", CHAN_CONTRACTS_DIR);
    chan_diag_list *diags = chan_diag_list_new();
    chan_contract *c = NULL;

    (void)state;
    assert_int_equal(chan_contract_load(&c, path, NULL, diags, NULL), 0);
    /* Several versions, the newest first, the chain checked transitively. */
    assert_int_equal(chan_contract_version_count(c), 3);
    assert_int_equal(chan_contract_version_at(c, 0)->number, 3);
    assert_int_equal(chan_contract_compatibility(c), CHAN_COMPAT_BACKWARD_TRANSITIVE);
    chan_contract_free(c);
    free(path);

    path = chan_xasprintf("%s/shipping.parcel-scanned.yaml", CHAN_CONTRACTS_DIR);
    assert_int_equal(chan_contract_load(&c, path, NULL, diags, NULL), 0);
    assert_non_null(chan_contract_deprecation_date(c));
    assert_non_null(chan_contract_retirement_date(c));
    chan_contract_free(c);
    free(path);
    chan_diag_list_free(diags);
}

static void test_good_fixtures(void **state)
{
    static const char *const names[] = {"good/ok.yaml", "good/explicit-file.yaml",
                                        "good/json-form.json.yaml"};
    size_t i;

    (void)state;
    for (i = 0; i < CHAN_ARRAY_SIZE(names); i++) {
        char *path = chan_xasprintf("%s/%s", FX, names[i]);
        chan_diag_list *diags = chan_diag_list_new();
        chan_contract *c = NULL;

        assert_int_equal(chan_contract_load(&c, path, NULL, diags, NULL), 0);
        assert_int_equal(chan_diag_list_count(diags), 0);
        assert_non_null(chan_contract_version_at(c, 0)->schema);
        if (i == 1) /* explicit `file:`: relative to the contract's directory */
            assert_string_equal(chan_contract_version_at(c, 0)->path,
                                FX "/good/../schemas/fx.ok-value/v2.avsc");
        chan_contract_free(c);
        chan_diag_list_free(diags);
        free(path);
    }
}

static void test_incompatible_chain(void **state)
{
    (void)state;
    assert_load_error("bad/incompatible.yaml", "incompatible", 11, 14);
}

static void test_removed_field(void **state)
{
    (void)state;
    assert_load_error("bad/removed-field.yaml", "field-removed", 11, 14);
}

static void test_bad_avro(void **state)
{
    (void)state;
    assert_load_error("bad/bad-avro.yaml", "avro-invalid", 11, 14);
}

static void test_missing_schema_file(void **state)
{
    (void)state;
    /* v2 is missing, v1 exists: located at the v2 entry. */
    assert_load_error("bad/missing-schema.yaml", "schema-file", 11, 14);
}

static void test_schema_root_option(void **state)
{
    char *path = chan_xasprintf("%s/good/ok.yaml", FX);
    chan_contract_load_options opts = CHAN_CONTRACT_LOAD_OPTIONS_INIT;
    chan_diag_list *diags = chan_diag_list_new();
    chan_contract *c = NULL;
    const chan_diag *d;

    (void)state;
    /* A root without the subject: every version is missing, each reported. */
    opts.schema_root = FX "/good";
    assert_int_equal(chan_contract_load(&c, path, &opts, diags, NULL), CHAN_EINVALID);
    assert_int_equal(chan_diag_list_count_severity(diags, CHAN_DIAG_ERROR), 3);
    d = find_rule(diags, "schema-file");
    assert_int_equal(d->line, 11);
    chan_diag_list_free(diags);

    diags = chan_diag_list_new();
    opts.schema_root = FX "/schemas";
    assert_int_equal(chan_contract_load(&c, path, &opts, diags, NULL), 0);
    chan_contract_free(c);
    chan_diag_list_free(diags);
    free(path);
}

static void test_no_schemas_directory(void **state)
{
    char dir[] = "/tmp/chan-contract-XXXXXX";
    char *path;
    char *text = NULL;
    chan_diag_list *diags = chan_diag_list_new();
    chan_contract *c = NULL;
    chan_error err = CHAN_ERROR_INIT;
    const chan_diag *d;

    (void)state;
    assert_non_null(mkdtemp(dir));
    path = chan_xasprintf("%s/x.yaml", dir);
    assert_int_equal(chan_file_read(&text, NULL, FX "/good/ok.yaml", 1 << 20, &err), 0);
    assert_int_equal(chan_file_write_atomic(path, text, strlen(text), &err), 0);
    assert_int_equal(chan_contract_load(&c, path, NULL, diags, NULL), CHAN_EINVALID);
    d = find_rule(diags, "schema-file");
    assert_int_equal(d->line, 11);
    assert_int_equal(d->column, 14);
    assert_non_null(strstr(d->message, "no schemas/ directory"));
    /* Reported once, not once per version. */
    assert_int_equal(chan_diag_list_count(diags), 1);
    unlink(path);
    rmdir(dir);
    free(text);
    free(path);
    chan_diag_list_free(diags);
}

static void test_missing_contract_file(void **state)
{
    chan_diag_list *diags = chan_diag_list_new();
    chan_contract *c = NULL;
    chan_error err = CHAN_ERROR_INIT;
    const chan_diag *d;

    (void)state;
    assert_int_equal(chan_contract_load(&c, FX "/does-not-exist.yaml", NULL, diags, &err),
                     CHAN_ENOTFOUND);
    assert_int_equal(err.code, CHAN_ENOTFOUND);
    assert_null(c);
    d = find_rule(diags, "io-error");
    assert_string_equal(d->file, FX "/does-not-exist.yaml");
    chan_diag_list_free(diags);
}

static void test_oversized_contract_file(void **state)
{
    char *path = chan_xasprintf("%s/good/ok.yaml", FX);
    chan_contract_load_options opts = CHAN_CONTRACT_LOAD_OPTIONS_INIT;
    chan_diag_list *diags = chan_diag_list_new();
    chan_contract *c = NULL;

    (void)state;
    opts.parse.max_size = 64;
    assert_int_equal(chan_contract_load(&c, path, &opts, diags, NULL), CHAN_ETOOBIG);
    (void)find_rule(diags, "too-large");
    chan_diag_list_free(diags);
    free(path);
}

static void test_set_duplicate_channel(void **state)
{
    chan_contract_set *set = chan_contract_set_new();
    chan_diag_list *diags = chan_diag_list_new();
    const chan_diag *d;

    (void)state;
    assert_int_equal(
        chan_contract_set_add_file(set, FX "/bad/dup-channel-a.yaml", NULL, diags, NULL), 0);
    assert_int_equal(
        chan_contract_set_add_file(set, FX "/bad/dup-channel-b.yaml", NULL, diags, NULL), 0);
    /* An invalid file still takes part with its channel name. */
    assert_int_equal(chan_contract_set_add_file(set, FX "/bad/bad-avro.yaml", NULL, diags, NULL),
                     CHAN_EINVALID);
    assert_int_equal(chan_contract_set_count(set), 2);
    assert_int_equal(chan_contract_set_check(set, diags), CHAN_EINVALID);
    d = find_rule(diags, "duplicate-channel");
    assert_string_equal(d->file, FX "/bad/dup-channel-b.yaml");
    assert_int_equal(d->line, 2);
    assert_int_equal(d->column, 10);
    assert_non_null(strstr(d->message, "dup-channel-a.yaml:2:10"));
    /* The second definition is no longer counted as valid. */
    assert_int_equal(chan_contract_set_count(set), 1);
    assert_string_equal(chan_contract_file(chan_contract_set_get(set, 0)),
                        FX "/bad/dup-channel-a.yaml");
    assert_null(chan_contract_set_get(set, 1));
    chan_contract_set_free(set);
    chan_diag_list_free(diags);
}

static void test_set_examples_no_clash(void **state)
{
    chan_contract_load_options opts = fixed_date_options();
    chan_contract_set *set = chan_contract_set_new();
    chan_diag_list *diags = chan_diag_list_new();
    size_t i;

    (void)state;
    for (i = 0; i < CHAN_ARRAY_SIZE(example_contracts); i++) {
        char *path = chan_xasprintf("%s/%s", CHAN_CONTRACTS_DIR, example_contracts[i]);

        assert_int_equal(chan_contract_set_add_file(set, path, &opts, diags, NULL), 0);
        free(path);
    }
    assert_int_equal(chan_contract_set_check(set, diags), 0);
    assert_int_equal(chan_diag_list_count(diags), 0);
    assert_int_equal(chan_contract_set_count(set), CHAN_ARRAY_SIZE(example_contracts));
    chan_contract_set_free(set);
    chan_diag_list_free(diags);
}

static void test_example_round_trip(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < CHAN_ARRAY_SIZE(example_contracts); i++) {
        char *path = chan_xasprintf("%s/%s", CHAN_CONTRACTS_DIR, example_contracts[i]);
        chan_diag_list *diags = chan_diag_list_new();
        chan_contract *c = NULL, *c2 = NULL;
        char *json, *json2;

        assert_int_equal(chan_contract_load(&c, path, NULL, diags, NULL), 0);
        json = chan_contract_render_json(c);
        assert_int_equal(
            chan_contract_parse(&c2, json, strlen(json), "<request>", NULL, diags, NULL), 0);
        json2 = chan_contract_render_json(c2);
        assert_string_equal(json, json2);
        assert_string_equal(chan_contract_file(c2), "<request>");
        assert_null(chan_contract_version_at(c2, 0)->schema); /* parse does no I/O */
        free(json);
        free(json2);
        chan_contract_free(c);
        chan_contract_free(c2);
        chan_diag_list_free(diags);
        free(path);
    }
}

static void test_check_schemas_in_memory(void **state)
{
    static const char contract[] = "apiVersion: chanreg/v1\n"
                                   "channel: fx.mem\n"
                                   "owner: {team: fixtures, maintainer: fx@example.com}\n"
                                   "peak_qps: 1\n"
                                   "retention_hours: 1\n"
                                   "schema:\n"
                                   "  subject: fx.mem-value\n"
                                   "  compatibility: BACKWARD\n"
                                   "  versions: [2, 1]\n"
                                   "consumers: []\n"
                                   "producers: [{principal: User:w}]\n";
    static const char v1[] = "{\"type\":\"record\",\"name\":\"M\",\"fields\":["
                             "{\"name\":\"id\",\"type\":\"string\"}]}";
    static const char v2_ok[] = "{\"type\":\"record\",\"name\":\"M\",\"fields\":["
                                "{\"name\":\"id\",\"type\":\"string\"},"
                                "{\"name\":\"n\",\"type\":\"int\",\"default\":0}]}";
    static const char v2_bad[] = "{\"type\":\"record\",\"name\":\"M\",\"fields\":["
                                 "{\"name\":\"id\",\"type\":\"string\"},"
                                 "{\"name\":\"n\",\"type\":\"int\"}]}";
    chan_diag_list *diags = chan_diag_list_new();
    chan_contract *c = NULL;
    chan_avro_schema *s1 = NULL, *s2 = NULL, *s3 = NULL;
    const chan_avro_schema *chain[2];
    const chan_diag *d;

    (void)state;
    assert_int_equal(
        chan_contract_parse(&c, contract, strlen(contract), "<request>", NULL, diags, NULL), 0);
    assert_int_equal(chan_avro_schema_parse(&s1, v1, strlen(v1), NULL), 0);
    assert_int_equal(chan_avro_schema_parse(&s2, v2_ok, strlen(v2_ok), NULL), 0);
    assert_int_equal(chan_avro_schema_parse(&s3, v2_bad, strlen(v2_bad), NULL), 0);

    chain[0] = s2;
    chain[1] = s1;
    assert_int_equal(chan_contract_check_schemas(c, chain, 2, diags), 0);
    assert_int_equal(chan_diag_list_count(diags), 0);

    chain[0] = s3;
    assert_int_equal(chan_contract_check_schemas(c, chain, 2, diags), CHAN_EINVALID);
    d = find_rule(diags, "incompatible");
    assert_string_equal(d->file, "<request>");
    assert_int_equal(d->line, 9);
    assert_int_equal(d->column, 14);

    /* Wrong number of schemas: refused, not read out of bounds. */
    assert_int_equal(chan_contract_check_schemas(c, chain, 1, diags), CHAN_EINVALID);

    chan_avro_schema_free(s1);
    chan_avro_schema_free(s2);
    chan_avro_schema_free(s3);
    chan_contract_free(c);
    chan_diag_list_free(diags);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_examples_valid),
        cmocka_unit_test(test_examples_cover_the_features),
        cmocka_unit_test(test_good_fixtures),
        cmocka_unit_test(test_incompatible_chain),
        cmocka_unit_test(test_removed_field),
        cmocka_unit_test(test_bad_avro),
        cmocka_unit_test(test_missing_schema_file),
        cmocka_unit_test(test_schema_root_option),
        cmocka_unit_test(test_no_schemas_directory),
        cmocka_unit_test(test_missing_contract_file),
        cmocka_unit_test(test_oversized_contract_file),
        cmocka_unit_test(test_set_duplicate_channel),
        cmocka_unit_test(test_set_examples_no_clash),
        cmocka_unit_test(test_example_round_trip),
        cmocka_unit_test(test_check_schemas_in_memory),
    };

    return cmocka_run_group_tests_name("unit.contract.load", tests, NULL, NULL);
}
