/*
 * tb_events.c - the summary records a job writes: session START, scalars,
 * images, text and the custom-scalars layout.
 *
 * Owns the mapping from plain arguments to Event messages, shaped exactly as
 * TensorBoard's own helpers shape them (scalar_pb, text_pb,
 * custom_scalar.summary.pb, TF1 image summaries), so the bytes match the
 * golden files.  It does not frame or write (tb_writer.c) and does not do the
 * hparams plugin (tb_hparams.c).
 *
 * Design: protobuf-c's packer already matches the Python serializer for
 * these messages (fields in number order, proto3 defaults left out, oneof
 * members written even when zero, an empty but present tensor_shape as
 * 12 00), so everything is built as protobuf-c structs on the stack and
 * packed straight into the writer's record buffer; no hand encoding needed.
 */
#include <stdlib.h>
#include <string.h>

#include "proto/tb_writer_internal.h"
#include "tb_layout.pb-c.h"

/* Check a string argument: present and valid UTF-8 (proto3 strings must be). */
static enum tb_status check_str(const char *what, const char *s, bool allow_empty,
                                struct tb_err *err)
{
    if (!s)
        return tb_err_set(err, TB_ERR_ARG, 0, "%s is NULL", what);
    if (!allow_empty && !*s)
        return tb_err_set(err, TB_ERR_ARG, 0, "%s is empty", what);
    if (!tb_utf8_valid(s))
        return tb_err_set(err, TB_ERR_ARG, 0, "%s is not valid UTF-8", what);
    return TB_OK;
}

/* Event{wall_time, step, summary{value: [v]}} as one record. */
static enum tb_status put_value(struct tb_writer *w, double wall_time, int64_t step,
                                Tensorboard__Summary__Value *v, struct tb_err *err)
{
    Tensorboard__Summary__Value *values[1] = {v};
    Tensorboard__Summary sum = TENSORBOARD__SUMMARY__INIT;
    sum.n_value = 1;
    sum.value = values;
    Tensorboard__Event ev = TENSORBOARD__EVENT__INIT;
    ev.wall_time = wall_time;
    ev.step = step;
    ev.what_case = TENSORBOARD__EVENT__WHAT_SUMMARY;
    ev.summary = &sum;
    return tb_writer_put(w, &ev.base, err);
}

enum tb_status tb_writer_add_session_start(struct tb_writer *w, double wall_time, int64_t step,
                                           struct tb_err *err)
{
    if (!w)
        return tb_err_set(err, TB_ERR_ARG, 0, "tb_writer_add_session_start: NULL writer");
    Tensorboard__SessionLog log = TENSORBOARD__SESSION_LOG__INIT;
    log.status = TENSORBOARD__SESSION_LOG__SESSION_STATUS__START;
    Tensorboard__Event ev = TENSORBOARD__EVENT__INIT;
    ev.wall_time = wall_time;
    ev.step = step;
    ev.what_case = TENSORBOARD__EVENT__WHAT_SESSION_LOG;
    ev.session_log = &log;
    return tb_writer_put(w, &ev.base, err);
}

enum tb_status tb_writer_add_scalar(struct tb_writer *w, double wall_time, int64_t step,
                                    const char *tag, float value, struct tb_err *err)
{
    return tb_writer_add_scalar_as(w, wall_time, step, tag, value, TB_SCALAR_SIMPLE, err);
}

enum tb_status tb_writer_add_scalar_as(struct tb_writer *w, double wall_time, int64_t step,
                                       const char *tag, float value, enum tb_scalar_form form,
                                       struct tb_err *err)
{
    enum tb_status st;
    if (!w)
        return tb_err_set(err, TB_ERR_ARG, 0, "tb_writer_add_scalar: NULL writer");
    if ((st = check_str("scalar tag", tag, false, err)) != TB_OK)
        return st;

    Tensorboard__Summary__Value v = TENSORBOARD__SUMMARY__VALUE__INIT;
    v.tag = (char *)tag;
    if (form == TB_SCALAR_SIMPLE) {
        v.value_case = TENSORBOARD__SUMMARY__VALUE__VALUE_SIMPLE_VALUE;
        v.simple_value = value;
        return put_value(w, wall_time, step, &v, err);
    }
    if (form != TB_SCALAR_TENSOR && form != TB_SCALAR_TENSOR_CONTENT)
        return tb_err_set(err, TB_ERR_ARG, 0, "scalar %s: unknown form %d", tag, (int)form);

