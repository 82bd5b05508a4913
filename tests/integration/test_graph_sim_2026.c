/* test_graph_sim_2026.c - graph-sim's Cloud API of 2026 over real HTTP: the version table
 * and the facebook-api-version header, account-wide errors with their scope, account-level
 * webhooks, pricing on statuses, health_status, BSUIDs, message time to live, template
 * review and the portfolio's messaging limit. The simulator's date is fixed
 * (GRAPH_SIM_NOW) so the version answers do not depend on the day the suite runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <pthread.h>

#include "alloc.h"
#include "harness.h"
#include "harness_receiver.h"
#include "hmac.h"

#define TOKEN "test-graph-token"
#define SECRET "test-app-secret"
#define WABA "555000111222333"
#define PHONE1 "109876543210001"
#define PHONE2 "109876543210002"
#define PHONE10 "109876543210010"
#define TODAY "2026-12-06"
#define RX_MAX_POSTS 1024

static struct h_proc sim;
static CURL *client;

/* ---------- the webhook receiver: keeps every signed POST body ---------- */

static struct {
    pthread_mutex_t lock;
    struct h_receiver *receiver;
    char *bodies[RX_MAX_POSTS];
    bool signed_ok[RX_MAX_POSTS];
    size_t n;
} rx = {.lock = PTHREAD_MUTEX_INITIALIZER};

static unsigned rx_post(void *arg, const struct h_post *p)
{
    (void)arg;
    const char *sig = h_post_header(p, "X-Hub-Signature-256");
    pthread_mutex_lock(&rx.lock);
    if (rx.n < RX_MAX_POSTS) {
        rx.bodies[rx.n] = xstrndup(p->body, p->len);
        rx.signed_ok[rx.n] = hmac_sha256_verify_header(sig, SECRET, rx.bodies[rx.n], p->len);
        rx.n++;
    }
    pthread_mutex_unlock(&rx.lock);
    return 200;
}

static void rx_clear(void)
{
    pthread_mutex_lock(&rx.lock);
    for (size_t i = 0; i < rx.n; i++)
        free(rx.bodies[i]);
    rx.n = 0;
    pthread_mutex_unlock(&rx.lock);
}

/* Every change received so far, in order: a new array of {"field", "value", "signed"}. */
static json_t *rx_changes(void)
{
    json_t *all = json_array();
    pthread_mutex_lock(&rx.lock);
    for (size_t i = 0; i < rx.n; i++) {
        json_t *doc = json_loads(rx.bodies[i], 0, NULL);
        size_t e, c;
        json_t *entry, *change;
        json_array_foreach (json_object_get(doc, "entry"), e, entry) {
            json_array_foreach (json_object_get(entry, "changes"), c, change) {
                json_array_append_new(all, json_pack("{s:O, s:O, s:b, s:O}", "field",
                                                     json_object_get(change, "field"), "value",
                                                     json_object_get(change, "value"), "signed",
                                                     rx.signed_ok[i], "entry_id",
                                                     json_object_get(entry, "id")));
            }
        }
        json_decref(doc);
    }
    pthread_mutex_unlock(&rx.lock);
    return all;
}

/* The changes of one field (new array of their values). */
static json_t *rx_field(const char *field)
{
    json_t *all = rx_changes(), *out = json_array();
    size_t i;
    json_t *c;
    json_array_foreach (all, i, c) {
        if (strcmp(json_string_value(json_object_get(c, "field")), field) == 0) {
            assert_true(json_is_true(json_object_get(c, "signed")));
            assert_string_equal(json_string_value(json_object_get(c, "entry_id")), WABA);
            json_array_append(out, json_object_get(c, "value"));
        }
    }
    json_decref(all);
    return out;
}

/* Every status of every messages change (new array). */
static json_t *rx_statuses(void)
{
    json_t *values = rx_field("messages"), *out = json_array();
    size_t i, k;
    json_t *v, *s;
    json_array_foreach (values, i, v) {
        json_array_foreach (json_object_get(v, "statuses"), k, s)
            json_array_append(out, s);
    }
    json_decref(values);
    return out;
}

struct wait_field {
    const char *field;
    size_t n;
};

static bool has_field(void *arg)
{
    struct wait_field *w = arg;
    json_t *v = rx_field(w->field);
    bool ok = json_array_size(v) >= w->n;
    json_decref(v);
    return ok;
}

/* Waits for n changes of field; returns their values (a new array). */
static json_t *rx_wait_field(const char *field, size_t n, int timeout_ms)
{
    struct wait_field w = {field, n};
    assert_true(h_wait_until(has_field, &w, timeout_ms));
    return rx_field(field);
}

/* ---------- talking to the simulator ---------- */

static char served_version[32]; /* facebook-api-version of the last answer */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    buf_append(userdata, ptr, size * nmemb);
    return size * nmemb;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    (void)userdata;
    size_t n = size * nmemb;
    static const char name[] = "facebook-api-version:";
    if (n > sizeof name && strncasecmp(ptr, name, sizeof name - 1) == 0) {
        const char *v = ptr + sizeof name - 1;
        size_t len = n - (sizeof name - 1);
        while (len && (*v == ' ')) {
            v++;
            len--;
        }
        while (len && (v[len - 1] == '\r' || v[len - 1] == '\n'))
            len--;
        snprintf(served_version, sizeof served_version, "%.*s", (int)len, v);
    }
    return n;
}

