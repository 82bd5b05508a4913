/* harness.c - process, database and HTTP plumbing for the integration tests. */
#include "harness.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jwt.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "auth.h"
#include "monotonic.h"

static char pg_port[16];

/* ---------- the response record (docs/openapi.yaml is checked against it) ---------- */

/* Which daemon listens on which port: h_start() registers each, so that a recorded
 * response names the service that gave it. The latest registration of a port wins. */
#define RECORD_PORTS 64
static struct {
    unsigned port;
    char name[48];
} record_ports[RECORD_PORTS];
static size_t record_nports;
static pthread_mutex_t record_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t record_once = PTHREAD_ONCE_INIT;
static int record_fd = -1;

static void record_register(unsigned port, const char *name)
{
    pthread_mutex_lock(&record_lock);
    size_t i = 0;
    while (i < record_nports && record_ports[i].port != port)
        i++;
    if (i == record_nports && record_nports < RECORD_PORTS)
        record_nports++;
    if (i < RECORD_PORTS) {
        record_ports[i].port = port;
        snprintf(record_ports[i].name, sizeof record_ports[i].name, "%s", name);
    }
    pthread_mutex_unlock(&record_lock);
}

/* The name of the daemon h_start() put on port (copied into out), or "" when none. */
static void record_service(unsigned port, char *out, size_t outlen)
{
    out[0] = '\0';
    pthread_mutex_lock(&record_lock);
    for (size_t i = 0; i < record_nports; i++) {
        if (record_ports[i].port == port)
            snprintf(out, outlen, "%s", record_ports[i].name);
    }
    pthread_mutex_unlock(&record_lock);
}

/* One file per test process, appended to line by line with one write() each (O_APPEND),
 * so threads of the process never interleave within a line. */
static void record_open(void)
{
    char path[256];
    mkdir(".run", 0755);
    mkdir(".run/test-logs", 0755);
    mkdir(".run/test-logs/responses", 0755);
    snprintf(path, sizeof path, ".run/test-logs/responses/%s-%ld.jsonl",
             program_invocation_short_name, (long)getpid());
    record_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

/* Appends what h_http() got to the record read by tests/openapi/responses.test.mjs:
 * the service (by port), method, path, query, status, content type and, for a JSON
 * answer, its body. */
static void record_response(const char *method, const char *url, const struct h_resp *r)
{
    CURLU *u = curl_url();
    char *path = NULL, *query = NULL, *port = NULL;
    char service[48] = "";

    pthread_once(&record_once, record_open);
    if (record_fd < 0 || !u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
        goto out;
    curl_url_get(u, CURLUPART_PATH, &path, 0);
    curl_url_get(u, CURLUPART_QUERY, &query, 0);
    if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK && port)
        record_service((unsigned)strtoul(port, NULL, 10), service, sizeof service);
    json_t *line =
        json_pack("{s:s?, s:s, s:s, s:s?, s:I, s:s, s:I, s:O?}", "service",
                  service[0] ? service : NULL, "method", method, "path", path ? path : "/", "query",
                  query, "status", (json_int_t)r->status, "content_type", r->content_type, "bytes",
                  (json_int_t)r->len, "body", strstr(r->content_type, "json") ? r->json : NULL);
    char *text = line ? json_dumps(line, JSON_COMPACT) : NULL;
    if (text) {
        size_t n = strlen(text);
        text[n] = '\n'; /* replaces the NUL: written with its length */
        if (write(record_fd, text, n + 1) < 0)
            fprintf(stderr, "harness: cannot record a response: %s\n", strerror(errno));
    }
    free(text);
    json_decref(line);
out:
    curl_free(path);
    curl_free(query);
    curl_free(port);
    curl_url_cleanup(u);
}

static const char *bin_dir(void)
{
    const char *d = getenv("BIN_DIR");
    return d && *d ? d : "build/asan";
}

static const char *pg_dir(void)
{
    const char *d = getenv("TEST_PG_DIR");
    return d && *d ? d : ".run/test-pg";
}

bool h_pg_start(void)
{
    if (pg_port[0])
        return true;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "scripts/pg.sh start %s >/dev/null", pg_dir());
    if (system(cmd) != 0)
        return false;
    char path[256];
    snprintf(path, sizeof path, "%s/env", pg_dir());
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "PG_PORT=", 8) == 0) {
            size_t n = strcspn(line + 8, "\r\n");
            if (n > 0 && n < sizeof pg_port) {
                memcpy(pg_port, line + 8, n);
                pg_port[n] = '\0';
            }
        }
    }
    fclose(f);
    return pg_port[0] != '\0';
}

