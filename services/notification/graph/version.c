/* version.c - the served Graph API version, under a mutex. */
#include "graph/version.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char served_now[GRAPH_VERSION_MAX];
static char warned_for[GRAPH_VERSION_MAX]; /* the last served version we warned about */
static bool differs;

void graph_version_seen(const char *requested, const char *served)
{
    if (!served || !*served || strlen(served) >= GRAPH_VERSION_MAX)
        return;
    pthread_mutex_lock(&lock);
    bool warn = false;
    if (strcmp(served_now, served) != 0) {
        snprintf(served_now, sizeof served_now, "%s", served);
        differs = strcmp(served, requested) != 0;
        warn = differs && strcmp(warned_for, served) != 0;
        if (warn)
            snprintf(warned_for, sizeof warned_for, "%s", served);
    }
    pthread_mutex_unlock(&lock);
    if (warn)
        log_warn("Graph serves another API version than WHATSAPP_API_VERSION asks for (an "
                 "expired version is served as the oldest live one): set a current version\t"
                 "requested=%s served=%s",
                 requested, served);
}

bool graph_version_served(char *out, size_t len)
{
    pthread_mutex_lock(&lock);
    snprintf(out, len, "%s", served_now);
    bool d = differs;
    pthread_mutex_unlock(&lock);
    return d;
}