static long sim_call(const char *method, const char *path, const char *token, const char *body,
                     json_t **out)
{
    struct buf resp = {0};
    struct curl_slist *hdrs = NULL;
    char url[512], auth[256];
    long status = 0;
    served_version[0] = '\0';
    snprintf(url, sizeof url, "%s%s", sim.url, path);
    if (token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        hdrs = curl_slist_append(hdrs, auth);
    }
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:");
    curl_easy_reset(client);
    curl_easy_setopt(client, CURLOPT_URL, url);
    curl_easy_setopt(client, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(client, CURLOPT_HTTPHEADER, hdrs);
    if (body) {
        curl_easy_setopt(client, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(client, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(client, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(client, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(client, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(client, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(client, CURLOPT_HEADERFUNCTION, on_header);
    if (curl_easy_perform(client) == CURLE_OK)
        curl_easy_getinfo(client, CURLINFO_RESPONSE_CODE, &status);
    if (out)
        *out = resp.len ? json_loadb(resp.data, resp.len, 0, NULL) : NULL;
    curl_slist_free_all(hdrs);
    buf_free(&resp);
    return status;
}

/* A control call that must answer 200. */
static void control(const char *method, const char *path, const char *body)
{
    json_t *out = NULL;
    long status = sim_call(method, path, NULL, body, &out);
    if (status != 200) {
        char *s = out ? json_dumps(out, 0) : NULL;
        fprintf(stderr, "control %s %s -> %ld %s\n", method, path, status, s ? s : "");
        free(s);
    }
    assert_int_equal(status, 200);
    json_decref(out);
}

/* A control call that must be refused with status. */
static void control_refused(const char *method, const char *path, const char *body, long status)
{
    json_t *out = NULL;
    assert_int_equal(sim_call(method, path, NULL, body, &out), status);
    json_decref(out);
}

/* GET path with the token; returns the parsed answer after asserting 200. */
static json_t *graph_get(const char *path)
{
    json_t *doc = NULL;
    long st = sim_call("GET", path, TOKEN, NULL, &doc);
    if (st != 200) {
        char *s = doc ? json_dumps(doc, 0) : NULL;
        fprintf(stderr, "GET %s -> %ld %s\n", path, st, s ? s : "");
        free(s);
    }
    assert_int_equal(st, 200);
    return doc;
}

/* Sends template name/language with n text parameters; returns the HTTP status. */
static long send_tpl(const char *version, const char *phone, const char *to, const char *name,
                     const char *lang, int n, json_t **out)
{
    struct buf b = {0};
    char path[128];
    snprintf(path, sizeof path, "/%s/%s/messages", version, phone);
    buf_printf(&b,
               "{\"messaging_product\":\"whatsapp\",\"to\":\"%s\",\"type\":\"template\","
               "\"template\":{\"name\":\"%s\",\"language\":{\"code\":\"%s\"},\"components\":[{"
               "\"type\":\"body\",\"parameters\":[",
               to, name, lang);
    for (int i = 0; i < n; i++)
        buf_printf(&b, "%s{\"type\":\"text\",\"text\":\"p%d\"}", i ? "," : "", i + 1);
    buf_append_str(&b, "]}]}}");
    char *body = buf_steal(&b);
    long st = sim_call("POST", path, TOKEN, body, out);
    free(body);
    return st;
}

static long send_po(const char *phone, const char *to, const char *lang, json_t **out)
{
    return send_tpl("v25.0", phone, to, "po_notification", lang, 3, out);
}

static long error_code(const json_t *doc)
{
    return (long)json_integer_value(json_object_get(json_object_get(doc, "error"), "code"));
}

/* Asserts Meta's error body with this HTTP status and code; frees doc. */
static void assert_meta_error(long status, json_t *doc, long want_status, long want_code)
{
    if (status != want_status || error_code(doc) != want_code) {
        char *s = doc ? json_dumps(doc, 0) : NULL;
        fprintf(stderr, "got %ld %s, want %ld code %ld\n", status, s ? s : "", want_status,
                want_code);
        free(s);
    }
    assert_int_equal(status, want_status);
    const json_t *err = json_object_get(doc, "error");
    assert_int_equal(error_code(doc), want_code);
    assert_non_null(json_string_value(json_object_get(err, "message")));
    assert_non_null(json_string_value(json_object_get(err, "type")));
    assert_non_null(json_string_value(json_object_get(err, "fbtrace_id")));
    const json_t *data = json_object_get(err, "error_data");
    assert_string_equal(json_string_value(json_object_get(data, "messaging_product")), "whatsapp");
    assert_non_null(json_string_value(json_object_get(data, "details")));
    json_decref(doc);
}

static void send_ok(const char *phone, const char *to, const char *lang)
{
    json_t *doc = NULL;
    long st = send_po(phone, to, lang, &doc);
    if (st != 200) {
        char *s = doc ? json_dumps(doc, 0) : NULL;
        fprintf(stderr, "send %s -> %s: %ld %s\n", phone, to, st, s ? s : "");
        free(s);
    }
    assert_int_equal(st, 200);
    json_decref(doc);
}

static const char *str_at(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

/* ---------- fixtures ---------- */

static int group_setup(void **state)
{
    (void)state;
    char url[128];
    curl_global_init(CURL_GLOBAL_DEFAULT);
    client = curl_easy_init();
    rx.receiver = h_receiver_start(0, rx_post, NULL);
    if (!rx.receiver)
        return -1;
    snprintf(url, sizeof url, "GRAPH_SIM_WEBHOOK_URL=http://127.0.0.1:%u/webhook",
             h_receiver_port(rx.receiver));
    const char *env[] = {url,
                         "GRAPH_SIM_ACCESS_TOKEN=" TOKEN,
                         "GRAPH_SIM_APP_SECRET=" SECRET,
                         "GRAPH_SIM_WABA_ID=" WABA,
                         "GRAPH_SIM_SEED=7",
                         "GRAPH_SIM_NOW=" TODAY "T10:00:00Z",
                         "GRAPH_SIM_STATUS_DELAY_MS=20",
                         "GRAPH_SIM_WEBHOOK_RETRY_MIN_MS=20",
                         "GRAPH_SIM_WEBHOOK_RETRY_MAX_MS=200",
                         "GRAPH_SIM_DUPLICATE_DELAY_MS=20",
                         NULL};
    return h_start(&sim, "graph-sim", "GRAPH_SIM_PORT", env, "/ready") ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    int rc = h_stop(&sim);
    curl_easy_cleanup(client);
    h_receiver_stop(rx.receiver);
    rx_clear();
    curl_global_cleanup();
    if (rc != 0)
        fprintf(stderr, "graph-sim exited with %d; log: %s\n", rc, sim.log_path);
    return rc == 0 ? 0 : -1;
}

static int reset(void **state)
{
    (void)state;
    json_t *out = NULL;
    long status = sim_call("POST", "/_sim/reset", NULL, NULL, &out);
    json_decref(out);
    rx_clear();
    return status == 200 ? 0 : -1;
}

/* ---------- 1. versions ---------- */

/* path answered 200 and served by want. */
static void served_as(const char *path, const char *want)
{
    json_decref(graph_get(path));
    assert_string_equal(served_version, want);
}

static void unknown_version(const char *path, const char *header)
{
    json_t *doc = NULL;
    long st = sim_call("GET", path, TOKEN, NULL, &doc);
    assert_meta_error(st, doc, 400, 2500);
    assert_string_equal(served_version, header);
}

static void versions_follow_meta_table_and_header_names_the_server(void **state)
{
    (void)state;
    /* 2026-12-06: v18.0-v20.0 expired, v21.0 is the oldest live one */
    served_as("/v18.0/" PHONE1, "v21.0");
    served_as("/v19.0/" PHONE1, "v21.0");
    served_as("/v20.0/" WABA "/phone_numbers", "v21.0");
    served_as("/v21.0/" PHONE1, "v21.0");
    served_as("/v25.0/" WABA "/message_templates", "v25.0");
    served_as("/v26.0/" PHONE1, "v26.0");
    served_as("/v12.0/" PHONE1, "v21.0"); /* long expired */
    unknown_version("/v99.0/" PHONE1, "v21.0");
    unknown_version("/v27.0/" PHONE1, "v21.0");
    unknown_version("/v18/" PHONE1, "v21.0");
    unknown_version("/latest/" PHONE1, "v21.0");
    unknown_version("/v21.1/" PHONE1, "v21.0");
    json_t *unknown = NULL;
    sim_call("GET", "/v99.0/" PHONE1 "/phone_numbers", TOKEN, NULL, &unknown);
    assert_string_equal(str_at(json_object_get(unknown, "error"), "message"),
                        "Unknown path components: /" PHONE1 "/phone_numbers");
    json_decref(unknown);
    /* sends too, and errors carry it */
    json_t *doc = NULL;
    assert_int_equal(send_tpl("v18.0", PHONE1, "+34600000001", "po_notification", "es", 3, &doc),
                     200);
    json_decref(doc);
    assert_string_equal(served_version, "v21.0");
    long st = send_tpl("v23.0", PHONE1, "+34600000002", "po_notification", "es", 2, &doc);
    assert_meta_error(st, doc, 400, 132000);
    assert_string_equal(served_version, "v23.0");

    /* the clock moves: after 2027-01-21 v21.0 has expired too */
    control("POST", "/_sim/clock", "{\"now\":\"2027-01-21\"}");
    served_as("/v18.0/" PHONE1, "v22.0");
    served_as("/v21.0/" PHONE1, "v22.0");
    served_as("/v22.0/" PHONE1, "v22.0");
    /* before v26.0 shipped it did not exist, and v18.0 was still live */
    control("POST", "/_sim/clock", "{\"now\":\"2026-01-25T23:59:59Z\"}");
    served_as("/v18.0/" PHONE1, "v18.0");
    unknown_version("/v26.0/" PHONE1, "v18.0");
    json_t *clock = NULL;
    assert_int_equal(sim_call("GET", "/_sim/clock", NULL, NULL, &clock), 200);
    assert_string_equal(str_at(clock, "now"), "2026-01-25T23:59:59Z");
    assert_int_equal(json_array_size(json_object_get(clock, "versions")), 9);
    json_decref(clock);
    control_refused("POST", "/_sim/clock", "{\"now\":\"yesterday\"}", 422);
    /* reset goes back to GRAPH_SIM_NOW */
    assert_int_equal(reset(NULL), 0);
    served_as("/v18.0/" PHONE1, "v21.0");
}

/* ---------- 2. account-wide errors ---------- */

static void account_errors_stop_every_number_until_cleared(void **state)
{
    (void)state;
    static const struct {
        long code, status;
    } cases[] = {{368, 403},    {131031, 403}, {131042, 402},
                 {131048, 429}, {131064, 400}, {130497, 403}};
    char body[160], to[32];
    int k = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(body, sizeof body, "{\"account_error\":{\"code\":%ld}}", cases[i].code);
        control("POST", "/_sim/faults", body);
        const char *phones[] = {PHONE1, PHONE2, PHONE10};
        for (int p = 0; p < 3; p++) {
            json_t *doc = NULL;
            snprintf(to, sizeof to, "+3460010%04d", k++);
            long st = send_po(phones[p], to, p == 1 ? "en" : "es", &doc);
            assert_meta_error(st, doc, cases[i].status, cases[i].code);
        }
    }
    control("POST", "/_sim/faults", "{\"account_error\":null}");
    send_ok(PHONE1, "+34600200001", "es");

    /* with a duration: it ends on the simulator's clock */
    control("POST", "/_sim/faults",
            "{\"account_error\":{\"code\":131042,\"duration_ms\":600000,\"details\":\"Credit "
            "line over the limit\"}}");
    json_t *doc = NULL;
    long st = send_po(PHONE10, "+34600200002", "es", &doc);
    assert_string_equal(
        str_at(json_object_get(json_object_get(doc, "error"), "error_data"), "details"),
        "Credit line over the limit");
    assert_meta_error(st, doc, 402, 131042);
    control("POST", "/_sim/clock", "{\"advance_ms\":600001}");
    send_ok(PHONE10, "+34600200003", "es");

    /* DELETE clears it */
    control("POST", "/_sim/faults", "{\"account_error\":{\"code\":368}}");
    control("DELETE", "/_sim/faults", NULL);
    send_ok(PHONE1, "+34600200004", "es");
    control_refused("POST", "/_sim/faults", "{\"account_error\":{\"code\":131026}}", 422);
}

static void template_and_number_errors_have_their_own_scope(void **state)
{
    (void)state;
    json_t *doc = NULL;
    control("POST", "/_sim/faults",
            "{\"template_errors\":[{\"name\":\"po_notification\",\"language\":\"es\","
            "\"code\":132015},{\"name\":\"po_notification\",\"language\":\"eu\","
            "\"code\":132016}]}");
    long st = send_po(PHONE1, "+34600300001", "es", &doc);
    assert_meta_error(st, doc, 400, 132015);
    st = send_po(PHONE2, "+34600300002", "eu", &doc);
    assert_meta_error(st, doc, 400, 132016);
    send_ok(PHONE1, "+34600300003", "en"); /* another language of the same template */
    control("POST", "/_sim/faults", "{\"template_errors\":[]}");
    send_ok(PHONE1, "+34600300004", "es");

    /* 131057 for one number, at most a minute */
    control("POST", "/_sim/faults",
            "{\"phone_errors\":[{\"phone_number_id\":\"" PHONE1 "\",\"code\":131057}]}");
    st = send_po(PHONE1, "+34600300005", "es", &doc);
    assert_meta_error(st, doc, 503, 131057);
    send_ok(PHONE2, "+34600300006", "es");
    control("POST", "/_sim/clock", "{\"advance_ms\":59000}");
    st = send_po(PHONE1, "+34600300007", "es", &doc);
    assert_meta_error(st, doc, 503, 131057);
    control("POST", "/_sim/clock", "{\"advance_ms\":1001}");
    send_ok(PHONE1, "+34600300008", "es");
    control_refused("POST", "/_sim/faults",
                    "{\"phone_errors\":[{\"phone_number_id\":\"" PHONE1
                    "\",\"code\":131057,\"duration_ms\":60001}]}",
                    422);
    control_refused("POST", "/_sim/faults",
                    "{\"template_errors\":[{\"name\":\"po_notification\",\"code\":131042}]}", 422);
}

/* ---------- 3. account-level webhooks ---------- */

static const json_t *value_with(const json_t *values, const char *key, const char *want)
{
    size_t i;
    const json_t *v;
    json_array_foreach (values, i, v) {
        if (strcmp(str_at(v, key), want) == 0)
            return v;
    }
    fail_msg("no value with %s=%s", key, want);
    return NULL;
}

static void each_account_field_is_emitted_signed_in_meta_shape(void **state)
{
    (void)state;
    control("POST", "/_sim/account-events",
            "{\"events\":["
            "{\"field\":\"message_template_status_update\",\"value\":{\"event\":\"REJECTED\","
            "\"message_template_name\":\"po_notification\",\"message_template_language\":\"en\","
            "\"reason\":\"INCORRECT_CATEGORY\"}},"
            "{\"field\":\"message_template_quality_update\",\"value\":{"
            "\"previous_quality_score\":\"GREEN\",\"new_quality_score\":\"RED\","
            "\"message_template_name\":\"po_notification\",\"message_template_language\":\"es\"}},"
            "{\"field\":\"template_category_update\",\"value\":{\"message_template_name\":"
            "\"po_notification\",\"message_template_language\":\"eu\",\"correct_category\":"
            "\"MARKETING\",\"new_category\":\"UTILITY\",\"category_update_timestamp\":1797000000}},"
            "{\"field\":\"phone_number_quality_update\",\"value\":{\"phone_number_id\":\"" PHONE1
            "\",\"event\":\"FLAGGED\"}},"
            "{\"field\":\"account_update\",\"value\":{\"event\":\"ACCOUNT_RESTRICTION\","
            "\"restriction_info\":[{\"restriction_type\":\"RESTRICTED_BIZ_INITIATED_MESSAGING\","
            "\"expiration\":1797000000}]}},"
            "{\"field\":\"business_capability_update\",\"value\":{}}]}");
    const char *names[] = {"message_template_status_update",
                           "message_template_quality_update",
                           "template_category_update",
                           "phone_number_quality_update",
                           "account_update",
                           "business_capability_update"};
    for (size_t i = 0; i < 6; i++)
        json_decref(rx_wait_field(names[i], 1, 5000));

    json_t *v = rx_field("message_template_status_update");
    const json_t *st = json_array_get(v, 0);
    assert_true(json_is_integer(json_object_get(st, "message_template_id")));
    assert_string_equal(str_at(st, "event"), "REJECTED");
    assert_string_equal(str_at(st, "message_template_category"), "UTILITY");
    assert_string_equal(str_at(st, "reason"), "INCORRECT_CATEGORY");
    json_decref(v);
    v = rx_field("template_category_update");
    assert_true(json_is_integer(json_object_get(json_array_get(v, 0), "message_template_id")));
    assert_string_equal(str_at(json_array_get(v, 0), "correct_category"), "MARKETING");
    json_decref(v);
    v = rx_field("phone_number_quality_update");
    assert_string_equal(str_at(json_array_get(v, 0), "display_phone_number"), "34612345678");
    assert_string_equal(str_at(json_array_get(v, 0), "event"), "FLAGGED");
    assert_string_equal(str_at(json_array_get(v, 0), "current_limit"), "TIER_UNLIMITED");
    json_decref(v);
    v = rx_field("business_capability_update");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(v, 0),
                                                        "max_daily_conversations_per_business")),
                     -1); /* Meta's integer; -1 is unlimited */
    json_decref(v);

    /* the entry carries Meta's "time" on the simulator's clock (the body of one of these
     * events: a status of the previous test's sends may arrive after the reset) */
    pthread_mutex_lock(&rx.lock);
    json_t *doc = NULL;
    for (size_t i = 0; i < rx.n && !doc; i++)
        if (strstr(rx.bodies[i], "\"account_update\""))
            doc = json_loads(rx.bodies[i], 0, NULL);
    pthread_mutex_unlock(&rx.lock);
    assert_non_null(doc);
    json_int_t t = json_integer_value(
        json_object_get(json_array_get(json_object_get(doc, "entry"), 0), "time"));
    assert_true(t >= 1796551200 && t < 1796551200 + 600); /* 2026-12-06T10:00:00Z */
    json_decref(doc);

    control_refused("POST", "/_sim/account-events", "{\"field\":\"messages\",\"value\":{}}", 422);
    control_refused("POST", "/_sim/account-events",
                    "{\"field\":\"account_update\",\"value\":\"x\"}", 422);
    /* raw: exactly as given, to test how receivers take bad payloads */
    rx_clear();
    control("POST", "/_sim/account-events",
            "{\"field\":\"account_update\",\"value\":\"garbage\",\"raw\":true}");
    v = rx_wait_field("account_update", 1, 5000);
    assert_string_equal(json_string_value(json_array_get(v, 0)), "garbage");
    json_decref(v);

    /* the same duplicate option as statuses */
    rx_clear();
    control("POST", "/_sim/faults", "{\"webhooks\":{\"duplicate_rate\":1}}");
    control("POST", "/_sim/account-events",
            "{\"field\":\"account_update\",\"value\":{\"event\":\"VERIFIED_ACCOUNT\"}}");
    v = rx_wait_field("account_update", 2, 5000);
    assert_true(json_equal(json_array_get(v, 0), json_array_get(v, 1)));
    json_decref(v);

    /* and the same reordering: a held-back change is overtaken by later ones */
    rx_clear();
    control("POST", "/_sim/faults", "{\"webhooks\":{\"duplicate_rate\":0,\"reorder\":0.5}}");
    struct buf b = {0};
    buf_append_str(&b, "{\"events\":[");
    for (int i = 0; i < 12; i++)
        buf_printf(&b, "%s{\"field\":\"account_update\",\"value\":{\"event\":\"E%02d\"}}",
                   i ? "," : "", i);
    buf_append_str(&b, "]}");
    char *many = buf_steal(&b);
    control("POST", "/_sim/account-events", many);
    free(many);
    v = rx_wait_field("account_update", 12, 5000);
    bool in_order = true, seen[12] = {false};
    for (size_t i = 0; i < 12; i++) {
        int k = (int)strtol(str_at(json_array_get(v, i), "event") + 1, NULL, 10);
        assert_true(k >= 0 && k < 12 && !seen[k]);
        seen[k] = true;
        in_order &= k == (int)i;
    }
    assert_false(in_order);
    json_decref(v);
}

static void template_changes_show_in_the_graph_api_and_are_announced(void **state)
{
    (void)state;
    json_t *doc = NULL;
    control("POST", "/_sim/templates/update",
            "{\"name\":\"po_notification\",\"language\":\"es\",\"status\":\"PAUSED\","
            "\"reason\":\"LOW_QUALITY\"}");
    json_t *v = rx_wait_field("message_template_status_update", 1, 5000);
    assert_string_equal(str_at(json_array_get(v, 0), "event"), "PAUSED");
    assert_string_equal(str_at(json_array_get(v, 0), "message_template_language"), "es");
    json_decref(v);
    doc = graph_get("/v25.0/" WABA "/message_templates?name=po_notification&language=es");
    assert_string_equal(str_at(json_array_get(json_object_get(doc, "data"), 0), "status"),
                        "PAUSED");
    json_decref(doc);
    long st = send_po(PHONE1, "+34600400001", "es", &doc);
    assert_meta_error(st, doc, 400, 132015);
    send_ok(PHONE1, "+34600400002", "en");
    control("POST", "/_sim/templates/update",
            "{\"name\":\"po_notification\",\"language\":\"es\",\"status\":\"APPROVED\"}");
    send_ok(PHONE1, "+34600400003", "es");

    control("POST", "/_sim/templates/update",
            "{\"name\":\"po_notification\",\"language\":\"en\",\"quality\":\"YELLOW\","
            "\"category\":\"MARKETING\"}");
    v = rx_wait_field("message_template_quality_update", 1, 5000);
    assert_string_equal(str_at(json_array_get(v, 0), "previous_quality_score"), "GREEN");
    assert_string_equal(str_at(json_array_get(v, 0), "new_quality_score"), "YELLOW");
    json_decref(v);
    v = rx_wait_field("template_category_update", 1, 5000);
    assert_string_equal(str_at(json_array_get(v, 0), "previous_category"), "UTILITY");
    assert_string_equal(str_at(json_array_get(v, 0), "new_category"), "MARKETING");
    json_decref(v);
    doc = graph_get("/v25.0/" WABA "/message_templates?name=po_notification&language=en");
    const json_t *t = json_array_get(json_object_get(doc, "data"), 0);
    assert_string_equal(str_at(t, "category"), "MARKETING");
    assert_string_equal(str_at(json_object_get(t, "quality_score"), "score"), "YELLOW");
    json_decref(doc);
    control_refused("POST", "/_sim/templates/update",
                    "{\"name\":\"nope\",\"language\":\"es\",\"status\":\"PAUSED\"}", 404);
    control_refused("POST", "/_sim/templates/update",
                    "{\"name\":\"po_notification\",\"language\":\"es\",\"status\":\"SLEEPY\"}",
                    422);
}

static void number_changes_show_in_the_graph_api_and_are_announced(void **state)
{
    (void)state;
    json_t *doc = NULL;
    control("POST", "/_sim/phone_numbers/update",
            "{\"phone_number_id\":\"" PHONE1 "\",\"quality_rating\":\"RED\"}");
    json_t *v = rx_wait_field("phone_number_quality_update", 1, 5000);
    assert_string_equal(str_at(json_array_get(v, 0), "event"), "DOWNGRADE");
    assert_string_equal(str_at(json_array_get(v, 0), "display_phone_number"), "34612345678");
    json_decref(v);
    doc = graph_get("/v25.0/" WABA "/phone_numbers?limit=100");
    size_t i;
    const json_t *p;
    bool seen = false;
    json_array_foreach (json_object_get(doc, "data"), i, p) {
        if (strcmp(str_at(p, "id"), PHONE1) == 0) {
            assert_string_equal(str_at(p, "quality_rating"), "RED");
            seen = true;
        }
    }
    assert_true(seen);
    json_decref(doc);

    control("POST", "/_sim/phone_numbers/update",
            "{\"phone_number_id\":\"" PHONE1 "\",\"status\":\"FLAGGED\"}");
    v = rx_wait_field("phone_number_quality_update", 2, 5000);
    assert_non_null(value_with(v, "event", "FLAGGED"));
    json_decref(v);
    doc = graph_get("/v25.0/" PHONE1 "?fields=status,quality_rating,name_status,throughput");
    assert_string_equal(str_at(doc, "status"), "FLAGGED");
    assert_string_equal(str_at(doc, "name_status"), "APPROVED");
    assert_string_equal(str_at(json_object_get(doc, "throughput"), "level"), "STANDARD");
    json_decref(doc);
    control("POST", "/_sim/phone_numbers/update",
            "{\"phone_number_id\":\"" PHONE1 "\",\"status\":\"CONNECTED\",\"quality_rating\":"
            "\"GREEN\",\"throughput_level\":\"HIGH\"}");
    v = rx_wait_field("phone_number_quality_update", 3, 5000);
    assert_non_null(value_with(v, "event", "UNFLAGGED"));
    json_decref(v);
    doc = graph_get("/v25.0/" PHONE1 "?fields=throughput");
    assert_string_equal(str_at(json_object_get(doc, "throughput"), "level"), "HIGH");
    json_decref(doc);
    control_refused("POST", "/_sim/phone_numbers/update",
                    "{\"phone_number_id\":\"1\",\"status\":\"FLAGGED\"}", 404);
    control_refused("POST", "/_sim/phone_numbers/update",
                    "{\"phone_number_id\":\"" PHONE1 "\",\"quality_rating\":\"PURPLE\"}", 422);
}

/* ---------- 4. pricing ---------- */

/* Sends and returns the wamid (caller frees). */
static char *send_for_wamid(const char *phone, const char *to, const char *name, const char *lang,
                            int n)
{
    json_t *doc = NULL;
    long st = send_tpl("v25.0", phone, to, name, lang, n, &doc);
    if (st != 200) {
        char *d = doc ? json_dumps(doc, 0) : NULL;
        fprintf(stderr, "send %s %s -> %ld %s\n", name, to, st, d ? d : "");
        free(d);
    }
    assert_int_equal(st, 200);
    char *id = xstrdup(str_at(json_array_get(json_object_get(doc, "messages"), 0), "id"));
    json_decref(doc);
    return id;
}

/* The statuses of wamid received so far (new array). */
static json_t *statuses_of(const char *wamid)
{
    json_t *all = rx_statuses(), *out = json_array();
    size_t i;
    json_t *s;
    json_array_foreach (all, i, s) {
        if (strcmp(str_at(s, "id"), wamid) == 0)
            json_array_append(out, s);
    }
    json_decref(all);
    return out;
}

struct wait_wamid {
    const char *wamid;
    size_t n;
};

static bool has_wamid(void *arg)
{
    struct wait_wamid *w = arg;
    json_t *v = statuses_of(w->wamid);
    bool ok = json_array_size(v) >= w->n;
    json_decref(v);
    return ok;
}

static json_t *wait_statuses_of(const char *wamid, size_t n, int timeout_ms)
{
    struct wait_wamid w = {wamid, n};
    assert_true(h_wait_until(has_wamid, &w, timeout_ms));
    return statuses_of(wamid);
}

static void assert_pricing(const json_t *status, bool billable, const char *category,
                           const char *type)
{
    const json_t *p = json_object_get(status, "pricing");
    assert_non_null(p);
    assert_true(json_is_true(json_object_get(p, "billable")) == billable);
    assert_string_equal(str_at(p, "pricing_model"), "PMP");
    assert_string_equal(str_at(p, "category"), category);
    assert_string_equal(str_at(p, "type"), type);
}

static void inbound(const char *phone, const char *from)
{
    char body[256];
    snprintf(body, sizeof body,
             "{\"phone_number_id\":\"%s\",\"from\":\"%s\",\"text\":\"hola\",\"name\":\"Ana\"}",
             phone, from);
    control("POST", "/_sim/inbound", body);
}

static void statuses_carry_pricing_free_inside_the_service_window(void **state)
{
    (void)state;
    size_t i;
    json_t *s;
    control("POST", "/_sim/templates",
            "{\"templates\":[{\"name\":\"weekend_offer\",\"language\":\"es\",\"category\":"
            "\"MARKETING\",\"components\":[{\"type\":\"BODY\",\"text\":\"Oferta\"}]}]}");
    char *regular = send_for_wamid(PHONE1, "+34600500001", "po_notification", "es", 3);
    json_t *st = wait_statuses_of(regular, 3, 5000);
    json_array_foreach (st, i, s)
        assert_pricing(s, true, "utility", "regular");
    json_decref(st);

    /* inside the window: utility is free, marketing is not, service text is free */
    inbound(PHONE2, "+34600500002");
    char *free_utility = send_for_wamid(PHONE2, "+34600500002", "po_notification", "es", 3);
    st = wait_statuses_of(free_utility, 3, 5000);
    json_array_foreach (st, i, s)
        assert_pricing(s, false, "utility", "free_customer_service");
    json_decref(st);
    inbound(PHONE10, "+34600500003");
    char *marketing = send_for_wamid(PHONE10, "+34600500003", "weekend_offer", "es", 0);
    st = wait_statuses_of(marketing, 1, 5000);
    assert_pricing(json_array_get(st, 0), true, "marketing", "regular");
    json_decref(st);
    json_t *doc = NULL;
    assert_int_equal(sim_call("POST", "/v25.0/" PHONE1 "/messages", TOKEN,
                              "{\"messaging_product\":\"whatsapp\",\"to\":\"+34600500004\","
                              "\"type\":\"text\",\"text\":{\"body\":\"hola\"}}",
                              &doc),
                     200);
    json_decref(doc);
    inbound(PHONE2, "+34600500005");
    assert_int_equal(sim_call("POST", "/v25.0/" PHONE2 "/messages", TOKEN,
                              "{\"messaging_product\":\"whatsapp\",\"to\":\"+34600500005\","
                              "\"type\":\"text\",\"text\":{\"body\":\"gracias\"}}",
                              &doc),
                     200);
    char *service = xstrdup(str_at(json_array_get(json_object_get(doc, "messages"), 0), "id"));
    json_decref(doc);
    st = wait_statuses_of(service, 1, 5000);
    assert_pricing(json_array_get(st, 0), false, "service", "free_customer_service");
    json_decref(st);

    /* the old conversation-based shape, and none at all */
    control("POST", "/_sim/settings", "{\"pricing\":\"cbp\"}");
    char *cbp = send_for_wamid(PHONE1, "+34600500006", "po_notification", "en", 3);
    st = wait_statuses_of(cbp, 1, 5000);
    s = json_array_get(st, 0);
    assert_string_equal(str_at(json_object_get(s, "pricing"), "pricing_model"), "CBP");
    const json_t *conv = json_object_get(s, "conversation");
    assert_int_equal(strlen(str_at(conv, "id")), 32);
    assert_string_equal(str_at(json_object_get(conv, "origin"), "type"), "utility");
    assert_true(strlen(str_at(conv, "expiration_timestamp")) >= 10);
    json_decref(st);
    control("POST", "/_sim/settings", "{\"pricing\":\"none\"}");
    char *none = send_for_wamid(PHONE1, "+34600500007", "po_notification", "en", 3);
    st = wait_statuses_of(none, 1, 5000);
    assert_null(json_object_get(json_array_get(st, 0), "pricing"));
    assert_null(json_object_get(json_array_get(st, 0), "conversation"));
    json_decref(st);
    control_refused("POST", "/_sim/settings", "{\"pricing\":\"free\"}", 422);
    free(regular);
    free(free_utility);
    free(marketing);
    free(service);
    free(cbp);
    free(none);
}

/* ---------- 5. health_status ---------- */

static const json_t *entity(const json_t *health, const char *type)
{
    size_t i;
    const json_t *e;
    json_array_foreach (json_object_get(health, "entities"), i, e) {
        if (strcmp(str_at(e, "entity_type"), type) == 0)
            return e;
    }
    fail_msg("no %s entity", type);
    return NULL;
}

static json_t *health_of(const char *id)
{
    char path[128];
    snprintf(path, sizeof path, "/v25.0/%s?fields=health_status", id);
    json_t *doc = graph_get(path);
    assert_string_equal(str_at(doc, "id"), id);
    return doc;
}

static void health_status_of_number_account_and_template(void **state)
{
    (void)state;
    json_t *doc = health_of(PHONE1);
    const json_t *h = json_object_get(doc, "health_status");
    assert_string_equal(str_at(h, "can_send_message"), "AVAILABLE");
    assert_string_equal(str_at(entity(h, "PHONE_NUMBER"), "id"), PHONE1);
    assert_string_equal(str_at(entity(h, "WABA"), "id"), WABA);
    assert_string_equal(str_at(entity(h, "BUSINESS"), "can_send_message"), "AVAILABLE");
    assert_string_equal(str_at(entity(h, "APP"), "can_send_message"), "AVAILABLE");
    assert_null(json_object_get(entity(h, "WABA"), "errors"));
    json_decref(doc);

    control("POST", "/_sim/faults", "{\"account_error\":{\"code\":131042}}");
    doc = health_of(PHONE2);
    h = json_object_get(doc, "health_status");
    assert_string_equal(str_at(h, "can_send_message"), "BLOCKED");
    const json_t *err = json_array_get(json_object_get(entity(h, "WABA"), "errors"), 0);
    assert_int_equal(json_integer_value(json_object_get(err, "error_code")), 131042);
    assert_true(strlen(str_at(err, "error_description")) > 0);
    assert_true(strlen(str_at(err, "possible_solution")) > 0);
    json_decref(doc);
    doc = health_of(WABA);
    assert_string_equal(str_at(json_object_get(doc, "health_status"), "can_send_message"),
                        "BLOCKED");
    json_decref(doc);
    control("POST", "/_sim/faults", "{\"account_error\":{\"code\":131048}}");
    doc = health_of(WABA);
    assert_string_equal(str_at(json_object_get(doc, "health_status"), "can_send_message"),
                        "LIMITED");
    json_decref(doc);
    control("DELETE", "/_sim/faults", NULL);

    /* one number: 131057 or FLAGGED limits it */
    control("POST", "/_sim/faults",
            "{\"phone_errors\":[{\"phone_number_id\":\"" PHONE1 "\",\"code\":131057}]}");
    doc = health_of(PHONE1);
    h = json_object_get(doc, "health_status");
    assert_string_equal(str_at(h, "can_send_message"), "LIMITED");
    assert_string_equal(str_at(entity(h, "PHONE_NUMBER"), "can_send_message"), "LIMITED");
    assert_string_equal(str_at(entity(h, "WABA"), "can_send_message"), "AVAILABLE");
    json_decref(doc);
    doc = health_of(PHONE2);
    assert_string_equal(str_at(json_object_get(doc, "health_status"), "can_send_message"),
                        "AVAILABLE");
    json_decref(doc);

    /* a template */
    doc = graph_get("/v25.0/" WABA "/message_templates?name=po_notification&language=eu");
    char *tid = xstrdup(str_at(json_array_get(json_object_get(doc, "data"), 0), "id"));
    json_decref(doc);
    doc = health_of(tid);
    h = json_object_get(doc, "health_status");
    assert_string_equal(str_at(h, "can_send_message"), "AVAILABLE");
    assert_string_equal(str_at(entity(h, "MESSAGE_TEMPLATE"), "id"), tid);
    json_decref(doc);
    control("POST", "/_sim/templates/update",
            "{\"name\":\"po_notification\",\"language\":\"eu\",\"status\":\"PAUSED\"}");
    doc = health_of(tid);
    h = json_object_get(doc, "health_status");
    assert_string_equal(str_at(h, "can_send_message"), "BLOCKED");
    err = json_array_get(json_object_get(entity(h, "MESSAGE_TEMPLATE"), "errors"), 0);
    assert_int_equal(json_integer_value(json_object_get(err, "error_code")), 132015);
    json_decref(doc);
    char path[128];
    snprintf(path, sizeof path, "/v25.0/%s", tid);
    doc = graph_get(path);
    assert_string_equal(str_at(doc, "status"), "PAUSED");
    assert_string_equal(str_at(doc, "name"), "po_notification");
    json_decref(doc);
    free(tid);

    /* the number's other fields and the portfolio's messaging limit */
    doc = graph_get("/v25.0/" PHONE1 "?fields=status,name_status,quality_rating,throughput,"
                    "whatsapp_business_manager_messaging_limit");
    assert_string_equal(str_at(doc, "status"), "CONNECTED");
    assert_string_equal(str_at(doc, "name_status"), "APPROVED");
    assert_string_equal(str_at(doc, "quality_rating"), "GREEN");
    assert_string_equal(str_at(json_object_get(doc, "throughput"), "level"), "STANDARD");
    assert_string_equal(str_at(doc, "whatsapp_business_manager_messaging_limit"), "TIER_UNLIMITED");
    json_decref(doc);
    control("POST", "/_sim/settings", "{\"messaging_limit\":2000}");
    doc = graph_get("/v25.0/" WABA "?fields=id,whatsapp_business_manager_messaging_limit");
    assert_string_equal(str_at(doc, "whatsapp_business_manager_messaging_limit"), "TIER_2K");
    json_decref(doc);
    doc = NULL;
    long st = sim_call("GET", "/v25.0/" WABA "?fields=messaging_limit", TOKEN, NULL, &doc);
    assert_meta_error(st, doc, 400, 100);
}

/* ---------- 6. BSUID ---------- */

/* The inbound messages received so far: new array of {"message", "contact"}. */
static json_t *rx_inbound(void)
{
    json_t *values = rx_field("messages"), *out = json_array();
    size_t i, k;
    json_t *v, *m;
    json_array_foreach (values, i, v) {
        json_array_foreach (json_object_get(v, "messages"), k, m) {
            json_array_append_new(out,
                                  json_pack("{s:O, s:O}", "message", m, "contact",
                                            json_array_get(json_object_get(v, "contacts"), k)));
        }
    }
    json_decref(values);
    return out;
}

static bool has_inbound(void *arg)
{
    json_t *v = rx_inbound();
    bool ok = json_array_size(v) >= *(size_t *)arg;
    json_decref(v);
    return ok;
}

static void bsuids_on_statuses_and_inbound_messages(void **state)
{
    (void)state;
    control("POST", "/_sim/users",
            "{\"users\":[{\"phone\":\"+34600600001\",\"user_id\":\"ES.1502576394655843\"},"
            "{\"phone\":\"+34600600002\",\"user_id\":\"ES.777\",\"username\":\"@horno\","
            "\"hide_phone\":true}]}");
    char *w1 = send_for_wamid(PHONE1, "+34600600001", "po_notification", "es", 3);
    json_t *st = wait_statuses_of(w1, 1, 5000);
    assert_string_equal(str_at(json_array_get(st, 0), "recipient_user_id"), "ES.1502576394655843");
    assert_string_equal(str_at(json_array_get(st, 0), "recipient_id"), "34600600001");
    json_decref(st);
    char *w2 = send_for_wamid(PHONE1, "+34600600002", "po_notification", "es", 3);
    st = wait_statuses_of(w2, 1, 5000);
    assert_string_equal(str_at(json_array_get(st, 0), "recipient_user_id"), "ES.777");
    assert_null(json_object_get(json_array_get(st, 0), "recipient_id"));
    json_decref(st);
    free(w1);
    free(w2);

    /* inbound from a number with a BSUID: both */
    inbound(PHONE1, "+34600600001");
    size_t n = 1;
    assert_true(h_wait_until(has_inbound, &n, 5000));
    json_t *in = rx_inbound();
    const json_t *m = json_object_get(json_array_get(in, 0), "message");
    const json_t *c = json_object_get(json_array_get(in, 0), "contact");
    assert_string_equal(str_at(m, "from"), "34600600001");
    assert_string_equal(str_at(m, "from_user_id"), "ES.1502576394655843");
    assert_string_equal(str_at(c, "wa_id"), "34600600001");
    assert_string_equal(str_at(c, "user_id"), "ES.1502576394655843");
    json_decref(in);

    /* STOP from a user known only by BSUID: no from, no wa_id */
    control("POST", "/_sim/inbound",
            "{\"phone_number_id\":\"" PHONE1 "\",\"user_id\":\"ES.9988776655\",\"username\":"
            "\"@obrador\",\"text\":\"STOP\"}");
    n = 2;
    assert_true(h_wait_until(has_inbound, &n, 5000));
    in = rx_inbound();
    m = json_object_get(json_array_get(in, 1), "message");
    c = json_object_get(json_array_get(in, 1), "contact");
    assert_null(json_object_get(m, "from"));
    assert_null(json_object_get(c, "wa_id"));
    assert_string_equal(str_at(m, "from_user_id"), "ES.9988776655");
    assert_string_equal(str_at(c, "user_id"), "ES.9988776655");
    assert_string_equal(str_at(json_object_get(c, "profile"), "username"), "@obrador");
    assert_string_equal(str_at(json_object_get(m, "text"), "body"), "STOP");
    json_decref(in);
    control_refused("POST", "/_sim/users", "{\"users\":[{\"user_id\":\"nope\"}]}", 422);
    control_refused("POST", "/_sim/inbound",
                    "{\"phone_number_id\":\"" PHONE1 "\",\"text\":\"STOP\"}", 422);
}

/* ---------- 7. time to live ---------- */

static void unreachable_recipients_fail_when_the_ttl_passes(void **state)
{
    (void)state;
    control("POST", "/_sim/templates",
            "{\"templates\":[{\"name\":\"po_short\",\"language\":\"es\",\"category\":\"UTILITY\","
            "\"message_send_ttl_seconds\":1,\"components\":[{\"type\":\"BODY\",\"text\":"
            "\"Pedido {{1}}\"}]}]}");
    control("POST", "/_sim/faults", "{\"unreachable\":[\"+34600700001\",\"+34600700002\"]}");
    char *w = send_for_wamid(PHONE1, "+34600700001", "po_short", "es", 1);
    char *w30 = send_for_wamid(PHONE2, "+34600700002", "po_notification", "es", 3);
    json_t *st = wait_statuses_of(w, 2, 5000);
    assert_string_equal(str_at(json_array_get(st, 0), "status"), "sent");
    const json_t *failed = json_array_get(st, 1);
    assert_string_equal(str_at(failed, "status"), "failed");
    const json_t *e = json_array_get(json_object_get(failed, "errors"), 0);
    assert_int_equal(json_integer_value(json_object_get(e, "code")), 131026);
    assert_non_null(json_object_get(e, "title"));
    assert_null(json_object_get(failed, "pricing"));
    json_decref(st);
    /* Meta's default (30 days) keeps the other one waiting: sent, nothing else */
    st = statuses_of(w30);
    assert_int_equal(json_array_size(st), 1);
    assert_string_equal(str_at(json_array_get(st, 0), "status"), "sent");
    json_decref(st);
    free(w);
    free(w30);

    /* the code is a setting, as sources differ */
    control("POST", "/_sim/settings", "{\"ttl_error_code\":131049}");
    w = send_for_wamid(PHONE10, "+34600700001", "po_short", "es", 1);
    st = wait_statuses_of(w, 2, 5000);
    e = json_array_get(json_object_get(json_array_get(st, 1), "errors"), 0);
    assert_int_equal(json_integer_value(json_object_get(e, "code")), 131049);
    json_decref(st);
    free(w);

    /* Meta's ranges when a template is created through the Graph API */
    json_t *doc = NULL;
    long code = sim_call("POST", "/v25.0/" WABA "/message_templates", TOKEN,
                         "{\"name\":\"po_ttl\",\"language\":\"es\",\"category\":\"UTILITY\","
                         "\"message_send_ttl_seconds\":10,\"components\":[{\"type\":\"BODY\","
                         "\"text\":\"Pedido\"}]}",
                         &doc);
    assert_meta_error(code, doc, 400, 100);
    assert_int_equal(sim_call("POST", "/v25.0/" WABA "/message_templates", TOKEN,
                              "{\"name\":\"po_ttl\",\"language\":\"es\",\"category\":\"UTILITY\","
                              "\"message_send_ttl_seconds\":43200,\"components\":[{\"type\":"
                              "\"BODY\",\"text\":\"Pedido\"}]}",
                              &doc),
                     200);
    json_decref(doc);
    doc = graph_get("/v25.0/" WABA
                    "/message_templates?name=po_ttl&fields=name,message_send_ttl_seconds");
    assert_int_equal(
        json_integer_value(json_object_get(json_array_get(json_object_get(doc, "data"), 0),
                                           "message_send_ttl_seconds")),
        43200);
    json_decref(doc);
    code = sim_call("POST", "/v25.0/" PHONE1 "/messages", TOKEN,
                    "{\"messaging_product\":\"whatsapp\",\"to\":\"+34600700003\",\"type\":"
                    "\"template\",\"ttl_seconds\":5,\"template\":{\"name\":\"po_ttl\","
                    "\"language\":{\"code\":\"es\"}}}",
                    &doc);
    assert_meta_error(code, doc, 400, 100);
}

/* ---------- 8. template management ---------- */

static long create_po(const char *lang, bool with_example, json_t **out)
{
    char body[600];
    snprintf(body, sizeof body,
             "{\"name\":\"po_notification\",\"language\":\"%s\",\"category\":\"UTILITY\","
             "\"message_send_ttl_seconds\":43200,\"components\":[{\"type\":\"BODY\",\"text\":"
             "\"Hola {{1}}, comanda {{2}} per {{3}}.\"%s}]}",
             lang,
             with_example ? ",\"example\":{\"body_text\":[[\"Proveedor\",\"PO-1\",\"1,00 €\"]]}"
                          : "");
    return sim_call("POST", "/v25.0/" WABA "/message_templates", TOKEN, body, out);
}

static const char *template_status(const char *lang)
{
    static char status[32];
    char path[160];
    snprintf(path, sizeof path,
             "/v25.0/" WABA "/message_templates?name=po_notification&language=%s&fields=status,"
             "rejected_reason",
             lang);
    json_t *doc = graph_get(path);
    const json_t *t = json_array_get(json_object_get(doc, "data"), 0);
    snprintf(status, sizeof status, "%s/%s", str_at(t, "status"), str_at(t, "rejected_reason"));
    json_decref(doc);
    return status;
}

static void new_templates_are_reviewed_and_announced(void **state)
{
    (void)state;
    json_t *doc = NULL;
    control("POST", "/_sim/settings",
            "{\"template_review_ms\":300,\"reject_languages\":[\"ca\"],\"reject_reason\":"
            "\"INVALID_FORMAT\"}");
    assert_int_equal(create_po("ca", true, &doc), 200);
    assert_string_equal(str_at(doc, "status"), "PENDING");
    assert_string_equal(str_at(doc, "category"), "UTILITY");
    json_decref(doc);
    assert_int_equal(create_po("gl", true, &doc), 200);
    json_decref(doc);
    assert_string_equal(template_status("gl"), "PENDING/NONE");
    long st = send_po(PHONE1, "+34600800001", "gl", &doc);
    assert_meta_error(st, doc, 404, 132001);

    json_t *v = rx_wait_field("message_template_status_update", 2, 5000);
    const json_t *gl = value_with(v, "message_template_language", "gl");
    const json_t *ca = value_with(v, "message_template_language", "ca");
    assert_string_equal(str_at(gl, "event"), "APPROVED");
    assert_string_equal(str_at(ca, "event"), "REJECTED");
    assert_string_equal(str_at(ca, "reason"), "INVALID_FORMAT");
    assert_true(json_is_integer(json_object_get(ca, "message_template_id")));
    json_decref(v);
    assert_string_equal(template_status("gl"), "APPROVED/NONE");
    assert_string_equal(template_status("ca"), "REJECTED/INVALID_FORMAT");
    send_ok(PHONE1, "+34600800002", "gl");

    /* Meta's validation */
    st = create_po("gl", true, &doc); /* the same name and language again */
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(doc, "error"), "error_subcode")),
        2388024);
    assert_meta_error(st, doc, 400, 100);
    st = create_po("pt_BR", false, &doc);
    assert_true(
        strstr(str_at(json_object_get(json_object_get(doc, "error"), "error_data"), "details"),
               "example") != NULL);
    assert_meta_error(st, doc, 400, 100);
    st = sim_call("POST", "/v25.0/" WABA "/message_templates", TOKEN,
                  "{\"name\":\"PO Notification\",\"language\":\"es\",\"category\":\"UTILITY\","
                  "\"components\":[{\"type\":\"BODY\",\"text\":\"x\"}]}",
                  &doc);
    assert_meta_error(st, doc, 400, 100);
    st = sim_call("POST", "/v25.0/" WABA "/message_templates", TOKEN,
                  "{\"name\":\"po_x\",\"language\":\"es\",\"category\":\"TRANSACTIONAL\","
                  "\"components\":[{\"type\":\"BODY\",\"text\":\"x\"}]}",
                  &doc);
    assert_meta_error(st, doc, 400, 100);
    /* without a review delay (the default) creation decides at once, as before */
    control("POST", "/_sim/settings",
            "{\"template_review_ms\":0,\"reject_languages\":[\"fr\"],\"reject_reason\":"
            "\"TAG_CONTENT_MISMATCH\"}");
    assert_int_equal(create_po("it", true, &doc), 200);
    assert_string_equal(str_at(doc, "status"), "APPROVED");
    json_decref(doc);
    assert_int_equal(create_po("fr", true, &doc), 200);
    assert_string_equal(str_at(doc, "status"), "REJECTED");
    json_decref(doc);
    assert_string_equal(template_status("fr"), "REJECTED/TAG_CONTENT_MISMATCH");
}

/* ---------- 9. the portfolio's messaging limit ---------- */

static void the_portfolio_limit_counts_new_users_across_numbers(void **state)
{
    (void)state;
    static const char *const phones[] = {PHONE1,
                                         PHONE2,
                                         "109876543210003",
                                         "109876543210004",
                                         "109876543210005",
                                         "109876543210006",
                                         "109876543210007",
                                         "109876543210008",
                                         "109876543210009",
                                         PHONE10};
    char to[32];
    json_t *doc = NULL;
    control("POST", "/_sim/settings",
            "{\"messaging_limit\":250,\"mps\":0,\"pair_window_ms\":0,\"statuses\":[]}");
    for (int i = 0; i < 250; i++) {
        snprintf(to, sizeof to, "+3461000%04d", i);
        send_ok(phones[i % 10], to, "es");
    }
    /* the 251st user, on any number, is refused as Meta does */
    long st = send_po(PHONE10, "+34610009999", "es", &doc);
    assert_true(
        strstr(str_at(json_object_get(json_object_get(doc, "error"), "error_data"), "details"),
               "messaging limit") != NULL);
    assert_meta_error(st, doc, 429, 131048);
    /* users already reached, and users inside a service window, still get messages */
    send_ok(PHONE2, "+34610000000", "es");
    inbound(PHONE1, "+34610008888");
    send_ok(PHONE1, "+34610008888", "es");
    json_t *h = health_of(PHONE1);
    assert_string_equal(
        str_at(entity(json_object_get(h, "health_status"), "BUSINESS"), "can_send_message"),
        "LIMITED");
    json_decref(h);
    /* 24 hours later the window has moved on */
    control("POST", "/_sim/clock", "{\"advance_ms\":86400001}");
    send_ok(PHONE10, "+34610009999", "es");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(versions_follow_meta_table_and_header_names_the_server, reset),
        cmocka_unit_test_setup(account_errors_stop_every_number_until_cleared, reset),
        cmocka_unit_test_setup(template_and_number_errors_have_their_own_scope, reset),
        cmocka_unit_test_setup(each_account_field_is_emitted_signed_in_meta_shape, reset),
        cmocka_unit_test_setup(template_changes_show_in_the_graph_api_and_are_announced, reset),
        cmocka_unit_test_setup(number_changes_show_in_the_graph_api_and_are_announced, reset),
        cmocka_unit_test_setup(statuses_carry_pricing_free_inside_the_service_window, reset),
        cmocka_unit_test_setup(health_status_of_number_account_and_template, reset),
        cmocka_unit_test_setup(bsuids_on_statuses_and_inbound_messages, reset),
        cmocka_unit_test_setup(unreachable_recipients_fail_when_the_ttl_passes, reset),
        cmocka_unit_test_setup(new_templates_are_reviewed_and_announced, reset),
        cmocka_unit_test_setup(the_portfolio_limit_counts_new_users_across_numbers, reset),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
