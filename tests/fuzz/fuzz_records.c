/* fuzz_records.c - libFuzzer target for the record readers (reader.h).
 *
 * Byte 0 picks the reader (index into reader_all(), or detection by
 * content when it is past the end), the rest is the file (memfd). The
 * trace is then rendered as `natlens flows` does: flow JSON, record JSON
 * and text, findings (diagnose_records()).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "natlens/diagnose.h"
#include "natlens/flow_out.h"
#include "natlens/json.h"
#include "natlens/reader.h"
#include "natlens/record.h"
#include "natlens/record_out.h"
#include "natlens/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_records_render(nl_trace *t)
{
    char *mem = NULL;
    size_t memlen = 0, n;
    FILE *out = open_memstream(&mem, &memlen);
    nl_flow **fl;
    nl_findings *fs;
    nl_json j;
    if (!out)
        return;
    fl = trace_flows(t, &n);
    json_init(&j, out, 0);
    json_obj_begin(&j, NULL);
    json_arr_begin(&j, "flows");
    for (size_t i = 0; i < n; i++) {
        const nl_record_info *ri = record_info_of(t, fl[i]);
        flow_out_json(&j, NULL, fl[i]);
        if (ri && ri->other_leg && !record_info_of(t, fl[i]))
            abort();
    }
    json_arr_end(&j);
    record_out_json(&j, "records", t);
    fs = diagnose_new();
    if (fs && diagnose_records(fs, t, 0) >= 0)
        diagnose_json(&j, "findings", fs);
    json_obj_end(&j);
    json_finish(&j);
    if (fs)
        diagnose_text(out, fs, 0);
    diagnose_free(fs);
    record_out_text(out, t, 1);
    fclose(out);
    free(mem);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64], err[512];
    size_t nr;
    const nl_reader *const *rs = reader_all(&nr);
    nl_trace_opts o;
    nl_trace *t;
    int fd;
    if (size < 1)
        return 0;
    fd = memfd_create("fuzz_records", 0);
    if (fd < 0)
        return 0;
    if (size > 1 && write(fd, data + 1, size - 1) != (ssize_t)(size - 1)) {
        close(fd);
        return 0;
    }
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    memset(&o, 0, sizeof o);
    o.keep_packets = 1;
    o.format = data[0] < nr ? rs[data[0]]->name : NULL;
    err[0] = '\0';
    t = trace_load(path, &o, err);
    if (t) {
        fuzz_records_render(t);
        trace_free(t);
    } else if (err[0] == '\0') {
        abort();   /* a failed load must say why */
    }
    close(fd);
    return 0;
}
