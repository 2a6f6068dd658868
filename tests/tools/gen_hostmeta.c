/* gen_hostmeta.c - a pcapng file as natlens-capture writes it, with the
 * host context given (any JSON, hostile included), for tests.
 *
 *   gen_hostmeta IN.pcap META.json OUT.pcapng [--drops RECV DROP]
 *
 * The packets of IN (read with libpcap) are written with natlens-capture's
 * own pcapng writer (capture/cap_pcapng.c): one SHB carrying META.json in
 * its custom options and as its comment, one IDB with IN's link type, the
 * packets as EPBs, and (with --drops) an Interface Statistics Block saying
 * RECV received and DROP dropped by the OS, as natlens-capture writes at
 * the end of a file.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../capture/cap_pcapng.h"
#include "natlens/hostmeta.h"

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long len;
    if (!f || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0) {
        if (f)
            fclose(f);
        return NULL;
    }
    rewind(f);
    buf = malloc((size_t)len + 1);
    if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
        fclose(f);
        free(buf);
        return NULL;
    }
    fclose(f);
    buf[len] = '\0';
    *n = (size_t)len;
    return buf;
}

int main(int argc, char **argv)
{
    char err[PCAP_ERRBUF_SIZE];
    struct pcap_pkthdr *h;
    const u_char *data;
    cap_pcapng w;
    pcap_t *p;
    size_t mlen;
    char *meta;
    unsigned long long recv = 0, drop = 0;
    int have_stats = 0, rc;

    if (argc != 4 && !(argc == 7 && !strcmp(argv[4], "--drops"))) {
        fprintf(stderr, "usage: gen_hostmeta IN.pcap META.json OUT.pcapng [--drops RECV DROP]\n");
        return 2;
    }
    if (argc == 7) {
        recv = strtoull(argv[5], NULL, 10);
        drop = strtoull(argv[6], NULL, 10);
        have_stats = 1;
    }
    if (!(meta = slurp(argv[2], &mlen))) {
        fprintf(stderr, "gen_hostmeta: cannot read %s\n", argv[2]);
        return 2;
    }
    while (mlen && (meta[mlen - 1] == '\n' || meta[mlen - 1] == ' '))
        meta[--mlen] = '\0';
    if (!(p = pcap_open_offline_with_tstamp_precision(argv[1], PCAP_TSTAMP_PRECISION_NANO, err))) {
        fprintf(stderr, "gen_hostmeta: %s\n", err);
        return 2;
    }
    if (cap_pcapng_open(&w, argv[3]) != 0 ||
        cap_pcapng_shb(&w, mlen <= 65000 ? meta : NULL, NULL, "Linux", "gen_hostmeta",
                       NL_HOSTMETA_PEN, NL_HOSTMETA_TAG, NL_HOSTMETA_TAG_LEN, meta, mlen) != 0 ||
        cap_pcapng_idb(&w, pcap_datalink(p), 262144, "any", NULL, "Linux") != 0) {
        fprintf(stderr, "gen_hostmeta: %s: cannot write\n", argv[3]);
        return 2;
    }
    while ((rc = pcap_next_ex(p, &h, &data)) == 1)
        cap_pcapng_epb(&w, 0, (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec,
                       h->caplen, h->len, data);
    if (have_stats) {
        cap_pcapng_stats st;
        memset(&st, 0, sizeof st);
        st.ifrecv = recv;
        st.osdrop = drop;
        st.usrdeliv = recv - drop;
        cap_pcapng_isb(&w, 0, &st);
    }
    pcap_close(p);
    free(meta);
    return cap_pcapng_close(&w) == 0 ? 0 : 2;
}
