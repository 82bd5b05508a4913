/* retention.c - a periodic thread (common/periodic.h) that deletes old messages batch
 * by batch until none is left (each batch adds its messages to the monthly usage rollup
 * as it deletes them), prunes pending statuses older than a day, old account events and
 * the phones of user ids that no kept message named, then sleeps. Several instances may
 * run it at once: batches skip rows another instance has locked. */
#include "retention.h"

#include <stdbool.h>

#include "api/store.h"
#include "db.h"
#include "log.h"
#include "metrics.h"
#include "periodic.h"
#include "shutdown.h"

#define PENDING_MAX_AGE_SECONDS 86400

static struct periodic *thread;

/* One pass: batches until a short one, then the pending statuses. Returns false when
 * the database failed (the next pass retries). */
static bool run_pass(const struct notification_config *cfg)
{
    struct metric *deleted_total =
        metrics_counter("whatsapp_retention_deleted_total",
                        "Messages deleted for being older than the retention.", "");
    long total = 0, deleted = 0;

    do {
        if (shutdown_requested())
            return true;
        if (store_retention_delete(cfg->retention_days, cfg->retention_batch, cfg->billing_timezone,
                                   &deleted) != DB_OK) {
            log_warn("retention pass interrupted\terror=\"%s\"", db_error_message());
            return false;
        }
        total += deleted;
        metric_add(deleted_total, (double)deleted);
    } while (deleted == cfg->retention_batch);
    if (total)
        log_info("retention deleted old messages\tcount=%ld days=%ld", total, cfg->retention_days);
    if (store_pending_prune(PENDING_MAX_AGE_SECONDS, &deleted) != DB_OK)
        return false;
    if (deleted)
        log_info("retention pruned unclaimed statuses\tcount=%ld", deleted);
    if (store_account_events_prune(cfg->retention_days, &deleted) != DB_OK)
        return false;
    if (deleted)
        log_info("retention deleted old account events\tcount=%ld days=%ld", deleted,
                 cfg->retention_days);
    if (store_user_phones_prune(cfg->retention_days, &deleted) != DB_OK)
        return false;
    if (deleted)
        log_info("retention deleted the phones of users not named since\tcount=%ld days=%ld",
                 deleted, cfg->retention_days);
    return true;
}

static void retention_pass(void *arg)
{
    run_pass(arg);
}

bool retention_start(const struct notification_config *cfg)
{
    thread = periodic_start("retention", retention_pass, (void *)cfg, 0,
                            cfg->retention_interval_seconds * 1000);
    return thread != NULL;
}

void retention_stop(void)
{
    periodic_stop(thread);
    thread = NULL;
}
