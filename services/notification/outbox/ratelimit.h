/* ratelimit.h - the two send limits Meta enforces, as pure data structures: every call
 * takes the time (microseconds of a monotonic clock), nothing reads a clock, so they are
 * tested without sleeping. Not thread-safe: each instance has one owner.
 *
 * rl_rate: one sender number's throughput. Meta (and graph-sim) refuse a send with 130429
 * when `limit` sends already fall in the last second, a sliding window; a token bucket
 * big enough to absorb bursts would break that window, so this keeps the same window and
 * in addition caps bursts: at most `burst` sends back to back, then one per 1/limit s (a
 * GCRA). Graph counts a send when it handles it, somewhere between our start and its
 * answer, so a send holds its place in the window from its start (rl_rate_take) and is
 * dated by its answer (rl_rate_settle): the window we keep never ends before Graph's,
 * whatever the queueing on the way. A margin can widen it further. A 130429 that still
 * happens blocks the number for a while (rl_rate_block).
 *
 * rl_pairs: one send per interval from a sender to a recipient (131056). A send reserves
 * its pair when it starts, is dated again by its answer when accepted and forgotten when
 * refused (Graph does not count refused sends). Pairs are remembered only for the
 * interval, so memory follows the live pairs. */
#ifndef NOTIFICATION_RATELIMIT_H
#define NOTIFICATION_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

struct rl_rate {
    int64_t *times; /* ring of the last `limit` send times, RL_PENDING in flight; owned */
    size_t limit, head, count;
    int64_t window_us;    /* one second plus the margin */
    int64_t interval_us;  /* 1 s / limit, rounded up */
    int64_t tolerance_us; /* (burst - 1) intervals */
    int64_t tat_us;       /* GCRA theoretical arrival time */
    int64_t blocked_until_us;
};

/* Sets r up for per_second sends per second (>= 1), bursts of at most burst (>= 1, at
 * most per_second) and a window of 1 s + margin_us. rl_rate_free() releases it. */
void rl_rate_init(struct rl_rate *r, long per_second, long burst, int64_t margin_us);
void rl_rate_free(struct rl_rate *r);
/* The time of a send still in flight: it leaves the window only once settled. */
#define RL_PENDING (INT64_MAX / 4)
/* The time to settle a send Graph refused: it does not count. */
#define RL_REFUSED (INT64_MIN / 4)

/* Microseconds until a send may go (0: now). While the oldest send of a full window is
 * in flight this is the whole window: its answer comes sooner, and the caller looks
 * again then. */
int64_t rl_rate_wait(const struct rl_rate *r, int64_t now_us);
/* Records a send starting at now_us (call it only when rl_rate_wait() said 0); returns
 * its ticket for rl_rate_settle(). */
size_t rl_rate_take(struct rl_rate *r, int64_t now_us);
/* Dates the send of ticket: when its answer came (now), or RL_REFUSED. */
void rl_rate_settle(struct rl_rate *r, size_t ticket, int64_t when_us);
/* Lets nothing through before until_us (after a 130429). */
void rl_rate_block(struct rl_rate *r, int64_t until_us);
/* The steady spacing of sends, for estimating how long a queue of n takes. */
int64_t rl_rate_interval(const struct rl_rate *r);

struct rl_pairs;

/* A pair limiter of one send per interval_us per (sender, recipient); interval 0 turns
 * it off. Free with rl_pairs_free() (NULL is fine). */
struct rl_pairs *rl_pairs_new(int64_t interval_us);
void rl_pairs_free(struct rl_pairs *p);
/* Microseconds until sender may send to recipient again (0: now). Forgets expired pairs
 * on the way, so call it with a non-decreasing now. */
int64_t rl_pairs_wait(struct rl_pairs *p, const char *sender, const char *recipient,
                      int64_t now_us);
/* Records a send from sender to recipient at now_us (again, when it was accepted). */
void rl_pairs_record(struct rl_pairs *p, const char *sender, const char *recipient, int64_t now_us);
/* Forgets the pair (its send was refused). */
void rl_pairs_forget(struct rl_pairs *p, const char *sender, const char *recipient);
/* The pairs remembered right now. */
size_t rl_pairs_count(const struct rl_pairs *p);

#endif
