/*
 * tb.h - TensorBoard event files: writer, reader, CRC32C and PNG (proto/, prefix tb_).
 *
 * proto/ turns plain numbers, strings and bytes into the records TensorBoard
 * reads, and reads them back.  It knows nothing about core/ or server/, never
 * reads the clock (every wall time, host name and pid is a parameter, so the
 * output is reproducible byte for byte), never prints and keeps no mutable
 * globals.
 *
 * File format: a sequence of TFRecords, each
 *     u64le length | u32le masked_crc32c(length) | data | u32le masked_crc32c(data)
 * where data is one serialized tensorboard Event.  Given the same events, the
 * writer produces the same bytes as TensorBoard's own Python writer (checked
 * against tests/golden/tfevents by tests/golden).
 *
 * Errors: fallible functions return enum tb_status (TB_OK == 0) and, when the
 * caller passes a struct tb_err, a sentence saying what failed: for I/O the
 * file's path and strerror text.  Nothing from outside (files, arguments)
 * makes these functions abort or exit.
 *
 * Threads: a tb_writer or tb_reader belongs to one thread at a time; distinct
 * objects may be used in different threads at once.  The free functions
 * (CRC, PNG, group name) are thread-safe.
 */
#ifndef TB_H
#define TB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

enum tb_status {
    TB_OK = 0,
    TB_ERR_ARG,        /* bad argument (NULL, negative size, invalid UTF-8, ...) */
    TB_ERR_NOMEM,      /* allocation failed */
    TB_ERR_IO,         /* open/write/fsync/close/read failed: path + errno text in msg */
    TB_ERR_PNG,        /* libpng reported an error */
    TB_ERR_TRUNCATED,  /* reader: the file ends inside a record (maybe still being written) */
    TB_ERR_CORRUPT,    /* reader: a CRC does not match */
    TB_ERR_FORMAT,     /* reader: a record's data is not a valid Event, or a length is absurd */
    TB_END,            /* reader: no more records (a clean end of file, not an error) */
};

struct tb_err {
    enum tb_status code;
    int sys_errno;     /* errno of the failing system call, 0 if none */
    char msg[512];
};

/* Short constant name of a status ("ok", "I/O error", ...). */
const char *tb_status_str(enum tb_status s);

/* ------------------------------------------------------------------------ */
/* CRC32C (Castagnoli), as TFRecord uses it                                 */
/* ------------------------------------------------------------------------ */

/* CRC32C of n bytes (init 0xFFFFFFFF, final xor 0xFFFFFFFF; crc32c("123456789")
 * == 0xE3069283).  Uses the SSE4.2 crc32 instruction when the CPU has it,
 * a table otherwise.  data may be NULL when n == 0. */
uint32_t tb_crc32c(const void *data, size_t n);

/* TFRecord's masking: ((crc >> 15) | (crc << 17)) + 0xa282ead8 (mod 2^32). */
uint32_t tb_crc32c_mask(uint32_t crc);

/* ------------------------------------------------------------------------ */
/* PNG                                                                      */
/* ------------------------------------------------------------------------ */

/* Encode an 8-bit grayscale image, pixels (height, width) row-major, as PNG
 * with libpng.  On success *png is the caller's to free with free() and *len
 * its size.  Errors: TB_ERR_ARG (NULL, width/height <= 0 or > 65535),
 * TB_ERR_NOMEM, TB_ERR_PNG (libpng's message).  Nothing leaks on error and
 * *png is left NULL. */
enum tb_status tb_png_encode_gray(const uint8_t *pixels, int32_t width, int32_t height,
                                  uint8_t **png, size_t *len, struct tb_err *err);

/* The same for 8-bit RGB, pixels (height, width, 3) row-major. */
enum tb_status tb_png_encode_rgb(const uint8_t *pixels, int32_t width, int32_t height,
                                 uint8_t **png, size_t *len, struct tb_err *err);

/* ------------------------------------------------------------------------ */
/* Writer                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * One event file in one run directory.  Every record is built in memory and
 * written with a single write() (looping only on short writes and EINTR), so
 * there is no user-space buffer: a record is visible to TensorBoard as soon as
 * the add call returns.  If a write fails half-way, the writer truncates the
 * file back to the end of the last whole record, so the file never ends in a
 * torn record written by us; if even that fails the writer refuses any
 * further record (every later call returns the same error).
 *
 * Every add function takes the record's wall_time (seconds since the epoch)
 * and step (Event.step; 0 is not written, as protobuf leaves defaults out).
 */
struct tb_writer;

