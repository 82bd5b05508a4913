/* loadgen.c - constant-rate, open-loop HTTP load for latency percentiles.
 *
 * wrk measures throughput with closed-loop connections; it cannot hold a fixed request
 * rate, so its latencies omit the time a request would have waited behind a slow one.
 * loadgen schedules request i at start + i/rate and measures latency from that intended
 * time (coordinated omission corrected), over a pool of kept-alive connections.
 *
 * usage: loadgen --url URL [--method M] [--rate N] [--duration S] [--connections C]
 *                [--header 'K: V']... [--body TEMPLATE] [--ids FILE] [--log FILE]
 *                [--warmup S]
 * URL and body may contain {uuid} (a fresh UUID), {seq} (request number), {seq8} (the
 * same, zero-padded to 8 digits), {id} (a random line of FILE) and {rr} (the lines of
 * FILE in turn, so each gets rate/lines per second). Prints one line of key=value
 * results; --log writes each request's scheduled start and latency, in ms, one per line,
 * to see when in the run the slow ones were. --warmup S runs S seconds of the same load
 * first, not counted: the connections a run opens, on both ends, are not its steady
 * state. */
#include <curl/curl.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "config.h"
#include "monotonic.h"
#include "uuidutil.h"

#define MAX_HEADERS 8

struct options {
    const char *url;
    const char *method;
    const char *body;
    const char *ids_path;
    const char *log_path;
    const char *headers[MAX_HEADERS];
    size_t nheaders;
    long rate;
    long duration;
    long connections;
    long warmup;
};

struct slot {
    CURL *easy;
    char *url;
    char *body;
    double scheduled; /* seconds since start when this request was due */
    bool busy;
};

struct ids {
    char **items;
    size_t count;
};

/* Seconds of the monotonic clock, which the timerfd below also counts in. */
static double now_s(void)
{
    return (double)monotonic_us() / 1e6;
}

static size_t discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    (void)ptr;
    (void)userdata;
    return size * nmemb;
}

/* Arms timerfd tfd to fire at monotonic time at_s (seconds): curl_multi_poll's own
 * timeout counts whole milliseconds, and at 2,000 requests per second a request started
 * up to a millisecond late would be charged to the server. */
static void arm_at(int tfd, double at_s)
{
    struct itimerspec its = {0};
    its.it_value.tv_sec = (time_t)at_s;
    its.it_value.tv_nsec = (long)((at_s - (double)its.it_value.tv_sec) * 1e9);
    if (its.it_value.tv_sec <= 0 && its.it_value.tv_nsec <= 0)
        its.it_value.tv_nsec = 1; /* zero would disarm it */
    timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static bool load_ids(const char *path, struct ids *ids)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char line[512];
    size_t cap = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0])
            continue;
        if (ids->count == cap) {
            cap = cap ? cap * 2 : 1024;
            ids->items = xrealloc(ids->items, cap * sizeof(char *));
        }
        ids->items[ids->count++] = xstrdup(line);
    }
    fclose(f);
    return ids->count > 0;
}

/* Expands the placeholders in tmpl for request seq; the caller frees the result. */
static char *expand(const char *tmpl, unsigned long long seq, const struct ids *ids, unsigned *seed)
{
    struct buf b = {0};
    const char *p = tmpl;
    while (*p) {
        if (strncmp(p, "{uuid}", 6) == 0) {
            char u[UUID_STR_LEN];
            uuid_new(u);
            buf_append_str(&b, u);
            p += 6;
        } else if (strncmp(p, "{seq8}", 6) == 0) {
            buf_printf(&b, "%08llu", seq);
            p += 6;
        } else if (strncmp(p, "{rr}", 4) == 0 && ids->count) {
            buf_append_str(&b, ids->items[seq % ids->count]);
            p += 4;
        } else if (strncmp(p, "{seq}", 5) == 0) {
            buf_printf(&b, "%llu", seq);
            p += 5;
        } else if (strncmp(p, "{id}", 4) == 0 && ids->count) {
            buf_append_str(&b, ids->items[(size_t)rand_r(seed) % ids->count]);
            p += 4;
        } else {
            buf_append(&b, p, 1);
            p++;
        }
    }
    return buf_steal(&b);
}

static int usage(void)
{
    fprintf(stderr, "usage: loadgen --url URL [--method M] [--rate N] [--duration S] "
                    "[--connections C] [--header 'K: V']... [--body TEMPLATE] [--ids FILE] "
                    "[--log FILE] [--warmup S]\n");
    return 2;
}

static bool parse_args(int argc, char **argv, struct options *o)
{
    *o = (struct options){.method = "GET", .rate = 1000, .duration = 10, .connections = 64};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return false;
        if (strcmp(a, "--url") == 0)
            o->url = v;
        else if (strcmp(a, "--method") == 0)
            o->method = v;
        else if (strcmp(a, "--body") == 0)
            o->body = v;
        else if (strcmp(a, "--ids") == 0)
            o->ids_path = v;
        else if (strcmp(a, "--log") == 0)
            o->log_path = v;
        else if (strcmp(a, "--header") == 0 && o->nheaders < MAX_HEADERS)
            o->headers[o->nheaders++] = v;
        else if (strcmp(a, "--rate") == 0) {
            if (!cfg_parse_long(v, 1, 1000000, &o->rate))
                return false;
        } else if (strcmp(a, "--duration") == 0) {
            if (!cfg_parse_long(v, 1, 3600, &o->duration))
                return false;
        } else if (strcmp(a, "--warmup") == 0) {
            if (!cfg_parse_long(v, 0, 3600, &o->warmup))
                return false;
        } else if (strcmp(a, "--connections") == 0) {
            if (!cfg_parse_long(v, 1, 4096, &o->connections))
                return false;
        } else
            return false;
        i++;
    }
    return o->url != NULL;
}

