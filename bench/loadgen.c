/* loadgen.c - constant-rate, open-loop HTTP load for latency percentiles.
 *
 * wrk measures throughput with closed-loop connections; it cannot hold a fixed request
 * rate, so its latencies omit the time a request would have waited behind a slow one.
 * loadgen schedules request i at start + i/rate and measures latency from that intended
 * time (coordinated omission corrected), over a pool of kept-alive connections.
 *
 * It shares the machine with what it measures (benchmark 3 runs everything on 2 cores),
 * so it speaks just enough HTTP/1.1 itself, over epoll: a request costs a send, a recv
 * and its share of one epoll_wait and one timer read. (Through libcurl's multi interface
 * it made 23 system calls per request: a liveness poll before each reuse, a poll of all
 * connections per loop, and the timer re-armed per request; 15% of the machine at
 * 3,040 requests/s.) Responses must carry Content-Length, as the services' all do; one
 * without it counts as an error and closes its connection.
 *
 * usage: loadgen --url URL [--method M] [--rate N] [--duration S] [--connections C]
 *                [--header 'K: V']... [--body TEMPLATE] [--ids FILE] [--log FILE]
 *                [--warmup S] [--closed]
 * URL is http://HOST:PORT/PATH. URL and body may contain {uuid} (a fresh UUID), {seq}
 * (request number), {seq8} (the same, zero-padded to 8 digits), {id} (a random line of
 * FILE) and {rr} (the lines of FILE in turn, so each gets rate/lines per second). Prints
 * one line of key=value results; --log writes each request's scheduled start and
 * latency, in ms, one per line, to see when in the run the slow ones were. --warmup S
 * runs S seconds of the same load first, not counted: the connections a run opens, on
 * both ends, are not its steady state. --closed drops the schedule: each connection sends
 * its next request as soon as its answer is in, for the duration, and a latency is from
 * the send to the answer (what wrk measures; wrk 4.1 reported on this VM a mean latency
 * that its own request rate and connection count contradict). */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
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
    bool closed;
};

/* A kept-alive connection and the request it carries. */
struct slot {
    int fd;           /* -1: not connected */
    struct buf out;   /* the request's bytes */
    size_t sent;      /* of out */
    struct buf in;    /* the response so far */
    size_t need;      /* the response's whole length once its head is in, else 0 */
    double scheduled; /* seconds since start when this request was due */
    bool busy;
    bool watching_out; /* EPOLLOUT is on: a send that did not go whole */
};

struct target {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char host[256]; /* HOST:PORT, for the Host header */
    const char *path_tmpl;
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

/* Makes timerfd tfd fire every interval_s seconds from monotonic time first_s (0, 0:
 * never again): one wake-up per scheduled request, without re-arming it for each.
 * (epoll_wait's own timeout counts whole milliseconds, and at 2,000 requests per second
 * a request started up to a millisecond late would be charged to the server.) */
static void arm_every(int tfd, double first_s, double interval_s)
{
    struct itimerspec its = {0};
    its.it_value.tv_sec = (time_t)first_s;
    its.it_value.tv_nsec = (long)((first_s - (double)its.it_value.tv_sec) * 1e9);
    its.it_interval.tv_sec = (time_t)interval_s;
    its.it_interval.tv_nsec = (long)((interval_s - (double)its.it_interval.tv_sec) * 1e9);
    if (interval_s > 0 && its.it_interval.tv_sec == 0 && its.it_interval.tv_nsec == 0)
        its.it_interval.tv_nsec = 1;
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
                    "[--log FILE] [--warmup S] [--closed]\n");
    return 2;
}

static bool parse_args(int argc, char **argv, struct options *o)
{
    *o = (struct options){.method = "GET", .rate = 1000, .duration = 10, .connections = 64};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--closed") == 0) { /* the one option without a value */
            o->closed = true;
            continue;
        }
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

/* Splits http://HOST:PORT/PATH and resolves HOST; PATH (with its placeholders) stays a
 * template. */
static bool parse_url(const char *url, struct target *t)
{
    const char *p = strncmp(url, "http://", 7) == 0 ? url + 7 : NULL;
    if (!p)
        return false;
    const char *slash = strchr(p, '/');
    size_t hostlen = slash ? (size_t)(slash - p) : strlen(p);
    const char *colon = memchr(p, ':', hostlen);
    if (!colon || hostlen >= sizeof t->host || hostlen == 0)
        return false;
    memcpy(t->host, p, hostlen);
    t->host[hostlen] = '\0';
    t->path_tmpl = slash ? slash : "/";
    char name[256], port[16];
    size_t namelen = (size_t)(colon - p), portlen = hostlen - namelen - 1;
    if (namelen == 0 || portlen == 0 || portlen >= sizeof port)
        return false;
    memcpy(name, p, namelen);
    name[namelen] = '\0';
    memcpy(port, colon + 1, portlen);
    port[portlen] = '\0';
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
    if (getaddrinfo(name, port, &hints, &res) != 0)
        return false;
    memcpy(&t->addr, res->ai_addr, res->ai_addrlen);
    t->addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    return true;
}

