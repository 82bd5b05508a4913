/* mint-token - prints a bearer token signed with JWT_SECRET, for development, tests and
 * operators (DESIGN.md section 4). It follows the services' policy from the same
 * environment: iss from JWT_ISSUER and aud from JWT_AUDIENCE when set, and no --ttl above
 * JWT_MAX_TTL_SECONDS (default 90 days), which the services would refuse.
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
    fprintf(out,
            "usage: mint-token --role admin|user|service [--tenant ID] "
            "[--tenant-role owner|admin|member|viewer] [--sub NAME] [--ttl SECONDS]\n"
            "Signs with HS256 and the secret in JWT_SECRET; sets iss and aud from\n"
            "JWT_ISSUER and JWT_AUDIENCE when set; --ttl (default 3600, negative for an\n"
            "already expired token) may not exceed JWT_MAX_TTL_SECONDS (default %ld).\n",
            AUTH_DEFAULT_MAX_TTL_SECONDS);
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
    struct auth_policy policy = {
        .secret = getenv("JWT_SECRET"),
        .issuer = getenv("JWT_ISSUER"),
        .audience = getenv("JWT_AUDIENCE"),
        .max_ttl = AUTH_DEFAULT_MAX_TTL_SECONDS,
    };
    if (!policy.secret || !*policy.secret) {
        fprintf(stderr, "mint-token: JWT_SECRET is not set\n");
        return 2;
    }
    const char *max = getenv("JWT_MAX_TTL_SECONDS");
    if (max && *max && !cfg_parse_long(max, 60, 315360000L, &policy.max_ttl)) {
        fprintf(stderr, "mint-token: JWT_MAX_TTL_SECONDS must be an integer between 60 and "
                        "315360000\n");
        return 2;
    }
    if (ttl > policy.max_ttl) {
        fprintf(stderr,
                "mint-token: --ttl %ld is longer than JWT_MAX_TTL_SECONDS (%ld s); the services "
                "would refuse the token\n",
                ttl, policy.max_ttl);
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
    char *token = auth_mint(&policy, &p, ttl);
    if (!token) {
        fprintf(stderr, "mint-token: could not sign the token\n");
        return 1;
    }
    printf("%s\n", token);
    free(token);
    return 0;
}
