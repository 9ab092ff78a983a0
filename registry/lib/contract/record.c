/*
 * record.c - a contract as the channel record the store keeps
 * (chan_contract_to_record).  Every string of the record is a copy, so the
 * record outlives the contract.
 */
#include <assert.h>
#include <stddef.h>

#include "chan/common.h"
#include "chan/contract.h"
#include "chan/model.h"

/* A copy of s, or NULL for NULL. */
static char *copy_or_null(const char *s)
{
    return s ? chan_xstrdup(s) : NULL;
}

chan_channel_record *chan_contract_to_record(const chan_contract *contract)
{
    chan_channel_record *rec = chan_xcalloc(1, sizeof(*rec));
    size_t i;

    assert(contract != NULL);
    rec->name = chan_xstrdup(chan_contract_name(contract));
    rec->owner_team = copy_or_null(chan_contract_owner_team(contract));
    rec->maintainer = copy_or_null(chan_contract_maintainer(contract));
    rec->peak_qps = chan_contract_peak_qps(contract);
    rec->retention_hours = chan_contract_retention_hours(contract);
    rec->deprecation_date = copy_or_null(chan_contract_deprecation_date(contract));
    rec->retirement_date = copy_or_null(chan_contract_retirement_date(contract));
    rec->subject = copy_or_null(chan_contract_subject(contract));
    rec->compatibility = chan_xstrdup(chan_compat_mode_name(chan_contract_compatibility(contract)));
    rec->waiver_reason = copy_or_null(chan_contract_waiver_reason(contract));
    rec->contract_version = copy_or_null(chan_contract_version_text(contract));
    rec->avg_message_bytes = chan_contract_avg_message_bytes(contract);
    rec->cleanup_policy = copy_or_null(chan_contract_cleanup_policy(contract));
    rec->document = chan_contract_render_json(contract);

    rec->n_consumers = chan_contract_consumer_count(contract);
    rec->consumers = chan_xcalloc(rec->n_consumers + 1, sizeof(*rec->consumers));
    for (i = 0; i < rec->n_consumers; i++) {
        const chan_contract_consumer *k = chan_contract_consumer_at(contract, i);
        chan_consumer_record *c = &rec->consumers[i];

        c->channel = chan_xstrdup(rec->name);
        c->name = copy_or_null(k->name);
        c->principal = copy_or_null(k->principal);
        c->group = copy_or_null(k->group);
        c->scenario = copy_or_null(k->scenario);
        c->sla_p99_ms = k->sla_p99_ms;
        c->peak_rate_msgs = (double)k->peak_rate_msgs;
        c->degradation = chan_xstrdup(chan_degradation_name(k->degradation));
    }
    rec->n_producers = chan_contract_producer_count(contract);
    rec->producers = chan_xcalloc(rec->n_producers + 1, sizeof(*rec->producers));
    for (i = 0; i < rec->n_producers; i++) {
        rec->producers[i].channel = chan_xstrdup(rec->name);
        rec->producers[i].principal =
            copy_or_null(chan_contract_producer_at(contract, i)->principal);
    }
    return rec;
}
