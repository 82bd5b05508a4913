/* version.h - the Graph API version that actually serves our calls. Meta does not refuse
 * a call to an expired version: it serves it as the oldest version still live and says
 * so only in the facebook-api-version answer header. Every answer's header is noted
 * here; a served version other than the one asked for is logged once (per version) as a
 * warning and shown by GET /api/v1/whatsapp/config-status. Thread-safe. */
#ifndef NOTIFICATION_GRAPH_VERSION_H
#define NOTIFICATION_GRAPH_VERSION_H

#include <stdbool.h>
#include <stddef.h>

#define GRAPH_VERSION_MAX 16

/* Notes that a call asked for requested was served as served (the header's value; NULL
 * or "" when the answer had none, which changes nothing). */
void graph_version_seen(const char *requested, const char *served);
/* Writes the version that served the last answer with the header into out ("" when
 * none yet); returns whether it differs from the one asked for. */
bool graph_version_served(char *out, size_t len);

#endif
