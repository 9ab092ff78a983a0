/*
 * cmd_docs.c - `chanctl docs`: the contract knowledge base as a static site.
 *
 * Loads and validates contracts as `chanctl validate` does (offline, no
 * registry), then writes into DIR:
 *
 *   index.html              the catalog: one row per channel
 *   channels/<name>.html    one page per channel: contract, lifecycle,
 *                           schema versions with their fields and the
 *                           changes from the version before (the library's
 *                           chan_avro_diff_compute), consumers, producers
 *   markdown/<name>.md      the same page as Markdown, for wikis
 *   style.css               the stylesheet of the pages
 *
 * The output depends on the contracts and schemas only (no clock, no host,
 * no directory order): the same input gives byte-identical files, so a CI
 * job may commit or publish it on every merge and diffs show real changes.
 * Pages of channels that no longer exist are removed from channels/ and
 * markdown/.  Nothing is written when a contract is invalid.
 *
 * Exit status: 0 written, 1 a contract is invalid, 2 usage error, 3 the
 * output could not be written.
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "chan/avro.h"
#include "chan/common.h"
#include "chan/contract.h"
#include "cli.h"
#include "cmds.h"
#include "contract_files.h"
#include "options.h"

#define CMD_NAME "docs"

typedef struct docs_opts {
    const char *output;
    const char *schema_root;
    const char *title;
    const char *root;
} docs_opts;

static const cli_opt_spec opt_specs[] = {
    {"output", 'o', "DIR", "write the site into DIR (created if missing; required)",
     offsetof(docs_opts, output)},
    {"schemas", 0, "DIR", "schema root holding <subject>/v<N>.avsc (default: nearest schemas/)",
     offsetof(docs_opts, schema_root)},
    {"title", 0, "TEXT", "title of the catalog page (default: Channel catalog)",
     offsetof(docs_opts, title)},
    {"root", 0, "DIR", CLI_ROOT_OPTION_HELP, offsetof(docs_opts, root)},
};

static const cli_cmd_spec spec = {
    .name = CMD_NAME,
    .usage = "[PATH]... -o DIR [OPTION]...",
    .description =
        "Render contracts as a static site (a catalog page and one page per channel)\n"
        "plus one Markdown file per channel, offline.  PATH is a contract file or a\n"
        "directory searched recursively for *.yaml and *.yml (default: " CLI_DEFAULT_CONTRACT_DIR
        ").\n"
        "The same contracts always give byte-identical files.",
    CLI_CMD_OPTS(opt_specs),
    .exit_status = "0 written, 1 a contract is invalid, 2 usage error, 3 output not written.",
};

static const char style_css[] =
    ":root{--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--bg:#fff;--accent:#0a58ca;"
    "--warn:#9a6700;--bad:#b42318}\n"
    "*{box-sizing:border-box}\n"
    "body{font:15px/1.5 system-ui,-apple-system,\"Segoe UI\",sans-serif;color:var(--fg);"
    "background:var(--bg);margin:0 auto;max-width:72rem;padding:1.5rem}\n"
    "a{color:var(--accent)}\n"
    "h1{font-size:1.6rem;margin:.2rem 0 1rem}h2{font-size:1.2rem;margin-top:2rem;"
    "border-bottom:1px solid var(--line);padding-bottom:.3rem}\n"
    "table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}\n"
    "th,td{border:1px solid var(--line);padding:.35rem .5rem;text-align:left;"
    "vertical-align:top}\n"
    "th{background:#f6f8fa}\n"
    "td.num{text-align:right;font-variant-numeric:tabular-nums}\n"
    "code,pre{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace}\n"
    "pre{background:#f6f8fa;border:1px solid var(--line);padding:.75rem;overflow:auto}\n"
    ".muted{color:var(--muted)}.warn{color:var(--warn);font-weight:600}\n"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}\n"
    "dt{font-weight:600}dd{margin:0}\n"
    "nav{margin-bottom:1rem}\n";

/* ------------------------------------------------------------------ */
/* Escaping                                                            */
/* ------------------------------------------------------------------ */

/* HTML text and attribute values: & < > " ' escaped. */
static void html_puts(chan_buf *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&':
            chan_buf_puts(b, "&amp;");
            break;
        case '<':
            chan_buf_puts(b, "&lt;");
            break;
        case '>':
            chan_buf_puts(b, "&gt;");
            break;
        case '"':
            chan_buf_puts(b, "&quot;");
            break;
        case '\'':
            chan_buf_puts(b, "&#39;");
            break;
        default:
            chan_buf_putc(b, *s);
        }
    }
}

