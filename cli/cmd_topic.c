/*
 * cmd_topic.c - `chanctl topic`: the topic configs the contracts declare
 * (retention.ms from retention_hours) against the cluster, through a
 * registry.
 *
 *   chanctl topic plan             the configs that differ, and what an apply sends
 *   chanctl topic apply [-n]       send them (admin); --dry-run shows exactly
 *                                  what would be sent and sends nothing
 *   chanctl topic list             the cluster's topics: managed, unmanaged, excluded
 *
 * Everything is computed by the daemon (GET /v1/topics/plan, POST
 * /v1/topics/apply, GET /v1/topics); this command prints the answers as
 * text, or the server's JSON with --format json.
 *
 * Exit status of plan: 0 no drift, 1 drift, 3 registry or cluster not read.
 * apply: 0 applied (or nothing to do), 1 a topic was refused, 3 failed.
 * list: 0 no unmanaged topic, 1 some, 3 the topics could not be read.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan/common.h"
#include "cli.h"
#include "cmds.h"
#include "options.h"
#include "registry_client.h"

typedef struct topic_opts {
    bool dry_run;
    bool create_missing;
    const char *partitions;
    const char *replication_factor;
} topic_opts;

static const cli_opt_spec opt_specs[] = {
    {"dry-run", 'n', NULL, "apply: compute the same plan and show what would be sent, send nothing",
     offsetof(topic_opts, dry_run)},
    {"create-missing", 0, NULL,
     "apply: also create the contracts' topics that do not exist (needs --partitions)",
     offsetof(topic_opts, create_missing)},
    {"partitions", 0, "N", "apply --create-missing: partitions of a created topic",
     offsetof(topic_opts, partitions)},
    {"replication-factor", 0, "N",
     "apply --create-missing: replication factor of a created topic (default 1)",
     offsetof(topic_opts, replication_factor)},
};

static const cli_cmd_spec spec = {
    .name = "topic",
    .usage = "plan [OPTION]...\n"
             "apply [--dry-run] [--create-missing --partitions N [--replication-factor N]] "
             "[OPTION]...\n"
             "list [OPTION]...",
    .description = "Topic configuration as part of the contract, through a registry: the configs\n"
                   "of the managed topics that differ from their contracts (retention.ms from\n"
                   "retention_hours), applying the contracts' values with the full set of each\n"
                   "topic's dynamic configs (nothing else is reset), and the cluster's topics.\n"
                   "--format json prints the server's JSON.",
    CLI_CMD_OPTS(opt_specs),
    .formats = CLI_FORMATS_TEXT_JSON,
    .registry = "registry to ask (default: $" CLI_REGISTRY_URL_ENV ")",
    .exit_status = "plan: 0 no drift, 1 drift, 3 registry or cluster not read;\n"
                   "apply: 0 applied or nothing to do, 1 a topic refused, 3 failed;\n"
                   "list: 0 no unmanaged topic, 1 some, 3 topics not read; 2 usage error.",
};

static char *member_text(const json_t *obj, const char *key)
{
    return cli_registry_value_text(json_object_get(obj, key));
}

/* "retention.ms=604800000 cleanup.policy=compact" of a configs object. */
static void print_configs(const json_t *configs)
{
    const char *key;
    json_t *value;

    json_object_foreach((json_t *)configs, key, value)
    {
        json_t *name = json_string(key);
        char *k = cli_registry_value_text(name);
        char *v = cli_registry_value_text(value);

        printf(" %s=%s", k, v);
        json_decref(name);
        free(k);
        free(v);
    }
}

