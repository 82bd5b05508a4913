/* versions.h - Meta's Graph API version table: which versions exist on the simulator's
 * date, which have expired, and the version that serves a request (an expired one is
 * served as the oldest live version, as Meta does). */
#ifndef SIM_VERSIONS_H
#define SIM_VERSIONS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define VERSIONS_NAME_MAX 16 /* "v26.0" and the NUL, with room */

/* Resolves the version segment asked at wall_ms. Returns true and the serving version
 * in served when asked names a released version (live, or expired and so served as the
 * oldest live one); false when it names no version (unknown, not yet released, or not
 * "vNN.0"), with served set to the oldest live version (what Meta uses for calls
 * without a version). */
bool versions_resolve(const char *asked, int64_t wall_ms, char served[VERSIONS_NAME_MAX]);
/* The table as JSON with each version's state at wall_ms; a new reference. */
json_t *versions_json(int64_t wall_ms);

#endif
