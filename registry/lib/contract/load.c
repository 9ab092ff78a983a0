/*
 * load.c - contract files: reading, resolving each schema version to its
 * .avsc file, parsing it with the Avro engine and checking the version chain
 * (compatibility mode, field-removal rule); sets of contracts checked across
 * files (duplicate channels).
 *
 * Resolution of a version's schema file (docs/contract-format.md):
 *   - `file:` given: relative to the directory of the contract file (or
 *     absolute), and inside the contracts root (files.c);
 *   - otherwise `<root>/<subject>/v<N>.avsc`, where root is the load option
 *     schema_root or else the `schemas/` directory of the nearest ancestor of
 *     the contract's directory, that directory first.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chan/common.h"
#include "chan/policy.h"
#include "contract_internal.h"

static bool is_dir(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Directory part of a path ("." when there is none).  Caller frees. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');

    if (slash == NULL)
        return chan_xstrdup(".");
    if (slash == path)
        return chan_xstrdup("/");
    return chan_xstrndup(path, (size_t)(slash - path));
}

static char *path_join2(const char *dir, const char *name)
{
    if (name[0] == '/' || strcmp(dir, ".") == 0)
        return chan_xstrdup(name);
    if (chan_str_endswith(dir, "/"))
        return chan_xasprintf("%s%s", dir, name);
    return chan_xasprintf("%s/%s", dir, name);
}

/*
 * The parent of a directory, keeping relative paths relative:
 * "a/b" -> "a" -> "." -> ".." -> "../..".  NULL at the file system root.
 */
static char *parent_dir(const char *dir)
{
    char real[4096];
    const char *last;

    if (realpath(dir, real) != NULL && strcmp(real, "/") == 0)
        return NULL;
    if (strcmp(dir, ".") == 0)
        return chan_xstrdup("..");
    last = strrchr(dir, '/');
    if (strcmp(last ? last + 1 : dir, "..") == 0)
        return chan_xasprintf("%s/..", dir);
    return dir_of(dir);
}

/* The nearest `schemas/` directory at or above dir; NULL when none.  Caller frees. */
static char *find_schema_root(const char *dir)
{
    char *cur = chan_xstrdup(dir);
    int guard;

    for (guard = 0; cur != NULL && guard < 64; guard++) {
        char *candidate = path_join2(cur, "schemas");
        char *next;

        if (is_dir(candidate)) {
            free(cur);
            return candidate;
        }
        free(candidate);
        next = parent_dir(cur);
        free(cur);
        cur = next;
    }
    free(cur);
    return NULL;
}

static chan_diag *located_diag(chan_diag_list *diags, const chan_contract *c, size_t i,
                               bool at_file, const char *rule, const char *fmt, va_list ap)
    CHAN_PRINTF(6, 0);

/* A diagnostic located at version entry i, or at its `file:` value when at_file. */
static chan_diag *located_diag(chan_diag_list *diags, const chan_contract *c, size_t i,
                               bool at_file, const char *rule, const char *fmt, va_list ap)
{
    const chan_contract_version *v = &c->versions[i];
    char *msg, *path;
    chan_diag *d;

    msg = chan_xvasprintf(fmt, ap);
    path = v->file && at_file ? chan_xasprintf("schema.versions[%zu].file", i)
                              : chan_xasprintf("schema.versions[%zu]", i);
    d = chan_diag_add(diags, CHAN_DIAG_ERROR, c->file, at_file ? v->file_line : v->line,
                      at_file ? v->file_column : v->column, rule, path, "%s", msg);
    free(path);
    free(msg);
    return d;
}

static chan_diag *version_diag(chan_diag_list *diags, const chan_contract *c, size_t i,
                               const char *rule, const char *fmt, ...) CHAN_PRINTF(5, 6);

/* A diagnostic located at version entry i. */
static chan_diag *version_diag(chan_diag_list *diags, const chan_contract *c, size_t i,
                               const char *rule, const char *fmt, ...)
{
    va_list ap;
    chan_diag *d;

    va_start(ap, fmt);
    d = located_diag(diags, c, i, false, rule, fmt, ap);
    va_end(ap);
    return d;
}

static chan_diag *file_diag(chan_diag_list *diags, const chan_contract *c, size_t i,
                            const char *rule, const char *fmt, ...) CHAN_PRINTF(5, 6);

/* A diagnostic located at the `file:` value of version i (its entry without one). */
static chan_diag *file_diag(chan_diag_list *diags, const chan_contract *c, size_t i,
                            const char *rule, const char *fmt, ...)
{
    va_list ap;
    chan_diag *d;

    va_start(ap, fmt);
    d = located_diag(diags, c, i, true, rule, fmt, ap);
    va_end(ap);
    return d;
}

