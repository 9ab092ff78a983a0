/*
 * export.c - the desired admission state rendered for tools other than the
 * registry: Strimzi KafkaUser resources (multi-document YAML) and shell
 * commands for kafka-acls.sh / kafka-configs.sh.  Both start from
 * chan_acl_desired, so they grant exactly what the planner would.
 *
 * Quotas (chan_acl_quota): consumer_byte_rate = ceil(sum(peak_rate_msgs x
 * size) x headroom) over the principal's approved registrations on live
 * channels; producer_byte_rate = ceil(sum(peak_qps x size) x headroom) over
 * the live channels it produces to; size is the channel's avg_message_bytes,
 * else the export's.
 *
 * Taking access away: every KafkaUser carries labels that select the users
 * of one chanreg instance, so `kubectl apply --prune` deletes those whose
 * registration is gone; the shell export ends with the state it grants
 * (state.c) and, given the previous state, prints the removal commands.
 */
#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl_int.h"
#include "chan/policy.h"

#define STRIMZI_MAX_QUOTA 2147483647.0

/* The labels every KafkaUser carries besides strimzi.io/cluster, as a selector. */
#define PRUNE_SELECTOR "app.kubernetes.io/managed-by=chanreg,chanreg.io/instance="

/* Strimzi / kafka-acls.sh spelling of an operation, e.g. "Read". */
static const char *operation_camel(chan_acl_operation op)
{
    static const char *const names[] = {
        "Unknown",         "All",          "Read",
        "Write",           "Create",       "Delete",
        "Alter",           "Describe",     "ClusterAction",
        "DescribeConfigs", "AlterConfigs", "IdempotentWrite",
    };

    if ((unsigned)op >= CHAN_ARRAY_SIZE(names))
        return "Unknown";
    return names[op];
}

static const char *resource_strimzi(chan_acl_resource_type t)
{
    switch (t) {
    case CHAN_ACL_RESOURCE_TOPIC:
        return "topic";
    case CHAN_ACL_RESOURCE_GROUP:
        return "group";
    case CHAN_ACL_RESOURCE_CLUSTER:
        return "cluster";
    case CHAN_ACL_RESOURCE_TRANSACTIONAL_ID:
        return "transactionalId";
    default:
        return "unknown";
    }
}

/* Append s as a YAML double-quoted scalar. */
static void yaml_quote(chan_buf *buf, const char *s)
{
    chan_buf_putc(buf, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\') {
            chan_buf_putc(buf, '\\');
            chan_buf_putc(buf, (char)c);
        } else if (c < 0x20 || c == 0x7f) {
            chan_buf_printf(buf, "\\x%02x", c);
        } else {
            chan_buf_putc(buf, (char)c);
        }
    }
    chan_buf_putc(buf, '"');
}

/* Append s as a single-quoted POSIX shell word. */
static void shell_quote(chan_buf *buf, const char *s)
{
    chan_buf_putc(buf, '\'');
    for (; *s; s++) {
        if (*s == '\'')
            chan_buf_puts(buf, "'\\''");
        else
            chan_buf_putc(buf, *s);
    }
    chan_buf_putc(buf, '\'');
}

/* DNS-1123 subdomain: the rule for Kubernetes object names. */
static bool k8s_name_ok(const char *s, size_t max)
{
    size_t len = strlen(s);

    if (len == 0 || len > max)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

        if (!alnum && !(c == '-' || c == '.'))
            return false;
        if ((i == 0 || i == len - 1) && !alnum)
            return false;
    }
    return true;
}

/* Kubernetes label value: up to 63 of [A-Za-z0-9-_.], alphanumeric at both ends. */
static bool label_value_ok(const char *s)
{
    size_t len = strlen(s);

    if (len == 0 || len > 63)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

        if (!alnum && !(c == '-' || c == '_' || c == '.'))
            return false;
        if ((i == 0 || i == len - 1) && !alnum)
            return false;
    }
    return true;
}

