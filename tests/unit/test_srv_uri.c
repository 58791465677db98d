/*
 * test_srv_uri.c - request-target parsing and routing (srv_uri.c,
 * srv_router.c): pure functions, so no daemon and no socket.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "server/srv_router.h"
#include "server/srv_uri.h"

static void test_parse(void)
{
    struct srv_uri u;
    struct ae_err e = {0};

    CHECK_EQ_INT(srv_uri_parse("/", &u, &e), SRV_OK);
    CHECK_EQ_INT(u.n_seg, 0);
    CHECK_EQ_INT(u.n_params, 0);
    srv_uri_fini(&u);

    CHECK_EQ_INT(srv_uri_parse("/api/jobs/7/reconstructions.png?n=10&epoch=3", &u, &e), SRV_OK);
    CHECK_EQ_INT(u.n_seg, 4);
    CHECK_EQ_STR(u.seg[0], "api");
    CHECK_EQ_STR(u.seg[3], "reconstructions.png");
    CHECK_EQ_STR(srv_uri_param(&u, "n"), "10");
    CHECK_EQ_STR(srv_uri_param(&u, "epoch"), "3");
    CHECK(srv_uri_param(&u, "x") == NULL);
    srv_uri_fini(&u);

    /* Trailing slash keeps an empty last segment; '+' is a space only in
     * the query; %2F stays inside its segment. */
    CHECK_EQ_INT(srv_uri_parse("/a%2Fb/c+d/?k+1=v%20w&flag&&k+1=2", &u, &e), SRV_OK);
    CHECK_EQ_INT(u.n_seg, 3);
    CHECK_EQ_STR(u.seg[0], "a/b");
    CHECK_EQ_STR(u.seg[1], "c+d");
    CHECK_EQ_STR(u.seg[2], "");
    CHECK_EQ_STR(srv_uri_param(&u, "k 1"), "v w");
    CHECK_EQ_INT(srv_uri_param_count(&u, "k 1"), 2);
    CHECK_EQ_STR(srv_uri_param(&u, "flag"), "");
    srv_uri_fini(&u);

    /* Encoded dots decode to a ".." segment; the static handler refuses it. */
    CHECK_EQ_INT(srv_uri_parse("/%2e%2E/etc/passwd", &u, &e), SRV_OK);
    CHECK_EQ_STR(u.seg[0], "..");
    srv_uri_fini(&u);

    /* Errors. */
    CHECK_EQ_INT(srv_uri_parse("api/jobs", &u, &e), SRV_ERR_ARG);
    CHECK(strstr(e.msg, "start with '/'") != NULL);
    CHECK_EQ_INT(srv_uri_parse("/a%zz", &u, &e), SRV_ERR_ARG);
    CHECK(strstr(e.msg, "percent-escape") != NULL);
    CHECK_EQ_INT(srv_uri_parse("/a%4", &u, &e), SRV_ERR_ARG);
    CHECK_EQ_INT(srv_uri_parse("/a%", &u, &e), SRV_ERR_ARG);
    CHECK_EQ_INT(srv_uri_parse("/a%00b", &u, &e), SRV_ERR_ARG);
    CHECK_EQ_INT(srv_uri_parse("/a?x=%00", &u, &e), SRV_ERR_ARG);
    CHECK(strstr(e.msg, "query") != NULL);
    CHECK_EQ_INT(srv_uri_parse("/a#frag", &u, &e), SRV_ERR_ARG);
    CHECK_EQ_INT(srv_uri_parse("/a b", &u, &e), SRV_ERR_ARG);
    CHECK_EQ_INT(srv_uri_parse("/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q", &u, &e), SRV_ERR_ARG);
    CHECK(strstr(e.msg, "segments") != NULL);
    {
        char big[SRV_URI_MAX_BYTES + 10];
        memset(big, 'a', sizeof big - 1);
        big[0] = '/';
        big[sizeof big - 1] = '\0';
        CHECK_EQ_INT(srv_uri_parse(big, &u, &e), SRV_ERR_ARG);
        CHECK(strstr(e.msg, "limit") != NULL);
    }
    {
        char many[400] = "/?";
        for (int i = 0; i < 40; i++) strcat(many, "a=1&");
        CHECK_EQ_INT(srv_uri_parse(many, &u, &e), SRV_ERR_ARG);
        CHECK(strstr(e.msg, "parameters") != NULL);
    }
}

