/*
 * yaml_tree.c - turns YAML (or JSON) text into a tree of located nodes.
 *
 * Built on libyaml's event API rather than its document loader so that every
 * limit is enforced while parsing: nesting depth, number of nodes, alias
 * uses (aliases are expanded into copies, and the copies count against the
 * node cap, which defeats "billion laughs"), entries per mapping, one
 * document per file.  Duplicate keys are reported here too, since the model
 * keeps only one value per key.  Positions are 1-based.
 */
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "chan/common.h"
#include "contract_internal.h"

/** Entries per mapping: keeps the duplicate-key check quadratic in a small n. */
#define MAX_MAP_PAIRS 1024

typedef struct anchor {
    char *name;
    const chan_ynode *node; /* borrowed from the tree */
} anchor;

typedef struct builder {
    const char *text;
    size_t len;
    const char *file;
    const chan_yaml_limits *limits;
    chan_diag_list *diags;
    chan_ynode *root;
    chan_ynode **stack; /* open collections */
    char **stack_anchor;
    chan_ynode **pending_key; /* per open mapping: key waiting for its value */
    size_t depth;
    size_t stack_cap;
    anchor *anchors;
    size_t n_anchors;
    size_t cap_anchors;
    size_t n_nodes;
    size_t n_aliases;
    chan_ynode **discarded; /* values of duplicate keys, freed at the end */
    size_t n_discarded;
    size_t cap_discarded;
    bool failed;
} builder;

void chan_contract__ynode_free(chan_ynode *node)
{
    size_t i;

    if (node == NULL)
        return;
    for (i = 0; i < node->count; i++) {
        if (node->kind == CHAN_YNODE_SEQ) {
            chan_contract__ynode_free(node->items[i]);
        } else if (node->kind == CHAN_YNODE_MAP) {
            chan_contract__ynode_free(node->pairs[i].key);
            chan_contract__ynode_free(node->pairs[i].value);
        }
    }
    free(node->items);
    free(node->pairs);
    free(node->tag);
    free(node->value);
    free(node);
}

static void fail(builder *b, int line, int column, const char *rule, const char *fmt, ...)
    CHAN_PRINTF(5, 6);

/* Add an error diagnostic and stop building. */
static void fail(builder *b, int line, int column, const char *rule, const char *fmt, ...)
{
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    msg = chan_xvasprintf(fmt, ap);
    va_end(ap);
    chan_diag_add(b->diags, CHAN_DIAG_ERROR, b->file, line, column, rule, NULL, "%s", msg);
    free(msg);
    b->failed = true;
}

/* Count one more node; false (after a diagnostic) when over the cap. */
static bool count_node(builder *b, int line, int column)
{
    if (++b->n_nodes > b->limits->max_nodes) {
        fail(b, line, column, CHAN_CONTRACT_RULE_TOO_COMPLEX, "document has more than %zu nodes",
             b->limits->max_nodes);
        return false;
    }
    return true;
}

static chan_ynode *node_new(chan_ynode_kind kind, const yaml_mark_t *mark, const yaml_char_t *tag)
{
    chan_ynode *n = chan_xcalloc(1, sizeof(*n));

    n->kind = kind;
    n->line = (int)mark->line + 1;
    n->column = (int)mark->column + 1;
    n->tag = tag ? chan_xstrdup((const char *)tag) : NULL;
    return n;
}

/* Deep copy of an anchored node for an alias, counting every copied node. */
static chan_ynode *node_copy(builder *b, const chan_ynode *src, int line, int column)
{
    chan_ynode *n;
    size_t i;

    if (!count_node(b, line, column))
        return NULL;
    n = chan_xcalloc(1, sizeof(*n));
    n->kind = src->kind;
    /* The copy is located at the alias: that is where the user looks. */
    n->line = line;
    n->column = column;
    n->tag = chan_xstrdup(src->tag);
    n->plain = src->plain;
    if (src->value) {
        n->value = chan_xmalloc(src->len + 1);
        memcpy(n->value, src->value, src->len + 1);
        n->len = src->len;
    }
    if (src->kind == CHAN_YNODE_SEQ && src->count > 0) {
        n->items = chan_xcalloc(src->count, sizeof(*n->items));
        n->cap = src->count;
        for (i = 0; i < src->count; i++) {
            n->items[i] = node_copy(b, src->items[i], line, column);
            if (n->items[i] == NULL)
                break;
            n->count++;
        }
    } else if (src->kind == CHAN_YNODE_MAP && src->count > 0) {
        n->pairs = chan_xcalloc(src->count, sizeof(*n->pairs));
        n->cap = src->count;
        for (i = 0; i < src->count; i++) {
            n->pairs[i].key = node_copy(b, src->pairs[i].key, line, column);
            n->pairs[i].value =
                n->pairs[i].key ? node_copy(b, src->pairs[i].value, line, column) : NULL;
            if (n->pairs[i].value == NULL) {
                chan_contract__ynode_free(n->pairs[i].key);
                break;
            }
            n->count++;
        }
    }
    if (b->failed) {
        chan_contract__ynode_free(n);
        return NULL;
    }
    return n;
}

