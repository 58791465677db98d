/*
 * cli_events.c - `aelab events FILE [--json]`: what is in an event file.
 *
 * Owns the printing of records read by proto/'s tb_reader: one line per
 * record (and per extra value of a multi-value summary) as text, or one JSON
 * object per line with --json, ending with a summary line/object.  It reads
 * nothing itself (tb_reader_next does the framing, CRCs and decoding) and
 * decides nothing about TensorBoard semantics.
 *
 * Design: the reader's damage results are printed where they occur and the
 * walk goes on when the reader can (a data-CRC or decode error leaves the
 * framing intact); a truncated tail or a lost boundary ends the walk.  The
 * exit status says whether the file was whole, so scripts and tests can use
 * the command as a validator.
 */
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "proto/tb.h"
#include "cli.h"

static const char *value_type_name(enum tb_value_type t)
{
    switch (t) {
    case TB_VAL_SCALAR: return "scalar";
    case TB_VAL_IMAGE: return "image";
    case TB_VAL_TEXT: return "text";
    case TB_VAL_HPARAMS: return "hparams";
    case TB_VAL_LAYOUT: return "custom_scalars";
    case TB_VAL_TENSOR: return "tensor";
    case TB_VAL_OTHER: break;
    }
    return "other";
}

static const char *hparams_kind_name(enum tb_hparams_kind k)
{
    switch (k) {
    case TB_HPARAMS_EXPERIMENT: return "experiment";
    case TB_HPARAMS_SESSION_START: return "session_start_info";
    case TB_HPARAMS_SESSION_END: return "session_end_info";
    case TB_HPARAMS_NONE: break;
    }
    return "none";
}

static const char *session_status_name(int32_t s)
{
    static const char *names[] = {"STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE",
                                  "STATUS_RUNNING"};
    return s >= 0 && s <= 3 ? names[s] : "STATUS_?";
}

static const char *session_log_name(int32_t s)
{
    static const char *names[] = {"STATUS_UNSPECIFIED", "START", "STOP", "CHECKPOINT"};
    return s >= 0 && s <= 3 ? names[s] : "?";
}

/* ------------------------------------------------------------------------ */
/* Text                                                                     */
/* ------------------------------------------------------------------------ */

/* The first line of text, at most 60 bytes, for a one-line listing. */
static void print_snippet(const char *text)
{
    size_t n = strcspn(text, "\n");
    int cut = n > 60;
    if (cut)
        n = 60;
    printf(" \"%.*s%s\" (%zu bytes)", (int)n, text, cut || text[n] ? "..." : "",
           strlen(text));
}

static void print_value_text(const struct tb_value *v)
{
    printf("%-14s %s", value_type_name(v->type), v->tag);
    switch (v->type) {
    case TB_VAL_SCALAR:
        printf(" = %.7g", v->scalar);
        break;
    case TB_VAL_IMAGE:
        printf(" %dx%d colorspace %d, %zu bytes", (int)v->width, (int)v->height,
               (int)v->colorspace, v->image_bytes);
        break;
    case TB_VAL_TEXT:
        print_snippet(v->text);
        break;
    case TB_VAL_HPARAMS:
        printf(" %s", hparams_kind_name(v->hparams_kind));
        if (v->hparams_kind == TB_HPARAMS_EXPERIMENT)
            printf(" (%d hparams, %d metrics)", (int)v->n_hparams, (int)v->n_metrics);
        else if (v->hparams_kind == TB_HPARAMS_SESSION_START)
            printf(" (%d hparams, group %s)", (int)v->n_hparams, v->group_name);
        else if (v->hparams_kind == TB_HPARAMS_SESSION_END)
            printf(" %s", session_status_name(v->session_status));
        break;
    case TB_VAL_LAYOUT:
        printf(" layout (%d categories, %d charts)", (int)v->n_categories, (int)v->n_charts);
        break;
    default:
        if (*v->plugin_name)
            printf(" (plugin %s)", v->plugin_name);
        break;
    }
    putchar('\n');
}

static void print_record_text(const struct tb_record *r)
{
    const struct tb_event *e = &r->event;
    printf("%6" PRId64 " %10" PRIu64 " %17.3f %8" PRId64 "  ", r->index, r->offset,
           e->wall_time, e->step);
    switch (e->kind) {
    case TB_EVENT_FILE_VERSION:
        printf("%-14s %s\n", "file_version", e->file_version);
        break;
    case TB_EVENT_SESSION_LOG:
        printf("%-14s %s\n", "session_log", session_log_name(e->session_status));
        break;
    case TB_EVENT_SUMMARY:
        if (e->n_values == 0)
            printf("summary (no values)\n");
        for (int32_t i = 0; i < e->n_values; i++) {
            if (i > 0)
                printf("%6s %10s %17s %8s  ", "", "", "", "");
            print_value_text(&e->values[i]);
        }
        break;
    case TB_EVENT_EMPTY:
        printf("empty\n");
        break;
    case TB_EVENT_OTHER:
        printf("other\n");
        break;
    }
}

