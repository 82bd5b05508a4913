/* wakefd.h - a file descriptor one thread writes to wake another that polls it (a
 * non-blocking eventfd): the one wake-up primitive of the daemons' threads. */
#ifndef COMMON_WAKEFD_H
#define COMMON_WAKEFD_H

/* A new eventfd (non-blocking, close-on-exec), or -1 (errno set). The caller close()s it. */
int wakefd_new(void);
/* Wakes whoever polls fd. Never blocks; safe from any thread. */
void wakefd_signal(int fd);
/* Consumes the pending wake-ups of fd (none is fine). */
void wakefd_drain(int fd);

#endif
