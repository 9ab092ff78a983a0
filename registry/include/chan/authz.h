/*
 * authz.h - identities, roles, the authorization matrix and API tokens.
 *
 * Pure library code: no store, no HTTP, no logging.  The daemon
 * authenticates a request (token -> chan_identity), resolves the route's
 * target (owner team of the channel or bound subject, ...) and then calls
 * chan_authz_check once, before the handler.
 *
 * Roles: "admin", "reader", "owner:<team>", "ci:<team>" where <team> is a
 * contract owner.team ([a-z0-9][a-z0-9._-]{0,63}).  Every identity may read;
 * "reader" grants nothing more.
 *
 * Tokens look like chr_<12 hex id>_<43 base64url characters> (32 random
 * bytes from GnuTLS).  Only their SHA-256 digest is stored; the id lets the
 * daemon look a token up before comparing digests in constant time.
 *
 * Token file, one identity per line ('#' comments and blank lines skipped):
 *
 *     NAME sha256=<64 hex> roles=ci:orders,ci:billing [expires=YYYY-MM-DD]
 *     NAME:TOKEN            legacy line: hashed at load, role admin
 */
#ifndef CHAN_AUTHZ_H
#define CHAN_AUTHZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chan/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Identities and roles                                                */
/* ------------------------------------------------------------------ */

/** Longest identity name (bytes, without the NUL). */
#define CHAN_IDENTITY_NAME_MAX 128
/** Longest team name (bytes, without the NUL). */
#define CHAN_TEAM_NAME_MAX 64

typedef enum chan_role_kind {
    CHAN_ROLE_READER,
    CHAN_ROLE_ADMIN,
    CHAN_ROLE_OWNER, /**< owner:<team> */
    CHAN_ROLE_CI,    /**< ci:<team> */
} chan_role_kind;

/** One role.  team is owned by the identity; set for OWNER and CI only. */
typedef struct chan_role {
    chan_role_kind kind;
    char *team;
} chan_role;

/**
 * A named client with its roles.  Embed by value: chan_identity_init /
 * chan_identity_dispose.  The roles are sorted by their text and free of
 * duplicates.
 */
typedef struct chan_identity {
    char *name;       /**< owned */
    chan_role *roles; /**< owned, n_roles entries */
    size_t n_roles;
    int64_t expires_at; /**< Unix seconds from which it is refused; 0 never */
    const char *source; /**< static string: "file", "store", "open"; NULL unset */
} chan_identity;

/**
 * True when s is a valid team name: [a-z0-9][a-z0-9._-]{0,63}.
 */
bool chan_team_valid(const char *s);

/**
 * True when s is a valid identity name: 1..CHAN_IDENTITY_NAME_MAX printable
 * ASCII characters without whitespace, ':' or ','.
 */
bool chan_identity_name_valid(const char *s);

/**
 * Initialise an identity from a name and comma-separated roles.
 *
 * Duplicate roles are dropped and the rest sorted.  expires_at is 0 and
 * source NULL: the caller sets them.
 *
 * @param[out] out   initialised on success, zeroed on failure; dispose it
 * @param name       identity name, see chan_identity_name_valid
 * @param roles_csv  e.g. "ci:orders,ci:billing"; NULL or "" for no roles
 * @return 0 or CHAN_EINVALID (bad name, unknown role, bad team, empty item)
 */
int chan_identity_init(chan_identity *out, const char *name, const char *roles_csv,
                       chan_error *err);

/** Free what the identity owns and zero it.  NULL-safe. */
void chan_identity_dispose(chan_identity *id);

/**
 * The roles as sorted comma-separated text, e.g. "ci:billing,ci:orders";
 * "" for no roles.  Never NULL; the caller frees.
 */
char *chan_identity_roles_text(const chan_identity *id);

/**
 * True when the identity holds a role of that kind.  For OWNER and CI,
 * team restricts the match to that team (NULL: any team); for ADMIN and
 * READER team is ignored.
 */
bool chan_identity_has(const chan_identity *id, chan_role_kind kind, const char *team);

/* ------------------------------------------------------------------ */
/* Authorization                                                       */
/* ------------------------------------------------------------------ */

