/*
 * tb_hparams.c - the hparams plugin's three records: experiment, session
 * start, session end.
 *
 * Owns the mapping from tb_hparam_info / tb_hparam_value to the plugin's
 * messages, shaped as TensorBoard's helpers shape them (summary_v2
 * hparams_config_pb and hparams_pb, v1 session_end_pb): each record is one
 * Summary.Value with a 6-byte placeholder tensor (DT_FLOAT, shape [0]) and
 * metadata.plugin_data {plugin_name "hparams", content = HParamsPluginData}.
 * It does not compute the group name's JSON (tb_hparams_json.c) and does not
 * frame or write (tb_writer.c).
 *
 * Design: the plugin content is packed with protobuf-c into its own buffer
 * first, then carried as bytes inside the Event.  protobuf-c writes map
 * entries in the order of the array it is given, so the hparams map is
 * sorted by key here to match protobuf's deterministic (and Python's)
 * output; discrete domains are sorted too, as hp.Discrete sorts them.
 */
#include <stdlib.h>
#include <string.h>

#include "proto/tb_writer_internal.h"
#include "tb_hparams.pb-c.h"

/* Pack content and write it as the hparams record tagged tag. */
static enum tb_status put_plugin_data(struct tb_writer *w, double wall_time, int64_t step,
                                      const char *tag,
                                      const Tensorboard__Hparams__HParamsPluginData *data,
                                      struct tb_err *err)
{
    size_t n = tensorboard__hparams__hparams_plugin_data__get_packed_size(data);
    uint8_t *content = malloc(n ? n : 1);
    if (!content)
        return tb_err_set(err, TB_ERR_NOMEM, 0, "%s: out of memory", tag);
    tensorboard__hparams__hparams_plugin_data__pack(data, content);

