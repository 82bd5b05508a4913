/* openapi_embed.c - build-time tool: reads docs/openapi.yaml (libyaml), keeps the paths
 * (and servers) whose x-service names SERVICE and the tags they use, and writes the JSON
 * into a C file defining `const char openapi_json[]` and `openapi_json_len`, so a daemon
 * serves its part of the description with no YAML or file at run time.
 *
 * usage: openapi-embed SERVICE IN.yaml OUT.c [OUT.json]
 * Plain scalars are resolved as YAML 1.2's core schema does (null, booleans, integers,
 * floats, else strings); quoted scalars are strings. Anchors, aliases and merge keys are
 * refused: the description does without them so that every reader sees the same thing. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

static const char *input_path;

static void fail_at(const yaml_node_t *node, const char *what)
{
    fprintf(stderr, "%s:%lu:%lu: %s\n", input_path, (unsigned long)node->start_mark.line + 1,
            (unsigned long)node->start_mark.column + 1, what);
}

static bool all_of(const char *s, const char *chars)
{
    return *s && strspn(s, chars) == strlen(s);
}

/* The JSON value of a plain scalar under YAML 1.2's core schema (.inf and .nan, which
 * JSON cannot hold, stay strings). */
static json_t *plain_scalar(const char *s)
{
    if (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL"))
        return json_null();
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
        return json_true();
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
        return json_false();
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'o') &&
        all_of(s + 2, s[1] == 'x' ? "0123456789abcdefABCDEF" : "01234567")) {
        errno = 0;
        long long v = strtoll(s + 2, NULL, s[1] == 'x' ? 16 : 8);
        if (errno == 0)
            return json_integer((json_int_t)v);
    }
    const char *digits = (*s == '-' || *s == '+') ? s + 1 : s;
    if (all_of(digits, "0123456789")) {
        errno = 0;
        long long v = strtoll(s, NULL, 10);
        if (errno == 0)
            return json_integer((json_int_t)v);
    }
    /* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
    const char *p = digits;
    size_t int_digits = strspn(p, "0123456789");
    p += int_digits;
    size_t frac_digits = 0;
    if (*p == '.') {
        p++;
        frac_digits = strspn(p, "0123456789");
        p += frac_digits;
    }
    bool number = int_digits + frac_digits > 0;
    if (number && (*p == 'e' || *p == 'E')) {
        p++;
        if (*p == '-' || *p == '+')
            p++;
        size_t exp_digits = strspn(p, "0123456789");
        number = exp_digits > 0;
        p += exp_digits;
    }
    if (number && *p == '\0') {
        double d = strtod(s, NULL);
        if (isfinite(d))
            return json_real(d);
    }
    return json_string(s);
}

/* The JSON value of node (a new reference), or NULL after an error message. */
static json_t *to_json(yaml_document_t *doc, yaml_node_t *node)
{
    json_t *out = NULL;
    if (node->tag && strcmp((const char *)node->tag, YAML_DEFAULT_SCALAR_TAG) != 0 &&
        strcmp((const char *)node->tag, YAML_DEFAULT_MAPPING_TAG) != 0 &&
        strcmp((const char *)node->tag, YAML_DEFAULT_SEQUENCE_TAG) != 0) {
        fail_at(node, "explicit tags are not supported");
        return NULL;
    }
    switch (node->type) {
    case YAML_SCALAR_NODE: {
        const char *s = (const char *)node->data.scalar.value;
        if (node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
            return plain_scalar(s);
        return json_stringn(s, node->data.scalar.length);
    }
    case YAML_SEQUENCE_NODE:
        out = json_array();
        for (yaml_node_item_t *i = node->data.sequence.items.start;
             i < node->data.sequence.items.top; i++) {
            json_t *v = to_json(doc, yaml_document_get_node(doc, *i));
            if (!v)
                goto fail;
            json_array_append_new(out, v);
        }
        return out;
    case YAML_MAPPING_NODE:
        out = json_object();
        for (yaml_node_pair_t *pair = node->data.mapping.pairs.start;
             pair < node->data.mapping.pairs.top; pair++) {
            yaml_node_t *k = yaml_document_get_node(doc, pair->key);
            if (k->type != YAML_SCALAR_NODE) {
                fail_at(k, "mapping keys must be scalars");
                goto fail;
            }
            const char *key = (const char *)k->data.scalar.value;
            if (!strcmp(key, "<<") && k->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
                fail_at(k, "merge keys (<<) are not supported");
                goto fail;
            }
            if (json_object_get(out, key)) {
                fail_at(k, "duplicate key");
                goto fail;
            }
            json_t *v = to_json(doc, yaml_document_get_node(doc, pair->value));
            if (!v)
                goto fail;
            json_object_set_new(out, key, v);
        }
        return out;
    case YAML_NO_NODE:
        break;
    }
    fail_at(node, "unexpected node");
fail:
    json_decref(out);
    return NULL;
}

/* Loads the YAML file as JSON; aliases are refused (libyaml's document API would
 * silently share the node). Returns a new reference or NULL. */
static json_t *load_yaml(const char *path)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_event_t ev;
    json_t *out = NULL;
    FILE *in = fopen(path, "rb");
    if (!in) {
        perror(path);
        return NULL;
    }
    /* First pass: events, to refuse anchors and aliases. */
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, in);
    for (;;) {
        if (!yaml_parser_parse(&parser, &ev)) {
            fprintf(stderr, "%s:%lu:%lu: %s\n", path, (unsigned long)parser.problem_mark.line + 1,
                    (unsigned long)parser.problem_mark.column + 1, parser.problem);
            yaml_parser_delete(&parser);
            fclose(in);
            return NULL;
        }
        bool anchored = ev.type == YAML_ALIAS_EVENT ||
                        (ev.type == YAML_SCALAR_EVENT && ev.data.scalar.anchor) ||
                        (ev.type == YAML_MAPPING_START_EVENT && ev.data.mapping_start.anchor) ||
                        (ev.type == YAML_SEQUENCE_START_EVENT && ev.data.sequence_start.anchor);
        unsigned long line = (unsigned long)ev.start_mark.line + 1;
        bool end = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
        if (anchored) {
            fprintf(stderr, "%s:%lu: anchors and aliases are not supported\n", path, line);
            yaml_parser_delete(&parser);
            fclose(in);
            return NULL;
        }
        if (end)
            break;
    }
    yaml_parser_delete(&parser);
    rewind(in);

    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, in);
    if (!yaml_parser_load(&parser, &doc)) {
        fprintf(stderr, "%s: %s\n", path, parser.problem ? parser.problem : "cannot be loaded");
    } else {
        yaml_node_t *root = yaml_document_get_root_node(&doc);
        if (root)
            out = to_json(&doc, root);
        else
            fprintf(stderr, "%s: empty document\n", path);
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);
    fclose(in);
    return out;
}

