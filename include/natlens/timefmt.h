/* timefmt.h - capture times and durations for people.
 *
 * One way to show times everywhere natlens prints them as text: UTC by
 * default, local time (TZ) on request, the zone always named, the date
 * only when it is needed (a capture from another day, or one that spans
 * midnight), durations in d/h/m/s. JSON and CSV keep epoch numbers.
 * Nothing here allocates; an nl_timefmt is a plain value.
 */
#ifndef NATLENS_TIMEFMT_H
#define NATLENS_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

typedef struct nl_timefmt {
    int  local;       /* local time (TZ) instead of UTC */
    int  date;        /* show the date with every time */
    char zone[16];    /* "UTC", or the local zone's name at the first time */
} nl_timefmt;

/* How to show the times of a span [first_ns, last_ns]: with the date when
 * the span does not start today (in the zone shown) or does not end on the
 * day it starts. now_s is the current time (time(NULL); a parameter so a
 * test can pin it). */
void timefmt_init(nl_timefmt *tf, int local, uint64_t first_ns, uint64_t last_ns, int64_t now_s);

/* "12:12:06.102435" or, with the date, "2011-03-18 12:12:06.102435";
 * decimals 0..9 digits of the second. buf >= 40. Returns buf. */
char *timefmt_time(const nl_timefmt *tf, uint64_t ns, int decimals, char *buf, size_t len);

/* "0.000312s", "4.512s", "4m 05s", "3h 04m 05s", "6890d 11h 13m 51s":
 * seconds with 3 decimals below a minute (6 below 10 ms), then whole
 * units. buf >= 32. Returns buf. */
char *timefmt_duration(uint64_t ns, char *buf, size_t len);

/* "12:12:06 → 20:25:57 UTC (8h 13m 51s)", the date in front when tf
 * says so (the end's only when it is another day); arrow is the
 * separator (" → " or " -> "). buf >= 96. */
char *timefmt_span(const nl_timefmt *tf, uint64_t first_ns, uint64_t last_ns, const char *arrow,
                   char *buf, size_t len);

#endif
