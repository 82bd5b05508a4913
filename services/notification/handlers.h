/* handlers.h - notification-service's request handlers, one file per resource. */
#ifndef NOTIFICATION_HANDLERS_H
#define NOTIFICATION_HANDLERS_H

#include "http.h"

/* ops.c */
void handle_ready(struct http_request *req);

#endif
