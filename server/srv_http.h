/*
 * srv_http.h - the HTTP server (libmicrohttpd) in front of srv_api.
 *
 * Thread-per-connection: each connection's thread parses, calls the API
 * and writes the answer; event streams block in their own thread.
 * Connection limits (total and per client address), an idle timeout and a
 * per-connection memory limit bound what hostile clients can hold.
 */
#ifndef SRV_HTTP_H
#define SRV_HTTP_H

#include "srv_app.h"

struct srv_http;

/* HTTPS material: the PEM text of --tls-cert and --tls-key. */
struct srv_http_tls {
    char *cert;
    char *key;
};

/* Read and check both files (readable, PEM, a certificate and an
 * unencrypted private key, not swapped) and that this libmicrohttpd can
 * do TLS.  Errors name the flag, the file and what to do. */
enum srv_status srv_http_tls_load(const char *cert_path, const char *key_path,
                                  struct srv_http_tls *tls, struct ae_err *err);
void srv_http_tls_fini(struct srv_http_tls *tls); /* NULL-safe, idempotent */

/* Listen on app->cfg's address and serve, over HTTPS when tls is given
 * (the server takes its buffers; tls is left empty).  *port receives the
 * bound port (the real one when the configured port is 0).  Errors name
 * the address and the reason (for HTTPS, GnuTLS's complaint, e.g. a key
 * that is not the certificate's). */
enum srv_status srv_http_start(struct srv_app *app, struct srv_http_tls *tls,
                               struct srv_http **out, unsigned short *port, struct ae_err *err);
/* Stop accepting new connections (requests on open ones still finish). */
void srv_http_quiesce(struct srv_http *h);
/* Close every connection, join their threads and free (NULL-safe). */
void srv_http_stop(struct srv_http *h);

#endif /* SRV_HTTP_H */
