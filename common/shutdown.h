/* shutdown.h - SIGTERM/SIGINT handling for daemons.
 *
 * shutdown_init() blocks the signals in the calling thread, so call it first in main,
 * before any thread starts (threads inherit the mask). shutdown_wait() then parks main
 * until a signal arrives; background loops watch shutdown_requested() or poll
 * shutdown_fd(), which becomes readable at that moment. */
#ifndef COMMON_SHUTDOWN_H
#define COMMON_SHUTDOWN_H

#include <stdbool.h>

void shutdown_init(void);
/* Blocks until SIGTERM or SIGINT; returns the signal number. */
int shutdown_wait(void);
/* Requests shutdown from inside the process (tests, fatal errors). */
void shutdown_request(void);
bool shutdown_requested(void);
int shutdown_fd(void);

#endif
