/* routes.c - every endpoint tenant-service serves, with the roles allowed to call it. */
#include "routes.h"

#include "handlers.h"

const struct http_route tenant_routes[] = {
    {"GET", "/health", http_handle_health, 0, HTTP_ROUTE_QUIET},
    {"GET", "/ready", handle_ready, 0, HTTP_ROUTE_QUIET},
    {"GET", "/metrics", http_handle_metrics, 0, HTTP_ROUTE_QUIET},
};
const size_t tenant_routes_count = sizeof(tenant_routes) / sizeof(tenant_routes[0]);
