/* request.h - the WhatsApp Cloud API requests notification-service makes: where a send
 * goes, with which headers, and its body (DESIGN.md section 6). Pure. */
#ifndef NOTIFICATION_GRAPH_REQUEST_H
#define NOTIFICATION_GRAPH_REQUEST_H

#include <jansson.h>

#include "alloc.h"

/* The body of a template send, keys in the order of DESIGN.md section 6: to (E.164),
 * template_name in language, the body parameters (an array of strings; none when
 * empty), and callback_id as biz_opaque_callback_data. A new string, or NULL when a
 * value cannot be encoded (invalid UTF-8). */
char *graph_template_body(const char *to, const char *template_name, const char *language,
                          const json_t *parameters, const char *callback_id)
    __attribute__((warn_unused_result));

/* Appends to out the URL a send from phone_number_id goes to, under base_url (no
 * trailing '/') and version ("v25.0"). */
void graph_messages_url(struct buf *out, const char *base_url, const char *version,
                        const char *phone_number_id);

#endif
