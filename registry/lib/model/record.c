/*
 * record.c - life cycle of the domain records of chan/model.h: init, dispose
 * and free for channels, consumers and producers, and the names of the
 * consumer origins and states.
 */
#include <stdlib.h>
#include <string.h>

#include "chan/common.h"
#include "chan/model.h"

static const char *const origin_names[] = {
    [CHAN_CONSUMER_ORIGIN_CONTRACT] = "contract",
    [CHAN_CONSUMER_ORIGIN_API] = "api",
};

static const char *const state_names[] = {
    [CHAN_CONSUMER_APPROVED] = "approved",
    [CHAN_CONSUMER_PENDING] = "pending",
    [CHAN_CONSUMER_REJECTED] = "rejected",
};

/* Index of name in names[0..n), or -1.  NULL names are never found. */
static int name_index(const char *const *names, size_t n, const char *name)
{
    if (name == NULL)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return (int)i;
    return -1;
}

const char *chan_consumer_origin_name(chan_consumer_origin origin)
{
    if ((size_t)origin >= CHAN_ARRAY_SIZE(origin_names))
        return "unknown";
    return origin_names[origin];
}

int chan_consumer_origin_parse(chan_consumer_origin *out, const char *name)
{
    int i = name_index(origin_names, CHAN_ARRAY_SIZE(origin_names), name);

    if (i < 0)
        return CHAN_EINVALID;
    *out = (chan_consumer_origin)i;
    return 0;
}

const char *chan_consumer_state_name(chan_consumer_state state)
{
    if ((size_t)state >= CHAN_ARRAY_SIZE(state_names))
        return "unknown";
    return state_names[state];
}

int chan_consumer_state_parse(chan_consumer_state *out, const char *name)
{
    int i = name_index(state_names, CHAN_ARRAY_SIZE(state_names), name);

    if (i < 0)
        return CHAN_EINVALID;
    *out = (chan_consumer_state)i;
    return 0;
}

void chan_consumer_record_init(chan_consumer_record *rec)
{
    memset(rec, 0, sizeof(*rec));
}

int64_t chan_consumer_registration_since(const chan_consumer_record *c)
{
    return c->renewed_at > 0 ? c->renewed_at : c->registered_at;
}

bool chan_consumer_stale(const chan_consumer_record *c, int64_t now, int64_t max_age)
{
    return now - chan_consumer_registration_since(c) > max_age;
}

void chan_consumer_record_dispose(chan_consumer_record *rec)
{
    if (rec == NULL)
        return;
    free(rec->channel);
    free(rec->name);
    free(rec->principal);
    free(rec->group);
    free(rec->scenario);
    free(rec->degradation);
    free(rec->requester_team);
    free(rec->requested_by);
    free(rec->decided_by);
    free(rec->decision_reason);
    chan_consumer_record_init(rec);
}

void chan_consumer_record_free(chan_consumer_record *rec)
{
    if (rec == NULL)
        return;
    chan_consumer_record_dispose(rec);
    free(rec);
}

void chan_consumer_record_list_free(chan_consumer_record **list, size_t n)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        chan_consumer_record_free(list[i]);
    free(list);
}

void chan_producer_record_dispose(chan_producer_record *rec)
{
    if (rec == NULL)
        return;
    free(rec->channel);
    free(rec->principal);
    memset(rec, 0, sizeof(*rec));
}

void chan_channel_record_init(chan_channel_record *rec)
{
    memset(rec, 0, sizeof(*rec));
}

void chan_channel_record_dispose(chan_channel_record *rec)
{
    if (rec == NULL)
        return;
    free(rec->name);
    free(rec->owner_team);
    free(rec->maintainer);
    free(rec->deprecation_date);
    free(rec->retirement_date);
    free(rec->subject);
    free(rec->compatibility);
    free(rec->document);
    free(rec->waiver_reason);
    free(rec->waiver_approved_by);
    for (size_t i = 0; i < rec->n_consumers; i++)
        chan_consumer_record_dispose(&rec->consumers[i]);
    free(rec->consumers);
    for (size_t i = 0; i < rec->n_producers; i++)
        chan_producer_record_dispose(&rec->producers[i]);
    free(rec->producers);
    chan_channel_record_init(rec);
}

void chan_channel_record_free(chan_channel_record *rec)
{
    if (rec == NULL)
        return;
    chan_channel_record_dispose(rec);
    free(rec);
}

void chan_channel_record_list_free(chan_channel_record **list, size_t n)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        chan_channel_record_free(list[i]);
    free(list);
}

void chan_channel_tombstone_list_free(chan_channel_tombstone **list, size_t n)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        chan_channel_tombstone *t = list[i];

        if (t == NULL)
            continue;
        free(t->name);
        free(t->owner_team);
        free(t->topic);
        for (size_t j = 0; j < t->n_groups; j++)
            free(t->groups[j]);
        free(t->groups);
        free(t->deleted_by);
        free(t);
    }
    free(list);
}
