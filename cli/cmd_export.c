/*
 * cmd_export.c - `chanctl export`: the registry's Kafka admission state for
 * tools that provision the cluster.
 *
 *   chanctl export strimzi         one Strimzi KafkaUser per registered principal
 *                                  (SCRAM-SHA-512, its ACLs, consumerByteRate)
 *   chanctl export kafka-configs   the equivalent kafka-acls.sh / kafka-configs.sh
 *                                  commands
 *
 * The channels come from the registry (GET /v1/channels); the export itself
 * is computed here with chan_acl_export_strimzi / chan_acl_export_shell, from
 * the same desired set the daemon's reconciler uses, so only registered
 * consumers and producers of live channels appear.  The result goes to
 * stdout: YAML for kubectl apply, a shell script for sh.
 *
 * Access that lost its registration is taken away by the next export: the
 * KafkaUsers are labelled for `kubectl apply --prune`, and kafka-configs
 * --since FILE|applied adds the removal commands for what the previous
 * export (its state line) or the reconciler's last apply (GET
 * /v1/acl/applied) granted and is no longer desired.
 */
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan/acl.h"
#include "chan/common.h"
#include "chan/model.h"
#include "cli.h"
#include "cmds.h"
#include "options.h"
#include "registry_client.h"

#define DEFAULT_CLUSTER           "my-cluster"
#define DEFAULT_AVG_MESSAGE_BYTES CHAN_ACL_DEFAULT_AVG_MESSAGE_BYTES
#define SINCE_MAX_SIZE            (64 * 1024 * 1024)
#define STR_(x)                   #x
#define STR(x)                    STR_(x)

typedef struct export_opts {
    const char *cluster;
    const char *ns;
    const char *bootstrap;
    const char *command_config;
    const char *avg;
    const char *headroom;
    const char *as_of;
    const char *strimzi_api;
    const char *instance;
    const char *since;
} export_opts;

static const cli_opt_spec opt_specs[] = {
    {"cluster", 0, "NAME",
     "strimzi: the Kafka resource's name, for the strimzi.io/cluster label "
     "(default: " DEFAULT_CLUSTER ")",
     offsetof(export_opts, cluster)},
    {"namespace", 0, "NS", "strimzi: metadata.namespace (default: none)",
     offsetof(export_opts, ns)},
    {"bootstrap-server", 0, "H:P", "kafka-configs: the brokers (required)",
     offsetof(export_opts, bootstrap)},
    {"command-config", 0, "FILE", "kafka-configs: admin client properties file",
     offsetof(export_opts, command_config)},
    {"avg-message-bytes", 0, "N",
     "average message size for quotas (default: " STR(DEFAULT_AVG_MESSAGE_BYTES) ")",
     offsetof(export_opts, avg)},
    {"headroom", 0, "X", "quota multiplier, at least 1 (default: 1)",
     offsetof(export_opts, headroom)},
    {"as-of", 0, "DATE", "judge retirement on DATE (default: today, UTC)",
     offsetof(export_opts, as_of)},
    {"strimzi-api", 0, "VERSION",
     "strimzi: kafka.strimzi.io API version, v1 (Strimzi 0.49 and later, the default) or "
     "v1beta2 (older operators)",
     offsetof(export_opts, strimzi_api)},
    {"instance", 0, "NAME",
     "strimzi: value of the chanreg.io/instance label that selects this registry's users for "
     "kubectl apply --prune (default: the cluster name)",
     offsetof(export_opts, instance)},
    {"since", 0, "FILE|applied",
     "kafka-configs: also print the removal commands for what FILE (an earlier kafka-configs "
     "export) or the registry's last ACL apply granted and is no longer registered",
     offsetof(export_opts, since)},
};

static const cli_cmd_spec spec = {
    .name = "export",
    .usage = "strimzi [--cluster NAME] [--namespace NS] [--strimzi-api v1|v1beta2] "
             "[--instance NAME] [OPTION]...\n"
             "kafka-configs --bootstrap-server HOST:PORT [--command-config FILE] "
             "[--since FILE|applied] [OPTION]...",
    .description = "Export the Kafka admission state of a registry: one Strimzi KafkaUser per\n"
                   "registered principal (SCRAM-SHA-512 authentication, its ACLs and a consumer\n"
                   "byte rate quota from its registered peak rate), or the same as kafka-acls.sh\n"
                   "and kafka-configs.sh commands.  Only registered consumers and producers of\n"
                   "channels that are not retired get anything.",
    CLI_CMD_OPTS(opt_specs),
    .registry = "registry to read (default: $" CLI_REGISTRY_URL_ENV ")",
    .notes = "consumerByteRate = ceil(sum of the principal's peak_rate_msgs x message size x\n"
             "headroom); producerByteRate = ceil(sum of peak_qps of the channels it produces to\n"
             "x message size x headroom).  The message size is the contract's\n"
             "avg_message_bytes, else --avg-message-bytes.\n"
             "Every KafkaUser is labelled app.kubernetes.io/managed-by=chanreg and\n"
             "chanreg.io/instance=NAME; the YAML starts with the kubectl apply --prune command\n"
             "that also deletes the users whose registration is gone.  A kafka-configs export\n"
             "ends with a \"# chanreg-state v1\" line recording what it grants; give the saved\n"
             "script to the next export as --since FILE.",
    .exit_status = "0 exported, 1 the registry's data or the options cannot be exported\n"
                   "(e.g. a principal that cannot be a KafkaUser), 2 usage error (also a --since\n"
                   "FILE that cannot be read or has no state line), 3 registry unreachable (or\n"
                   "no recorded ACL apply for --since applied) or output failed.",
};

