/* pause.h - the process-wide "sending is paused" state.
 *
 * An error that stops the whole account (graph/errors.h GRAPH_PAUSE: the token refused,
 * the account restricted, locked, unpaid or over its spam limit) pauses every send:
 * messages stay queued instead of burning their attempts. The sender sets it; /ready and
 * the config-status endpoint report it; a later successful send (a probe) clears it, and
 * so does an operator (POST /api/v1/admin/whatsapp/resume). */
#ifndef NOTIFICATION_PAUSE_H
#define NOTIFICATION_PAUSE_H

#include <stdbool.h>
#include <stddef.h>

/* Pauses sending with a reason (copied), e.g. "(#190) Error validating access token". */
void pause_set(const char *reason);
void pause_clear(void);
/* True while paused; copies the reason into reason (when not NULL). */
bool pause_get(char *reason, size_t len);

#endif