static void remember_anchor(builder *b, const char *name, const chan_ynode *node)
{
    if (b->n_anchors == b->cap_anchors) {
        b->cap_anchors = b->cap_anchors ? b->cap_anchors * 2 : 8;
        b->anchors = chan_xreallocarray(b->anchors, b->cap_anchors, sizeof(*b->anchors));
    }
    b->anchors[b->n_anchors].name = chan_xstrdup(name);
    b->anchors[b->n_anchors].node = node;
    b->n_anchors++;
}

static const chan_ynode *find_anchor(const builder *b, const char *name)
{
    size_t i;

    /* A later anchor of the same name replaces the earlier one (YAML 1.2). */
    for (i = b->n_anchors; i > 0; i--)
        if (strcmp(b->anchors[i - 1].name, name) == 0)
            return b->anchors[i - 1].node;
    return NULL;
}

static bool same_key(const chan_ynode *a, const chan_ynode *k)
{
    return a->kind == CHAN_YNODE_SCALAR && a->len == k->len &&
           memcmp(a->value, k->value, k->len) == 0;
}

/* Keep a node that is not part of the tree alive until the builder ends. */
static void discard(builder *b, chan_ynode *n)
{
    if (b->n_discarded == b->cap_discarded) {
        b->cap_discarded = b->cap_discarded ? b->cap_discarded * 2 : 4;
        b->discarded = chan_xreallocarray(b->discarded, b->cap_discarded, sizeof(*b->discarded));
    }
    b->discarded[b->n_discarded++] = n;
}

/*
 * Attach a finished node to the open collection (or make it the root).
 * Takes ownership of n in every case.
 */
static void attach(builder *b, chan_ynode *n)
{
    chan_ynode *parent;
    chan_ynode **pending;
    size_t i;

    if (b->depth == 0) {
        b->root = n;
        return;
    }
    parent = b->stack[b->depth - 1];
    if (parent->kind == CHAN_YNODE_SEQ) {
        if (parent->count == parent->cap) {
            parent->cap = parent->cap ? parent->cap * 2 : 4;
            parent->items = chan_xreallocarray(parent->items, parent->cap, sizeof(*parent->items));
        }
        parent->items[parent->count++] = n;
        return;
    }
    pending = &b->pending_key[b->depth - 1];
    if (*pending == NULL) {
        if (n->kind != CHAN_YNODE_SCALAR) {
            fail(b, n->line, n->column, CHAN_CONTRACT_RULE_WRONG_TYPE,
                 "mapping keys must be plain strings, not %s",
                 n->kind == CHAN_YNODE_MAP ? "mappings" : "sequences");
            chan_contract__ynode_free(n);
            return;
        }
        for (i = 0; i < parent->count; i++) {
            if (same_key(parent->pairs[i].key, n)) {
                chan_diag *d = chan_diag_add(b->diags, CHAN_DIAG_ERROR, b->file, n->line, n->column,
                                             CHAN_CONTRACT_RULE_DUPLICATE_KEY, NULL,
                                             "duplicate key \"%s\"", n->value);
                chan_diag_set_hint(d, "first defined at line %d, column %d",
                                   parent->pairs[i].key->line, parent->pairs[i].key->column);
                /* Keep parsing: the duplicate's value is read and dropped. */
                break;
            }
        }
        if (parent->count >= MAX_MAP_PAIRS) {
            fail(b, n->line, n->column, CHAN_CONTRACT_RULE_TOO_COMPLEX,
                 "mapping has more than %d entries", MAX_MAP_PAIRS);
            chan_contract__ynode_free(n);
            return;
        }
        *pending = n;
        return;
    }
    for (i = 0; i < parent->count; i++) {
        if (same_key(parent->pairs[i].key, *pending)) {
            /* Anchors may point into the dropped value: free it only at the end. */
            discard(b, *pending);
            discard(b, n);
            *pending = NULL;
            return;
        }
    }
    if (parent->count == parent->cap) {
        parent->cap = parent->cap ? parent->cap * 2 : 4;
        parent->pairs = chan_xreallocarray(parent->pairs, parent->cap, sizeof(*parent->pairs));
    }
    parent->pairs[parent->count].key = *pending;
    parent->pairs[parent->count].value = n;
    parent->count++;
    *pending = NULL;
}

