/*
 * tb_reader.c - walks an event file record by record.
 *
 * Owns framing checks (both CRCs, lengths against the file size), the
 * distinction between a truncated trailing record and a corrupt one, and the
 * decoding of each Event (protobuf-c) into the plain struct tb_event of
 * tb.h, with each Summary.Value classified the way TensorBoard's plugins
 * would see it.  It does not print (cli/cli_events.c does).
 *
 * Design: the reader keeps only an offset and reads with pread(), checking
 * the file's current size on every call.  A record that runs past the end
 * of the file is reported as truncated without moving the offset, so a
 * follower of a file that is still being written simply calls again later.
 * Nothing is allocated from a length field before the length's own CRC and
 * the file size have vouched for it.  What a record's decoded view points to
 * is owned by the reader and released at the next call.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/tb_internal.h"
#include "tb_event.pb-c.h"
#include "tb_hparams.pb-c.h"
#include "tb_layout.pb-c.h"

struct tb_reader {
    int fd;
    char *path;
    uint64_t offset;             /* start of the next record */
    int64_t index;               /* index of the next record */
    uint8_t *buf;                /* one record's data + footer */
    size_t cap;
    /* A length CRC error or an absurd length: boundaries are lost, and
     * every later call repeats this result. */
    bool stopped;
    enum tb_status stop_status;
    struct tb_err stop_err;
    struct tb_damage stop_damage;
    /* The decoded view of the last record (freed at the next call). */
    Tensorboard__Event *event;
    struct tb_value *values;
    size_t values_cap;
    ProtobufCMessage **msgs;     /* plugin contents decoded for the view */
    char **strs;                 /* NUL-terminated copies for the view */
    size_t n_msgs, n_strs, msgs_cap, strs_cap;
};

static void release_view(struct tb_reader *r)
{
    if (r->event)
        tensorboard__event__free_unpacked(r->event, NULL);
    r->event = NULL;
    for (size_t i = 0; i < r->n_msgs; i++)
        protobuf_c_message_free_unpacked(r->msgs[i], NULL);
    for (size_t i = 0; i < r->n_strs; i++)
        free(r->strs[i]);
    r->n_msgs = r->n_strs = 0;
}

/* Remember m / s to free at the next call; false when out of memory (and
 * then m / s is freed right away). */
static bool keep_msg(struct tb_reader *r, ProtobufCMessage *m)
{
    if (r->n_msgs == r->msgs_cap) {
        size_t cap = r->msgs_cap ? 2 * r->msgs_cap : 8;
        ProtobufCMessage **p = realloc(r->msgs, cap * sizeof *p);
        if (!p) {
            protobuf_c_message_free_unpacked(m, NULL);
            return false;
        }
        r->msgs = p;
        r->msgs_cap = cap;
    }
    r->msgs[r->n_msgs++] = m;
    return true;
}

static char *keep_str(struct tb_reader *r, const uint8_t *data, size_t n)
{
    if (r->n_strs == r->strs_cap) {
        size_t cap = r->strs_cap ? 2 * r->strs_cap : 8;
        char **p = realloc(r->strs, cap * sizeof *p);
        if (!p)
            return NULL;
        r->strs = p;
        r->strs_cap = cap;
    }
    char *s = malloc(n + 1);
    if (!s)
        return NULL;
    if (n)
        memcpy(s, data, n);
    s[n] = '\0';
    r->strs[r->n_strs++] = s;
    return s;
}

/* ------------------------------------------------------------------------ */
/* Decoding one Summary.Value                                               */
/* ------------------------------------------------------------------------ */

