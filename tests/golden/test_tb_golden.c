/*
 * test_tb_golden.c - our writer against TensorBoard's own bytes.
 *
 * For every golden event file that aelab can produce, replay the events its
 * JSON sidecar describes through the public tb_writer API (the inputs --
 * tags, values as float bit patterns, wall times, steps, the text, the PNG,
 * the hparams and the layout -- come from the sidecar, never from the golden
 * bytes) and require the file we wrote to equal the golden file byte for
 * byte.  Also the fresh job's START record from resume.json, and the
 * hparams group name's JSON and hash.
 *
 * usage: test_tb_golden GOLDEN_DIR
 */
#include <jansson.h>

#include "check.h"
#include "proto/tb.h"
#include "tb_test_util.h"

static const char *golden_dir;

static const char *jstr(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* --- hparams ------------------------------------------------------------ */

static enum tb_status replay_experiment(struct tb_writer *w, double wall, int64_t step,
                                        json_t *exp, struct tb_err *err)
{
    json_t *infos = json_object_get(exp, "hparam_infos");
    json_t *minfos = json_object_get(exp, "metric_infos");
    size_t nh = json_array_size(infos), nm = json_array_size(minfos);
    struct tb_hparam_info *hp = calloc(nh + 1, sizeof *hp);
    struct tb_metric_info *m = calloc(nm + 1, sizeof *m);
    const char **strs = calloc(64 * (nh + 1), sizeof *strs);
    size_t at = 0;
    for (size_t i = 0; i < nh; i++) {
        json_t *in = json_array_get(infos, i);
        hp[i].name = jstr(in, "name");
        const char *type = jstr(in, "type");
        json_t *disc = json_object_get(in, "domain_discrete");
        json_t *iv = json_object_get(in, "domain_interval");
        if (!strcmp(type, "DATA_TYPE_STRING")) {
            hp[i].type = TB_HPARAM_STRING;
            /* Hand the domain over reversed: the writer must sort it. */
            size_t nd = json_array_size(disc);
            hp[i].values = strs + at;
            hp[i].n_values = (int32_t)nd;
            for (size_t k = 0; k < nd && at < 64 * (nh + 1); k++)
                strs[at++] = json_string_value(json_array_get(disc, nd - 1 - k));
        } else {
            hp[i].type = TB_HPARAM_FLOAT64;
            if (iv) {
                hp[i].has_interval = true;
                hp[i].min_value = json_number_value(json_object_get(iv, "min_value"));
                hp[i].max_value = json_number_value(json_object_get(iv, "max_value"));
            }
        }
    }
    for (size_t i = 0; i < nm; i++) {
        json_t *mi = json_array_get(minfos, i);
        json_t *name = json_object_get(mi, "name");
        m[i].group = json_string_value(json_object_get(name, "group"));
        m[i].tag = jstr(name, "tag");
        const char *dt = jstr(mi, "dataset_type");
        m[i].dataset_type = !strcmp(dt, "DATASET_TRAINING")     ? TB_DATASET_TRAINING
                            : !strcmp(dt, "DATASET_VALIDATION") ? TB_DATASET_VALIDATION
                                                                : TB_DATASET_UNKNOWN;
    }
    double created = json_number_value(json_object_get(exp, "time_created_secs"));
    enum tb_status st = tb_writer_add_hparams_experiment(w, wall, step, hp, (int32_t)nh, m,
                                                         (int32_t)nm, created, err);
    free(strs);
    free(m);
    free(hp);
    return st;
}

/* The job's hparams as tb_hparam_values (ints stay ints: jansson keeps the
 * difference between 50 and 0.5 that Python's json printed). */
static struct tb_hparam_value *hparam_values(json_t *obj, int32_t *n)
{
    size_t cnt = json_object_size(obj), i = 0;
    struct tb_hparam_value *v = calloc(cnt + 1, sizeof *v);
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val) {
        v[i].name = key;
        if (json_is_string(val)) {
            v[i].kind = TB_VALUE_STRING;
            v[i].s = json_string_value(val);
        } else if (json_is_integer(val)) {
            v[i].kind = TB_VALUE_INT;
            v[i].i = json_integer_value(val);
        } else if (json_is_real(val)) {
            v[i].kind = TB_VALUE_FLOAT;
            v[i].f = json_real_value(val);
        } else {
            v[i].kind = TB_VALUE_BOOL;
            v[i].b = json_is_true(val);
        }
        i++;
    }
    *n = (int32_t)cnt;
    return v;
}

