/*
 * test_tb_reader.c - the reader on files made to be damaged, and a round
 * trip of every record kind the writer makes.
 *
 * Damage: empty file, a torn header, a length CRC error (boundaries lost, the
 * reader stops for good), a length of 2^40 with a valid CRC (rejected, not
 * allocated), a length past the end (truncation, with the byte counts), a
 * payload with a valid CRC that is not an Event (reported, then the next
 * record is read), a missing file and a directory.
 */
#include <errno.h>
#include <math.h>

#include "check.h"
#include "proto/tb_internal.h"
#include "tests/golden/tb_test_util.h"

#define WALL 1700000000.0

static char *dir;

/* Write bytes to dir/name; returns the path (static buffer). */
static const char *put_file(const char *name, const uint8_t *data, size_t n)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
        CHECK(fwrite(data, 1, n, f) == n);
        fclose(f);
    }
    return path;
}

/* A framed record around data (n <= 256) into out; returns its size. */
static size_t frame(uint8_t *out, const uint8_t *data, size_t n)
{
    memcpy(out + TB_RECORD_HEADER_BYTES, data, n);
    tb_record_frame(out, n);
    return n + TB_RECORD_HEADER_BYTES + TB_RECORD_FOOTER_BYTES;
}

static enum tb_status first(const char *path, struct tb_reader **r, struct tb_record *rec,
                            struct tb_err *err)
{
    CHECK_EQ_INT(tb_reader_open(path, r, err), TB_OK);
    return *r ? tb_reader_next(*r, rec, err) : TB_ERR_IO;
}

