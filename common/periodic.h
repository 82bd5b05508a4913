/* periodic.h - a thread that runs a job, then again every interval, until it is stopped
 * or the process shuts down (shutdown.h); a stop or a shutdown wakes it at once. For
 * background work of a service: retention, reading Graph's template statuses. */
#ifndef COMMON_PERIODIC_H
#define COMMON_PERIODIC_H

struct periodic;

/* Runs job(arg) after first_ms, then every interval_ms (the time between the end of one
 * run and the start of the next). Returns NULL (logged, naming what) when the thread
 * cannot start. */
struct periodic *periodic_start(const char *what, void (*job)(void *arg), void *arg, long first_ms,
                                long interval_ms) __attribute__((warn_unused_result));

/* Stops it: a run under way finishes first. NULL does nothing. Frees p. */
void periodic_stop(struct periodic *p);

#endif