static void push(builder *b, chan_ynode *n, const yaml_char_t *anchor_name)
{
    if (b->depth == b->stack_cap) {
        b->stack_cap = b->stack_cap ? b->stack_cap * 2 : 16;
        b->stack = chan_xreallocarray(b->stack, b->stack_cap, sizeof(*b->stack));
        b->stack_anchor = chan_xreallocarray(b->stack_anchor, b->stack_cap, sizeof(char *));
        b->pending_key = chan_xreallocarray(b->pending_key, b->stack_cap, sizeof(chan_ynode *));
    }
    b->stack[b->depth] = n;
    b->stack_anchor[b->depth] = anchor_name ? chan_xstrdup((const char *)anchor_name) : NULL;
    b->pending_key[b->depth] = NULL;
    b->depth++;
}

static void pop(builder *b)
{
    chan_ynode *n;
    char *name;

    b->depth--;
    n = b->stack[b->depth];
    name = b->stack_anchor[b->depth];
    /* A key without value cannot happen with a well-formed event stream. */
    chan_contract__ynode_free(b->pending_key[b->depth]);
    b->pending_key[b->depth] = NULL;
    /* Registered only now: an alias inside its own anchor is "unknown". */
    if (name)
        remember_anchor(b, name, n);
    free(name);
    attach(b, n);
}

/* Line and column (1-based) of a byte offset, for reader errors. */
static void offset_position(const char *text, size_t len, size_t offset, int *line, int *column)
{
    size_t i, l = 1, c = 1;

    if (offset > len)
        offset = len;
    for (i = 0; i < offset; i++) {
        if (text[i] == '\n') {
            l++;
            c = 1;
        } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
            c++;
        }
    }
    *line = (int)l;
    *column = (int)c;
}

static void report_parser_error(builder *b, const yaml_parser_t *parser)
{
    int line, column;
    const char *problem = parser->problem ? parser->problem : "invalid YAML";

    if (parser->error == YAML_READER_ERROR) {
        offset_position(b->text, b->len, parser->problem_offset, &line, &column);
        if (parser->problem_value != -1)
            fail(b, line, column, CHAN_CONTRACT_RULE_YAML_SYNTAX, "%s (byte 0x%02X)", problem,
                 (unsigned)parser->problem_value & 0xFFu);
        else
            fail(b, line, column, CHAN_CONTRACT_RULE_YAML_SYNTAX, "%s", problem);
        return;
    }
    if (parser->error == YAML_MEMORY_ERROR) {
        fail(b, 1, 1, CHAN_CONTRACT_RULE_TOO_COMPLEX, "out of memory while parsing YAML");
        return;
    }
    line = (int)parser->problem_mark.line + 1;
    column = (int)parser->problem_mark.column + 1;
    if (parser->context)
        fail(b, line, column, CHAN_CONTRACT_RULE_YAML_SYNTAX, "%s %s (line %d, column %d)", problem,
             parser->context, (int)parser->context_mark.line + 1,
             (int)parser->context_mark.column + 1);
    else
        fail(b, line, column, CHAN_CONTRACT_RULE_YAML_SYNTAX, "%s", problem);
}

