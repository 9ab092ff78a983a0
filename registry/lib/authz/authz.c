/*
 * authz.c - identities, roles and the authorization matrix.
 *
 * chan_authz_check is the one place that decides who may do what; the
 * daemon calls it before every handler.  Each action has its own small
 * function that either allows the request (and says as which team the
 * identity acts) or collects the roles that would have allowed it, from
 * which the refusal message is built.
 */
#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan/authz.h"
#include "chan/common.h"

/* ------------------------------------------------------------------ */
/* Names                                                               */
/* ------------------------------------------------------------------ */

bool chan_team_valid(const char *s)
{
    size_t n;
    const char *c;

    if (s == NULL)
        return false;
    n = strlen(s);
    if (n == 0 || n > CHAN_TEAM_NAME_MAX ||
        !(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0])))
        return false;
    for (c = s; *c; c++)
        if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) && strchr("._-", *c) == NULL)
            return false;
    return true;
}

bool chan_identity_name_valid(const char *s)
{
    size_t n;
    const char *c;

    if (s == NULL)
        return false;
    n = strlen(s);
    if (n == 0 || n > CHAN_IDENTITY_NAME_MAX)
        return false;
    for (c = s; *c; c++)
        if (*c <= ' ' || *c > '~' || *c == ':' || *c == ',')
            return false;
    return true;
}

static const char *role_kind_name(chan_role_kind kind)
{
    switch (kind) {
    case CHAN_ROLE_READER:
        return "reader";
    case CHAN_ROLE_ADMIN:
        return "admin";
    case CHAN_ROLE_OWNER:
        return "owner";
    case CHAN_ROLE_CI:
        return "ci";
    }
    return "?";
}

/* Longest role text: "owner:" + a team name, plus the NUL. */
#define ROLE_TEXT_MAX (sizeof("owner:") + CHAN_TEAM_NAME_MAX)

/* Write the text of a role ("admin", "ci:orders") into buf (ROLE_TEXT_MAX bytes). */
static void role_text(char *buf, size_t size, const chan_role *r)
{
    if (r->team)
        snprintf(buf, size, "%s:%s", role_kind_name(r->kind), r->team);
    else
        snprintf(buf, size, "%s", role_kind_name(r->kind));
}

static int role_cmp(const void *a, const void *b)
{
    char ta[ROLE_TEXT_MAX], tb[ROLE_TEXT_MAX];

    role_text(ta, sizeof(ta), a);
    role_text(tb, sizeof(tb), b);
    return strcmp(ta, tb);
}

/*
 * Parse one role item of len bytes (no commas) into *out (team allocated).
 * @return 0 or CHAN_EINVALID
 */
static int parse_role(chan_role *out, const char *item, size_t len, chan_error *err)
{
    static const struct {
        const char *prefix;
        chan_role_kind kind;
        bool team;
    } kinds[] = {
        {"admin", CHAN_ROLE_ADMIN, false},
        {"reader", CHAN_ROLE_READER, false},
        {"owner:", CHAN_ROLE_OWNER, true},
        {"ci:", CHAN_ROLE_CI, true},
    };
    char *text = chan_xstrndup(item, len);
    int error = 0;
    size_t i;

    memset(out, 0, sizeof(*out));
    for (i = 0; i < CHAN_ARRAY_SIZE(kinds); i++) {
        size_t plen = strlen(kinds[i].prefix);

        if (!kinds[i].team) {
            if (strcmp(text, kinds[i].prefix) == 0) {
                out->kind = kinds[i].kind;
                goto cleanup;
            }
            continue;
        }
        if (strncmp(text, kinds[i].prefix, plen) != 0)
            continue;
        if (!chan_team_valid(text + plen)) {
            error = chan_error_set(err, CHAN_EINVALID, "invalid team \"%s\" in role \"%s\"",
                                   text + plen, text);
            chan_error_hint(err, "use lower-case letters, digits, '.', '_' and '-' (at most 64)");
            goto cleanup;
        }
        out->kind = kinds[i].kind;
        out->team = chan_xstrdup(text + plen);
        goto cleanup;
    }
    if (strcmp(text, "owner") == 0 || strcmp(text, "ci") == 0) {
        error =
            chan_error_set(err, CHAN_EINVALID, "role \"%s\" needs a team: %s:<team>", text, text);
    } else {
        error = chan_error_set(err, CHAN_EINVALID,
                               "invalid role \"%s\": expected admin, reader, owner:<team> or "
                               "ci:<team>",
                               text);
    }

cleanup:
    free(text);
    return error;
}

