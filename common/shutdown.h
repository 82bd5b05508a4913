/* shutdown.h - SIGTERM/SIGINT handling for daemons.
 *
 * shutdown_init() blocks the signals in the calling thread, so call it first in main,
 * before any thread starts (threads inherit the mask). shutdown_wait() then parks main
 * until a signal arrives; background loops watch shutdown_requested() or poll
 * shutdown_fd(), which becomes readable at that moment. */
#ifndef COMMON_SHUTDOWN_H
#define COMMON_SHUTDOWN_H

#include <stdbool.h>
#include <stdint.h>

/* A daemon exits within this long of the signal (DESIGN.md: 10 s). */
#define SHUTDOWN_BUDGET_MS 10000

void shutdown_init(void);
/* Blocks until SIGTERM or SIGINT; returns the signal number. */
int shutdown_wait(void);
/* Requests shutdown from inside the process (tests, fatal errors). */
void shutdown_request(void);
bool shutdown_requested(void);
int shutdown_fd(void);
/* When a step of the shutdown must give up so that the steps after it, which need up to
 * reserve_ms, still fit SHUTDOWN_BUDGET_MS: the signal's time (monotonic_ms()) + the
 * budget - reserve_ms. INT64_MAX while no shutdown was requested. */
int64_t shutdown_deadline_ms(int64_t reserve_ms);

#endif