/* Handle one event; false when building must stop. */
static bool on_event(builder *b, const yaml_event_t *ev, int *n_docs)
{
    const yaml_mark_t *mark = &ev->start_mark;
    int line = (int)mark->line + 1, column = (int)mark->column + 1;
    chan_ynode *n;

    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++*n_docs > 1) {
            fail(b, line, column, CHAN_CONTRACT_RULE_DOCUMENT,
                 "a contract file holds exactly one YAML document");
            return false;
        }
        return true;
    case YAML_SCALAR_EVENT:
        if (!count_node(b, line, column))
            return false;
        n = node_new(CHAN_YNODE_SCALAR, mark, ev->data.scalar.tag);
        n->value = chan_xmalloc(ev->data.scalar.length + 1);
        memcpy(n->value, ev->data.scalar.value, ev->data.scalar.length);
        n->value[ev->data.scalar.length] = '\0';
        n->len = ev->data.scalar.length;
        n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        if (ev->data.scalar.anchor)
            remember_anchor(b, (const char *)ev->data.scalar.anchor, n);
        attach(b, n);
        return !b->failed;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        if (b->depth >= b->limits->max_depth) {
            fail(b, line, column, CHAN_CONTRACT_RULE_TOO_DEEP, "nesting deeper than %zu levels",
                 b->limits->max_depth);
            return false;
        }
        if (!count_node(b, line, column))
            return false;
        if (ev->type == YAML_SEQUENCE_START_EVENT)
            push(b, node_new(CHAN_YNODE_SEQ, mark, ev->data.sequence_start.tag),
                 ev->data.sequence_start.anchor);
        else
            push(b, node_new(CHAN_YNODE_MAP, mark, ev->data.mapping_start.tag),
                 ev->data.mapping_start.anchor);
        return true;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        if (b->depth > 0)
            pop(b);
        return !b->failed;
    case YAML_ALIAS_EVENT: {
        const chan_ynode *target = find_anchor(b, (const char *)ev->data.alias.anchor);

        if (++b->n_aliases > b->limits->max_aliases) {
            fail(b, line, column, CHAN_CONTRACT_RULE_ALIAS, "more than %zu aliases in a document",
                 b->limits->max_aliases);
            return false;
        }
        if (target == NULL) {
            fail(b, line, column, CHAN_CONTRACT_RULE_ALIAS, "unknown or recursive anchor \"%s\"",
                 (const char *)ev->data.alias.anchor);
            return false;
        }
        n = node_copy(b, target, line, column);
        if (n == NULL)
            return false;
        attach(b, n);
        return !b->failed;
    }
    default:
        return true;
    }
}

int chan_contract__yaml_load(chan_ynode **out, const char *text, size_t len, const char *file,
                             const chan_yaml_limits *limits, chan_diag_list *diags)
{
    yaml_parser_t parser;
    yaml_event_t event;
    builder b;
    int n_docs = 0;
    bool done = false;
    size_t i;

    *out = NULL;
    memset(&b, 0, sizeof(b));
    b.text = text;
    b.len = len;
    b.file = file;
    b.limits = limits;
    b.diags = diags;

    if (!yaml_parser_initialize(&parser)) {
        fail(&b, 1, 1, CHAN_CONTRACT_RULE_TOO_COMPLEX, "cannot initialise the YAML parser");
        return CHAN_EINVALID;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    while (!done && !b.failed) {
        if (!yaml_parser_parse(&parser, &event)) {
            report_parser_error(&b, &parser);
            break;
        }
        done = event.type == YAML_STREAM_END_EVENT;
        on_event(&b, &event, &n_docs);
        yaml_event_delete(&event);
    }
    yaml_parser_delete(&parser);

    /* Unwind whatever is still open after an error. */
    while (b.depth > 0) {
        b.depth--;
        chan_contract__ynode_free(b.pending_key[b.depth]);
        chan_contract__ynode_free(b.stack[b.depth]);
        free(b.stack_anchor[b.depth]);
    }
    for (i = 0; i < b.n_discarded; i++)
        chan_contract__ynode_free(b.discarded[i]);
    free(b.discarded);
    for (i = 0; i < b.n_anchors; i++)
        free(b.anchors[i].name);
    free(b.anchors);
    free(b.stack);
    free(b.stack_anchor);
    free(b.pending_key);

    if (b.failed) {
        chan_contract__ynode_free(b.root);
        b.root = NULL;
    }
    *out = b.root;
    return b.failed ? CHAN_EINVALID : 0;
}