int chan_identity_init(chan_identity *out, const char *name, const char *roles_csv, chan_error *err)
{
    const char *p = roles_csv ? roles_csv : "";
    size_t i, kept;
    int error = 0;

    assert(out != NULL);
    memset(out, 0, sizeof(*out));
    if (!chan_identity_name_valid(name)) {
        error =
            chan_error_set(err, CHAN_EINVALID, "invalid identity name \"%s\"", name ? name : "");
        chan_error_hint(err, "use 1 to %d printable characters without blanks, ':' or ','",
                        CHAN_IDENTITY_NAME_MAX);
        goto cleanup;
    }
    out->name = chan_xstrdup(name);
    while (*p == ' ' || *p == '\t')
        p++;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);

        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len == 0) {
            error = chan_error_set(err, CHAN_EINVALID, "empty role in \"%s\"", roles_csv);
            goto cleanup;
        }
        out->roles = chan_xreallocarray(out->roles, out->n_roles + 1, sizeof(*out->roles));
        if ((error = parse_role(&out->roles[out->n_roles], p, len, err)) < 0)
            goto cleanup;
        out->n_roles++;
        if (end == NULL)
            break;
        p = end + 1;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0') {
            error = chan_error_set(err, CHAN_EINVALID, "empty role in \"%s\"", roles_csv);
            goto cleanup;
        }
    }
    if (out->n_roles > 1)
        qsort(out->roles, out->n_roles, sizeof(*out->roles), role_cmp);
    for (i = 1, kept = out->n_roles ? 1 : 0; i < out->n_roles; i++) {
        if (role_cmp(&out->roles[i], &out->roles[kept - 1]) == 0) {
            free(out->roles[i].team);
            continue;
        }
        out->roles[kept++] = out->roles[i];
    }
    out->n_roles = kept;

cleanup:
    if (error < 0)
        chan_identity_dispose(out);
    return error;
}

void chan_identity_dispose(chan_identity *id)
{
    size_t i;

    if (id == NULL)
        return;
    for (i = 0; i < id->n_roles; i++)
        free(id->roles[i].team);
    free(id->roles);
    free(id->name);
    memset(id, 0, sizeof(*id));
}

char *chan_identity_roles_text(const chan_identity *id)
{
    chan_buf buf = CHAN_BUF_INIT;
    char text[ROLE_TEXT_MAX];
    size_t i;

    assert(id != NULL);
    for (i = 0; i < id->n_roles; i++) {
        role_text(text, sizeof(text), &id->roles[i]);
        if (i > 0)
            chan_buf_putc(&buf, ',');
        chan_buf_puts(&buf, text);
    }
    return chan_buf_take(&buf);
}

bool chan_identity_has(const chan_identity *id, chan_role_kind kind, const char *team)
{
    size_t i;

    assert(id != NULL);
    for (i = 0; i < id->n_roles; i++) {
        const chan_role *r = &id->roles[i];

        if (r->kind != kind)
            continue;
        if (kind == CHAN_ROLE_ADMIN || kind == CHAN_ROLE_READER || team == NULL)
            return true;
        if (r->team && strcmp(r->team, team) == 0)
            return true;
    }
    return false;
}

/* ------------------------------------------------------------------ */
/* Actions                                                             */
/* ------------------------------------------------------------------ */

static const char *const action_names[CHAN_AUTHZ_ACTION_COUNT] = {
    [CHAN_AUTHZ_PUBLIC] = "public",
    [CHAN_AUTHZ_READ] = "read",
    [CHAN_AUTHZ_SELF] = "self",
    [CHAN_AUTHZ_SUBJECT_WRITE] = "subject.write",
    [CHAN_AUTHZ_SUBJECT_CONFIG] = "subject.config",
    [CHAN_AUTHZ_REGISTRY_ADMIN] = "registry.admin",
    [CHAN_AUTHZ_CHANNEL_PUT] = "channel.put",
    [CHAN_AUTHZ_CHANNEL_DELETE] = "channel.delete",
    [CHAN_AUTHZ_CONSUMER_REGISTER] = "consumer.register",
    [CHAN_AUTHZ_CONSUMER_CHANGE] = "consumer.change",
    [CHAN_AUTHZ_CONSUMER_DECIDE] = "consumer.decide",
};

