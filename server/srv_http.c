/*
 * srv_http.c - libmicrohttpd callbacks: request state, body limits, and
 * turning a struct srv_response into an MHD response.
 *
 * Owns everything that touches MHD.  It does not decide answers (srv_api.c
 * does).  Design, after libmicrohttpd's largepost.c: per-request state is
 * created once (here in the URI callback, which sees the raw request
 * target before MHD decodes it) and freed only in the request-completed
 * callback, which MHD calls whether the request finished or was aborted.
 */
#include "srv_http.h"

#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "srv_api.h"
#include "srv_deadline.h"
#include "srv_log.h"
#include "srv_response.h"
#include "srv_testhook.h"

struct srv_http {
    struct MHD_Daemon *d;
    struct srv_app *app;
    struct srv_deadline *deadline; /* a whole request within --connection-timeout */
    MHD_socket quiesced; /* listen socket after quiesce: closed after stop */
    struct srv_http_tls tls; /* kept while MHD runs */
};

struct req_state {
    char *raw_uri;
    struct srv_request req;
    bool parsed;
    bool answered;
    char *body;
    size_t body_len, body_cap;
    bool too_large;
    int status;
    double t0;
};

/* ------------------------------------------------------------------------ */
/* Responses                                                                */
/* ------------------------------------------------------------------------ */

struct stream_adapter {
    srv_stream_fn fn;
    void (*free_fn)(void *);
    void *cls;
};

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct stream_adapter *a = cls;
    long n = a->fn(a->cls, pos, buf, max);
    if (n == SRV_STREAM_END) return MHD_CONTENT_READER_END_OF_STREAM;
    if (n <= 0) return MHD_CONTENT_READER_END_WITH_ERROR;
    return (ssize_t)n;
}

static void stream_free(void *cls)
{
    struct stream_adapter *a = cls;
    if (a->free_fn) a->free_fn(a->cls);
    free(a);
}

/* The connection's deadline record (see conn_cb), or NULL. */
static struct srv_deadline_conn *conn_deadline(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* Hand r to MHD and queue it; r no longer owns its body afterwards. */
static enum MHD_Result send_response(struct MHD_Connection *c, struct req_state *rs,
                                     struct srv_response *r, bool api)
{
    struct MHD_Response *mr = NULL;
    enum MHD_Result ret;
    bool has_cache = false;

    if (r->stream) {
        struct stream_adapter *a = malloc(sizeof *a);
        if (a) {
            a->fn = r->stream;
            a->free_fn = r->stream_free;
            a->cls = r->stream_cls;
            mr = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, stream_read, a,
                                                   stream_free);
            if (mr) {
                r->stream = NULL;
                r->stream_free = NULL;
                r->stream_cls = NULL;
            } else {
                free(a);
            }
        }
    } else if (r->fd >= 0) {
        mr = MHD_create_response_from_fd64((uint64_t)r->fd_size, r->fd);
        if (mr) r->fd = -1; /* MHD closes it */
    } else if (r->body) {
        mr = MHD_create_response_from_buffer_with_free_callback(r->body_len, r->body, free);
        if (mr) r->body = NULL;
    } else {
        mr = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    if (!mr) {
        srv_response_fini(r);
        rs->status = 500;
        return MHD_NO; /* MHD closes the connection */
    }
    if (r->content_type) MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
    for (int i = 0; i < r->n_headers; i++) {
        MHD_add_response_header(mr, r->headers[i].name, r->headers[i].value);
        if (!strcmp(r->headers[i].name, "Cache-Control")) has_cache = true;
    }
    MHD_add_response_header(mr, "X-Content-Type-Options", "nosniff");
    {
        char counts[80];
        if (srv_testhook_request_report(counts, sizeof counts))
            MHD_add_response_header(mr, "X-Aelab-Test-Allocations", counts);
    }
    if (api && !has_cache) MHD_add_response_header(mr, "Cache-Control", "no-store");
    rs->status = r->status;
    rs->answered = true;
    srv_deadline_answered(conn_deadline(c));
    ret = MHD_queue_response(c, (unsigned int)r->status, mr);
    MHD_destroy_response(mr);
    srv_response_fini(r);
    return ret;
}

/* ------------------------------------------------------------------------ */
/* Callbacks                                                                */
/* ------------------------------------------------------------------------ */

/* Set once per connection thread (thread-per-connection mode). */
static _Thread_local bool thread_niced;

static void *uri_cb(void *cls, const char *uri, struct MHD_Connection *c)
{
    struct srv_app *app = cls;
    struct req_state *rs;
    (void)c;

    /* Training is what users wait for: HTTP threads run at a lower
     * priority, so a flood of requests takes CPU from the jobs only when
     * the jobs leave some (nice is per thread on Linux). */
    if (!thread_niced) {
        thread_niced = true;
        if (app->cfg.http_nice > 0)
            setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), app->cfg.http_nice);
    }
    rs = calloc(1, sizeof *rs);
    if (!rs) return NULL;
    rs->raw_uri = strdup(uri ? uri : "");
    rs->t0 = srv_log_now_mono();
    return rs;
}

