/*
 * cmd_consumer.c - `chanctl consumer`: register, renew, remove, list,
 * approve and reject the consumers of a registry's channels.
 *
 *   chanctl consumer register CHANNEL NAME --principal P --group G --scenario TEXT
 *                    --sla-p99-ms N --peak-rate-msgs N --degradation STRATEGY [--team TEAM]
 *   chanctl consumer renew|remove|approve CHANNEL NAME
 *   chanctl consumer reject CHANNEL NAME --reason TEXT
 *   chanctl consumer list [CHANNEL] [--pending] [--team TEAM]
 *
 * Each action is one request of the channels API (docs/api-channels.md):
 * PUT /v1/channels/{channel}/consumers/{name}, POST .../renew, DELETE,
 * POST .../approve, POST .../reject, and GET .../consumers or GET
 * /v1/consumers?state=pending&team=T.  A registration of a team's consumer
 * on another team's channel is pending (202) until the channel's owner
 * approves it.
 *
 * register checks offline that every mandatory field is given and not empty
 * (and that the two numbers are integers), so that an incomplete command
 * line is a usage error before any request; the messages of that check are
 * those of the one consumer validation, chan_contract_consumer_check, which
 * the registry runs too.  The rules on the values (principal form, group
 * name, ranges, degradation strategies) are the registry's, and its 422
 * reply is printed field by field in the same form.
 *
 * Exit status: 0 done, 1 refused by the registry (invalid consumer, unknown
 * channel or consumer, deprecated channel, consumer of the contract file, not
 * pending), 2 usage error, 3 registry unreachable or access denied.
 */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "chan/common.h"
#include "chan/contract.h"
#include "chan/error.h"
#include "cli.h"
#include "cmds.h"
#include "options.h"
#include "registry_client.h"

#define CMD_NAME "consumer"

/* API error codes the command explains (docs/api-channels.md). */
#define E_DEPRECATED       40912
#define E_CONTRACT_MANAGED 40913
#define E_DECISION_STATE   40914

typedef struct consumer_opts {
    const char *principal, *group, *scenario, *sla_p99_ms, *peak_rate_msgs, *degradation;
    const char *team, *reason;
    bool pending;
    cli_format format; /* from cli_args */
} consumer_opts;

static const cli_opt_spec opt_specs[] = {
    {"principal", 0, "P", "register: Kafka principal of the consumer, User:<name>",
     offsetof(consumer_opts, principal)},
    {"group", 0, "G", "register: its Kafka consumer group id", offsetof(consumer_opts, group)},
    {"scenario", 0, "TEXT", "register: what the consumer does with the data (business scenario)",
     offsetof(consumer_opts, scenario)},
    {"sla-p99-ms", 0, "N", "register: P99 latency it needs, in milliseconds",
     offsetof(consumer_opts, sla_p99_ms)},
    {"peak-rate-msgs", 0, "N", "register: peak consumption rate, messages per second",
     offsetof(consumer_opts, peak_rate_msgs)},
    {"degradation", 0, "STRATEGY",
     "register: what it does when it cannot keep up: drop, lag, fallback or block",
     offsetof(consumer_opts, degradation)},
    {"team", 0, "TEAM",
     "register: the team the consumer belongs to (for an identity of several teams);\n"
     "list: consumers of channels owned by TEAM or registered for it",
     offsetof(consumer_opts, team)},
    {"reason", 0, "TEXT", "reject: why the registration is refused (required)",
     offsetof(consumer_opts, reason)},
    {"pending", 0, NULL, "list: only registrations waiting for approval",
     offsetof(consumer_opts, pending)},
};

