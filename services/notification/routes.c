/* routes.c - every endpoint notification-service serves, with the roles allowed. */
#include "routes.h"

#include "handlers.h"

const struct http_route notification_routes[] = {
    {"GET", "/health", http_handle_health, 0, HTTP_ROUTE_QUIET},
    {"GET", "/ready", handle_ready, 0, HTTP_ROUTE_QUIET},
    {"GET", "/metrics", http_handle_metrics, 0, HTTP_ROUTE_QUIET},
};
const size_t notification_routes_count =
    sizeof(notification_routes) / sizeof(notification_routes[0]);
