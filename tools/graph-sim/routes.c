/* routes.c - every endpoint graph-sim serves. Order matters: the first match wins, so
 * /_sim/ comes before the Graph API's /{version}/{node}, and catch-alls come last. All
 * routes are public (roles 0): the Graph API checks Meta's bearer token itself. Graph
 * routes take any Content-Type, as Meta does. */
#include "routes.h"

#include "control.h"
#include "graph.h"

#define RAW HTTP_ROUTE_RAW_BODY

const struct http_route sim_routes[] = {
    {"GET", "/health", http_handle_health, 0, HTTP_ROUTE_QUIET},
    {"GET", "/ready", sim_handle_ready, 0, HTTP_ROUTE_QUIET},
    {"GET", "/metrics", http_handle_metrics, 0, HTTP_ROUTE_QUIET},

    {"GET", "/_sim/stats", control_handle_stats, 0, 0},
    {"POST", "/_sim/reset", control_handle_reset, 0, RAW},
    {"GET", "/_sim/faults", control_handle_faults_get, 0, 0},
    {"POST", "/_sim/faults", control_handle_faults_post, 0, 0},
    {"DELETE", "/_sim/faults", control_handle_faults_delete, 0, 0},
    {"GET", "/_sim/settings", control_handle_settings_get, 0, 0},
    {"POST", "/_sim/settings", control_handle_settings_post, 0, 0},
    {"GET", "/_sim/phone_numbers", control_handle_phones_get, 0, 0},
    {"POST", "/_sim/phone_numbers", control_handle_phones_post, 0, 0},
    {"GET", "/_sim/templates", control_handle_templates_get, 0, 0},
    {"POST", "/_sim/templates", control_handle_templates_post, 0, 0},
    {"POST", "/_sim/phone_numbers/update", control_handle_phone_update, 0, 0},
    {"POST", "/_sim/templates/update", control_handle_template_update, 0, 0},
    {"POST", "/_sim/account-events", control_handle_account_events, 0, 0},
    {"GET", "/_sim/users", control_handle_users_get, 0, 0},
    {"POST", "/_sim/users", control_handle_users_post, 0, 0},
    {"POST", "/_sim/inbound", control_handle_inbound, 0, 0},
    {"GET", "/_sim/messages", control_handle_messages, 0, 0},
    {"GET", "/_sim/clock", control_handle_clock_get, 0, 0},
    {"POST", "/_sim/clock", control_handle_clock_post, 0, 0},
    {"GET", "/_sim/messages/counts", control_handle_counts, 0, 0},

    {"GET", "/{version}/{node}/phone_numbers", graph_handle_phone_numbers, 0, 0},
    {"POST", "/{version}/{node}/messages", graph_handle_send, 0, RAW},
    {"GET", "/{version}/{node}/message_templates", graph_handle_templates_get, 0, 0},
    {"POST", "/{version}/{node}/message_templates", graph_handle_templates_post, 0, RAW},
    {"GET", "/{version}/{node}", graph_handle_node, 0, 0},

    {"GET", "/*", graph_handle_unknown, 0, 0},
    {"POST", "/*", graph_handle_unknown, 0, RAW},
    {"PUT", "/*", graph_handle_unknown, 0, RAW},
    {"PATCH", "/*", graph_handle_unknown, 0, RAW},
    {"DELETE", "/*", graph_handle_unknown, 0, 0},
};
const size_t sim_routes_count = sizeof(sim_routes) / sizeof(sim_routes[0]);
