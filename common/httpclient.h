/* httpclient.h - blocking JSON calls to other services over libcurl, reusing one
 * kept-alive handle per thread. For the Graph API's concurrent sends see the
 * notification service's sender, which uses the multi interface. */
#ifndef COMMON_HTTPCLIENT_H
#define COMMON_HTTPCLIENT_H

#include <jansson.h>
#include <stddef.h>

struct httpc_result {
    long status;     /* HTTP status, 0 when the request never got an answer */
    json_t *json;    /* parsed body when it was JSON, else NULL; owned by the result */
    char error[256]; /* transport error (connection refused, timeout), else empty */
};

/* Performs method url with an optional bearer token and optional JSON body (borrowed).
 * Returns 0 when an HTTP answer arrived (whatever its status), -1 on a transport error
 * described in res->error. Free the result with httpc_result_free(). */
int httpc_json(const char *method, const char *url, const char *bearer, const json_t *body,
               long timeout_ms, struct httpc_result *res) __attribute__((warn_unused_result));
void httpc_result_free(struct httpc_result *res);

/* Global libcurl setup and teardown; call once from main. */
void httpc_global_init(void);
void httpc_global_cleanup(void);
/* Frees this thread's handle (call when a thread ends). */
void httpc_thread_cleanup(void);

#endif
