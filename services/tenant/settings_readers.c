/* settings_readers.c - the reader's thread (register, listen, apply, acknowledge and
 * renew) and the writer's wait for the acknowledgements. */
#include "settings_readers.h"

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "log.h"
#include "metrics.h"
#include "monotonic.h"
#include "settings_cache.h"
#include "uuidutil.h"
#include "wakefd.h"

#define RETRY_MS 1000
/* Changes applied one by one in a round; more than that empties the cache instead. */
#define SYNC_MAX 256

static struct {
    pthread_t thread;
    bool started;
    int stop_fd;
    char reader_id[UUID_STR_LEN]; /* this process's, for its whole life */
    char label[128];
    char app_name[64]; /* of its LISTEN connection: with the pid, so that one can be told */
    struct metric *await_seconds, *evicted; /* the writers' */
} readers = {.stop_fd = -1};

/* The reader's own state, on its thread. */
struct reader_state {
    bool registered;    /* its row exists, as far as it knows */
    bool caught_up;     /* the cache holds nothing older than position */
    long long position; /* the change counter its cache has applied */
    bool trouble_logged;
};

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Takes this reader out of the table, so that no writer waits for it; when that fails
 * too, its lease runs out instead. */
static void reader_leave(void)
{
    if (store_reader_remove(readers.reader_id) != STORE_OK)
        log_debug("settings cache reader not unregistered; its lease will run out");
}

/* Stops answering and empties the cache: it can no longer tell what changed. */
static void reader_drop(struct reader_state *r, const char *why)
{
    settings_cache_stop_serving();
    settings_cache_forget_all();
    r->caught_up = false;
    r->registered = false;
    if (!r->trouble_logged)
        log_warn("settings cache off until it catches up again\treason=\"%s\"", why);
    r->trouble_logged = true;
}

/* One round: (register,) read what changed, apply it, acknowledge and renew. The lease is
 * measured from before the round, so the cache's end comes before the database's. */
static bool reader_round(struct reader_state *r)
{
    char ids[SYNC_MAX][UUID_STR_LEN];
    size_t n = 0;
    long long position = 0;
    int64_t started = monotonic_ms();

    if (!r->registered) {
        /* First the row: from here on every writer waits for this reader. */
        if (store_reader_register(readers.reader_id, readers.label, SETTINGS_READER_LEASE_MS) !=
            STORE_OK)
            return false;
        r->registered = true;
        r->caught_up = false;
    }
    if (store_reader_changes(r->caught_up ? &r->position : NULL, SYNC_MAX, &position, ids, &n) !=
        STORE_OK)
        return false;
    /* After the read, never before: documents read from here on are as new as position. */
    if (!r->caught_up || n == SYNC_MAX || position < r->position)
        settings_cache_forget_all();
    else if (n > 0)
        settings_cache_forget((const char(*)[UUID_STR_LEN])ids, n);
    enum store_status st =
        store_reader_renew(readers.reader_id, position, SETTINGS_READER_LEASE_MS);
    if (st == STORE_NOT_FOUND)
        log_warn("settings cache reader was unregistered by a writer; registering again");
    if (st != STORE_OK)
        return false;
    r->position = position;
    r->caught_up = true;
    settings_cache_serve_until(started + SETTINGS_READER_LEASE_MS - SETTINGS_READER_MARGIN_MS);
    if (r->trouble_logged)
        log_info("settings cache on again\tposition=%lld", position);
    r->trouble_logged = false;
    return true;
}

