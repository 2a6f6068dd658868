/* redact.h - --redact: what a shared output must not give away, and the
 * one place where it is replaced (report, correlate and flows all use it).
 *
 * Replaced, the same original by the same placeholder throughout one
 * document:
 *   addresses   inner ones -> "inner-N": private and local ranges (RFC 1918,
 *               RFC 6598 CGNAT, link-local, loopback, IPv6 ULA and
 *               link-local, v4-mapped forms too) everywhere, and with two or
 *               more captures the client side's own addresses (originators
 *               at capture 0, the egress table's inner hosts) even when
 *               public. Kept: every other public address, and the address a
 *               NAT translated to (egress_ip when it differs from the inner
 *               host): that is the answer a user shares.
 *   MACs        unicast MACs -> "mac-N" (broadcast, multicast and zero MACs
 *               say nothing about a host and stay).
 *   Community ID  every "1:<base64>" value -> "redacted" (a hash of the real
 *               tuple: over a private range it is brute-forced in seconds).
 *   files       path and base name of input i -> "capture-<i+1>.<ext>"
 *               ("records-<i+1>.<ext>" for a record file): the directory
 *               and the name a user gave it can name people and sites.
 *   host context  hostname -> "host-N", kernel string -> "kernel-N",
 *               session label -> "session-N" (from natlens-capture's
 *               metadata and from probes), interface names that are not a
 *               kernel or udev default -> "if-N" (eth0, ens3, enp0s31f6, wlp2s0,
 *               veth*, br0, lo, any... stay: they name hardware, not the
 *               site; enx<MAC> names carry the MAC and are replaced).
 *   records     VM names -> "vm-N", Cloud NAT gateway and router names ->
 *               "nat-gateway-N" / "cloud-router-N", interface ids (AWS ENI,
 *               GCP subnet, Azure NIC MAC) -> "if-N"; regions stay.
 * Numbers: names known before the first lookup are sorted and numbered
 * (addresses and MACs by value, files by input index), so an address has
 * the same name in every section and every format of the same input;
 * anything met later is numbered in order of appearance. A placeholder
 * that equals a learned original is skipped.
 *
 * Learned strings are found in text at word boundaries (not inside a
 * longer name), raw and in the forms the output escapes them to (JSON and
 * terminal escapes built in; a presenter adds its own with
 * redact_add_escaper()). Free text skips names shorter than 3 characters
 * and names that are natlens's own words ("client", "server", "nat"...):
 * replacing them would garble every sentence; presenters that print a host
 * field directly ask redact_str() instead.
 *
 * Not redacted: standard error (warnings name files); payload bytes are the
 * presenters' business (the report drops its payload previews).
 *
 * Lifetime: an nl_redact copies what it learns; it borrows nothing after a
 * call returns. Not thread-safe (lookups may add names).
 */
#ifndef NATLENS_REDACT_H
#define NATLENS_REDACT_H

#include <stddef.h>
#include <stdio.h>
#include "natlens/correlate.h"
#include "natlens/trace.h"

typedef struct nl_redact nl_redact;

/* redact_fopen() / redact_write() flags. */
enum {
    /* Text tables: a replacement that changes a cell's width is made up in
     * the next run of two or more spaces on the line, so columns stay
     * aligned (a run shrinks to one space at least). */
    NL_REDACT_COLUMNS = 1
};

/* A new, empty map (NULL when out of memory). Free with redact_free(). */
nl_redact *redact_new(void);
void redact_free(nl_redact *rd);

/* Learning, before the output is written (later calls work too, their
 * names are numbered in order). Each returns 0, or -1 out of memory. */

/* Input `index` is the file at `path` ("capture-N"/"records-N" placeholder
 * for the path and its base name). */
int redact_learn_file(nl_redact *rd, size_t index, const char *path, int is_record);
/* Everything of trace t, input `index`: its file, the inner addresses and
 * MACs of its flows and kept packets (client_side: every originator
 * address too), its host context, probe sessions and interfaces, record
 * names. */
int redact_learn_trace(nl_redact *rd, nl_trace *t, size_t index, int client_side);
/* Every input of c (capture 0 is the client side when there are two or
 * more), the egress table's inner hosts; the translated egress addresses
 * are kept. */
int redact_learn_correlation(nl_redact *rd, const nl_correlation *c);
/* natlens-capture's host context document (hostmeta.h): hostname, kernel,
 * session, interface names, MACs and inner addresses. NULL is fine; a
 * document that does not parse teaches nothing. */
int redact_learn_hostmeta(nl_redact *rd, const char *json);

/* The output also writes learned strings as esc() writes them (HTML,
 * Markdown): find them in that form too. esc must write to the FILE only. */
int redact_add_escaper(nl_redact *rd, void (*esc)(FILE *f, const char *s));

/* Lookups. */

/* Is the address in a private / local range (see above)? */
int redact_addr_is_inner(const nl_addr *a);
/* Placeholder of a, or NULL when a is kept. Valid while rd lives. */
const char *redact_addr_name(nl_redact *rd, const nl_addr *a);
/* a as the redacted output shows it: the placeholder or the address. */
const char *redact_addr_str(nl_redact *rd, const nl_addr *a, char *buf, size_t len);
/* Placeholder of a learned string (a host field, a file name), compared
 * whole, or NULL. Valid while rd lives. */
const char *redact_str(nl_redact *rd, const char *s);
/* Placeholder file name of input index, NULL when not learned. */
const char *redact_file(nl_redact *rd, size_t index);

/* Text. */

/* Copy s[0..n) to out with everything above replaced. flags:
 * NL_REDACT_COLUMNS. Returns 0, or -1 on a write error. */
int redact_write(nl_redact *rd, const char *s, size_t n, FILE *out, int flags);
/* s with everything replaced, malloc'd (caller frees); NULL out of memory. */
char *redact_strdup(nl_redact *rd, const char *s);
/* A FILE that redacts what is written to it and passes it on to out, a
 * line at a time (memory: one line, at most 64 KiB + the longest learned
 * string held back). rd must outlive it; fclose() flushes the rest to out
 * and leaves out open. NULL when out of memory. */
FILE *redact_fopen(nl_redact *rd, FILE *out, int flags);

#endif