/** What a route does; the matrix of chan_authz_check decides who may. */
typedef enum chan_authz_action {
    CHAN_AUTHZ_PUBLIC = 0,        /**< /healthz, /readyz */
    CHAN_AUTHZ_READ,              /**< every GET and the read-only POSTs */
    CHAN_AUTHZ_SELF,              /**< GET /v1/whoami */
    CHAN_AUTHZ_SUBJECT_WRITE,     /**< register or delete schema versions */
    CHAN_AUTHZ_SUBJECT_CONFIG,    /**< PUT/DELETE /config/{subject} */
    CHAN_AUTHZ_REGISTRY_ADMIN,    /**< global config and mode, ACL apply, tokens, waivers */
    CHAN_AUTHZ_CHANNEL_PUT,       /**< PUT /v1/channels/{n} */
    CHAN_AUTHZ_CHANNEL_DELETE,    /**< DELETE /v1/channels/{n} */
    CHAN_AUTHZ_CONSUMER_REGISTER, /**< PUT .../consumers/{c} */
    CHAN_AUTHZ_CONSUMER_CHANGE,   /**< renew, DELETE .../consumers/{c} */
    CHAN_AUTHZ_CONSUMER_DECIDE,   /**< approve, reject */
} chan_authz_action;

/** Number of actions (for tables indexed by chan_authz_action). */
#define CHAN_AUTHZ_ACTION_COUNT 11

/** Stable name of an action, e.g. "subject.write"; "?" when out of range. */
const char *chan_authz_action_name(chan_authz_action a);

/** chan_error.reason of a CHAN_EINVALID from chan_authz_check. */
enum {
    CHAN_AUTHZ_R_NONE = 0,
    /** CONSUMER_REGISTER: the identity acts for several teams and no "team" was given. */
    CHAN_AUTHZ_R_TEAM_AMBIGUOUS = 1,
};

/**
 * What a request acts on.  Every string is borrowed and may be NULL.
 * team NULL means "no stored owner": the channel does not exist or the
 * subject is not bound to a channel.
 */
typedef struct chan_authz_target {
    const char *subject, *channel, *consumer; /**< for messages only */
    const char *team;           /**< owner team of the stored channel / bound subject */
    const char *new_team;       /**< CHANNEL_PUT: owner.team of the body */
    const char *requester_team; /**< CONSUMER_*: team of an existing api-origin consumer */
    const char *acting_team;    /**< CONSUMER_REGISTER: the body's "team" */
} chan_authz_target;

/** Size of chan_authz_decision.missing. */
#define CHAN_AUTHZ_MISSING_MAX 384

/** The outcome of chan_authz_check. */
typedef struct chan_authz_decision {
    /** admin or owner:<target team>: registrations are approved at once */
    bool as_owner;
    /**
     * team the identity acts for, or NULL; borrowed from the target or from
     * the identity's roles: valid while both live (the request's lifetime)
     */
    const char *team;
    /**
     * On refusal: the roles any of which would have allowed the request,
     * sorted, deduplicated, ", "-separated ("admin, ci:payments,
     * owner:payments").  "*" stands for any team.  "" when allowed.
     */
    char missing[CHAN_AUTHZ_MISSING_MAX];
} chan_authz_decision;

/**
 * Decide whether `who` may perform `action` on `target`.
 *
 * Matrix (T = target->team, N = new_team, R = requester_team):
 *  - PUBLIC, READ, SELF: everyone (authentication is the server's job);
 *  - SUBJECT_WRITE, SUBJECT_CONFIG: admin; T set: owner:T, ci:T; T NULL:
 *    any owner:*, ci:*;
 *  - REGISTRY_ADMIN: admin;
 *  - CHANNEL_PUT: admin; else (owner:T or ci:T, when T is set) and
 *    (owner:N or ci:N; any owner:*, ci:* when N is NULL);
 *  - CHANNEL_DELETE: admin, owner:T; T NULL: any owner:*, ci:*;
 *  - CONSUMER_REGISTER: admin, owner:T (as_owner); R set: owner:R, ci:R
 *    (team R); else owner:X or ci:X for a team X != T (team X; the
 *    target's acting_team chooses X, several candidates without it are
 *    ambiguous);
 *  - CONSUMER_CHANGE: admin, owner:T, ci:T, owner:R, ci:R; T and R NULL:
 *    any owner:*, ci:*;
 *  - CONSUMER_DECIDE: admin, owner:T; T NULL: any owner:*.
 *
 * @param[out] out decision; always filled (missing is "" when allowed)
 * @param who      the authenticated identity (anonymous: no roles)
 * @param target   may be NULL for actions without a target
 * @return 0 allowed; CHAN_EDENIED with err message "identity 'X' (roles R)
 *         may not <verb> <object>: needs <roles>"; CHAN_EINVALID with
 *         err->reason CHAN_AUTHZ_R_TEAM_AMBIGUOUS
 */
int chan_authz_check(chan_authz_decision *out, const chan_identity *who, chan_authz_action action,
                     const chan_authz_target *target, chan_error *err);