static void print_plan(const json_t *plan)
{
    const json_t *item;
    size_t i;

    json_array_foreach(json_object_get(plan, "changes"), i, item)
    {
        char *topic = member_text(item, "topic"), *key = member_text(item, "key");
        char *actual = member_text(item, "actual"), *desired = member_text(item, "desired");

        printf("~ %s %s: %s -> %s%s\n", topic, key, actual, desired,
               json_is_true(json_object_get(item, "dynamic")) ? "" : " (now the broker default)");
        free(topic);
        free(key);
        free(actual);
        free(desired);
    }
    json_array_foreach(json_object_get(plan, "alters"), i, item)
    {
        char *topic = member_text(item, "topic");

        if (json_is_string(json_object_get(item, "refused"))) {
            char *why = member_text(item, "refused");

            printf("! %s: not altered: %s\n", topic, why);
            free(why);
        } else {
            printf("  AlterConfigs %s:", topic);
            print_configs(json_object_get(item, "configs"));
            putchar('\n');
        }
        free(topic);
    }
    json_array_foreach(json_object_get(plan, "missing"), i, item)
    {
        char *topic = cli_registry_value_text(item);

        printf("? %s: the topic does not exist on the cluster\n", topic);
        free(topic);
    }
    printf("%zu change(s) on %zu topic(s) checked, %zu channel topic(s) missing\n",
           json_array_size(json_object_get(plan, "changes")),
           (size_t)json_integer_value(json_object_get(plan, "checked")),
           json_array_size(json_object_get(plan, "missing")));
}

static int print_doc(const json_t *doc, cli_format format)
{
    chan_error err = CHAN_ERROR_INIT;

    if (format != CLI_FORMAT_JSON)
        return 0;
    if (cli_registry_print_json(doc, &err) < 0) {
        cli_error_print(&err);
        return -1;
    }
    return 1;
}

static int topic_plan(cli_registry *reg, cli_format format)
{
    chan_error err = CHAN_ERROR_INIT;
    json_t *doc = NULL, *plan;
    int rc = CLI_EXIT_RUNTIME, printed;

    if (cli_registry_request(&doc, NULL, reg, "GET", "/v1/topics/plan", NULL, &err) < 0) {
        cli_error_print(&err);
        return CLI_EXIT_RUNTIME;
    }
    plan = json_object_get(doc, "plan");
    if (!json_is_object(plan) || !json_is_array(json_object_get(plan, "changes"))) {
        cli_error("the registry's reply to GET /v1/topics/plan is not a plan");
        goto cleanup;
    }
    if ((printed = print_doc(doc, format)) < 0)
        goto cleanup;
    if (printed == 0)
        print_plan(plan);
    rc = json_array_size(json_object_get(plan, "changes")) > 0 ? CLI_EXIT_FAILED : CLI_EXIT_OK;

cleanup:
    json_decref(doc);
    return rc;
}

static int topic_apply(cli_registry *reg, const topic_opts *o, cli_format format)
{
    chan_error err = CHAN_ERROR_INIT;
    json_t *doc = NULL, *item, *body = json_object();
    chan_buf path = CHAN_BUF_INIT;
    long status = 0;
    int error, printed, rc = CLI_EXIT_RUNTIME;
    size_t i;

    chan_buf_printf(&path, "/v1/topics/apply?dry_run=%s", o->dry_run ? "true" : "false");
    if (o->create_missing)
        chan_buf_printf(&path, "&create_missing=true&partitions=%s&replication_factor=%s",
                        o->partitions, o->replication_factor ? o->replication_factor : "1");
    error = cli_registry_request(&doc, &status, reg, "POST", chan_buf_cstr(&path), body, &err);
    chan_buf_dispose(&path);
    json_decref(body);
    if (error < 0 && doc == NULL) {
        doc = cli_registry_last_error(reg) ? json_deep_copy(cli_registry_last_error(reg)) : NULL;
        if (!json_is_array(json_object_get(doc, "results"))) {
            cli_error_print(&err);
            json_decref(doc);
            return CLI_EXIT_RUNTIME;
        }
    }
    if ((printed = print_doc(doc, format)) < 0)
        goto cleanup;
    if (printed == 0) {
        print_plan(json_object_get(doc, "plan"));
        json_array_foreach(json_object_get(doc, "results"), i, item)
        {
            char *topic = member_text(item, "topic"), *st = member_text(item, "status");

            printf("%s %s:", st, topic);
            print_configs(json_object_get(item, "configs"));
            if (json_is_string(json_object_get(item, "message"))) {
                char *m = member_text(item, "message");

                printf(" (%s)", m);
                free(m);
            }
            putchar('\n');
            free(topic);
            free(st);
        }
    }
    if (error < 0 || json_integer_value(json_object_get(doc, "failed")) > 0)
        rc = CLI_EXIT_RUNTIME;
    else if (json_integer_value(json_object_get(doc, "refused")) > 0)
        rc = CLI_EXIT_FAILED;
    else
        rc = CLI_EXIT_OK;

cleanup:
    json_decref(doc);
    return rc;
}

