/* intake_batch.c - intake's group commit on common/group.h: a batch of messages is
 * written by one statement (store_messages_create()), and each request gets its own
 * outcome. */
#include "api/intake_batch.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "group.h"
#include "log.h"
#include "outbox/wakeup.h"

/* One request's message and, once its batch ran, its outcome. */
struct intake_entry {
    struct group_item item;
    struct store_new_message *m; /* owned, strings included */
    struct store_message_ref ref;
};

static struct group *committer;

static void entry_free(struct group_item *it)
{
    struct intake_entry *e = group_entry(it, struct intake_entry, item);
    free(e->m);
    free(e);
}

/* Writes n messages and fills each entry's ref. A batch the database refuses as a
 * whole (not an outage: a bug, or one message it cannot take) is written again one
 * message at a time, so that one bad message fails alone. */
static void commit(struct group_item **items, size_t n)
{
    struct store_new_message *m = xcalloc(n, sizeof(*m));
    struct store_message_ref *ref = xcalloc(n, sizeof(*ref));
    for (size_t i = 0; i < n; i++)
        m[i] = *group_entry(items[i], struct intake_entry, item)->m;
    enum db_status st = store_messages_create(m, n, ref);
    if (st == DB_ERROR && n > 1) {
        log_warn("intake batch refused, writing its messages one by one\tmessages=%zu", n);
        for (size_t i = 0; i < n; i++) {
            enum db_status one = store_messages_create(&m[i], 1, &ref[i]);
            if (one != DB_OK)
                ref[i].st = one;
        }
    } else if (st != DB_OK) {
        for (size_t i = 0; i < n; i++)
            ref[i].st = st;
    }
    bool queued = false;
    for (size_t i = 0; i < n; i++) {
        group_entry(items[i], struct intake_entry, item)->ref = ref[i];
        queued = queued ||
                 (ref[i].st == DB_OK && ref[i].created && strcmp(ref[i].status, "queued") == 0);
    }
    /* Once per commit, not per message: the worker takes all of them in its next claim. */
    if (queued)
        wakeup_queued();
    free(ref);
    free(m);
}

static struct group_config config = {
    .run = commit,
    .free_item = entry_free,
    .batches_metric = "whatsapp_intake_commits_total",
    .batches_help = "Intake transactions: each writes the messages of every request that "
                    "was waiting (group commit).",
    .items_metric = "whatsapp_intake_committed_messages_total",
    .items_help = "Messages written by intake transactions, stored or found.",
    .waiting_metric = "whatsapp_intake_waiting",
    .waiting_help = "Intake requests waiting for their commit.",
};

bool intake_batch_start(long max_rows)
{
    config.max_items = max_rows > 0 ? max_rows : 1;
    committer = group_start(&config);
    return committer != NULL;
}

void intake_batch_stop(void)
{
    group_stop(committer);
    committer = NULL;
}

void intake_batch_submit(struct http_request *req, const struct store_new_message *m)
{
    struct intake_entry *e = xcalloc(1, sizeof(*e));
    e->m = store_message_copy(m);
    group_submit(committer, req, &e->item);
}

struct intake_entry *intake_batch_entry(const struct http_request *req)
{
    struct group_item *it = group_item_of(req);
    return it ? group_entry(it, struct intake_entry, item) : NULL;
}

void intake_batch_wait(struct http_request *req)
{
    group_wait(req);
}

bool intake_batch_outcome(struct intake_entry *e, bool last_run, const struct store_new_message **m,
                          struct store_message_ref *ref)
{
    *m = e->m;
    if (group_outcome(&e->item, last_run)) {
        *ref = e->ref;
        return true;
    }
    memset(ref, 0, sizeof(*ref));
    ref->st = DB_UNAVAILABLE;
    return last_run;
}
