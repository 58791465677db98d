/*
 * srv_config.c - aelabd's flags (see srv_config.h).
 *
 * Owns flag names, defaults, ranges and the --help text.  It does not open
 * files or sockets.  Design: a table of flags drives both parsing and
 * --help, so the two cannot disagree.
 */
#include "srv_config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "srv_uri.h"

enum flag_kind { F_STR, F_INT, F_LISTEN, F_LEVEL, F_BOOL };

struct flag {
    const char *name;
    enum flag_kind kind;
    const char *meta;
    const char *help;
    size_t off;      /* offset of the field in struct srv_config */
    long long min, max;
};

#define OFF(f) offsetof(struct srv_config, f)

static const struct flag flags[] = {
    {"--listen", F_LISTEN, "HOST:PORT",
     "address to serve on (port 0 picks a free port; the real one is logged)", 0, 0, 0},
    {"--logdir", F_STR, "DIR", "run directories (TensorBoard's --logdir)", OFF(logdir), 0, 0},
    {"--db", F_STR, "FILE", "SQLite database of jobs and metrics", OFF(db_path), 0, 0},
    {"--data-dir", F_STR, "DIR",
     "where data sets live (DIR or DIR/<name>; default ./data/<name>, and Debian's "
     "fashion-mnist)", OFF(data_dir), 0, 0},
    {"--default-dataset", F_STR, "NAME",
     "data set of a job that names none (default: mnist)",
     OFF(default_dataset), 0, 0},
    {"--workers", F_INT, "N", "jobs trained at the same time", OFF(workers), 1, 256},
    {"--threads-per-job", F_INT, "N", "threads of each job (its 'threads' setting by default)",
     OFF(threads_per_job), 1, 256},
    {"--max-queued", F_INT, "N", "queued jobs before submissions get 429", OFF(max_queued), 1,
     1000000},
    {"--executor", F_STR, "NAME",
     "where jobs train: local (worker threads here) or slurm (one batch job each)",
     OFF(executor), 0, 0},
    {"--slurm-partition", F_STR, "P", "Slurm partition of the batch jobs (default: Slurm's)",
     OFF(slurm_partition), 0, 0},
    {"--slurm-account", F_STR, "A", "Slurm account of the batch jobs", OFF(slurm_account), 0, 0},
    {"--slurm-sbatch-args", F_STR, "\"ARGS\"",
     "more sbatch options, split at spaces and passed as they are", OFF(slurm_sbatch_args), 0, 0},
    {"--slurm-aelab", F_STR, "PATH",
     "the aelab CLI the compute nodes run (default: the aelab beside aelabd)", OFF(slurm_aelab),
     0, 0},
    {"--token-file", F_STR, "FILE",
     "require 'Authorization: Bearer <token>' on POST and DELETE (token = the file's content)",
     OFF(token_file), 0, 0},
    {"--tls-cert", F_STR, "FILE",
     "serve HTTPS with this PEM certificate (needs --tls-key)", OFF(tls_cert), 0, 0},
    {"--tls-key", F_STR, "FILE", "the PEM private key of --tls-cert (not encrypted)",
     OFF(tls_key), 0, 0},
    {"--insecure", F_BOOL, NULL,
     "allow a non-loopback --listen address without TLS or --token-file (logs a warning)",
     OFF(insecure), 0, 0},
    {"--web-root", F_STR, "DIR",
     "dashboard files served at / (default ./web, else the source tree's web/)", OFF(web_root), 0,
     0},
    {"--tensorboard-url", F_STR, "URL",
     "TensorBoard's address, for the dashboard's links (default http://<host>:6006/)",
     OFF(tensorboard_url), 0, 0},
    {"--port-file", F_STR, "FILE", "write the bound port to FILE once listening", OFF(port_file),
     0, 0},
    {"--max-connections", F_INT, "N", "open HTTP connections in total", OFF(max_connections), 4,
     100000},
    {"--max-connections-per-ip", F_INT, "N", "open HTTP connections per client address",
     OFF(max_connections_per_ip), 1, 100000},
    {"--connection-timeout", F_INT, "SECONDS",
     "close connections idle this long, or not done sending a request after it",
     OFF(connection_timeout), 1, 3600},
    {"--http-nice", F_INT, "N",
     "nice value (0-19) of HTTP threads, so serving never slows training much",
     OFF(http_nice), 0, 19},
    {"--log-level", F_LEVEL, "LEVEL", "debug, info, warn or error", OFF(log_level), 0, 0},
    {"--help", F_BOOL, NULL, "print this help and exit", OFF(help), 0, 0},
    {"--version", F_BOOL, NULL, "print the version and exit", OFF(version), 0, 0},
};
#define N_FLAGS (sizeof flags / sizeof flags[0])

