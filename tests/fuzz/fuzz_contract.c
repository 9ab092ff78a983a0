/*
 * fuzz_contract.c - libFuzzer harness of the contract parser and validator.
 *
 * Each input is the text of one contract (YAML or JSON).  It is parsed and
 * validated with chan_contract_parse (no file system); a contract that
 * parses must then
 *
 *   - render to JSON (chan_contract_render_json) that parses again without
 *     an error and renders to the same JSON (the round trip the header
 *     promises);
 *   - turn into a channel record (chan_contract_to_record), and every
 *     consumer of it into YAML (chan_contract_consumer_yaml);
 *   - pass through the policy floor check and the version chain check
 *     (chan_contract_check_schemas) with one schema per version.
 *
 * The same input, taken as a schema file, must be accepted by
 * chan_contract_schema_parse exactly when chan_avro_schema_parse accepts it.
 *
 * A broken promise aborts, so that libFuzzer keeps the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan/avro.h"
#include "chan/common.h"
#include "chan/contract.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *a, const char *b)
{
    fprintf(stderr, "fuzz_contract: %s\n  first:  %s\n  second: %s\n", what, a ? a : "(null)",
            b ? b : "(null)");
    abort();
}

/* Print every diagnostic of a list that should have had none. */
static void fail_diags(const char *what, const chan_diag_list *diags, const char *text)
{
    size_t i;

    for (i = 0; i < chan_diag_list_count(diags); i++) {
        const chan_diag *d = chan_diag_list_get(diags, i);

        fprintf(stderr, "  %d:%d [%s] %s\n", d->line, d->column, d->rule ? d->rule : "",
                d->message);
    }
    fail(what, text, NULL);
}

static void round_trip(const chan_contract *c, const chan_contract_parse_options *opts)
{
    char *json = chan_contract_render_json(c), *again = NULL;
    chan_diag_list *diags = chan_diag_list_new();
    chan_contract *c2 = NULL;

    if (chan_contract_parse(&c2, json, strlen(json), "<rendered>", opts, diags, NULL) != 0)
        fail_diags("the rendered JSON of a valid contract does not parse", diags, json);
    again = chan_contract_render_json(c2);
    if (strcmp(json, again) != 0)
        fail("rendering the re-parsed contract gives other JSON", json, again);
    free(again);
    free(json);
    chan_contract_free(c2);
    chan_diag_list_free(diags);
}

static void record_and_consumers(const chan_contract *c)
{
    chan_channel_record *rec = chan_contract_to_record(c);
    size_t i;

    for (i = 0; i < rec->n_consumers; i++) {
        char *yaml = chan_contract_consumer_yaml(&rec->consumers[i], (int)(i % 8));

        if (yaml[0] == '\0' || yaml[strlen(yaml) - 1] != '\n')
            fail("consumer YAML does not end with a newline", yaml, NULL);
        free(yaml);
    }
    chan_channel_record_free(rec);
}

static void chain(const chan_contract *c)
{
    size_t i, n = chan_contract_version_count(c);
    chan_avro_schema **schemas = chan_xcalloc(n ? n : 1, sizeof(*schemas));
    chan_diag_list *diags = chan_diag_list_new();

    for (i = 0; i < n; i++) {
        static const char text[] = "\"string\"";

        if (chan_avro_schema_parse(&schemas[i], text, sizeof(text) - 1, NULL) != 0)
            fail("\"string\" is no schema", text, NULL);
    }
    if (chan_contract_check_schemas(c, (const chan_avro_schema *const *)schemas, n, diags) != 0)
        fail_diags("one schema repeated is not compatible with itself", diags, NULL);
    (void)chan_contract_check_floor(c, CHAN_COMPAT_FULL_TRANSITIVE, diags);
    for (i = 0; i < n; i++)
        chan_avro_schema_free(schemas[i]);
    free(schemas);
    chan_diag_list_free(diags);
}

/*
 * The schema-file parser of the contract module (which never quotes a file
 * that is no schema) accepts exactly what the Avro parser accepts.
 */
static void schema_file(const uint8_t *data, size_t size)
{
    chan_avro_schema *a = NULL, *b = NULL;
    int ra = chan_avro_schema_parse(&a, (const char *)data, size, NULL);
    int rb = chan_contract_schema_parse(&b, (const char *)data, size, NULL);

    if ((ra == 0) != (rb == 0))
        fail("chan_contract_schema_parse and chan_avro_schema_parse disagree",
             ra == 0 ? "avro: ok" : "avro: refused",
             rb == 0 ? "contract: ok" : "contract: refused");
    chan_avro_schema_free(a);
    chan_avro_schema_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    chan_contract_parse_options opts = CHAN_CONTRACT_PARSE_OPTIONS_INIT;
    chan_diag_list *diags = chan_diag_list_new();
    chan_contract *c = NULL;
    chan_error err = CHAN_ERROR_INIT;
    size_t i;

    /* A fixed "today" (2026-06-01), so that a run does not depend on the date. */
    opts.today = 20605;
    (void)chan_contract_parse(&c, (const char *)data, size, "<fuzz>", &opts, diags, &err);
    for (i = 0; i < chan_diag_list_count(diags); i++) {
        const chan_diag *d = chan_diag_list_get(diags, i);

        if (d->message == NULL || d->line < 0 || d->column < 0)
            fail("a diagnostic without a message or with a negative position", d->message, NULL);
    }
    if (c != NULL) {
        if (chan_diag_list_count_severity(diags, CHAN_DIAG_ERROR) != 0)
            fail("a contract came back with errors", NULL, NULL);
        round_trip(c, &opts);
        record_and_consumers(c);
        chain(c);
    }
    chan_contract_free(c);
    chan_diag_list_free(diags);
    schema_file(data, size);
    return 0;
}
