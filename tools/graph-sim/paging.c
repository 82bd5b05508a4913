/* paging.c - cursor windows and the next/previous links. */
#include "paging.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "config.h"
#include "graph_error.h"
#include "ids.h"
#include "sim.h"

static void cursor_of(const json_t *item, char *out, size_t outlen)
{
    const char *id = json_string_value(json_object_get(item, "id"));
    if (!id)
        id = "";
    ids_base64url(id, strlen(id), out, outlen);
}

/* Finds the index of the item whose cursor is cur; -1 when none. */
static long index_of(const json_t *items, const char *cur)
{
    char id[128];
    size_t i;
    const json_t *item;
    if (ids_unbase64url(cur, id, sizeof id) <= 0)
        return -1;
    json_array_foreach (items, i, item) {
        const char *v = json_string_value(json_object_get(item, "id"));
        if (v && strcmp(v, id) == 0)
            return (long)i;
    }
    return -1;
}

static void append_arg(struct buf *b, const char *key, const char *value)
{
    char *esc = curl_easy_escape(NULL, value, 0);
    buf_printf(b, "%s%s=%s", strchr(b->data, '?') ? "&" : "?", key, esc ? esc : "");
    curl_free(esc);
}

static char *link_to(struct http_request *req, const char *const *keep, long limit,
                     const char *cursor_key, const char *cursor)
{
    struct buf b = {0};
    const char *host = http_header(req, "Host");
    if (sim_cfg.public_url && *sim_cfg.public_url)
        buf_append_str(&b, sim_cfg.public_url);
    else
        buf_printf(&b, "http://%s", host && *host ? host : "127.0.0.1");
    while (b.len && b.data[b.len - 1] == '/')
        b.data[--b.len] = '\0';
    buf_append_str(&b, http_path(req));
    const char *token = http_query(req, "access_token");
    if (token)
        append_arg(&b, "access_token", token);
    for (size_t i = 0; keep && keep[i]; i++) {
        const char *v = http_query(req, keep[i]);
        if (v)
            append_arg(&b, keep[i], v);
    }
    char num[24];
    snprintf(num, sizeof num, "%ld", limit);
    append_arg(&b, "limit", num);
    append_arg(&b, cursor_key, cursor);
    return buf_steal(&b);
}

json_t *paging_page(struct http_request *req, json_t *items, const char *const *keep)
{
    json_t *result = NULL;
    long limit = PAGING_DEFAULT_LIMIT;
    const char *limit_s = http_query(req, "limit");
    const char *after = http_query(req, "after");
    const char *before = http_query(req, "before");
    long n = (long)json_array_size(items);
    long start = 0, end;

    if (limit_s && !cfg_parse_long(limit_s, 1, 1000000, &limit)) {
        gerr_reply(req, 100, "Param limit must be a positive integer");
        goto out;
    }
    if (limit > PAGING_MAX_LIMIT)
        limit = PAGING_MAX_LIMIT;
    if (after && *after) {
        long i = index_of(items, after);
        if (i < 0) {
            gerr_reply(req, 100, "Invalid cursor in after");
            goto out;
        }
        start = i + 1;
        end = start + limit < n ? start + limit : n;
    } else if (before && *before) {
        long i = index_of(items, before);
        if (i < 0) {
            gerr_reply(req, 100, "Invalid cursor in before");
            goto out;
        }
        end = i;
        start = end - limit > 0 ? end - limit : 0;
    } else {
        end = limit < n ? limit : n;
    }

    json_t *data = json_array();
    for (long i = start; i < end; i++)
        json_array_append(data, json_array_get(items, (size_t)i));
    result = json_pack("{s:o}", "data", data);
    if (start >= end)
        goto out;
    char first[128], last[128];
    cursor_of(json_array_get(items, (size_t)start), first, sizeof first);
    cursor_of(json_array_get(items, (size_t)end - 1), last, sizeof last);
    json_t *paging = json_pack("{s:{s:s, s:s}}", "cursors", "before", first, "after", last);
    if (end < n) {
        char *next = link_to(req, keep, limit, "after", last);
        json_object_set_new(paging, "next", json_string(next));
        free(next);
    }
    if (start > 0) {
        char *prev = link_to(req, keep, limit, "before", first);
        json_object_set_new(paging, "previous", json_string(prev));
        free(prev);
    }
    json_object_set_new(result, "paging", paging);
out:
    json_decref(items);
    return result;
}
