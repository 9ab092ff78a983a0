/*
 * state.c - the admission state an export grants, written as the last line
 * of a shell export and read back by the next one, which then prints the
 * commands that take away what lost its registration:
 *
 *   # chanreg-state v1 {"bindings":[binding...],"quota_users":["billing",...]}
 *
 * A binding is the object of chan_acl_plan_render_json; quota_users are the
 * users (names without "User:") given a consumer_byte_rate.  The reader also
 * takes the document of GET /v1/acl/applied, {"applied_at","bindings"}, the
 * bindings the reconciler last applied; it records no quotas, so the quota
 * users are derived from the bindings (see chan_acl_export_state_parse).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acl_int.h"

void chan_acl__state_render(chan_buf *buf, const chan_acl_set *bindings,
                            const chan_acl__strset *quota_users)
{
    json_t *root = json_object(), *list = json_array(), *users = json_array();
    char *text;

    for (size_t i = 0; i < bindings->n; i++)
        json_array_append_new(list, chan_acl__binding_json(&bindings->items[i]));
    for (size_t i = 0; i < quota_users->n; i++)
        json_array_append_new(users, json_string(quota_users->items[i]));
    json_object_set_new(root, "bindings", list);
    json_object_set_new(root, "quota_users", users);
    /* JSON_COMPACT escapes control characters, so the state stays on one line. */
    text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (text == NULL) {
        /* json_dumps fails only when out of memory, which chan_x* treat as fatal. */
        chan_log(CHAN_LOG_ERROR, "acl", "out of memory rendering the export state");
        abort();
    }
    chan_buf_puts(buf, CHAN_ACL_EXPORT_STATE_PREFIX);
    chan_buf_puts(buf, text);
    chan_buf_putc(buf, '\n');
    free(text);
}

