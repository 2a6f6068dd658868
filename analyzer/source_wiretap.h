/* source_wiretap.h - the second packet backend of source.c: Wireshark's
 * capture-file library (libwiretap), for the pcapng files libpcap 1.10
 * cannot read to the end. Internal to the library: callers use source.h
 * (source_open_wiretap()).
 */
#ifndef NATLENS_SOURCE_WIRETAP_H
#define NATLENS_SOURCE_WIRETAP_H

#include <stdint.h>
#include "natlens/decode.h"

typedef struct nl_wtap nl_wtap;

/* Open the regular pcapng file `path` (only pcapng: anything else is
 * libpcap's to read or to refuse). NULL with errbuf (>= 512) filled. */
nl_wtap *source_wiretap_open(const char *path, char *errbuf);

/* The next packet: 1 with *pkt decoded (ts_ns, frame, file_off, linktype,
 * caplen, wirelen set; ifindex = the pcapng interface id when the frame
 * names none) and *bytes valid until the next call; 0 at the end; -1 at
 * damage (source_wiretap_warning()). Records that are not packets (custom
 * blocks, ...) are skipped but counted in frame numbers, as Wireshark
 * numbers them. */
int source_wiretap_next(nl_wtap *w, nl_packet *pkt, const uint8_t **bytes, int verify_csum);

int source_wiretap_linktype(const nl_wtap *w);   /* the first packet's DLT */
int source_wiretap_is_pcapng(const nl_wtap *w);
int64_t source_wiretap_size(const nl_wtap *w);
int64_t source_wiretap_offset(const nl_wtap *w);
uint64_t source_wiretap_damage_offset(const nl_wtap *w);
const char *source_wiretap_warning(const nl_wtap *w);
void source_wiretap_close(nl_wtap *w);

#endif