static int check_options(const chan_acl_export_options *opts, chan_error *err)
{
    if (opts == NULL)
        return chan_error_set(err, CHAN_EINVALID, "export: options are required");
    if (opts->version < 1 || opts->version > CHAN_ACL_EXPORT_OPTIONS_VERSION)
        return chan_error_set(err, CHAN_EINVALID, "export: unsupported options version %u",
                              opts->version);
    if (!isfinite(opts->avg_message_bytes) || opts->avg_message_bytes <= 0.0) {
        chan_error_set(err, CHAN_EINVALID,
                       "export: the average message size must be a positive number of bytes");
        chan_error_hint(err, "quotas are peak_rate_msgs x average message size");
        return CHAN_EINVALID;
    }
    if (!isfinite(opts->quota_headroom) ||
        (opts->quota_headroom != 0.0 && opts->quota_headroom < 1.0))
        return chan_error_set(err, CHAN_EINVALID,
                              "export: quota headroom must be at least 1 (or 0 for 1)");
    return 0;
}

/* Strimzi API version: opts->strimzi_api, "v1" when unset or a version 1 caller. */
static const char *strimzi_api(const chan_acl_export_options *opts)
{
    return opts->version >= 2 && opts->strimzi_api != NULL ? opts->strimzi_api : "v1";
}

/* Value of the chanreg.io/instance label: opts->instance, else the cluster. */
static const char *instance_label(const chan_acl_export_options *opts)
{
    return opts->version >= 2 && opts->instance != NULL ? opts->instance : opts->cluster;
}

/* The previous state of a shell export; NULL when none (or a version 1 caller). */
static const chan_acl_set *previous_state(const chan_acl_export_options *opts)
{
    return opts->version >= 2 ? opts->previous : NULL;
}

/* The average message size of a channel: its contract's, else the export's. */
static double message_bytes(const chan_channel_record *ch, const chan_acl_export_options *opts)
{
    return ch->avg_message_bytes > 0 ? (double)ch->avg_message_bytes : opts->avg_message_bytes;
}

/* ceil(bytes x headroom) as a quota, or CHAN_EINVALID above what Strimzi accepts. */
static int quota_value(int64_t *out, double bytes, double headroom, const char *principal,
                       const char *what, chan_error *err)
{
    double rate = ceil(bytes * headroom);

    if (!isfinite(rate) || rate > STRIMZI_MAX_QUOTA) {
        chan_error_set(err, CHAN_EINVALID, "%s quota of %s is above %.0f bytes/s", what, principal,
                       STRIMZI_MAX_QUOTA);
        chan_error_hint(err, "check the contracts' peak rates and average message sizes");
        return CHAN_EINVALID;
    }
    *out = (int64_t)rate;
    return 0;
}

