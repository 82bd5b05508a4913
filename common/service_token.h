/* service_token.h - the bearer token a service presents to another: minted from the
 * shared JWT policy (role service), kept, and minted again a while before it expires.
 * Thread-safe. */
#ifndef COMMON_SERVICE_TOKEN_H
#define COMMON_SERVICE_TOKEN_H

#include <pthread.h>
#include <time.h>

#include "auth.h"

struct service_token {
    const struct auth_policy *auth; /* borrowed; must outlive the token */
    const char *sub;                /* who we are: "tenant-service" */
    pthread_mutex_t lock;
    char *token; /* owned, under lock */
    time_t expires;
};

/* Sets up st for sub under auth (both borrowed). */
void service_token_init(struct service_token *st, const struct auth_policy *auth, const char *sub);
/* A copy of a valid token (the caller frees it), or NULL (logged) when minting fails. */
char *service_token_get(struct service_token *st) __attribute__((warn_unused_result));
/* Frees the token. */
void service_token_free(struct service_token *st);

#endif
