/* harness_silent.c - a peer that never answers. */
#include "harness_silent.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define SILENT_MAX 64

struct h_silent {
    int listener;
    char url[64];
    pthread_t thread;
    pthread_mutex_t lock;
    int fds[SILENT_MAX];     /* under lock */
    char *lines[SILENT_MAX]; /* each connection's first request line, under lock */
    int n;
};

/* Reads the request line of fd (a second at most); "" when none came. */
static char *first_line(int fd)
{
    char got[2048];
    size_t len = 0;
    struct timeval tv = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    while (len < sizeof got - 1) {
        ssize_t r = recv(fd, got + len, sizeof got - 1 - len, 0);
        if (r <= 0)
            break;
        len += (size_t)r;
        got[len] = '\0';
        if (strstr(got, "\r\n"))
            break;
    }
    got[len] = '\0';
    got[strcspn(got, "\r\n")] = '\0';
    return strdup(got);
}

static void *accept_run(void *arg)
{
    struct h_silent *s = arg;
    for (;;) {
        int fd = accept(s->listener, NULL, NULL);
        if (fd < 0)
            return NULL; /* the listener was shut down */
        char *line = first_line(fd);
        pthread_mutex_lock(&s->lock);
        if (s->n < SILENT_MAX) {
            s->fds[s->n] = fd;
            s->lines[s->n++] = line;
            fd = -1;
            line = NULL;
        }
        pthread_mutex_unlock(&s->lock);
        if (fd >= 0)
            close(fd);
        free(line);
    }
}

struct h_silent *h_silent_start(void)
{
    struct h_silent *s = calloc(1, sizeof(*s));
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof a;
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    s->listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    pthread_mutex_init(&s->lock, NULL);
    if (s->listener < 0 || bind(s->listener, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(s->listener, SILENT_MAX) != 0 ||
        getsockname(s->listener, (struct sockaddr *)&a, &len) != 0 ||
        pthread_create(&s->thread, NULL, accept_run, s) != 0) {
        if (s->listener >= 0)
            close(s->listener);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return NULL;
    }
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%u", ntohs(a.sin_port));
    return s;
}

const char *h_silent_url(const struct h_silent *s)
{
    return s->url;
}

int h_silent_requests(struct h_silent *s, const char *part)
{
    int count = 0;
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < s->n; i++)
        count += strstr(s->lines[i], part) != NULL;
    pthread_mutex_unlock(&s->lock);
    return count;
}

void h_silent_stop(struct h_silent *s)
{
    if (!s)
        return;
    shutdown(s->listener, SHUT_RDWR);
    pthread_join(s->thread, NULL);
    close(s->listener);
    for (int i = 0; i < s->n; i++) {
        close(s->fds[i]);
        free(s->lines[i]);
    }
    pthread_mutex_destroy(&s->lock);
    free(s);
}