int chan_acl_quota(chan_acl_quota_rates *out, const chan_channel_record *const *channels, size_t n,
                   const char *principal, const chan_acl_export_options *opts, chan_error *err)
{
    int error = 0;
    int64_t as_of;
    double consumed = 0.0, produced = 0.0, headroom;

    assert(out != NULL);
    memset(out, 0, sizeof(*out));
    if ((error = check_options(opts, err)) < 0)
        return error;
    if ((error = chan_acl__as_of(&as_of, opts->as_of, err)) < 0)
        return error;
    if (principal == NULL || (n > 0 && channels == NULL))
        return chan_error_set(err, CHAN_EINVALID, "quota: principal and channels are required");
    headroom = opts->quota_headroom == 0.0 ? 1.0 : opts->quota_headroom;

    for (size_t i = 0; i < n; i++) {
        const chan_channel_record *ch = channels[i];

        if (ch == NULL || (ch->n_consumers > 0 && ch->consumers == NULL) ||
            (ch->n_producers > 0 && ch->producers == NULL))
            return chan_error_set(err, CHAN_EINVALID, "quota: channel record %zu is incomplete", i);
        if (ch->deprecation_date != NULL && !chan_date_parse(ch->deprecation_date, NULL))
            return chan_error_set(err, CHAN_EINVALID,
                                  "channel %s: deprecation date '%s' is not a YYYY-MM-DD date",
                                  ch->name ? ch->name : "(null)", ch->deprecation_date);
        if (chan_policy_channel_retired(ch, as_of))
            continue;
        for (size_t j = 0; j < ch->n_consumers; j++) {
            const chan_consumer_record *c = &ch->consumers[j];

            if (c->principal == NULL || strcmp(c->principal, principal) != 0 ||
                !chan_policy_consumer_grants(ch, c, as_of))
                continue;
            if (!isfinite(c->peak_rate_msgs) || c->peak_rate_msgs < 0.0)
                return chan_error_set(err, CHAN_EINVALID,
                                      "channel %s: consumer %s has an invalid peak_rate_msgs",
                                      ch->name ? ch->name : "(null)", principal);
            out->consumer_msgs += c->peak_rate_msgs;
            consumed += c->peak_rate_msgs * message_bytes(ch, opts);
        }
        for (size_t j = 0; j < ch->n_producers; j++) {
            const chan_producer_record *p = &ch->producers[j];

            if (p->principal == NULL || strcmp(p->principal, principal) != 0)
                continue;
            if (ch->peak_qps < 0)
                return chan_error_set(err, CHAN_EINVALID, "channel %s has a negative peak_qps",
                                      ch->name ? ch->name : "(null)");
            out->producer_msgs += (double)ch->peak_qps;
            produced += (double)ch->peak_qps * message_bytes(ch, opts);
        }
    }
    if ((error = quota_value(&out->consumer_byte_rate, consumed, headroom, principal, "consumer",
                             err)) < 0 ||
        (error = quota_value(&out->producer_byte_rate, produced, headroom, principal, "producer",
                             err)) < 0)
        memset(out, 0, sizeof(*out));
    return error;
}

int chan_acl_consumer_byte_rate(int64_t *out, const chan_channel_record *const *channels, size_t n,
                                const char *principal, const chan_acl_export_options *opts,
                                chan_error *err)
{
    chan_acl_quota_rates q;
    int error = chan_acl_quota(&q, channels, n, principal, opts, err);

    *out = error < 0 ? 0 : q.consumer_byte_rate;
    return error;
}

/* The principals of a desired set, sorted and unique. */
static void principals_of(chan_acl__strset *out, const chan_acl_set *set)
{
    for (size_t i = 0; i < set->n; i++)
        chan_acl__strset_add(out, set->items[i].principal);
}

static bool same_resource(const chan_acl_binding *a, const chan_acl_binding *b)
{
    return a->resource_type == b->resource_type &&
           strcmp(a->resource_name, b->resource_name) == 0 && a->pattern_type == b->pattern_type &&
           strcmp(a->host, b->host) == 0 && a->permission == b->permission;
}

/*
 * Call emit once per resource of principal with the operations granted on
 * it.  Bindings of one principal and resource are adjacent in sort order.
 */
typedef void (*rule_fn)(chan_buf *buf, const chan_acl_binding *first, const chan_acl_operation *ops,
                        size_t n_ops, void *ctx);

static void for_each_rule(chan_buf *buf, const chan_acl_set *set, const char *principal,
                          rule_fn emit, void *ctx)
{
    chan_acl_operation ops[CHAN_ACL_OP_IDEMPOTENT_WRITE + 1];
    const chan_acl_binding *first = NULL;
    size_t n_ops = 0;

    for (size_t i = 0; i < set->n; i++) {
        const chan_acl_binding *b = &set->items[i];

        if (strcmp(b->principal, principal) != 0)
            continue;
        if (first != NULL && !same_resource(first, b)) {
            emit(buf, first, ops, n_ops, ctx);
            first = NULL;
            n_ops = 0;
        }
        if (first == NULL)
            first = b;
        if (n_ops < CHAN_ARRAY_SIZE(ops))
            ops[n_ops++] = b->operation;
    }
    if (first != NULL)
        emit(buf, first, ops, n_ops, ctx);
}

