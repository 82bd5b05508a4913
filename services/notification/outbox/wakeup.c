/* wakeup.c - an eventfd for the local worker, a flag for the NOTIFY it owes, and the
 * notifier thread that pays it in an instance without a worker. */
#include "outbox/wakeup.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <unistd.h>

#include "db.h"
#include "log.h"
#include "monotonic.h"
#include "wakefd.h"
#include "outbox/outbox.h"

static int event_fd = -1;
static atomic_bool attached;
static atomic_bool owed;

static pthread_t notifier;
static bool notifier_started;
static atomic_bool notifier_stopping;

static void notify_now(void)
{
    if (outbox_notify() != DB_OK)
        log_warn("could not wake the outbox workers; they will poll");
}

bool wakeup_init(void)
{
    if (event_fd >= 0)
        return true;
    event_fd = wakefd_new();
    if (event_fd < 0)
        log_error("cannot create the outbox wake-up eventfd");
    return event_fd >= 0;
}

void wakeup_queued(void)
{
    if (!atomic_load(&attached) || event_fd < 0) {
        notify_now();
        return;
    }
    atomic_store(&owed, true);
    wakefd_signal(event_fd);
}

void wakeup_attach(bool on)
{
    atomic_store(&attached, on);
}

int wakeup_fd(void)
{
    return event_fd;
}

void wakeup_drain(void)
{
    if (event_fd >= 0)
        wakefd_drain(event_fd);
}

bool wakeup_take_owed(void)
{
    return atomic_exchange(&owed, false);
}

/* ---------- the notifier of an instance without a worker ---------- */

/* Sleeps until a message is queued, or, when a NOTIFY is owed already, until it may go:
 * what is queued meanwhile does not change when that is. */
static void notifier_wait(int64_t next_ms)
{
    if (atomic_load(&owed)) {
        int64_t left = next_ms - monotonic_ms();
        if (left > 0)
            poll(NULL, 0, (int)left);
        return;
    }
    struct pollfd pfd = {.fd = event_fd, .events = POLLIN};
    while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
        ;
    wakeup_drain();
}

static void *notifier_main(void *arg)
{
    (void)arg;
    db_thread_background();
    int64_t next_ms = 0;
    while (!atomic_load(&notifier_stopping)) {
        notifier_wait(next_ms);
        int64_t now = monotonic_ms();
        if (now >= next_ms && wakeup_take_owed()) {
            notify_now();
            next_ms = now + WAKEUP_NOTIFY_GAP_MS;
        }
    }
    /* Intake has stopped: what it queued last is announced now. */
    wakeup_attach(false);
    if (wakeup_take_owed())
        notify_now();
    db_thread_close();
    return NULL;
}

bool wakeup_notifier_start(void)
{
    if (event_fd < 0)
        return false;
    atomic_store(&notifier_stopping, false);
    wakeup_attach(true);
    if (pthread_create(&notifier, NULL, notifier_main, NULL) != 0) {
        wakeup_attach(false);
        log_error("cannot start the outbox notifier thread");
        return false;
    }
    notifier_started = true;
    return true;
}

void wakeup_notifier_stop(void)
{
    if (!notifier_started)
        return;
    atomic_store(&notifier_stopping, true);
    wakefd_signal(event_fd);
    pthread_join(notifier, NULL);
    notifier_started = false;
}
