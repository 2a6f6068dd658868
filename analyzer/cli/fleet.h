/* fleet.h - `natlens fleet` pieces shared by cmd_fleet.c and fleet_ch.c.
 * Not part of the library. */
#ifndef NATLENS_FLEET_H
#define NATLENS_FLEET_H

#include <stddef.h>
#include <stdio.h>

/* The SQL of analyzer/sql/clickhouse/, made into C strings at build time
 * (Makefile: $(BUILD)/gen/fleet_sql.c). */
extern const char fleet_sql_schema[];
extern const char fleet_sql_pair[];
extern const char fleet_sql_egress[];

/* A ClickHouse server, reached through clickhouse-client. host and port
 * are checked by fleet_ch_target() before any use. */
typedef struct fleet_ch {
    char host[256];
    char port[8];
} fleet_ch;

/* Parse "HOST:PORT", "HOST" or "[IPV6]:PORT" (port 9000 when left out):
 * a host of letters, digits, '.', '-', ':' only (it becomes one argv
 * word, never shell text), a port 1..65535. 0, or -1 with a message on
 * stderr. */
int fleet_ch_target(fleet_ch *c, const char *spec);

/* Run clickhouse-client against c with the fixed arguments args (NULL
 * terminated; never built from file contents). When in_path is not NULL
 * its bytes are the client's standard input, else in_text is (or
 * nothing). Standard output goes to out (NULL: discarded). The client's
 * stderr is shown on ours with control bytes escaped. Returns the
 * client's exit status, or -1 when it could not be started. */
int fleet_ch_run(const fleet_ch *c, const char *const *args, const char *in_text,
                 const char *const *in_paths, size_t npaths, FILE *out);

#endif