static const char *header(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version,
                                 const char *upload_data, size_t *upload_data_size,
                                 void **req_cls)
{
    struct srv_app *app = cls;
    struct req_state *rs = *req_cls;
    struct srv_response r;
    struct ae_err e = {0};
    (void)version;

    srv_response_init(&r);
    if (!rs || !rs->raw_uri) {
        /* Out of memory in uri_cb: answer without state. */
        srv_response_problem(&r, 503, "internal-error", "out of memory; try again", NULL);
        if (!rs) {
            rs = calloc(1, sizeof *rs);
            if (!rs) return MHD_NO;
            *req_cls = rs;
        }
        rs->parsed = true;
        return send_response(c, rs, &r, true);
    }
    (void)url;

    if (!rs->parsed) {
        rs->parsed = true;
        rs->req.method = method;
        if (srv_testhook_enabled()) srv_testhook_request_begin(header(c, "X-Aelab-Test-Fault"));
        if (srv_uri_parse(rs->raw_uri, &rs->req.uri, &e) != SRV_OK) {
            bool long_uri = strlen(rs->raw_uri) > SRV_URI_MAX_BYTES;
            srv_response_problem(&r, long_uri ? 414 : 400,
                                 long_uri ? "uri-too-long" : "invalid-uri", e.msg,
                        NULL);
            return send_response(c, rs, &r, true);
        }
        srv_router_match(method, &rs->req.uri, &rs->req.route);
        rs->req.content_type = header(c, MHD_HTTP_HEADER_CONTENT_TYPE);
        rs->req.content_length = header(c, MHD_HTTP_HEADER_CONTENT_LENGTH);
        rs->req.accept = header(c, MHD_HTTP_HEADER_ACCEPT);
        rs->req.authorization = header(c, MHD_HTTP_HEADER_AUTHORIZATION);
        rs->req.idempotency_key = header(c, "Idempotency-Key");
        rs->req.last_event_id = header(c, "Last-Event-ID");
        if (srv_api_precheck(app, &rs->req, &r))
            return send_response(c, rs, &r, rs->req.route.id != SRV_ROUTE_STATIC);
        return MHD_YES;
    }
    if (rs->answered) {
        /* Answered early; swallow whatever body is still coming. */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        if (!rs->too_large && rs->body_len + n > SRV_MAX_BODY_BYTES) {
            rs->too_large = true;
            free(rs->body);
            rs->body = NULL;
            rs->body_len = rs->body_cap = 0;
        }
        if (!rs->too_large) {
            if (rs->body_len + n + 1 > rs->body_cap) {
                size_t cap = rs->body_cap ? rs->body_cap : 1024;
                char *p;
                while (cap < rs->body_len + n + 1) cap *= 2;
                p = realloc(rs->body, cap);
                if (!p) {
                    srv_response_problem(&r, 500, "internal-error",
                                         "out of memory reading the body",
                                NULL);
                    *upload_data_size = 0;
                    return send_response(c, rs, &r, true);
                }
                rs->body = p;
                rs->body_cap = cap;
            }
            memcpy(rs->body + rs->body_len, upload_data, n);
            rs->body_len += n;
            rs->body[rs->body_len] = '\0';
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (rs->too_large) {
        char d[120];
        snprintf(d, sizeof d, "the request body is over the limit of %d bytes (64 KiB)",
                 SRV_MAX_BODY_BYTES);
        srv_response_problem(&r, 413, "too-large", d, NULL);
    } else {
        rs->req.body = rs->body;
        rs->req.body_len = rs->body_len;
        srv_api_handle(app, &rs->req, &r);
    }
    return send_response(c, rs, &r, rs->req.route.id != SRV_ROUTE_STATIC);
}

static void completed_cb(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct srv_app *app = cls;
    struct req_state *rs = *req_cls;
    srv_testhook_request_end();
    srv_deadline_restart(conn_deadline(c));
    if (!rs) return;
    if (rs->answered) {
        srv_metrics_http(&app->metrics, rs->status);
        srv_log(SRV_LOG_DEBUG, 0, "msg=\"request\" method=%s status=%d ms=%.2f term=%d route=%s",
                rs->req.method ? rs->req.method : "-", rs->status,
                (srv_log_now_mono() - rs->t0) * 1e3, (int)toe, srv_route_name(rs->req.route.id));
    }
    srv_uri_fini(&rs->req.uri);
    free(rs->raw_uri);
    free(rs->body);
    free(rs);
    *req_cls = NULL;
}

/* Connection opened or closed: its request deadline starts or goes.  MHD
 * calls the "closed" notice before it closes the socket. */
static void conn_cb(void *cls, struct MHD_Connection *c, void **socket_context,
                    enum MHD_ConnectionNotificationCode toe)
{
    struct srv_http *h = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_context = ci ? srv_deadline_add(h->deadline, ci->connect_fd) : NULL;
    } else {
        srv_deadline_remove(*socket_context);
        *socket_context = NULL;
    }
}

/* Set by srv_http_start in its own thread while MHD starts: MHD's
 * complaints, joined, for the error message when it does not start. */
static _Thread_local char *start_complaint;
#define START_COMPLAINT_LEN 300

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    char msg[512], q[600];
    size_t n;
    (void)cls;
    vsnprintf(msg, sizeof msg, fmt, ap);
    n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) msg[--n] = '\0';
    if (start_complaint) {
        size_t used = strlen(start_complaint);
        snprintf(start_complaint + used, START_COMPLAINT_LEN - used, "%s%s", used ? "; " : "",
                 msg);
    }
    /* What clients do wrong (hang up mid-request, oversized headers) is
     * routine for a server on a network: debug, so a hostile client cannot
     * flood the log.  Anything else from MHD is a warning. */
    srv_log(strstr(msg, "remote side") || strstr(msg, "Error processing request") ||
                    strstr(msg, "timed out") || strstr(msg, "Failed to receive") ||
                    strstr(msg, "Failed to send") ||
                    /* failed TLS handshakes (plain HTTP, an untrusted
                     * certificate) and broken TLS records */
                    strstr(msg, "handshake message out of context") ||
                    strstr(msg, "TLS encryption or decryption error")
                ? SRV_LOG_DEBUG
                : SRV_LOG_WARN,
            0, "msg=\"libmicrohttpd\" detail=\"%s\"", srv_log_quote(q, sizeof q, msg));
}

