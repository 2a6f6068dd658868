/* dump_records.c - what natlens read from a capture, frame by frame, for
 * comparison with tshark: every packet record the flows kept (trace_load
 * with keep_packets, the path every command takes), one line each:
 *     FRAME TS_NS IFINDEX
 * sorted by frame number, then a line "packets N" (all frames read).
 * IFINDEX is -1 when the frame names no interface. For small captures
 * (a flow keeps its first NL_FLOW_KEEP_PKTS packets).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "natlens/trace.h"

typedef struct row {
    uint64_t frame, ts;
    int32_t ifx;
} row;

static int row_cmp(const void *a, const void *b)
{
    const row *x = a, *y = b;
    return x->frame < y->frame ? -1 : x->frame > y->frame;
}

int main(int argc, char **argv)
{
    char err[512];
    nl_trace_opts o;
    nl_trace *t;
    nl_flow **fl;
    size_t n, nr = 0, cap = 0;
    row *rows = NULL;

    if (argc != 2) {
        fprintf(stderr, "usage: dump_records CAPTURE\n");
        return 2;
    }
    memset(&o, 0, sizeof o);
    o.keep_packets = 1;
    if (!(t = trace_load(argv[1], &o, err))) {
        fprintf(stderr, "dump_records: %s\n", err);
        return 2;
    }
    fl = trace_flows(t, &n);
    for (size_t i = 0; i < n; i++)
        for (uint16_t k = 0; k < fl[i]->nrecs; k++) {
            if (nr == cap) {
                cap = cap ? cap * 2 : 256;
                if (!(rows = realloc(rows, cap * sizeof *rows)))
                    return 2;
            }
            rows[nr].frame = fl[i]->recs[k].frame;
            rows[nr].ts = fl[i]->recs[k].ts_ns;
            rows[nr].ifx = fl[i]->recs[k].ifindex;
            nr++;
        }
    qsort(rows, nr, sizeof *rows, row_cmp);
    for (size_t i = 0; i < nr; i++)
        printf("%" PRIu64 " %" PRIu64 " %d\n", rows[i].frame, rows[i].ts, rows[i].ifx);
    printf("packets %" PRIu64 "\n", t->packets);
    free(rows);
    trace_free(t);
    return 0;
}
