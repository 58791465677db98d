/*
 * fuzz_tbreader.c - libFuzzer harness: the event-file reader
 * (proto/tb_reader.c) over a real file.
 *
 * Input: one mode byte, then the rest.
 *   mode & 1 == 0  the rest is the file, as it is (framing, CRCs and all)
 *   mode & 1 == 1  the rest is a list of records, each a u16le length and
 *                  that many bytes; the harness frames them as TFRecords
 *                  with correct CRCs, so mutations reach the protobuf
 *                  decoding of Event, Summary, hparams and layout instead
 *                  of dying at a CRC; mode >> 1 (0..127) bytes are then
 *                  cut off the end of the file (a torn trailing record)
 *
 * Every record is read and every field of its decoded view touched (tags,
 * strings, image bytes), so ASan sees any view pointer left dangling or
 * short.  Properties checked (FUZZ_CHECK), besides "no crash, no leak, no
 * UB":
 *   - a truncated record is reported again, at the same offset, by the
 *     next call (a follower of a growing file just retries);
 *   - after a length-CRC error every later call returns the same error;
 *   - a record's offset and index advance by exactly its framed size;
 *   - for records the harness framed itself: each comes back with its own
 *     bytes and length, as TB_OK or TB_ERR_FORMAT (never CORRUPT), in
 *     order, and the file ends with TB_END (where the cut fell, if it
 *     fell on a boundary), or with TB_ERR_TRUNCATED at the first record
 *     the cut reached.
 */
#include <string.h>

#include "fuzz.h"
#include "proto/tb.h"

#define MAX_RECORDS 4096

struct framed {
    size_t n;
    uint64_t offset[MAX_RECORDS];
    const uint8_t *data[MAX_RECORDS];
    size_t len[MAX_RECORDS];
};

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Frame the records of p[0..n) into a new buffer; fills f. */
static uint8_t *frame(const uint8_t *p, size_t n, struct framed *f, size_t *out_len)
{
    uint8_t *buf = malloc(n / 2 * 16 + n + 16);
    size_t o = 0;
    if (!buf) abort();
    f->n = 0;
    while (n >= 2 && f->n < MAX_RECORDS) {
        size_t len = (size_t)p[0] | (size_t)p[1] << 8;
        p += 2, n -= 2;
        if (len > n) len = n;
        put_le(buf + o, len, 8);
        put_le(buf + o + 8, tb_crc32c_mask(tb_crc32c(buf + o, 8)), 4);
        memcpy(buf + o + 12, p, len);
        put_le(buf + o + 12 + len, tb_crc32c_mask(tb_crc32c(p, len)), 4);
        f->offset[f->n] = o;
        f->data[f->n] = p;
        f->len[f->n] = len;
        f->n++;
        o += 16 + len;
        p += len, n -= len;
    }
    *out_len = o;
    return buf;
}

static size_t touch_str(const char *s)
{
    return s ? strlen(s) : 0;
}

static void touch_event(const struct tb_event *ev)
{
    volatile size_t sink = 0;
    FUZZ_CHECK(ev->n_values >= 0);
    FUZZ_CHECK(ev->n_values == 0 || ev->values != NULL);
    sink += touch_str(ev->file_version);
    for (int32_t i = 0; i < ev->n_values; i++) {
        const struct tb_value *v = &ev->values[i];
        sink += touch_str(v->tag) + touch_str(v->plugin_name) + touch_str(v->text) +
                touch_str(v->group_name);
        if (v->image_bytes) {
            FUZZ_CHECK(v->image != NULL);
            sink += v->image[0] + v->image[v->image_bytes - 1];
        }
        FUZZ_CHECK(v->n_hparams >= 0 && v->n_metrics >= 0);
        FUZZ_CHECK(v->n_categories >= 0 && v->n_charts >= 0);
    }
    (void)sink;
}

static void read_all(const char *path, const struct framed *f, uint64_t file_len)
{
    struct tb_reader *r = NULL;
    struct tb_record rec;
    struct tb_err e;
    uint64_t offset = 0;
    int64_t index = 0;
    size_t k = 0;

    FUZZ_CHECK(tb_reader_open(path, &r, &e) == TB_OK);
    for (int iter = 0; iter < 2 * MAX_RECORDS + 8; iter++) {
        enum tb_status st = tb_reader_next(r, &rec, &e);
        if (st == TB_END) {
            FUZZ_CHECK(offset == file_len);
            /* Every framed record came back, unless the cut fell exactly
             * on the start of record k. */
            FUZZ_CHECK(!f || k == f->n || f->offset[k] == file_len);
            break;
        }
        if (st == TB_ERR_TRUNCATED) {
            struct tb_record again;
            FUZZ_CHECK(rec.offset == offset && rec.damage.offset == offset);
            FUZZ_CHECK(rec.damage.bytes_present == file_len - offset);
            FUZZ_CHECK(tb_reader_next(r, &again, &e) == TB_ERR_TRUNCATED);
            FUZZ_CHECK(again.offset == offset);
            if (f) FUZZ_CHECK(k < f->n && f->offset[k] == offset);
            break;
        }
        if (st == TB_ERR_CORRUPT && rec.damage.length_crc) {
            FUZZ_CHECK(!f);
            FUZZ_CHECK(tb_reader_next(r, &rec, &e) == TB_ERR_CORRUPT);
            FUZZ_CHECK(tb_reader_next(r, &rec, &e) == TB_ERR_CORRUPT);
            break;
        }
        if (st == TB_ERR_FORMAT && rec.length == 0 && rec.data == NULL) {
            /* An absurd length: the reader stops for good. */
            FUZZ_CHECK(!f);
            FUZZ_CHECK(tb_reader_next(r, &rec, &e) == TB_ERR_FORMAT);
            break;
        }
        FUZZ_CHECK(st == TB_OK || st == TB_ERR_FORMAT || st == TB_ERR_CORRUPT);
        FUZZ_CHECK(rec.offset == offset && rec.index == index);
        offset += 16 + rec.length;
        index++;
        FUZZ_CHECK(offset <= file_len);
        if (rec.length) {
            volatile uint8_t x = rec.data[0] ^ rec.data[rec.length - 1];
            (void)x;
        }
        if (f) {
            FUZZ_CHECK(st != TB_ERR_CORRUPT);
            FUZZ_CHECK(k < f->n && rec.length == f->len[k]);
            FUZZ_CHECK(memcmp(rec.data, f->data[k], f->len[k]) == 0);
            k++;
        }
        if (st == TB_OK) touch_event(&rec.event);
    }
    tb_reader_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    if ((data[0] & 1) == 0) {
        const char *path = fuzz_write_file("events.tfevents", data + 1, size - 1);
        read_all(path, NULL, size - 1);
    } else {
        static struct framed f;
        size_t len = 0, cut = data[0] >> 1;
        uint8_t *buf = frame(data + 1, size - 1, &f, &len);
        const char *path;
        if (cut > len) cut = len;
        path = fuzz_write_file("events.tfevents", buf, len - cut);
        read_all(path, &f, len - cut);
        free(buf);
    }
    return 0;
}
