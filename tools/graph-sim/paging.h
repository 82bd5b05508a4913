/* paging.h - Graph API cursor paging: limit, after, before, and paging.next/previous
 * URLs, over a list already in display order. Cursors are URL-safe base64 of item ids. */
#ifndef SIM_PAGING_H
#define SIM_PAGING_H

#include <jansson.h>

#include "http.h"

#define PAGING_DEFAULT_LIMIT 25
#define PAGING_MAX_LIMIT 1000

/* Cuts the page the request asks for out of items (a JSON array of objects that each
 * have a string "id"; stolen) and returns {"data":[...],"paging":{...}}, or NULL after
 * answering Meta's error 100 for a bad limit or cursor. keep lists the query arguments
 * (NULL-terminated) repeated in the next/previous URLs. */
json_t *paging_page(struct http_request *req, json_t *items, const char *const *keep);

#endif
