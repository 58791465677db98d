/*
 * test_srv_config.c - aelabd's flags (srv_config.c): defaults per core
 * count, every kind of flag, and the error for each kind of mistake.
 */
#include <string.h>

#include "check.h"
#include "server/srv_config.h"

static enum srv_status parse(struct srv_config *c, struct ae_err *e, int argc, char **argv)
{
    srv_config_defaults(c, 2);
    return srv_config_parse(c, argc, argv, e);
}

int main(void)
{
    struct srv_config c;
    struct ae_err e = {0};

    srv_config_defaults(&c, 2);
    CHECK_EQ_INT(c.workers, 1);
    CHECK_EQ_INT(c.threads_per_job, 2);
    CHECK_EQ_STR(c.listen_host, "127.0.0.1");
    CHECK_EQ_INT(c.listen_port, 8080);
    srv_config_defaults(&c, 1);
    CHECK_EQ_INT(c.workers * c.threads_per_job, 1);
    srv_config_defaults(&c, 8);
    CHECK_EQ_INT(c.workers, 4);
    CHECK_EQ_INT(c.threads_per_job, 2);
    srv_config_defaults(&c, 7);
    CHECK(c.workers * c.threads_per_job <= 7);

    {
        char *argv[] = {"aelabd", "--listen", "127.0.0.1:0", "--logdir=/x/runs", "--workers",
                        "3", "--threads-per-job=2", "--max-queued", "5", "--help",
                        "--log-level", "warn"};
        CHECK_EQ_INT(parse(&c, &e, 12, argv), SRV_OK);
        CHECK_EQ_INT(c.listen_port, 0);
        CHECK_EQ_STR(c.logdir, "/x/runs");
        CHECK_EQ_INT(c.workers, 3);
        CHECK_EQ_INT(c.threads_per_job, 2);
        CHECK_EQ_INT(c.max_queued, 5);
        CHECK(c.help);
        CHECK_EQ_INT(c.log_level, SRV_LOG_WARN);
    }
    {
        char *argv[] = {"aelabd", "--listen", "[::1]:9000"};
        CHECK_EQ_INT(parse(&c, &e, 3, argv), SRV_OK);
        CHECK_EQ_STR(c.listen_host, "::1");
        CHECK_EQ_INT(c.listen_port, 9000);
    }
    {
        char *argv[] = {"aelabd", "--listen", ":81"};
        CHECK_EQ_INT(parse(&c, &e, 3, argv), SRV_OK);
        CHECK_EQ_STR(c.listen_host, "127.0.0.1");
        CHECK_EQ_INT(c.listen_port, 81);
    }
    {
        char *argv[] = {"aelabd", "--listen", "127.0.0.1:70000"};
        CHECK_EQ_INT(parse(&c, &e, 3, argv), SRV_ERR_ARG);
        CHECK(strstr(e.msg, "--listen") != NULL && strstr(e.msg, "65535") != NULL);
    }
    {
        char *argv[] = {"aelabd", "--listen", "::1:80"};
        CHECK_EQ_INT(parse(&c, &e, 3, argv), SRV_ERR_ARG);
    }
    {
        char *argv[] = {"aelabd", "--workers", "0"};
        CHECK_EQ_INT(parse(&c, &e, 3, argv), SRV_ERR_ARG);
        CHECK(strstr(e.msg, "--workers must be a whole number from 1 to 256") != NULL);
    }
    {
        char *argv[] = {"aelabd", "--bogus"};
        CHECK_EQ_INT(parse(&c, &e, 2, argv), SRV_ERR_ARG);
        CHECK(strstr(e.msg, "unknown option '--bogus'") != NULL);
    }
    {
        char *argv[] = {"aelabd", "--db"};
        CHECK_EQ_INT(parse(&c, &e, 2, argv), SRV_ERR_ARG);
        CHECK(strstr(e.msg, "--db needs a value") != NULL);
    }
    {
        char *argv[] = {"aelabd", "stray"};
        CHECK_EQ_INT(parse(&c, &e, 2, argv), SRV_ERR_ARG);
    }
    {
        char *argv[] = {"aelabd", "--help=1"};
        CHECK_EQ_INT(parse(&c, &e, 2, argv), SRV_ERR_ARG);
    }
    CHECK_EQ_INT(c.http_nice, 10);
    {
        char *argv[] = {"aelabd", "--http-nice", "20"};
        CHECK_EQ_INT(parse(&c, &e, 3, argv), SRV_ERR_ARG);
        CHECK(strstr(e.msg, "--http-nice must be a whole number from 0 to 19") != NULL);
    }
    {
        char *argv[] = {"aelabd", "--log-level", "loud"};
        CHECK_EQ_INT(parse(&c, &e, 3, argv), SRV_ERR_ARG);
    }
    /* Loopback or not (issue 11). */
    {
        const char *lo[] = {"127.0.0.1", "127.1.2.3", "::1", "localhost", "LocalHost",
                            "::ffff:127.0.0.1", "0:0:0:0:0:0:0:1"};
        const char *not_lo[] = {"0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "::2",
                                "::ffff:10.0.0.1", "localhost.example", "", "example.org"};
        for (size_t i = 0; i < sizeof lo / sizeof lo[0]; i++)
            CHECK_MSG(srv_config_host_is_loopback(lo[i]), "%s is loopback", lo[i]);
        for (size_t i = 0; i < sizeof not_lo / sizeof not_lo[0]; i++)
            CHECK_MSG(!srv_config_host_is_loopback(not_lo[i]), "%s is not loopback", not_lo[i]);
    }
    /* Executors (issue 11): local by default; slurm with its flags; the
     * --slurm-* flags need --executor slurm; unknown names are refused. */
    {
        char *argv[] = {"aelabd"};
        CHECK_EQ_INT(parse(&c, &e, 1, argv), SRV_OK);
        CHECK(strcmp(c.executor, "local") == 0);
        CHECK(c.slurm_partition == NULL && c.slurm_aelab == NULL);
        CHECK_EQ_INT(srv_config_check(&c, NULL, &e), SRV_OK);
    }
    {
        char *argv[] = {"aelabd", "--executor", "slurm", "--slurm-partition", "gpu",
                        "--slurm-account=lab", "--slurm-sbatch-args", "--qos=low --time=10",
                        "--slurm-aelab", "/opt/aelab/bin/aelab"};
        CHECK_EQ_INT(parse(&c, &e, 10, argv), SRV_OK);
        CHECK(strcmp(c.executor, "slurm") == 0);
        CHECK(strcmp(c.slurm_partition, "gpu") == 0 && strcmp(c.slurm_account, "lab") == 0);
        CHECK(strcmp(c.slurm_sbatch_args, "--qos=low --time=10") == 0);
        CHECK(strcmp(c.slurm_aelab, "/opt/aelab/bin/aelab") == 0);
        CHECK_EQ_INT(srv_config_check(&c, NULL, &e), SRV_OK);
    }
    {
        char *argv[] = {"aelabd", "--executor", "kubernetes"};
        CHECK_EQ_INT(parse(&c, &e, 3, argv), SRV_OK);
        CHECK_EQ_INT(srv_config_check(&c, NULL, &e), SRV_ERR_ARG);
        CHECK(strstr(e.msg, "--executor kubernetes") && strstr(e.msg, "local or slurm"));
    }
    {
        char *argv[] = {"aelabd", "--slurm-partition", "gpu"};
        CHECK_EQ_INT(parse(&c, &e, 3, argv), SRV_OK);
        CHECK_EQ_INT(srv_config_check(&c, NULL, &e), SRV_ERR_ARG);
        CHECK(strstr(e.msg, "--slurm-partition needs --executor slurm") != NULL);
    }
    /* Cross-flag checks: TLS comes in pairs; non-loopback needs TLS and a token. */
    {
        const char *missing = "x";
        char *argv[] = {"aelabd", "--tls-cert", "c.pem"};
        CHECK_EQ_INT(parse(&c, &e, 3, argv), SRV_OK);
        CHECK_EQ_INT(srv_config_check(&c, &missing, &e), SRV_ERR_ARG);
        CHECK(strstr(e.msg, "--tls-cert needs --tls-key") != NULL);
    }
    {
        char *argv[] = {"aelabd", "--tls-key", "k.pem"};
        CHECK_EQ_INT(parse(&c, &e, 3, argv), SRV_OK);
        CHECK_EQ_INT(srv_config_check(&c, NULL, &e), SRV_ERR_ARG);
        CHECK(strstr(e.msg, "--tls-key needs --tls-cert") != NULL);
    }
    {
        const char *missing = "x";
        char *argv[] = {"aelabd", "--listen", "0.0.0.0:1"};
        CHECK_EQ_INT(parse(&c, &e, 3, argv), SRV_OK);
        CHECK_EQ_INT(srv_config_check(&c, &missing, &e), SRV_ERR_ARG);
        CHECK(strstr(e.msg, "0.0.0.0") && strstr(e.msg, "--tls-cert") &&
              strstr(e.msg, "--token-file") && strstr(e.msg, "--insecure"));
    }
    {
        const char *missing = "x";
        char *argv[] = {"aelabd", "--listen", "[::]:1", "--tls-cert", "c", "--tls-key", "k",
                        "--token-file", "t"};
        CHECK_EQ_INT(parse(&c, &e, 9, argv), SRV_OK);
        CHECK_EQ_INT(srv_config_check(&c, &missing, &e), SRV_OK);
        CHECK_EQ_STR(missing, "");
    }
    {
        const char *missing = "";
        char *argv[] = {"aelabd", "--listen", "10.1.2.3:1", "--token-file", "t", "--insecure"};
        CHECK_EQ_INT(parse(&c, &e, 6, argv), SRV_OK);
        CHECK(c.insecure);
        CHECK_EQ_INT(srv_config_check(&c, &missing, &e), SRV_OK);
        CHECK(strstr(missing, "TLS") && !strstr(missing, "token"));
    }
    {
        const char *missing = "x";
        char *argv[] = {"aelabd", "--listen", "127.0.0.5:1"};
        CHECK_EQ_INT(parse(&c, &e, 3, argv), SRV_OK);
        CHECK_EQ_INT(srv_config_check(&c, &missing, &e), SRV_OK);
        CHECK_EQ_STR(missing, "");
    }
    return check_summary("test_srv_config");
}
