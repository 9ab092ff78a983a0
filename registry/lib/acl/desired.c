/*
 * desired.c - from channel records to the ACL bindings that registered
 * consumers and producers need, and to the scope of resources the registry
 * manages.  Retirement is decided here: a channel whose retirement date (or,
 * without one, deprecation date) is on or before the "as of" day contributes
 * no bindings but stays in scope.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl_int.h"
#include "chan/policy.h"

void chan_acl_scope_free(chan_acl_scope *scope)
{
    if (scope == NULL)
        return;
    chan_acl__strset_dispose(&scope->topics);
    chan_acl__strset_dispose(&scope->groups);
    free(scope);
}

size_t chan_acl_scope_topic_count(const chan_acl_scope *scope)
{
    return scope ? scope->topics.n : 0;
}

const char *chan_acl_scope_topic(const chan_acl_scope *scope, size_t i)
{
    if (scope == NULL || i >= scope->topics.n)
        return NULL;
    return scope->topics.items[i];
}

size_t chan_acl_scope_group_count(const chan_acl_scope *scope)
{
    return scope ? scope->groups.n : 0;
}

const char *chan_acl_scope_group(const chan_acl_scope *scope, size_t i)
{
    if (scope == NULL || i >= scope->groups.n)
        return NULL;
    return scope->groups.items[i];
}

bool chan_acl_scope_covers(const chan_acl_scope *scope, const chan_acl_binding *b)
{
    if (scope == NULL || b == NULL)
        return false;
    if (b->pattern_type != CHAN_ACL_PATTERN_LITERAL || b->permission != CHAN_ACL_PERMISSION_ALLOW)
        return false;
    switch (b->resource_type) {
    case CHAN_ACL_RESOURCE_TOPIC:
        return chan_acl__strset_has(&scope->topics, b->resource_name);
    case CHAN_ACL_RESOURCE_GROUP:
        return chan_acl__strset_has(&scope->groups, b->resource_name);
    default:
        return false;
    }
}

int chan_acl__as_of(int64_t *out, const char *as_of, chan_error *err)
{
    if (as_of == NULL) {
        *out = chan_date_today();
        return 0;
    }
    if (!chan_date_parse(as_of, out))
        return chan_error_set(err, CHAN_EINVALID, "as-of date '%s' is not a YYYY-MM-DD date",
                              as_of);
    return 0;
}

/* Add one ALLOW LITERAL host-"*" binding; the inputs were checked before. */
static void add_allow(chan_acl_set *set, chan_acl_resource_type type, const char *name,
                      const char *principal, chan_acl_operation op)
{
    chan_acl_binding b = {
        .resource_type = type,
        .resource_name = name,
        .pattern_type = CHAN_ACL_PATTERN_LITERAL,
        .principal = principal,
        .host = "*",
        .operation = op,
        .permission = CHAN_ACL_PERMISSION_ALLOW,
    };
    int rc = chan_acl_set_add(set, NULL, &b, NULL);

    (void)rc; /* cannot fail: every field was validated by check_channel */
}

/* Check every field of channel i that the planner uses.  Sets err->path. */
static int check_channel(const chan_channel_record *ch, size_t i, chan_error *err)
{
    int error = 0;

    if (ch == NULL) {
        error = chan_error_set(err, CHAN_EINVALID, "channel record is missing");
        if (err)
            snprintf(err->path, sizeof(err->path), "channels[%zu]", i);
        return error;
    }
    if (!chan_acl__topic_name_ok(ch->name)) {
        error = chan_error_set(err, CHAN_EINVALID, "channel name '%s' is not a legal topic name",
                               ch->name ? ch->name : "(null)");
        chan_error_hint(err, "topic names have 1 to 249 of the characters [A-Za-z0-9._-]");
        if (err)
            snprintf(err->path, sizeof(err->path), "channels[%zu].name", i);
        return error;
    }
    if (ch->deprecation_date != NULL && !chan_date_parse(ch->deprecation_date, NULL)) {
        error = chan_error_set(err, CHAN_EINVALID,
                               "channel %s: deprecation date '%s' is not a YYYY-MM-DD date",
                               ch->name, ch->deprecation_date);
        if (err)
            snprintf(err->path, sizeof(err->path), "channels[%zu].deprecation_date", i);
        return error;
    }
    if (ch->n_consumers > 0 && ch->consumers == NULL) {
        error =
            chan_error_set(err, CHAN_EINVALID, "channel %s: consumer array is missing", ch->name);
        if (err)
            snprintf(err->path, sizeof(err->path), "channels[%zu].consumers", i);
        return error;
    }
    if (ch->n_producers > 0 && ch->producers == NULL) {
        error =
            chan_error_set(err, CHAN_EINVALID, "channel %s: producer array is missing", ch->name);
        if (err)
            snprintf(err->path, sizeof(err->path), "channels[%zu].producers", i);
        return error;
    }
    for (size_t j = 0; j < ch->n_consumers; j++) {
        const chan_consumer_record *c = &ch->consumers[j];

        if (!chan_acl__principal_ok(c->principal)) {
            error = chan_error_set(err, CHAN_EINVALID,
                                   "channel %s: consumer principal '%s' is not of the form "
                                   "Type:name",
                                   ch->name, c->principal ? c->principal : "(null)");
            chan_error_hint(err, "write principals as in Kafka, e.g. User:billing");
            if (err)
                snprintf(err->path, sizeof(err->path), "channels[%zu].consumers[%zu].principal", i,
                         j);
            return error;
        }
        if (!chan_acl__text_ok(c->group)) {
            error = chan_error_set(err, CHAN_EINVALID,
                                   "channel %s: consumer %s has an empty or unprintable group",
                                   ch->name, c->principal);
            if (err)
                snprintf(err->path, sizeof(err->path), "channels[%zu].consumers[%zu].group", i, j);
            return error;
        }
    }
    for (size_t j = 0; j < ch->n_producers; j++) {
        const chan_producer_record *p = &ch->producers[j];

        if (!chan_acl__principal_ok(p->principal)) {
            error = chan_error_set(err, CHAN_EINVALID,
                                   "channel %s: producer principal '%s' is not of the form "
                                   "Type:name",
                                   ch->name, p->principal ? p->principal : "(null)");
            if (err)
                snprintf(err->path, sizeof(err->path), "channels[%zu].producers[%zu].principal", i,
                         j);
            return error;
        }
    }
    return 0;
}

