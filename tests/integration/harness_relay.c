/* harness_relay.c - see harness_relay.h. One thread polls the listening socket (unless
 * stalled), a wake-up pipe and both ends of every relayed connection; bytes are copied
 * as they come (PostgreSQL's traffic in a test is small: a blocking write is fine). */
#include "harness_relay.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alloc.h"

#define RELAY_MAX_PAIRS 64

struct h_relay {
    int listen_fd, wake[2];
    unsigned upstream_port;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    bool stalled, stop;            /* asked, under lock */
    unsigned asked, acted_on;      /* requests made, and the last the thread acted on */
    int pairs[RELAY_MAX_PAIRS][2]; /* client, server; -1 when free (thread's own) */
};

static int connect_upstream(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
        return fd;
    if (fd >= 0)
        close(fd);
    return -1;
}

static void cut(int pair[2])
{
    for (int k = 0; k < 2; k++) {
        if (pair[k] >= 0)
            close(pair[k]);
        pair[k] = -1;
    }
}

static void accept_one(struct h_relay *r)
{
    int client = accept4(r->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (client < 0)
        return;
    int server = connect_upstream(r->upstream_port);
    for (size_t i = 0; server >= 0 && i < RELAY_MAX_PAIRS; i++) {
        if (r->pairs[i][0] < 0) {
            r->pairs[i][0] = client;
            r->pairs[i][1] = server;
            return;
        }
    }
    close(client);
    if (server >= 0)
        close(server);
}

/* Copies what from has to to; false when either end is done. */
static bool copy(int from, int to)
{
    char buf[16384];
    ssize_t n = read(from, buf, sizeof buf);
    if (n <= 0)
        return false;
    for (ssize_t off = 0; off < n;) {
        ssize_t w = write(to, buf + off, (size_t)(n - off));
        if (w <= 0)
            return false;
        off += w;
    }
    return true;
}

static void *run(void *arg)
{
    struct h_relay *r = arg;
    for (;;) {
        pthread_mutex_lock(&r->lock);
        bool stop = r->stop, stalled = r->stalled;
        unsigned asked = r->asked;
        pthread_mutex_unlock(&r->lock);
        if (stalled || stop) {
            for (size_t i = 0; i < RELAY_MAX_PAIRS; i++)
                cut(r->pairs[i]);
        }
        pthread_mutex_lock(&r->lock);
        r->acted_on = asked;
        pthread_cond_broadcast(&r->changed);
        pthread_mutex_unlock(&r->lock);
        if (stop)
            return NULL;

        struct pollfd pfd[2 + 2 * RELAY_MAX_PAIRS];
        size_t n = 0;
        pfd[n++] = (struct pollfd){.fd = r->wake[0], .events = POLLIN};
        pfd[n++] = (struct pollfd){.fd = stalled ? -1 : r->listen_fd, .events = POLLIN};
        for (size_t i = 0; i < RELAY_MAX_PAIRS; i++) {
            pfd[n++] = (struct pollfd){.fd = r->pairs[i][0], .events = POLLIN};
            pfd[n++] = (struct pollfd){.fd = r->pairs[i][1], .events = POLLIN};
        }
        if (poll(pfd, n, -1) <= 0)
            continue;
        if (pfd[0].revents) {
            char c[64];
            (void)!read(r->wake[0], c, sizeof c);
            continue; /* a request: act on it first */
        }
        if (pfd[1].revents)
            accept_one(r);
        for (size_t i = 0; i < RELAY_MAX_PAIRS; i++) {
            for (int k = 0; k < 2; k++) {
                if (r->pairs[i][0] >= 0 && pfd[2 + 2 * i + (size_t)k].revents &&
                    !copy(r->pairs[i][k], r->pairs[i][1 - k]))
                    cut(r->pairs[i]);
            }
        }
    }
}

struct h_relay *h_relay_start(const char *db_url, char *relay_url, size_t len)
{
    const char *host = strstr(db_url, "@127.0.0.1:");
    if (!host)
        return NULL;
    struct h_relay *r = xcalloc(1, sizeof(*r));
    r->upstream_port = (unsigned)strtoul(host + strlen("@127.0.0.1:"), NULL, 10);
    memset(r->pairs, -1, sizeof r->pairs);
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->changed, NULL);
    r->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    if (r->listen_fd < 0 || bind(r->listen_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(r->listen_fd, 64) != 0 ||
        getsockname(r->listen_fd, (struct sockaddr *)&a, &alen) != 0 ||
        pipe2(r->wake, O_CLOEXEC) != 0) {
        if (r->listen_fd >= 0)
            close(r->listen_fd);
        free(r);
        return NULL;
    }
    const char *path = strchr(host + 1, '/');
    snprintf(relay_url, len, "%.*s@127.0.0.1:%u%s", (int)(host - db_url), db_url,
             (unsigned)ntohs(a.sin_port), path ? path : "");
    pthread_create(&r->thread, NULL, run, r);
    return r;
}

static void ask(struct h_relay *r, bool stalled, bool stop)
{
    pthread_mutex_lock(&r->lock);
    r->stalled = stalled;
    r->stop = stop;
    unsigned mine = ++r->asked;
    pthread_mutex_unlock(&r->lock);
    (void)!write(r->wake[1], "x", 1);
    pthread_mutex_lock(&r->lock);
    while ((int)(r->acted_on - mine) < 0)
        pthread_cond_wait(&r->changed, &r->lock);
    pthread_mutex_unlock(&r->lock);
}

void h_relay_stall(struct h_relay *r, bool stalled)
{
    ask(r, stalled, false);
}

void h_relay_free(struct h_relay *r)
{
    if (!r)
        return;
    ask(r, r->stalled, true);
    pthread_join(r->thread, NULL);
    close(r->listen_fd);
    close(r->wake[0]);
    close(r->wake[1]);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->changed);
    free(r);
}
