/*
 * topic.c - topic configuration as part of the contract: the configs a
 * channel's contract sets on its topic (retention.ms from retention_hours,
 * cleanup.policy from cleanup_policy),
 * the plan that compares them with the cluster's DescribeConfigs, and the
 * full set of dynamic configs an AlterConfigs must send so that nothing
 * else of the topic is reset.  Pure: no I/O, no librdkafka.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl_int.h"
#include "chan/policy.h"

#define MS_PER_HOUR INT64_C(3600000)

void chan_topic_config_list_free(chan_topic_config *list, size_t n)
{
    size_t i, k;

    if (list == NULL)
        return;
    for (i = 0; i < n; i++) {
        for (k = 0; k < list[i].n; k++) {
            free(list[i].entries[k].name);
            free(list[i].entries[k].value);
        }
        free(list[i].entries);
        free(list[i].topic);
    }
    free(list);
}

int64_t chan_acl_topic_retention_ms(const chan_channel_record *ch)
{
    assert(ch != NULL);
    if (ch->retention_hours <= 0 || ch->retention_hours > INT64_MAX / MS_PER_HOUR)
        return -1;
    return ch->retention_hours * MS_PER_HOUR;
}

static const chan_topic_config *find_config(const chan_topic_config *actual, size_t n,
                                            const char *topic)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (actual[i].topic != NULL && strcmp(actual[i].topic, topic) == 0)
            return &actual[i];
    }
    return NULL;
}

static const chan_topic_config_entry *find_entry(const chan_topic_config *c, const char *key)
{
    size_t i;

    for (i = 0; i < c->n; i++) {
        if (c->entries[i].name != NULL && strcmp(c->entries[i].name, key) == 0)
            return &c->entries[i];
    }
    return NULL;
}

static bool has_topic(const char *const *topics, size_t n, const char *name)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (topics[i] != NULL && strcmp(topics[i], name) == 0)
            return true;
    }
    return false;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int alter_by_topic(const void *a, const void *b)
{
    return strcmp(((const chan_topic_alter *)a)->topic, ((const chan_topic_alter *)b)->topic);
}

/* The configs a contract sets on its topic: up to MAX_DESIRED key/value pairs. */
#define MAX_DESIRED 2
typedef struct desired_set {
    const char *keys[MAX_DESIRED];
    char values[MAX_DESIRED][32];
    size_t n;
} desired_set;

static void desired_of(desired_set *d, const chan_channel_record *ch)
{
    int64_t retention = chan_acl_topic_retention_ms(ch);

    d->n = 0;
    if (retention >= 0) {
        d->keys[d->n] = CHAN_TOPIC_RETENTION_KEY;
        snprintf(d->values[d->n], sizeof(d->values[d->n]), "%" PRId64, retention);
        d->n++;
    }
    if (ch->cleanup_policy != NULL && strlen(ch->cleanup_policy) < sizeof(d->values[0])) {
        d->keys[d->n] = CHAN_TOPIC_CLEANUP_KEY;
        snprintf(d->values[d->n], sizeof(d->values[d->n]), "%s", ch->cleanup_policy);
        d->n++;
    }
}

/* The desired value of key, or NULL. */
static const char *desired_value(const desired_set *d, const char *key)
{
    size_t i;

    for (i = 0; i < d->n; i++) {
        if (strcmp(d->keys[i], key) == 0)
            return d->values[i];
    }
    return NULL;
}

/*
** The full set for one topic: every dynamic config of c, with the desired
** configs replacing or added to theirs.  Sets alter->refused when a dynamic
** config cannot be sent back as it is.
*/
static void build_alter(chan_topic_alter *alter, const chan_topic_config *c, const desired_set *d)
{
    size_t i, k = 0;

    alter->topic = chan_xstrdup(c->topic);
    alter->pairs = chan_xcalloc(2 * (c->n + d->n + 1), sizeof(*alter->pairs));
    for (i = 0; i < c->n; i++) {
        const chan_topic_config_entry *e = &c->entries[i];

        if (!e->dynamic || e->name == NULL || desired_value(d, e->name) != NULL)
            continue;
        if (e->sensitive || e->value == NULL) {
            if (alter->refused == NULL)
                alter->refused = chan_xasprintf(
                    "dynamic config %s of topic %s is %s: an AlterConfigs without it would "
                    "reset it, with it would need its value",
                    e->name, c->topic, e->sensitive ? "sensitive" : "without a value");
            continue;
        }
        alter->pairs[2 * k] = chan_xstrdup(e->name);
        alter->pairs[2 * k + 1] = chan_xstrdup(e->value);
        k++;
    }
    for (i = 0; i < d->n; i++) {
        alter->pairs[2 * k] = chan_xstrdup(d->keys[i]);
        alter->pairs[2 * k + 1] = chan_xstrdup(d->values[i]);
        k++;
    }
    alter->n_pairs = k;
}

