/* pause.c - a mutex-guarded state and its reason. This process's own pauses and resumes
 * are told to tenant-service for its admin pages (tenants/account_changes.h); another
 * instance's, adopted, were told by that instance. */
#include "outbox/pause.h"

#include <pthread.h>
#include <stdio.h>

#include "log.h"
#include "monotonic.h"
#include "tenants/account_changes.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct pause_state state;
static unsigned long changes; /* this process's own changes, for the worker to store */

void pause_set(enum pause_source source, long code, const char *reason)
{
    pthread_mutex_lock(&lock);
    bool was = state.paused;
    if (!was) {
        changes++;
        state.paused = true;
        state.code = code;
        state.since_ms = wallclock_ms();
        state.source = source;
        snprintf(state.reason, sizeof state.reason, "%s", reason ? reason : "account error");
    }
    pthread_mutex_unlock(&lock);
    if (!was) {
        log_error("sending paused for the whole account: messages wait until a probe "
                  "succeeds\tsource=%s code=%ld reason=\"%s\"",
                  pause_source_name(source), code, reason ? reason : "account error");
        account_changes_paused(pause_source_name(source), code, reason ? reason : "account error");
    }
}

void pause_clear(void)
{
    pthread_mutex_lock(&lock);
    bool was = state.paused;
    state = (struct pause_state){0};
    if (was)
        changes++;
    pthread_mutex_unlock(&lock);
    if (was) {
        log_info("sending resumed: the account sends again");
        account_changes_resumed();
    }
}

unsigned long pause_changes(void)
{
    pthread_mutex_lock(&lock);
    unsigned long n = changes;
    pthread_mutex_unlock(&lock);
    return n;
}

bool pause_adopt(const struct pause_state *stored, unsigned long expected_changes)
{
    pthread_mutex_lock(&lock);
    bool fresh = changes == expected_changes;
    bool was = state.paused;
    if (fresh)
        state = *stored;
    pthread_mutex_unlock(&lock);
    if (fresh && !was && stored->paused)
        log_error("sending paused for the whole account by another instance: messages wait "
                  "until a probe succeeds	source=%s code=%ld reason=\"%s\"",
                  pause_source_name(stored->source), stored->code, stored->reason);
    if (fresh && was && !stored->paused)
        log_info("sending resumed by another instance: the account sends again");
    return fresh;
}

bool pause_get(char *reason, size_t len)
{
    pthread_mutex_lock(&lock);
    bool p = state.paused;
    if (reason && len)
        snprintf(reason, len, "%s", state.reason);
    pthread_mutex_unlock(&lock);
    return p;
}

bool pause_state(struct pause_state *out)
{
    pthread_mutex_lock(&lock);
    *out = state;
    pthread_mutex_unlock(&lock);
    return out->paused;
}

const char *pause_source_name(enum pause_source source)
{
    return source == PAUSE_BY_EVENT ? "event" : "send";
}