/* ------------------------------------------------------------------------ */
/* TLS material                                                             */
/* ------------------------------------------------------------------------ */

#define PEM_MAX_BYTES (1024 * 1024)

/* The whole of a small text file, NUL-terminated, in *out. */
static enum srv_status read_pem(const char *flag, const char *path, char **out,
                                struct ae_err *err)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;

    *out = NULL;
    if (!f) return srv_err_set(err, SRV_ERR_IO, "%s %s: %s", flag, path, strerror(errno));
    buf = malloc(PEM_MAX_BYTES + 1);
    if (!buf) {
        fclose(f);
        return srv_err_set(err, SRV_ERR_NOMEM, "%s %s: out of memory", flag, path);
    }
    n = fread(buf, 1, PEM_MAX_BYTES + 1, f);
    if (ferror(f)) {
        int e = errno;
        fclose(f);
        free(buf);
        return srv_err_set(err, SRV_ERR_IO, "%s %s: %s", flag, path, strerror(e));
    }
    fclose(f);
    if (n > PEM_MAX_BYTES) {
        free(buf);
        return srv_err_set(err, SRV_ERR_ARG, "%s %s: over %d bytes; not a PEM file", flag, path,
                           PEM_MAX_BYTES);
    }
    buf[n] = '\0';
    if (n == 0 || strlen(buf) != n || !strstr(buf, "-----BEGIN ")) {
        free(buf);
        return srv_err_set(err, SRV_ERR_ARG,
                           "%s %s: %s; aelabd wants PEM text (-----BEGIN ...----- lines; "
                           "convert DER with openssl x509/pkey -inform der)",
                           flag, path, n == 0 ? "empty" : "not PEM");
    }
    *out = buf;
    return SRV_OK;
}

