/*
 * api_tokens.c - who the caller is: GET /v1/whoami.
 *
 * The reply shows the identity the server authenticated for this request,
 * never a token or its digest: {"identity", "roles": [...], "source"
 * ("file", "flag", "open", or "none" when auth is on and no token was
 * sent), "expires_at" (Unix seconds or null), "auth" (false in open mode)}.
 */
#include <stdlib.h>
#include <string.h>

#include "chan/authz.h"

#include "api.h"

/* GET /v1/whoami */
static int whoami(chan_request *req, chan_error *err)
{
    const chan_identity *who = chan_request_identity(req);
    char *text = chan_identity_roles_text(who);
    json_t *roles = json_array();
    char *p, *next;

    for (p = text; *p; p = next) {
        next = strchr(p, ',');
        if (next)
            *next++ = '\0';
        else
            next = p + strlen(p);
        json_array_append_new(roles, json_string(p));
    }
    free(text);
    return chan_reply_json(
        req, 200,
        json_pack("{s:s, s:o, s:s, s:o, s:b}", "identity", who->name, "roles", roles, "source",
                  who->source ? who->source : "none", "expires_at",
                  who->expires_at > 0 ? json_integer(who->expires_at) : json_null(), "auth",
                  chan_request_auth_on(req)));
}

const chan_route chan_api_tokens_routes[] = {
    {"GET", "/v1/whoami", whoami, CHAN_AUTHZ_SELF, NULL},
};

const size_t chan_api_tokens_routes_count = CHAN_ARRAY_SIZE(chan_api_tokens_routes);