/* Markdown table cell: characters that would end the cell or start markup. */
static void md_puts(chan_buf *b, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '\n' || *s == '\r')
            chan_buf_putc(b, ' ');
        else if (strchr("|\\`*_[]<>#", *s)) {
            chan_buf_putc(b, '\\');
            chan_buf_putc(b, *s);
        } else
            chan_buf_putc(b, *s);
    }
}

/*
 * How one output format writes the parts that the HTML page and the
 * Markdown page share (tables, lists, headings): the escaping of text and
 * the markup around it.  render_* functions below take one and give the
 * same sections in either format.
 */
typedef struct doc_format {
    void (*text)(chan_buf *b, const char *s); /* escaped text; NULL writes nothing */
    const char *h2_open, *h2_close;           /* a section heading */
    const char *section_close;                /* after a consumers or producers section */
    const char *note_open, *note_close;       /* "No registered consumers." */
    const char *para_open, *para_close;       /* "Changes from version N:" */
    const char *list_open, *list_close;       /* around a non-empty list */
    const char *item_open, *item_close;
    const char *code_open, *code_close;
    const char *deprecated; /* after a deprecated field's name */
    /* Table header: head_open, then th_open TITLE th_close per column, head_close. */
    const char *head_open, *th_open, *th_close, *head_close;
    /* Then, unless rule_open is NULL: rule_open, rule_text or rule_num per column, "\n". */
    const char *rule_open, *rule_text, *rule_num;
    /* Rows: row_open, then td_open (td_num_open) CELL td_close per cell, row_close. */
    const char *row_open, *td_open, *td_num_open, *td_close, *row_close;
    const char *table_close;
    /* The heading of a schema version. */
    void (*version_heading)(chan_buf *b, int64_t number);
    /* The schema text after a version's changes, or NULL: not shown. */
    void (*schema_text)(chan_buf *b, const chan_avro_schema *schema);
} doc_format;

/* A column of a table: its title, and whether it holds numbers. */
typedef struct doc_column {
    const char *title;
    bool num;
} doc_column;

/*
 * The file name of a channel's page: channel names are [A-Za-z0-9._-]
 * (chan_contract_name_valid), which are safe in a path; anything else is
 * refused by validation before this runs.
 */
static const char *page_name(const chan_contract *c)
{
    const char *name = chan_contract_name(c);

    assert(chan_contract_name_valid(name));
    return name;
}

/* ------------------------------------------------------------------ */
/* Schema fields                                                       */
/* ------------------------------------------------------------------ */

typedef struct field_row {
    const char *name;
    char *type; /* compact JSON, or the primitive name */
    char *def;  /* compact JSON of the default, or NULL */
    const char *doc;
    bool deprecated;
} field_row;

static char *json_compact(const json_t *v)
{
    if (json_is_string(v))
        return chan_xstrdup(json_string_value(v));
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
}

/*
 * The top-level fields of a record schema, for display.  @return the number
 * of rows put into *out (caller frees with free_rows), 0 for a non-record.
 */
static size_t schema_fields(field_row **out, json_t **out_doc, const chan_avro_schema *schema)
{
    json_t *doc = NULL, *fields;
    field_row *rows = NULL;
    size_t i, n = 0;

    *out = NULL;
    *out_doc = NULL;
    if (schema == NULL)
        return 0;
    doc = json_loads(chan_avro_schema_normalized(schema), JSON_DECODE_ANY, NULL);
    fields = json_is_object(doc) ? json_object_get(doc, "fields") : NULL;
    if (!json_is_array(fields)) {
        json_decref(doc);
        return 0;
    }
    n = json_array_size(fields);
    rows = chan_xcalloc(n + 1, sizeof(*rows));
    for (i = 0; i < n; i++) {
        json_t *f = json_array_get(fields, i);
        json_t *def = json_object_get(f, "default");

        rows[i].name = json_string_value(json_object_get(f, "name"));
        rows[i].type = json_compact(json_object_get(f, "type"));
        rows[i].def = def ? json_compact(def) : NULL;
        rows[i].doc = json_string_value(json_object_get(f, "doc"));
        rows[i].deprecated = json_is_true(json_object_get(f, "deprecated"));
    }
    *out = rows;
    *out_doc = doc;
    return n;
}

