/* httpclient.c - a thread-local curl easy handle for service-to-service JSON calls. */
#include "httpclient.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"

#define HTTPC_MAX_BODY (8u * 1024 * 1024)

static _Thread_local CURL *tls_curl;
static pthread_key_t tls_key;
static pthread_once_t tls_key_once = PTHREAD_ONCE_INIT;

static void on_thread_exit(void *unused)
{
    (void)unused;
    httpc_thread_cleanup();
}

static void make_key(void)
{
    pthread_key_create(&tls_key, on_thread_exit);
}

void httpc_global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

void httpc_global_cleanup(void)
{
    curl_global_cleanup();
}

void httpc_thread_cleanup(void)
{
    if (tls_curl)
        curl_easy_cleanup(tls_curl);
    tls_curl = NULL;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct buf *b = userdata;
    size_t n = size * nmemb;
    if (b->len + n > HTTPC_MAX_BODY)
        return 0; /* abort: an answer this large is not what we asked for */
    buf_append(b, ptr, n);
    return n;
}

int httpc_json(const char *method, const char *url, const char *bearer, const json_t *body,
               long timeout_ms, struct httpc_result *res)
{
    int rc = -1;
    struct buf resp = {0};
    struct curl_slist *headers = NULL;
    char *payload = NULL;
    char *auth = NULL;

    memset(res, 0, sizeof(*res));
    if (!tls_curl) {
        tls_curl = curl_easy_init();
        pthread_once(&tls_key_once, make_key);
        pthread_setspecific(tls_key, &tls_curl);
    }
    CURL *c = tls_curl;
    if (!c) {
        snprintf(res->error, sizeof res->error, "curl_easy_init failed");
        return -1;
    }
    curl_easy_reset(c);
    headers = curl_slist_append(headers, "Accept: application/json");
    if (bearer && *bearer) {
        auth = xasprintf("Authorization: Bearer %s", bearer);
        headers = curl_slist_append(headers, auth);
    }
    if (body) {
        payload = json_dumps(body, JSON_COMPACT);
        headers = curl_slist_append(headers, "Content-Type: application/json");
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 2000 ? timeout_ms : 2000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");

    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        snprintf(res->error, sizeof res->error, "%s", curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &res->status);
    if (resp.len)
        res->json = json_loadb(resp.data, resp.len, 0, NULL);
    rc = 0;
out:
    curl_slist_free_all(headers);
    free(payload);
    free(auth);
    buf_free(&resp);
    return rc;
}

void httpc_result_free(struct httpc_result *res)
{
    json_decref(res->json);
    res->json = NULL;
}