static PGconn *admin_conn(void)
{
    char url[256];
    snprintf(url, sizeof url, "postgresql://postgres@127.0.0.1:%s/postgres", pg_port);
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "harness: %s", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    return c;
}

bool h_fresh_database(const char *name, char *url, size_t urllen)
{
    if (!h_pg_start())
        return false;
    PGconn *c = admin_conn();
    if (!c)
        return false;
    char *quoted = PQescapeIdentifier(c, name, strlen(name));
    char *drop = xasprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", quoted);
    char *create = xasprintf("CREATE DATABASE %s", quoted);
    PGresult *r1 = PQexec(c, drop);
    PGresult *r2 = PQexec(c, create);
    bool ok = PQresultStatus(r2) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "harness: %s", PQerrorMessage(c));
    PQclear(r1);
    PQclear(r2);
    PQfreemem(quoted);
    free(drop);
    free(create);
    PQfinish(c);
    snprintf(url, urllen, "postgresql://postgres@127.0.0.1:%s/%s", pg_port, name);
    return ok;
}

char *h_sql(const char *url, const char *sql)
{
    char *out = NULL;
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK)
        goto out;
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_TUPLES_OK)
        out = xstrdup(PQntuples(r) && PQnfields(r) ? PQgetvalue(r, 0, 0) : "");
    else if (st == PGRES_COMMAND_OK)
        out = xstrdup(PQcmdTuples(r));
    else
        fprintf(stderr, "harness: SQL failed: %s", PQerrorMessage(c));
    PQclear(r);
out:
    PQfinish(c);
    return out;
}

/* The first port of the kernel's ephemeral range, or 0 when it cannot be read. */
static unsigned ephemeral_first(void)
{
    unsigned first = 0, last = 0;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (!f)
        return 0;
    if (fscanf(f, "%u %u", &first, &last) != 2)
        first = 0;
    fclose(f);
    return first;
}

/* Suites run side by side and a daemon binds its port seconds after the port was found
 * free: each port is handed out once per test run, by a file created exclusively in
 * $H_PORTS_DIR (tests/run.sh makes one per run and removes it at the end). */
static bool reserve_port(unsigned port)
{
    const char *dir = getenv("H_PORTS_DIR");
    if (!dir || !*dir)
        return true; /* a suite run by hand: the bind check alone */
    char path[512];
    snprintf(path, sizeof path, "%s/%u", dir, port);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0)
        return errno != EEXIST; /* no folder to write in: the bind check alone */
    close(fd);
    return true;
}

unsigned h_free_port(void)
{
    /* A random port that binds now (port 0 would give neighbours to processes asking in
     * a row), below the kernel's ephemeral range when there is room: a port in that range
     * can become the local port of any outgoing connection between this check and the
     * daemon's bind, seconds later under valgrind, and the daemon then cannot listen. */
    static unsigned seed, span = 30000;
    if (!seed) {
        seed = (unsigned)time(NULL) ^ (unsigned)getpid();
        unsigned first = ephemeral_first();
        if (first >= 20000 + 5000)
            span = first - 20000;
    }
    for (int attempt = 0; attempt < 200; attempt++) {
        unsigned port = 20000 + (unsigned)(rand_r(&seed) % span);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
        close(fd);
        if (ok && reserve_port(port))
            return port;
    }
    return 0;
}

struct h_resp h_call(const char *method, const char *base, const char *token, const char *body,
                     const char *fmt, ...)
{
    struct buf url = {0};
    va_list ap;
    buf_append_str(&url, base);
    va_start(ap, fmt);
    buf_vprintf(&url, fmt, ap);
    va_end(ap);
    struct h_resp r = body || strcmp(method, "GET") != 0 ? h_json(method, url.data, token, body)
                                                         : h_get(url.data, token);
    buf_free(&url);
    return r;
}

void h_drop_database(const char *url)
{
    const char *name = strrchr(url, '/');
    if (!name || !name[1])
        return;
    char admin[256], sql[256];
    snprintf(admin, sizeof admin, "%.*s/postgres", (int)(name - url), url);
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name + 1);
    free(h_sql(admin, sql));
}