static void free_rows(field_row *rows, size_t n, json_t *doc)
{
    size_t i;

    for (i = 0; rows && i < n; i++) {
        free(rows[i].type);
        free(rows[i].def);
    }
    free(rows);
    json_decref(doc);
}

/* ------------------------------------------------------------------ */
/* HTML                                                                */
/* ------------------------------------------------------------------ */

/*
 * The version listed after index i in the contract that has the next lower
 * number (versions are listed newest first, but any order is accepted), or
 * NULL.
 */
static const chan_contract_version *previous_version(const chan_contract *c, size_t i)
{
    const chan_contract_version *v = chan_contract_version_at(c, i), *best = NULL;
    size_t k;

    for (k = 0; k < chan_contract_version_count(c); k++) {
        const chan_contract_version *o = chan_contract_version_at(c, k);

        if (o->number < v->number && (best == NULL || o->number > best->number))
            best = o;
    }
    return best;
}

/* The changes of version i from the version before it (chan_avro_diff_compute), or NULL. */
static chan_avro_diff *version_changes(const chan_contract *c, size_t i, int64_t *out_from)
{
    const chan_contract_version *v = chan_contract_version_at(c, i);
    const chan_contract_version *prev = previous_version(c, i);

    if (prev == NULL || prev->schema == NULL || v->schema == NULL)
        return NULL;
    *out_from = prev->number;
    return chan_avro_diff_compute(prev->schema, v->schema);
}

/* ------------------------------------------------------------------ */
/* Sections of both formats                                            */
/* ------------------------------------------------------------------ */

/* The header of a table with the n columns cols, in format f. */
static void table_head(chan_buf *b, const doc_format *f, const doc_column *cols, size_t n)
{
    size_t i;

    chan_buf_puts(b, f->head_open);
    for (i = 0; i < n; i++) {
        chan_buf_puts(b, f->th_open);
        chan_buf_puts(b, cols[i].title);
        chan_buf_puts(b, f->th_close);
    }
    chan_buf_puts(b, f->head_close);
    if (f->rule_open == NULL)
        return;
    chan_buf_puts(b, f->rule_open);
    for (i = 0; i < n; i++)
        chan_buf_puts(b, cols[i].num ? f->rule_num : f->rule_text);
    chan_buf_puts(b, "\n");
}

/* s as code (code_open s code_close), or nothing at all when s is NULL and !always. */
static void put_code(chan_buf *b, const doc_format *f, const char *s, bool always)
{
    if (s == NULL && !always)
        return;
    chan_buf_puts(b, f->code_open);
    f->text(b, s);
    chan_buf_puts(b, f->code_close);
}

/* A table cell of text, shown as code when code is true. */
static void cell_text(chan_buf *b, const doc_format *f, const char *s, bool code)
{
    chan_buf_puts(b, f->td_open);
    if (code)
        put_code(b, f, s, true);
    else
        f->text(b, s);
    chan_buf_puts(b, f->td_close);
}

static void cell_num(chan_buf *b, const doc_format *f, int64_t v)
{
    chan_buf_puts(b, f->td_num_open);
    chan_buf_printf(b, "%lld", (long long)v);
    chan_buf_puts(b, f->td_close);
}

/* The changes of version i of c from the version before it, if it has one. */
static void render_changes(chan_buf *b, const doc_format *f, const chan_contract *c, size_t i)
{
    int64_t from = 0;
    chan_avro_diff *diff = version_changes(c, i, &from);
    size_t k, n = chan_avro_diff_count(diff);

    if (diff == NULL)
        return;
    chan_buf_puts(b, f->para_open);
    chan_buf_printf(b, "Changes from version %lld:%s", (long long)from, n == 0 ? " none" : "");
    chan_buf_puts(b, f->para_close);
    if (n > 0)
        chan_buf_puts(b, f->list_open);
    for (k = 0; k < n; k++) {
        const chan_avro_change *ch = chan_avro_diff_get(diff, k);

        chan_buf_puts(b, f->item_open);
        put_code(b, f, ch->kind, true);
        chan_buf_puts(b, " ");
        put_code(b, f, *ch->path ? ch->path : "(top)", true);
        if (ch->old_value) {
            chan_buf_puts(b, " from ");
            put_code(b, f, ch->old_value, true);
        }
        if (ch->new_value) {
            chan_buf_puts(b, " to ");
            put_code(b, f, ch->new_value, true);
        }
        chan_buf_puts(b, f->item_close);
    }
    if (n > 0)
        chan_buf_puts(b, f->list_close);
    chan_avro_diff_free(diff);
}