static float le_float(const uint8_t *p)
{
    uint32_t bits = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                    (uint32_t)p[3] << 24;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* A rank-0 float tensor's value (float_val, double_val or 4-byte content). */
static bool tensor_scalar(const Tensorboard__TensorProto *t, float *out)
{
    if (t->n_float_val >= 1) {
        *out = t->float_val[0];
        return true;
    }
    if (t->n_double_val >= 1) {
        *out = (float)t->double_val[0];
        return true;
    }
    if (t->dtype == TENSORBOARD__DATA_TYPE__DT_FLOAT && t->tensor_content.len == 4) {
        *out = le_float(t->tensor_content.data);
        return true;
    }
    return false;
}

static enum tb_status decode_value(struct tb_reader *r, const Tensorboard__Summary__Value *v,
                                   struct tb_value *out, struct tb_err *err)
{
    memset(out, 0, sizeof *out);
    out->tag = v->tag ? v->tag : "";
    out->plugin_name = "";
    out->group_name = "";
    if (v->metadata && v->metadata->plugin_data && v->metadata->plugin_data->plugin_name)
        out->plugin_name = v->metadata->plugin_data->plugin_name;
    const char *plugin = out->plugin_name;

    switch (v->value_case) {
    case TENSORBOARD__SUMMARY__VALUE__VALUE_SIMPLE_VALUE:
        out->type = TB_VAL_SCALAR;
        out->scalar = v->simple_value;
        return TB_OK;
    case TENSORBOARD__SUMMARY__VALUE__VALUE_IMAGE:
        out->type = TB_VAL_IMAGE;
        out->width = v->image->width;
        out->height = v->image->height;
        out->colorspace = v->image->colorspace;
        out->image = v->image->encoded_image_string.data;
        out->image_bytes = v->image->encoded_image_string.len;
        return TB_OK;
    case TENSORBOARD__SUMMARY__VALUE__VALUE_TENSOR:
        break;
    default:
        out->type = TB_VAL_OTHER;
        return TB_OK;
    }

    const Tensorboard__TensorProto *t = v->tensor;
    out->type = TB_VAL_TENSOR;
    if (strcmp(plugin, "scalars") == 0) {
        if (tensor_scalar(t, &out->scalar))
            out->type = TB_VAL_SCALAR;
    } else if (strcmp(plugin, "text") == 0) {
        if (t->n_string_val >= 1) {
            out->text = keep_str(r, t->string_val[0].data, t->string_val[0].len);
            if (!out->text)
                return tb_err_set(err, TB_ERR_NOMEM, 0, "%s: out of memory", r->path);
            out->type = TB_VAL_TEXT;
        }
    } else if (strcmp(plugin, "hparams") == 0) {
        const ProtobufCBinaryData *c = &v->metadata->plugin_data->content;
        Tensorboard__Hparams__HParamsPluginData *d =
            tensorboard__hparams__hparams_plugin_data__unpack(NULL, c->len, c->data);
        if (d) {
            if (!keep_msg(r, &d->base))
                return tb_err_set(err, TB_ERR_NOMEM, 0, "%s: out of memory", r->path);
            out->type = TB_VAL_HPARAMS;
            switch (d->data_case) {
            case TENSORBOARD__HPARAMS__HPARAMS_PLUGIN_DATA__DATA_EXPERIMENT:
                out->hparams_kind = TB_HPARAMS_EXPERIMENT;
                out->n_hparams = (int32_t)d->experiment->n_hparam_infos;
                out->n_metrics = (int32_t)d->experiment->n_metric_infos;
                break;
            case TENSORBOARD__HPARAMS__HPARAMS_PLUGIN_DATA__DATA_SESSION_START_INFO:
                out->hparams_kind = TB_HPARAMS_SESSION_START;
                out->n_hparams = (int32_t)d->session_start_info->n_hparams;
                out->group_name = d->session_start_info->group_name;
                break;
            case TENSORBOARD__HPARAMS__HPARAMS_PLUGIN_DATA__DATA_SESSION_END_INFO:
                out->hparams_kind = TB_HPARAMS_SESSION_END;
                out->session_status = (int32_t)d->session_end_info->status;
                break;
            default:
                out->hparams_kind = TB_HPARAMS_NONE;
                break;
            }
        }
    } else if (strcmp(plugin, "custom_scalars") == 0 && t->n_string_val >= 1) {
        Tensorboard__Layout *l =
            tensorboard__layout__unpack(NULL, t->string_val[0].len, t->string_val[0].data);
        if (l) {
            if (!keep_msg(r, &l->base))
                return tb_err_set(err, TB_ERR_NOMEM, 0, "%s: out of memory", r->path);
            out->type = TB_VAL_LAYOUT;
            out->n_categories = (int32_t)l->n_category;
            for (size_t i = 0; i < l->n_category; i++)
                out->n_charts += (int32_t)l->category[i]->n_chart;
        }
    }
    return TB_OK;
}

static enum tb_status decode_event(struct tb_reader *r, struct tb_record *rec, struct tb_err *err)
{
    Tensorboard__Event *ev = tensorboard__event__unpack(NULL, rec->length, rec->data);
    if (!ev)
        return TB_ERR_FORMAT;
    r->event = ev;
    struct tb_event *e = &rec->event;
    e->wall_time = ev->wall_time;
    e->step = ev->step;
    switch (ev->what_case) {
    case TENSORBOARD__EVENT__WHAT__NOT_SET:
        e->kind = TB_EVENT_EMPTY;
        break;
    case TENSORBOARD__EVENT__WHAT_FILE_VERSION:
        e->kind = TB_EVENT_FILE_VERSION;
        e->file_version = ev->file_version;
        break;
    case TENSORBOARD__EVENT__WHAT_SESSION_LOG:
        e->kind = TB_EVENT_SESSION_LOG;
        e->session_status = (int32_t)ev->session_log->status;
        break;
    case TENSORBOARD__EVENT__WHAT_SUMMARY: {
        e->kind = TB_EVENT_SUMMARY;
        size_t n = ev->summary->n_value;
        if (n > r->values_cap) {
            struct tb_value *p = realloc(r->values, n * sizeof *p);
            if (!p)
                return tb_err_set(err, TB_ERR_NOMEM, 0, "%s: out of memory", r->path);
            r->values = p;
            r->values_cap = n;
        }
        for (size_t i = 0; i < n; i++) {
            enum tb_status st = decode_value(r, ev->summary->value[i], &r->values[i], err);
            if (st != TB_OK)
                return st;
        }
        e->values = r->values;
        e->n_values = (int32_t)n;
        break;
    }
    default:
        e->kind = TB_EVENT_OTHER;
        break;
    }
    return TB_OK;
}

/* ------------------------------------------------------------------------ */
/* Framing                                                                  */
/* ------------------------------------------------------------------------ */

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* pread exactly n bytes at off; 0 or errno (EIO for an unexpected end). */
static int read_at(int fd, uint8_t *p, size_t n, uint64_t off)
{
    while (n > 0) {
        ssize_t k = pread(fd, p, n, (off_t)off);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        if (k == 0)
            return EIO;   /* the file shrank under us */
        p += k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return 0;
}

static enum tb_status stop(struct tb_reader *r, struct tb_record *rec, enum tb_status st,
                           struct tb_err *err)
{
    r->stopped = true;
    r->stop_status = st;
    r->stop_damage = rec->damage;
    if (err)
        r->stop_err = *err;
    else
        r->stop_err.code = st;
    return st;
}

enum tb_status tb_reader_next(struct tb_reader *r, struct tb_record *rec, struct tb_err *err)
{
    if (!r || !rec)
        return tb_err_set(err, TB_ERR_ARG, 0, "tb_reader_next: NULL argument");
    release_view(r);
    memset(rec, 0, sizeof *rec);
    rec->index = r->index;
    rec->offset = r->offset;
    rec->damage.index = r->index;
    rec->damage.offset = r->offset;
    if (r->stopped) {
        rec->damage = r->stop_damage;
        if (err)
            *err = r->stop_err;
        return r->stop_status;
    }

    struct stat sb;
    if (fstat(r->fd, &sb) != 0) {
        int e = errno;
        return tb_err_set(err, TB_ERR_IO, e, "stat %s: %s", r->path, strerror(e));
    }
    uint64_t size = sb.st_size > 0 ? (uint64_t)sb.st_size : 0;
    if (size <= r->offset)
        return TB_END;
    uint64_t remaining = size - r->offset;

    if (remaining < TB_RECORD_HEADER_BYTES) {
        rec->damage.bytes_present = remaining;
        return tb_err_set(err, TB_ERR_TRUNCATED, 0,
                          "%s: truncated trailing record at offset %llu (%llu bytes, less than "
                          "its 12-byte header)",
                          r->path, (unsigned long long)r->offset, (unsigned long long)remaining);
    }
    uint8_t head[TB_RECORD_HEADER_BYTES];
    int e = read_at(r->fd, head, sizeof head, r->offset);
    if (e)
        return tb_err_set(err, TB_ERR_IO, e, "read %s at offset %llu: %s", r->path,
                          (unsigned long long)r->offset, strerror(e));
    uint64_t len = 0;
    for (int i = 7; i >= 0; i--)
        len = len << 8 | head[i];
    uint32_t stored = get_le32(head + 8), computed = tb_crc32c_mask(tb_crc32c(head, 8));
    if (stored != computed) {
        rec->damage.length_crc = true;
        rec->damage.crc_stored = stored;
        rec->damage.crc_computed = computed;
        tb_err_set(err, TB_ERR_CORRUPT, 0,
                   "%s: record %lld at offset %llu: length CRC mismatch: stored 0x%08x, "
                   "computed 0x%08x (record boundaries lost; nothing after it can be read)",
                   r->path, (long long)r->index, (unsigned long long)r->offset, stored, computed);
        return stop(r, rec, TB_ERR_CORRUPT, err);
    }
    if (len > TB_RECORD_MAX_BYTES) {
        tb_err_set(err, TB_ERR_FORMAT, 0,
                   "%s: record %lld at offset %llu claims %llu bytes, more than the 1 GiB limit",
                   r->path, (long long)r->index, (unsigned long long)r->offset,
                   (unsigned long long)len);
        return stop(r, rec, TB_ERR_FORMAT, err);
    }
    uint64_t total = TB_RECORD_HEADER_BYTES + len + TB_RECORD_FOOTER_BYTES;
    if (remaining < total) {
        rec->damage.bytes_present = remaining;
        rec->damage.bytes_expected = total;
        return tb_err_set(err, TB_ERR_TRUNCATED, 0,
                          "%s: truncated trailing record at offset %llu (%llu of %llu bytes)",
                          r->path, (unsigned long long)r->offset, (unsigned long long)remaining,
                          (unsigned long long)total);
    }

    size_t need = (size_t)len + TB_RECORD_FOOTER_BYTES;
    if (need > r->cap) {
        uint8_t *p = realloc(r->buf, need);
        if (!p)
            return tb_err_set(err, TB_ERR_NOMEM, 0, "%s: no memory for a record of %llu bytes",
                              r->path, (unsigned long long)len);
        r->buf = p;
        r->cap = need;
    }
    e = read_at(r->fd, r->buf, need, r->offset + TB_RECORD_HEADER_BYTES);
    if (e)
        return tb_err_set(err, TB_ERR_IO, e, "read %s at offset %llu: %s", r->path,
                          (unsigned long long)r->offset, strerror(e));

    /* The framing is sound from here on: move past the record whatever
     * its content turns out to be. */
    r->offset += total;
    r->index++;
    rec->length = len;
    rec->data = r->buf;

    stored = get_le32(r->buf + len);
    computed = tb_crc32c_mask(tb_crc32c(r->buf, (size_t)len));
    if (stored != computed) {
        rec->damage.crc_stored = stored;
        rec->damage.crc_computed = computed;
        return tb_err_set(err, TB_ERR_CORRUPT, 0,
                          "%s: record %lld at offset %llu: data CRC mismatch: stored 0x%08x, "
                          "computed 0x%08x",
                          r->path, (long long)rec->index, (unsigned long long)rec->offset, stored,
                          computed);
    }
    enum tb_status st = decode_event(r, rec, err);
    if (st == TB_ERR_FORMAT)
        return tb_err_set(err, TB_ERR_FORMAT, 0,
                          "%s: record %lld at offset %llu: %llu data bytes (CRC fine) are not an "
                          "Event",
                          r->path, (long long)rec->index, (unsigned long long)rec->offset,
                          (unsigned long long)len);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Lifetime                                                                 */
/* ------------------------------------------------------------------------ */

enum tb_status tb_reader_open(const char *path, struct tb_reader **out, struct tb_err *err)
{
    if (out)
        *out = NULL;
    if (!path || !out)
        return tb_err_set(err, TB_ERR_ARG, 0, "tb_reader_open: NULL argument");
    struct tb_reader *r = calloc(1, sizeof *r);
    if (r)
        r->path = strdup(path);
    if (!r || !r->path) {
        free(r);
        return tb_err_set(err, TB_ERR_NOMEM, 0, "open %s: out of memory", path);
    }
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        int e = errno;
        free(r->path);
        free(r);
        return tb_err_set(err, TB_ERR_IO, e, "open %s: %s", path, strerror(e));
    }
    struct stat sb;
    if (fstat(r->fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        close(r->fd);
        free(r->path);
        free(r);
        return tb_err_set(err, TB_ERR_IO, EISDIR, "open %s: %s", path, strerror(EISDIR));
    }
    *out = r;
    return TB_OK;
}

void tb_reader_close(struct tb_reader *r)
{
    if (!r)
        return;
    release_view(r);
    close(r->fd);
    free(r->values);
    free(r->msgs);
    free(r->strs);
    free(r->buf);
    free(r->path);
    free(r);
}