const char *chan_authz_action_name(chan_authz_action a)
{
    if ((int)a < 0 || (int)a >= CHAN_AUTHZ_ACTION_COUNT)
        return "?";
    return action_names[a];
}

/* ------------------------------------------------------------------ */
/* The matrix                                                          */
/* ------------------------------------------------------------------ */

/* Any team, in the roles of a refusal. */
#define ANY_TEAM "*"

/* The roles that would have allowed a refused request. */
typedef struct need_set {
    char role[8][ROLE_TEXT_MAX];
    size_t n;
    /* CHANNEL_PUT: both the old and the new team are missing, not just one role */
    bool two_clauses;
    char old_team[ROLE_TEXT_MAX], new_team[ROLE_TEXT_MAX];
    /* "*" stands for any team but this one (CONSUMER_REGISTER: another team
       registers; the channel's own team registers as its owner) */
    char any_but[ROLE_TEXT_MAX];
} need_set;

/* Add "kind" or "kind:team" (team NULL: no team) once. */
static void need(need_set *s, const char *kind, const char *team)
{
    char text[ROLE_TEXT_MAX];
    size_t i;

    if (team)
        snprintf(text, sizeof(text), "%s:%s", kind, team);
    else
        snprintf(text, sizeof(text), "%s", kind);
    for (i = 0; i < s->n; i++)
        if (strcmp(s->role[i], text) == 0)
            return;
    assert(s->n < CHAN_ARRAY_SIZE(s->role));
    memcpy(s->role[s->n++], text, sizeof(text));
}

/* owner:team or ci:team (team NULL: of any team). */
static bool writer(const chan_identity *who, const char *team)
{
    return chan_identity_has(who, CHAN_ROLE_OWNER, team) ||
           chan_identity_has(who, CHAN_ROLE_CI, team);
}