static void strimzi_rule(chan_buf *buf, const chan_acl_binding *first,
                         const chan_acl_operation *ops, size_t n_ops, void *ctx)
{
    chan_buf_printf(buf, "      - resource:\n          type: %s\n          name: ",
                    resource_strimzi(first->resource_type));
    yaml_quote(buf, first->resource_name);
    chan_buf_printf(buf, "\n          patternType: %s\n        operations:\n",
                    first->pattern_type == CHAN_ACL_PATTERN_PREFIXED ? "prefix" : "literal");
    for (size_t i = 0; i < n_ops; i++)
        chan_buf_printf(buf, "          - %s\n", operation_camel(ops[i]));
    chan_buf_puts(buf, "        host: ");
    yaml_quote(buf, first->host);
    chan_buf_printf(buf, "\n        type: %s\n",
                    first->permission == CHAN_ACL_PERMISSION_DENY ? "deny" : "allow");
}

/*
** The comment before the first KafkaUser: how to apply the file so that the
** users of this instance that lost their registration are deleted.  The
** arguments are label values and a namespace name, safe in a shell word.
*/
static void strimzi_header(chan_buf *buf, const char *api, const char *instance, const char *ns,
                           size_t n_users)
{
    chan_buf_puts(buf, "# KafkaUsers of the registered consumers and producers, generated by "
                       "chanreg.\n"
                       "# Apply with pruning, so that the KafkaUsers of this instance that are "
                       "not in this\n"
                       "# file (their registration is gone) are deleted with their access:\n");
    chan_buf_printf(buf,
                    "#   kubectl apply --prune -l " PRUNE_SELECTOR
                    "%s --prune-allowlist=kafka.strimzi.io/%s/KafkaUser",
                    instance, api);
    if (ns != NULL)
        chan_buf_printf(buf, " -n %s", ns);
    chan_buf_puts(buf, " -f users.yaml\n");
    if (n_users > 0)
        return;
    chan_buf_puts(buf, "# No principal is registered: kubectl apply refuses a file without "
                       "objects, so\n# delete the users of this instance instead:\n");
    chan_buf_printf(buf, "#   kubectl delete kafkausers.kafka.strimzi.io -l " PRUNE_SELECTOR "%s",
                    instance);
    if (ns != NULL)
        chan_buf_printf(buf, " -n %s", ns);
    chan_buf_putc(buf, '\n');
}

