/* diagnose_drops.c - findings that rest on a missing packet say when the
 * capture itself lost packets.
 *
 * "No SYN-ACK came back" and "never arrived" are conclusions from absence.
 * When a capture's own statistics (pcapng Interface Statistics Blocks:
 * natlens-capture and dumpcap write them) record drops, the packet may be
 * missing from the file rather than from the wire; the finding says so,
 * naming the capture and its counts, and the reader decides. Nothing is
 * hidden or downgraded: the counters cannot say which packets were lost.
 */
#define NATLENS_DIAGNOSE_INTERNAL
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "natlens/diagnose.h"

/* Kinds whose proof is a packet not being seen. */
static int drops_rests_on_absence(nl_finding_kind k)
{
    return k == NL_FK_NEVER_ARRIVED || k == NL_FK_HANDSHAKE_BROKEN;
}

static int drops_involves(const nl_finding *f, int cap)
{
    for (size_t i = 0; i < f->nflows; i++)
        if (f->flows[i].capture == cap)
            return 1;
    for (size_t i = 0; i < f->nevidence; i++)
        if (f->evidence[i].capture == cap)
            return 1;
    return 0;
}

void diagnose_drops_note(nl_findings *fs)
{
    for (size_t i = 0; i < fs->n; i++) {
        nl_finding *f = &fs->v[i];
        char note[512];
        size_t o = 0;
        if (!drops_rests_on_absence(f->kind))
            continue;
        note[0] = '\0';
        for (size_t c = 0; c < fs->ncaps && o < sizeof note; c++) {
            char of[48] = "";
            if (!fs->drops || !fs->drops[c] || !drops_involves(f, (int)c))
                continue;
            if (fs->received[c])
                snprintf(of, sizeof of, " of %" PRIu64, fs->received[c]);
            o += (size_t)snprintf(note + o, sizeof note - o,
                                  " %s dropped %" PRIu64 "%s packets while capturing (its own "
                                  "statistics): a packet missing there may be capture loss, "
                                  "not network loss.",
                                  diagnose_capture_name(fs, (int)c), fs->drops[c], of);
        }
        if (note[0]) {
            size_t l = strlen(f->summary);
            char *s = realloc(f->summary, l + strlen(note) + 1);
            if (!s) {
                fs->oom = 1;
                return;
            }
            memcpy(s + l, note, strlen(note) + 1);
            f->summary = s;
        }
    }
}

int diagnose_drops_set(nl_findings *fs, int cap, uint64_t dropped, uint64_t received)
{
    if (cap < 0 || (size_t)cap >= fs->ncaps)
        return -1;
    fs->drops[cap] = dropped;
    fs->received[cap] = received;
    return 0;
}
