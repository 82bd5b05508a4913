/* wakefd.c - eventfd wake-ups. */
#include "wakefd.h"

#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

int wakefd_new(void)
{
    return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

void wakefd_signal(int fd)
{
    uint64_t one = 1;
    if (write(fd, &one, sizeof one) < 0) {
        /* only when the counter is full: the reader is awake anyway */
    }
}

void wakefd_drain(int fd)
{
    uint64_t n;
    if (read(fd, &n, sizeof n) < 0) {
        /* EAGAIN: nothing pending */
    }
}