int main(int argc, char **argv)
{
    struct options o;
    struct ids ids = {0};
    struct curl_slist *headers = NULL;
    if (!parse_args(argc, argv, &o))
        return usage();
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (tfd < 0) {
        perror("loadgen: timerfd_create");
        return 2;
    }
    FILE *log = o.log_path ? fopen(o.log_path, "w") : NULL;
    if (o.log_path && !log) {
        perror(o.log_path);
        close(tfd);
        return 2;
    }
    if (o.ids_path && !load_ids(o.ids_path, &ids)) {
        fprintf(stderr, "loadgen: cannot read ids from %s\n", o.ids_path);
        close(tfd);
        if (log)
            fclose(log);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    for (size_t i = 0; i < o.nheaders; i++)
        headers = curl_slist_append(headers, o.headers[i]);
    if (o.body)
        headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Expect:");

    size_t total = (size_t)(o.rate * (o.warmup + o.duration));
    double *latencies = xcalloc(total, sizeof(double));
    size_t nlat = 0, warmup_requests = 0, errors = 0, late_starts = 0;
    size_t nslots = (size_t)o.connections;
    struct slot *slots = xcalloc(nslots, sizeof(*slots));
    CURLM *multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)nslots);
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)nslots);
    for (size_t i = 0; i < nslots; i++) {
        CURL *e = curl_easy_init();
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, o.method);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_TIMEOUT, 30L);
        curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(e, CURLOPT_PRIVATE, &slots[i]);
        slots[i].easy = e;
    }

    unsigned seed = (unsigned)time(NULL);
    size_t next = 0, running = 0;
    double start = now_s();
    double interval = 1.0 / (double)o.rate;
    while (next < total || running > 0) {
        double t = now_s() - start;
        /* Start every request that is due, as far as connections allow. */
        for (size_t i = 0; i < nslots && next < total && (double)next * interval <= t; i++) {
            struct slot *s = &slots[i];
            if (s->busy)
                continue;
            s->scheduled = (double)next * interval;
            if (t - s->scheduled > 0.001 && s->scheduled >= (double)o.warmup)
                late_starts++;
            free(s->url);
            free(s->body);
            s->url = expand(o.url, next, &ids, &seed);
            s->body = o.body ? expand(o.body, next, &ids, &seed) : NULL;
            curl_easy_setopt(s->easy, CURLOPT_URL, s->url);
            if (s->body)
                curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, s->body);
            s->busy = true;
            curl_multi_add_handle(multi, s->easy);
            running++;
            next++;
        }
        int still = 0;
        curl_multi_perform(multi, &still);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(multi, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            struct slot *s = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            long status = 0;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
            if (msg->data.result != CURLE_OK || status < 200 || status >= 300)
                errors++;
            double latency_ms = (now_s() - start - s->scheduled) * 1000.0;
            if (log)
                fprintf(log, "%.3f %.3f\n", s->scheduled * 1000.0, latency_ms);
            if (s->scheduled >= (double)o.warmup)
                latencies[nlat++] = latency_ms;
            else
                warmup_requests++;
            curl_multi_remove_handle(multi, msg->easy_handle);
            s->busy = false;
            running--;
        }
        if (next < total && running < nslots) {
            /* Sleep until the next request is due or a transfer needs attention. */
            arm_at(tfd, start + (double)next * interval);
            struct curl_waitfd due = {.fd = tfd, .events = CURL_WAIT_POLLIN};
            curl_multi_poll(multi, &due, 1, 1000, NULL);
            uint64_t expirations;
            if (read(tfd, &expirations, sizeof expirations) < 0) {
                /* not yet expired: woken by a transfer */
            }
        } else if (running > 0) {
            curl_multi_poll(multi, NULL, 0, 1000, NULL);
        }
    }
    double elapsed = now_s() - start - (double)o.warmup;

    qsort(latencies, nlat, sizeof(double), cmp_double);
#define PCT(p) (nlat ? latencies[(size_t)((double)(nlat - 1) * (p))] : 0.0)
    /* errors counts the warm-up's requests too: a failure is one wherever it falls */
    printf("requests=%zu warmup_requests=%zu errors=%zu seconds=%.2f rate=%.1f p50_ms=%.3f "
           "p90_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f late_starts=%zu\n",
           nlat, warmup_requests, errors, elapsed, (double)nlat / elapsed, PCT(0.50), PCT(0.90),
           PCT(0.99), PCT(0.999), nlat ? latencies[nlat - 1] : 0.0, late_starts);
#undef PCT

    for (size_t i = 0; i < nslots; i++) {
        curl_easy_cleanup(slots[i].easy);
        free(slots[i].url);
        free(slots[i].body);
    }
    for (size_t i = 0; i < ids.count; i++)
        free(ids.items[i]);
    free(ids.items);
    free(slots);
    free(latencies);
    curl_slist_free_all(headers);
    curl_multi_cleanup(multi);
    curl_global_cleanup();
    close(tfd);
    if (log)
        fclose(log);
    return errors ? 1 : 0;
}
