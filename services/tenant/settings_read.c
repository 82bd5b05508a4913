/* settings_read.c - the settings GET: from the cache (settings_cache.h) when it may
 * answer, else on common/group.h: a batch of tenant ids read by
 * store_settings_get_many(), each request answered with its own document, which the
 * cache then keeps. */
#include "settings_read.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "group.h"
#include "handlers.h"
#include "settings_cache.h"
#include "store.h"
#include "uuidutil.h"

/* Most reads in one statement. */
#define SETTINGS_READ_BATCH 256

struct settings_read {
    struct group_item item;
    char tenant_id[UUID_STR_LEN];
    uint64_t cache_ticket; /* taken before the database was asked */
    enum store_status st;
    char *doc; /* the document as PostgreSQL wrote it, when st is STORE_OK; owned */
};

static struct group *reads;

static void read_free(struct group_item *it)
{
    struct settings_read *r = group_entry(it, struct settings_read, item);
    free(r->doc);
    free(r);
}

/* One statement for all n (or the lone one). The documents are served as PostgreSQL
 * wrote them: parsed and written again they cost this thread, which all reads wait for,
 * a third of its time. */
static void run(struct group_item **items, size_t n)
{
    const char **ids = xcalloc(n, sizeof(*ids));
    char **docs = xcalloc(n, sizeof(*docs));
    for (size_t i = 0; i < n; i++)
        ids[i] = group_entry(items[i], struct settings_read, item)->tenant_id;
    enum store_status st = store_settings_get_many(ids, n, docs);
    for (size_t i = 0; i < n; i++) {
        struct settings_read *r = group_entry(items[i], struct settings_read, item);
        r->st = st == STORE_OK && !docs[i] ? STORE_NOT_FOUND : st;
        r->doc = docs[i];
        if (r->doc) /* an unknown tenant is not kept: its creation would not be heard */
            settings_cache_put(r->tenant_id, r->doc, r->cache_ticket);
    }
    free(docs);
    free(ids);
}

static const struct group_config config = {
    .max_items = SETTINGS_READ_BATCH,
    .run = run,
    .free_item = read_free,
    .batches_metric = "tenant_settings_read_batches_total",
    .batches_help = "Statements reading notification settings: each serves every GET that "
                    "was waiting.",
    .items_metric = "tenant_settings_read_requests_total",
    .items_help = "Notification-settings GETs served by those statements.",
    .waiting_metric = "tenant_settings_read_waiting",
    .waiting_help = "Notification-settings GETs waiting for their statement.",
};

bool settings_read_start(void)
{
    reads = group_start(&config);
    return reads != NULL;
}

void settings_read_stop(void)
{
    group_stop(reads);
    reads = NULL;
}

void handle_settings_get(struct http_request *req)
{
    struct group_item *it = group_item_of(req);
    if (!it) {
        char id[UUID_STR_LEN];
        if (!tenant_id_param(req, id))
            return;
        if (!auth_can_read_tenant(http_principal(req), id)) {
            http_reply_error(req, 403, "forbidden", "You may only read your own tenant's data");
            return;
        }
        size_t len = 0;
        char *cached = settings_cache_get(id, &len);
        if (cached) {
            http_reply_bytes(req, 200, "application/json; charset=utf-8", cached, len);
            free(cached);
            return;
        }
        struct settings_read *r = xcalloc(1, sizeof(*r));
        memcpy(r->tenant_id, id, sizeof id);
        r->cache_ticket = settings_cache_ticket();
        it = &r->item;
        group_submit(reads, req, it);
    }
    bool last = http_park_expired(req);
    if (!group_outcome(it, last)) {
        if (last)
            reply_store_failure(req, STORE_UNAVAILABLE);
        else
            group_wait(req);
        return;
    }
    struct settings_read *r = group_entry(it, struct settings_read, item);
    if (r->st != STORE_OK)
        reply_store_failure(req, r->st);
    else
        http_reply_bytes(req, 200, "application/json; charset=utf-8", r->doc, strlen(r->doc));
}