void srv_config_defaults(struct srv_config *c, int ncpu)
{
    memset(c, 0, sizeof *c);
    if (ncpu < 1) ncpu = 1;
    snprintf(c->listen_host, sizeof c->listen_host, "127.0.0.1");
    c->listen_port = 8080;
    c->logdir = "./runs";
    c->db_path = "./aelab.db";
    c->executor = "local";
    c->workers = ncpu / 2 > 1 ? ncpu / 2 : 1;
    c->threads_per_job = ncpu / c->workers > 1 ? ncpu / c->workers : 1;
    c->max_queued = 1000;
    c->max_connections = 512;
    c->max_connections_per_ip = 128;
    c->connection_timeout = 30;
    c->http_nice = 10;
    c->log_level = SRV_LOG_INFO;
}

enum srv_status srv_config_parse_listen(const char *s, char *host, size_t host_len,
                                        uint16_t *port, struct ae_err *err)
{
    const char *colon;
    long long p;
    size_t hl;
    const char *h;

    if (!s || !*s) goto bad;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':') goto bad;
        h = s + 1;
        hl = (size_t)(close - s - 1);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon) goto bad;
        h = s;
        hl = (size_t)(colon - s);
        if (memchr(h, ':', hl)) goto bad; /* bare IPv6 needs brackets */
    }
    if (hl >= host_len) goto bad;
    if (hl == 0) {
        snprintf(host, host_len, "127.0.0.1");
    } else {
        memcpy(host, h, hl);
        host[hl] = '\0';
    }
    if (srv_parse_int(colon + 1, 0, 65535, "the port", &p, NULL) != SRV_OK) goto bad;
    *port = (uint16_t)p;
    return SRV_OK;
bad:
    return srv_err_set(err, SRV_ERR_ARG,
                       "--listen wants HOST:PORT, [IPV6]:PORT or :PORT with a port from 0 to "
                       "65535 (got '%s')",
                       s ? s : "");
}

enum srv_status srv_config_parse(struct srv_config *c, int argc, char **argv, struct ae_err *err)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *val = NULL, *eq;
        const struct flag *f = NULL;
        size_t nlen;

        if (strncmp(arg, "--", 2) != 0)
            return srv_err_set(err, SRV_ERR_ARG,
                               "unexpected argument '%s'; every option is a --flag (see --help)",
                               arg);
        eq = strchr(arg, '=');
        nlen = eq ? (size_t)(eq - arg) : strlen(arg);
        for (size_t k = 0; k < N_FLAGS; k++) {
            if (strlen(flags[k].name) == nlen && strncmp(flags[k].name, arg, nlen) == 0) {
                f = &flags[k];
                break;
            }
        }
        if (!f)
            return srv_err_set(err, SRV_ERR_ARG, "unknown option '%.*s' (see --help)", (int)nlen,
                               arg);
        if (f->kind == F_BOOL) {
            if (eq) return srv_err_set(err, SRV_ERR_ARG, "%s takes no value", f->name);
            *(bool *)((char *)c + f->off) = true;
            continue;
        }
        if (eq)
            val = eq + 1;
        else if (i + 1 < argc)
            val = argv[++i];
        else
            return srv_err_set(err, SRV_ERR_ARG, "%s needs a value (%s)", f->name, f->meta);

        switch (f->kind) {
        case F_STR:
            if (!*val) return srv_err_set(err, SRV_ERR_ARG, "%s needs a non-empty value", f->name);
            *(const char **)((char *)c + f->off) = val;
            break;
        case F_INT: {
            long long v;
            struct ae_err e;
            if (srv_parse_int(val, f->min, f->max, f->name, &v, &e) != SRV_OK)
                return srv_err_set(err, SRV_ERR_ARG, "%s", e.msg);
            *(int *)((char *)c + f->off) = (int)v;
            break;
        }
        case F_LISTEN:
            if (srv_config_parse_listen(val, c->listen_host, sizeof c->listen_host,
                                        &c->listen_port, err) != SRV_OK)
                return SRV_ERR_ARG;
            break;
        case F_LEVEL:
            if (!srv_log_level_parse(val, &c->log_level))
                return srv_err_set(err, SRV_ERR_ARG,
                                   "--log-level must be debug, info, warn or error (got '%s')",
                                   val);
            break;
        case F_BOOL:
            break;
        }
    }
    return SRV_OK;
}

