/* settings_listener.c - a thread with a LISTEN connection on tenant_settings_changes
 * that wakes the feed's parked requests. */
#include "settings_listener.h"

#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <unistd.h>

#include "console_events.h"
#include "db.h"
#include "log.h"
#include "monotonic.h"
#include "wakefd.h"

#define RETRY_MS 1000

static struct {
    struct http_server *srv;
    pthread_t thread;
    bool started;
    int stop_fd;
} listener = {.stop_fd = -1};

static void *listen_run(void *arg)
{
    (void)arg;
    db_thread_background();
    PGconn *conn = NULL;
    int64_t retry_at = 0;
    bool down_logged = false;

    for (;;) {
        int64_t now = monotonic_ms();
        if (!conn && now >= retry_at) {
            conn = db_listen("tenant_settings_changes", "bakery-whatsapp settings listener");
            retry_at = now + RETRY_MS;
            if (conn) {
                if (down_logged)
                    log_info("settings listener connected again");
                down_logged = false;
                /* changes made while we were away: let the parked requests look */
                http_server_wake(listener.srv, SETTINGS_TOPIC);
                console_events_changed();
            } else if (!down_logged) {
                log_warn("settings listener cannot LISTEN; the feed polls every %d ms meanwhile",
                         SETTINGS_LISTENER_DOWN_WAKE_MS);
                down_logged = true;
            }
        }
        struct pollfd fds[2] = {
            {.fd = listener.stop_fd, .events = POLLIN},
            {.fd = conn ? PQsocket(conn) : -1, .events = POLLIN},
        };
        int timeout = conn ? -1 : SETTINGS_LISTENER_DOWN_WAKE_MS;
        if (poll(fds, 2, timeout) < 0)
            continue;
        if (fds[0].revents & POLLIN)
            break;
        if (!conn) {
            http_server_wake(listener.srv, SETTINGS_TOPIC);
            console_events_changed();
            continue;
        }
        if (fds[1].revents) {
            int n = db_listen_drain(conn);
            if (n < 0) {
                log_warn("settings listener lost its connection");
                PQfinish(conn);
                conn = NULL;
                retry_at = monotonic_ms() + RETRY_MS;
            }
            if (n != 0) {
                http_server_wake(listener.srv, SETTINGS_TOPIC);
                console_events_changed();
            }
        }
    }
    PQfinish(conn);
    return NULL;
}

bool settings_listener_start(struct http_server *srv)
{
    listener.srv = srv;
    listener.stop_fd = wakefd_new();
    if (listener.stop_fd < 0)
        return false;
    listener.started = pthread_create(&listener.thread, NULL, listen_run, NULL) == 0;
    if (!listener.started) {
        close(listener.stop_fd);
        listener.stop_fd = -1;
        log_error("cannot start the settings listener");
    }
    return listener.started;
}

void settings_listener_stop(void)
{
    if (!listener.started)
        return;
    wakefd_signal(listener.stop_fd);
    pthread_join(listener.thread, NULL);
    close(listener.stop_fd);
    listener.stop_fd = -1;
    listener.started = false;
}