static void test_damage(void)
{
    struct tb_reader *r = NULL;
    struct tb_record rec;
    struct tb_err err = {0};
    /* The file_version event of every golden file, as a payload. */
    static const uint8_t fv[24] = {0x09, 0x00, 0x00, 0x00, 0x40, 0xfc, 0x54, 0xd9, 0x41, 0x1a,
                                   0x0d, 'b', 'r', 'a', 'i', 'n', '.', 'E', 'v', 'e', 'n', 't',
                                   ':', '2'};
    uint8_t buf[1024] = {0};

    /* Empty file: a clean end. */
    CHECK_EQ_INT(first(put_file("empty", buf, 0), &r, &rec, &err), TB_END);
    tb_reader_close(r);

    /* 5 bytes: a torn header. */
    size_t n = frame(buf, fv, sizeof fv);
    CHECK_EQ_INT(first(put_file("torn_header", buf, 5), &r, &rec, &err), TB_ERR_TRUNCATED);
    CHECK_EQ_INT(rec.damage.offset, 0);
    CHECK_EQ_INT(rec.damage.bytes_present, 5);
    CHECK_EQ_INT(rec.damage.bytes_expected, 0);
    CHECK(strstr(err.msg, "12-byte header") != NULL);
    tb_reader_close(r);

    /* Length CRC wrong: corrupt, and the reader stops there for good. */
    uint8_t two[512];
    size_t n2 = frame(two, fv, sizeof fv);
    n2 += frame(two + n2, fv, sizeof fv);
    two[n + 8] ^= 0x01;   /* the second record's length CRC */
    CHECK_EQ_INT(first(put_file("bad_len_crc", two, n2), &r, &rec, &err), TB_OK);
    CHECK_EQ_INT(tb_reader_next(r, &rec, &err), TB_ERR_CORRUPT);
    CHECK(rec.damage.length_crc);
    CHECK_EQ_INT(rec.damage.index, 1);
    CHECK_EQ_INT(rec.damage.offset, n);
    CHECK(rec.damage.crc_stored != rec.damage.crc_computed);
    CHECK(strstr(err.msg, "length CRC mismatch") != NULL);
    CHECK_EQ_INT(tb_reader_next(r, &rec, &err), TB_ERR_CORRUPT);
    CHECK(rec.damage.length_crc);
    tb_reader_close(r);

    /* A 2^40-byte length with a valid CRC: refused, nothing allocated. */
    uint8_t huge[16] = {0, 0, 0, 0, 0, 1, 0, 0};
    uint32_t c = tb_crc32c_mask(tb_crc32c(huge, 8));
    for (int i = 0; i < 4; i++)
        huge[8 + i] = (uint8_t)(c >> (8 * i));
    CHECK_EQ_INT(first(put_file("huge_len", huge, sizeof huge), &r, &rec, &err), TB_ERR_FORMAT);
    CHECK(strstr(err.msg, "1099511627776 bytes") != NULL);
    tb_reader_close(r);

    /* A plausible length that runs past the end: truncation with counts. */
    CHECK_EQ_INT(first(put_file("short", buf, n - 1), &r, &rec, &err), TB_ERR_TRUNCATED);
    CHECK_EQ_INT(rec.damage.bytes_present, n - 1);
    CHECK_EQ_INT(rec.damage.bytes_expected, n);
    tb_reader_close(r);

    /* Valid CRC around bytes that are not an Event, then a good record. */
    static const uint8_t junk[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    size_t nj = frame(buf, junk, sizeof junk);
    nj += frame(buf + nj, fv, sizeof fv);
    CHECK_EQ_INT(first(put_file("junk", buf, nj), &r, &rec, &err), TB_ERR_FORMAT);
    CHECK(strstr(err.msg, "not an Event") != NULL);
    CHECK_EQ_INT(tb_reader_next(r, &rec, &err), TB_OK);
    CHECK_EQ_INT(rec.index, 1);
    CHECK_EQ_INT(rec.event.kind, TB_EVENT_FILE_VERSION);
    CHECK_EQ_INT(tb_reader_next(r, &rec, &err), TB_END);
    tb_reader_close(r);

    /* Missing file, directory. */
    char path[4096];
    snprintf(path, sizeof path, "%s/no-such-file", dir);
    CHECK_EQ_INT(tb_reader_open(path, &r, &err), TB_ERR_IO);
    CHECK_EQ_INT(err.sys_errno, ENOENT);
    CHECK(strstr(err.msg, path) != NULL);
    CHECK(r == NULL);
    CHECK_EQ_INT(tb_reader_open(dir, &r, &err), TB_ERR_IO);
    CHECK_EQ_INT(err.sys_errno, EISDIR);
    tb_reader_close(NULL);
}

/* Everything the writer makes comes back as written. */
static void test_round_trip(void)
{
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/rt", dir);
    CHECK(mkdir(sub, 0755) == 0);
    struct tb_writer *w = NULL;
    struct tb_err err = {0};
    CHECK_EQ_INT(tb_writer_open(sub, WALL, "rt", 5, &w, &err), TB_OK);
    if (!w)
        return;
    const uint8_t png[12] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 1, 2, 3, 4};
    const char *tags[2] = {"^loss$", "^val_loss$"};
    struct tb_chart chart = {"losses", tags, 2};
    struct tb_category cat = {"training", &chart, 1};
    const char *models[2] = {"vae", "conv"};
    struct tb_hparam_info infos[2] = {
        {.name = "model", .type = TB_HPARAM_STRING, .values = models, .n_values = 2},
        {.name = "lr", .type = TB_HPARAM_FLOAT64, .has_interval = true, .max_value = 1},
    };
    struct tb_metric_info metrics[1] = {{NULL, "loss", TB_DATASET_TRAINING}};
    struct tb_hparam_value vals[2] = {{.name = "model", .kind = TB_VALUE_STRING, .s = "conv"},
                                      {.name = "lr", .kind = TB_VALUE_FLOAT, .f = 0.001}};
    CHECK_EQ_INT(tb_writer_add_session_start(w, WALL, 0, &err), TB_OK);
    CHECK_EQ_INT(tb_writer_add_layout(w, WALL, 0, &cat, 1, &err), TB_OK);
    CHECK_EQ_INT(tb_writer_add_hparams_experiment(w, WALL, 0, infos, 2, metrics, 1, WALL, &err),
                 TB_OK);
    CHECK_EQ_INT(tb_writer_add_hparams_start(w, WALL, 0, vals, 2, "my-group", WALL, &err), TB_OK);
    CHECK_EQ_INT(tb_writer_add_scalar(w, WALL + 1, 1, "loss", 0.5f, &err), TB_OK);
    CHECK_EQ_INT(tb_writer_add_scalar_as(w, WALL + 1, 1, "t", -2.25f, TB_SCALAR_TENSOR, &err), TB_OK);
    CHECK_EQ_INT(tb_writer_add_scalar_as(w, WALL + 1, 1, "c", 1e-30f, TB_SCALAR_TENSOR_CONTENT, &err),
                 TB_OK);
    CHECK_EQ_INT(tb_writer_add_scalar(w, WALL + 1, 1, "nan", NAN, &err), TB_OK);
    CHECK_EQ_INT(tb_writer_add_image(w, WALL + 1, 1, "img", png, sizeof png, 7, 3, 3, &err), TB_OK);
    CHECK_EQ_INT(tb_writer_add_text(w, WALL + 1, 1, "summary", "| a | b |\n|---|---|\n| ü | 1 |", &err),
                 TB_OK);
    CHECK_EQ_INT(tb_writer_add_hparams_end(w, WALL + 2, 1, TB_SESSION_FAILURE, WALL + 2, &err), TB_OK);
    CHECK_EQ_INT(tb_writer_add_session_start(w, WALL + 3, 7, &err), TB_OK);
    /* Event{step: 1, summary{value{tag "a" simple 1.0} value{tag "b" simple 2.0}}},
     * serialized by hand: one event, two values. */
    static const uint8_t two[] = {0x10, 0x01, 0x2a, 0x14,
                                  0x0a, 0x08, 0x0a, 0x01, 'a', 0x15, 0x00, 0x00, 0x80, 0x3f,
                                  0x0a, 0x08, 0x0a, 0x01, 'b', 0x15, 0x00, 0x00, 0x00, 0x40};
    CHECK_EQ_INT(tb_writer_add_raw(w, two, sizeof two, &err), TB_OK);
    char path[4096];
    snprintf(path, sizeof path, "%s", tb_writer_path(w));
    CHECK_EQ_INT(tb_writer_close(w, &err), TB_OK);

    struct tb_reader *r = NULL;
    struct tb_record rec;
    CHECK_EQ_INT(tb_reader_open(path, &r, &err), TB_OK);
    if (!r)
        return;
#define NEXT() CHECK_MSG(tb_reader_next(r, &rec, &err) == TB_OK, "%s", err.msg)
#define VAL (rec.event.values[0])
    NEXT();
    CHECK_EQ_INT(rec.event.kind, TB_EVENT_FILE_VERSION);
    CHECK_EQ_STR(rec.event.file_version, "brain.Event:2");
    NEXT();
    CHECK_EQ_INT(rec.event.kind, TB_EVENT_SESSION_LOG);
    CHECK_EQ_INT(rec.event.session_status, 1);
    CHECK_EQ_INT(rec.event.step, 0);
    NEXT();
    CHECK(VAL.type == TB_VAL_LAYOUT && VAL.n_categories == 1 && VAL.n_charts == 1);
    CHECK_EQ_STR(VAL.tag, "custom_scalars__config__");
    NEXT();
    CHECK(VAL.type == TB_VAL_HPARAMS && VAL.hparams_kind == TB_HPARAMS_EXPERIMENT);
    CHECK(VAL.n_hparams == 2 && VAL.n_metrics == 1);
    NEXT();
    CHECK(VAL.type == TB_VAL_HPARAMS && VAL.hparams_kind == TB_HPARAMS_SESSION_START);
    CHECK_EQ_INT(VAL.n_hparams, 2);
    CHECK_EQ_STR(VAL.group_name, "my-group");
    NEXT();
    CHECK(VAL.type == TB_VAL_SCALAR && VAL.scalar == 0.5f);
    CHECK_EQ_STR(VAL.plugin_name, "");
    CHECK_NEAR(rec.event.wall_time, WALL + 1, 0);
    CHECK_EQ_INT(rec.event.step, 1);
    NEXT();
    CHECK(VAL.type == TB_VAL_SCALAR && VAL.scalar == -2.25f);
    CHECK_EQ_STR(VAL.plugin_name, "scalars");
    NEXT();
    CHECK(VAL.type == TB_VAL_SCALAR && VAL.scalar == 1e-30f);
    NEXT();
    CHECK(VAL.type == TB_VAL_SCALAR && isnan(VAL.scalar));
    NEXT();
    CHECK(VAL.type == TB_VAL_IMAGE && VAL.width == 7 && VAL.height == 3 && VAL.colorspace == 3);
    CHECK(VAL.image_bytes == sizeof png && memcmp(VAL.image, png, sizeof png) == 0);
    NEXT();
    CHECK_EQ_INT(VAL.type, TB_VAL_TEXT);
    CHECK_EQ_STR(VAL.tag, "summary/text_summary");
    CHECK_EQ_STR(VAL.text, "| a | b |\n|---|---|\n| ü | 1 |");
    NEXT();
    CHECK(VAL.type == TB_VAL_HPARAMS && VAL.hparams_kind == TB_HPARAMS_SESSION_END);
    CHECK_EQ_INT(VAL.session_status, TB_SESSION_FAILURE);
    NEXT();
    CHECK_EQ_INT(rec.event.kind, TB_EVENT_SESSION_LOG);
    CHECK_EQ_INT(rec.event.step, 7);
    NEXT();
    CHECK_EQ_INT(rec.event.kind, TB_EVENT_SUMMARY);
    CHECK_EQ_INT(rec.event.n_values, 2);
    if (rec.event.n_values == 2) {
        CHECK(!strcmp(rec.event.values[0].tag, "a") && rec.event.values[0].scalar == 1.0f);
        CHECK(!strcmp(rec.event.values[1].tag, "b") && rec.event.values[1].scalar == 2.0f);
    }
    CHECK_NEAR(rec.event.wall_time, 0, 0);
    CHECK_EQ_INT(tb_reader_next(r, &rec, &err), TB_END);
#undef NEXT
#undef VAL
    tb_reader_close(r);
}

int main(void)
{
    dir = tu_mkdtemp("reader");
    CHECK(dir != NULL);
    if (!dir)
        return check_summary("test_tb_reader");
    test_damage();
    test_round_trip();
    tu_rmtree(dir);
    free(dir);
    return check_summary("test_tb_reader");
}