static bool same_team(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* The result of one action's rule. */
typedef struct verdict {
    bool allowed;
    bool as_owner;
    const char *team;
    bool ambiguous; /* CONSUMER_REGISTER: several teams, none chosen */
    need_set needs;
} verdict;

/* SUBJECT_WRITE, SUBJECT_CONFIG: admin; bound: owner:T, ci:T; unbound: any writer. */
static void rule_subject(verdict *v, const chan_identity *who, const chan_authz_target *t)
{
    if (t->team) {
        v->allowed = writer(who, t->team);
        v->team = t->team;
        v->as_owner = chan_identity_has(who, CHAN_ROLE_OWNER, t->team);
        need(&v->needs, "owner", t->team);
        need(&v->needs, "ci", t->team);
    } else {
        v->allowed = writer(who, NULL);
        need(&v->needs, "owner", ANY_TEAM);
        need(&v->needs, "ci", ANY_TEAM);
    }
}

/* CHANNEL_PUT: (owner:T or ci:T, if stored) and (owner:N or ci:N). */
static void rule_channel_put(verdict *v, const chan_identity *who, const chan_authz_target *t)
{
    bool old_ok = t->team == NULL || writer(who, t->team);
    bool new_ok = t->new_team ? writer(who, t->new_team) : writer(who, NULL);

    v->allowed = old_ok && new_ok;
    v->team = t->new_team ? t->new_team : t->team;
    v->as_owner = (t->team || t->new_team) &&
                  (t->team == NULL || chan_identity_has(who, CHAN_ROLE_OWNER, t->team)) &&
                  (t->new_team == NULL || chan_identity_has(who, CHAN_ROLE_OWNER, t->new_team));
    if (!old_ok) {
        need(&v->needs, "owner", t->team);
        need(&v->needs, "ci", t->team);
    }
    if (!new_ok) {
        need(&v->needs, "owner", t->new_team ? t->new_team : ANY_TEAM);
        need(&v->needs, "ci", t->new_team ? t->new_team : ANY_TEAM);
    }
    if (!old_ok && !new_ok && !same_team(t->team, t->new_team)) {
        v->needs.two_clauses = true;
        snprintf(v->needs.old_team, sizeof(v->needs.old_team), "%s", t->team);
        snprintf(v->needs.new_team, sizeof(v->needs.new_team), "%s",
                 t->new_team ? t->new_team : ANY_TEAM);
    }
}

/* CHANNEL_DELETE: owner:T; T NULL: any writer (the handler answers 404). */
static void rule_channel_delete(verdict *v, const chan_identity *who, const chan_authz_target *t)
{
    if (t->team) {
        v->allowed = chan_identity_has(who, CHAN_ROLE_OWNER, t->team);
        v->as_owner = v->allowed;
        v->team = t->team;
        need(&v->needs, "owner", t->team);
    } else {
        v->allowed = writer(who, NULL);
        need(&v->needs, "owner", ANY_TEAM);
        need(&v->needs, "ci", ANY_TEAM);
    }
}

/*
 * CONSUMER_REGISTER without a requester team: the identity registers for
 * the chosen acting team A, or for its one team other than T.
 */
static void rule_register_new(verdict *v, const chan_identity *who, const chan_authz_target *t)
{
    const char *candidate = NULL;
    size_t i;

    if (t->acting_team) {
        if (same_team(t->acting_team, t->team)) {
            v->allowed = v->as_owner;
            need(&v->needs, "owner", t->team);
        } else {
            v->allowed = writer(who, t->acting_team);
            need(&v->needs, "owner", t->acting_team);
            need(&v->needs, "ci", t->acting_team);
        }
        v->team = t->acting_team;
        return;
    }
    if (v->as_owner) {
        v->allowed = true;
        v->team = t->team;
        return;
    }
    for (i = 0; i < who->n_roles; i++) {
        const chan_role *r = &who->roles[i];

        if ((r->kind != CHAN_ROLE_OWNER && r->kind != CHAN_ROLE_CI) ||
            same_team(r->team, t->team) || same_team(r->team, candidate))
            continue;
        if (candidate) {
            v->ambiguous = true;
            return;
        }
        candidate = r->team;
    }
    v->allowed = candidate != NULL;
    v->team = candidate;
    if (t->team) {
        need(&v->needs, "owner", t->team);
        snprintf(v->needs.any_but, sizeof(v->needs.any_but), "%s", t->team);
    }
    need(&v->needs, "owner", ANY_TEAM);
    need(&v->needs, "ci", ANY_TEAM);
}

/* CONSUMER_REGISTER: owner:T (as owner); R set: owner:R, ci:R; else another team's writer. */
static void rule_consumer_register(verdict *v, const chan_identity *who, const chan_authz_target *t)
{
    v->as_owner = t->team && chan_identity_has(who, CHAN_ROLE_OWNER, t->team);
    if (t->requester_team == NULL) {
        rule_register_new(v, who, t);
        return;
    }
    /* An existing registration keeps its team. */
    v->allowed = v->as_owner || writer(who, t->requester_team);
    v->team = t->requester_team;
    if (t->team)
        need(&v->needs, "owner", t->team);
    need(&v->needs, "owner", t->requester_team);
    need(&v->needs, "ci", t->requester_team);
}

/* CONSUMER_CHANGE: owner:T, ci:T, owner:R, ci:R; neither known: any writer. */
static void rule_consumer_change(verdict *v, const chan_identity *who, const chan_authz_target *t)
{
    v->as_owner = t->team && chan_identity_has(who, CHAN_ROLE_OWNER, t->team);
    if (t->requester_team && writer(who, t->requester_team)) {
        v->allowed = true;
        v->team = t->requester_team;
    } else if (t->team && writer(who, t->team)) {
        v->allowed = true;
        v->team = t->requester_team ? t->requester_team : t->team;
    } else if (t->team == NULL && t->requester_team == NULL) {
        v->allowed = writer(who, NULL);
    }
    if (t->team == NULL && t->requester_team == NULL) {
        need(&v->needs, "owner", ANY_TEAM);
        need(&v->needs, "ci", ANY_TEAM);
    }
    if (t->team) {
        need(&v->needs, "owner", t->team);
        need(&v->needs, "ci", t->team);
    }
    if (t->requester_team) {
        need(&v->needs, "owner", t->requester_team);
        need(&v->needs, "ci", t->requester_team);
    }
}

/* CONSUMER_DECIDE: owner:T; T NULL: any owner (the handler answers 404). */
static void rule_consumer_decide(verdict *v, const chan_identity *who, const chan_authz_target *t)
{
    v->allowed = chan_identity_has(who, CHAN_ROLE_OWNER, t->team);
    v->as_owner = t->team && v->allowed;
    v->team = t->team;
    need(&v->needs, "owner", t->team ? t->team : ANY_TEAM);
}

/* Append "kind 'name'", or "a kind" when name is NULL. */
static void named(chan_buf *buf, const char *kind, const char *name)
{
    if (name)
        chan_buf_printf(buf, "%s '%s'", kind, name);
    else
        chan_buf_printf(buf, "a %s", kind);
}

/* What the identity tried, e.g. "delete channel 'orders'", into buf. */
static void describe(chan_buf *buf, chan_authz_action action, const chan_authz_target *t)
{
    switch (action) {
    case CHAN_AUTHZ_SUBJECT_WRITE:
        chan_buf_puts(buf, "write ");
        named(buf, "subject", t->subject);
        break;
    case CHAN_AUTHZ_SUBJECT_CONFIG:
        chan_buf_puts(buf, "set the compatibility of ");
        named(buf, "subject", t->subject);
        break;
    case CHAN_AUTHZ_CHANNEL_PUT:
        if (t->team && t->new_team && strcmp(t->team, t->new_team) != 0) {
            chan_buf_puts(buf, "move ");
            named(buf, "channel", t->channel);
            chan_buf_printf(buf, " from team %s to team %s", t->team, t->new_team);
        } else {
            chan_buf_puts(buf, t->team ? "change " : "create ");
            named(buf, "channel", t->channel);
        }
        break;
    case CHAN_AUTHZ_CHANNEL_DELETE:
        chan_buf_puts(buf, "delete ");
        named(buf, "channel", t->channel);
        break;
    case CHAN_AUTHZ_CONSUMER_REGISTER:
        chan_buf_puts(buf, "register ");
        named(buf, "consumer", t->consumer);
        chan_buf_puts(buf, " on ");
        named(buf, "channel", t->channel);
        break;
    case CHAN_AUTHZ_CONSUMER_CHANGE:
        chan_buf_puts(buf, "change ");
        named(buf, "consumer", t->consumer);
        chan_buf_puts(buf, " of ");
        named(buf, "channel", t->channel);
        break;
    case CHAN_AUTHZ_CONSUMER_DECIDE:
        chan_buf_puts(buf, "approve or reject ");
        named(buf, "consumer", t->consumer);
        chan_buf_puts(buf, " of ");
        named(buf, "channel", t->channel);
        break;
    default:
        chan_buf_puts(buf, "administer the registry");
        break;
    }
}

static int text_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Sort the needed roles and write them ", "-separated into out->missing. */
static void render_missing(chan_authz_decision *out, need_set *needs)
{
    chan_buf buf = CHAN_BUF_INIT;
    size_t i;

    qsort(needs->role, needs->n, sizeof(needs->role[0]), text_cmp);
    for (i = 0; i < needs->n; i++)
        chan_buf_printf(&buf, "%s%s", i ? ", " : "", needs->role[i]);
    snprintf(out->missing, sizeof(out->missing), "%s", chan_buf_cstr(&buf));
    chan_buf_dispose(&buf);
}

/* "a, b or c" of the sorted needed roles into buf. */
static void needs_sentence(chan_buf *buf, const need_set *needs)
{
    size_t i;

    if (needs->two_clauses) {
        chan_buf_printf(buf, "admin, or one of ci:%s, owner:%s and one of ci:%s, owner:%s",
                        needs->old_team, needs->old_team, needs->new_team, needs->new_team);
    } else {
        for (i = 0; i < needs->n; i++)
            chan_buf_printf(buf, "%s%s",
                            i == 0              ? ""
                            : i + 1 == needs->n ? " or "
                                                : ", ",
                            needs->role[i]);
    }
    for (i = 0; i < needs->n; i++) {
        if (strstr(needs->role[i], ":" ANY_TEAM)) {
            if (needs->any_but[0])
                chan_buf_printf(buf, " (* = any team but %s)", needs->any_but);
            else
                chan_buf_puts(buf, " (* = any team)");
            break;
        }
    }
}

/* Set err to the refusal: who, what they tried, which roles would allow it. */
static int refuse(const chan_identity *who, chan_authz_action action, const chan_authz_target *t,
                  const need_set *needs, chan_error *err)
{
    chan_buf what = CHAN_BUF_INIT, why = CHAN_BUF_INIT;
    char *roles = chan_identity_roles_text(who);
    int error;

    describe(&what, action, t);
    needs_sentence(&why, needs);
    error = chan_error_set(err, CHAN_EDENIED, "identity '%s' (roles %s) may not %s: needs %s",
                           who->name ? who->name : "anonymous", *roles ? roles : "none",
                           chan_buf_cstr(&what), chan_buf_cstr(&why));
    free(roles);
    chan_buf_dispose(&what);
    chan_buf_dispose(&why);
    return error;
}

int chan_authz_check(chan_authz_decision *out, const chan_identity *who, chan_authz_action action,
                     const chan_authz_target *target, chan_error *err)
{
    static const chan_authz_target none = {0};
    const chan_authz_target *t = target ? target : &none;
    verdict v;

    assert(out != NULL && who != NULL);
    assert((int)action >= 0 && (int)action < CHAN_AUTHZ_ACTION_COUNT);
    memset(out, 0, sizeof(*out));
    if (action == CHAN_AUTHZ_PUBLIC || action == CHAN_AUTHZ_READ || action == CHAN_AUTHZ_SELF)
        return 0; /* anyone (every request of the read routes passes here: no verdict built) */
    memset(&v, 0, sizeof(v));
    need(&v.needs, "admin", NULL);
    switch (action) {
    case CHAN_AUTHZ_PUBLIC:
    case CHAN_AUTHZ_READ:
    case CHAN_AUTHZ_SELF:
        return 0;
    case CHAN_AUTHZ_SUBJECT_WRITE:
    case CHAN_AUTHZ_SUBJECT_CONFIG:
        rule_subject(&v, who, t);
        break;
    case CHAN_AUTHZ_REGISTRY_ADMIN:
        break;
    case CHAN_AUTHZ_CHANNEL_PUT:
        rule_channel_put(&v, who, t);
        break;
    case CHAN_AUTHZ_CHANNEL_DELETE:
        rule_channel_delete(&v, who, t);
        break;
    case CHAN_AUTHZ_CONSUMER_REGISTER:
        rule_consumer_register(&v, who, t);
        break;
    case CHAN_AUTHZ_CONSUMER_CHANGE:
        rule_consumer_change(&v, who, t);
        break;
    case CHAN_AUTHZ_CONSUMER_DECIDE:
        rule_consumer_decide(&v, who, t);
        break;
    }
    if (chan_identity_has(who, CHAN_ROLE_ADMIN, NULL)) {
        out->as_owner = true;
        if (action == CHAN_AUTHZ_CONSUMER_REGISTER)
            out->team = t->acting_team      ? t->acting_team
                        : t->requester_team ? t->requester_team
                                            : t->team;
        else if (action == CHAN_AUTHZ_CHANNEL_PUT && t->new_team)
            out->team = t->new_team;
        else
            out->team = t->team;
        return 0;
    }
    if (v.ambiguous) {
        char *roles = chan_identity_roles_text(who);
        int error = chan_error_set(err, CHAN_EINVALID,
                                   "identity '%s' (roles %s) acts for several teams: say which "
                                   "one in \"team\"",
                                   who->name ? who->name : "anonymous", roles);

        if (err)
            err->reason = CHAN_AUTHZ_R_TEAM_AMBIGUOUS;
        free(roles);
        return error;
    }
    if (v.allowed) {
        out->as_owner = v.as_owner;
        out->team = v.team;
        return 0;
    }
    render_missing(out, &v.needs);
    return refuse(who, action, t, &v.needs, err);
}
