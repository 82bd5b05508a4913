/* uuidutil.c - thin, strict wrappers over libuuid. */
#include "uuidutil.h"

#include <string.h>
#include <uuid/uuid.h>

bool uuid_is_valid(const char *s, char out[UUID_STR_LEN])
{
    uuid_t u;
    if (!s || strlen(s) != 36 || uuid_parse(s, u) != 0)
        return false;
    if (out)
        uuid_unparse_lower(u, out);
    return true;
}

void uuid_new(char out[UUID_STR_LEN])
{
    uuid_t u;
    uuid_generate_random(u);
    uuid_unparse_lower(u, out);
}