int chan_topic_plan_compute(chan_topic_plan **out, const chan_channel_record *const *channels,
                            size_t n, const char *const *topics, size_t n_topics,
                            const chan_topic_config *actual, size_t n_actual, const char *as_of,
                            chan_error *err)
{
    chan_topic_plan *plan = NULL;
    int64_t today;
    size_t i, cap_changes = 2 * (n + 1);
    int error;

    assert(out != NULL);
    *out = NULL;
    if ((error = chan_acl__as_of(&today, as_of, err)) < 0)
        return error;
    plan = chan_xcalloc(1, sizeof(*plan));
    plan->changes = chan_xcalloc(cap_changes, sizeof(*plan->changes));
    plan->alters = chan_xcalloc(n + 1, sizeof(*plan->alters));
    plan->missing = chan_xcalloc(n + 1, sizeof(*plan->missing));
    for (i = 0; i < n; i++) {
        const chan_channel_record *ch = channels[i];
        const chan_topic_config *c;
        const chan_topic_config_entry *e;
        desired_set d;
        bool changed;
        size_t k;

        if (ch == NULL || ch->name == NULL || chan_policy_channel_retired(ch, today))
            continue;
        if (!has_topic(topics, n_topics, ch->name)) {
            plan->missing[plan->n_missing++] = chan_xstrdup(ch->name);
            continue;
        }
        c = find_config(actual, n_actual, ch->name);
        if (c == NULL) {
            error = chan_error_set(err, CHAN_EINVALID, "topic plan: no configs read for topic %s",
                                   ch->name);
            goto cleanup;
        }
        plan->checked++;
        desired_of(&d, ch);
        changed = false;
        for (k = 0; k < d.n; k++) {
            chan_topic_change *chg;

            e = find_entry(c, d.keys[k]);
            if (e != NULL && e->value != NULL && strcmp(e->value, d.values[k]) == 0)
                continue;
            if (plan->n_changes == cap_changes) {
                cap_changes *= 2;
                plan->changes =
                    chan_xreallocarray(plan->changes, cap_changes, sizeof(*plan->changes));
            }
            chg = &plan->changes[plan->n_changes++];
            chg->topic = chan_xstrdup(ch->name);
            chg->key = chan_xstrdup(d.keys[k]);
            chg->actual = e && e->value ? chan_xstrdup(e->value) : NULL;
            chg->desired = chan_xstrdup(d.values[k]);
            chg->dynamic = e != NULL && e->dynamic;
            changed = true;
        }
        if (changed)
            build_alter(&plan->alters[plan->n_alters++], c, &d);
    }
    qsort(plan->missing, plan->n_missing, sizeof(*plan->missing), by_name);
    qsort(plan->alters, plan->n_alters, sizeof(*plan->alters), alter_by_topic);
    *out = plan;
    plan = NULL;

cleanup:
    chan_topic_plan_free(plan);
    return error;
}

void chan_topic_plan_free(chan_topic_plan *plan)
{
    size_t i, k;

    if (plan == NULL)
        return;
    for (i = 0; i < plan->n_changes; i++) {
        free(plan->changes[i].topic);
        free(plan->changes[i].key);
        free(plan->changes[i].actual);
        free(plan->changes[i].desired);
    }
    for (i = 0; i < plan->n_alters; i++) {
        for (k = 0; k < 2 * plan->alters[i].n_pairs; k++)
            free(plan->alters[i].pairs[k]);
        free(plan->alters[i].pairs);
        free(plan->alters[i].topic);
        free(plan->alters[i].refused);
    }
    for (i = 0; i < plan->n_missing; i++)
        free(plan->missing[i]);
    free(plan->changes);
    free(plan->alters);
    free(plan->missing);
    free(plan);
}

json_t *chan_topic_plan_to_json(const chan_topic_plan *plan)
{
    json_t *changes = json_array(), *alters = json_array(), *missing = json_array();
    size_t i, k;

    for (i = 0; i < plan->n_changes; i++) {
        const chan_topic_change *c = &plan->changes[i];

        json_array_append_new(changes, json_pack("{s:s,s:s,s:o,s:s,s:b}", "topic", c->topic, "key",
                                                 c->key, "actual", chan_json_str_or_null(c->actual),
                                                 "desired", c->desired, "dynamic", c->dynamic));
    }
    for (i = 0; i < plan->n_alters; i++) {
        const chan_topic_alter *a = &plan->alters[i];
        json_t *configs = json_object();

        for (k = 0; k < a->n_pairs; k++)
            json_object_set_new(configs, a->pairs[2 * k], json_string(a->pairs[2 * k + 1]));
        json_array_append_new(alters,
                              json_pack("{s:s,s:o,s:o}", "topic", a->topic, "configs", configs,
                                        "refused", chan_json_str_or_null(a->refused)));
    }
    for (i = 0; i < plan->n_missing; i++)
        json_array_append_new(missing, json_string(plan->missing[i]));
    return json_pack("{s:I,s:o,s:o,s:o}", "checked", (json_int_t)plan->checked, "changes", changes,
                     "alters", alters, "missing", missing);
}
