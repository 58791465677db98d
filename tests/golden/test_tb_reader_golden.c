/*
 * test_tb_reader_golden.c - the reader on TensorBoard's files.
 *
 * Every valid golden file is walked with tb_reader_next and each record is
 * compared with its sidecar (offset, length, wall time, step, what it holds,
 * tags, values by bit pattern, image size, text, hparams kind, layout).
 * The damaged files must give exactly what the golden README says:
 * truncated.tfevents stops quietly at offset 258 with 39 of 46 bytes (and a
 * follower picks the record up once the rest arrives); corrupt.tfevents has
 * a data-CRC error in record 1 at offset 40, stored 0x8c2b9d48, computed
 * 0x5f5bf3d3, and records 2..6 are still read.
 *
 * usage: test_tb_reader_golden GOLDEN_DIR
 */
#include <fcntl.h>
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

static void check_value(const char *file, int64_t idx, const struct tb_value *v, json_t *jv)
{
    const char *kind = jstr(jv, "kind");
    json_t *meta = json_object_get(jv, "metadata");
    const char *plugin = jstr(json_object_get(meta, "plugin_data"), "plugin_name");
    CHECK_EQ_STR(v->tag, jstr(jv, "tag"));
    CHECK_EQ_STR(v->plugin_name, plugin);
    if (!strcmp(kind, "simple_value")) {
        CHECK_MSG(v->type == TB_VAL_SCALAR, "%s #%lld: not a scalar", file, (long long)idx);
        float want = tu_f32_from_le_hex(jstr(jv, "simple_value_f32_le_hex"));
        CHECK_MSG(memcmp(&v->scalar, &want, 4) == 0, "%s #%lld: %.9g != %.9g", file,
                  (long long)idx, v->scalar, want);
    } else if (!strcmp(kind, "image")) {
        json_t *img = json_object_get(jv, "image");
        CHECK_EQ_INT(v->type, TB_VAL_IMAGE);
        CHECK_EQ_INT(v->width, json_integer_value(json_object_get(img, "width")));
        CHECK_EQ_INT(v->height, json_integer_value(json_object_get(img, "height")));
        CHECK_EQ_INT(v->colorspace, json_integer_value(json_object_get(img, "colorspace")));
        CHECK_EQ_INT(v->image_bytes,
                     json_integer_value(json_object_get(img, "encoded_image_string_len")));
        CHECK(v->image && v->image_bytes >= 8 && memcmp(v->image, "\x89PNG\r\n\x1a\n", 8) == 0);
    } else if (!strcmp(plugin, "scalars")) {
        CHECK_EQ_INT(v->type, TB_VAL_SCALAR);
        CHECK_NEAR(v->scalar, (float)json_number_value(json_object_get(jv, "tensor_value")), 0);
    } else if (!strcmp(plugin, "text")) {
        CHECK_EQ_INT(v->type, TB_VAL_TEXT);
        CHECK_EQ_STR(v->text, json_string_value(json_array_get(json_object_get(jv, "tensor_value"), 0)));
    } else if (!strcmp(plugin, "hparams")) {
        json_t *d = json_object_get(jv, "plugin_content_decoded");
        CHECK_EQ_INT(v->type, TB_VAL_HPARAMS);
        if (json_object_get(d, "experiment")) {
            json_t *e = json_object_get(d, "experiment");
            CHECK_EQ_INT(v->hparams_kind, TB_HPARAMS_EXPERIMENT);
            CHECK_EQ_INT(v->n_hparams, json_array_size(json_object_get(e, "hparam_infos")));
            CHECK_EQ_INT(v->n_metrics, json_array_size(json_object_get(e, "metric_infos")));
        } else if (json_object_get(d, "session_start_info")) {
            json_t *s = json_object_get(d, "session_start_info");
            CHECK_EQ_INT(v->hparams_kind, TB_HPARAMS_SESSION_START);
            CHECK_EQ_INT(v->n_hparams, json_object_size(json_object_get(s, "hparams")));
            CHECK_EQ_STR(v->group_name, jstr(s, "group_name"));
        } else {
            CHECK_EQ_INT(v->hparams_kind, TB_HPARAMS_SESSION_END);
            CHECK_EQ_INT(v->session_status, TB_SESSION_SUCCESS);
        }
    } else if (!strcmp(plugin, "custom_scalars")) {
        json_t *cats = json_object_get(json_object_get(jv, "layout_decoded"), "category");
        CHECK_EQ_INT(v->type, TB_VAL_LAYOUT);
        CHECK_EQ_INT(v->n_categories, json_array_size(cats));
        CHECK_EQ_INT(v->n_charts, json_array_size(json_object_get(json_array_get(cats, 0), "chart")));
    } else {
        CHECK_MSG(0, "%s #%lld: unexpected kind %s", file, (long long)idx, kind);
    }
}

