/* zeek_log.h - flows as Zeek's conn.log, in Zeek's ASCII (TSV) or JSON
 * form, so zeek-cut and every Zeek pipeline (RITA, the Elastic and Splunk
 * Zeek integrations) read natlens output as they read Zeek's.
 *
 * Columns are Zeek's conn.log with the Community ID policy script loaded
 * (ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto service duration
 * orig_bytes resp_bytes conn_state local_orig local_resp missed_bytes
 * history orig_pkts orig_ip_bytes resp_pkts resp_ip_bytes tunnel_parents
 * community_id), formatted as Zeek's writers format them (see zeek_log.c).
 * Flows of IP protocols other than TCP, UDP and ICMP are not logged (Zeek
 * logs them only with an ip_proto column, which this layout has not).
 *
 * The writer keeps no flow: zeek_log_flow() can be called as flows end
 * (streaming) or over a finished table.
 */
#ifndef NATLENS_ZEEK_LOG_H
#define NATLENS_ZEEK_LOG_H

#include <stdint.h>
#include <stdio.h>
#include "natlens/flow.h"
#include "natlens/tunnel.h"

/* Zeek's default Site::local_nets (private_address_space, copied into
 * local_nets because private_address_space_is_local = T). */
#define NL_ZEEK_LOCAL_NETS 37

typedef struct nl_zeek_log {
    FILE    *out;
    int      json;            /* Zeek JSON lines instead of TSV */
    uint16_t cid_seed;        /* Community ID seed */
    uint8_t  uid_salt[8];     /* from the capture's name: uids differ per capture */
    int      header_done;
    struct { uint8_t b[16]; uint8_t bits; } local[NL_ZEEK_LOCAL_NETS];
    /* the capture's tunnels (the trace's table), for tunnel_parents; set
     * by the caller after zeek_log_init, NULL: the column stays unset */
    const nl_tunnel_table *tunnels;
} nl_zeek_log;

/* Start a log on `out` (not owned; stays open). The base name of
 * capture_name (may be NULL) salts the uids so two captures do not share
 * one; the same capture and flow always give the same uid. Writes nothing
 * yet. */
void zeek_log_init(nl_zeek_log *z, FILE *out, int json, uint16_t cid_seed,
                   const char *capture_name);

/* One conn.log row for f (the TSV header first, once). Flows of other IP
 * protocols are skipped. */
void zeek_log_flow(nl_zeek_log *z, const nl_flow *f);

/* End the log: the header if no row was written, then "#close" (TSV). */
void zeek_log_close(nl_zeek_log *z);

/* Zeek-like uid of f: "C" and 17 base62 characters, a hash of the salt
 * and the flow's first packet and 5-tuple. buf >= 19. Returns buf. */
char *zeek_log_uid(const nl_zeek_log *z, const nl_flow *f, char *buf, size_t len);

/* Whether a is in Zeek's default local networks (local_orig/local_resp). */
int zeek_log_is_local(const nl_zeek_log *z, const nl_addr *a);

#endif