enum srv_status srv_http_tls_load(const char *cert_path, const char *key_path,
                                  struct srv_http_tls *tls, struct ae_err *err)
{
    enum srv_status st;

    tls->cert = tls->key = NULL;
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
        return srv_err_set(err, SRV_ERR_ARG,
                           "--tls-cert: this libmicrohttpd (%s) was built without TLS; "
                           "install one built with GnuTLS, or serve on loopback without TLS",
                           MHD_get_version());
    st = read_pem("--tls-cert", cert_path, &tls->cert, err);
    if (st == SRV_OK) st = read_pem("--tls-key", key_path, &tls->key, err);
    if (st != SRV_OK) {
        /* read_pem said why */
    } else if (!strstr(tls->cert, "-----BEGIN CERTIFICATE-----")) {
        st = srv_err_set(err, SRV_ERR_ARG, "--tls-cert %s: no certificate in it (%s)", cert_path,
                         strstr(tls->cert, "PRIVATE KEY-----")
                             ? "it holds a private key: are --tls-cert and --tls-key swapped?"
                             : "no -----BEGIN CERTIFICATE----- line");
    } else if (strstr(tls->key, "-----BEGIN ENCRYPTED PRIVATE KEY-----") ||
               strstr(tls->key, "Proc-Type: 4,ENCRYPTED")) {
        st = srv_err_set(err, SRV_ERR_ARG,
                         "--tls-key %s: the key is encrypted; aelabd needs it unencrypted "
                         "(openssl pkey -in %s -out KEY.pem), readable only by its user",
                         key_path, key_path);
    } else if (!strstr(tls->key, "PRIVATE KEY-----")) {
        st = srv_err_set(err, SRV_ERR_ARG, "--tls-key %s: no private key in it (%s)", key_path,
                         strstr(tls->key, "-----BEGIN CERTIFICATE-----")
                             ? "it holds a certificate: are --tls-cert and --tls-key swapped?"
                             : "no -----BEGIN ... PRIVATE KEY----- line");
    }
    if (st != SRV_OK) srv_http_tls_fini(tls);
    return st;
}

void srv_http_tls_fini(struct srv_http_tls *tls)
{
    if (!tls) return;
    if (tls->key) {
        /* The key should not linger in freed memory. */
        volatile char *p = tls->key;
        while (*p) *p++ = '\0';
    }
    free(tls->cert);
    free(tls->key);
    tls->cert = tls->key = NULL;
}

/* ------------------------------------------------------------------------ */
/* Start and stop                                                           */
/* ------------------------------------------------------------------------ */

enum srv_status srv_http_start(struct srv_app *app, struct srv_http_tls *tls,
                               struct srv_http **out, unsigned short *port, struct ae_err *err)
{
    char complaint[START_COMPLAINT_LEN] = "";
    struct addrinfo hints = {0}, *res = NULL;
    struct sockaddr_storage addr;
    char port_s[8];
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                         MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    struct srv_http *h;
    const union MHD_DaemonInfo *info;
    int rc;