/* ------------------------------------------------------------------------ */
/* JSON                                                                     */
/* ------------------------------------------------------------------------ */

/* A float as a JSON number, or a string for NaN and infinities. */
static json_t *json_float(float f)
{
    if (isnan(f))
        return json_string("NaN");
    if (isinf(f))
        return json_string(f > 0 ? "Infinity" : "-Infinity");
    return json_real((double)f);
}

/* A JSON string, or a marker when s is not valid UTF-8 (jansson refuses it). */
static json_t *json_text(const char *s)
{
    json_t *t = json_string(s);
    return t ? t : json_string("(not UTF-8)");
}

static json_t *value_json(const struct tb_value *v)
{
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string(value_type_name(v->type)));
    json_object_set_new(o, "tag", json_text(v->tag));
    if (*v->plugin_name)
        json_object_set_new(o, "plugin", json_text(v->plugin_name));
    switch (v->type) {
    case TB_VAL_SCALAR:
        json_object_set_new(o, "value", json_float(v->scalar));
        break;
    case TB_VAL_IMAGE:
        json_object_set_new(o, "width", json_integer(v->width));
        json_object_set_new(o, "height", json_integer(v->height));
        json_object_set_new(o, "colorspace", json_integer(v->colorspace));
        json_object_set_new(o, "bytes", json_integer((json_int_t)v->image_bytes));
        break;
    case TB_VAL_TEXT:
        json_object_set_new(o, "text", json_text(v->text));
        break;
    case TB_VAL_HPARAMS:
        json_object_set_new(o, "hparams", json_string(hparams_kind_name(v->hparams_kind)));
        if (v->hparams_kind == TB_HPARAMS_EXPERIMENT) {
            json_object_set_new(o, "n_hparams", json_integer(v->n_hparams));
            json_object_set_new(o, "n_metrics", json_integer(v->n_metrics));
        } else if (v->hparams_kind == TB_HPARAMS_SESSION_START) {
            json_object_set_new(o, "n_hparams", json_integer(v->n_hparams));
            json_object_set_new(o, "group_name", json_text(v->group_name));
        } else if (v->hparams_kind == TB_HPARAMS_SESSION_END) {
            json_object_set_new(o, "status", json_string(session_status_name(v->session_status)));
        }
        break;
    case TB_VAL_LAYOUT:
        json_object_set_new(o, "categories", json_integer(v->n_categories));
        json_object_set_new(o, "charts", json_integer(v->n_charts));
        break;
    default:
        break;
    }
    return o;
}

static void print_json(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (s) {
        puts(s);
        free(s);
    }
    json_decref(o);
}

static void print_record_json(const struct tb_record *r)
{
    const struct tb_event *e = &r->event;
    json_t *o = json_object();
    json_object_set_new(o, "index", json_integer(r->index));
    json_object_set_new(o, "offset", json_integer((json_int_t)r->offset));
    json_object_set_new(o, "length", json_integer((json_int_t)r->length));
    json_object_set_new(o, "wall_time", json_real(e->wall_time));
    json_object_set_new(o, "step", json_integer(e->step));
    switch (e->kind) {
    case TB_EVENT_FILE_VERSION:
        json_object_set_new(o, "kind", json_string("file_version"));
        json_object_set_new(o, "file_version", json_text(e->file_version));
        break;
    case TB_EVENT_SESSION_LOG:
        json_object_set_new(o, "kind", json_string("session_log"));
        json_object_set_new(o, "status", json_string(session_log_name(e->session_status)));
        break;
    case TB_EVENT_SUMMARY: {
        json_t *vals = json_array();
        for (int32_t i = 0; i < e->n_values; i++)
            json_array_append_new(vals, value_json(&e->values[i]));
        /* One value (what aelab and Keras write): its fields at the top too. */
        if (e->n_values == 1) {
            json_t *v = json_array_get(vals, 0);
            json_object_set(o, "kind", json_object_get(v, "type"));
            json_object_update_missing(o, v);
            json_object_del(o, "type");
        } else {
            json_object_set_new(o, "kind", json_string("summary"));
        }
        json_object_set_new(o, "values", vals);
        break;
    }
    case TB_EVENT_EMPTY:
        json_object_set_new(o, "kind", json_string("empty"));
        break;
    case TB_EVENT_OTHER:
        json_object_set_new(o, "kind", json_string("other"));
        break;
    }
    print_json(o);
}