/*
** Put the topic and groups of each deleted channel into the scope (no
** binding is desired for them, so the plan deletes theirs).  A live channel
** of the same name may already be there.  Sets err->path on bad input.
*/
static int add_tombstones(chan_acl_scope *scope, const chan_channel_tombstone *const *tombstones,
                          size_t n, chan_error *err)
{
    int error;

    if (n > 0 && tombstones == NULL)
        return chan_error_set(err, CHAN_EINVALID, "tombstone array is missing");
    for (size_t i = 0; i < n; i++) {
        const chan_channel_tombstone *t = tombstones[i];
        bool ok = t != NULL && chan_acl__topic_name_ok(t->topic) &&
                  (t->n_groups == 0 || t->groups != NULL);

        for (size_t j = 0; ok && j < t->n_groups; j++)
            ok = chan_acl__text_ok(t->groups[j]);
        if (!ok) {
            error = chan_error_set(err, CHAN_EINVALID,
                                   "tombstone of channel %s: bad topic or consumer group",
                                   t && t->name ? t->name : "(null)");
            if (err)
                snprintf(err->path, sizeof(err->path), "tombstones[%zu]", i);
            return error;
        }
        chan_acl__strset_add(&scope->topics, t->topic);
        for (size_t j = 0; j < t->n_groups; j++)
            chan_acl__strset_add(&scope->groups, t->groups[j]);
    }
    return 0;
}

int chan_acl_desired(chan_acl_set **out, chan_acl_scope **out_scope,
                     const chan_channel_record *const *channels, size_t n,
                     const chan_acl_desired_options *opts, chan_error *err)
{
    int error = 0;
    int64_t as_of;
    chan_acl_set *set = NULL;
    chan_acl_scope *scope = NULL;

    *out = NULL;
    if (out_scope)
        *out_scope = NULL;
    if (n > 0 && channels == NULL)
        return chan_error_set(err, CHAN_EINVALID, "channel array is missing");
    if (opts && (opts->version < 1 || opts->version > CHAN_ACL_DESIRED_OPTIONS_VERSION))
        return chan_error_set(err, CHAN_EINVALID, "unsupported desired-options version %u",
                              opts->version);
    if ((error = chan_acl__as_of(&as_of, opts ? opts->as_of : NULL, err)) < 0)
        return error;

    scope = chan_xcalloc(1, sizeof(*scope));
    for (size_t i = 0; i < n; i++) {
        if ((error = check_channel(channels[i], i, err)) < 0)
            goto cleanup;
        if (chan_acl__strset_has(&scope->topics, channels[i]->name)) {
            error =
                chan_error_set(err, CHAN_EINVALID, "channel %s is listed twice", channels[i]->name);
            if (err)
                snprintf(err->path, sizeof(err->path), "channels[%zu].name", i);
            goto cleanup;
        }
        chan_acl__strset_add(&scope->topics, channels[i]->name);
    }
    if (opts && opts->version >= 2 &&
        (error = add_tombstones(scope, opts->tombstones, opts->n_tombstones, err)) < 0)
        goto cleanup;

    set = chan_acl_set_new();
    for (size_t i = 0; i < n; i++) {
        const chan_channel_record *ch = channels[i];
        bool retired = chan_policy_channel_retired(ch, as_of);

        for (size_t j = 0; j < ch->n_consumers; j++) {
            const chan_consumer_record *c = &ch->consumers[j];

            chan_acl__strset_add(&scope->groups, c->group);
            if (!chan_policy_consumer_grants(ch, c, as_of))
                continue;
            add_allow(set, CHAN_ACL_RESOURCE_TOPIC, ch->name, c->principal, CHAN_ACL_OP_READ);
            add_allow(set, CHAN_ACL_RESOURCE_TOPIC, ch->name, c->principal, CHAN_ACL_OP_DESCRIBE);
            add_allow(set, CHAN_ACL_RESOURCE_GROUP, c->group, c->principal, CHAN_ACL_OP_READ);
        }
        if (retired)
            continue;
        for (size_t j = 0; j < ch->n_producers; j++) {
            const chan_producer_record *p = &ch->producers[j];

            add_allow(set, CHAN_ACL_RESOURCE_TOPIC, ch->name, p->principal, CHAN_ACL_OP_WRITE);
            add_allow(set, CHAN_ACL_RESOURCE_TOPIC, ch->name, p->principal, CHAN_ACL_OP_DESCRIBE);
        }
    }

    *out = set;
    set = NULL;
    if (out_scope) {
        *out_scope = scope;
        scope = NULL;
    }

cleanup:
    chan_acl_set_free(set);
    chan_acl_scope_free(scope);
    return error;
}
