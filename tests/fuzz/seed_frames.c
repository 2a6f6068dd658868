/* seed_frames.c - seed corpus for fuzz_decode from real captures.
 *
 * usage: seed_frames OUTDIR CAPTURE...
 * Reads each capture with libpcap and writes up to 64 frames per file as
 * OUTDIR/<file#>-<frame#>: one byte naming the link type (the index into
 * fuzz_decode's table), one byte 0 (wirelen = caplen), then the frame.
 * Captures with other link types are skipped.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* u_char in pcap.h under -std=c11; memfd_create */
#endif
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>

static const int seed_linktypes[] = {1, 12, 101, 228, 229, 0, 108, 113, 276, 147};

int main(int argc, char **argv)
{
    int i, written = 0;
    if (argc < 3) {
        fprintf(stderr, "usage: seed_frames OUTDIR CAPTURE...\n");
        return 2;
    }
    for (i = 2; i < argc; i++) {
        char err[PCAP_ERRBUF_SIZE];
        pcap_t *p = pcap_open_offline(argv[i], err);
        struct pcap_pkthdr *h;
        const u_char *d;
        int idx = -1, k, n = 0;
        if (!p)
            continue;
        for (k = 0; k < (int)(sizeof seed_linktypes / sizeof seed_linktypes[0]); k++)
            if (seed_linktypes[k] == pcap_datalink(p))
                idx = k;
        while (idx >= 0 && n < 64 && pcap_next_ex(p, &h, &d) == 1) {
            char path[4096];
            FILE *f;
            unsigned char hdr[2] = {(unsigned char)idx, 0};
            snprintf(path, sizeof path, "%s/%d-%d", argv[1], i, n++);
            f = fopen(path, "wb");
            if (!f)
                continue;
            fwrite(hdr, 1, 2, f);
            fwrite(d, 1, h->caplen, f);
            fclose(f);
            written++;
        }
        pcap_close(p);
    }
    fprintf(stderr, "seed_frames: %d seeds\n", written);
    return 0;
}
