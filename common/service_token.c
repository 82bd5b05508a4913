/* service_token.c - a minted service token, renewed before it expires. */
#include "service_token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "log.h"

#define TOKEN_TTL_SECONDS 3600L
#define TOKEN_RENEW_SECONDS 600L /* mint a new token this long before the old one expires */

void service_token_init(struct service_token *st, const struct auth_policy *auth, const char *sub)
{
    memset(st, 0, sizeof(*st));
    st->auth = auth;
    st->sub = sub;
    pthread_mutex_init(&st->lock, NULL);
}

char *service_token_get(struct service_token *st)
{
    pthread_mutex_lock(&st->lock);
    time_t now = time(NULL);
    long ttl = auth_ttl_within(st->auth, TOKEN_TTL_SECONDS);
    /* A maximum lifetime shorter than the renewal margin renews at half-life instead. */
    long renew = ttl > 2 * TOKEN_RENEW_SECONDS ? TOKEN_RENEW_SECONDS : ttl / 2;
    if (!st->token || now >= st->expires - renew) {
        struct auth_principal p;
        memset(&p, 0, sizeof p);
        p.role = AUTH_ROLE_SERVICE;
        snprintf(p.sub, sizeof p.sub, "%s", st->sub);
        char *fresh = auth_mint(st->auth, &p, ttl);
        if (fresh) {
            free(st->token);
            st->token = fresh;
            st->expires = now + ttl;
        } else {
            log_error("cannot mint the service token\tsub=%s", st->sub);
        }
    }
    char *copy = st->token ? xstrdup(st->token) : NULL;
    pthread_mutex_unlock(&st->lock);
    return copy;
}

void service_token_free(struct service_token *st)
{
    free(st->token);
    st->token = NULL;
    pthread_mutex_destroy(&st->lock);
}
