/* source_merge.h - several capture files of one host read as one stream,
 * merged by time as mergecap does (internal to source.c: callers open a
 * merged point with source_open_merged(), source.h). */
#ifndef NATLENS_SOURCE_MERGE_H
#define NATLENS_SOURCE_MERGE_H

#include <stddef.h>
#include <stdint.h>
#include "natlens/source.h"

typedef struct nl_merge nl_merge;

/* Take the n opened member sources (owned from here on: closed by
 * source_merge_free, also on failure). paths[i] names member i (copied). */
nl_merge *source_merge_new(nl_source **members, const char *const *paths, size_t n,
                           const char *bpf, char *errbuf);
int source_merge_next(nl_merge *m, nl_packet *pkt, const uint8_t **bytes);
void source_merge_on_custom(nl_merge *m, nl_source_custom_fn fn, void *ctx);
void source_merge_set_verify(nl_merge *m, int on);
const nl_source *source_merge_first(const nl_merge *m);
const char *source_merge_warning(const nl_merge *m);
uint64_t source_merge_damage_offset(const nl_merge *m);
int64_t source_merge_offset(const nl_merge *m);
int64_t source_merge_size(const nl_merge *m);
void source_merge_free(nl_merge *m);

#endif