static const cli_cmd_spec spec = {
    .name = CMD_NAME,
    .usage = "register CHANNEL NAME --principal P --group G --scenario TEXT "
             "--sla-p99-ms N --peak-rate-msgs N --degradation STRATEGY [--team TEAM]\n"
             "renew CHANNEL NAME [OPTION]...\n"
             "remove CHANNEL NAME [OPTION]...\n"
             "list [CHANNEL] [--pending] [--team TEAM] [OPTION]...\n"
             "approve CHANNEL NAME [OPTION]...\n"
             "reject CHANNEL NAME --reason TEXT [OPTION]...",
    .description = "Consumers of a registry's channels.  register records a consumer with every\n"
                   "mandatory field; on another team's channel the registration waits for the\n"
                   "approval of the channel's owner, who approves or rejects it (with a reason).\n"
                   "renew confirms that a consumer still exists, remove withdraws it, list shows\n"
                   "the consumers of one channel or of all (--pending: those waiting for\n"
                   "approval).  Consumers listed in a contract file are changed through the\n"
                   "contract, not with this command.",
    CLI_CMD_OPTS(opt_specs),
    .formats = CLI_FORMATS_TEXT_JSON,
    .registry = "registry to ask (default: $" CLI_REGISTRY_URL_ENV ")",
    .notes = "A missing mandatory field of register is a usage error before any request;\n"
             "the values themselves are checked by the registry, which reports every\n"
             "invalid field.  --format json prints the registry's reply.",
    .exit_status = "0 done, 1 refused by the registry (invalid consumer,\n"
                   "unknown channel or consumer, deprecated channel, consumer of the contract\n"
                   "file, not pending), 2 usage error, 3 registry unreachable or access denied.",
};

/* Which options each action takes. */
enum {
    O_FIELDS = 1 << 0, /* the six consumer fields */
    O_TEAM = 1 << 1,
    O_REASON = 1 << 2,
    O_PENDING = 1 << 3,
};

typedef struct action {
    const char *name;
    int operands_min, operands_max; /* after the action */
    unsigned opts;                  /* the O_* it accepts */
} action;

static const action actions[] = {
    {"register", 2, 2, O_FIELDS | O_TEAM}, /* PUT .../consumers/{name} */
    {"renew", 2, 2, 0},                    /* POST .../renew */
    {"remove", 2, 2, 0},                   /* DELETE .../consumers/{name} */
    {"list", 0, 1, O_PENDING | O_TEAM},    /* GET .../consumers, GET /v1/consumers */
    {"approve", 2, 2, 0},                  /* POST .../approve */
    {"reject", 2, 2, O_REASON},            /* POST .../reject */
};

/* ------------------------------------------------------------------ */
/* Diagnostics                                                          */
/* ------------------------------------------------------------------ */

/*
** Print the problems of one consumer, one per line, in the form `chanctl
** validate` uses with the field in place of the position:
**   orders.order-created/fraud: degradation: error: unknown degradation "x" [invalid-value]
**   hint: one of drop, lag, fallback, block
*/
static void print_diags(const char *channel, const char *name, const chan_diag_list *diags)
{
    size_t i, n = chan_diag_list_count(diags);

    for (i = 0; i < n; i++) {
        const chan_diag *d = chan_diag_list_get(diags, i);

        fprintf(stderr, "%s/%s: ", channel, name);
        if (d->path != NULL && d->path[0] != '\0')
            fprintf(stderr, "%s: ", d->path);
        fprintf(stderr, "%s: %s", chan_diag_severity_name(d->severity), d->message);
        if (d->rule != NULL)
            fprintf(stderr, " [%s]", d->rule);
        fputc('\n', stderr);
        if (d->hint != NULL)
            fprintf(stderr, "hint: %s\n", d->hint);
    }
}

