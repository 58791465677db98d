/*
 * srv_config.h - aelabd's command-line flags.
 *
 * srv_config_parse is a pure function of argv and the CPU count (no I/O),
 * so every flag and every error message is unit-tested.  Files named by
 * flags (token, web root) are read by srv_main.c at start-up, TLS files by
 * srv_http_tls_load.
 */
#ifndef SRV_CONFIG_H
#define SRV_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "srv_log.h"
#include "srv_status.h"

struct srv_config {
    char listen_host[256]; /* "127.0.0.1", "::1", "localhost", "0.0.0.0" */
    uint16_t listen_port;  /* 0 = any free port (the real one is logged) */
    const char *logdir;    /* run directories: <logdir>/<0007-conv>/ */
    const char *db_path;
    const char *data_dir;  /* NULL: srv_data's default locations */
    const char *token_file;
    const char *tls_cert;  /* PEM certificate (chain); with tls_key: HTTPS */
    const char *tls_key;   /* PEM private key of tls_cert, unencrypted */
    bool insecure;         /* allow a non-loopback address without TLS or token */
    const char *web_root;  /* NULL: decided at start-up (see srv_main.c) */
    const char *tensorboard_url; /* NULL: http://<listen host>:6006/ */
    const char *port_file; /* write the bound port here once listening */
    const char *default_dataset; /* NULL: mnist */
    const char *executor;  /* "local" (default) or "slurm" */
    const char *slurm_partition; /* NULL: the cluster's default partition */
    const char *slurm_account;
    const char *slurm_sbatch_args; /* extra sbatch options, split at spaces */
    const char *slurm_aelab; /* NULL: the aelab beside aelabd (or ../cli/aelab) */
    int workers;           /* jobs trained at once (local executor) */
    int threads_per_job;   /* default cfg.threads of a job */
    int max_queued;        /* queued jobs before 429 */
    int max_connections;   /* open HTTP connections in total */
    int max_connections_per_ip;
    int connection_timeout; /* seconds of inactivity before a connection is closed */
    int http_nice;         /* nice value of HTTP threads (training keeps priority) */
    enum srv_log_level log_level;
    bool help;
    bool version;
};

/* Defaults for a machine with ncpu usable cores: workers = max(1, ncpu/2),
 * threads_per_job = max(1, ncpu / workers), so workers * threads <= ncpu
 * and one job alone still uses two cores. */
void srv_config_defaults(struct srv_config *c, int ncpu);

/* Parse argv[1..argc) over the defaults already in c.  Strings point into
 * argv.  Errors (SRV_ERR_ARG) name the flag and what it accepts. */
enum srv_status srv_config_parse(struct srv_config *c, int argc, char **argv, struct ae_err *err);

/* Checks across flags, after srv_config_parse (still no I/O): --tls-cert
 * and --tls-key come together; --executor is local or slurm and --slurm-*
 * flags need slurm; a non-loopback --listen address needs TLS
 * and --token-file unless --insecure.  *missing (may be NULL) receives
 * what a non-loopback address lacks ("" when nothing), so main can log
 * the --insecure warning. */
enum srv_status srv_config_check(const struct srv_config *c, const char **missing,
                                 struct ae_err *err);

/* True for 127.0.0.0/8, ::1 (also as ::ffff:127.x.x.x) and "localhost". */
bool srv_config_host_is_loopback(const char *host);

/* Print --help text. */
void srv_config_usage(FILE *f, const struct srv_config *defaults);

/* Split "HOST:PORT", "[V6]:PORT" or ":PORT" (host defaults to 127.0.0.1). */
enum srv_status srv_config_parse_listen(const char *s, char *host, size_t host_len,
                                        uint16_t *port, struct ae_err *err);

#endif /* SRV_CONFIG_H */
