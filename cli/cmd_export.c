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
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan/acl.h"
#include "chan/common.h"
#include "chan/store.h"
#include "cli.h"
#include "cmds.h"
#include "registry_client.h"

#define DEFAULT_CLUSTER           "my-cluster"
#define DEFAULT_AVG_MESSAGE_BYTES 1024.0

static void usage(FILE *out)
{
    fprintf(out,
            "Usage:\n"
            "  %s export strimzi [--cluster NAME] [--namespace NS] [OPTION]...\n"
            "  %s export kafka-configs --bootstrap-server HOST:PORT [--command-config FILE] "
            "[OPTION]...\n\n"
            "Export the Kafka admission state of a registry: one Strimzi KafkaUser per\n"
            "registered principal (SCRAM-SHA-512 authentication, its ACLs and a consumer\n"
            "byte rate quota from its registered peak rate), or the same as kafka-acls.sh\n"
            "and kafka-configs.sh commands.  Only registered consumers and producers of\n"
            "channels that are not retired get anything.\n\n"
            "Options:\n"
            "  -r, --registry URL            registry to read (default: $%s)\n"
            "      --token TOKEN             bearer token (default: $%s)\n"
            "      --timeout SECONDS         give up after SECONDS (default: 30)\n"
            "      --cacert FILE             CA certificate(s) of an https:// registry\n"
            "                                (default: $" CLI_REGISTRY_CACERT_ENV ")\n"
            "      --cluster NAME            strimzi: the Kafka resource's name, for the\n"
            "                                strimzi.io/cluster label (default: %s)\n"
            "      --namespace NS            strimzi: metadata.namespace (default: none)\n"
            "      --bootstrap-server H:P    kafka-configs: the brokers (required)\n"
            "      --command-config FILE     kafka-configs: admin client properties file\n"
            "      --avg-message-bytes N     average message size for quotas (default: %.0f)\n"
            "      --headroom X              quota multiplier, at least 1 (default: 1)\n"
            "      --as-of DATE              judge retirement on DATE (default: today, UTC)\n"
            "  -h, --help                    show this help and exit\n\n"
            "consumerByteRate = ceil(sum of the principal's peak_rate_msgs x avg-message-bytes\n"
            "x headroom).\n\n"
            "Exit status: 0 exported, 1 the registry's data or the options cannot be exported\n"
            "(e.g. a principal that cannot be a KafkaUser), 2 usage error, 3 registry\n"
            "unreachable or output failed.\n",
            cli_progname, cli_progname, CLI_REGISTRY_URL_ENV, CLI_REGISTRY_TOKEN_ENV,
            DEFAULT_CLUSTER, DEFAULT_AVG_MESSAGE_BYTES);
}

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

/* A copy of member key of obj when it is a string, else NULL. */
static char *string_member(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));

    return s ? chan_xstrdup(s) : NULL;
}

