/* wakeup.c - an eventfd for the local worker and a flag for the NOTIFY it owes. */
#include "wakeup.h"

#include <stdatomic.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "store.h"

static int event_fd = -1;
static atomic_bool attached;
static atomic_bool owed;

bool wakeup_init(void)
{
    if (event_fd >= 0)
        return true;
    event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (event_fd < 0)
        log_error("cannot create the outbox wake-up eventfd");
    return event_fd >= 0;
}

void wakeup_queued(void)
{
    if (!atomic_load(&attached) || event_fd < 0) {
        if (store_outbox_notify() != DB_OK)
            log_warn("could not wake the outbox workers; they will poll");
        return;
    }
    atomic_store(&owed, true);
    uint64_t one = 1;
    if (write(event_fd, &one, sizeof one) < 0) {
        /* only when the counter is full: the worker is awake anyway */
    }
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
    uint64_t n;
    if (event_fd >= 0 && read(event_fd, &n, sizeof n) < 0) {
        /* EAGAIN: nothing to read */
    }
}

bool wakeup_take_owed(void)
{
    return atomic_exchange(&owed, false);
}
