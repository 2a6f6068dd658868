/* fuzz_trace.c - libFuzzer target for the whole single-capture pipeline.
 *
 * The input is written to a memfd and read with trace_load() (libpcap ->
 * decode -> flow table, packet records kept, as correlate and the viewer
 * use it); every flow is then rendered the way the commands print it
 * (JSON, CSV, tuple text, conn_state, community id), the capture summary,
 * probes and single-capture findings (which also read the host metadata
 * blocks of a pcapng), and the record flows of conntrack event blocks
 * (natlens-capture --conntrack: seeded by samples/records/capture/) into a
 * memory stream.
 * The input size's low bit turns checksum verification on.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* u_char in pcap.h under -std=c11; memfd_create */
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "natlens/flow.h"
#include "natlens/flow_out.h"
#include "natlens/diagnose.h"
#include "natlens/json.h"
#include "natlens/record.h"
#include "natlens/record_out.h"
#include "natlens/trace.h"
#include "natlens/trace_out.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_trace_render(nl_trace *t)
{
    char *mem = NULL, buf[160];
    size_t memlen = 0, n = 0, i;
    FILE *out = open_memstream(&mem, &memlen);
    nl_flow **flows;
    nl_findings *fs;
    nl_json j;

    if (!out)
        return;
    flows = trace_flows(t, &n);
    json_init(&j, out, 0);
    json_obj_begin(&j, NULL);
    json_arr_begin(&j, "captures");
    trace_out_json_capture(&j, NULL, t);
    json_arr_end(&j);
    json_arr_begin(&j, "flows");
    for (i = 0; i < n; i++) {
        const nl_flow *f = flows[i];
        flow_out_json(&j, NULL, f);
        flow_out_csv_row(out, f, (uint16_t)(f->id & 1));   /* seed 0 and 1 */
        flow_out_tuple(f, buf, sizeof buf, 1);
        flow_community_id(f, buf, sizeof buf);
        (void)flow_conn_state(f);
        if (f->nrecs > NL_FLOW_KEEP_PKTS)
            abort();
    }
    json_arr_end(&j);
    trace_out_json_probes(&j, "probes", &t, 1);
    if (record_count(t))   /* conntrack events inside the capture */
        record_out_json(&j, "records", t);
    fs = diagnose_new();
    if (fs && (record_count(t) ? diagnose_records(fs, t, 0) : diagnose_trace(fs, t, 0)) >= 0) {
        diagnose_json(&j, "findings", fs);
        json_obj_end(&j);
        json_finish(&j);
        diagnose_text(out, fs, 0);
    } else {
        json_obj_end(&j);
        json_finish(&j);
    }
    diagnose_free(fs);
    trace_out_text_probes(out, &t, 1);
    record_out_text(out, t, 1);
    fclose(out);
    free(mem);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64], err[512];
    nl_trace_opts o;
    nl_trace *t;
    int fd = memfd_create("fuzz_trace", 0);

    if (fd < 0)
        return 0;
    if (size && write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    memset(&o, 0, sizeof o);
    o.keep_packets = 1;
    o.verify_checksums = (int)(size & 1);
    err[0] = '\0';
    t = trace_load(path, &o, err);
    if (t) {
        fuzz_trace_render(t);
        trace_free(t);
    } else if (err[0] == '\0') {
        abort();   /* a failed load must say why */
    }
    close(fd);
    return 0;
}