static void print_damage_json(enum tb_status st, const struct tb_record *r,
                              const struct tb_err *err)
{
    char hex[16];
    json_t *o = json_object();
    json_object_set_new(o, "index", json_integer(r->damage.index));
    json_object_set_new(o, "offset", json_integer((json_int_t)r->damage.offset));
    if (st == TB_ERR_TRUNCATED) {
        json_object_set_new(o, "error", json_string("truncated"));
        json_object_set_new(o, "bytes_present", json_integer((json_int_t)r->damage.bytes_present));
        json_object_set_new(o, "bytes_expected",
                            json_integer((json_int_t)r->damage.bytes_expected));
    } else if (st == TB_ERR_CORRUPT) {
        json_object_set_new(o, "error", json_string("crc"));
        json_object_set_new(o, "crc", json_string(r->damage.length_crc ? "length" : "data"));
        snprintf(hex, sizeof hex, "0x%08x", r->damage.crc_stored);
        json_object_set_new(o, "stored", json_string(hex));
        snprintf(hex, sizeof hex, "0x%08x", r->damage.crc_computed);
        json_object_set_new(o, "computed", json_string(hex));
    } else {
        json_object_set_new(o, "error", json_string(st == TB_ERR_FORMAT ? "format" : "io"));
    }
    json_object_set_new(o, "message", json_text(err->msg));
    print_json(o);
}

/* ------------------------------------------------------------------------ */
/* main                                                                     */
/* ------------------------------------------------------------------------ */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: aelab events FILE [--json]\n"
            "Print every record of a TensorBoard event file: index, byte offset, wall time,\n"
            "step and what it holds (file_version, session_log, scalar tag = value, image\n"
            "tag WxH bytes, text, hparams, custom_scalars layout), then any damage (CRC\n"
            "errors, a truncated last record).  --json prints one JSON object per line.\n"
            "Exit status: 0 whole file, 1 damaged, 2 usage or open error.\n");
}

int cli_events_main(int argc, char **argv)
{
    const char *path = NULL;
    bool as_json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            as_json = true;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "aelab events: unknown option %s\n", argv[i]);
            usage(stderr);
            return 2;
        } else if (!path) {
            path = argv[i];
        } else {
            fprintf(stderr, "aelab events: one FILE only (got %s and %s)\n", path, argv[i]);
            return 2;
        }
    }
    if (!path) {
        usage(stderr);
        return 2;
    }

    struct tb_reader *r = NULL;
    struct tb_err err = {0};
    if (tb_reader_open(path, &r, &err) != TB_OK) {
        fprintf(stderr, "aelab events: %s\n", err.msg);
        return 2;
    }
    if (!as_json)
        printf("%6s %10s %17s %8s  %-14s %s\n", "index", "offset", "wall_time", "step", "kind",
               "what");

    int64_t n_ok = 0, n_bad = 0;
    bool truncated = false;
    uint64_t trunc_offset = 0;
    enum tb_status st;
    for (;;) {
        struct tb_record rec;
        st = tb_reader_next(r, &rec, &err);
        if (st == TB_END)
            break;
        if (st == TB_OK) {
            n_ok++;
            if (as_json)
                print_record_json(&rec);
            else
                print_record_text(&rec);
            continue;
        }
        n_bad++;
        if (as_json)
            print_damage_json(st, &rec, &err);
        else
            printf("%6" PRId64 " %10" PRIu64 "  DAMAGE: %s\n", rec.damage.index,
                   rec.damage.offset, err.msg);
        if (st == TB_ERR_TRUNCATED) {
            truncated = true;
            trunc_offset = rec.damage.offset;
            break;
        }
        /* Only a data CRC error and an undecodable Event leave the framing
         * intact; after anything else the reader cannot go on. */
        bool framing_ok = (st == TB_ERR_CORRUPT && !rec.damage.length_crc) ||
                          (st == TB_ERR_FORMAT && rec.data != NULL);
        if (!framing_ok)
            break;
    }
    tb_reader_close(r);

    if (as_json) {
        json_t *o = json_object();
        json_object_set_new(o, "end", json_true());
        json_object_set_new(o, "records", json_integer(n_ok));
        json_object_set_new(o, "damaged", json_integer(n_bad));
        json_object_set_new(o, "truncated", json_boolean(truncated));
        if (truncated)
            json_object_set_new(o, "truncated_at", json_integer((json_int_t)trunc_offset));
        print_json(o);
    } else {
        printf("%s: %" PRId64 " good records, %" PRId64 " damaged%s\n", path, n_ok, n_bad,
               truncated ? " (the last one is truncated: still being written, or cut off)" : "");
    }
    return n_bad ? 1 : 0;
}
