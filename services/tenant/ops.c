/* ops.c - operational endpoints: readiness and the API description. */
#include "app.h"
#include "db.h"
#include "handlers.h"
#include "openapi.h"

/* Ready means the database answers: without it nothing works. notification-service is
 * reported but does not decide: tenants and settings (which notification-service itself
 * reads from us) are served without it, and only the WABA-backed admin endpoints wait
 * for it. */
void handle_ready(struct http_request *req)
{
    const char *peer = notif_reachable() ? "ok" : "unreachable";
    if (!db_ping()) {
        http_reply_json(req, 503,
                        json_pack("{s:s, s:s, s:{s:s, s:s}}", "status", "unavailable", "failing",
                                  "database", "checks", "database", "unreachable",
                                  "notification_service", peer));
        return;
    }
    http_reply_json(req, 200,
                    json_pack("{s:s, s:{s:s, s:s}}", "status", "ready", "checks", "database", "ok",
                              "notification_service", peer));
}

/* The description was converted and compiled in at build time (tools/openapi-embed), so
 * serving it needs neither YAML nor a file. */
void handle_openapi(struct http_request *req)
{
    http_reply_bytes(req, 200, "application/json; charset=utf-8", openapi_json, openapi_json_len);
}