    /* scalar_pb: rank-0 DT_FLOAT tensor + plugin "scalars" (empty content). */
    Tensorboard__TensorShapeProto shape = TENSORBOARD__TENSOR_SHAPE_PROTO__INIT;
    Tensorboard__TensorProto tensor = TENSORBOARD__TENSOR_PROTO__INIT;
    uint8_t le[4];
    float fv = value;
    tensor.dtype = TENSORBOARD__DATA_TYPE__DT_FLOAT;
    tensor.tensor_shape = &shape;
    if (form == TB_SCALAR_TENSOR) {
        tensor.n_float_val = 1;
        tensor.float_val = &fv;
    } else {
        uint32_t bits;
        memcpy(&bits, &fv, 4);
        for (int i = 0; i < 4; i++)
            le[i] = (uint8_t)(bits >> (8 * i));
        tensor.tensor_content.len = 4;
        tensor.tensor_content.data = le;
    }
    Tensorboard__SummaryMetadata__PluginData plugin = TENSORBOARD__SUMMARY_METADATA__PLUGIN_DATA__INIT;
    plugin.plugin_name = (char *)"scalars";
    Tensorboard__SummaryMetadata meta = TENSORBOARD__SUMMARY_METADATA__INIT;
    meta.plugin_data = &plugin;
    v.value_case = TENSORBOARD__SUMMARY__VALUE__VALUE_TENSOR;
    v.tensor = &tensor;
    v.metadata = &meta;
    return put_value(w, wall_time, step, &v, err);
}

enum tb_status tb_writer_add_image(struct tb_writer *w, double wall_time, int64_t step,
                                   const char *tag, const uint8_t *png, size_t png_bytes,
                                   int32_t width, int32_t height, int32_t colorspace,
                                   struct tb_err *err)
{
    enum tb_status st;
    if (!w)
        return tb_err_set(err, TB_ERR_ARG, 0, "tb_writer_add_image: NULL writer");
    if ((st = check_str("image tag", tag, false, err)) != TB_OK)
        return st;
    if (!png || png_bytes == 0 || width <= 0 || height <= 0 || colorspace < 0)
        return tb_err_set(err, TB_ERR_ARG, 0,
                          "image %s: need image bytes and positive width and height "
                          "(got %zu bytes, %dx%d, colorspace %d)",
                          tag, png ? png_bytes : 0, (int)width, (int)height, (int)colorspace);

    Tensorboard__Summary__Image img = TENSORBOARD__SUMMARY__IMAGE__INIT;
    img.height = height;
    img.width = width;
    img.colorspace = colorspace;
    img.encoded_image_string.data = (uint8_t *)png;
    img.encoded_image_string.len = png_bytes;
    Tensorboard__Summary__Value v = TENSORBOARD__SUMMARY__VALUE__INIT;
    v.tag = (char *)tag;
    v.value_case = TENSORBOARD__SUMMARY__VALUE__VALUE_IMAGE;
    v.image = &img;
    return put_value(w, wall_time, step, &v, err);
}

