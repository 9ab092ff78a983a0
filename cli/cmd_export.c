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
#define DEFAULT_AVG_MESSAGE_BYTES 1024
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
};

static const cli_cmd_spec spec = {
    .name = "export",
    .usage = "strimzi [--cluster NAME] [--namespace NS] [OPTION]...\n"
             "kafka-configs --bootstrap-server HOST:PORT [--command-config FILE] [OPTION]...",
    .description = "Export the Kafka admission state of a registry: one Strimzi KafkaUser per\n"
                   "registered principal (SCRAM-SHA-512 authentication, its ACLs and a consumer\n"
                   "byte rate quota from its registered peak rate), or the same as kafka-acls.sh\n"
                   "and kafka-configs.sh commands.  Only registered consumers and producers of\n"
                   "channels that are not retired get anything.",
    CLI_CMD_OPTS(opt_specs),
    .registry = "registry to read (default: $" CLI_REGISTRY_URL_ENV ")",
    .notes = "consumerByteRate = ceil(sum of the principal's peak_rate_msgs x avg-message-bytes\n"
             "x headroom).",
    .exit_status = "0 exported, 1 the registry's data or the options cannot be exported\n"
                   "(e.g. a principal that cannot be a KafkaUser), 2 usage error, 3 registry\n"
                   "unreachable or output failed.",
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
/* Command                                                              */
/* ------------------------------------------------------------------ */

int cmd_export(int argc, char **argv)
{
    export_opts o = {NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    const char *cluster, *ns, *bootstrap, *command_config, *as_of, *what;
    cli_args args;
    chan_acl_export_options opts = CHAN_ACL_EXPORT_OPTIONS_INIT;
    double avg = DEFAULT_AVG_MESSAGE_BYTES, headroom = 1.0;
    chan_channel_record **channels = NULL;
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
        if (bootstrap || command_config)
            return cli_usage_error("export", "--bootstrap-server and --command-config apply to "
                                             "\"export kafka-configs\" only");
    } else if (strcmp(what, "kafka-configs") == 0) {
        strimzi = false;
        if (cluster || ns)
            return cli_usage_error("export",
                                   "--cluster and --namespace apply to \"export strimzi\" only");
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
    if (cli_registry_request(&doc, NULL, reg, "GET", "/v1/channels", NULL, &err) < 0 ||
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
    chan_channel_record_list_free(channels, n);
    json_decref(doc);
    cli_registry_free(reg);
    return rc;
}