void h_env_add(struct h_env *e, const char *fmt, ...)
{
    struct buf b = {0};
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    assert_true(e->n + 1 < sizeof e->vars / sizeof e->vars[0]);
    e->vars[e->n++] = buf_steal(&b);
    e->vars[e->n] = NULL;
}

void h_env_add_all(struct h_env *e, const char *const *more)
{
    for (size_t i = 0; more && more[i]; i++)
        h_env_add(e, "%s", more[i]);
}

void h_env_free(struct h_env *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->vars[i]);
    e->n = 0;
}

void h_env_notification(struct h_env *e, const char *db, unsigned tenant_port,
                        const char *graph_url)
{
    h_env_add(e, "NOTIFICATION_DATABASE_URL=%s", db);
    h_env_add(e, "JWT_SECRET=" H_JWT_SECRET);
    h_env_add(e, "TENANT_SERVICE_URL=http://127.0.0.1:%u", tenant_port);
    h_env_add(e, "GRAPH_API_BASE_URL=%s", graph_url);
    h_env_add(e, "WHATSAPP_ACCESS_TOKEN=" H_SIM_TOKEN);
    h_env_add(e, "WHATSAPP_BUSINESS_ACCOUNT_ID=" H_SIM_WABA);
    h_env_add(e, "WHATSAPP_APP_SECRET=" H_SIM_SECRET);
    h_env_add(e, "WHATSAPP_PHONE_NUMBER_ID=" H_GLOBAL_PHONE);
}

bool h_wrapped(void)
{
    const char *w = getenv("H_WRAPPER");
    return w && *w;
}

/* The inode of the socket listening on port (any address), 0 when none. */
static unsigned long listener_inode(unsigned port)
{
    FILE *f = fopen("/proc/net/tcp", "r");
    if (!f)
        return 0;
    char line[512];
    unsigned long inode = 0;
    /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode; the first line names them */
    bool header = fgets(line, sizeof line, f) != NULL;
    while (header && !inode && fgets(line, sizeof line, f)) {
        unsigned local_port, state;
        unsigned long ino;
        if (sscanf(line, " %*d: %*x:%x %*x:%*x %x %*x:%*x %*x:%*x %*x %*u %*u %lu", &local_port,
                   &state, &ino) == 3 &&
            local_port == port && state == 0x0A /* LISTEN */)
            inode = ino;
    }
    fclose(f);
    return inode;
}

/* True when process pid holds the socket listening on port. */
static bool holds_listener(pid_t pid, unsigned port)
{
    unsigned long inode = listener_inode(port);
    if (!inode)
        return false;
    char want[48], dir[48];
    snprintf(want, sizeof want, "socket:[%lu]", inode);
    snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(dir);
    bool held = false;
    for (struct dirent *e = d ? readdir(d) : NULL; e && !held; e = readdir(d)) {
        char path[320], target[64];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        ssize_t n = readlink(path, target, sizeof target - 1);
        if (n > 0) {
            target[n] = '\0';
            held = strcmp(target, want) == 0;
        }
    }
    if (d)
        closedir(d);
    return held;
}

struct ready_probe {
    const char *url;
    pid_t pid;
    unsigned port;
    bool foreign; /* another process answered on the port: ours can never listen there */
};

static bool ready_cond(void *arg)
{
    struct ready_probe *probe = arg;
    struct h_resp r = h_get(probe->url, NULL);
    bool ok = r.status == 200;
    h_resp_free(&r);
    /* A port chosen free can be taken by another suite's daemon before ours binds it
     * (seconds, under valgrind): that daemon's 200 is not ours. */
    if (ok && !holds_listener(probe->pid, probe->port))
        probe->foreign = true;
    return ok;
}

