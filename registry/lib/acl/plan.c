/*
 * plan.c - the diff between desired and actual ACLs within the managed
 * scope, and its text and JSON renderings.  A plan made without a complete
 * view of the broker never deletes.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acl_int.h"

struct chan_acl_plan {
    chan_acl_set *create;
    chan_acl_set *delete_;
    chan_acl_set *unchanged;
    chan_acl_set *bypasses;
    bool deletes_refused;
};

void chan_acl_plan_free(chan_acl_plan *plan)
{
    if (plan == NULL)
        return;
    chan_acl_set_free(plan->create);
    chan_acl_set_free(plan->delete_);
    chan_acl_set_free(plan->unchanged);
    chan_acl_set_free(plan->bypasses);
    free(plan);
}

const chan_acl_set *chan_acl_plan_to_create(const chan_acl_plan *plan)
{
    return plan->create;
}

const chan_acl_set *chan_acl_plan_to_delete(const chan_acl_plan *plan)
{
    return plan->delete_;
}

const chan_acl_set *chan_acl_plan_unchanged(const chan_acl_plan *plan)
{
    return plan->unchanged;
}

const chan_acl_set *chan_acl_plan_bypasses(const chan_acl_plan *plan)
{
    return plan->bypasses;
}

/* True when b, outside the scope, still grants access to a managed resource. */
static bool bypasses_scope(const chan_acl_scope *scope, const chan_acl_binding *b)
{
    const chan_acl__strset *names;

    if (b->permission != CHAN_ACL_PERMISSION_ALLOW)
        return false;
    if (b->resource_type == CHAN_ACL_RESOURCE_TOPIC)
        names = &scope->topics;
    else if (b->resource_type == CHAN_ACL_RESOURCE_GROUP)
        names = &scope->groups;
    else
        return false;
    if (names->n == 0)
        return false;
    if (b->pattern_type == CHAN_ACL_PATTERN_LITERAL)
        return strcmp(b->resource_name, "*") == 0;
    if (b->pattern_type == CHAN_ACL_PATTERN_PREFIXED)
        return chan_acl__strset_has_prefix(names, b->resource_name);
    return false;
}

bool chan_acl_plan_deletes_refused(const chan_acl_plan *plan)
{
    return plan->deletes_refused;
}

bool chan_acl_plan_is_empty(const chan_acl_plan *plan)
{
    return plan->create->n == 0 && plan->delete_->n == 0;
}

int chan_acl_plan_compute(chan_acl_plan **out, const chan_acl_set *desired,
                          const chan_acl_set *actual, const chan_acl_scope *scope,
                          chan_acl_actual_state state, chan_error *err)
{
    int error = 0;
    chan_acl_plan *plan = NULL;

    *out = NULL;
    if (desired == NULL || scope == NULL)
        return chan_error_set(err, CHAN_EINVALID, "plan: desired set and scope are required");
    if (state != CHAN_ACL_ACTUAL_KNOWN && state != CHAN_ACL_ACTUAL_UNKNOWN)
        return chan_error_set(err, CHAN_EINVALID, "plan: unknown actual-state value %d",
                              (int)state);
    if (state == CHAN_ACL_ACTUAL_KNOWN && actual == NULL)
        return chan_error_set(err, CHAN_EINVALID,
                              "plan: the actual ACLs are required when their state is known");

    plan = chan_xcalloc(1, sizeof(*plan));
    plan->create = chan_acl_set_new();
    plan->delete_ = chan_acl_set_new();
    plan->unchanged = chan_acl_set_new();
    plan->bypasses = chan_acl_set_new();
    plan->deletes_refused = state == CHAN_ACL_ACTUAL_UNKNOWN;

    for (size_t i = 0; i < desired->n; i++) {
        const chan_acl_binding *b = &desired->items[i];

        if (!chan_acl_scope_covers(scope, b)) {
            error = chan_error_set(err, CHAN_EINVALID,
                                   "plan: desired binding on %s %s is outside the managed scope",
                                   chan_acl_resource_type_name(b->resource_type), b->resource_name);
            goto cleanup;
        }
        if ((error =
                 chan_acl_set_add(chan_acl_set_contains(actual, b) ? plan->unchanged : plan->create,
                                  NULL, b, err)) < 0)
            goto cleanup;
    }
    for (size_t i = 0; actual != NULL && i < actual->n; i++) {
        const chan_acl_binding *b = &actual->items[i];

        if (!chan_acl_scope_covers(scope, b)) {
            if (bypasses_scope(scope, b) &&
                (error = chan_acl_set_add(plan->bypasses, NULL, b, err)) < 0)
                goto cleanup;
            continue;
        }
        if (state != CHAN_ACL_ACTUAL_KNOWN || chan_acl_set_contains(desired, b))
            continue;
        if ((error = chan_acl_set_add(plan->delete_, NULL, b, err)) < 0)
            goto cleanup;
    }

    *out = plan;
    plan = NULL;

cleanup:
    chan_acl_plan_free(plan);
    return error;
}

/* ------------------------------------------------------------------ */
/* Rendering                                                           */
/* ------------------------------------------------------------------ */

static void render_binding(chan_buf *buf, const chan_acl_binding *b)
{
    chan_buf_printf(buf, "%s %s %s %s %s", chan_acl_permission_name(b->permission), b->principal,
                    chan_acl_operation_name(b->operation),
                    chan_acl_resource_type_name(b->resource_type), b->resource_name);
    if (b->pattern_type != CHAN_ACL_PATTERN_LITERAL)
        chan_buf_printf(buf, " pattern=%s", chan_acl_pattern_type_name(b->pattern_type));
    if (strcmp(b->host, "*") != 0)
        chan_buf_printf(buf, " host=%s", b->host);
}