/*
 * The heading "TITLE (n)" of a section of n items; with none, the note
 * `none` ends the section there.  Returns whether the items follow.
 */
static bool section_head(chan_buf *b, const doc_format *f, const char *title, size_t n,
                         const char *none)
{
    chan_buf_puts(b, f->h2_open);
    chan_buf_printf(b, "%s (%zu)", title, n);
    chan_buf_puts(b, f->h2_close);
    if (n > 0)
        return true;
    chan_buf_puts(b, f->note_open);
    chan_buf_puts(b, none);
    chan_buf_puts(b, f->note_close);
    chan_buf_puts(b, f->section_close);
    return false;
}

/* The consumers section of c: a table, or a note that there are none. */
static void render_consumers(chan_buf *b, const doc_format *f, const chan_contract *c)
{
    static const doc_column cols[] = {
        {"Name", false},        {"Principal", false},
        {"Group", false},       {"Business scenario", false},
        {"P99 SLA (ms)", true}, {"Peak rate (msg/s)", true},
        {"Degradation", false},
    };
    size_t i, n = chan_contract_consumer_count(c);

    if (!section_head(b, f, "Consumers", n, "No registered consumers."))
        return;
    table_head(b, f, cols, CHAN_ARRAY_SIZE(cols));
    for (i = 0; i < n; i++) {
        const chan_contract_consumer *cc = chan_contract_consumer_at(c, i);

        chan_buf_puts(b, f->row_open);
        cell_text(b, f, cc->name, false);
        cell_text(b, f, cc->principal, true);
        cell_text(b, f, cc->group, true);
        cell_text(b, f, cc->scenario, false);
        cell_num(b, f, cc->sla_p99_ms);
        cell_num(b, f, cc->peak_rate_msgs);
        cell_text(b, f, chan_degradation_name(cc->degradation), false);
        chan_buf_puts(b, f->row_close);
    }
    chan_buf_puts(b, f->table_close);
    chan_buf_puts(b, f->section_close);
}

/* The producers section of c: a list, or a note that there are none. */
static void render_producers(chan_buf *b, const doc_format *f, const chan_contract *c)
{
    size_t i, n = chan_contract_producer_count(c);

    if (!section_head(b, f, "Producers", n, "No declared producers."))
        return;
    chan_buf_puts(b, f->list_open);
    for (i = 0; i < n; i++) {
        chan_buf_puts(b, f->item_open);
        put_code(b, f, chan_contract_producer_at(c, i)->principal, true);
        chan_buf_puts(b, f->item_close);
    }
    chan_buf_puts(b, f->list_close);
    chan_buf_puts(b, f->section_close);
}

/* The top-level fields of a version's schema as a table (nothing for a non-record). */
static void render_fields(chan_buf *b, const doc_format *f, const chan_avro_schema *schema)
{
    static const doc_column cols[] = {
        {"Field", false}, {"Type", false}, {"Default", false}, {"Doc", false}};
    field_row *rows;
    json_t *doc;
    size_t k, n = schema_fields(&rows, &doc, schema);

    if (n > 0)
        table_head(b, f, cols, CHAN_ARRAY_SIZE(cols));
    for (k = 0; k < n; k++) {
        chan_buf_puts(b, f->row_open);
        chan_buf_puts(b, f->td_open);
        put_code(b, f, rows[k].name, true);
        if (rows[k].deprecated)
            chan_buf_puts(b, f->deprecated);
        chan_buf_puts(b, f->td_close);
        cell_text(b, f, rows[k].type, true);
        chan_buf_puts(b, f->td_open);
        put_code(b, f, rows[k].def, false);
        chan_buf_puts(b, f->td_close);
        cell_text(b, f, rows[k].doc, false);
        chan_buf_puts(b, f->row_close);
    }
    if (n > 0)
        chan_buf_puts(b, f->table_close);
    free_rows(rows, n, doc);
}

