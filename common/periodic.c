/* periodic.c - poll(2) on the shutdown fd and a stop eventfd as the sleep. */
#include "periodic.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "alloc.h"
#include "db.h"
#include "httpclient.h"
#include "log.h"
#include "shutdown.h"
#include "wakefd.h"

struct periodic {
    const char *what;
    void (*job)(void *arg);
    void *arg;
    long first_ms, interval_ms;
    pthread_t thread;
    atomic_bool stopping;
    int stop_fd;
};

/* Sleeps up to ms; false when it is time to stop. */
static bool nap(struct periodic *p, long ms)
{
    struct pollfd fds[2] = {
        {.fd = shutdown_fd(), .events = POLLIN},
        {.fd = p->stop_fd, .events = POLLIN},
    };
    int timeout = ms > 0x7fffffff ? 0x7fffffff : (int)ms;
    while (poll(fds, 2, timeout) < 0 && errno == EINTR)
        ;
    return !atomic_load(&p->stopping) && !shutdown_requested() &&
           !(fds[0].revents | fds[1].revents);
}

static void *run(void *arg)
{
    struct periodic *p = arg;
    db_thread_background();
    for (long wait = p->first_ms; nap(p, wait); wait = p->interval_ms)
        p->job(p->arg);
    db_thread_close();
    httpc_thread_cleanup();
    return NULL;
}

struct periodic *periodic_start(const char *what, void (*job)(void *arg), void *arg, long first_ms,
                                long interval_ms)
{
    struct periodic *p = xcalloc(1, sizeof(*p));
    *p = (struct periodic){.what = what,
                           .job = job,
                           .arg = arg,
                           .first_ms = first_ms,
                           .interval_ms = interval_ms,
                           .stop_fd = wakefd_new()};
    if (p->stop_fd < 0) {
        log_error("%s cannot start: no eventfd", what);
        free(p);
        return NULL;
    }
    if (pthread_create(&p->thread, NULL, run, p) != 0) {
        log_error("%s cannot start: no thread", what);
        close(p->stop_fd);
        free(p);
        return NULL;
    }
    return p;
}

void periodic_stop(struct periodic *p)
{
    if (!p)
        return;
    atomic_store(&p->stopping, true);
    wakefd_signal(p->stop_fd);
    pthread_join(p->thread, NULL);
    close(p->stop_fd);
    free(p);
}