int chan_acl_export_strimzi(char **out, const chan_channel_record *const *channels, size_t n,
                            const chan_acl_export_options *opts, chan_error *err)
{
    int error = 0;
    const char *api, *instance;
    chan_acl_set *set = NULL;
    chan_acl__strset principals = {0};
    chan_buf buf = CHAN_BUF_INIT;
    chan_acl_desired_options dopts = CHAN_ACL_DESIRED_OPTIONS_INIT;

    *out = NULL;
    if ((error = check_options(opts, err)) < 0)
        goto cleanup;
    if (opts->cluster == NULL || !label_value_ok(opts->cluster)) {
        error = chan_error_set(err, CHAN_EINVALID,
                               "strimzi export: cluster name '%s' is not a valid label value",
                               opts->cluster ? opts->cluster : "");
        chan_error_hint(err, "give the name of the Kafka resource, e.g. my-cluster");
        goto cleanup;
    }
    api = strimzi_api(opts);
    if (strcmp(api, "v1") != 0 && strcmp(api, "v1beta2") != 0) {
        error = chan_error_set(err, CHAN_EINVALID,
                               "strimzi export: API version '%s' is neither v1 nor v1beta2", api);
        chan_error_hint(err, "v1 for Strimzi 0.49 and later, v1beta2 for older operators");
        goto cleanup;
    }
    instance = instance_label(opts);
    if (!label_value_ok(instance)) {
        error = chan_error_set(err, CHAN_EINVALID,
                               "strimzi export: instance name '%s' is not a valid label value",
                               instance);
        chan_error_hint(err, "up to 63 letters, digits, '-', '_' or '.', starting and ending "
                             "with a letter or digit");
        goto cleanup;
    }
    if (opts->namespace_ != NULL && !k8s_name_ok(opts->namespace_, 63)) {
        error = chan_error_set(err, CHAN_EINVALID,
                               "strimzi export: namespace '%s' is not a valid namespace name",
                               opts->namespace_);
        goto cleanup;
    }
    dopts.as_of = opts->as_of;
    if ((error = chan_acl_desired(&set, NULL, channels, n, &dopts, err)) < 0)
        goto cleanup;
    principals_of(&principals, set);
    strimzi_header(&buf, api, instance, opts->namespace_, principals.n);

    for (size_t p = 0; p < principals.n; p++) {
        const char *principal = principals.items[p];
        const char *user;
        chan_acl_quota_rates quota;

        if (strncmp(principal, "User:", 5) != 0 || !k8s_name_ok(principal + 5, 253)) {
            error =
                chan_error_set(err, CHAN_EINVALID,
                               "strimzi export: principal '%s' cannot be a KafkaUser", principal);
            chan_error_hint(err, "KafkaUser principals are User:<name> where <name> is a "
                                 "lower-case DNS subdomain name");
            goto cleanup;
        }
        user = principal + 5;
        if ((error = chan_acl_quota(&quota, channels, n, principal, opts, err)) < 0)
            goto cleanup;

        chan_buf_printf(&buf,
                        "---\napiVersion: kafka.strimzi.io/%s\nkind: KafkaUser\n"
                        "metadata:\n",
                        api);
        chan_buf_puts(&buf, "  name: ");
        yaml_quote(&buf, user);
        if (opts->namespace_ != NULL) {
            chan_buf_puts(&buf, "\n  namespace: ");
            yaml_quote(&buf, opts->namespace_);
        }
        chan_buf_puts(&buf, "\n  labels:\n    strimzi.io/cluster: ");
        yaml_quote(&buf, opts->cluster);
        chan_buf_puts(&buf, "\n    app.kubernetes.io/managed-by: chanreg\n"
                            "    chanreg.io/instance: ");
        yaml_quote(&buf, instance);
        chan_buf_putc(&buf, '\n');
        chan_buf_puts(&buf, "spec:\n  authentication:\n    type: scram-sha-512\n"
                            "  authorization:\n    type: simple\n    acls:\n");
        for_each_rule(&buf, set, principal, strimzi_rule, NULL);
        if (quota.consumer_byte_rate > 0 || quota.producer_byte_rate > 0)
            chan_buf_puts(&buf, "  quotas:\n");
        if (quota.consumer_byte_rate > 0)
            chan_buf_printf(&buf, "    consumerByteRate: %lld\n",
                            (long long)quota.consumer_byte_rate);
        if (quota.producer_byte_rate > 0)
            chan_buf_printf(&buf, "    producerByteRate: %lld\n",
                            (long long)quota.producer_byte_rate);
    }
    *out = chan_buf_take(&buf);

cleanup:
    chan_buf_dispose(&buf);
    chan_acl__strset_dispose(&principals);
    chan_acl_set_free(set);
    return error;
}

typedef struct shell_ctx {
    const chan_acl_export_options *opts;
    const char *action; /* "--add" or "--remove --force" */
} shell_ctx;

static void shell_prefix(chan_buf *buf, const char *tool, const chan_acl_export_options *opts)
{
    chan_buf_printf(buf, "%s --bootstrap-server ", tool);
    shell_quote(buf, opts->bootstrap_servers);
    if (opts->command_config != NULL) {
        chan_buf_puts(buf, " --command-config ");
        shell_quote(buf, opts->command_config);
    }
}