/*
 * Every schema version of c: its heading, its fields and its changes, then
 * the schema itself where the format shows it (schema_text not NULL).
 */
static void render_versions(chan_buf *b, const doc_format *f, const chan_contract *c)
{
    size_t i;

    for (i = 0; i < chan_contract_version_count(c); i++) {
        const chan_contract_version *v = chan_contract_version_at(c, i);

        f->version_heading(b, v->number);
        render_fields(b, f, v->schema);
        render_changes(b, f, c, i);
        if (f->schema_text != NULL && v->schema != NULL)
            f->schema_text(b, v->schema);
    }
}

static void html_head(chan_buf *b, const char *title, const char *css_href)
{
    chan_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                     "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                     "style-src 'self'\">\n<title>");
    html_puts(b, title);
    chan_buf_puts(b, "</title>\n<link rel=\"stylesheet\" href=\"");
    html_puts(b, css_href);
    chan_buf_puts(b, "\">\n</head>\n<body>\n");
}

static void html_lifecycle(chan_buf *b, const chan_contract *c)
{
    const char *dep = chan_contract_deprecation_date(c);
    const char *ret = chan_contract_retirement_date(c);

    if (!dep && !ret) {
        chan_buf_puts(b, "<span class=\"muted\">active</span>");
        return;
    }
    if (dep) {
        chan_buf_puts(b, "<span class=\"warn\">deprecated from ");
        html_puts(b, dep);
        chan_buf_puts(b, "</span>");
    }
    if (ret) {
        chan_buf_puts(b, dep ? "; " : "");
        chan_buf_puts(b, "<span class=\"warn\">retired from ");
        html_puts(b, ret);
        chan_buf_puts(b, "</span>");
    }
}

static int64_t latest_version(const chan_contract *c)
{
    size_t i;
    int64_t v = 0;

    for (i = 0; i < chan_contract_version_count(c); i++) {
        const chan_contract_version *ver = chan_contract_version_at(c, i);

        if (ver->number > v)
            v = ver->number;
    }
    return v;
}

static void render_catalog(chan_buf *b, const chan_contract *const *cs, size_t n, const char *title)
{
    size_t i;

    html_head(b, title, "style.css");
    chan_buf_puts(b, "<main>\n<h1>");
    html_puts(b, title);
    chan_buf_printf(b, "</h1>\n<p class=\"muted\">%zu channel%s</p>\n", n, n == 1 ? "" : "s");
    chan_buf_puts(b, "<table>\n<thead><tr><th scope=\"col\">Channel</th><th scope=\"col\">Team"
                     "</th><th scope=\"col\">Maintainer</th><th scope=\"col\">Peak QPS</th>"
                     "<th scope=\"col\">Retention (h)</th><th scope=\"col\">Subject</th>"
                     "<th scope=\"col\">Latest version</th><th scope=\"col\">Compatibility</th>"
                     "<th scope=\"col\">Consumers</th><th scope=\"col\">Lifecycle</th></tr>"
                     "</thead>\n<tbody>\n");
    for (i = 0; i < n; i++) {
        const chan_contract *c = cs[i];

        chan_buf_puts(b, "<tr><td><a href=\"channels/");
        html_puts(b, page_name(c));
        chan_buf_puts(b, ".html\">");
        html_puts(b, chan_contract_name(c));
        chan_buf_puts(b, "</a></td><td>");
        html_puts(b, chan_contract_owner_team(c));
        chan_buf_puts(b, "</td><td>");
        html_puts(b, chan_contract_maintainer(c));
        chan_buf_printf(b, "</td><td class=\"num\">%lld</td><td class=\"num\">%lld</td><td>",
                        (long long)chan_contract_peak_qps(c),
                        (long long)chan_contract_retention_hours(c));
        html_puts(b, chan_contract_subject(c));
        chan_buf_printf(b, "</td><td class=\"num\">%lld</td><td>", (long long)latest_version(c));
        html_puts(b, chan_compat_mode_name(chan_contract_compatibility(c)));
        chan_buf_printf(b, "</td><td class=\"num\">%zu</td><td>", chan_contract_consumer_count(c));
        html_lifecycle(b, c);
        chan_buf_puts(b, "</td></tr>\n");
    }
    chan_buf_puts(b, "</tbody>\n</table>\n</main>\n</body>\n</html>\n");
}

