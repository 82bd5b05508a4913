/* graph_common.c - what every Graph API request goes through first, and Meta's answers
 * for objects, fields and paths that do not exist. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "faults.h"
#include "graph.h"
#include "graph_error.h"
#include "settings.h"
#include "sim.h"
#include "versions.h"

/* The token of "Authorization: Bearer X" or of ?access_token=X; NULL when neither. */
static const char *request_token(struct http_request *req)
{
    const char *h = http_header(req, "Authorization");
    if (h && strncasecmp(h, "Bearer ", 7) == 0) {
        h += 7;
        while (*h == ' ')
            h++;
        return h;
    }
    if (h && *h)
        return ""; /* some other scheme: not a token we can parse */
    return http_query(req, "access_token");
}

static void reply_expired(struct http_request *req, long code)
{
    char message[256];
    char when[64];
    time_t now = time(NULL);
    struct tm tm;
    if (code == 0) {
        gerr_reply_ex(req, 401, 0, 0, NULL, "(#0) AuthException",
                      "We were unable to authenticate the app user.");
        return;
    }
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%A, %d-%b-%Y %H:%M:%S UTC", &tm);
    snprintf(message, sizeof message,
             "Error validating access token: Session has expired on %s. The current time is "
             "%s.",
             when, when);
    gerr_reply_ex(req, 401, 190, 463, NULL, message, "Access token has expired");
}

bool graph_begin(struct http_request *req)
{
    struct fault_http f;
    long expired_code = 190;
    char served[VERSIONS_NAME_MAX];

    if (!versions_resolve(http_param(req, "version"), sim_wall_ms(), served)) {
        graph_handle_unknown(req); /* Meta's unknown path, or our 404 under /_sim/ */
        return true;
    }
    http_add_header(req, "facebook-api-version", served);
    faults_for_request(&f);
    if (f.latency_ms > 0)
        sim_sleep_ms(f.latency_ms);
    if (f.drop) {
        http_reply_drop(req); /* a dropped connection, as the client sees it */
        return true;
    }
    if (f.status) {
        if (f.status == 503)
            gerr_reply_ex(req, 503, 2, 0, NULL, "(#2) Service temporarily unavailable",
                          "Temporary due to downtime or due to being overloaded.");
        else
            gerr_reply_ex(req, f.status, 1, 0, NULL, "An unknown error occurred",
                          "Invalid request or possible server error.");
        return true;
    }
    const char *token = request_token(req);
    if (!token || !*token) {
        gerr_reply_ex(req, 401, 190, 0, NULL,
                      token ? "Invalid OAuth access token - Cannot parse access token"
                            : "An access token is required to request this resource.",
                      "Invalid or missing access token");
        return true;
    }
    if (!settings_token_ok(token)) {
        gerr_reply_ex(req, 401, 190, 0, NULL,
                      "Invalid OAuth access token - Cannot parse access token",
                      "Invalid OAuth access token");
        return true;
    }
    if (faults_token_expired(&expired_code)) {
        reply_expired(req, expired_code);
        return true;
    }
    return false;
}

void graph_unknown_object(struct http_request *req, const char *id)
{
    char message[512];
    const char *m = http_method(req);
    snprintf(message, sizeof message,
             "Unsupported %s request. Object with ID '%.64s' does not exist, cannot be loaded "
             "due to missing permissions, or does not support this operation. Please read the "
             "Graph API documentation at https://developers.facebook.com/docs/graph-api",
             strcmp(m, "POST") == 0     ? "post"
             : strcmp(m, "DELETE") == 0 ? "delete"
                                        : "get",
             id);
    gerr_reply_ex(req, 400, 100, 33, "GraphMethodException", message,
                  "The object does not exist or does not support this operation.");
}

void graph_unknown_field(struct http_request *req, const char *field, const char *node_type)
{
    char message[256];
    snprintf(message, sizeof message,
             "(#100) Tried accessing nonexisting field (%.64s) on node type (%s)", field,
             node_type);
    gerr_reply_ex(req, 400, 100, 0, NULL, message, "Tried accessing a nonexisting field");
}

/* Meta's answer for a path it cannot route, also for a version it does not know (the
 * header then names the oldest live version: what Meta serves calls without one). */
void graph_handle_unknown(struct http_request *req)
{
    const char *path = http_path(req);
    char first[16], served[VERSIONS_NAME_MAX], message[256];
    if (strncmp(path, "/_sim/", 6) == 0 || strcmp(path, "/_sim") == 0) {
        http_reply_error(req, 404, "not_found", "No such control endpoint");
        return;
    }
    size_t n = strcspn(path + 1, "/");
    snprintf(first, sizeof first, "%.*s", (int)(n < 15 ? n : 15), path + 1);
    /* Meta takes a segment that is no version as a node and reports the rest of the path
     * (users report "Unknown path components: /<rest>" for a mistyped version). */
    bool versioned = versions_resolve(first, sim_wall_ms(), served);
    http_add_header(req, "facebook-api-version", served);
    snprintf(message, sizeof message, "Unknown path components: %.128s",
             versioned || !path[1 + n] ? path : path + 1 + n);
    gerr_reply_ex(req, 400, 2500, 0, NULL, message, "Unknown path");
}
