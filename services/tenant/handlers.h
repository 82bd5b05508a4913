/* handlers.h - tenant-service's request handlers, one file per resource. */
#ifndef TENANT_HANDLERS_H
#define TENANT_HANDLERS_H

#include "http.h"

/* ops.c */
void handle_ready(struct http_request *req);

#endif