void chan_acl_binding_render(char **out, const chan_acl_binding *b)
{
    chan_buf buf = CHAN_BUF_INIT;

    render_binding(&buf, b);
    *out = chan_buf_take(&buf);
}

static void render_set(chan_buf *buf, const chan_acl_set *set, const char *prefix)
{
    for (size_t i = 0; i < set->n; i++) {
        chan_buf_puts(buf, prefix);
        render_binding(buf, &set->items[i]);
        chan_buf_putc(buf, '\n');
    }
}

void chan_acl_plan_render_text(char **out, const chan_acl_plan *plan, unsigned int flags)
{
    chan_buf buf = CHAN_BUF_INIT;

    render_set(&buf, plan->create, "+ ");
    render_set(&buf, plan->delete_, "- ");
    render_set(&buf, plan->bypasses, "! ");
    if (flags & CHAN_ACL_RENDER_UNCHANGED)
        render_set(&buf, plan->unchanged, "  ");
    chan_buf_printf(&buf, "plan: %zu to create, %zu to delete, %zu unchanged", plan->create->n,
                    plan->delete_->n, plan->unchanged->n);
    if (plan->bypasses->n > 0)
        chan_buf_printf(&buf, ", %zu bypassing the registry", plan->bypasses->n);
    if (plan->deletes_refused)
        chan_buf_puts(&buf, ", deletes refused: actual state unknown");
    chan_buf_putc(&buf, '\n');
    *out = chan_buf_take(&buf);
}

json_t *chan_acl__binding_json(const chan_acl_binding *b)
{
    json_t *o = json_object();

    json_object_set_new(o, "resource_type",
                        json_string(chan_acl_resource_type_name(b->resource_type)));
    json_object_set_new(o, "resource_name", json_string(b->resource_name));
    json_object_set_new(o, "pattern_type",
                        json_string(chan_acl_pattern_type_name(b->pattern_type)));
    json_object_set_new(o, "principal", json_string(b->principal));
    json_object_set_new(o, "host", json_string(b->host));
    json_object_set_new(o, "operation", json_string(chan_acl_operation_name(b->operation)));
    json_object_set_new(o, "permission", json_string(chan_acl_permission_name(b->permission)));
    return o;
}

static json_t *set_json(const chan_acl_set *set)
{
    json_t *a = json_array();

    for (size_t i = 0; i < set->n; i++)
        json_array_append_new(a, chan_acl__binding_json(&set->items[i]));
    return a;
}

void chan_acl_set_render_json(char **out, const chan_acl_set *set)
{
    json_t *a = set_json(set);
    char *text = json_dumps(a, JSON_COMPACT | JSON_PRESERVE_ORDER);

    json_decref(a);
    if (text == NULL) {
        chan_log(CHAN_LOG_ERROR, "acl", "out of memory rendering a set as JSON");
        abort();
    }
    *out = chan_xstrdup(text);
    free(text);
}

void chan_acl_plan_render_json(char **out, const chan_acl_plan *plan)
{
    json_t *root = json_object();
    json_t *summary = json_object();
    char *text;

    json_object_set_new(root, "create", set_json(plan->create));
    json_object_set_new(root, "delete", set_json(plan->delete_));
    json_object_set_new(root, "unchanged", set_json(plan->unchanged));
    json_object_set_new(root, "bypasses", set_json(plan->bypasses));
    json_object_set_new(root, "deletes_refused", json_boolean(plan->deletes_refused));
    json_object_set_new(summary, "create", json_integer((json_int_t)plan->create->n));
    json_object_set_new(summary, "delete", json_integer((json_int_t)plan->delete_->n));
    json_object_set_new(summary, "unchanged", json_integer((json_int_t)plan->unchanged->n));
    json_object_set_new(root, "summary", summary);
    text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (text == NULL) {
        /* json_dumps fails only when out of memory, which chan_x* treat as fatal. */
        chan_log(CHAN_LOG_ERROR, "acl", "out of memory rendering a plan as JSON");
        abort();
    }
    *out = chan_xstrdup(text);
    free(text);
}

void chan_acl_plan_coverage(size_t *out_covered, size_t *out_principals, const chan_acl_plan *plan)
{
    const chan_acl_set *create = chan_acl_plan_to_create(plan);
    const chan_acl_set *unchanged = chan_acl_plan_unchanged(plan);
    chan_acl__strset all = {0}, missing = {0};
    size_t i, covered = 0;

    assert(out_covered != NULL && out_principals != NULL);
    for (i = 0; i < chan_acl_set_count(create); i++) {
        chan_acl__strset_add(&all, chan_acl_set_get(create, i)->principal);
        chan_acl__strset_add(&missing, chan_acl_set_get(create, i)->principal);
    }
    for (i = 0; i < chan_acl_set_count(unchanged); i++)
        chan_acl__strset_add(&all, chan_acl_set_get(unchanged, i)->principal);
    for (i = 0; i < all.n; i++) {
        if (!chan_acl__strset_has(&missing, all.items[i]))
            covered++;
    }
    *out_covered = covered;
    *out_principals = all.n;
    chan_acl__strset_dispose(&all);
    chan_acl__strset_dispose(&missing);
}