void h_child_setup(const char *log_path)
{
    /* Dies with the test: a test that fails before stopping its daemons (cmocka goes on
     * with the next test) must not leave them running, connected to a database the next
     * run creates again under the same name and claiming its messages. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);
    }
}

enum start_result { START_READY, START_FAILED, START_PORT_TAKEN };
static enum start_result start_once(struct h_proc *p, const char *binary, const char *port_var,
                                    const char *const *env, const char *ready_path);

bool h_start(struct h_proc *p, const char *binary, const char *port_var, const char *const *env,
             const char *ready_path)
{
    memset(p, 0, sizeof(*p));
    /* A port the caller chose ("TENANT_PORT=N" in env) wins: two daemons that call each
     * other need each other's URL before either starts. */
    size_t plen = strlen(port_var);
    for (size_t i = 0; env && env[i]; i++) {
        if (strncmp(env[i], port_var, plen) == 0 && env[i][plen] == '=')
            p->port = (unsigned)strtoul(env[i] + plen + 1, NULL, 10);
    }
    bool chosen = p->port != 0;
    if (!chosen)
        p->port = h_free_port();
    for (int attempt = 1;; attempt++) {
        enum start_result r = start_once(p, binary, port_var, env, ready_path);
        if (r != START_PORT_TAKEN)
            return r == START_READY;
        fprintf(stderr, "harness: %s: port %u was taken by another process\n", binary, p->port);
        if (chosen || attempt == 5)
            return false;
        p->port = h_free_port();
    }
}

