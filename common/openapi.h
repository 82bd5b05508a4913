/* openapi.h - the service's part of docs/openapi.yaml as JSON, defined by the file
 * tools/openapi-embed generates for each daemon ($(GEN)/<service>_openapi.c); only a
 * binary that links that file may use these. */
#ifndef COMMON_OPENAPI_H
#define COMMON_OPENAPI_H

#include <stddef.h>

extern const char openapi_json[];     /* NUL-terminated UTF-8 JSON */
extern const size_t openapi_json_len; /* without the NUL */

#endif