static void html_dl_row(chan_buf *b, const char *term, const char *value)
{
    chan_buf_puts(b, "<dt>");
    html_puts(b, term);
    chan_buf_puts(b, "</dt><dd>");
    if (value)
        html_puts(b, value);
    else
        chan_buf_puts(b, "<span class=\"muted\">none</span>");
    chan_buf_puts(b, "</dd>\n");
}

static void html_version_heading(chan_buf *b, int64_t number)
{
    chan_buf_printf(b, "<h3 id=\"v%lld\">Version %lld</h3>\n", (long long)number,
                    (long long)number);
}

/* The normalized schema, folded away under its version. */
static void html_schema(chan_buf *b, const chan_avro_schema *schema)
{
    chan_buf_puts(b, "<details><summary>Schema</summary>\n<pre>");
    html_puts(b, chan_avro_schema_normalized(schema));
    chan_buf_puts(b, "</pre>\n</details>\n");
}

static const doc_format html_format = {
    .text = html_puts,
    .h2_open = "<h2>",
    .h2_close = "</h2>\n",
    .section_close = "",
    .note_open = "<p class=\"muted\">",
    .note_close = "</p>\n",
    .para_open = "<p>",
    .para_close = "</p>\n",
    .list_open = "<ul>\n",
    .list_close = "</ul>\n",
    .item_open = "<li>",
    .item_close = "</li>\n",
    .code_open = "<code>",
    .code_close = "</code>",
    .deprecated = " <span class=\"warn\">deprecated</span>",
    .head_open = "<table>\n<thead><tr>",
    .th_open = "<th scope=\"col\">",
    .th_close = "</th>",
    .head_close = "</tr></thead>\n<tbody>\n",
    .rule_open = NULL,
    .rule_text = NULL,
    .rule_num = NULL,
    .row_open = "<tr>",
    .td_open = "<td>",
    .td_num_open = "<td class=\"num\">",
    .td_close = "</td>",
    .row_close = "</tr>\n",
    .table_close = "</tbody>\n</table>\n",
    .version_heading = html_version_heading,
    .schema_text = html_schema,
};

static void render_channel_html(chan_buf *b, const chan_contract *c)
{
    char num[32];

    html_head(b, chan_contract_name(c), "../style.css");
    chan_buf_puts(b, "<nav><a href=\"../index.html\">Catalog</a></nav>\n<main>\n<h1>");
    html_puts(b, chan_contract_name(c));
    chan_buf_puts(b, "</h1>\n");
    if (chan_contract_description(c)) {
        chan_buf_puts(b, "<p>");
        html_puts(b, chan_contract_description(c));
        chan_buf_puts(b, "</p>\n");
    }
    chan_buf_puts(b, "<h2>Contract</h2>\n<dl>\n");
    html_dl_row(b, "Owner team", chan_contract_owner_team(c));
    html_dl_row(b, "Maintainer", chan_contract_maintainer(c));
    (void)snprintf(num, sizeof(num), "%lld", (long long)chan_contract_peak_qps(c));
    html_dl_row(b, "Peak QPS", num);
    (void)snprintf(num, sizeof(num), "%lld", (long long)chan_contract_retention_hours(c));
    html_dl_row(b, "Retention (hours)", num);
    html_dl_row(b, "Deprecation date", chan_contract_deprecation_date(c));
    html_dl_row(b, "Retirement date", chan_contract_retirement_date(c));
    html_dl_row(b, "Schema subject", chan_contract_subject(c));
    html_dl_row(b, "Compatibility", chan_compat_mode_name(chan_contract_compatibility(c)));
    if (chan_contract_waiver_reason(c))
        html_dl_row(b, "Compatibility waiver", chan_contract_waiver_reason(c));
    html_dl_row(b, "Contract file", chan_contract_file(c));
    chan_buf_puts(b, "</dl>\n");

    render_consumers(b, &html_format, c);
    render_producers(b, &html_format, c);
    chan_buf_puts(b, "<h2>Schema versions</h2>\n");
    render_versions(b, &html_format, c);
    chan_buf_puts(b, "</main>\n</body>\n</html>\n");
}

/* ------------------------------------------------------------------ */
/* Markdown                                                            */
/* ------------------------------------------------------------------ */

static void md_version_heading(chan_buf *b, int64_t number)
{
    chan_buf_printf(b, "\n### Version %lld\n\n", (long long)number);
}