/* Connects slot s (to this machine: the connect completes at once) and watches it. */
static bool slot_connect(struct slot *s, const struct target *t, int ep)
{
    int fd = socket(t->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (const struct sockaddr *)&t->addr, t->addrlen) != 0) {
        close(fd);
        return false;
    }
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
        close(fd);
        return false;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = s};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        close(fd);
        return false;
    }
    s->fd = fd;
    return true;
}

static void slot_close(struct slot *s, int ep)
{
    if (s->fd >= 0) {
        epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
        close(s->fd);
        s->fd = -1;
    }
    s->watching_out = false; /* a new connection is watched for reading alone */
}

/* Sends what is left of s's request; false when the connection failed. */
static bool slot_send(struct slot *s, int ep)
{
    while (s->sent < s->out.len) {
        ssize_t n = send(s->fd, s->out.data + s->sent, s->out.len - s->sent, MSG_NOSIGNAL);
        if (n > 0) {
            s->sent += (size_t)n;
        } else if (n < 0 && errno == EAGAIN) { /* the rest when it can go */
            if (!s->watching_out) {
                struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = s};
                epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev);
                s->watching_out = true;
            }
            return true;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            return false;
        }
    }
    if (s->watching_out) { /* sent whole: back to reading alone */
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = s};
        epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev);
        s->watching_out = false;
    }
    return true;
}

/* The value of header name (lower case, with its colon) in head, or NULL. */
static const char *header_value(const char *head, size_t len, const char *name)
{
    size_t nl = strlen(name);
    for (const char *line = head; line && line < head + len;) {
        const char *eol = memchr(line, '\n', (size_t)(head + len - line));
        if (strncasecmp(line, name, nl) == 0) {
            const char *v = line + nl;
            while (*v == ' ' || *v == '\t')
                v++;
            return v;
        }
        line = eol ? eol + 1 : NULL;
    }
    return NULL;
}

enum response { RESPONSE_PARTIAL, RESPONSE_OK, RESPONSE_FAILED };

/* Reads what s's connection has; once the whole response is in, tells whether it was a
 * 2xx (and closes the connection when the server said so). */
static enum response slot_read(struct slot *s, int ep)
{
    for (;;) {
        if (s->in.cap - s->in.len < 4096) {
            s->in.cap = s->in.len + 16384;
            s->in.data = xrealloc(s->in.data, s->in.cap);
        }
        ssize_t n = recv(s->fd, s->in.data + s->in.len, s->in.cap - s->in.len - 1, 0);
        if (n > 0) {
            s->in.len += (size_t)n;
            s->in.data[s->in.len] = '\0';
            break;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return RESPONSE_PARTIAL;
        return RESPONSE_FAILED; /* closed before its answer, or an error */
    }
    if (!s->need) {
        const char *end = strstr(s->in.data, "\r\n\r\n");
        if (!end)
            return RESPONSE_PARTIAL;
        size_t head = (size_t)(end - s->in.data) + 4;
        const char *cl = header_value(s->in.data, head, "content-length:");
        if (!cl)
            return RESPONSE_FAILED;
        s->need = head + strtoul(cl, NULL, 10);
    }
    if (s->in.len < s->need)
        return RESPONSE_PARTIAL;
    int status = 0;
    bool ok = sscanf(s->in.data, "HTTP/1.%*d %d", &status) == 1 && status >= 200 && status < 300;
    const char *conn = header_value(s->in.data, s->need, "connection:");
    if (conn && strncasecmp(conn, "close", 5) == 0)
        slot_close(s, ep);
    return ok ? RESPONSE_OK : RESPONSE_FAILED;
}

int main(int argc, char **argv)
{
    struct options o;
    struct ids ids = {0};
    struct target target;
    if (!parse_args(argc, argv, &o))
        return usage();
    if (!parse_url(o.url, &target)) {
        fprintf(stderr, "loadgen: the URL must be http://HOST:PORT/PATH: %s\n", o.url);
        return 2;
    }
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (tfd < 0 || ep < 0) {
        perror("loadgen: timerfd_create/epoll_create1");
        return 2;
    }
    FILE *log = o.log_path ? fopen(o.log_path, "w") : NULL;
    if (o.log_path && !log) {
        perror(o.log_path);
        return 2;
    }
    if (o.ids_path && !load_ids(o.ids_path, &ids)) {
        fprintf(stderr, "loadgen: cannot read ids from %s\n", o.ids_path);
        return 2;
    }
    struct buf extra = {0}; /* the headers after the request line and Host */
    for (size_t i = 0; i < o.nheaders; i++)
        buf_printf(&extra, "%s\r\n", o.headers[i]);
    if (o.body)
        buf_append_str(&extra, "Content-Type: application/json\r\n");

    size_t total = (size_t)(o.rate * (o.warmup + o.duration)); /* closed: SIZE_MAX */
    if (o.closed)
        total = SIZE_MAX;
    size_t cap = o.closed ? 65536 : total;
    double *latencies = xcalloc(cap, sizeof(double));
    size_t nlat = 0, warmup_requests = 0, errors = 0, late_starts = 0;
    size_t nslots = (size_t)o.connections;
    struct slot *slots = xcalloc(nslots, sizeof(*slots));
    struct slot **idle = xcalloc(nslots, sizeof(*idle)); /* a stack of the free ones */
    size_t nidle = 0;
    for (size_t i = nslots; i-- > 0;) {
        slots[i].fd = -1;
        idle[nidle++] = &slots[i];
    }
    struct epoll_event tev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &tev);