/* Create a NEW file run_dir/events.out.tfevents.<%010d wall_time>.<hostname>.<pid>.<n>,
 * with n = 0, 1, ... the first number whose name does not exist yet (opened
 * with O_EXCL: never appends to an existing file), and write its first record,
 * Event{wall_time, file_version: "brain.Event:2"}.  run_dir must exist.  A '/'
 * in hostname becomes '_'; an empty hostname becomes "localhost".
 * On success *out is the caller's to close with tb_writer_close().
 * Errors: TB_ERR_ARG, TB_ERR_NOMEM, TB_ERR_IO (path + errno text: missing
 * directory, permission, disk full, ...). */
enum tb_status tb_writer_open(const char *run_dir, double wall_time, const char *hostname,
                              int64_t pid, struct tb_writer **out, struct tb_err *err);

/* The file's full path; valid until tb_writer_close(). */
const char *tb_writer_path(const struct tb_writer *w);

/* Bytes written so far (the file's size, all whole records). */
uint64_t tb_writer_bytes(const struct tb_writer *w);

/* SessionLog{status: START} at step: step 0 right after opening a fresh job's
 * first file; the first step the job will write (not the last one it
 * finished) in the new file of a resumed job.  TensorBoard then drops the
 * points at that step and later that the crashed run had left behind. */
enum tb_status tb_writer_add_session_start(struct tb_writer *w, double wall_time, int64_t step,
                                           struct tb_err *err);

/* How a scalar is stored. */
enum tb_scalar_form {
    TB_SCALAR_SIMPLE = 0,     /* Summary.Value.simple_value: TF1 / Keras callback */
    TB_SCALAR_TENSOR,         /* rank-0 DT_FLOAT tensor in float_val, plugin "scalars"
                                 (TF2 scalar_pb) */
    TB_SCALAR_TENSOR_CONTENT, /* the same with the float in tensor_content (TF2's C++
                                 summary op) */
};

/* Scalar tag = value at step, stored as simple_value (what Keras' TensorBoard
 * callback writes for loss / val_loss). */
enum tb_status tb_writer_add_scalar(struct tb_writer *w, double wall_time, int64_t step,
                                    const char *tag, float value, struct tb_err *err);

/* The same in a chosen form.  The TF2 forms carry the "scalars" metadata on
 * every record (TensorBoard keeps the first one per tag). */
enum tb_status tb_writer_add_scalar_as(struct tb_writer *w, double wall_time, int64_t step,
                                       const char *tag, float value, enum tb_scalar_form form,
                                       struct tb_err *err);

/* Summary.Image: encoded image bytes (e.g. from tb_png_encode_gray, borrowed
 * for the call), their pixel size, and colorspace (1 grayscale, 3 RGB,
 * 4 RGBA).  TB_ERR_ARG when png is NULL/empty or a size is not positive. */
enum tb_status tb_writer_add_image(struct tb_writer *w, double wall_time, int64_t step,
                                   const char *tag, const uint8_t *png, size_t png_bytes,
                                   int32_t width, int32_t height, int32_t colorspace,
                                   struct tb_err *err);

/* Text summary exactly as TensorBoard's text_pb(name, text) builds it: tag
 * "<name>/text_summary", a rank-0 DT_STRING tensor holding text (UTF-8,
 * rendered as markdown), metadata display_name = name, plugin "text". */
enum tb_status tb_writer_add_text(struct tb_writer *w, double wall_time, int64_t step,
                                  const char *name, const char *text, struct tb_err *err);

/* Custom-scalars layout.  A multiline chart draws every scalar tag matched by
 * any of its regular expressions (Python re.match: anchored at the start only,
 * so end a pattern with '$').  All strings borrowed for the call. */
struct tb_chart {
    const char *title;
    const char *const *tags;   /* n_tags regular expressions */
    int32_t n_tags;
};

struct tb_category {
    const char *title;
    const struct tb_chart *charts;
    int32_t n_charts;
};

/* Record tag "custom_scalars__config__" holding the layout (categories in
 * the given order), as custom_scalar.summary.pb(layout) builds it.  Write it
 * at step 0. */
enum tb_status tb_writer_add_layout(struct tb_writer *w, double wall_time, int64_t step,
                                    const struct tb_category *categories, int32_t n_categories,
                                    struct tb_err *err);

/* --- hparams plugin ------------------------------------------------------ */

/* hparams.DataType values. */
enum tb_hparam_type {
    TB_HPARAM_STRING = 1,
    TB_HPARAM_BOOL = 2,
    TB_HPARAM_FLOAT64 = 3,     /* integers too: there is no integer type */
};

/* One hyperparameter in the experiment definition. */
struct tb_hparam_info {
    const char *name;
    enum tb_hparam_type type;
    /* STRING: the discrete domain, written in sorted order (the writer sorts
     * a copy); n_values 0 = no domain.  BOOL always gets {false, true}. */
    const char *const *values;
    int32_t n_values;
    /* FLOAT64: the interval [min_value, max_value] when has_interval. */
    bool has_interval;
    double min_value, max_value;
    /* FLOAT64 without an interval: a discrete domain of numbers (written in
     * the given order, as hp.Discrete keeps them); n_num_values 0 = none. */
    const double *num_values;
    int32_t n_num_values;
};

