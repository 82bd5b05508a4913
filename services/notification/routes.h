/* routes.h - notification-service's route table. */
#ifndef NOTIFICATION_ROUTES_H
#define NOTIFICATION_ROUTES_H

#include <stddef.h>

#include "http.h"

extern const struct http_route notification_routes[];
extern const size_t notification_routes_count;

#endif
