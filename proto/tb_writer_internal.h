/*
 * tb_writer_internal.h - how the event builders (tb_events.c, tb_hparams.c)
 * hand records to the writer (tb_writer.c).
 */
#ifndef TB_WRITER_INTERNAL_H
#define TB_WRITER_INTERNAL_H

#include <protobuf-c/protobuf-c.h>

#include "proto/tb_internal.h"
#include "tb_event.pb-c.h"

/* Serialize event into the writer's record buffer and write it as one
 * record. */
enum tb_status tb_writer_put(struct tb_writer *w, const ProtobufCMessage *event,
                             struct tb_err *err);

/* Two-step form for callers that fill the data themselves: reserve returns
 * where data_bytes of Event data go (NULL with err set on failure), commit
 * frames and writes them. */
uint8_t *tb_writer_reserve(struct tb_writer *w, size_t data_bytes, struct tb_err *err);
enum tb_status tb_writer_commit(struct tb_writer *w, size_t data_bytes, struct tb_err *err);

#endif /* TB_WRITER_INTERNAL_H */