/* hparams.DatasetType values. */
enum tb_dataset_type {
    TB_DATASET_UNKNOWN = 0,
    TB_DATASET_TRAINING = 1,
    TB_DATASET_VALIDATION = 2,
};

/* One metric: the scalar tag in the job's run (group "" or NULL), or in the
 * run's subdirectory named group. */
struct tb_metric_info {
    const char *group;
    const char *tag;
    enum tb_dataset_type dataset_type;
};

/* Record "_hparams_/experiment" (summary_v2.hparams_config_pb): the hparam
 * and metric lists in the given order, time_created_secs.  Every job of a log
 * dir must write the same definition.  Write it at step 0. */
enum tb_status tb_writer_add_hparams_experiment(struct tb_writer *w, double wall_time,
                                                int64_t step,
                                                const struct tb_hparam_info *hparams,
                                                int32_t n_hparams,
                                                const struct tb_metric_info *metrics,
                                                int32_t n_metrics, double time_created_secs,
                                                struct tb_err *err);

/* A job's value of one hyperparameter.  The kind matters for group_name:
 * Python's json prints an integer as 50 and a float as 50.0. */
enum tb_value_kind {
    TB_VALUE_STRING = 0,
    TB_VALUE_INT,
    TB_VALUE_FLOAT,
    TB_VALUE_BOOL,
};

struct tb_hparam_value {
    const char *name;
    enum tb_value_kind kind;
    const char *s;     /* STRING (UTF-8) */
    int64_t i;         /* INT; stored as a double in the record, as Python does */
    double f;          /* FLOAT */
    bool b;            /* BOOL */
};

/* group_name as summary_v2.hparams_pb computes it: the lowercase hex SHA-256
 * of json.dumps(hparams, sort_keys=True, separators=(",", ":")).  out gets 64
 * hex digits and a NUL.  TB_ERR_ARG on duplicate or NULL names or invalid
 * UTF-8. */
enum tb_status tb_hparams_group_name(const struct tb_hparam_value *values, int32_t n_values,
                                     char out[65], struct tb_err *err);

/* The compact JSON itself (the text that is hashed), for tests and display.
 * *json is the caller's to free with free(). */
enum tb_status tb_hparams_json(const struct tb_hparam_value *values, int32_t n_values,
                               char **json, struct tb_err *err);

/* Record "_hparams_/session_start_info" (summary_v2.hparams_pb): the values
 * (written sorted by name, in any order given), group_name (NULL = computed
 * with tb_hparams_group_name), start_time_secs.  Write it at step 0. */
enum tb_status tb_writer_add_hparams_start(struct tb_writer *w, double wall_time, int64_t step,
                                           const struct tb_hparam_value *values, int32_t n_values,
                                           const char *group_name, double start_time_secs,
                                           struct tb_err *err);

/* hparams.Status values. */
enum tb_session_status {
    TB_SESSION_UNKNOWN = 0,
    TB_SESSION_SUCCESS = 1,
    TB_SESSION_FAILURE = 2,
    TB_SESSION_RUNNING = 3,
};

/* Record "_hparams_/session_end_info" (hparams.summary.session_end_pb): write
 * it once, when the job really ends (TensorBoard keeps the first one). */
enum tb_status tb_writer_add_hparams_end(struct tb_writer *w, double wall_time, int64_t step,
                                         enum tb_session_status status, double end_time_secs,
                                         struct tb_err *err);

/* Write an already serialized Event (data, n bytes) as one record.  For
 * tests and tools; the add functions above are built on it. */
enum tb_status tb_writer_add_raw(struct tb_writer *w, const uint8_t *data, size_t n,
                                 struct tb_err *err);

/* Make the records visible to readers.  Every record already went to the
 * kernel with its own write(), so TensorBoard sees it without this; flush
 * does no I/O and only reports a writer that an earlier error broke.  Call it
 * after each epoch anyway: it states the intent. */
enum tb_status tb_writer_flush(struct tb_writer *w, struct tb_err *err);

/* fsync() the file (at the end of a job). */
enum tb_status tb_writer_sync(struct tb_writer *w, struct tb_err *err);

/* Close the file and free w (NULL is a no-op).  Returns close()'s error, if
 * any; w is freed either way.  Does not fsync: call tb_writer_sync first. */
enum tb_status tb_writer_close(struct tb_writer *w, struct tb_err *err);

/* ------------------------------------------------------------------------ */
/* Reader                                                                   */
/* ------------------------------------------------------------------------ */