/*
** The "errors" of the registry's last error reply as diagnostics (rule,
** path, message, hint; control characters replaced).  Returns how many.
*/
static size_t registry_diags(chan_diag_list *diags, const cli_registry *reg)
{
    const json_t *errors = json_object_get(cli_registry_last_error(reg), "errors"), *e;
    size_t i, n = 0;

    json_array_foreach(errors, i, e)
    {
        const json_t *rule = json_object_get(e, "rule"), *path = json_object_get(e, "path");
        const json_t *hint = json_object_get(e, "hint");
        char *message = cli_registry_value_text(json_object_get(e, "message"));
        char *rule_text = json_is_string(rule) ? cli_registry_value_text(rule) : NULL;
        char *path_text = json_is_string(path) ? cli_registry_value_text(path) : NULL;
        chan_diag *d =
            chan_diag_add(diags, CHAN_DIAG_ERROR, NULL, 0, 0, rule_text, path_text, "%s", message);

        if (json_is_string(hint)) {
            char *hint_text = cli_registry_value_text(hint);

            chan_diag_set_hint(d, "%s", hint_text);
            free(hint_text);
        }
        free(message);
        free(rule_text);
        free(path_text);
        n++;
    }
    return n;
}

/*
** Report a failed request on consumer NAME of CHANNEL (NAME may be NULL for
** list): the error, the registry's field errors, and a hint for the refusals
** this command explains.  Returns the exit code.
*/
static int request_failed(const cli_registry *reg, const char *channel, const char *name, int error,
                          chan_error *err)
{
    chan_diag_list *diags = chan_diag_list_new();

    if (err->hint[0] == '\0') {
        if (err->reason == E_CONTRACT_MANAGED)
            chan_error_hint(err,
                            "the consumer is listed in the contract file of %s: change "
                            "the contract and run \"chanctl register\"",
                            channel);
        else if (err->reason == E_DEPRECATED)
            chan_error_hint(err, "register the consumer on the channel that replaces %s", channel);
        else if (err->reason == E_DECISION_STATE)
            chan_error_hint(err, "see its state with \"chanctl consumer list %s\"", channel);
    }
    cli_error_print(err);
    if (name != NULL && registry_diags(diags, reg) > 0)
        print_diags(channel, name, diags);
    chan_diag_list_free(diags);
    return cli_registry_exit_code(error);
}

/* Print the "warnings" of a reply (e.g. the channel's deprecation coming). */
static void print_warnings(const json_t *reply)
{
    const json_t *w;
    size_t i;

    json_array_foreach(json_object_get(reply, "warnings"), i, w)
    {
        char *text = cli_registry_value_text(w);

        cli_warning("%s", text);
        free(text);
    }
}

/* Print doc as JSON.  Returns the exit code. */
static int print_json(const json_t *doc)
{
    chan_error err = CHAN_ERROR_INIT;

    if (cli_registry_print_json(doc, &err) < 0) {
        cli_error_print(&err);
        return CLI_EXIT_RUNTIME;
    }
    return CLI_EXIT_OK;
}

/* ------------------------------------------------------------------ */
/* register                                                             */
/* ------------------------------------------------------------------ */

/* One mandatory field of register: its key in the body and its option. */
typedef struct field {
    const char *key, *option, *arg;
    size_t offset; /* of the value in consumer_opts */
    bool integer;
} field;

static const field fields[] = {
    {"principal", "principal", "P", offsetof(consumer_opts, principal), false},
    {"group", "group", "G", offsetof(consumer_opts, group), false},
    {"scenario", "scenario", "TEXT", offsetof(consumer_opts, scenario), false},
    {"sla_p99_ms", "sla-p99-ms", "N", offsetof(consumer_opts, sla_p99_ms), true},
    {"peak_rate_msgs", "peak-rate-msgs", "N", offsetof(consumer_opts, peak_rate_msgs), true},
    {"degradation", "degradation", "STRATEGY", offsetof(consumer_opts, degradation), false},
};

static const char *field_value(const consumer_opts *o, const field *f)
{
    return *(const char *const *)(const void *)((const char *)o + f->offset);
}

/* The field of fields[] whose key is path, or NULL. */
static const field *field_at(const char *path)
{
    for (size_t i = 0; i < CHAN_ARRAY_SIZE(fields); i++)
        if (path != NULL && strcmp(path, fields[i].key) == 0)
            return &fields[i];
    return NULL;
}