/* ------------------------------------------------------------------ */
/* Tokens                                                              */
/* ------------------------------------------------------------------ */

#define CHAN_TOKEN_PREFIX     "chr_"
#define CHAN_TOKEN_ID_LEN     12
#define CHAN_TOKEN_SECRET_LEN 43 /**< base64url of 32 bytes, no padding */
/** strlen of a token made by chan_token_new: "chr_" + id + "_" + secret. */
#define CHAN_TOKEN_LEN        (4 + CHAN_TOKEN_ID_LEN + 1 + CHAN_TOKEN_SECRET_LEN)
#define CHAN_TOKEN_DIGEST_LEN 32 /**< SHA-256 */

/**
 * Make a new random token (GNUTLS_RND_KEY).
 *
 * @param[out] out    the token, CHAN_TOKEN_LEN characters; caller frees with
 *                   chan_token_free; NULL on failure
 * @param[out] out_id its id (the 12 hex characters after "chr_")
 * @return 0 or CHAN_EINTERNAL (no randomness)
 */
int chan_token_new(char **out, char out_id[CHAN_TOKEN_ID_LEN + 1], chan_error *err);

/** Overwrite a token (or any secret string) with zeros, then free it; NULL-safe. */
void chan_token_free(char *token);

/** SHA-256 of the len bytes of token. */
void chan_token_digest(uint8_t out[CHAN_TOKEN_DIGEST_LEN], const char *token, size_t len);

/** SHA-256 of the len bytes of token as 64 lower-case hex characters. */
void chan_token_digest_hex(char out[2 * CHAN_TOKEN_DIGEST_LEN + 1], const char *token, size_t len);

/**
 * HMAC-SHA256 of the len bytes of data under key (key_len bytes), as 64
 * lower-case hex characters: the signature of webhook deliveries.
 */
void chan_hmac_sha256_hex(char out[2 * CHAN_TOKEN_DIGEST_LEN + 1], const void *key, size_t key_len,
                          const void *data, size_t len);

/**
 * Parse 64 hex characters (either case) into a digest.
 * @return 0 or CHAN_EINVALID (wrong length or not hex)
 */
int chan_token_digest_parse(uint8_t out[CHAN_TOKEN_DIGEST_LEN], const char *hex);

/**
 * The id of a token of the chr_ format (out gets the 12 hex characters).
 * @return false when the token does not have that format (a legacy token)
 */
bool chan_token_id(char out[CHAN_TOKEN_ID_LEN + 1], const char *token, size_t len);

/** Compare n bytes in time that depends on n only. */
bool chan_ct_memeq(const void *a, const void *b, size_t n);

/** One identity of a token file. */
typedef struct chan_token_entry {
    chan_identity identity; /**< source "file"; expires_at: 00:00 UTC of expires= */
    uint8_t digest[CHAN_TOKEN_DIGEST_LEN];
    int line;    /**< 1-based line in the file */
    bool legacy; /**< a NAME:TOKEN line: the daemon should warn */
} chan_token_entry;

/**
 * Parse a token file.  Every bad line is reported, not just the first: the
 * error message is the first problem ("path:line: message") and the detail
 * lists all of them, one per line.  A file without entries is not an
 * error: the caller decides.
 *
 * v2 lines: `NAME sha256=<64 hex> roles=R1,R2 [expires=YYYY-MM-DD]`, fields
 * separated by blanks, in any order after NAME; sha256 and roles are
 * required.  A line whose first ':' comes before any blank is legacy
 * `NAME:TOKEN` (as read by chanregd before token file v2): the token is
 * hashed, the role is admin and the entry is flagged legacy.  Two entries
 * with the same digest are an error.
 *
 * @param[out] out    array of *out_n entries (free with chan_token_entries_free); NULL on failure
 * @param[out] out_n  number of entries
 * @param text        the file contents, NUL-terminated
 * @param path        file name for the messages
 * @return 0 or CHAN_EINVALID
 */
int chan_token_file_parse(chan_token_entry **out, size_t *out_n, const char *text, const char *path,
                          chan_error *err);

/** Dispose every entry and free the array.  NULL-safe. */
void chan_token_entries_free(chan_token_entry *entries, size_t n);

/**
 * A v2 token file line (with a final newline) for an identity holding
 * token; only the digest of token appears in it.
 *
 * @param roles_csv as for chan_identity_init (written sorted, deduplicated)
 * @param expires   "YYYY-MM-DD" or NULL
 * @return the line (caller frees), or NULL when identity, roles or expires
 *         are invalid
 */
char *chan_token_file_line(const char *identity, const char *roles_csv, const char *token,
                           const char *expires);

#ifdef __cplusplus
}
#endif
#endif