/* Where the schema files of a contract are looked for, and may be read from. */
typedef struct schema_places {
    const char *contract_dir;   /* `file:` is relative to it */
    const char *layout_root;    /* <layout_root>/<subject>/v<N>.avsc, or NULL */
    const char *root;           /* `file:` values must stay inside it */
    const char *layout_confine; /* default-layout files must stay inside it */
} schema_places;

/* Read and parse the schema of every version; false when one failed. */
static bool load_schemas(chan_contract *c, const schema_places *at, size_t max_size,
                         chan_diag_list *diags)
{
    bool all = true;
    bool root_reported = false;
    size_t i;

    for (i = 0; i < c->n_versions; i++) {
        chan_contract_version *v = &c->versions[i];
        chan_error err = CHAN_ERROR_INIT;
        const char *confine = at->root;
        char *text = NULL;
        size_t len = 0;
        chan_avro_schema *schema = NULL;
        int rc;

        if (v->number == 0) {
            all = false;
            continue;
        }
        if (v->file) {
            v->path = path_join2(at->contract_dir, v->file);
        } else if (c->subject == NULL) {
            all = false;
            continue;
        } else if (at->layout_root == NULL) {
            if (!root_reported)
                chan_diag_set_hint(
                    version_diag(diags, c, i, CHAN_CONTRACT_RULE_SCHEMA_FILE,
                                 "no schemas/ directory found at or above %s", at->contract_dir),
                    "keep schemas in schemas/<subject>/v<N>.avsc next to the contracts, "
                    "or give each version a `file:`");
            root_reported = true;
            all = false;
            continue;
        } else {
            char *rel = chan_xasprintf("%s/v%lld.avsc", c->subject, (long long)v->number);

            v->path = path_join2(at->layout_root, rel);
            confine = at->layout_confine;
            free(rel);
        }
        rc = chan_contract_file_read(&text, &len, confine, v->path, max_size, &err);
        if (rc == CHAN_ENOTFOUND) {
            chan_diag_set_hint(file_diag(diags, c, i, CHAN_CONTRACT_RULE_SCHEMA_FILE,
                                         "schema file %s of version %lld not found", v->path,
                                         (long long)v->number),
                               "add the file, or point `file:` at it");
        } else if (rc < 0) {
            chan_diag *d = file_diag(diags, c, i, CHAN_CONTRACT_RULE_SCHEMA_FILE,
                                     "schema file of version %lld refused: %s",
                                     (long long)v->number, err.message);

            if (err.hint[0])
                chan_diag_set_hint(d, "%s", err.hint);
        } else if (chan_contract_schema_parse(&schema, text, len, &err) < 0) {
            chan_diag *d = file_diag(diags, c, i, CHAN_CONTRACT_RULE_AVRO,
                                     "%s: invalid Avro schema: %s", v->path, err.message);

            if (err.hint[0])
                chan_diag_set_hint(d, "%s", err.hint);
        } else {
            v->schema = schema;
        }
        free(text);
        if (v->schema == NULL)
            all = false;
    }
    return all;
}

/*
 * Check each version against the older ones; schemas[i] belongs to
 * c->versions[i] (newest first) and none is NULL.
 */