/* What a decoded Event holds. */
enum tb_event_kind {
    TB_EVENT_EMPTY = 0,       /* none of the fields below */
    TB_EVENT_FILE_VERSION,
    TB_EVENT_SESSION_LOG,
    TB_EVENT_SUMMARY,
    TB_EVENT_OTHER,           /* graph_def, log_message, run metadata, ... */
};

/* What one Summary.Value holds, as TensorBoard would interpret it. */
enum tb_value_type {
    TB_VAL_SCALAR = 0,        /* simple_value, or a rank-0 float tensor of plugin "scalars" */
    TB_VAL_IMAGE,             /* Summary.Image */
    TB_VAL_TEXT,              /* DT_STRING tensor of plugin "text" */
    TB_VAL_HPARAMS,           /* plugin "hparams" */
    TB_VAL_LAYOUT,            /* plugin "custom_scalars" */
    TB_VAL_TENSOR,            /* another tensor */
    TB_VAL_OTHER,             /* histogram, audio, ... */
};

enum tb_hparams_kind {
    TB_HPARAMS_NONE = 0,
    TB_HPARAMS_EXPERIMENT,
    TB_HPARAMS_SESSION_START,
    TB_HPARAMS_SESSION_END,
};

/* One Summary.Value.  Pointers are valid until the next tb_reader_next() or
 * tb_reader_close(). */
struct tb_value {
    enum tb_value_type type;
    const char *tag;
    const char *plugin_name;            /* "" when no metadata */
    float scalar;                       /* SCALAR */
    int32_t width, height, colorspace;  /* IMAGE */
    const uint8_t *image;               /* IMAGE: encoded bytes */
    size_t image_bytes;
    const char *text;                   /* TEXT: the first string (NUL-terminated copy) */
    /* HPARAMS */
    enum tb_hparams_kind hparams_kind;
    int32_t n_hparams;                  /* experiment: hparam infos; start: values */
    int32_t n_metrics;                  /* experiment: metric infos */
    const char *group_name;             /* start: group name ("" otherwise) */
    int32_t session_status;             /* end: tb_session_status */
    /* LAYOUT */
    int32_t n_categories, n_charts;     /* charts summed over categories */
};

struct tb_event {
    double wall_time;
    int64_t step;
    enum tb_event_kind kind;
    const char *file_version;           /* FILE_VERSION */
    int32_t session_status;             /* SESSION_LOG: 1 START, 2 STOP, 3 CHECKPOINT */
    const struct tb_value *values;      /* SUMMARY */
    int32_t n_values;
};

/* Where and how a record is damaged (tb_reader_next's TB_ERR_* results). */
struct tb_damage {
    int64_t index;                      /* record index, from 0 */
    uint64_t offset;                    /* file offset where the record starts */
    /* TB_ERR_TRUNCATED: bytes of the record in the file and the bytes it needs
     * (expected is 0 when even the 12-byte header is incomplete). */
    uint64_t bytes_present, bytes_expected;
    /* TB_ERR_CORRUPT: which CRC, the masked value stored in the file and the
     * masked value computed from the bytes. */
    bool length_crc;
    uint32_t crc_stored, crc_computed;
};

struct tb_record {
    int64_t index;
    uint64_t offset;
    uint64_t length;                    /* data bytes */
    const uint8_t *data;                /* the serialized Event; valid until the next call */
    struct tb_event event;
    struct tb_damage damage;            /* filled when tb_reader_next returns an error */
};

struct tb_reader;

/* Open path for reading.  *out is the caller's to close with tb_reader_close(). */
enum tb_status tb_reader_open(const char *path, struct tb_reader **out, struct tb_err *err);

/*
 * Read the next record into *rec, checking both CRCs and decoding the Event.
 * Returns:
 *   TB_OK            rec holds a valid record.
 *   TB_END           no more bytes: the file ends on a record boundary.
 *   TB_ERR_TRUNCATED the file ends inside the record at rec->damage.offset.
 *                    The reader stays there: a later call reads it again (a
 *                    follower of a growing file just retries).
 *   TB_ERR_CORRUPT   a CRC does not match.  A data CRC error leaves the
 *                    framing intact, so the next call goes on with the next
 *                    record; after a length CRC error the boundaries are lost
 *                    and every later call returns the same error.
 *   TB_ERR_FORMAT    the data passed its CRC but is not an Event (the next
 *                    call goes on), or the length is over 1 GiB (stops).
 *   TB_ERR_IO / TB_ERR_NOMEM
 * A length field is never trusted: it is checked against its CRC and the
 * file's size before anything is allocated.
 */
enum tb_status tb_reader_next(struct tb_reader *r, struct tb_record *rec, struct tb_err *err);

/* Close and free (NULL is a no-op). */
void tb_reader_close(struct tb_reader *r);

#endif /* TB_H */