    *out = NULL;
    snprintf(port_s, sizeof port_s, "%u", (unsigned)app->cfg.listen_port);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    rc = getaddrinfo(app->cfg.listen_host, port_s, &hints, &res);
    if (rc != 0 || !res)
        return srv_err_set(err, SRV_ERR_ARG, "cannot resolve listen address '%s': %s",
                           app->cfg.listen_host, gai_strerror(rc));
    memset(&addr, 0, sizeof addr);
    memcpy(&addr, res->ai_addr, res->ai_addrlen);
    if (res->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
    freeaddrinfo(res);

    h = calloc(1, sizeof *h);
    if (!h) return srv_err_set(err, SRV_ERR_NOMEM, "out of memory starting HTTP");
    h->app = app;
    h->quiesced = MHD_INVALID_SOCKET;
    if (srv_deadline_new((double)app->cfg.connection_timeout, &h->deadline, err) != SRV_OK) {
        free(h);
        return SRV_ERR_INTERNAL;
    }
    if (tls && tls->cert && tls->key) {
        h->tls = *tls;
        tls->cert = tls->key = NULL;
        flags |= MHD_USE_TLS;
    }
    start_complaint = complaint;
    h->d = MHD_start_daemon(
        flags, app->cfg.listen_port, NULL, NULL, access_cb, app,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL,
        MHD_OPTION_URI_LOG_CALLBACK, uri_cb, app,
        MHD_OPTION_NOTIFY_COMPLETED, completed_cb, app,
        MHD_OPTION_NOTIFY_CONNECTION, conn_cb, h,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)app->cfg.max_connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)app->cfg.max_connections_per_ip,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)app->cfg.connection_timeout,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
        MHD_OPTION_THREAD_STACK_SIZE, (size_t)(1024 * 1024),
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)256,
        /* Plain HTTP: the list ends here (MHD warns about HTTPS options
         * given without MHD_USE_TLS). */
        h->tls.cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, h->tls.cert,
        MHD_OPTION_HTTPS_MEM_KEY, h->tls.key,
        MHD_OPTION_END);
    start_complaint = NULL;
    if (!h->d) {
        bool tls_fault = h->tls.cert && (strstr(complaint, "TLS") || strstr(complaint, "x509") ||
                                         strstr(complaint, "certificate") ||
                                         strstr(complaint, "key"));
        srv_deadline_free(h->deadline);
        srv_http_tls_fini(&h->tls);
        free(h);
        if (tls_fault)
            return srv_err_set(err, SRV_ERR_ARG,
                               "cannot start HTTPS on %s:%u: %s (is --tls-key the private key "
                               "of --tls-cert, and both valid PEM?)",
                               app->cfg.listen_host, (unsigned)app->cfg.listen_port, complaint);
        return srv_err_set(err, SRV_ERR_IO,
                           "cannot listen on %s:%u%s%s (in use, or not an address of this "
                           "machine?)",
                           app->cfg.listen_host, (unsigned)app->cfg.listen_port,
                           complaint[0] ? ": " : "", complaint);
    }
    info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    *port = info ? info->port : app->cfg.listen_port;
    *out = h;
    return SRV_OK;
}

void srv_http_quiesce(struct srv_http *h)
{
    if (!h || !h->d || h->quiesced != MHD_INVALID_SOCKET) return;
    h->quiesced = MHD_quiesce_daemon(h->d);
}

void srv_http_stop(struct srv_http *h)
{
    if (!h) return;
    if (h->d) MHD_stop_daemon(h->d);
    srv_deadline_free(h->deadline); /* after MHD: every connection is gone */
    /* MHD's threads may use the quiesced socket until they stop. */
    if (h->quiesced != MHD_INVALID_SOCKET) close(h->quiesced);
    srv_http_tls_fini(&h->tls);
    free(h);
}
