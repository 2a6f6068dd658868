/* cap.h - natlens-capture internals shared between its files.
 *
 * cap_main.c parses the command line and dispatches; cap_live.c runs a live
 * capture (libpcap) into pcapng files written by cap_pcapng.c, with host
 * metadata from cap_meta.c; cap_probe.c sends marked probes (libnet). */
#ifndef NATLENS_CAP_H
#define NATLENS_CAP_H

#include <stddef.h>
#include <stdint.h>

#define CAP_PROG            "natlens-capture"
#define CAP_DEFAULT_SNAPLEN 262144
#define CAP_MAX_NAME        64
/* The ring is TPACKET_V3 (not immediate mode: see cap_live.c), whose
 * blocks keep packets at their captured size. Measured on veth with
 * offloads on, a burst while the writer was stopped: 16 MiB held ~62000
 * packets of 142 bytes, ~10500 of 1442 bytes (libpcap's 2 MiB default, as
 * tcpdump uses it: 9024 and 1365). */
#define CAP_DEFAULT_BUFFER_KIB 16384

typedef struct cap_opts {
    const char *iface;         /* -i */
    const char *out;           /* -w; "-" for standard output */
    const char *role;          /* --role client|server|NAME */
    const char *session;       /* --session ID */
    const char *user;          /* -Z USER */
    char       *filter;        /* BPF expression (joined args), may be NULL */
    int         snaplen;       /* -s */
    int         promisc;       /* 1 unless -p */
    int         buffer_kib;    /* -B KiB */
    uint64_t    rotate_bytes;  /* --rotate-size MB (0 = off) */
    uint64_t    rotate_secs;   /* --rotate-seconds / -G (0 = off) */
    unsigned    keep;          /* --keep N (0 = keep all) */
    uint64_t    count;         /* -c (0 = unlimited) */
    int         quiet;         /* -q: no "listening on" line */
    int         conntrack;     /* --conntrack: conntrack events into the file */
    unsigned    ct_buffer_kib; /* --conntrack-buffer KiB (0: the default) */
} cap_opts;

/* Live capture until SIGINT/SIGTERM/-c. Returns the exit status. */
int cap_live_run(const cap_opts *o);

/* --conntrack (cap_conntrack.c): the namespace's conntrack events as
 * pcapng Custom Blocks (layout: natlens/ctev.h). */
typedef struct cap_ct cap_ct;
struct cap_pcapng;
/* Listen to NEW, UPDATE and DESTROY events in the current network
 * namespace (call before dropping privileges) with a socket receive buffer
 * of buffer_kib KiB (0: 8 MiB); turns on nf_conntrack_timestamp there when
 * it is off. NULL after a message on stderr when it cannot. Free with
 * cap_ct_close(). */
cap_ct *cap_ct_open(int quiet, unsigned buffer_kib);
/* The descriptor to poll (non-blocking), -1 for NULL. */
int cap_ct_fd(const cap_ct *c);
/* Write the pending events (at most one round's worth, never blocks) into
 * w, a LOSS block where the kernel dropped some. Returns the number of
 * events written, or -1 when writing into w failed (w->err). NULL: 0. */
int cap_ct_drain(cap_ct *c, struct cap_pcapng *w);
/* START block after a file's header blocks; END block before its close.
 * 0 or -1 (w->err). NULL: 0, nothing written. */
int cap_ct_file_start(cap_ct *c, struct cap_pcapng *w);
int cap_ct_file_end(cap_ct *c, struct cap_pcapng *w);
/* The counters on stderr, as tcpdump prints its own (NULL: nothing). */
void cap_ct_summary(const cap_ct *c);
void cap_ct_close(cap_ct *c);

/* `natlens-capture probe ...`: argv[0] is "probe". Returns exit status. */
int cap_probe_main(int argc, char **argv);

/* Host metadata as one JSON document (see hostmeta.h for the keys).
 * Returns a malloc'd NUL-terminated string, or NULL on out-of-memory.
 * Never fails for missing tools: what cannot be read is null plus an entry
 * in "errors". Runs external commands (ip, iptables-save) with a timeout. */
typedef struct cap_meta_opts {
    const char *role, *session, *iface, *filter;
    int snaplen, linktype;
    uint64_t start_ns;
    unsigned file_index;       /* rotation index of the file it goes into,
                                  CAP_META_NO_INDEX: left out (added later) */
} cap_meta_opts;
#define CAP_META_NO_INDEX 0xffffffffu
char *cap_meta_collect(const cap_meta_opts *o);

/* cap_bg.c: rotation work off the capture loop (fsync + close of finished
 * files, host context collected ahead). Start after privileges are
 * dropped, with the first document (collected with CAP_META_NO_INDEX;
 * owned by the worker from then on). NULL when the thread cannot start:
 * the caller keeps first_doc and does the work itself. */
typedef struct cap_bg cap_bg;
cap_bg *cap_bg_start(const cap_meta_opts *mo, char *first_doc);
/* The newest complete document with "file_index" set (malloc'd, the
 * caller frees it), or NULL when none could be collected; never waits.
 * Asks for a fresh one for the next file. */
char *cap_bg_meta(cap_bg *b, unsigned file_index);
/* fsync and close fd in the background: 0, or -1 when the queue is full
 * (the caller closes it). */
int cap_bg_retire(cap_bg *b, int fd);
/* Finish pending fsyncs, end the thread, free. NULL is fine. */
void cap_bg_stop(cap_bg *b);

/* Append s as a JSON string literal (escaped) to a malloc'd buffer. */
typedef struct cap_sb {
    char  *p;
    size_t n, cap;
    int    oom;
} cap_sb;
void cap_sb_raw(cap_sb *b, const char *s, size_t n);
void cap_sb_puts(cap_sb *b, const char *s);
void cap_sb_printf(cap_sb *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void cap_sb_str(cap_sb *b, const char *s, size_t n);   /* quoted, escaped */

/* Current CLOCK_REALTIME in ns. */
uint64_t cap_now_ns(void);

#endif