static void test_parse_int(void)
{
    long long v = 0;
    struct ae_err e = {0};
    CHECK_EQ_INT(srv_parse_int("42", 1, 100, "n", &v, &e), SRV_OK);
    CHECK_EQ_INT(v, 42);
    CHECK_EQ_INT(srv_parse_int("0", 1, 100, "n", &v, &e), SRV_ERR_ARG);
    CHECK(strstr(e.msg, "n must be a whole number from 1 to 100") != NULL);
    CHECK_EQ_INT(srv_parse_int("101", 1, 100, "n", &v, &e), SRV_ERR_ARG);
    CHECK_EQ_INT(srv_parse_int("1.5", 1, 100, "n", &v, &e), SRV_ERR_ARG);
    CHECK_EQ_INT(srv_parse_int(" 5", 1, 100, "n", &v, &e), SRV_ERR_ARG);
    CHECK_EQ_INT(srv_parse_int("+5", 1, 100, "n", &v, &e), SRV_ERR_ARG);
    CHECK_EQ_INT(srv_parse_int("", 1, 100, "n", &v, &e), SRV_ERR_ARG);
    CHECK_EQ_INT(srv_parse_int("99999999999999999999999", 1, 100, "n", &v, &e), SRV_ERR_ARG);
    CHECK_EQ_INT(srv_parse_int("-3", -5, 5, "n", &v, &e), SRV_OK);
    CHECK_EQ_INT(v, -3);
}

static void route(const char *method, const char *target, struct srv_route *r)
{
    struct srv_uri u;
    memset(r, 0, sizeof *r);
    if (srv_uri_parse(target, &u, NULL) != SRV_OK) {
        r->status = -1;
        return;
    }
    srv_router_match(method, &u, r);
    srv_uri_fini(&u);
}

