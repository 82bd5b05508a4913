/* uuidutil.c - thin, strict wrappers over libuuid; new UUIDs from OpenSSL's generator.
 *
 * libuuid's uuid_generate_random() reseeds libc's random() on every call: getrandom,
 * getpid twice, getuid, getppid and gettid (six system calls per UUID) and srandom()
 * under libc's one process-wide lock, which every thread making a message id then waits
 * on. OpenSSL's RAND_bytes() draws from a per-thread generator that the kernel seeded
 * once, so a UUID costs no system call. */
#include "uuidutil.h"

#include <openssl/rand.h>
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
    if (RAND_bytes(u, sizeof u) == 1) {
        u[6] = (unsigned char)((u[6] & 0x0f) | 0x40); /* version 4 (RFC 9562 5.4) */
        u[8] = (unsigned char)((u[8] & 0x3f) | 0x80); /* variant 10 */
    } else {
        uuid_generate_random(u); /* OpenSSL could not seed: libuuid's slower way */
    }
    uuid_unparse_lower(u, out);
}
