/*
 * authz_targets.c - the target resolvers of the route tables (see
 * authz_targets.h): owning teams from the store, and from the body where
 * the request may change them.
 */
#include <string.h>

#include <jansson.h>

#include "chan/model.h"
#include "chan/store.h"

#include "authz_targets.h"

/*
** The owner team of a stored channel, found by name or (by_subject) by its
** contract subject, copied into the request; NULL when there is none.
** Returns 0, or the store's error when it could not answer.  A name the
** store refuses (CHAN_EINVALID: not UTF-8, too long) has no channel either:
** the handler reports it.
*/
static int stored_team(const char **out, chand_request *req, const char *key, bool by_subject,
                       chan_error *err)
{
    chan_store *store = chand_request_store(req);
    chan_channel_record *ch = NULL;
    chan_error lookup = CHAN_ERROR_INIT;
    int error;

    *out = NULL;
    if (key == NULL)
        return 0;
    error = by_subject ? chan_store_channel_by_subject(store, &ch, key, &lookup)
                       : chan_store_channel_get(store, &ch, key, &lookup);
    if (error == CHAN_ENOTFOUND || error == CHAN_EINVALID)
        return 0;
    if (error < 0) {
        if (err)
            *err = lookup;
        return error;
    }
    *out = chand_request_keep(req, ch->owner_team);
    chan_channel_record_free(ch);
    return 0;
}

/* The body as a JSON object, or NULL (absent or not an object: the handler refuses it). */
static json_t *body_object(const chand_request *req)
{
    size_t len;
    const char *body = chand_request_body(req, &len);
    json_t *doc = len ? json_loadb(body, len, 0, NULL) : NULL;

    if (doc && !json_is_object(doc)) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

int chand_target_subject(chan_authz_target *out, chand_request *req, chan_error *err)
{
    out->subject = chand_request_param(req, "subject");
    return stored_team(&out->team, req, out->subject, true, err);
}

int chand_target_channel(chan_authz_target *out, chand_request *req, chan_error *err)
{
    out->channel = chand_request_param(req, "name");
    return stored_team(&out->team, req, out->channel, false, err);
}

int chand_target_channel_put(chan_authz_target *out, chand_request *req, chan_error *err)
{
    json_t *doc;
    int error;

    if ((error = chand_target_channel(out, req, err)) < 0)
        return error;
    doc = body_object(req);
    out->new_team = chand_request_keep(
        req, json_string_value(json_object_get(json_object_get(doc, "owner"), "team")));
    json_decref(doc);
    return 0;
}

/*
** The requester team of consumer `name` of the stored channel, when it was
** registered over the API, copied into the request; NULL otherwise.  Errors
** as stored_team.
*/
static int stored_requester_team(const char **out, chand_request *req, const char *channel,
                                 const char *name, chan_error *err)
{
    chan_channel_record *ch = NULL;
    chan_error lookup = CHAN_ERROR_INIT;
    int error;

    *out = NULL;
    if (channel == NULL || name == NULL)
        return 0;
    error = chan_store_channel_get(chand_request_store(req), &ch, channel, &lookup);
    if (error == CHAN_ENOTFOUND || error == CHAN_EINVALID)
        return 0;
    if (error < 0) {
        if (err)
            *err = lookup;
        return error;
    }
    for (size_t i = 0; i < ch->n_consumers; i++)
        if (strcmp(ch->consumers[i].name, name) == 0 &&
            ch->consumers[i].origin == CHAN_CONSUMER_ORIGIN_API)
            *out = chand_request_keep(req, ch->consumers[i].requester_team);
    chan_channel_record_free(ch);
    return 0;
}

int chand_target_consumer(chan_authz_target *out, chand_request *req, chan_error *err)
{
    json_t *doc;
    int error;

    out->consumer = chand_request_param(req, "consumer");
    if ((error = chand_target_channel(out, req, err)) < 0 ||
        (error = stored_requester_team(&out->requester_team, req, out->channel, out->consumer,
                                       err)) < 0)
        return error;
    if (strcmp(chand_request_method(req), "PUT") != 0)
        return 0;
    doc = body_object(req);
    out->acting_team = chand_request_keep(req, json_string_value(json_object_get(doc, "team")));
    json_decref(doc);
    return 0;
}