enum tb_status tb_writer_add_text(struct tb_writer *w, double wall_time, int64_t step,
                                  const char *name, const char *text, struct tb_err *err)
{
    enum tb_status st;
    char *tag = NULL;
    if (!w)
        return tb_err_set(err, TB_ERR_ARG, 0, "tb_writer_add_text: NULL writer");
    if ((st = check_str("text name", name, false, err)) != TB_OK ||
        (st = check_str("text", text, true, err)) != TB_OK)
        return st;

    static const char suffix[] = "/text_summary";
    size_t n = strlen(name);
    tag = malloc(n + sizeof suffix);
    if (!tag)
        return tb_err_set(err, TB_ERR_NOMEM, 0, "text %s: out of memory", name);
    memcpy(tag, name, n);
    memcpy(tag + n, suffix, sizeof suffix);

    /* text_pb: rank-0 DT_STRING tensor, display_name = name, plugin "text". */
    ProtobufCBinaryData str = {strlen(text), (uint8_t *)text};
    Tensorboard__TensorShapeProto shape = TENSORBOARD__TENSOR_SHAPE_PROTO__INIT;
    Tensorboard__TensorProto tensor = TENSORBOARD__TENSOR_PROTO__INIT;
    tensor.dtype = TENSORBOARD__DATA_TYPE__DT_STRING;
    tensor.tensor_shape = &shape;
    tensor.n_string_val = 1;
    tensor.string_val = &str;
    Tensorboard__SummaryMetadata__PluginData plugin = TENSORBOARD__SUMMARY_METADATA__PLUGIN_DATA__INIT;
    plugin.plugin_name = (char *)"text";
    Tensorboard__SummaryMetadata meta = TENSORBOARD__SUMMARY_METADATA__INIT;
    meta.plugin_data = &plugin;
    meta.display_name = (char *)name;
    Tensorboard__Summary__Value v = TENSORBOARD__SUMMARY__VALUE__INIT;
    v.tag = tag;
    v.value_case = TENSORBOARD__SUMMARY__VALUE__VALUE_TENSOR;
    v.tensor = &tensor;
    v.metadata = &meta;
    st = put_value(w, wall_time, step, &v, err);
    free(tag);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Custom-scalars layout                                                    */
/* ------------------------------------------------------------------------ */

enum tb_status tb_writer_add_layout(struct tb_writer *w, double wall_time, int64_t step,
                                    const struct tb_category *categories, int32_t n_categories,
                                    struct tb_err *err)
{
    enum tb_status st = TB_OK;
    Tensorboard__Category *cats = NULL, **cat_ptrs = NULL;
    Tensorboard__Chart *charts = NULL, **chart_ptrs = NULL;
    Tensorboard__MultilineChartContent *lines = NULL;
    uint8_t *layout_bytes = NULL;

    if (!w || n_categories < 0 || (n_categories > 0 && !categories))
        return tb_err_set(err, TB_ERR_ARG, 0, "tb_writer_add_layout: bad arguments");

    /* Validate everything and count charts before allocating. */
    size_t n_charts = 0;
    for (int32_t i = 0; i < n_categories; i++) {
        const struct tb_category *c = &categories[i];
        if ((st = check_str("layout category title", c->title, false, err)) != TB_OK)
            return st;
        if (c->n_charts < 0 || (c->n_charts > 0 && !c->charts))
            return tb_err_set(err, TB_ERR_ARG, 0, "layout category %s: bad chart list", c->title);
        for (int32_t j = 0; j < c->n_charts; j++) {
            const struct tb_chart *ch = &c->charts[j];
            if ((st = check_str("layout chart title", ch->title, false, err)) != TB_OK)
                return st;
            if (ch->n_tags <= 0 || !ch->tags)
                return tb_err_set(err, TB_ERR_ARG, 0, "layout chart %s: needs at least one tag",
                                  ch->title);
            for (int32_t k = 0; k < ch->n_tags; k++)
                if ((st = check_str("layout chart tag", ch->tags[k], false, err)) != TB_OK)
                    return st;
        }
        n_charts += (size_t)c->n_charts;
    }

    cats = calloc((size_t)n_categories + 1, sizeof *cats);
    cat_ptrs = calloc((size_t)n_categories + 1, sizeof *cat_ptrs);
    charts = calloc(n_charts + 1, sizeof *charts);
    chart_ptrs = calloc(n_charts + 1, sizeof *chart_ptrs);
    lines = calloc(n_charts + 1, sizeof *lines);
    if (!cats || !cat_ptrs || !charts || !chart_ptrs || !lines) {
        st = tb_err_set(err, TB_ERR_NOMEM, 0, "layout: out of memory");
        goto fail;
    }

    size_t at = 0;
    for (int32_t i = 0; i < n_categories; i++) {
        const struct tb_category *c = &categories[i];
        tensorboard__category__init(&cats[i]);
        cats[i].title = (char *)c->title;
        cats[i].n_chart = (size_t)c->n_charts;
        cats[i].chart = chart_ptrs + at;
        cat_ptrs[i] = &cats[i];
        for (int32_t j = 0; j < c->n_charts; j++, at++) {
            tensorboard__multiline_chart_content__init(&lines[at]);
            lines[at].n_tag = (size_t)c->charts[j].n_tags;
            lines[at].tag = (char **)c->charts[j].tags;
            tensorboard__chart__init(&charts[at]);
            charts[at].title = (char *)c->charts[j].title;
            charts[at].content_case = TENSORBOARD__CHART__CONTENT_MULTILINE;
            charts[at].multiline = &lines[at];
            chart_ptrs[at] = &charts[at];
        }
    }
    Tensorboard__Layout layout = TENSORBOARD__LAYOUT__INIT;
    layout.n_category = (size_t)n_categories;
    layout.category = cat_ptrs;
    size_t layout_len = tensorboard__layout__get_packed_size(&layout);
    layout_bytes = malloc(layout_len ? layout_len : 1);
    if (!layout_bytes) {
        st = tb_err_set(err, TB_ERR_NOMEM, 0, "layout: out of memory");
        goto fail;
    }
    tensorboard__layout__pack(&layout, layout_bytes);

    /* custom_scalar.summary.pb: rank-0 DT_STRING tensor holding the layout,
     * plugin "custom_scalars" with empty content. */
    ProtobufCBinaryData str = {layout_len, layout_bytes};
    Tensorboard__TensorShapeProto shape = TENSORBOARD__TENSOR_SHAPE_PROTO__INIT;
    Tensorboard__TensorProto tensor = TENSORBOARD__TENSOR_PROTO__INIT;
    tensor.dtype = TENSORBOARD__DATA_TYPE__DT_STRING;
    tensor.tensor_shape = &shape;
    tensor.n_string_val = 1;
    tensor.string_val = &str;
    Tensorboard__SummaryMetadata__PluginData plugin = TENSORBOARD__SUMMARY_METADATA__PLUGIN_DATA__INIT;
    plugin.plugin_name = (char *)"custom_scalars";
    Tensorboard__SummaryMetadata meta = TENSORBOARD__SUMMARY_METADATA__INIT;
    meta.plugin_data = &plugin;
    Tensorboard__Summary__Value v = TENSORBOARD__SUMMARY__VALUE__INIT;
    v.tag = (char *)"custom_scalars__config__";
    v.value_case = TENSORBOARD__SUMMARY__VALUE__VALUE_TENSOR;
    v.tensor = &tensor;
    v.metadata = &meta;
    st = put_value(w, wall_time, step, &v, err);

fail:
    free(layout_bytes);
    free(lines);
    free(chart_ptrs);
    free(charts);
    free(cat_ptrs);
    free(cats);
    return st;
}
