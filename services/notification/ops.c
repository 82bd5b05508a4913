/* ops.c - operational endpoints: readiness. */
#include "app.h"
#include "db.h"
#include "handlers.h"

void handle_ready(struct http_request *req)
{
    if (!db_ping()) {
        http_reply_json(req, 503,
                        json_pack("{s:s, s:s, s:{s:s}}", "status", "unavailable", "failing",
                                  "database", "checks", "database", "unreachable"));
        return;
    }
    http_reply_json(req, 200, json_pack("{s:s, s:{s:s}}", "status", "ready", "checks", "database", "ok"));
}