static void check_record(const char *file, const struct tb_record *r, json_t *jr)
{
    json_t *ev = json_object_get(jr, "event");
    const char *what = jstr(ev, "what");
    CHECK_EQ_INT(r->index, json_integer_value(json_object_get(jr, "index")));
    CHECK_EQ_INT(r->offset, json_integer_value(json_object_get(jr, "offset")));
    CHECK_EQ_INT(r->length, json_integer_value(json_object_get(jr, "length")));
    CHECK_NEAR(r->event.wall_time, json_number_value(json_object_get(ev, "wall_time")), 0);
    CHECK_EQ_INT(r->event.step, json_integer_value(json_object_get(ev, "step")));
    if (!strcmp(what, "file_version")) {
        CHECK_EQ_INT(r->event.kind, TB_EVENT_FILE_VERSION);
        CHECK_EQ_STR(r->event.file_version, jstr(ev, "file_version"));
    } else if (!strcmp(what, "session_log")) {
        CHECK_EQ_INT(r->event.kind, TB_EVENT_SESSION_LOG);
        CHECK_EQ_INT(r->event.session_status, 1);
    } else {
        json_t *values = json_object_get(ev, "values");
        CHECK_EQ_INT(r->event.kind, TB_EVENT_SUMMARY);
        CHECK_EQ_INT(r->event.n_values, json_array_size(values));
        for (int32_t i = 0; i < r->event.n_values && i < (int32_t)json_array_size(values); i++)
            check_value(file, r->index, &r->event.values[i], json_array_get(values, (size_t)i));
    }
}

static json_t *load_sidecar(const char *name)
{
    char path[4096];
    json_error_t jerr;
    snprintf(path, sizeof path, "%s/%s.json", golden_dir, name);
    json_t *j = json_load_file(path, 0, &jerr);
    CHECK_MSG(j != NULL, "%s: %s", path, jerr.text);
    return j;
}

static struct tb_reader *open_golden(const char *name)
{
    char path[4096];
    struct tb_reader *r = NULL;
    struct tb_err err = {0};
    snprintf(path, sizeof path, "%s/%s.tfevents", golden_dir, name);
    CHECK_MSG(tb_reader_open(path, &r, &err) == TB_OK, "%s", err.msg);
    return r;
}

static void test_valid_file(const char *name)
{
    json_t *sidecar = load_sidecar(name);
    struct tb_reader *r = open_golden(name);
    if (!sidecar || !r)
        goto done;
    json_t *records = json_object_get(sidecar, "records");
    struct tb_record rec;
    struct tb_err err = {0};
    size_t n = 0;
    enum tb_status st;
    while ((st = tb_reader_next(r, &rec, &err)) == TB_OK) {
        if (n < json_array_size(records))
            check_record(name, &rec, json_array_get(records, n));
        n++;
    }
    CHECK_MSG(st == TB_END, "%s: ended with %s: %s", name, tb_status_str(st), err.msg);
    CHECK_EQ_INT(n, json_array_size(records));
    CHECK_EQ_INT(n, json_integer_value(json_object_get(sidecar, "num_records")));
    /* End of file stays the end. */
    CHECK_EQ_INT(tb_reader_next(r, &rec, &err), TB_END);
done:
    tb_reader_close(r);
    json_decref(sidecar);
}

static void test_truncated(void)
{
    json_t *sidecar = load_sidecar("truncated");
    json_t *records = json_object_get(sidecar, "records");
    struct tb_reader *r = open_golden("truncated");
    struct tb_record rec;
    struct tb_err err = {0};
    if (!r)
        goto done;
    for (int i = 0; i < 6; i++) {
        CHECK_EQ_INT(tb_reader_next(r, &rec, &err), TB_OK);
        check_record("truncated", &rec, json_array_get(records, (size_t)i));
    }
    /* Twice: the reader stays at the torn record instead of skipping it. */
    for (int k = 0; k < 2; k++) {
        CHECK_EQ_INT(tb_reader_next(r, &rec, &err), TB_ERR_TRUNCATED);
        CHECK_EQ_INT(err.code, TB_ERR_TRUNCATED);
        CHECK_EQ_INT(rec.damage.index, 6);
        CHECK_EQ_INT(rec.damage.offset, 258);
        CHECK_EQ_INT(rec.damage.bytes_present, 39);
        CHECK_EQ_INT(rec.damage.bytes_expected, 46);
        CHECK_MSG(strstr(err.msg, "truncated trailing record at offset 258 (39 of 46 bytes)"),
                  "message: %s", err.msg);
    }
done:
    tb_reader_close(r);
    json_decref(sidecar);
}