static void check_chain(const chan_contract *c, const chan_avro_schema *const *schemas,
                        chan_diag_list *diags)
{
    size_t i, k, n;
    const chan_avro_schema **previous;

    if (c->n_versions < 2)
        return;
    previous = chan_xcalloc(c->n_versions, sizeof(*previous));
    for (i = c->n_versions - 1; i-- > 0;) {
        const chan_contract_version *v = &c->versions[i];
        chan_compat_report *report = chan_compat_report_new();

        n = c->n_versions - i - 1;
        for (k = 0; k < n; k++)
            previous[k] = schemas[i + 1 + k];
        if (c->compatibility != CHAN_COMPAT_NONE &&
            chan_avro_check_mode(c->compatibility, schemas[i], previous, n, report) < 0) {
            if (chan_compat_report_count(report) == 0)
                version_diag(diags, c, i, CHAN_CONTRACT_RULE_INCOMPATIBLE,
                             "version %lld is not %s compatible with the earlier versions",
                             (long long)v->number, chan_compat_mode_name(c->compatibility));
            for (k = 0; k < chan_compat_report_count(report); k++) {
                const chan_compat_issue *is = chan_compat_report_get(report, k);
                long long other = is->version_index >= 0 && (size_t)is->version_index < n
                                      ? (long long)c->versions[i + 1 + is->version_index].number
                                      : (long long)c->versions[i + 1].number;
                chan_diag *d;

                if (is->reader_is_new)
                    d = version_diag(diags, c, i, CHAN_CONTRACT_RULE_INCOMPATIBLE,
                                     "version %lld cannot read data written with version %lld "
                                     "(%s): %s",
                                     (long long)v->number, other,
                                     chan_compat_mode_name(c->compatibility), is->message);
                else
                    d = version_diag(diags, c, i, CHAN_CONTRACT_RULE_INCOMPATIBLE,
                                     "version %lld writes data that version %lld cannot read "
                                     "(%s): %s",
                                     (long long)v->number, other,
                                     chan_compat_mode_name(c->compatibility), is->message);
                chan_diag_set_hint(d, "%s", is->kind);
            }
        }
        chan_compat_report_free(report);

        report = chan_compat_report_new();
        if (chan_policy_removal_rule_applies(CHAN_REMOVAL_CONTRACT, c->compatibility, false) &&
            !chan_avro_check_removals(schemas[i], schemas[i + 1], report)) {
            for (k = 0; k < chan_compat_report_count(report); k++) {
                const chan_compat_issue *is = chan_compat_report_get(report, k);

                chan_diag_set_hint(
                    version_diag(diags, c, i, CHAN_CONTRACT_RULE_FIELD_REMOVED,
                                 "version %lld removes a field that version %lld did not "
                                 "deprecate: %s",
                                 (long long)v->number, (long long)c->versions[i + 1].number,
                                 is->message),
                    "mark the field \"deprecated\": true with a default in version %lld first",
                    (long long)c->versions[i + 1].number);
            }
        }
        chan_compat_report_free(report);
    }
    free(previous);
}

/*
 * Load a contract file.  *out gets the (possibly partial) model when the
 * text could be parsed at all; *out_ok tells whether no error was added.
 */
static int load_partial(chan_contract **out, bool *out_ok, const char *path,
                        const chan_contract_load_options *opts, chan_diag_list *diags,
                        chan_error *err)
{
    chan_contract_load_options defaults = CHAN_CONTRACT_LOAD_OPTIONS_INIT;
    chan_error ferr = CHAN_ERROR_INIT;
    size_t errors_before = chan_diag_list_count_severity(diags, CHAN_DIAG_ERROR);
    size_t max_size;
    char *text = NULL, *dir = NULL, *root = NULL, *contracts_root = NULL;
    schema_places places;
    size_t len = 0;
    chan_contract *c = NULL;
    bool parsed_ok = false;
    int error = 0;

    *out = NULL;
    *out_ok = false;
    if (opts == NULL)
        opts = &defaults;
    max_size = opts->parse.max_size ? opts->parse.max_size : CHAN_CONTRACT_MAX_SIZE;
    if (opts->root)
        contracts_root = chan_xstrdup(opts->root);
    else
        error = chan_contract_root_default(&contracts_root, path, &ferr);
    if (error == 0)
        error = chan_contract_file_read(&text, &len, contracts_root, path, max_size, &ferr);
    if (error < 0) {
        chan_diag *d = chan_diag_add(diags, CHAN_DIAG_ERROR, path, 0, 0,
                                     error == CHAN_ETOOBIG ? CHAN_CONTRACT_RULE_TOO_LARGE
                                                           : CHAN_CONTRACT_RULE_IO,
                                     NULL, "%s", ferr.message);

        if (ferr.hint[0])
            chan_diag_set_hint(d, "%s", ferr.hint);
        if (err) {
            *err = ferr;
            chan_error_locate(err, path, 0, 0);
        }
        goto cleanup;
    }
    error = chan_contract__parse_partial(&c, &parsed_ok, text, len, path, &opts->parse, diags);
    if (c == NULL)
        goto cleanup;
    dir = dir_of(path);
    if (opts->schema_root)
        root = chan_xstrdup(opts->schema_root);
    else
        root = find_schema_root(dir);
    places.contract_dir = dir;
    places.layout_root = root;
    places.root = contracts_root;
    places.layout_confine = opts->schema_root ? opts->schema_root : contracts_root;
    if (c->n_versions > 0 &&
        load_schemas(c, &places,
                     opts->max_schema_size ? opts->max_schema_size : CHAN_CONTRACT_MAX_SCHEMA_SIZE,
                     diags)) {
        const chan_avro_schema **schemas = chan_xcalloc(c->n_versions, sizeof(*schemas));
        size_t i;

        for (i = 0; i < c->n_versions; i++)
            schemas[i] = c->versions[i].schema;
        check_chain(c, schemas, diags);
        free(schemas);
    }
    *out_ok = chan_diag_list_count_severity(diags, CHAN_DIAG_ERROR) == errors_before;
    error = *out_ok ? 0 : CHAN_EINVALID;
    *out = c;
    c = NULL;
    if (error < 0)
        chan_error_set(err, error, "%s: contract has errors", path);

cleanup:
    chan_contract_free(c);
    free(text);
    free(dir);
    free(root);
    free(contracts_root);
    return error;
}