void chan_acl_export_state_users_free(char **users, size_t n)
{
    if (users == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(users[i]);
    free(users);
}

/*
** The enum value whose upper-case name (name_of) is s, searching 0..max;
** -1 when none.  Value 0 is UNKNOWN in every enum, which set_add refuses.
*/
static int enum_value(const char *s, int max, const char *(*name_of)(int))
{
    for (int v = 1; s != NULL && v <= max; v++) {
        if (strcmp(name_of(v), s) == 0)
            return v;
    }
    return -1;
}

/* Adapters: the name functions take their own enum types. */
static const char *resource_name_of(int v)
{
    return chan_acl_resource_type_name((chan_acl_resource_type)v);
}

static const char *pattern_name_of(int v)
{
    return chan_acl_pattern_type_name((chan_acl_pattern_type)v);
}

static const char *operation_name_of(int v)
{
    return chan_acl_operation_name((chan_acl_operation)v);
}

static const char *permission_name_of(int v)
{
    return chan_acl_permission_name((chan_acl_permission)v);
}

/*
** Add the binding object j (element i of "bindings") to set.  Only TOPIC and
** GROUP resources are accepted: exports write nothing else.  Sets err->path
** to "bindings[i]" on failure.
*/
static int add_binding(chan_acl_set *set, const json_t *j, size_t i, chan_error *err)
{
    chan_acl_binding b;
    int type, pattern, op, perm, error;

    if (!json_is_object(j)) {
        error = chan_error_set(err, CHAN_EINVALID, "state: binding %zu is not an object", i);
        goto fail;
    }
    type = enum_value(json_string_value(json_object_get(j, "resource_type")),
                      CHAN_ACL_RESOURCE_DELEGATION_TOKEN, resource_name_of);
    pattern = enum_value(json_string_value(json_object_get(j, "pattern_type")),
                         CHAN_ACL_PATTERN_PREFIXED, pattern_name_of);
    op = enum_value(json_string_value(json_object_get(j, "operation")),
                    CHAN_ACL_OP_IDEMPOTENT_WRITE, operation_name_of);
    perm = enum_value(json_string_value(json_object_get(j, "permission")), CHAN_ACL_PERMISSION_DENY,
                      permission_name_of);
    if (type != CHAN_ACL_RESOURCE_TOPIC && type != CHAN_ACL_RESOURCE_GROUP) {
        error = chan_error_set(err, CHAN_EINVALID,
                               "state: binding %zu is not on a TOPIC or GROUP resource", i);
        goto fail;
    }
    b.resource_type = (chan_acl_resource_type)type;
    b.resource_name = json_string_value(json_object_get(j, "resource_name"));
    b.pattern_type = pattern < 0 ? CHAN_ACL_PATTERN_UNKNOWN : (chan_acl_pattern_type)pattern;
    b.principal = json_string_value(json_object_get(j, "principal"));
    b.host = json_string_value(json_object_get(j, "host"));
    b.operation = op < 0 ? CHAN_ACL_OP_UNKNOWN : (chan_acl_operation)op;
    b.permission = perm < 0 ? CHAN_ACL_PERMISSION_UNKNOWN : (chan_acl_permission)perm;
    if ((error = chan_acl_set_add(set, NULL, &b, err)) < 0) {
        chan_error_prefix(err, "state: binding %zu", i);
        goto fail;
    }
    return 0;

fail:
    if (err != NULL)
        snprintf(err->path, sizeof(err->path), "bindings[%zu]", i);
    return error;
}

/*
** The users an export without recorded quotas gave a consumer_byte_rate:
** the "User:" principals holding an ALLOW READ binding on a group.
*/
static void derive_quota_users(chan_acl__strset *out, const chan_acl_set *set)
{
    for (size_t i = 0; i < set->n; i++) {
        const chan_acl_binding *b = &set->items[i];

        if (b->resource_type == CHAN_ACL_RESOURCE_GROUP && b->operation == CHAN_ACL_OP_READ &&
            b->permission == CHAN_ACL_PERMISSION_ALLOW && strncmp(b->principal, "User:", 5) == 0 &&
            b->principal[5] != '\0')
            chan_acl__strset_add(out, b->principal + 5);
    }
}

/*
** The JSON text of the state: the whole text when it is a JSON document,
** else the rest of the last line that starts with the state prefix.
** @return a new reference, or NULL with err set
*/
static json_t *state_json(const char *text, chan_error *err)
{
    const char *p = text, *next, *found = NULL, *other = NULL;
    json_error_t jerr;
    json_t *doc;

    p += strspn(p, " \t\r\n");
    if (*p == '{') {
        doc = json_loads(p, 0, &jerr);
        if (doc == NULL) {
            chan_error_set(err, CHAN_EINVALID, "state: malformed JSON at line %d: %s", jerr.line,
                           jerr.text);
            return NULL;
        }
        return doc;
    }
    for (p = text; p != NULL; p = next) {
        const char *nl = strchr(p, '\n');

        next = nl != NULL ? nl + 1 : NULL;
        if (strncmp(p, CHAN_ACL_EXPORT_STATE_PREFIX, strlen(CHAN_ACL_EXPORT_STATE_PREFIX)) == 0)
            found = p + strlen(CHAN_ACL_EXPORT_STATE_PREFIX);
        else if (strncmp(p, "# chanreg-state ", 16) == 0)
            other = p;
    }
    if (found == NULL) {
        if (other != NULL)
            chan_error_set(err, CHAN_EINVALID,
                           "state: the state line is of a version this chanctl cannot read");
        else
            chan_error_set(err, CHAN_EINVALID,
                           "state: no \"" CHAN_ACL_EXPORT_STATE_PREFIX "{...}\" line");
        chan_error_hint(err, "give a script written by chanctl export kafka-configs, or the "
                             "document of GET /v1/acl/applied");
        return NULL;
    }
    doc = json_loadb(found, strcspn(found, "\n"), 0, &jerr);
    if (doc == NULL)
        chan_error_set(err, CHAN_EINVALID, "state: malformed JSON in the state line: %s",
                       jerr.text);
    return doc;
}

int chan_acl_export_state_parse(chan_acl_set **out, char ***out_quota_users, size_t *out_n,
                                const char *text, chan_error *err)
{
    int error = 0;
    json_t *doc = NULL, *list, *users, *u;
    chan_acl_set *set = NULL;
    chan_acl__strset quota = {0};
    size_t i;

    *out = NULL;
    *out_quota_users = NULL;
    *out_n = 0;
    if (text == NULL)
        return chan_error_set(err, CHAN_EINVALID, "state: no text");
    if ((doc = state_json(text, err)) == NULL) {
        error = CHAN_EINVALID;
        goto cleanup;
    }
    list = json_object_get(doc, "bindings");
    users = json_object_get(doc, "quota_users");
    if (!json_is_array(list) || (users != NULL && !json_is_array(users))) {
        error = chan_error_set(err, CHAN_EINVALID,
                               "state: expected {\"bindings\":[...]} with an optional "
                               "\"quota_users\" array");
        goto cleanup;
    }
    set = chan_acl_set_new();
    json_array_foreach(list, i, u)
    {
        if ((error = add_binding(set, u, i, err)) < 0)
            goto cleanup;
    }
    if (users == NULL) {
        derive_quota_users(&quota, set);
    } else {
        json_array_foreach(users, i, u)
        {
            const char *name = json_string_value(u);

            if (name == NULL || !chan_acl__text_ok(name)) {
                error = chan_error_set(err, CHAN_EINVALID,
                                       "state: quota user %zu is not a non-empty string", i);
                if (err != NULL)
                    snprintf(err->path, sizeof(err->path), "quota_users[%zu]", i);
                goto cleanup;
            }
            chan_acl__strset_add(&quota, name);
        }
    }
    *out = set;
    set = NULL;
    if (quota.n > 0) {
        *out_quota_users = quota.items;
        *out_n = quota.n;
        quota.items = NULL;
        quota.n = 0;
    }

cleanup:
    chan_acl__strset_dispose(&quota);
    chan_acl_set_free(set);
    json_decref(doc);
    return error;
}