/* A follower: the torn record becomes readable once the writer finishes it. */
static void test_follow_growing_file(void)
{
    char src[4096], path[4096];
    uint8_t *full = NULL, *cut = NULL;
    size_t n_full = 0, n_cut = 0;
    snprintf(src, sizeof src, "%s/scalars.tfevents", golden_dir);
    CHECK(tu_read_file(src, &full, &n_full) == 0);
    snprintf(src, sizeof src, "%s/truncated.tfevents", golden_dir);
    CHECK(tu_read_file(src, &cut, &n_cut) == 0);
    char *dir = tu_mkdtemp("follow");
    if (!full || !cut || !dir)
        goto done;
    CHECK_EQ_INT(n_full - n_cut, 7);
    CHECK(memcmp(full, cut, n_cut) == 0);
    snprintf(path, sizeof path, "%s/events.out.tfevents.1700000000.follow", dir);
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(cut, 1, n_cut, f) == n_cut && fflush(f) == 0);

    struct tb_reader *r = NULL;
    struct tb_record rec;
    struct tb_err err = {0};
    CHECK_EQ_INT(tb_reader_open(path, &r, &err), TB_OK);
    int ok = 0;
    enum tb_status st;
    while ((st = tb_reader_next(r, &rec, &err)) == TB_OK)
        ok++;
    CHECK_EQ_INT(ok, 6);
    CHECK_EQ_INT(st, TB_ERR_TRUNCATED);
    /* The writer appends the missing 7 bytes. */
    CHECK(f && fwrite(full + n_cut, 1, n_full - n_cut, f) == n_full - n_cut && fflush(f) == 0);
    CHECK_EQ_INT(tb_reader_next(r, &rec, &err), TB_OK);
    CHECK_EQ_INT(rec.index, 6);
    CHECK_EQ_INT(rec.offset, 258);
    CHECK_EQ_INT(rec.event.step, 3);
    CHECK(rec.event.n_values == 1 && !strcmp(rec.event.values[0].tag, "val_loss"));
    CHECK_EQ_INT(tb_reader_next(r, &rec, &err), TB_END);
    tb_reader_close(r);
    if (f)
        fclose(f);
done:
    if (dir)
        tu_rmtree(dir);
    free(dir);
    free(full);
    free(cut);
}

static void test_corrupt(void)
{
    json_t *sidecar = load_sidecar("corrupt");
    json_t *records = json_object_get(sidecar, "records");
    struct tb_reader *r = open_golden("corrupt");
    struct tb_record rec;
    struct tb_err err = {0};
    if (!r)
        goto done;
    CHECK_EQ_INT(tb_reader_next(r, &rec, &err), TB_OK);
    check_record("corrupt", &rec, json_array_get(records, 0));

    CHECK_EQ_INT(tb_reader_next(r, &rec, &err), TB_ERR_CORRUPT);
    CHECK_EQ_INT(rec.damage.index, 1);
    CHECK_EQ_INT(rec.damage.offset, 40);
    CHECK(!rec.damage.length_crc);
    CHECK_EQ_INT(rec.damage.crc_stored, 0x8c2b9d48u);
    CHECK_EQ_INT(rec.damage.crc_computed, 0x5f5bf3d3u);
    CHECK_MSG(strstr(err.msg, "record 1 at offset 40: data CRC mismatch: stored 0x8c2b9d48, "
                              "computed 0x5f5bf3d3"), "message: %s", err.msg);

    /* The framing is intact: records 2..6 are read normally. */
    for (int i = 2; i <= 6; i++) {
        CHECK_EQ_INT(tb_reader_next(r, &rec, &err), TB_OK);
        check_record("corrupt", &rec, json_array_get(records, (size_t)i));
    }
    CHECK_EQ_INT(tb_reader_next(r, &rec, &err), TB_END);
done:
    tb_reader_close(r);
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
        test_valid_file(golden[i]);
    test_truncated();
    test_follow_growing_file();
    test_corrupt();
    return check_summary("test_tb_reader_golden");
}