int chan_contract_load(chan_contract **out, const char *path,
                       const chan_contract_load_options *opts, chan_diag_list *diags,
                       chan_error *err)
{
    chan_contract *c = NULL;
    bool ok = false;
    int error = load_partial(&c, &ok, path, opts, diags, err);

    *out = NULL;
    if (error == 0 && ok) {
        *out = c;
        return 0;
    }
    chan_contract_free(c);
    if (error == 0)
        error = CHAN_EINVALID;
    return error;
}

int chan_contract_check_schemas(const chan_contract *contract,
                                const chan_avro_schema *const *schemas, size_t n_schemas,
                                chan_diag_list *diags)
{
    size_t errors_before = chan_diag_list_count_severity(diags, CHAN_DIAG_ERROR);
    size_t i;

    if (n_schemas != contract->n_versions) {
        chan_diag_add(diags, CHAN_DIAG_ERROR, contract->file, 0, 0, CHAN_CONTRACT_RULE_SCHEMA_FILE,
                      "schema.versions", "%zu schemas given for %zu versions", n_schemas,
                      contract->n_versions);
        return CHAN_EINVALID;
    }
    for (i = 0; i < n_schemas; i++) {
        if (schemas[i] == NULL) {
            version_diag(diags, contract, i, CHAN_CONTRACT_RULE_SCHEMA_FILE,
                         "no schema for version %lld", (long long)contract->versions[i].number);
            return CHAN_EINVALID;
        }
    }
    check_chain(contract, schemas, diags);
    return chan_diag_list_count_severity(diags, CHAN_DIAG_ERROR) == errors_before ? 0
                                                                                  : CHAN_EINVALID;
}

/* ------------------------------------------------------------------ */
/* Sets                                                                */
/* ------------------------------------------------------------------ */

typedef struct set_entry {
    chan_contract *contract;
    bool ok;
} set_entry;

struct chan_contract_set {
    set_entry *entries;
    size_t count;
    size_t cap;
};

chan_contract_set *chan_contract_set_new(void)
{
    return chan_xcalloc(1, sizeof(chan_contract_set));
}

void chan_contract_set_free(chan_contract_set *set)
{
    size_t i;

    if (set == NULL)
        return;
    for (i = 0; i < set->count; i++)
        chan_contract_free(set->entries[i].contract);
    free(set->entries);
    free(set);
}

int chan_contract_set_add_file(chan_contract_set *set, const char *path,
                               const chan_contract_load_options *opts, chan_diag_list *diags,
                               chan_error *err)
{
    chan_contract *c = NULL;
    bool ok = false;
    int error = load_partial(&c, &ok, path, opts, diags, err);

    if (c != NULL) {
        if (set->count == set->cap) {
            set->cap = set->cap ? set->cap * 2 : 8;
            set->entries = chan_xreallocarray(set->entries, set->cap, sizeof(*set->entries));
        }
        set->entries[set->count].contract = c;
        set->entries[set->count].ok = ok;
        set->count++;
    }
    return error;
}

int chan_contract_set_check(chan_contract_set *set, chan_diag_list *diags)
{
    size_t i, j;
    int error = 0;

    for (i = 0; i < set->count; i++) {
        const chan_contract *c = set->entries[i].contract;

        if (c->name == NULL)
            continue;
        for (j = 0; j < i; j++) {
            const chan_contract *o = set->entries[j].contract;

            if (o->name && strcmp(o->name, c->name) == 0) {
                chan_diag_set_hint(chan_diag_add(diags, CHAN_DIAG_ERROR, c->file, c->name_line,
                                                 c->name_column, CHAN_CONTRACT_RULE_DUP_CHANNEL,
                                                 "channel",
                                                 "channel \"%s\" is also defined in %s:%d:%d",
                                                 c->name, o->file, o->name_line, o->name_column),
                                   "each channel has exactly one contract");
                set->entries[i].ok = false;
                error = CHAN_EINVALID;
                break;
            }
        }
    }
    return error;
}

size_t chan_contract_set_count(const chan_contract_set *set)
{
    size_t i, n = 0;

    for (i = 0; i < set->count; i++)
        n += set->entries[i].ok;
    return n;
}

const chan_contract *chan_contract_set_get(const chan_contract_set *set, size_t i)
{
    size_t k;

    for (k = 0; k < set->count; k++) {
        if (!set->entries[k].ok)
            continue;
        if (i-- == 0)
            return set->entries[k].contract;
    }
    return NULL;
}