static void *reader_run(void *arg)
{
    (void)arg;
    db_thread_background();
    struct reader_state r = {0};
    PGconn *listen = NULL;
    int64_t listen_at = 0, round_at = 0;

    for (;;) {
        int64_t now = monotonic_ms();
        if (!listen && now >= listen_at) {
            listen = db_listen("tenant_settings_changes", readers.app_name);
            listen_at = now + RETRY_MS;
            round_at = now;
        }
        if (listen && now >= round_at) {
            bool ok = reader_round(&r);
            if (!ok)
                reader_drop(&r, "the database did not answer the reader's round");
            round_at = monotonic_ms() + (ok ? SETTINGS_READER_RENEW_MS : RETRY_MS);
        }
        int64_t wake = listen ? round_at : listen_at;
        int64_t timeout = wake - monotonic_ms();
        timeout = timeout < 0 ? 0 : timeout > RETRY_MS ? RETRY_MS : timeout;
        struct pollfd fds[2] = {
            {.fd = readers.stop_fd, .events = POLLIN},
            {.fd = listen ? PQsocket(listen) : -1, .events = POLLIN},
        };
        if (poll(fds, 2, (int)timeout) < 0)
            continue;
        if (fds[0].revents & POLLIN)
            break;
        if (listen && fds[1].revents) {
            int n = db_listen_drain(listen);
            if (n < 0) {
                PQfinish(listen);
                listen = NULL;
                listen_at = monotonic_ms() + RETRY_MS;
                reader_drop(&r, "lost its LISTEN connection");
                /* Out of the writers' way while it cannot hear them. */
                reader_leave();
            } else if (n > 0) {
                round_at = 0;
            }
        }
    }
    settings_cache_stop_serving();
    PQfinish(listen);
    reader_leave();
    db_thread_close();
    return NULL;
}

bool settings_readers_start(void)
{
    readers.await_seconds = metrics_histogram(
        "tenant_settings_change_await_seconds",
        "Time a settings change waited, after its commit, for every instance's cache to "
        "apply it.",
        "", metrics_latency_buckets, metrics_latency_nbuckets);
    readers.evicted = metrics_counter("tenant_settings_readers_evicted_total",
                                      "Cache readers a writer unregistered because they did not "
                                      "acknowledge a change in time.",
                                      "");
    if (!settings_cache_enabled())
        return true;
    uuid_new(readers.reader_id);
    char host[64] = "";
    if (gethostname(host, sizeof host - 1) != 0)
        host[0] = '\0';
    snprintf(readers.label, sizeof readers.label, "%s pid %ld", host, (long)getpid());
    snprintf(readers.app_name, sizeof readers.app_name, "bakery-whatsapp settings cache %ld",
             (long)getpid());
    readers.stop_fd = wakefd_new();
    if (readers.stop_fd < 0) {
        log_error("cannot start the settings cache reader");
        return false;
    }
    readers.started = pthread_create(&readers.thread, NULL, reader_run, NULL) == 0;
    if (!readers.started) {
        close(readers.stop_fd);
        readers.stop_fd = -1;
        log_error("cannot start the settings cache reader");
    }
    return readers.started;
}

void settings_readers_stop(void)
{
    if (!readers.started)
        return;
    wakefd_signal(readers.stop_fd);
    pthread_join(readers.thread, NULL);
    close(readers.stop_fd);
    readers.stop_fd = -1;
    readers.started = false;
}

enum store_status settings_readers_await(void)
{
    int64_t started = monotonic_ms();
    long long target = 0;
    bool have_target = false;
    long lagging = 0, lease_left_ms = 0;
    enum store_status st;

    for (;;) {
        st = store_readers_lagging(have_target ? &target : NULL, &target, &lagging);
        if (st == STORE_OK) {
            have_target = true;
            if (lagging == 0)
                goto out;
        }
        if (monotonic_ms() - started >= SETTINGS_READER_AWAIT_MS)
            break;
        /* Acknowledgements take a notification and two round trips: a millisecond or
         * so. Asked often at first (a cheap statement, and writes come at human speed),
         * then less. */
        int64_t waited = monotonic_ms() - started;
        sleep_ms(waited < 30 ? 1 : waited < 300 ? 5 : 20);
    }
    if (!have_target)
        goto out;
    /* Readers that renew their lease acknowledge at the same time, so one this late has
     * stopped renewing or is stuck: unregistered, it cannot renew, and once its lease has
     * run out it answers from the database. */
    st = store_readers_evict(target, &lease_left_ms);
    if (st != STORE_OK)
        goto out;
    metric_add(readers.evicted, (double)lagging);
    log_warn("settings readers unregistered: change not acknowledged in time\tposition=%lld "
             "readers=%ld lease_left_ms=%ld",
             target, lagging, lease_left_ms);
    sleep_ms(lease_left_ms + 10);
out:
    metric_observe(readers.await_seconds, (double)(monotonic_ms() - started) / 1000.0);
    return st;
}