/* Starts binary on p->port and waits for it to be ready there. */
static enum start_result start_once(struct h_proc *p, const char *binary, const char *port_var,
                                    const char *const *env, const char *ready_path)
{
    snprintf(p->name, sizeof p->name, "%s", binary);
    snprintf(p->url, sizeof p->url, "http://127.0.0.1:%u", p->port);
    mkdir(".run", 0755);
    mkdir(".run/test-logs", 0755);
    snprintf(p->log_path, sizeof p->log_path, ".run/test-logs/%s-%u.log", binary, p->port);
    record_register(p->port, binary);

    char path[512];
    snprintf(path, sizeof path, "%s/%s", bin_dir(), binary);
    pid_t pid = fork();
    if (pid < 0)
        return START_FAILED;
    if (pid == 0) {
        h_child_setup(p->log_path);
        char portval[16];
        snprintf(portval, sizeof portval, "%u", p->port);
        setenv(port_var, portval, 1);
        setenv("BIND_ADDRESS", "127.0.0.1", 1);
        /* Under valgrind a first connection's handshake alone can take seconds (the test
         * of the deadline sets its own). */
        if (h_wrapped())
            setenv("DATABASE_CONNECT_TIMEOUT_MS", "30000", 1);
        for (size_t i = 0; env && env[i]; i++) {
            char *kv = xstrdup(env[i]);
            char *eq = strchr(kv, '=');
            if (eq) {
                *eq = '\0';
                setenv(kv, eq + 1, 1);
            }
            free(kv);
        }
        /* H_WRAPPER="valgrind --error-exitcode=99 ..." runs the daemon under it. */
        const char *wrapper = getenv("H_WRAPPER");
        char *argv[64];
        size_t argc = 0;
        char *words = wrapper ? xstrdup(wrapper) : NULL;
        for (char *save = NULL, *w = words ? strtok_r(words, " \t", &save) : NULL; w && argc < 62;
             w = strtok_r(NULL, " \t", &save))
            argv[argc++] = w;
        argv[argc++] = path;
        argv[argc] = NULL;
        execvp(argv[0], argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    p->pid = pid;
    struct ready_probe probe = {h_url(p->url, "%s", ready_path), pid, p->port, false};
    bool up = h_wait_until(ready_cond, &probe, h_wrapped() ? 120000 : 15000);
    free((char *)probe.url);
    if (up && probe.foreign) {
        h_kill(p, SIGKILL);
        return START_PORT_TAKEN;
    }
    if (!up) {
        fprintf(stderr, "harness: %s did not become ready; log: %s\n", binary, p->log_path);
        h_kill(p, SIGKILL);
        /* The log is named by port and a later daemon on the same port rewrites it:
         * keep what this one said in the suite's output. */
        FILE *f = fopen(p->log_path, "r");
        char line[512];
        while (f && fgets(line, sizeof line, f))
            fprintf(stderr, "# %s", line);
        if (f)
            fclose(f);
    }
    return up ? START_READY : START_FAILED;
}

int h_stop(struct h_proc *p)
{
    if (p->pid <= 0)
        return -1;
    kill(p->pid, SIGTERM);
    /* 10 s, DESIGN.md's bound; a daemon under valgrind also writes its leak report. */
    int tries = h_wrapped() ? 6000 : 1000;
    for (int i = 0; i < tries; i++) {
        int status;
        pid_t r = waitpid(p->pid, &status, WNOHANG);
        if (r == p->pid) {
            p->pid = 0;
            if (WIFEXITED(status))
                return WEXITSTATUS(status);
            return -1;
        }
        usleep(10000);
    }
    h_kill(p, SIGKILL);
    return -1;
}

void h_kill(struct h_proc *p, int sig)
{
    if (p->pid <= 0)
        return;
    kill(p->pid, sig);
    waitpid(p->pid, NULL, 0);
    p->pid = 0;
}

int h_log_count(const struct h_proc *p, const char *needle)
{
    FILE *f = fopen(p->log_path, "r");
    if (!f)
        return -1;
    int n = 0;
    char line[8192];
    while (fgets(line, sizeof line, f)) {
        if (strstr(line, needle))
            n++;
    }
    fclose(f);
    return n;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    buf_append(userdata, ptr, size * nmemb);
    return size * nmemb;
}

struct h_resp h_http(const char *method, const char *url, const char *token,
                     const char *content_type, const char *body, size_t body_len)
{
    struct h_resp r = {0};
    struct buf b = {0};
    struct curl_slist *hdrs = NULL;
    char *auth = NULL, *ctype = NULL;
    CURL *c = curl_easy_init();
    if (token) {
        auth = xasprintf("Authorization: Bearer %s", token);
        hdrs = curl_slist_append(hdrs, auth);
    }
    if (content_type) {
        ctype = xasprintf("Content-Type: %s", content_type);
        hdrs = curl_slist_append(hdrs, ctype);
    }
    hdrs = curl_slist_append(hdrs, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    if (curl_easy_perform(c) == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
        char *ct = NULL;
        curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
        snprintf(r.content_type, sizeof r.content_type, "%s", ct ? ct : "");
    }
    r.len = b.len;
    r.body = buf_steal(&b);
    if (r.len)
        r.json = json_loadb(r.body, r.len, 0, NULL);
    if (r.status)
        record_response(method, url, &r);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    free(auth);
    free(ctype);
    return r;
}

struct h_resp h_get(const char *url, const char *token)
{
    return h_http("GET", url, token, NULL, NULL, 0);
}

struct h_resp h_json(const char *method, const char *url, const char *token, const char *body)
{
    return h_http(method, url, token, "application/json", body, body ? strlen(body) : 0);
}

void h_resp_free(struct h_resp *r)
{
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof(*r));
}

char *h_url(const char *base, const char *fmt, ...)
{
    struct buf b = {0};
    buf_append_str(&b, base);
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    return buf_steal(&b);
}

char *h_token(const char *role, const char *tenant, const char *tenant_role, const char *sub,
              long ttl)
{
    struct auth_principal p;
    memset(&p, 0, sizeof p);
    if (!auth_role_parse(role, &p.role))
        return NULL;
    if (tenant)
        snprintf(p.tenant_id, sizeof p.tenant_id, "%s", tenant);
    if (tenant_role && !auth_tenant_role_parse(tenant_role, &p.tenant_role))
        return NULL;
    snprintf(p.sub, sizeof p.sub, "%s", sub ? sub : role);
    const struct auth_policy policy = {.secret = H_JWT_SECRET, .max_ttl = 0};
    return auth_mint(&policy, &p, ttl);
}

char *h_token_claims(const char *iss, const char *aud, long iat, long nbf, long exp)
{
    jwt_t *jwt = NULL;
    char *token = NULL;
    assert_int_equal(jwt_new(&jwt), 0);
    assert_int_equal(jwt_add_grant(jwt, "sub", "policy-test"), 0);
    assert_int_equal(jwt_add_grant(jwt, "role", "admin"), 0);
    assert_int_equal(jwt_add_grant_int(jwt, "exp", exp), 0);
    if (iat)
        assert_int_equal(jwt_add_grant_int(jwt, "iat", iat), 0);
    if (nbf)
        assert_int_equal(jwt_add_grant_int(jwt, "nbf", nbf), 0);
    if (iss)
        assert_int_equal(jwt_add_grant(jwt, "iss", iss), 0);
    if (aud)
        assert_int_equal(jwt_add_grant(jwt, "aud", aud), 0);
    assert_int_equal(jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)H_JWT_SECRET,
                                 (int)strlen(H_JWT_SECRET)),
                     0);
    token = jwt_encode_str(jwt);
    assert_non_null(token);
    jwt_free(jwt);
    return token;
}

