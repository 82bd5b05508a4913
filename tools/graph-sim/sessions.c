/* sessions.c - a fixed table of the most recent inbound (number, user) pairs; the oldest
 * entry makes room when it is full. Inbound traffic is test-driven and small. */
#include "sessions.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "sim.h"

#define SESSIONS_MAX 4096
#define SESSION_MS (24LL * 3600 * 1000)

struct session {
    char phone_id[SIM_ID_MAX];
    char wa_id[SIM_WA_ID_MAX];
    int64_t at_ms;
};

static pthread_mutex_t sessions_lock = PTHREAD_MUTEX_INITIALIZER;
static struct session table[SESSIONS_MAX];
static size_t count;

static struct session *find_locked(const char *phone_id, const char *wa_id)
{
    for (size_t i = 0; i < count; i++) {
        if (strcmp(table[i].phone_id, phone_id) == 0 && strcmp(table[i].wa_id, wa_id) == 0)
            return &table[i];
    }
    return NULL;
}

void sessions_note(const char *phone_id, const char *wa_id, int64_t wall_ms)
{
    pthread_mutex_lock(&sessions_lock);
    struct session *s = find_locked(phone_id, wa_id);
    if (!s) {
        if (count < SESSIONS_MAX) {
            s = &table[count++];
        } else {
            s = &table[0];
            for (size_t i = 1; i < count; i++) {
                if (table[i].at_ms < s->at_ms)
                    s = &table[i];
            }
        }
        snprintf(s->phone_id, sizeof s->phone_id, "%s", phone_id);
        snprintf(s->wa_id, sizeof s->wa_id, "%s", wa_id);
    }
    s->at_ms = wall_ms;
    pthread_mutex_unlock(&sessions_lock);
}

bool sessions_open(const char *phone_id, const char *wa_id, int64_t wall_ms)
{
    pthread_mutex_lock(&sessions_lock);
    const struct session *s = find_locked(phone_id, wa_id);
    bool open = s && wall_ms - s->at_ms < SESSION_MS;
    pthread_mutex_unlock(&sessions_lock);
    return open;
}

void sessions_reset(void)
{
    pthread_mutex_lock(&sessions_lock);
    count = 0;
    pthread_mutex_unlock(&sessions_lock);
}