static void test_router(void)
{
    struct srv_route r;

    route("POST", "/api/jobs", &r);
    CHECK_EQ_INT(r.id, SRV_ROUTE_JOBS_CREATE);
    CHECK(r.mutating);
    route("GET", "/api/jobs?state=running", &r);
    CHECK_EQ_INT(r.id, SRV_ROUTE_JOBS_LIST);
    CHECK(!r.mutating);
    route("HEAD", "/api/jobs", &r);
    CHECK_EQ_INT(r.id, SRV_ROUTE_JOBS_LIST);
    route("GET", "/api/jobs/12", &r);
    CHECK_EQ_INT(r.id, SRV_ROUTE_JOB_GET);
    CHECK_EQ_INT(r.job_id, 12);
    route("DELETE", "/api/jobs/0007", &r);
    CHECK_EQ_INT(r.id, SRV_ROUTE_JOB_DELETE);
    CHECK_EQ_INT(r.job_id, 7);
    route("POST", "/api/jobs/3/cancel", &r);
    CHECK_EQ_INT(r.id, SRV_ROUTE_JOB_CANCEL);
    route("GET", "/api/jobs/3/reconstructions.png?n=4", &r);
    CHECK_EQ_INT(r.id, SRV_ROUTE_JOB_RECON);
    route("GET", "/api/jobs/3/latent.png?epoch=2", &r);
    CHECK_EQ_INT(r.id, SRV_ROUTE_JOB_LATENT);
    route("GET", "/api/jobs/3/manifold.png", &r);
    CHECK_EQ_INT(r.id, SRV_ROUTE_JOB_MANIFOLD);
    route("HEAD", "/api/jobs/3/samples.png?n=4&seed=1", &r);
    CHECK_EQ_INT(r.id, SRV_ROUTE_JOB_SAMPLES);
    CHECK_EQ_STR(srv_route_name(SRV_ROUTE_JOB_SAMPLES), "job_samples");
    CHECK_EQ_STR(srv_route_name(SRV_ROUTE_JOB_METRICS), "job_metrics");
    route("GET", "/api/jobs/3/metrics", &r);
    CHECK_EQ_INT(r.id, SRV_ROUTE_JOB_METRICS);
    route("GET", "/api/jobs/3/summary", &r);
    CHECK_EQ_INT(r.id, SRV_ROUTE_JOB_SUMMARY);
    route("GET", "/api/jobs/3/weights", &r);
    CHECK_EQ_INT(r.id, SRV_ROUTE_JOB_WEIGHTS);
    route("GET", "/api/jobs/3/events", &r);
    CHECK_EQ_INT(r.id, SRV_ROUTE_JOB_EVENTS);
    route("GET", "/api/events", &r);
    CHECK_EQ_INT(r.id, SRV_ROUTE_EVENTS);
    route("GET", "/api/models", &r);
    CHECK_EQ_INT(r.id, SRV_ROUTE_MODELS);
    route("GET", "/api/health", &r);
    CHECK_EQ_INT(r.id, SRV_ROUTE_HEALTH);
    route("GET", "/api/openapi.json", &r);
    CHECK_EQ_INT(r.id, SRV_ROUTE_OPENAPI);
    route("GET", "/metrics", &r);
    CHECK_EQ_INT(r.id, SRV_ROUTE_PROMETHEUS);

    /* 405 with the Allow list of that path. */
    route("PUT", "/api/jobs", &r);
    CHECK_EQ_INT(r.id, SRV_ROUTE_NONE);
    CHECK_EQ_INT(r.status, 405);
    CHECK_EQ_STR(r.allow, "GET, HEAD, POST");
    route("POST", "/api/jobs/5", &r);
    CHECK_EQ_INT(r.status, 405);
    CHECK_EQ_STR(r.allow, "GET, HEAD, DELETE");
    route("GET", "/api/jobs/5/cancel", &r);
    CHECK_EQ_INT(r.status, 405);
    CHECK_EQ_STR(r.allow, "POST");
    route("DELETE", "/api/models", &r);
    CHECK_EQ_STR(r.allow, "GET, HEAD");
    route("POST", "/index.html", &r);
    CHECK_EQ_INT(r.status, 405);
    CHECK_EQ_STR(r.allow, "GET, HEAD");

    /* Malformed ids are 400 and name the id; 405 wins over a bad id. */
    route("GET", "/api/jobs/abc", &r);
    CHECK_EQ_INT(r.status, 400);
    CHECK(strstr(r.detail, "'abc' is not a job id") != NULL);
    route("GET", "/api/jobs/0", &r);
    CHECK_EQ_INT(r.status, 400);
    route("GET", "/api/jobs/-1", &r);
    CHECK_EQ_INT(r.status, 400);
    route("GET", "/api/jobs/99999999999999999999", &r);
    CHECK_EQ_INT(r.status, 400);
    route("GET", "/api/jobs/9007199254740992", &r); /* 2^53 */
    CHECK_EQ_INT(r.status, 400);
    route("GET", "/api/jobs/9007199254740991", &r);
    CHECK_EQ_INT(r.id, SRV_ROUTE_JOB_GET);
    route("PATCH", "/api/jobs/abc", &r);
    CHECK_EQ_INT(r.status, 405);

    /* Unknown API paths are 404; everything else is a static file. */
    route("GET", "/api/nope", &r);
    CHECK_EQ_INT(r.status, 404);
    route("GET", "/api/jobs/", &r);
    CHECK_EQ_INT(r.status, 404);
    route("GET", "/api", &r);
    CHECK_EQ_INT(r.status, 404);
    route("GET", "/api/jobs/1/cancel/x", &r);
    CHECK_EQ_INT(r.status, 404);
    route("GET", "/", &r);
    CHECK_EQ_INT(r.id, SRV_ROUTE_STATIC);
    route("GET", "/app.js", &r);
    CHECK_EQ_INT(r.id, SRV_ROUTE_STATIC);
    route("GET", "/metrics/x", &r);
    CHECK_EQ_INT(r.id, SRV_ROUTE_STATIC);

    /* Sweeps: the same id rules as jobs, with the word "sweep". */
    route("POST", "/api/sweeps", &r);
    CHECK_EQ_INT(r.id, SRV_ROUTE_SWEEPS_CREATE);
    CHECK(r.mutating);
    route("GET", "/api/sweeps/3/metrics", &r);
    CHECK_EQ_INT(r.id, SRV_ROUTE_SWEEP_METRICS);
    CHECK_EQ_INT((int)r.job_id, 3);
    route("DELETE", "/api/sweeps/3", &r);
    CHECK_EQ_INT(r.id, SRV_ROUTE_SWEEP_DELETE);
    route("GET", "/api/sweeps/x", &r);
    CHECK_EQ_INT(r.status, 400);
    CHECK(strstr(r.detail, "'x' is not a sweep id") != NULL);
    route("PUT", "/api/sweeps/3/cancel", &r);
    CHECK_EQ_INT(r.status, 405);

    /* The template list covers every API route once. */
    {
        int n = 0;
        const char *m;
        char path[96];
        while (srv_router_template(n, &m, path, sizeof path)) n++;
        CHECK_EQ_INT(n, 25);
        CHECK(srv_router_template(4, &m, path, sizeof path));
        CHECK_EQ_STR(m, "POST");
        CHECK_EQ_STR(path, "/api/jobs/{id}/cancel");
    }
}

int main(void)
{
    test_parse();
    test_parse_int();
    test_router();
    return check_summary("test_srv_uri");
}