static enum tb_status replay_hparams(struct tb_writer *w, double wall, int64_t step,
                                     json_t *sidecar, json_t *decoded, struct tb_err *err)
{
    json_t *exp = json_object_get(decoded, "experiment");
    json_t *start = json_object_get(decoded, "session_start_info");
    json_t *end = json_object_get(decoded, "session_end_info");
    if (exp)
        return replay_experiment(w, wall, step, exp, err);
    if (start) {
        int32_t n;
        struct tb_hparam_value *v = hparam_values(json_object_get(sidecar, "hparams"), &n);
        /* Every value must agree with what the golden record decodes to. */
        json_t *map = json_object_get(start, "hparams");
        CHECK_EQ_INT(json_object_size(map), n);
        for (int32_t i = 0; i < n; i++) {
            json_t *d = json_object_get(map, v[i].name);
            if (v[i].kind == TB_VALUE_STRING)
                CHECK_EQ_STR(json_string_value(d), v[i].s);
            else
                CHECK_NEAR(json_number_value(d), v[i].kind == TB_VALUE_INT ? (double)v[i].i
                                                                            : v[i].f, 0);
        }
        /* group_name NULL: the writer computes it; it must be the golden one. */
        enum tb_status st = tb_writer_add_hparams_start(
            w, wall, step, v, n, NULL,
            json_number_value(json_object_get(start, "start_time_secs")), err);
        free(v);
        return st;
    }
    if (end) {
        const char *s = jstr(end, "status");
        enum tb_session_status status = !strcmp(s, "STATUS_SUCCESS")   ? TB_SESSION_SUCCESS
                                        : !strcmp(s, "STATUS_FAILURE") ? TB_SESSION_FAILURE
                                        : !strcmp(s, "STATUS_RUNNING") ? TB_SESSION_RUNNING
                                                                       : TB_SESSION_UNKNOWN;
        return tb_writer_add_hparams_end(w, wall, step, status,
                                         json_number_value(json_object_get(end, "end_time_secs")),
                                         err);
    }
    CHECK_MSG(0, "hparams record with unknown content");
    return TB_ERR_ARG;
}

/* --- layout -------------------------------------------------------------- */

static enum tb_status replay_layout(struct tb_writer *w, double wall, int64_t step,
                                    json_t *layout, struct tb_err *err)
{
    json_t *cats = json_object_get(layout, "category");
    size_t nc = json_array_size(cats), total = 0;
    for (size_t i = 0; i < nc; i++)
        total += json_array_size(json_object_get(json_array_get(cats, i), "chart"));
    struct tb_category *c = calloc(nc + 1, sizeof *c);
    struct tb_chart *ch = calloc(total + 1, sizeof *ch);
    const char **tags = calloc(64 * (total + 1), sizeof *tags);
    size_t at = 0, tat = 0;
    for (size_t i = 0; i < nc; i++) {
        json_t *cat = json_array_get(cats, i);
        json_t *charts = json_object_get(cat, "chart");
        c[i].title = jstr(cat, "title");
        c[i].charts = ch + at;
        c[i].n_charts = (int32_t)json_array_size(charts);
        for (size_t j = 0; j < json_array_size(charts); j++, at++) {
            json_t *chart = json_array_get(charts, j);
            json_t *t = json_object_get(json_object_get(chart, "multiline"), "tag");
            ch[at].title = jstr(chart, "title");
            ch[at].tags = tags + tat;
            ch[at].n_tags = (int32_t)json_array_size(t);
            for (size_t k = 0; k < json_array_size(t) && tat < 64 * (total + 1); k++)
                tags[tat++] = json_string_value(json_array_get(t, k));
        }
    }
    enum tb_status st = tb_writer_add_layout(w, wall, step, c, (int32_t)nc, err);
    free(tags);
    free(ch);
    free(c);
    return st;
}

/* --- one record ------------------------------------------------------------ */

static enum tb_status replay_record(struct tb_writer *w, json_t *sidecar, json_t *rec,
                                    struct tb_err *err)
{
    json_t *ev = json_object_get(rec, "event");
    double wall = json_number_value(json_object_get(ev, "wall_time"));
    int64_t step = json_integer_value(json_object_get(ev, "step"));
    const char *what = jstr(ev, "what");

    if (!strcmp(what, "session_log")) {
        CHECK_EQ_STR(jstr(json_object_get(ev, "session_log"), "status"), "START");
        return tb_writer_add_session_start(w, wall, step, err);
    }
    CHECK_EQ_STR(what, "summary");
    json_t *values = json_object_get(ev, "values");
    CHECK_EQ_INT(json_array_size(values), 1);
    json_t *v = json_array_get(values, 0);
    const char *kind = jstr(v, "kind"), *tag = jstr(v, "tag");
    json_t *meta = json_object_get(v, "metadata");
    const char *plugin = jstr(json_object_get(meta, "plugin_data"), "plugin_name");