static int topic_list(cli_registry *reg, cli_format format)
{
    chan_error err = CHAN_ERROR_INIT;
    json_t *doc = NULL, *item;
    const char *state;
    int printed, rc = CLI_EXIT_RUNTIME;
    size_t i;

    if (cli_registry_request(&doc, NULL, reg, "GET", "/v1/topics?refresh=true", NULL, &err) < 0) {
        cli_error_print(&err);
        return CLI_EXIT_RUNTIME;
    }
    if ((printed = print_doc(doc, format)) < 0)
        goto cleanup;
    state = json_string_value(json_object_get(doc, "state"));
    if (state == NULL || strcmp(state, "known") != 0) {
        char *why = member_text(doc, "error");

        cli_error("the registry could not read the cluster's topics: %s", why);
        free(why);
        goto cleanup;
    }
    if (printed == 0) {
        static const char *const lists[] = {"managed", "unmanaged", "excluded"};

        for (size_t l = 0; l < CHAN_ARRAY_SIZE(lists); l++) {
            json_array_foreach(json_object_get(doc, lists[l]), i, item)
            {
                char *name = cli_registry_value_text(item);

                printf("%-9s %s\n", lists[l], name);
                free(name);
            }
        }
    }
    rc = json_array_size(json_object_get(doc, "unmanaged")) > 0 ? CLI_EXIT_FAILED : CLI_EXIT_OK;

cleanup:
    json_decref(doc);
    return rc;
}

/* 1 to 6 decimal digits, not 0: safe to put into a query string. */
static bool is_count(const char *s)
{
    size_t i;

    for (i = 0; s[i]; i++) {
        if (s[i] < '0' || s[i] > '9' || i >= 6)
            return false;
    }
    return i > 0 && s[0] != '0';
}

int cmd_topic(int argc, char **argv)
{
    topic_opts o = {false, false, NULL, NULL};
    cli_registry *reg = NULL;
    const char *what;
    cli_args args;
    int rc;

    if (cli_args_parse(&args, &o, &spec, argc, argv) == CLI_ARGS_EXIT)
        return args.exit;
    if (cli_args_count(&args) == 0)
        return cli_usage_error("topic", "missing what to do (plan, apply or list)");
    what = cli_args_operand(&args, 0);
    if (strcmp(what, "plan") != 0 && strcmp(what, "apply") != 0 && strcmp(what, "list") != 0)
        return cli_usage_error("topic", "unknown action \"%s\" (expected plan, apply or list)",
                               what);
    if (cli_args_count(&args) > 1)
        return cli_usage_error("topic", "too many arguments");
    if ((o.dry_run || o.create_missing || o.partitions || o.replication_factor) &&
        strcmp(what, "apply") != 0)
        return cli_usage_error("topic", "--dry-run, --create-missing, --partitions and "
                                        "--replication-factor apply to \"topic apply\" only");
    if (o.create_missing != (o.partitions != NULL) ||
        (o.replication_factor != NULL && !o.create_missing))
        return cli_usage_error("topic", "--create-missing needs --partitions N (and "
                                        "--partitions/--replication-factor need --create-missing)");
    if (o.create_missing &&
        (!is_count(o.partitions) || (o.replication_factor && !is_count(o.replication_factor))))
        return cli_usage_error("topic", "--partitions and --replication-factor take a positive "
                                        "number");
    if ((rc = cli_args_open_registry(&reg, &args)) != CLI_EXIT_OK)
        return rc;
    if (strcmp(what, "plan") == 0)
        rc = topic_plan(reg, args.format);
    else if (strcmp(what, "apply") == 0)
        rc = topic_apply(reg, &o, args.format);
    else
        rc = topic_list(reg, args.format);
    cli_registry_free(reg);
    return rc;
}