/* A finite number > min_exclusive (or >= min_inclusive), from text. */
static int parse_number(double *out, const char *text, double min, bool inclusive)
{
    char *end = NULL;
    double v;

    if (text == NULL || *text == '\0')
        return -1;
    v = strtod(text, &end);
    if (end == text || *end != '\0' || !isfinite(v) || (inclusive ? v < min : v <= min))
        return -1;
    *out = v;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Channels from the registry                                           */
/* ------------------------------------------------------------------ */

/*
** Turn the reply of GET /v1/channels into channel records, one
** chan_channel_record_from_json per element of its "channels" array.
*/
static int channels_from_json(chan_channel_record ***out, size_t *out_n, const json_t *doc,
                              chan_error *err)
{
    const json_t *list = json_object_get(doc, "channels"), *ch;
    chan_channel_record **recs = NULL;
    size_t n = 0, i;
    int error = 0;

    *out = NULL;
    *out_n = 0;
    if (!json_is_array(list))
        return chan_error_set(err, CHAN_EINTERNAL,
                              "the registry's reply to GET /v1/channels has no \"channels\" array");
    recs = chan_xcalloc(json_array_size(list) + 1, sizeof(*recs));
    json_array_foreach(list, i, ch)
    {
        if ((error = chan_channel_record_from_json(&recs[n], ch, err)) < 0) {
            chan_error_prefix(err,
                              "the registry's reply to GET /v1/channels has a malformed "
                              "channel at index %zu",
                              i);
            error = CHAN_EINTERNAL;
            if (err != NULL)
                err->code = error;
            goto cleanup;
        }
        n++;
    }
    *out = recs;
    *out_n = n;
    recs = NULL;

cleanup:
    chan_channel_record_list_free(recs, n);
    return error;
}

/* ------------------------------------------------------------------ */
/* The previous state (--since)                                         */
/* ------------------------------------------------------------------ */

/*
** The state --since names: the state line of FILE, or the registry's
** GET /v1/acl/applied for "applied".  Prints the error.
** @return CLI_EXIT_OK, CLI_EXIT_USAGE (FILE unreadable or without a valid
**         state) or CLI_EXIT_RUNTIME (the registry's applied state unavailable)
*/
static int load_previous(chan_acl_set **out, char ***out_users, size_t *out_n, cli_registry *reg,
                         const char *since)
{
    chan_error err = CHAN_ERROR_INIT;
    json_t *doc = NULL;
    char *text = NULL;
    int rc = CLI_EXIT_OK;

    if (strcmp(since, "applied") == 0) {
        if (cli_registry_request(&doc, NULL, reg, "GET", "/v1/acl/applied", NULL, &err) < 0) {
            if (err.code == CHAN_ENOTFOUND)
                chan_error_hint(&err, "the registry has no recorded ACL apply; give the previous "
                                      "kafka-configs export as --since FILE");
            cli_error_print(&err);
            return CLI_EXIT_RUNTIME;
        }
        text = json_dumps(doc, JSON_COMPACT);
        if (text == NULL || chan_acl_export_state_parse(out, out_users, out_n, text, &err) < 0) {
            chan_error_prefix(&err, "the registry's reply to GET /v1/acl/applied");
            cli_error_print(&err);
            rc = CLI_EXIT_RUNTIME;
        }
        goto cleanup;
    }
    if (chan_file_read(&text, NULL, since, SINCE_MAX_SIZE, &err) < 0 ||
        chan_acl_export_state_parse(out, out_users, out_n, text, &err) < 0) {
        chan_error_prefix(&err, "--since %s", since);
        cli_error_print(&err);
        rc = CLI_EXIT_USAGE;
    }

cleanup:
    free(text);
    json_decref(doc);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Command                                                              */
/* ------------------------------------------------------------------ */

int cmd_export(int argc, char **argv)
{
    export_opts o = {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    const char *cluster, *ns, *bootstrap, *command_config, *as_of, *what;
    cli_args args;
    chan_acl_export_options opts = CHAN_ACL_EXPORT_OPTIONS_INIT;
    double avg = DEFAULT_AVG_MESSAGE_BYTES, headroom = 1.0;
    chan_channel_record **channels = NULL;
    chan_acl_set *previous = NULL;
    char **quota_users = NULL;
    size_t n_quota_users = 0;
    chan_error err = CHAN_ERROR_INIT;
    cli_registry *reg = NULL;
    json_t *doc = NULL;
    char *text = NULL;
    size_t n = 0;
    bool strimzi;
    int rc = CLI_EXIT_OK;

    if (cli_args_parse(&args, &o, &spec, argc, argv) == CLI_ARGS_EXIT)
        return args.exit;
    cluster = o.cluster;
    ns = o.ns;
    bootstrap = o.bootstrap;
    command_config = o.command_config;
    as_of = o.as_of;
    if (o.avg && parse_number(&avg, o.avg, 0.0, false) < 0)
        return cli_usage_error("export", "--avg-message-bytes must be a number above 0, got \"%s\"",
                               o.avg);
    if (o.headroom && parse_number(&headroom, o.headroom, 1.0, true) < 0)
        return cli_usage_error("export", "--headroom must be a number of at least 1, got \"%s\"",
                               o.headroom);
    if (cli_args_count(&args) == 0)
        return cli_usage_error("export", "missing what to export (strimzi or kafka-configs)");
    if (cli_args_count(&args) > 1)
        return cli_usage_error("export", "too many arguments");
    what = cli_args_operand(&args, 0);
    if (strcmp(what, "strimzi") == 0) {
        strimzi = true;
        if (bootstrap || command_config || o.since)
            return cli_usage_error("export", "--bootstrap-server, --command-config and --since "
                                             "apply to \"export kafka-configs\" only");
        if (o.strimzi_api && strcmp(o.strimzi_api, "v1") != 0 &&
            strcmp(o.strimzi_api, "v1beta2") != 0)
            return cli_usage_error("export", "--strimzi-api must be v1 or v1beta2, got \"%s\"",
                                   o.strimzi_api);
    } else if (strcmp(what, "kafka-configs") == 0) {
        strimzi = false;
        if (cluster || ns || o.strimzi_api || o.instance)
            return cli_usage_error("export", "--cluster, --namespace, --strimzi-api and "
                                             "--instance apply to \"export strimzi\" only");
        if (o.since && o.since[0] == '\0')
            return cli_usage_error("export", "--since needs a FILE or \"applied\"");
        if (bootstrap == NULL || bootstrap[0] == '\0')
            return cli_usage_error("export", "export kafka-configs needs --bootstrap-server "
                                             "HOST:PORT");
    } else {
        return cli_usage_error("export",
                               "unknown export \"%s\" (expected strimzi or kafka-configs)", what);
    }
    if (as_of) {
        int64_t days;

        if (!chan_date_parse(as_of, &days))
            return cli_usage_error("export", "--as-of must be a date YYYY-MM-DD, got \"%s\"",
                                   as_of);
    }

    if ((rc = cli_args_open_registry(&reg, &args)) != CLI_EXIT_OK)
        return rc;
    if (o.since &&
        (rc = load_previous(&previous, &quota_users, &n_quota_users, reg, o.since)) != CLI_EXIT_OK)
        goto cleanup;
    /* Every channel: the export must not miss one on a later page. */
    if (cli_registry_list_all(&doc, reg, "/v1/channels", "channels", 1000, &err) < 0 ||
        channels_from_json(&channels, &n, doc, &err) < 0) {
        cli_error_print(&err);
        rc = CLI_EXIT_RUNTIME;
        goto cleanup;
    }
    opts.as_of = as_of;
    opts.cluster = cluster ? cluster : DEFAULT_CLUSTER;
    opts.namespace_ = ns;
    opts.bootstrap_servers = bootstrap;
    opts.command_config = command_config;
    opts.avg_message_bytes = avg;
    opts.quota_headroom = headroom;
    opts.strimzi_api = o.strimzi_api;
    opts.instance = o.instance;
    opts.previous = previous;
    opts.previous_quota_users = (const char *const *)quota_users;
    opts.n_previous_quota_users = n_quota_users;
    if ((strimzi ? chan_acl_export_strimzi : chan_acl_export_shell)(
            &text, (const chan_channel_record *const *)channels, n, &opts, &err) < 0) {
        if (err.path[0] != '\0')
            chan_error_detail(&err, "at %s of the registry's channels", err.path);
        cli_error_print(&err);
        rc = err.code == CHAN_EINVALID ? CLI_EXIT_FAILED : CLI_EXIT_RUNTIME;
        goto cleanup;
    }
    fputs(text, stdout);

cleanup:
    free(text);
    chan_acl_export_state_users_free(quota_users, n_quota_users);
    chan_acl_set_free(previous);
    chan_channel_record_list_free(channels, n);
    json_decref(doc);
    cli_registry_free(reg);
    return rc;
}
