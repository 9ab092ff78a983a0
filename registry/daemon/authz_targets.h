/*
 * authz_targets.h - target resolvers of the route tables: what a request
 * acts on, for chan_authz_check (see chand_route_target_fn in server.h).
 *
 * Each resolver reads the route's path parameters (and, where the action
 * depends on it, the body), looks the owning team up in the store and fills
 * a chan_authz_target whose strings the request owns (chand_request_keep).
 * A subject, channel or consumer that does not exist leaves the team NULL:
 * the handler then answers 404 (or creates it).  A store failure is
 * returned as is (the request is refused with its error): authorization
 * never guesses.
 */
#ifndef CHANREGD_AUTHZ_TARGETS_H
#define CHANREGD_AUTHZ_TARGETS_H

#include "chan/authz.h"
#include "chan/error.h"

#include "server.h"

/** {subject}: team = owner team of the channel whose contract subject it is. */
int chand_target_subject(chan_authz_target *out, chand_request *req, chan_error *err);

/** {name}: team = owner team of the stored channel. */
int chand_target_channel(chan_authz_target *out, chand_request *req, chan_error *err);

/** As chand_target_channel, plus new_team = owner.team of the contract in the body. */
int chand_target_channel_put(chan_authz_target *out, chand_request *req, chan_error *err);

/**
 * {name}/consumers/{consumer}: team = the channel's owner team;
 * requester_team = the team an API registration of the consumer was made
 * for; for a PUT, acting_team = the body's optional "team".
 */
int chand_target_consumer(chan_authz_target *out, chand_request *req, chan_error *err);

#endif
