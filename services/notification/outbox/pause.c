/* pause.c - a mutex-guarded flag and its reason. */
#include "outbox/pause.h"

#include <pthread.h>
#include <stdio.h>

#include "log.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static bool paused;
static char paused_reason[256];

void pause_set(const char *reason)
{
    pthread_mutex_lock(&lock);
    bool was = paused;
    paused = true;
    snprintf(paused_reason, sizeof paused_reason, "%s", reason ? reason : "account error");
    pthread_mutex_unlock(&lock);
    if (!was)
        log_error("sending paused for the whole account: Graph refuses the token or the "
                  "account\treason=\"%s\"",
                  reason);
}

void pause_clear(void)
{
    pthread_mutex_lock(&lock);
    bool was = paused;
    paused = false;
    paused_reason[0] = '\0';
    pthread_mutex_unlock(&lock);
    if (was)
        log_info("sending resumed: the account sends again");
}

bool pause_get(char *reason, size_t len)
{
    pthread_mutex_lock(&lock);
    bool p = paused;
    if (reason && len)
        snprintf(reason, len, "%s", paused_reason);
    pthread_mutex_unlock(&lock);
    return p;
}