static void shell_rule(chan_buf *buf, const chan_acl_binding *first, const chan_acl_operation *ops,
                       size_t n_ops, void *ctx)
{
    const shell_ctx *sc = ctx;

    shell_prefix(buf, "kafka-acls.sh", sc->opts);
    chan_buf_printf(buf, " %s --%s-principal ", sc->action,
                    first->permission == CHAN_ACL_PERMISSION_DENY ? "deny" : "allow");
    shell_quote(buf, first->principal);
    chan_buf_printf(buf, " --%s-host ",
                    first->permission == CHAN_ACL_PERMISSION_DENY ? "deny" : "allow");
    shell_quote(buf, first->host);
    for (size_t i = 0; i < n_ops; i++)
        chan_buf_printf(buf, " --operation %s", operation_camel(ops[i]));
    chan_buf_printf(buf, " --%s ",
                    first->resource_type == CHAN_ACL_RESOURCE_GROUP ? "group" : "topic");
    shell_quote(buf, first->resource_name);
    chan_buf_printf(buf, " --resource-pattern-type %s\n",
                    first->pattern_type == CHAN_ACL_PATTERN_PREFIXED ? "prefixed" : "literal");
}

/* kafka-configs.sh removing the consumer and producer quotas of user. */
static void shell_quota_delete(chan_buf *buf, const char *user, const chan_acl_export_options *opts)
{
    shell_prefix(buf, "kafka-configs.sh", opts);
    chan_buf_puts(buf, " --alter --delete-config consumer_byte_rate,producer_byte_rate "
                       "--entity-type users --entity-name ");
    shell_quote(buf, user);
    chan_buf_putc(buf, '\n');
}

/*
** The removal section of a shell export, by principal in sort order: one
** kafka-acls.sh --remove per resource for the bindings of the previous state
** that are not desired, then the deletion of the consumer quota of a user
** that had one in the previous state and has none now (quota_now).
*/
static void shell_removals(chan_buf *buf, const chan_acl_set *desired,
                           const chan_acl__strset *quota_now, const chan_acl_export_options *opts)
{
    const chan_acl_set *previous = previous_state(opts);
    chan_acl_set *gone = chan_acl_set_new();
    chan_acl__strset principals = {0}, quota_gone = {0};
    shell_ctx sc = {opts, "--remove --force"};

    assert(previous != NULL);
    for (size_t i = 0; i < previous->n; i++) {
        const chan_acl_binding *b = &previous->items[i];

        if (chan_acl_set_contains(desired, b))
            continue;
        /* A binding of a set is valid, so adding its copy cannot fail. */
        (void)chan_acl_set_add(gone, NULL, b, NULL);
        chan_acl__strset_add(&principals, b->principal);
    }
    for (size_t i = 0; i < opts->n_previous_quota_users; i++) {
        const char *user = opts->previous_quota_users[i];
        chan_buf principal = CHAN_BUF_INIT;

        if (chan_acl__strset_has(quota_now, user))
            continue;
        chan_acl__strset_add(&quota_gone, user);
        chan_buf_printf(&principal, "User:%s", user);
        chan_acl__strset_add(&principals, chan_buf_cstr(&principal));
        chan_buf_dispose(&principal);
    }

    chan_buf_puts(buf, "\n# Removals: access of the previous state that is no longer "
                       "registered.\n");
    if (principals.n == 0)
        chan_buf_puts(buf, "# (none)\n");
    for (size_t p = 0; p < principals.n; p++) {
        const char *principal = principals.items[p];

        chan_buf_printf(buf, "\n# %s\n", principal);
        for_each_rule(buf, gone, principal, shell_rule, &sc);
        if (strncmp(principal, "User:", 5) == 0 && chan_acl__strset_has(&quota_gone, principal + 5))
            shell_quota_delete(buf, principal + 5, opts);
    }
    chan_acl__strset_dispose(&quota_gone);
    chan_acl__strset_dispose(&principals);
    chan_acl_set_free(gone);
}