static const doc_format md_format = {
    .text = md_puts,
    .h2_open = "## ",
    .h2_close = "\n\n",
    .section_close = "\n",
    .note_open = "",
    .note_close = "\n",
    .para_open = "\n",
    .para_close = "\n\n",
    .list_open = "",
    .list_close = "",
    .item_open = "- ",
    .item_close = "\n",
    .code_open = "",
    .code_close = "",
    .deprecated = " (deprecated)",
    .head_open = "|",
    .th_open = " ",
    .th_close = " |",
    .head_close = "\n",
    .rule_open = "|",
    .rule_text = "---|",
    .rule_num = "---:|",
    .row_open = "|",
    .td_open = " ",
    .td_num_open = " ",
    .td_close = " |",
    .row_close = "\n",
    .table_close = "",
    .version_heading = md_version_heading,
    .schema_text = NULL,
};

static void render_channel_md(chan_buf *b, const chan_contract *c)
{
    const char *dep = chan_contract_deprecation_date(c);
    const char *ret = chan_contract_retirement_date(c);

    chan_buf_puts(b, "# ");
    md_puts(b, chan_contract_name(c));
    chan_buf_puts(b, "\n\n");
    if (chan_contract_description(c)) {
        md_puts(b, chan_contract_description(c));
        chan_buf_puts(b, "\n\n");
    }
    chan_buf_puts(b, "| | |\n|---|---|\n| Owner team | ");
    md_puts(b, chan_contract_owner_team(c));
    chan_buf_puts(b, " |\n| Maintainer | ");
    md_puts(b, chan_contract_maintainer(c));
    chan_buf_printf(b, " |\n| Peak QPS | %lld |\n| Retention (hours) | %lld |\n",
                    (long long)chan_contract_peak_qps(c),
                    (long long)chan_contract_retention_hours(c));
    chan_buf_puts(b, "| Deprecation date | ");
    md_puts(b, dep ? dep : "none");
    chan_buf_puts(b, " |\n| Retirement date | ");
    md_puts(b, ret ? ret : "none");
    chan_buf_puts(b, " |\n| Schema subject | ");
    md_puts(b, chan_contract_subject(c));
    chan_buf_puts(b, " |\n| Compatibility | ");
    md_puts(b, chan_compat_mode_name(chan_contract_compatibility(c)));
    chan_buf_printf(b, " |\n| Latest schema version | %lld |\n\n", (long long)latest_version(c));

    render_consumers(b, &md_format, c);
    render_producers(b, &md_format, c);
    chan_buf_puts(b, "## Schema versions\n");
    render_versions(b, &md_format, c);
}

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */

static int make_dir(const char *path)
{
    struct stat st;

    if (mkdir(path, 0777) == 0)
        return 0;
    if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return 0;
    cli_error("cannot create directory %s: %s", path,
              errno == EEXIST ? "a file is in the way" : strerror(errno));
    return -1;
}

static int write_file(const char *dir, const char *name, const chan_buf *b)
{
    chan_error err = CHAN_ERROR_INIT;
    char *path = chan_xasprintf("%s/%s", dir, name);
    const char *text = chan_buf_cstr(b);
    int error = chan_file_write_atomic(path, text, strlen(text), &err);

    if (error < 0)
        cli_error_print(&err);
    free(path);
    return error;
}

static int cmp_contract(const void *a, const void *b)
{
    const chan_contract *const *x = a;
    const chan_contract *const *y = b;

    return strcmp(chan_contract_name(*x), chan_contract_name(*y));
}

/* Is file (NAME.SUFFIX) the page of one of the channels? */
static bool is_current_page(const char *file, const char *suffix, const chan_contract *const *cs,
                            size_t n)
{
    size_t i, len = strlen(file), slen = strlen(suffix);

    for (i = 0; i < n; i++) {
        const char *name = chan_contract_name(cs[i]);

        if (len == strlen(name) + slen && strncmp(file, name, len - slen) == 0 &&
            strcmp(file + len - slen, suffix) == 0)
            return true;
    }
    return false;
}