    if (!strcmp(kind, "simple_value"))
        return tb_writer_add_scalar(w, wall, step, tag,
                                    tu_f32_from_le_hex(jstr(v, "simple_value_f32_le_hex")), err);
    if (!strcmp(kind, "image")) {
        json_t *img = json_object_get(v, "image");
        char path[4096];
        uint8_t *png;
        size_t png_len;
        snprintf(path, sizeof path, "%s/%s", golden_dir, jstr(sidecar, "png_file"));
        if (tu_read_file(path, &png, &png_len) != 0)
            return TB_ERR_IO;
        CHECK_EQ_INT(png_len, json_integer_value(json_object_get(img, "encoded_image_string_len")));
        enum tb_status st = tb_writer_add_image(
            w, wall, step, tag, png, png_len,
            (int32_t)json_integer_value(json_object_get(img, "width")),
            (int32_t)json_integer_value(json_object_get(img, "height")),
            (int32_t)json_integer_value(json_object_get(img, "colorspace")), err);
        free(png);
        return st;
    }
    CHECK_EQ_STR(kind, "tensor");
    if (!strcmp(plugin, "scalars")) {
        json_t *tp = json_object_get(v, "tensor_proto");
        float f = (float)json_number_value(json_object_get(v, "tensor_value"));
        enum tb_scalar_form form =
            json_object_get(tp, "tensor_content") ? TB_SCALAR_TENSOR_CONTENT : TB_SCALAR_TENSOR;
        return tb_writer_add_scalar_as(w, wall, step, tag, f, form, err);
    }
    if (!strcmp(plugin, "text")) {
        const char *text = json_string_value(json_array_get(json_object_get(v, "tensor_value"), 0));
        CHECK_EQ_STR(text, jstr(sidecar, "text"));
        return tb_writer_add_text(w, wall, step, jstr(meta, "display_name"), text, err);
    }
    if (!strcmp(plugin, "hparams"))
        return replay_hparams(w, wall, step, sidecar,
                              json_object_get(v, "plugin_content_decoded"), err);
    if (!strcmp(plugin, "custom_scalars"))
        return replay_layout(w, wall, step, json_object_get(v, "layout_decoded"), err);
    CHECK_MSG(0, "record %lld: nothing to replay for kind %s plugin %s",
              (long long)json_integer_value(json_object_get(rec, "index")), kind, plugin);
    return TB_ERR_ARG;
}

/* Write name.tfevents again from name.json and compare. */
static void test_golden_file(const char *name)
{
    char path[4096];
    json_error_t jerr;
    snprintf(path, sizeof path, "%s/%s.json", golden_dir, name);
    json_t *sidecar = json_load_file(path, 0, &jerr);
    CHECK_MSG(sidecar != NULL, "%s: %s", path, jerr.text);
    if (!sidecar)
        return;
    char *dir = tu_mkdtemp("golden");
    CHECK(dir != NULL);
    if (!dir) {
        json_decref(sidecar);
        return;
    }

    json_t *records = json_object_get(sidecar, "records");
    json_t *first = json_object_get(json_array_get(records, 0), "event");
    CHECK_EQ_STR(jstr(first, "what"), "file_version");
    struct tb_writer *w = NULL;
    struct tb_err err = {0};
    enum tb_status st = tb_writer_open(dir, json_number_value(json_object_get(first, "wall_time")),
                                       "golden", 1, &w, &err);
    CHECK_MSG(st == TB_OK, "%s: open: %s", name, err.msg);
    for (size_t i = 1; st == TB_OK && i < json_array_size(records); i++) {
        st = replay_record(w, sidecar, json_array_get(records, i), &err);
        CHECK_MSG(st == TB_OK, "%s: record %zu: %s", name, i, err.msg);
    }
    if (w) {
        snprintf(path, sizeof path, "%s", tb_writer_path(w));
        CHECK_EQ_INT(tb_writer_bytes(w), json_integer_value(json_object_get(sidecar, "size")));
        CHECK_EQ_INT(tb_writer_sync(w, &err), TB_OK);
        CHECK_EQ_INT(tb_writer_close(w, &err), TB_OK);

        uint8_t *ours = NULL, *gold = NULL;
        size_t n_ours = 0, n_gold = 0;
        char gpath[4096];
        snprintf(gpath, sizeof gpath, "%s/%s.tfevents", golden_dir, name);
        CHECK(tu_read_file(path, &ours, &n_ours) == 0);
        CHECK(tu_read_file(gpath, &gold, &n_gold) == 0);
        bool same = ours && gold && n_ours == n_gold && memcmp(ours, gold, n_gold) == 0;
        CHECK_MSG(same, "%s.tfevents: our bytes differ from TensorBoard's", name);
        if (!same && ours && gold)
            tu_show_diff(name, ours, n_ours, gold, n_gold);
        else
            printf("%-24s %5zu bytes, %zu records: byte-identical\n", name, n_gold,
                   json_array_size(records));
        free(ours);
        free(gold);
    }
    tu_rmtree(dir);
    free(dir);
    json_decref(sidecar);
}

