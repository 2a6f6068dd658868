/* frame_ref.h - frame numbers of a capture point made of several files.
 *
 * One host captured per interface (server-eth0.pcap, server-eth1.pcap) is
 * one capture point: its files are read merged by time (source_merge.h).
 * A packet's frame number must still say which file it is in, so a frame
 * of a merged point carries its file: bits 48..55 hold the file's index
 * + 1, the low 48 bits the frame number inside that file (Wireshark's and
 * tcpdump's, what the user finds when opening that file). A single file's
 * frame numbers have no file bits and read as before. No table per packet:
 * the number alone says where the frame is.
 *
 * A merged point's display name is its files' names joined by '+' (the
 * syntax that names it: "server-eth0.pcap+server-eth1.pcap"), so a
 * presenter that knows only the capture's name and a frame can cite
 * "server-eth1.pcap #3" (frame_ref_cite()).
 *
 * Interfaces: frames of a file that names no interface of its own
 * (Ethernet pcap, one file per interface) get ifindex
 * NL_POINT_IFX_BASE + file index, so per-interface rules (the SYN came in
 * on one interface, its SYN-ACK left by another: asymmetric_return) see
 * the files as the host's interfaces; frame_ref_ifx_file() names them.
 */
#ifndef NATLENS_FRAME_REF_H
#define NATLENS_FRAME_REF_H

#include <stddef.h>
#include <stdint.h>

#define NL_POINT_MAX_FILES    16   /* files in one capture point */
#define NL_FRAME_FILE_SHIFT   48
#define NL_FRAME_LOCAL_MASK   ((1ull << NL_FRAME_FILE_SHIFT) - 1)
/* Interface ids given to the files of a merged point: 48..63, so they fit
 * the 64-bit interface sets of diagnose and stay clear of the small
 * ifindexes of real hosts (lo 1, eth0 2, ...). */
#define NL_POINT_IFX_BASE     48

/* Frame `local` of file `file` (0-based, < NL_POINT_MAX_FILES). */
uint64_t frame_ref_make(unsigned file, uint64_t local);

/* The file index of a frame of a merged point, -1 for a single file. */
int frame_ref_file(uint64_t frame);

/* The frame number inside its file. */
uint64_t frame_ref_local(uint64_t frame);

/* The file index an interface id stands for (see above), -1 when ifx is
 * a real interface. */
int frame_ref_ifx_file(int32_t ifx);

/* The name of file `file` of the capture point named `capname` (files
 * joined by '+'), written to buf (always NUL-terminated). Returns 0, or -1
 * when capname has no such file (buf gets capname). */
int frame_ref_file_name(const char *capname, int file, char *buf, size_t len);

/* The interface a file's name suggests: the part between the last '-'
 * and the first '.' after it, when it looks like an interface name
 * (letters, digits, "_.@-"; at most 15 bytes; holds a digit: eth0, ens3,
 * bond0, wlan1) -- "eth1" for "server-eth1.pcap". A guess from a name:
 * say it as one. 0 with buf set, -1 when the name suggests none. */
int frame_ref_name_iface(const char *file, char *buf, size_t len);

/* "#3" for a frame of a single file; "server-eth1.pcap #3" for a frame of
 * a merged point (file name from capname). Writes buf (>= 2 bytes). */
void frame_ref_cite(const char *capname, uint64_t frame, char *buf, size_t len);

/* The capture column of an evidence line: the file the frame is in (for a
 * merged point), else capname itself. Returns capname or buf. */
const char *frame_ref_where(const char *capname, uint64_t frame, char *buf, size_t len);

#endif
