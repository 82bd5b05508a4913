/* retention.c - one thread that deletes old messages batch by batch until none is left,
 * prunes pending statuses older than a day, then sleeps; it wakes on shutdown. Several
 * instances may run it at once: batches skip rows another instance has locked. */
#include "retention.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>

#include "db.h"
#include "log.h"
#include "metrics.h"
#include "shutdown.h"
#include "wakefd.h"
#include "api/store.h"

#define PENDING_MAX_AGE_SECONDS 86400

static pthread_t thread;
static bool started;
static atomic_bool stopping;
static int stop_fd = -1; /* wakefd: stop */

/* Sleeps up to ms; returns false when the process is shutting down. */
static bool nap(long ms)
{
    struct pollfd fds[2] = {
        {.fd = shutdown_fd(), .events = POLLIN},
        {.fd = stop_fd, .events = POLLIN},
    };
    int timeout = ms > 0x7fffffff ? 0x7fffffff : (int)ms;
    while (poll(fds, 2, timeout) < 0 && errno == EINTR)
        ;
    return !atomic_load(&stopping) && !shutdown_requested() && !(fds[0].revents | fds[1].revents);
}

/* One pass: batches until a short one, then the pending statuses. Returns false when
 * the database failed (the next pass retries). */
static bool run_pass(const struct notification_config *cfg)
{
    struct metric *deleted_total =
        metrics_counter("whatsapp_retention_deleted_total",
                        "Messages deleted for being older than the retention.", "");
    long total = 0, deleted = 0;

    do {
        if (atomic_load(&stopping) || shutdown_requested())
            return true;
        if (store_retention_delete(cfg->retention_days, cfg->retention_batch, &deleted) != DB_OK) {
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
    return true;
}

static void *retention_main(void *arg)
{
    const struct notification_config *cfg = arg;
    do {
        run_pass(cfg);
    } while (nap(cfg->retention_interval_seconds * 1000));
    db_thread_close();
    return NULL;
}

bool retention_start(const struct notification_config *cfg)
{
    stop_fd = wakefd_new();
    if (stop_fd < 0) {
        log_error("retention cannot start: no eventfd");
        return false;
    }
    atomic_store(&stopping, false);
    if (pthread_create(&thread, NULL, retention_main, (void *)cfg) != 0) {
        log_error("retention cannot start: no thread");
        close(stop_fd);
        stop_fd = -1;
        return false;
    }
    started = true;
    return true;
}

void retention_stop(void)
{
    if (!started)
        return;
    atomic_store(&stopping, true);
    wakefd_signal(stop_fd);
    pthread_join(thread, NULL);
    close(stop_fd);
    stop_fd = -1;
    started = false;
}