static bool names_service(const json_t *services, const char *service)
{
    size_t i;
    const json_t *s;
    json_array_foreach (services, i, s) {
        if (json_is_string(s) && !strcmp(json_string_value(s), service))
            return true;
    }
    return false;
}

/* Drops the paths and servers of other services and the tags no kept operation uses.
 * Returns false (with a message) when a path lacks x-service. */
static bool keep_service(json_t *doc, const char *service)
{
    json_t *paths = json_object_get(doc, "paths");
    json_t *kept = json_object();
    json_t *used = json_object();
    const char *path, *method;
    json_t *item, *op;
    bool ok = true;

    json_object_foreach (paths, path, item) {
        json_t *services = json_object_get(item, "x-service");
        if (!json_is_array(services)) {
            fprintf(stderr, "%s: path %s has no x-service list\n", input_path, path);
            ok = false;
            continue;
        }
        if (!names_service(services, service))
            continue;
        json_object_set(kept, path, item);
        json_object_foreach (item, method, op) {
            size_t i;
            json_t *tag;
            json_array_foreach (json_object_get(op, "tags"), i, tag) {
                if (json_is_string(tag))
                    json_object_set_new(used, json_string_value(tag), json_true());
            }
        }
    }
    json_object_set_new(doc, "paths", kept);
    json_t *servers = json_object_get(doc, "servers");
    for (size_t i = json_array_size(servers); i-- > 0;) {
        const json_t *names = json_object_get(json_array_get(servers, i), "x-service");
        if (json_is_string(names) && strcmp(json_string_value(names), service) != 0)
            json_array_remove(servers, i);
    }
    json_t *tags = json_object_get(doc, "tags");
    for (size_t i = json_array_size(tags); i-- > 0;) {
        const char *name = json_string_value(json_object_get(json_array_get(tags, i), "name"));
        if (!name || !json_object_get(used, name))
            json_array_remove(tags, i);
    }
    json_decref(used);
    if (!json_object_size(kept)) {
        fprintf(stderr, "%s: no path names x-service %s\n", input_path, service);
        ok = false;
    }
    return ok;
}

static bool write_c(const char *path, const char *service, const char *json)
{
    FILE *out = fopen(path, "w");
    if (!out) {
        perror(path);
        return false;
    }
    fprintf(out, "/* Generated by tools/openapi-embed from %s (x-service %s): do not edit. */\n",
            input_path, service);
    fputs("#include \"openapi.h\"\n\nconst char openapi_json[] =\n    \"", out);
    size_t col = 0;
    for (const unsigned char *p = (const unsigned char *)json; *p; p++) {
        if (*p == '"' || *p == '\\')
            col += (size_t)fprintf(out, "\\%c", *p);
        else if (*p < 0x20 || *p >= 0x7f)
            col += (size_t)fprintf(out, "\\%03o", *p);
        else
            col += (size_t)(fputc(*p, out) != EOF);
        if (col >= 96) {
            fputs("\"\n    \"", out);
            col = 0;
        }
    }
    fprintf(out, "\";\nconst size_t openapi_json_len = %zu;\n", strlen(json));
    return fclose(out) == 0;
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: openapi-embed SERVICE IN.yaml OUT.c [OUT.json]\n");
        return 2;
    }
    const char *service = argv[1];
    input_path = argv[2];
    int rc = 1;
    char *text = NULL;
    json_t *doc = load_yaml(input_path);
    if (!doc || !keep_service(doc, service))
        goto out;
    text = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(17));
    if (!text || !write_c(argv[3], service, text)) {
        remove(argv[3]);
        goto out;
    }
    if (argc == 5) {
        FILE *f = fopen(argv[4], "w");
        bool written = f && fputs(text, f) != EOF;
        if (f && fclose(f) != 0)
            written = false;
        if (!written) {
            perror(argv[4]);
            remove(argv[3]);
            goto out;
        }
    }
    rc = 0;
out:
    free(text);
    json_decref(doc);
    return rc;
}