/* Check the previous quota users of opts: non-empty printable names. */
static int check_previous(const chan_acl_export_options *opts, chan_error *err)
{
    if (previous_state(opts) == NULL)
        return 0;
    if (opts->n_previous_quota_users > 0 && opts->previous_quota_users == NULL)
        return chan_error_set(err, CHAN_EINVALID, "shell export: previous quota users missing");
    for (size_t i = 0; i < opts->n_previous_quota_users; i++) {
        const char *user = opts->previous_quota_users[i];

        if (user == NULL || !chan_acl__text_ok(user))
            return chan_error_set(err, CHAN_EINVALID,
                                  "shell export: previous quota user %zu is empty or unprintable",
                                  i);
    }
    return 0;
}

int chan_acl_export_shell(char **out, const chan_channel_record *const *channels, size_t n,
                          const chan_acl_export_options *opts, chan_error *err)
{
    int error = 0;
    int64_t as_of;
    chan_acl_set *set = NULL;
    chan_acl__strset principals = {0}, quota_now = {0};
    chan_buf buf = CHAN_BUF_INIT;
    chan_acl_desired_options dopts = CHAN_ACL_DESIRED_OPTIONS_INIT;
    shell_ctx sc;

    *out = NULL;
    if ((error = check_options(opts, err)) < 0)
        goto cleanup;
    if (opts->bootstrap_servers == NULL || !chan_acl__text_ok(opts->bootstrap_servers)) {
        error = chan_error_set(err, CHAN_EINVALID, "shell export: bootstrap servers are required");
        goto cleanup;
    }
    if (opts->command_config != NULL && !chan_acl__text_ok(opts->command_config)) {
        error = chan_error_set(err, CHAN_EINVALID,
                               "shell export: command-config path is empty or unprintable");
        goto cleanup;
    }
    if ((error = check_previous(opts, err)) < 0)
        goto cleanup;
    if ((error = chan_acl__as_of(&as_of, opts->as_of, err)) < 0)
        goto cleanup;
    dopts.as_of = opts->as_of;
    if ((error = chan_acl_desired(&set, NULL, channels, n, &dopts, err)) < 0)
        goto cleanup;
    principals_of(&principals, set);
    sc.opts = opts;
    sc.action = "--add";

    chan_buf_puts(&buf, "#!/bin/sh\n"
                        "# Kafka ACLs and client quotas of the registered consumers and "
                        "producers.\n"
                        "# Generated by chanreg; run it as a principal allowed to alter ACLs "
                        "and quotas.\n"
                        "# The last line records what it grants: keep the script and give it "
                        "to the\n"
                        "# next export as --since FILE to get the commands that remove "
                        "lost access.\n"
                        "set -eu\n");
    for (size_t p = 0; p < principals.n; p++) {
        const char *principal = principals.items[p];
        chan_acl_quota_rates quota;
        const char *sep = "";

        if ((error = chan_acl_quota(&quota, channels, n, principal, opts, err)) < 0)
            goto cleanup;
        chan_buf_puts(&buf, "\n# ");
        chan_buf_puts(&buf, principal);
        chan_buf_putc(&buf, '\n');
        for_each_rule(&buf, set, principal, shell_rule, &sc);
        if (quota.consumer_byte_rate <= 0 && quota.producer_byte_rate <= 0)
            continue;
        if (strncmp(principal, "User:", 5) != 0) {
            chan_buf_puts(&buf, "# no byte-rate quotas: quotas apply to User principals only\n");
            continue;
        }
        shell_prefix(&buf, "kafka-configs.sh", opts);
        chan_buf_puts(&buf, " --alter --add-config '");
        if (quota.consumer_byte_rate > 0) {
            chan_buf_printf(&buf, "consumer_byte_rate=%lld", (long long)quota.consumer_byte_rate);
            sep = ",";
        }
        if (quota.producer_byte_rate > 0)
            chan_buf_printf(&buf, "%sproducer_byte_rate=%lld", sep,
                            (long long)quota.producer_byte_rate);
        chan_buf_putc(&buf, '\'');
        chan_buf_puts(&buf, " --entity-type users --entity-name ");
        shell_quote(&buf, principal + 5);
        chan_buf_putc(&buf, '\n');
        chan_acl__strset_add(&quota_now, principal + 5);
    }
    if (previous_state(opts) != NULL)
        shell_removals(&buf, set, &quota_now, opts);
    chan_buf_putc(&buf, '\n');
    chan_acl__state_render(&buf, set, &quota_now);
    *out = chan_buf_take(&buf);

cleanup:
    chan_buf_dispose(&buf);
    chan_acl__strset_dispose(&quota_now);
    chan_acl__strset_dispose(&principals);
    chan_acl_set_free(set);
    return error;
}