/* True when s is an optional sign and decimal digits (an integer, maybe out of range). */
static bool integer_syntax(const char *s)
{
    if (*s == '+' || *s == '-')
        s++;
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/*
** Copy to diags chan_contract_consumer_check's diagnostics of the fields
** marked in failed (the others' values are the registry's to judge), with
** a hint naming the option where the library gives none.  Returns how many.
*/
static size_t library_diags(chan_diag_list *diags, const chan_consumer_fields *in,
                            const consumer_opts *o, const bool *failed)
{
    chan_diag_list *all = chan_diag_list_new();
    chan_contract_consumer c;
    size_t i, n = 0;

    memset(&c, 0, sizeof(c));
    (void)chan_contract_consumer_check(&c, in, "", all);
    chan_contract_consumer_dispose(&c);
    for (i = 0; i < chan_diag_list_count(all); i++) {
        const chan_diag *d = chan_diag_list_get(all, i);
        const field *f = field_at(d->path);
        chan_diag *copy;

        if (f == NULL || !failed[f - fields])
            continue;
        copy = chan_diag_add(diags, d->severity, NULL, 0, 0, d->rule, d->path, "%s", d->message);
        if (d->hint != NULL)
            chan_diag_set_hint(copy, "%s", d->hint);
        else
            chan_diag_set_hint(copy, "give --%s %s%s", f->option, f->arg,
                               f->integer && field_value(o, f) != NULL ? ", a whole number" : "");
        n++;
    }
    chan_diag_list_free(all);
    return n;
}

/*
** The request body of register from the options, or NULL after adding to
** diags a diagnostic per field that cannot be sent: missing, empty or not
** UTF-8, or a number that is not an integer.  The diagnostics are those of
** chan_contract_consumer_check (the registry's messages) for the fields as
** they would be sent: a number that is not an integer as a string
** ("sla_p99_ms must be an integer, not a string").  Other values are sent
** as given, for the registry to check.
*/
static json_t *consumer_body(const consumer_opts *o, const char *name, chan_diag_list *diags)
{
    chan_consumer_fields in;
    chan_field_value *values[] = {&in.principal,  &in.group,          &in.scenario,
                                  &in.sla_p99_ms, &in.peak_rate_msgs, &in.degradation};
    bool failed[CHAN_ARRAY_SIZE(fields)] = {false}, any = false;
    json_t *body = json_object();
    size_t i;

    static_assert(CHAN_ARRAY_SIZE(values) == CHAN_ARRAY_SIZE(fields), "one value per field");
    memset(&in, 0, sizeof(in));
    in.name.kind = CHAN_FIELD_STRING;
    in.name.text = name;
    in.name.len = strlen(name);
    in.name.type_name = "string";
    for (i = 0; i < CHAN_ARRAY_SIZE(fields); i++) {
        const field *f = &fields[i];
        const char *v = field_value(o, f);
        chan_field_value *fv = values[i];
        json_t *j = NULL;
        int64_t n;

        if (v != NULL) {
            /* The library takes "+5" as 5, and so does the registry's JSON. */
            fv->kind = f->integer && integer_syntax(v) ? CHAN_FIELD_INTEGER : CHAN_FIELD_STRING;
            fv->type_name = fv->kind == CHAN_FIELD_INTEGER ? "integer" : "string";
            fv->text = v;
            fv->len = strlen(v);
            if (fv->kind == CHAN_FIELD_INTEGER &&
                chan_parse_int64(&n, v[0] == '+' ? v + 1 : v, INT64_MIN, INT64_MAX) == 0)
                j = json_integer((json_int_t)n);
            else if (!f->integer && v[0] != '\0')
                j = json_string(v); /* NULL when v is not UTF-8 */
        }
        if (j == NULL)
            failed[i] = any = true;
        else
            json_object_set_new(body, f->key, j);
    }
    if (any && library_diags(diags, &in, o, failed) > 0) {
        json_decref(body);
        return NULL;
    }
    if (o->team != NULL)
        json_object_set_new(body, "team", json_string(o->team));
    return body;
}

/* The body of register, or a usage error after printing every problem. */
static int check_register(json_t **out, const consumer_opts *o, const char *channel,
                          const char *name)
{
    chan_diag_list *diags = chan_diag_list_new();
    size_t n;

    *out = consumer_body(o, name, diags);
    n = chan_diag_list_count(diags);
    if (n > 0) {
        cli_error("Consumer is invalid: %zu error%s.", n, n == 1 ? "" : "s");
        print_diags(channel, name, diags);
        fprintf(stderr, "Try \"%s %s --help\" for more information.\n", cli_progname, CMD_NAME);
    }
    chan_diag_list_free(diags);
    return n > 0 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
}

static int consumer_register(cli_registry *reg, const char *channel, const char *name,
                             const json_t *body, const consumer_opts *o)
{
    chan_error err = CHAN_ERROR_INIT;
    json_t *reply = NULL;
    long status = 0;
    int error, rc;

    error = cli_registry_consumer_put(&reply, &status, reg, channel, name, body, &err);
    if (error < 0)
        return request_failed(reg, channel, name, error, &err);
    print_warnings(reply);
    if (o->format == CLI_FORMAT_JSON) {
        rc = print_json(reply);
    } else {
        const char *state = json_string_value(json_object_get(reply, "state"));

        /* A registry without the approval flow has no "state": approved. */
        if (status == 202 || (state != NULL && strcmp(state, "pending") == 0))
            printf("consumer %s on %s: pending approval by the owner of %s\n", name, channel,
                   channel);
        else
            printf("consumer %s on %s: %s (%s)\n", name, channel,
                   status == 201 ? "registered" : "updated", state ? state : "approved");
        rc = CLI_EXIT_OK;
    }
    json_decref(reply);
    return rc;
}

/* ------------------------------------------------------------------ */
/* renew, remove, approve, reject                                       */
/* ------------------------------------------------------------------ */

static int consumer_post(cli_registry *reg, const char *action_name, const char *channel,
                         const char *name, const consumer_opts *o)
{
    chan_error err = CHAN_ERROR_INIT;
    json_t *body = NULL, *reply = NULL;
    int error, rc;

    if (o->reason != NULL)
        body = json_pack("{s:s}", "reason", o->reason);
    error = cli_registry_consumer_post(&reply, reg, channel, name, action_name, body, &err);
    json_decref(body);
    if (error < 0)
        return request_failed(reg, channel, name, error, &err);
    if (o->format == CLI_FORMAT_JSON) {
        rc = print_json(reply);
    } else {
        if (strcmp(action_name, "renew") == 0)
            printf("consumer %s on %s: renewed\n", name, channel);
        else if (strcmp(action_name, "approve") == 0)
            printf("consumer %s on %s: approved\n", name, channel);
        else
            printf("consumer %s on %s: rejected\n", name, channel);
        rc = CLI_EXIT_OK;
    }
    json_decref(reply);
    return rc;
}

static int consumer_remove(cli_registry *reg, const char *channel, const char *name,
                           const consumer_opts *o)
{
    chan_error err = CHAN_ERROR_INIT;
    json_t *reply = NULL;
    int error, rc = CLI_EXIT_OK;

    if ((error = cli_registry_consumer_remove(&reply, reg, channel, name, &err)) < 0)
        return request_failed(reg, channel, name, error, &err);
    if (o->format == CLI_FORMAT_JSON) {
        /* 204 has no body: say what the 200 reply says. */
        if (reply == NULL)
            reply =
                json_pack("{s:s, s:s, s:b}", "channel", channel, "consumer", name, "deleted", 1);
        rc = print_json(reply);
    } else {
        printf("consumer %s on %s: removed\n", name, channel);
    }
    json_decref(reply);
    return rc;
}

/* ------------------------------------------------------------------ */
/* list                                                                 */
/* ------------------------------------------------------------------ */

#define LIST_COLS 8

/*
** Keep the consumers of doc that pass the filters the registry did not
** apply: only those of channel (when not NULL), only pending ones.
*/
static void filter_consumers(json_t *doc, const char *channel, bool pending)
{
    json_t *list = json_object_get(doc, "consumers");
    size_t i = 0;

    while (i < json_array_size(list)) {
        const json_t *c = json_array_get(list, i);
        const char *ch = json_string_value(json_object_get(c, "channel"));
        const char *state = json_string_value(json_object_get(c, "state"));

        if ((channel != NULL && ch != NULL && strcmp(ch, channel) != 0) ||
            (pending && (state == NULL || strcmp(state, "pending") != 0)))
            json_array_remove(list, i);
        else
            i++;
    }
}

/* Print the consumers as a table; cells[row * LIST_COLS + col] are owned. */
static void print_table(char **cells, size_t n_rows)
{
    size_t width[LIST_COLS] = {0}, r, c;

    for (r = 0; r < n_rows; r++)
        for (c = 0; c < LIST_COLS; c++) {
            size_t len = strlen(cells[r * LIST_COLS + c]);

            if (len > width[c])
                width[c] = len;
        }
    for (r = 0; r < n_rows; r++) {
        for (c = 0; c < LIST_COLS; c++) {
            if (c + 1 == LIST_COLS)
                printf("%s\n", cells[r * LIST_COLS + c]);
            else
                printf("%-*s  ", (int)width[c], cells[r * LIST_COLS + c]);
        }
    }
}

static int consumer_list(cli_registry *reg, const char *channel, const consumer_opts *o)
{
    static const char *const header[LIST_COLS] = {"CHANNEL", "NAME",   "PRINCIPAL", "GROUP",
                                                  "STATE",   "ORIGIN", "AGE_DAYS",  "STALE"};
    static const char *const keys[LIST_COLS] = {"channel", "name",   "principal", "group",
                                                "state",   "origin", "age_days",  "stale"};
    chan_error err = CHAN_ERROR_INIT;
    /* One channel without --team: its own route; else the route of every channel. */
    bool by_channel = channel != NULL && o->team == NULL;
    const json_t *list, *c;
    json_t *doc = NULL;
    char **cells = NULL;
    size_t i, j, n_rows;
    int error;

    error = cli_registry_consumer_list(&doc, reg, by_channel ? channel : NULL,
                                       by_channel || !o->pending ? NULL : "pending", o->team, &err);
    if (error < 0)
        return request_failed(reg, channel ? channel : "-", NULL, error, &err);
    filter_consumers(doc, channel, o->pending);
    if (o->format == CLI_FORMAT_JSON) {
        error = print_json(doc);
        json_decref(doc);
        return error;
    }
    list = json_object_get(doc, "consumers");
    n_rows = json_array_size(list) + 1;
    cells = chan_xcalloc(n_rows * LIST_COLS, sizeof(*cells));
    for (j = 0; j < LIST_COLS; j++)
        cells[j] = chan_xstrdup(header[j]);
    json_array_foreach(list, i, c)
    {
        for (j = 0; j < LIST_COLS; j++) {
            const json_t *v = json_object_get(c, keys[j]);
            char **cell = &cells[(i + 1) * LIST_COLS + j];

            if (j == 0 && v == NULL && channel != NULL)
                *cell = chan_xstrdup(channel);
            else if (j == LIST_COLS - 1)
                *cell = chan_xstrdup(json_is_true(v) ? "stale" : "-");
            else
                *cell = cli_registry_value_text(v);
        }
    }
    print_table(cells, n_rows);
    for (i = 0; i < n_rows * LIST_COLS; i++)
        free(cells[i]);
    free(cells);
    json_decref(doc);
    return CLI_EXIT_OK;
}

/* ------------------------------------------------------------------ */
/* Entry point                                                          */
/* ------------------------------------------------------------------ */

/*
** Check the operands and options of action a.  Returns CLI_EXIT_OK or a
** usage error (printed).
*/
static int check_action(const action *a, const cli_args *args, const consumer_opts *o)
{
    int n = cli_args_count(args) - 1;
    size_t i;

    if (n < a->operands_min)
        return cli_usage_error(CMD_NAME,
                               n == 0 ? "\"consumer %s\" needs CHANNEL and NAME"
                                      : "\"consumer %s\" needs NAME after CHANNEL",
                               a->name);
    if (n > a->operands_max)
        return cli_usage_error(CMD_NAME, "too many arguments for \"consumer %s\"", a->name);
    if (!(a->opts & O_FIELDS))
        for (i = 0; i < CHAN_ARRAY_SIZE(fields); i++)
            if (field_value(o, &fields[i]) != NULL)
                return cli_usage_error(CMD_NAME, "--%s applies to \"consumer register\"",
                                       fields[i].option);
    if (!(a->opts & O_TEAM) && o->team != NULL)
        return cli_usage_error(CMD_NAME, "--team applies to \"consumer register\" and "
                                         "\"consumer list\"");
    if (!(a->opts & O_PENDING) && o->pending)
        return cli_usage_error(CMD_NAME, "--pending applies to \"consumer list\"");
    if (!(a->opts & O_REASON) && o->reason != NULL)
        return cli_usage_error(CMD_NAME, "--reason applies to \"consumer reject\"");
    if ((a->opts & O_REASON) && (o->reason == NULL || o->reason[0] == '\0'))
        return cli_usage_error(CMD_NAME, "reason is %s: give --reason TEXT",
                               o->reason == NULL ? "missing" : "empty");
    return CLI_EXIT_OK;
}

int cmd_consumer(int argc, char **argv)
{
    consumer_opts o;
    cli_args args;
    cli_registry *reg = NULL;
    const action *a = NULL;
    const char *what, *channel = NULL, *name = NULL;
    json_t *body = NULL;
    size_t i;
    int rc;

    memset(&o, 0, sizeof(o));
    if (cli_args_parse(&args, &o, &spec, argc, argv) == CLI_ARGS_EXIT)
        return args.exit;
    o.format = args.format;
    if (cli_args_count(&args) == 0)
        return cli_usage_error(CMD_NAME, "missing what to do (register, renew, remove, list, "
                                         "approve or reject)");
    what = cli_args_operand(&args, 0);
    for (i = 0; i < CHAN_ARRAY_SIZE(actions) && a == NULL; i++)
        if (strcmp(actions[i].name, what) == 0)
            a = &actions[i];
    if (a == NULL)
        return cli_usage_error(CMD_NAME,
                               "unknown action \"%s\" (expected register, renew, remove, list, "
                               "approve or reject)",
                               what);
    if ((rc = check_action(a, &args, &o)) != CLI_EXIT_OK)
        return rc;
    if (cli_args_count(&args) > 1)
        channel = cli_args_operand(&args, 1);
    if (cli_args_count(&args) > 2)
        name = cli_args_operand(&args, 2);
    if (a->opts & O_FIELDS) {
        assert(channel != NULL && name != NULL);
        if ((rc = check_register(&body, &o, channel, name)) != CLI_EXIT_OK)
            return rc;
    }

    if ((rc = cli_args_open_registry(&reg, &args)) != CLI_EXIT_OK)
        goto done;
    if (strcmp(a->name, "register") == 0)
        rc = consumer_register(reg, channel, name, body, &o);
    else if (strcmp(a->name, "remove") == 0)
        rc = consumer_remove(reg, channel, name, &o);
    else if (strcmp(a->name, "list") == 0)
        rc = consumer_list(reg, channel, &o);
    else
        rc = consumer_post(reg, a->name, channel, name, &o);
    cli_registry_free(reg);
done:
    json_decref(body);
    return rc;
}
