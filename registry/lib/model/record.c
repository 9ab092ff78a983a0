/*
 * record.c - life cycle of the domain records of chan/model.h: init, dispose
 * and free for channels, consumers and producers.
 */
#include <stdlib.h>
#include <string.h>

#include "chan/model.h"

void chan_consumer_record_init(chan_consumer_record *rec)
{
    memset(rec, 0, sizeof(*rec));
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
