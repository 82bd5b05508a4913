/* mint-token - prints a bearer token signed with JWT_SECRET, for development, tests and
 * operators (DESIGN.md section 4).
 *
 * usage: mint-token --role admin|user|service [--tenant ID] [--tenant-role TR]
 *                   [--sub NAME] [--ttl SECONDS] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "config.h"

static int usage(FILE *out, int status)
{
    fprintf(out, "usage: mint-token --role admin|user|service [--tenant ID] "
                 "[--tenant-role owner|admin|member|viewer] [--sub NAME] [--ttl SECONDS]\n"
                 "Signs with HS256 and the secret in JWT_SECRET.\n");
    return status;
}

int main(int argc, char **argv)
{
    struct auth_principal p;
    const char *role = NULL, *tenant = NULL, *tenant_role = NULL, *sub = NULL;
    long ttl = 3600;

    memset(&p, 0, sizeof p);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
            return usage(stdout, 0);
        if (strcmp(arg, "--version") == 0) {
            printf("mint-token %s\n", VERSION);
            return 0;
        }
        if (!val)
            return usage(stderr, 2);
        if (strcmp(arg, "--role") == 0)
            role = val;
        else if (strcmp(arg, "--tenant") == 0)
            tenant = val;
        else if (strcmp(arg, "--tenant-role") == 0)
            tenant_role = val;
        else if (strcmp(arg, "--sub") == 0)
            sub = val;
        else if (strcmp(arg, "--ttl") == 0) {
            if (!cfg_parse_long(val, -315360000L, 315360000L, &ttl)) {
                fprintf(stderr, "mint-token: --ttl must be a number of seconds\n");
                return 2;
            }
        } else
            return usage(stderr, 2);
        i++;
    }
    const char *secret = getenv("JWT_SECRET");
    if (!secret || !*secret) {
        fprintf(stderr, "mint-token: JWT_SECRET is not set\n");
        return 2;
    }
    if (!auth_role_parse(role, &p.role)) {
        fprintf(stderr, "mint-token: --role must be admin, user or service\n");
        return 2;
    }
    if (p.role == AUTH_ROLE_USER) {
        if (!uuid_is_valid(tenant, p.tenant_id)) {
            fprintf(stderr, "mint-token: a user token needs --tenant with a tenant UUID\n");
            return 2;
        }
        if (!auth_tenant_role_parse(tenant_role ? tenant_role : "owner", &p.tenant_role)) {
            fprintf(stderr, "mint-token: --tenant-role must be owner, admin, member or viewer\n");
            return 2;
        }
    }
    snprintf(p.sub, sizeof p.sub, "%s", sub ? sub : auth_role_name(p.role));
    char *token = auth_mint(secret, &p, ttl);
    if (!token) {
        fprintf(stderr, "mint-token: could not sign the token\n");
        return 1;
    }
    printf("%s\n", token);
    free(token);
    return 0;
}