/* The file name follows TensorBoard's pattern, and a second writer in the
 * same second gets the next free counter instead of appending. */
static void test_file_names(void)
{
    char *dir = tu_mkdtemp("names");
    struct tb_writer *a = NULL, *b = NULL;
    struct tb_err err = {0};
    CHECK_EQ_INT(tb_writer_open(dir, 1700000000.75, "my/host", 4242, &a, &err), TB_OK);
    CHECK_EQ_INT(tb_writer_open(dir, 1700000000.0, "my/host", 4242, &b, &err), TB_OK);
    char want[4096];
    snprintf(want, sizeof want, "%s/events.out.tfevents.1700000000.my_host.4242.0", dir);
    CHECK_EQ_STR(a ? tb_writer_path(a) : NULL, want);
    snprintf(want, sizeof want, "%s/events.out.tfevents.1700000000.my_host.4242.1", dir);
    CHECK_EQ_STR(b ? tb_writer_path(b) : NULL, want);
    tb_writer_close(a, NULL);
    tb_writer_close(b, NULL);
    /* A small wall time still gives 10 digits, so names sort by time. */
    CHECK_EQ_INT(tb_writer_open(dir, 99.0, "", 7, &a, &err), TB_OK);
    snprintf(want, sizeof want, "%s/events.out.tfevents.0000000099.localhost.7.0", dir);
    CHECK_EQ_STR(a ? tb_writer_path(a) : NULL, want);
    tb_writer_close(a, NULL);
    tu_rmtree(dir);
    free(dir);
}

/* What a fresh job writes after file_version: START at step 0. */
static void test_fresh_start_record(void)
{
    char path[4096];
    json_error_t jerr;
    snprintf(path, sizeof path, "%s/resume.json", golden_dir);
    json_t *sidecar = json_load_file(path, 0, &jerr);
    CHECK_MSG(sidecar != NULL, "%s: %s", path, jerr.text);
    json_t *fresh = json_object_get(sidecar, "fresh_job_start_record");
    uint8_t want[256];
    long n_want = tu_unhex(jstr(fresh, "record_hex"), want, sizeof want);
    CHECK(n_want > 0);

    char *dir = tu_mkdtemp("fresh");
    struct tb_writer *w = NULL;
    struct tb_err err = {0};
    double wall = json_number_value(json_object_get(json_object_get(fresh, "event"), "wall_time"));
    CHECK_EQ_INT(tb_writer_open(dir, wall, "golden", 1, &w, &err), TB_OK);
    uint64_t before = tb_writer_bytes(w);
    CHECK_EQ_INT(tb_writer_add_session_start(w, wall, 0, &err), TB_OK);
    CHECK_EQ_INT(tb_writer_bytes(w) - before, n_want);
    snprintf(path, sizeof path, "%s", tb_writer_path(w));
    tb_writer_close(w, NULL);
    uint8_t *ours;
    size_t n_ours;
    CHECK(tu_read_file(path, &ours, &n_ours) == 0);
    CHECK(n_ours == before + (size_t)n_want && memcmp(ours + before, want, (size_t)n_want) == 0);
    free(ours);
    tu_rmtree(dir);
    free(dir);
    json_decref(sidecar);
}

/* The group name: Python's compact JSON, then SHA-256. */
static void test_group_name(void)
{
    char path[4096];
    json_error_t jerr;
    snprintf(path, sizeof path, "%s/hparams.json", golden_dir);
    json_t *sidecar = json_load_file(path, 0, &jerr);
    CHECK_MSG(sidecar != NULL, "%s: %s", path, jerr.text);
    int32_t n;
    struct tb_hparam_value *v = hparam_values(json_object_get(sidecar, "hparams"), &n);
    char *json = NULL, group[65];
    struct tb_err err = {0};
    CHECK_EQ_INT(tb_hparams_json(v, n, &json, &err), TB_OK);
    CHECK_EQ_STR(json, jstr(sidecar, "session_group_name_json"));
    CHECK_EQ_INT(tb_hparams_group_name(v, n, group, &err), TB_OK);
    CHECK_EQ_STR(group, jstr(sidecar, "session_group_name"));
    CHECK_EQ_STR(group, "2b65cfe8c885f0c5da3979be09c699c99d3125c8678b7062b44237ec442be683");
    free(json);
    free(v);
    json_decref(sidecar);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s GOLDEN_DIR\n", argv[0]);
        return 2;
    }
    golden_dir = argv[1];
    size_t n_golden;
    const char *const *golden = tu_golden_names(&n_golden);
    for (size_t i = 0; i < n_golden; i++)
        test_golden_file(golden[i]);
    test_fresh_start_record();
    test_group_name();
    test_file_names();
    return check_summary("test_tb_golden");
}