/* GET base+path with token: asserts 401 invalid_token whose message holds why. */
static void assert_refused(const char *base, const char *path, char *token, const char *why)
{
    char *url = h_url(base, "%s", path);
    struct h_resp r = h_get(url, token);
    h_assert_error(&r, 401, "invalid_token");
    const char *message = json_string_value(json_object_get(r.json, "message"));
    if (!message || !strstr(message, why))
        fail_msg("401 for \"%s\" says \"%s\"", why, message ? message : "(none)");
    h_resp_free(&r);
    free(url);
    free(token);
}

void h_assert_token_policy(const char *base, const char *path)
{
    long now = (long)time(NULL);
    char *url = h_url(base, "%s", path);

    /* The right claims, minted the way the services and mint-token mint. */
    const struct auth_policy policy = {
        .secret = H_JWT_SECRET, .issuer = H_ISSUER, .audience = H_AUDIENCE, .max_ttl = H_MAX_TTL};
    struct auth_principal p;
    memset(&p, 0, sizeof p);
    p.role = AUTH_ROLE_ADMIN;
    snprintf(p.sub, sizeof p.sub, "policy-test");
    char *good = auth_mint(&policy, &p, H_MAX_TTL);
    assert_non_null(good);
    struct h_resp r = h_get(url, good);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    free(good);
    /* By hand: nbf within the allowed clock skew, aud as the only audience. */
    good = h_token_claims(H_ISSUER, H_AUDIENCE, now, now + 10, now + 600);
    r = h_get(url, good);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    free(good);

    assert_refused(base, path,
                   h_token_claims("https://other.example", H_AUDIENCE, now, 0, now + 600), "iss");
    assert_refused(base, path, h_token_claims(NULL, H_AUDIENCE, now, 0, now + 600), "iss");
    assert_refused(base, path, h_token_claims(H_ISSUER, "another-api", now, 0, now + 600), "aud");
    assert_refused(base, path, h_token_claims(H_ISSUER, NULL, now, 0, now + 600), "aud");
    assert_refused(base, path, h_token_claims(H_ISSUER, H_AUDIENCE, now, 0, now + H_MAX_TTL + 1),
                   "lifetime is too long");
    /* Minted long ago for ten years: the lifetime counts, not what is left of it. */
    assert_refused(base, path,
                   h_token_claims(H_ISSUER, H_AUDIENCE, now - 9 * H_MAX_TTL, 0, now + H_MAX_TTL),
                   "lifetime is too long");
    assert_refused(base, path, h_token_claims(H_ISSUER, H_AUDIENCE, 0, 0, now + H_MAX_TTL + 60),
                   "lifetime is too long");
    assert_refused(base, path, h_token_claims(H_ISSUER, H_AUDIENCE, now, now + 300, now + 600),
                   "not valid yet");
    free(url);
}

void h_assert_error(const struct h_resp *r, long status, const char *code)
{
    if (r->status != status)
        fprintf(stderr, "expected %ld %s, got %ld: %s\n", status, code, r->status, r->body);
    assert_int_equal(r->status, status);
    assert_non_null(r->json);
    assert_true(json_is_false(json_object_get(r->json, "success")));
    assert_string_equal(json_string_value(json_object_get(r->json, "error")), code);
    const char *msg = json_string_value(json_object_get(r->json, "message"));
    assert_non_null(msg);
    assert_true(strlen(msg) > 0);
}

bool h_wait_every(bool (*cond)(void *arg), void *arg, int timeout_ms, int interval_ms)
{
    /* The bound is wall time: counting sleeps alone would stretch it by however long
     * COND takes, which on a loaded machine made a 30 s wait last minutes. */
    int64_t end = monotonic_ms() + timeout_ms;
    for (;;) {
        if (cond(arg))
            return true;
        if (monotonic_ms() >= end)
            return false;
        usleep((useconds_t)interval_ms * 1000);
    }
}

bool h_wait_until(bool (*cond)(void *arg), void *arg, int timeout_ms)
{
    return h_wait_every(cond, arg, timeout_ms, 20);
}

double h_metric(const char *base, const char *series)
{
    struct h_resp r = h_call("GET", base, NULL, NULL, "/metrics");
    size_t n = strlen(series);
    double v = -1;
    for (const char *line = r.body; line && *line;) {
        if (strncmp(line, series, n) == 0 && line[n] == ' ') {
            v = strtod(line + n + 1, NULL);
            break;
        }
        const char *nl = strchr(line, '\n');
        line = nl ? nl + 1 : NULL;
    }
    h_resp_free(&r);
    return v;
}
