/* ids.h - identifiers in Meta's formats: message ids (wamid.<base64>), fbtrace ids and
 * numeric object ids. All come from the seeded PRNG or counters, so a run is repeatable. */
#ifndef SIM_IDS_H
#define SIM_IDS_H

#include <stddef.h>

#define IDS_WAMID_MAX 96
#define IDS_FBTRACE_LEN 24 /* 23 characters and the NUL */
#define IDS_NUMERIC_LEN 20

/* Writes a wamid that is unique in this process (a counter passed through a bijection)
 * and, like Meta's, encodes the recipient's wa_id. */
void ids_wamid(const char *wa_id, char out[IDS_WAMID_MAX]);
/* Writes an fbtrace_id such as "Az8or2yhqkZfEZ-_4Qn_Bam". */
void ids_fbtrace(char out[IDS_FBTRACE_LEN]);
/* Writes a 16-digit numeric id (templates, inbound contacts). */
void ids_numeric(char out[IDS_NUMERIC_LEN]);
/* Starts a new generation after a reset: ids keep being unique across resets. */
void ids_new_generation(void);

/* URL-safe base64 without padding of len bytes into out (outlen >= 4*len/3+4). Returns
 * out. */
char *ids_base64url(const void *data, size_t len, char *out, size_t outlen);
/* Decodes what ids_base64url() wrote; returns the byte count, or -1 when s is not valid
 * or does not fit in outlen - 1 bytes. out is NUL-terminated. */
long ids_unbase64url(const char *s, char *out, size_t outlen);

#endif
