/* harness_receiver.c - libmicrohttpd, a thread per connection, the body read whole. */
#include "harness_receiver.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

struct h_receiver {
    struct MHD_Daemon *daemon;
    unsigned port;
    h_on_post fn;
    void *arg;
};

const char *h_post_header(const struct h_post *p, const char *name)
{
    return MHD_lookup_connection_value(p->conn, MHD_HEADER_KIND, name);
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(2, (void *)"ok", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)url;
    (void)version;
    struct h_receiver *r = cls;
    struct buf *b = *con_cls;
    if (!b) {
        *con_cls = xcalloc(1, sizeof(*b));
        return MHD_YES;
    }
    if (*upload_size) {
        buf_append(b, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "POST") != 0)
        return reply(conn, 405);
    char *body = xstrndup(b->data ? b->data : "", b->len);
    struct h_post p = {body, b->len, conn};
    unsigned status = r->fn(r->arg, &p);
    free(body);
    return reply(conn, status);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct buf *b = *con_cls;
    if (b) {
        buf_free(b);
        free(b);
    }
    *con_cls = NULL;
}

struct h_receiver *h_receiver_start(unsigned port, h_on_post fn, void *arg)
{
    struct h_receiver *r = xcalloc(1, sizeof(*r));
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    r->fn = fn;
    r->arg = arg;
    r->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL, on_request,
        r, MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1, MHD_OPTION_END);
    const union MHD_DaemonInfo *info =
        r->daemon ? MHD_get_daemon_info(r->daemon, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    r->port = info ? info->port : 0;
    if (!r->port) {
        h_receiver_stop(r);
        return NULL;
    }
    return r;
}

unsigned h_receiver_port(const struct h_receiver *r)
{
    return r->port;
}

void h_receiver_stop(struct h_receiver *r)
{
    if (!r)
        return;
    if (r->daemon)
        MHD_stop_daemon(r->daemon);
    free(r);
}
