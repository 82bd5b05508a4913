/* routes.h - notification-service's route table. */
#ifndef NOTIFICATION_ROUTES_H
#define NOTIFICATION_ROUTES_H

#include <stddef.h>

#include "app.h"
#include "http.h"

/* The table; call notification_routes_configure() before serving it. */
extern struct http_route notification_routes[];
extern const size_t notification_routes_count;

/* Sets the limits that come from the configuration (the webhook's body limit). */
void notification_routes_configure(const struct notification_config *cfg);

#endif