bool srv_config_host_is_loopback(const char *host)
{
    static const unsigned char v6_loop[16] = {[15] = 1};
    static const unsigned char v4_mapped[12] = {[10] = 0xff, [11] = 0xff};
    unsigned char a[16];

    if (!host) return false;
    if (!strcasecmp(host, "localhost")) return true;
    if (inet_pton(AF_INET, host, a) == 1) return a[0] == 127;
    if (inet_pton(AF_INET6, host, a) == 1)
        return !memcmp(a, v6_loop, 16) || (!memcmp(a, v4_mapped, 12) && a[12] == 127);
    return false;
}

enum srv_status srv_config_check(const struct srv_config *c, const char **missing,
                                 struct ae_err *err)
{
    bool tls = c->tls_cert && c->tls_key;
    const char *what = "";

    if (missing) *missing = "";
    if (strcmp(c->executor, "local") != 0 && strcmp(c->executor, "slurm") != 0)
        return srv_err_set(err, SRV_ERR_ARG, "--executor %s: unknown; use local or slurm",
                           c->executor);
    if (strcmp(c->executor, "slurm") != 0) {
        const char *f = c->slurm_partition     ? "--slurm-partition"
                        : c->slurm_account     ? "--slurm-account"
                        : c->slurm_sbatch_args ? "--slurm-sbatch-args"
                        : c->slurm_aelab       ? "--slurm-aelab"
                                               : NULL;
        if (f) return srv_err_set(err, SRV_ERR_ARG, "%s needs --executor slurm", f);
    }
    if (!c->tls_cert != !c->tls_key)
        return srv_err_set(err, SRV_ERR_ARG, "%s needs %s too (a certificate and its key)",
                           c->tls_cert ? "--tls-cert" : "--tls-key",
                           c->tls_cert ? "--tls-key" : "--tls-cert");
    if (srv_config_host_is_loopback(c->listen_host)) return SRV_OK;
    if (!tls && !c->token_file)
        what = "TLS (--tls-cert, --tls-key) and a token (--token-file)";
    else if (!tls)
        what = "TLS (--tls-cert, --tls-key)";
    else if (!c->token_file)
        what = "a token (--token-file)";
    if (missing) *missing = what;
    if (*what && !c->insecure)
        return srv_err_set(err, SRV_ERR_ARG,
                           "--listen %s is not a loopback address: it needs %s, or --insecure "
                           "to serve it without",
                           c->listen_host, what);
    return SRV_OK;
}

void srv_config_usage(FILE *f, const struct srv_config *d)
{
    fprintf(f,
            "usage: aelabd [options]\n"
            "\n"
            "Trains aelab autoencoder jobs submitted over a REST API (see /api/openapi.json),\n"
            "serves the dashboard at / and writes TensorBoard runs under --logdir.\n"
            "\n"
            "options:\n");
    for (size_t k = 0; k < N_FLAGS; k++) {
        char left[64];
        snprintf(left, sizeof left, "%s%s%s", flags[k].name, flags[k].meta ? " " : "",
                 flags[k].meta ? flags[k].meta : "");
        fprintf(f, "  %-32s %s", left, flags[k].help);
        switch (flags[k].kind) {
        case F_STR: {
            const char *v = *(const char *const *)((const char *)d + flags[k].off);
            if (v) fprintf(f, " [%s]", v);
            break;
        }
        case F_INT:
            fprintf(f, " [%d]", *(const int *)((const char *)d + flags[k].off));
            break;
        case F_LISTEN:
            fprintf(f, " [%s:%u]", d->listen_host, (unsigned)d->listen_port);
            break;
        case F_LEVEL:
            fprintf(f, " [info]");
            break;
        case F_BOOL:
            break;
        }
        fputc('\n', f);
    }
    fprintf(f,
            "\n"
            "Defaults fill the machine's cores without oversubscribing them: workers =\n"
            "max(1, cores/2), threads per job = max(1, cores/workers).  SIGINT or SIGTERM\n"
            "stops accepting requests, suspends running jobs at their next batch (they\n"
            "resume on the next start) and exits 0.\n"
            "\n"
            "An address other than loopback (127.0.0.0/8, ::1, localhost) is refused unless\n"
            "both --tls-cert/--tls-key and --token-file are given, or --insecure.\n");
}