    /* Placeholder tensor: dtype DT_FLOAT, shape {dim {}} (one dim of size 0). */
    Tensorboard__TensorShapeProto__Dim dim = TENSORBOARD__TENSOR_SHAPE_PROTO__DIM__INIT;
    Tensorboard__TensorShapeProto__Dim *dims[1] = {&dim};
    Tensorboard__TensorShapeProto shape = TENSORBOARD__TENSOR_SHAPE_PROTO__INIT;
    shape.n_dim = 1;
    shape.dim = dims;
    Tensorboard__TensorProto tensor = TENSORBOARD__TENSOR_PROTO__INIT;
    tensor.dtype = TENSORBOARD__DATA_TYPE__DT_FLOAT;
    tensor.tensor_shape = &shape;
    Tensorboard__SummaryMetadata__PluginData plugin = TENSORBOARD__SUMMARY_METADATA__PLUGIN_DATA__INIT;
    plugin.plugin_name = (char *)"hparams";
    plugin.content.data = content;
    plugin.content.len = n;
    Tensorboard__SummaryMetadata meta = TENSORBOARD__SUMMARY_METADATA__INIT;
    meta.plugin_data = &plugin;
    Tensorboard__Summary__Value v = TENSORBOARD__SUMMARY__VALUE__INIT;
    v.tag = (char *)tag;
    v.value_case = TENSORBOARD__SUMMARY__VALUE__VALUE_TENSOR;
    v.tensor = &tensor;
    v.metadata = &meta;
    Tensorboard__Summary__Value *values[1] = {&v};
    Tensorboard__Summary sum = TENSORBOARD__SUMMARY__INIT;
    sum.n_value = 1;
    sum.value = values;
    Tensorboard__Event ev = TENSORBOARD__EVENT__INIT;
    ev.wall_time = wall_time;
    ev.step = step;
    ev.what_case = TENSORBOARD__EVENT__WHAT_SUMMARY;
    ev.summary = &sum;
    enum tb_status st = tb_writer_put(w, &ev.base, err);
    free(content);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Experiment                                                               */
/* ------------------------------------------------------------------------ */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static enum tb_status check_infos(const struct tb_hparam_info *hp, int32_t n_hp,
                                  const struct tb_metric_info *m, int32_t n_m, size_t *n_strings,
                                  struct tb_err *err)
{
    *n_strings = 0;
    if (n_hp < 0 || n_m < 0 || (n_hp > 0 && !hp) || (n_m > 0 && !m))
        return tb_err_set(err, TB_ERR_ARG, 0, "hparams experiment: bad hparam or metric list");
    for (int32_t i = 0; i < n_hp; i++) {
        const struct tb_hparam_info *h = &hp[i];
        if (!h->name || !*h->name || !tb_utf8_valid(h->name))
            return tb_err_set(err, TB_ERR_ARG, 0,
                              "hparams experiment: hparam %d has no valid UTF-8 name", (int)i);
        if (h->type != TB_HPARAM_STRING && h->type != TB_HPARAM_BOOL &&
            h->type != TB_HPARAM_FLOAT64)
            return tb_err_set(err, TB_ERR_ARG, 0, "hparam %s: unknown type %d", h->name,
                              (int)h->type);
        if (h->type == TB_HPARAM_STRING) {
            if (h->n_values < 0 || (h->n_values > 0 && !h->values))
                return tb_err_set(err, TB_ERR_ARG, 0, "hparam %s: bad domain list", h->name);
            for (int32_t k = 0; k < h->n_values; k++)
                if (!h->values[k] || !tb_utf8_valid(h->values[k]))
                    return tb_err_set(err, TB_ERR_ARG, 0,
                                      "hparam %s: domain value %d is NULL or not UTF-8",
                                      h->name, (int)k);
            *n_strings += (size_t)h->n_values;
        } else if (h->type == TB_HPARAM_BOOL) {
            *n_strings += 2;
        } else if (h->has_interval && !(h->min_value <= h->max_value)) {
            return tb_err_set(err, TB_ERR_ARG, 0, "hparam %s: interval [%g, %g] is empty",
                              h->name, h->min_value, h->max_value);
        } else if (!h->has_interval && h->n_num_values > 0) {
            if (!h->num_values)
                return tb_err_set(err, TB_ERR_ARG, 0, "hparam %s: bad domain list", h->name);
            *n_strings += (size_t)h->n_num_values;
        }
    }
    for (int32_t i = 0; i < n_m; i++) {
        if (!m[i].tag || !*m[i].tag || !tb_utf8_valid(m[i].tag) ||
            (m[i].group && !tb_utf8_valid(m[i].group)))
            return tb_err_set(err, TB_ERR_ARG, 0,
                              "hparams experiment: metric %d needs a UTF-8 tag (and group)",
                              (int)i);
    }
    return TB_OK;
}

enum tb_status tb_writer_add_hparams_experiment(struct tb_writer *w, double wall_time, int64_t step,
                                                const struct tb_hparam_info *hparams, int32_t n_hparams,
                                                const struct tb_metric_info *metrics, int32_t n_metrics,
                                                double time_created_secs, struct tb_err *err)
{
    enum tb_status st;
    size_t n_strings = 0;
    Tensorboard__Hparams__HParamInfo *infos = NULL, **info_ptrs = NULL;
    Tensorboard__Hparams__Interval *intervals = NULL;
    Google__Protobuf__ListValue *lists = NULL;
    Google__Protobuf__Value *vals = NULL, **val_ptrs = NULL;
    const char **sorted = NULL;
    Tensorboard__Hparams__MetricInfo *minfos = NULL, **minfo_ptrs = NULL;
    Tensorboard__Hparams__MetricName *mnames = NULL;

    if (!w)
        return tb_err_set(err, TB_ERR_ARG, 0, "tb_writer_add_hparams_experiment: NULL writer");
    if ((st = check_infos(hparams, n_hparams, metrics, n_metrics, &n_strings, err)) != TB_OK)
        return st;

    size_t nh = (size_t)n_hparams + 1, nm = (size_t)n_metrics + 1, ns = n_strings + 1;
    infos = calloc(nh, sizeof *infos);
    info_ptrs = calloc(nh, sizeof *info_ptrs);
    intervals = calloc(nh, sizeof *intervals);
    lists = calloc(nh, sizeof *lists);
    vals = calloc(ns, sizeof *vals);
    val_ptrs = calloc(ns, sizeof *val_ptrs);
    sorted = calloc(ns, sizeof *sorted);
    minfos = calloc(nm, sizeof *minfos);
    minfo_ptrs = calloc(nm, sizeof *minfo_ptrs);
    mnames = calloc(nm, sizeof *mnames);
    if (!infos || !info_ptrs || !intervals || !lists || !vals || !val_ptrs || !sorted ||
        !minfos || !minfo_ptrs || !mnames) {
        st = tb_err_set(err, TB_ERR_NOMEM, 0, "hparams experiment: out of memory");
        goto fail;
    }

    size_t at = 0;
    for (int32_t i = 0; i < n_hparams; i++) {
        const struct tb_hparam_info *h = &hparams[i];
        Tensorboard__Hparams__HParamInfo *in = &infos[i];
        tensorboard__hparams__hparam_info__init(in);
        in->name = (char *)h->name;
        in->type = (Tensorboard__Hparams__DataType)h->type;
        if (h->type == TB_HPARAM_STRING && h->n_values > 0) {
            memcpy(sorted + at, h->values, (size_t)h->n_values * sizeof *sorted);
            qsort(sorted + at, (size_t)h->n_values, sizeof *sorted, cmp_str);
            google__protobuf__list_value__init(&lists[i]);
            lists[i].n_values = (size_t)h->n_values;
            lists[i].values = val_ptrs + at;
            for (int32_t k = 0; k < h->n_values; k++, at++) {
                google__protobuf__value__init(&vals[at]);
                vals[at].kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE;
                vals[at].string_value = (char *)sorted[at];
                val_ptrs[at] = &vals[at];
            }
            in->domain_case = TENSORBOARD__HPARAMS__HPARAM_INFO__DOMAIN_DOMAIN_DISCRETE;
            in->domain_discrete = &lists[i];
        } else if (h->type == TB_HPARAM_BOOL) {
            /* hp.Discrete([False, True]) */
            google__protobuf__list_value__init(&lists[i]);
            lists[i].n_values = 2;
            lists[i].values = val_ptrs + at;
            for (int k = 0; k < 2; k++, at++) {
                google__protobuf__value__init(&vals[at]);
                vals[at].kind_case = GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE;
                vals[at].bool_value = k;
                val_ptrs[at] = &vals[at];
            }
            in->domain_case = TENSORBOARD__HPARAMS__HPARAM_INFO__DOMAIN_DOMAIN_DISCRETE;
            in->domain_discrete = &lists[i];
        } else if (h->type == TB_HPARAM_FLOAT64 && h->has_interval) {
            tensorboard__hparams__interval__init(&intervals[i]);
            intervals[i].min_value = h->min_value;
            intervals[i].max_value = h->max_value;
            in->domain_case = TENSORBOARD__HPARAMS__HPARAM_INFO__DOMAIN_DOMAIN_INTERVAL;
            in->domain_interval = &intervals[i];
        } else if (h->type == TB_HPARAM_FLOAT64 && h->n_num_values > 0) {
            google__protobuf__list_value__init(&lists[i]);
            lists[i].n_values = (size_t)h->n_num_values;
            lists[i].values = val_ptrs + at;
            for (int32_t k = 0; k < h->n_num_values; k++, at++) {
                google__protobuf__value__init(&vals[at]);
                vals[at].kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE;
                vals[at].number_value = h->num_values[k];
                val_ptrs[at] = &vals[at];
            }
            in->domain_case = TENSORBOARD__HPARAMS__HPARAM_INFO__DOMAIN_DOMAIN_DISCRETE;
            in->domain_discrete = &lists[i];
        }
        info_ptrs[i] = in;
    }
    for (int32_t i = 0; i < n_metrics; i++) {
        tensorboard__hparams__metric_name__init(&mnames[i]);
        mnames[i].group = (char *)(metrics[i].group ? metrics[i].group : "");
        mnames[i].tag = (char *)metrics[i].tag;
        tensorboard__hparams__metric_info__init(&minfos[i]);
        minfos[i].name = &mnames[i];
        minfos[i].dataset_type = (Tensorboard__Hparams__DatasetType)metrics[i].dataset_type;
        minfo_ptrs[i] = &minfos[i];
    }

    Tensorboard__Hparams__Experiment exp = TENSORBOARD__HPARAMS__EXPERIMENT__INIT;
    exp.time_created_secs = time_created_secs;
    exp.n_hparam_infos = (size_t)n_hparams;
    exp.hparam_infos = info_ptrs;
    exp.n_metric_infos = (size_t)n_metrics;
    exp.metric_infos = minfo_ptrs;
    Tensorboard__Hparams__HParamsPluginData data = TENSORBOARD__HPARAMS__HPARAMS_PLUGIN_DATA__INIT;
    data.data_case = TENSORBOARD__HPARAMS__HPARAMS_PLUGIN_DATA__DATA_EXPERIMENT;
    data.experiment = &exp;
    st = put_plugin_data(w, wall_time, step, "_hparams_/experiment", &data, err);

fail:
    free(mnames);
    free(minfo_ptrs);
    free(minfos);
    free(sorted);
    free(val_ptrs);
    free(vals);
    free(lists);
    free(intervals);
    free(info_ptrs);
    free(infos);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Session start and end                                                    */
/* ------------------------------------------------------------------------ */

enum tb_status tb_writer_add_hparams_start(struct tb_writer *w, double wall_time, int64_t step,
                                           const struct tb_hparam_value *values, int32_t n_values,
                                           const char *group_name, double start_time_secs,
                                           struct tb_err *err)
{
    enum tb_status st;
    const struct tb_hparam_value **sorted = NULL;
    Tensorboard__Hparams__SessionStartInfo__HparamsEntry *entries = NULL, **entry_ptrs = NULL;
    Google__Protobuf__Value *vals = NULL;
    char group[65];

    if (!w)
        return tb_err_set(err, TB_ERR_ARG, 0, "tb_writer_add_hparams_start: NULL writer");
    if (group_name && !tb_utf8_valid(group_name))
        return tb_err_set(err, TB_ERR_ARG, 0, "hparams session start: group name is not UTF-8");
    if ((st = tb_hparams_sorted(values, n_values, &sorted, err)) != TB_OK)
        return st;
    if (!group_name) {
        if ((st = tb_hparams_group_name(values, n_values, group, err)) != TB_OK)
            goto fail;
        group_name = group;
    }

    size_t n = (size_t)n_values + 1;
    entries = calloc(n, sizeof *entries);
    entry_ptrs = calloc(n, sizeof *entry_ptrs);
    vals = calloc(n, sizeof *vals);
    if (!entries || !entry_ptrs || !vals) {
        st = tb_err_set(err, TB_ERR_NOMEM, 0, "hparams session start: out of memory");
        goto fail;
    }
    for (int32_t i = 0; i < n_values; i++) {
        const struct tb_hparam_value *h = sorted[i];
        google__protobuf__value__init(&vals[i]);
        switch (h->kind) {
        case TB_VALUE_STRING:
            vals[i].kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE;
            vals[i].string_value = (char *)h->s;
            break;
        case TB_VALUE_INT:
            vals[i].kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE;
            vals[i].number_value = (double)h->i;
            break;
        case TB_VALUE_FLOAT:
            vals[i].kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE;
            vals[i].number_value = h->f;
            break;
        case TB_VALUE_BOOL:
            vals[i].kind_case = GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE;
            vals[i].bool_value = h->b;
            break;
        }
        tensorboard__hparams__session_start_info__hparams_entry__init(&entries[i]);
        entries[i].key = (char *)h->name;
        entries[i].value = &vals[i];
        entry_ptrs[i] = &entries[i];
    }

    Tensorboard__Hparams__SessionStartInfo info = TENSORBOARD__HPARAMS__SESSION_START_INFO__INIT;
    info.n_hparams = (size_t)n_values;
    info.hparams = entry_ptrs;
    info.group_name = (char *)group_name;
    info.start_time_secs = start_time_secs;
    Tensorboard__Hparams__HParamsPluginData data = TENSORBOARD__HPARAMS__HPARAMS_PLUGIN_DATA__INIT;
    data.data_case = TENSORBOARD__HPARAMS__HPARAMS_PLUGIN_DATA__DATA_SESSION_START_INFO;
    data.session_start_info = &info;
    st = put_plugin_data(w, wall_time, step, "_hparams_/session_start_info", &data, err);

fail:
    free(vals);
    free(entry_ptrs);
    free(entries);
    free(sorted);
    return st;
}

enum tb_status tb_writer_add_hparams_end(struct tb_writer *w, double wall_time, int64_t step,
                                         enum tb_session_status status, double end_time_secs,
                                         struct tb_err *err)
{
    if (!w)
        return tb_err_set(err, TB_ERR_ARG, 0, "tb_writer_add_hparams_end: NULL writer");
    if (status < TB_SESSION_UNKNOWN || status > TB_SESSION_RUNNING)
        return tb_err_set(err, TB_ERR_ARG, 0, "hparams session end: unknown status %d",
                          (int)status);
    Tensorboard__Hparams__SessionEndInfo end = TENSORBOARD__HPARAMS__SESSION_END_INFO__INIT;
    end.status = (Tensorboard__Hparams__Status)status;
    end.end_time_secs = end_time_secs;
    Tensorboard__Hparams__HParamsPluginData data = TENSORBOARD__HPARAMS__HPARAMS_PLUGIN_DATA__INIT;
    data.data_case = TENSORBOARD__HPARAMS__HPARAMS_PLUGIN_DATA__DATA_SESSION_END_INFO;
    data.session_end_info = &end;
    return put_plugin_data(w, wall_time, step, "_hparams_/session_end_info", &data, err);
}