/* Remove NAME.SUFFIX files of dir that belong to no current channel. */
static int remove_stale(const char *dir, const char *suffix, const chan_contract *const *cs,
                        size_t n)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int error = 0;

    if (d == NULL) {
        cli_error("cannot read directory %s: %s", dir, strerror(errno));
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name), slen = strlen(suffix);
        char *path;

        if (len <= slen || strcmp(e->d_name + len - slen, suffix) != 0 ||
            is_current_page(e->d_name, suffix, cs, n))
            continue;
        path = chan_xasprintf("%s/%s", dir, e->d_name);
        if (unlink(path) != 0) {
            cli_error("cannot remove %s: %s", path, strerror(errno));
            error = -1;
        }
        free(path);
    }
    closedir(d);
    return error;
}

int cmd_docs(int argc, char **argv)
{
    docs_opts o = {NULL, NULL, "Channel catalog", NULL};
    cli_args args;
    chan_contract_load_options lopts = CHAN_CONTRACT_LOAD_OPTIONS_INIT;
    cli_path_list files = CLI_PATH_LIST_INIT;
    chan_contract_set *set = NULL;
    chan_diag_list *diags = NULL;
    const chan_contract **cs = NULL;
    char *channels_dir = NULL, *md_dir = NULL;
    chan_buf b;
    size_t i, n = 0;
    int rc;

    chan_buf_init(&b);
    if (cli_args_parse(&args, &o, &spec, argc, argv) == CLI_ARGS_EXIT)
        return args.exit;
    if (o.output == NULL || *o.output == '\0')
        return cli_usage_error(CMD_NAME, "-o DIR is required");
    if (!cli_root_option_ok(CMD_NAME, o.root))
        return CLI_EXIT_USAGE;
    if ((rc = cli_args_contract_files(&files, &args, false)) != CLI_EXIT_OK)
        goto cleanup;

    lopts.schema_root = o.schema_root;
    lopts.root = o.root;
    set = chan_contract_set_new();
    diags = chan_diag_list_new();
    for (i = 0; i < files.count; i++)
        (void)chan_contract_set_add_file(set, files.items[i], &lopts, diags, NULL);
    (void)chan_contract_set_check(set, diags);
    chan_diag_list_sort(diags);
    if (chan_diag_list_count_severity(diags, CHAN_DIAG_ERROR) > 0) {
        cli_print_diags(stderr, diags, false);
        cli_error("nothing written: fix the contracts first (chanctl validate)");
        rc = CLI_EXIT_FAILED;
        goto cleanup;
    }

    n = chan_contract_set_count(set);
    cs = chan_xcalloc(n + 1, sizeof(*cs));
    for (i = 0; i < n; i++)
        cs[i] = chan_contract_set_get(set, i);
    qsort(cs, n, sizeof(*cs), cmp_contract);

    channels_dir = chan_xasprintf("%s/channels", o.output);
    md_dir = chan_xasprintf("%s/markdown", o.output);
    rc = CLI_EXIT_RUNTIME;
    if (make_dir(o.output) < 0 || make_dir(channels_dir) < 0 || make_dir(md_dir) < 0)
        goto cleanup;

    chan_buf_puts(&b, style_css);
    if (write_file(o.output, "style.css", &b) < 0)
        goto cleanup;
    chan_buf_clear(&b);
    render_catalog(&b, cs, n, o.title);
    if (write_file(o.output, "index.html", &b) < 0)
        goto cleanup;
    for (i = 0; i < n; i++) {
        char *name;
        int error;

        chan_buf_clear(&b);
        render_channel_html(&b, cs[i]);
        name = chan_xasprintf("%s.html", page_name(cs[i]));
        error = write_file(channels_dir, name, &b);
        free(name);
        if (error < 0)
            goto cleanup;
        chan_buf_clear(&b);
        render_channel_md(&b, cs[i]);
        name = chan_xasprintf("%s.md", page_name(cs[i]));
        error = write_file(md_dir, name, &b);
        free(name);
        if (error < 0)
            goto cleanup;
    }
    if (remove_stale(channels_dir, ".html", cs, n) < 0 || remove_stale(md_dir, ".md", cs, n) < 0)
        goto cleanup;
    printf("%zu channel%s written to %s\n", n, n == 1 ? "" : "s", o.output);
    rc = CLI_EXIT_OK;

cleanup:
    chan_buf_dispose(&b);
    free(channels_dir);
    free(md_dir);
    free(cs);
    chan_diag_list_free(diags);
    chan_contract_set_free(set);
    cli_path_list_dispose(&files);
    return rc;
}
