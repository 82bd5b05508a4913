/* shutdown.c - signals turned into a flag and a readable pipe. */
#include "shutdown.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

#include "monotonic.h"

static sigset_t shutdown_set;
static atomic_bool requested;
static _Atomic int64_t requested_at_ms;
static int pipe_fds[2] = {-1, -1};

void shutdown_init(void)
{
    sigemptyset(&shutdown_set);
    sigaddset(&shutdown_set, SIGTERM);
    sigaddset(&shutdown_set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &shutdown_set, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (pipe(pipe_fds) == 0) {
        fcntl(pipe_fds[0], F_SETFD, FD_CLOEXEC);
        fcntl(pipe_fds[1], F_SETFD, FD_CLOEXEC);
    }
}

static void mark(void)
{
    if (atomic_exchange(&requested, true))
        return;
    atomic_store(&requested_at_ms, monotonic_ms());
    if (pipe_fds[1] >= 0) {
        ssize_t w = write(pipe_fds[1], "x", 1);
        (void)w;
    }
}

void shutdown_request(void)
{
    /* Goes through the signal so that shutdown_wait() in main wakes up too. */
    kill(getpid(), SIGTERM);
}

int shutdown_wait(void)
{
    int sig = 0;
    while (sigwait(&shutdown_set, &sig) != 0)
        ;
    mark();
    return sig;
}

bool shutdown_requested(void)
{
    return atomic_load(&requested);
}

int shutdown_fd(void)
{
    return pipe_fds[0];
}

int64_t shutdown_deadline_ms(int64_t reserve_ms)
{
    int64_t at = atomic_load(&requested_at_ms);
    return at ? at + SHUTDOWN_BUDGET_MS - reserve_ms : INT64_MAX;
}