/* One kafka-acls.sh line for a single binding; action is "--add" or "--remove --force". */
static void shell_binding(chan_buf *buf, const chan_acl_binding *b, const char *action,
                          const chan_acl_export_options *opts)
{
    const char *perm = b->permission == CHAN_ACL_PERMISSION_DENY ? "deny" : "allow";

    shell_prefix(buf, "kafka-acls.sh", opts);
    chan_buf_printf(buf, " %s --%s-principal ", action, perm);
    shell_quote(buf, b->principal);
    chan_buf_printf(buf, " --%s-host ", perm);
    shell_quote(buf, b->host);
    chan_buf_printf(buf, " --operation %s --%s ", operation_camel(b->operation),
                    b->resource_type == CHAN_ACL_RESOURCE_GROUP ? "group" : "topic");
    shell_quote(buf, b->resource_name);
    chan_buf_printf(buf, " --resource-pattern-type %s\n",
                    b->pattern_type == CHAN_ACL_PATTERN_PREFIXED ? "prefixed" : "literal");
}

int chan_acl_plan_render_shell(char **out, const chan_acl_plan *plan,
                               const chan_acl_export_options *opts, chan_error *err)
{
    chan_buf buf = CHAN_BUF_INIT;
    const chan_acl_set *creates = chan_acl_plan_to_create(plan);
    const chan_acl_set *deletes = chan_acl_plan_to_delete(plan);
    const chan_acl_set *bypasses = chan_acl_plan_bypasses(plan);

    *out = NULL;
    if (opts == NULL || opts->bootstrap_servers == NULL ||
        !chan_acl__text_ok(opts->bootstrap_servers))
        return chan_error_set(err, CHAN_EINVALID, "shell plan: bootstrap servers are required");
    if (opts->command_config != NULL && !chan_acl__text_ok(opts->command_config))
        return chan_error_set(err, CHAN_EINVALID,
                              "shell plan: command-config path is empty or unprintable");
    chan_buf_puts(&buf, "#!/bin/sh\n# ACL plan rendered by chanreg: creates first, then deletes.\n"
                        "set -eu\n");
    if (chan_acl_plan_deletes_refused(plan))
        chan_buf_puts(&buf, "# deletes refused: the actual state was unknown\n");
    for (size_t i = 0; i < creates->n; i++)
        shell_binding(&buf, &creates->items[i], "--add", opts);
    for (size_t i = 0; i < deletes->n; i++)
        shell_binding(&buf, &deletes->items[i], "--remove --force", opts);
    for (size_t i = 0; i < bypasses->n; i++) {
        char *text = NULL;

        chan_acl_binding_render(&text, &bypasses->items[i]);
        chan_buf_printf(&buf, "# bypasses the registry, review: %s\n", text);
        free(text);
    }
    *out = chan_buf_take(&buf);
    return 0;
}