    unsigned seed = (unsigned)time(NULL);
    size_t next = 0, running = 0;
    double start = now_s();
    double interval = 1.0 / (double)o.rate;
    double end_s = (double)(o.warmup + o.duration);
    bool ticking = !o.closed;
    if (ticking)
        arm_every(tfd, start, interval);
    struct epoll_event events[256];
    while (next < total || running > 0) {
        double t = now_s() - start;
        /* Start every request that is due, as far as connections allow. */
        /* (the clock reads whole microseconds: a tick may look a hair early) */
        if (o.closed && t >= end_s)
            total = next; /* the duration is over: start nothing more */
        while (next < total && nidle > 0 && (o.closed || (double)next * interval <= t + 2e-6)) {
            struct slot *s = idle[--nidle];
            s->scheduled = o.closed ? t : (double)next * interval;
            if (t - s->scheduled > 0.001 && s->scheduled >= (double)o.warmup)
                late_starts++;
            char *path = expand(target.path_tmpl, next, &ids, &seed);
            char *body = o.body ? expand(o.body, next, &ids, &seed) : NULL;
            buf_reset(&s->out);
            buf_printf(&s->out, "%s %s HTTP/1.1\r\nHost: %s\r\n%s", o.method, path, target.host,
                       extra.data ? extra.data : "");
            if (body)
                buf_printf(&s->out, "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
            else
                buf_append_str(&s->out, "\r\n");
            free(path);
            free(body);
            s->sent = 0;
            s->need = 0;
            buf_reset(&s->in);
            s->busy = true;
            running++;
            next++;
            if ((s->fd < 0 && !slot_connect(s, &target, ep)) || !slot_send(s, ep)) {
                errors++;
                slot_close(s, ep);
                s->busy = false;
                running--;
                idle[nidle++] = s;
            }
        }
        if (next >= total && running == 0)
            break; /* closed, the duration over and every answer in: nothing to wait for */
        int wait_ms = 1000;
        if (o.closed && next < total)
            wait_ms = (int)((end_s - t) * 1000.0) + 1;
        int n = epoll_wait(ep, events, 256, wait_ms > 1000 ? 1000 : wait_ms);
        for (int i = 0; i < n; i++) {
            struct slot *s = events[i].data.ptr;
            if (!s) { /* the schedule's tick */
                uint64_t ticks;
                if (read(tfd, &ticks, sizeof ticks) < 0) {
                    /* another tick's read took it */
                }
                continue;
            }
            if (!s->busy) { /* an idle connection the server closed */
                slot_close(s, ep);
                continue;
            }
            enum response r = RESPONSE_PARTIAL;
            if ((events[i].events & EPOLLOUT) && !slot_send(s, ep))
                r = RESPONSE_FAILED;
            else if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
                r = slot_read(s, ep);
            if (r == RESPONSE_PARTIAL)
                continue;
            if (r == RESPONSE_FAILED) {
                errors++;
                slot_close(s, ep);
            }
            double latency_ms = (now_s() - start - s->scheduled) * 1000.0;
            if (log)
                fprintf(log, "%.3f %.3f\n", s->scheduled * 1000.0, latency_ms);
            if (s->scheduled >= (double)o.warmup) {
                if (nlat == cap) {
                    cap *= 2;
                    latencies = xrealloc(latencies, cap * sizeof(double));
                }
                latencies[nlat++] = latency_ms;
            } else
                warmup_requests++;
            if (s->fd >= 0 && s->in.len > s->need) /* bytes beyond the answer: start anew */
                slot_close(s, ep);
            s->busy = false;
            running--;
            idle[nidle++] = s;
        }
        if (next >= total && ticking) {
            arm_every(tfd, 0, 0); /* all started: no more ticks */
            ticking = false;
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
        slot_close(&slots[i], ep);
        buf_free(&slots[i].out);
        buf_free(&slots[i].in);
    }
    for (size_t i = 0; i < ids.count; i++)
        free(ids.items[i]);
    free(ids.items);
    free(idle);
    free(slots);
    free(latencies);
    buf_free(&extra);
    close(ep);
    close(tfd);
    if (log)
        fclose(log);
    return 0;
}