/*
** Turn the reply of GET /v1/channels into channel records (only the fields
** the ACL module reads: name, deprecation date, consumers, producers).
*/
static int channels_from_json(chan_channel_record ***out, size_t *out_n, const json_t *doc,
                              chan_error *err)
{
    const json_t *list = json_object_get(doc, "channels"), *ch, *item;
    chan_channel_record **recs = NULL;
    size_t n = 0, i, k;
    int error = 0;

    *out = NULL;
    *out_n = 0;
    if (!json_is_array(list))
        return chan_error_set(err, CHAN_EINTERNAL,
                              "the registry's reply to GET /v1/channels has no \"channels\" array");
    recs = chan_xcalloc(json_array_size(list) + 1, sizeof(*recs));
    json_array_foreach(list, i, ch)
    {
        const json_t *consumers = json_object_get(ch, "consumers");
        const json_t *producers = json_object_get(ch, "producers");
        chan_channel_record *rec = chan_xcalloc(1, sizeof(*rec));

        recs[n++] = rec;
        rec->name = string_member(ch, "name");
        rec->deprecation_date = string_member(ch, "deprecation_date");
        rec->retirement_date = string_member(ch, "retirement_date");
        if (rec->name == NULL || (consumers && !json_is_array(consumers)) ||
            (producers && !json_is_array(producers))) {
            error = chan_error_set(err, CHAN_EINTERNAL,
                                   "the registry's reply to GET /v1/channels has a malformed "
                                   "channel at index %zu",
                                   i);
            goto cleanup;
        }
        rec->consumers = chan_xcalloc(json_array_size(consumers) + 1, sizeof(*rec->consumers));
        json_array_foreach(consumers, k, item)
        {
            chan_consumer_record *c = &rec->consumers[rec->n_consumers++];
            const json_t *rate = json_object_get(item, "peak_rate_msgs");

            c->channel = chan_xstrdup(rec->name);
            c->name = string_member(item, "name");
            c->principal = string_member(item, "principal");
            c->group = string_member(item, "group");
            c->peak_rate_msgs = json_is_number(rate) ? json_number_value(rate) : 0.0;
        }
        rec->producers = chan_xcalloc(json_array_size(producers) + 1, sizeof(*rec->producers));
        json_array_foreach(producers, k, item)
        {
            chan_producer_record *p = &rec->producers[rec->n_producers++];

            p->channel = chan_xstrdup(rec->name);
            p->principal = string_member(item, "principal");
        }
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
    enum {
        OPT_TOKEN = 256,
        OPT_TIMEOUT,
        OPT_CACERT,
        OPT_CLUSTER,
        OPT_NAMESPACE,
        OPT_BOOTSTRAP,
        OPT_COMMAND_CONFIG,
        OPT_AVG,
        OPT_HEADROOM,
        OPT_AS_OF
    };
    static const struct option longopts[] = {
        {"registry", required_argument, NULL, 'r'},
        {"token", required_argument, NULL, OPT_TOKEN},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"cacert", required_argument, NULL, OPT_CACERT},
        {"cluster", required_argument, NULL, OPT_CLUSTER},
        {"namespace", required_argument, NULL, OPT_NAMESPACE},
        {"bootstrap-server", required_argument, NULL, OPT_BOOTSTRAP},
        {"command-config", required_argument, NULL, OPT_COMMAND_CONFIG},
        {"avg-message-bytes", required_argument, NULL, OPT_AVG},
        {"headroom", required_argument, NULL, OPT_HEADROOM},
        {"as-of", required_argument, NULL, OPT_AS_OF},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *url = NULL, *token = NULL, *timeout = NULL, *cacert = NULL, *cluster = NULL,
               *ns = NULL, *bootstrap = NULL, *command_config = NULL, *as_of = NULL, *what;
    chan_acl_export_options opts = CHAN_ACL_EXPORT_OPTIONS_INIT;
    double avg = DEFAULT_AVG_MESSAGE_BYTES, headroom = 1.0;
    chan_channel_record **channels = NULL;
    chan_error err = CHAN_ERROR_INIT;
    cli_registry *reg = NULL;
    json_t *doc = NULL;
    char *text = NULL;
    size_t n = 0;
    bool strimzi;
    int c, rc = CLI_EXIT_OK;

    while ((c = getopt_long(argc, argv, "r:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'r':
            url = optarg;
            break;
        case OPT_TOKEN:
            token = optarg;
            break;
        case OPT_TIMEOUT:
            timeout = optarg;
            break;
        case OPT_CACERT:
            cacert = optarg;
            break;
        case OPT_CLUSTER:
            cluster = optarg;
            break;
        case OPT_NAMESPACE:
            ns = optarg;
            break;
        case OPT_BOOTSTRAP:
            bootstrap = optarg;
            break;
        case OPT_COMMAND_CONFIG:
            command_config = optarg;
            break;
        case OPT_AVG:
            if (parse_number(&avg, optarg, 0.0, false) < 0)
                return cli_usage_error(
                    "export", "--avg-message-bytes must be a number above 0, got \"%s\"", optarg);
            break;
        case OPT_HEADROOM:
            if (parse_number(&headroom, optarg, 1.0, true) < 0)
                return cli_usage_error("export",
                                       "--headroom must be a number of at least 1, got "
                                       "\"%s\"",
                                       optarg);
            break;
        case OPT_AS_OF:
            as_of = optarg;
            break;
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        default:
            return cli_usage_error("export", "invalid option");
        }
    }
    if (optind >= argc)
        return cli_usage_error("export", "missing what to export (strimzi or kafka-configs)");
    if (argc - optind > 1)
        return cli_usage_error("export", "too many arguments");
    what = argv[optind];
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

    if (cli_registry_open(&reg, url, token, timeout, cacert, &err) < 0) {
        cli_error_print(&err);
        return err.code == CHAN_EINVALID ? CLI_EXIT_USAGE : CLI_EXIT_RUNTIME;
    }
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
