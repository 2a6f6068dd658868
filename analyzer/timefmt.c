/* timefmt.c - capture times and durations for people (see timefmt.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "natlens/timefmt.h"

#define NS_PER_S ((uint64_t)1000000000)

static void timefmt_tm(int local, int64_t s, struct tm *tm)
{
    time_t t = (time_t)s;
    if (local)
        localtime_r(&t, tm);
    else
        gmtime_r(&t, tm);
}

static int timefmt_same_day(const struct tm *a, const struct tm *b)
{
    return a->tm_year == b->tm_year && a->tm_yday == b->tm_yday;
}

void timefmt_init(nl_timefmt *tf, int local, uint64_t first_ns, uint64_t last_ns, int64_t now_s)
{
    struct tm a, b, now;
    memset(tf, 0, sizeof *tf);
    tf->local = local;
    timefmt_tm(local, (int64_t)(first_ns / NS_PER_S), &a);
    timefmt_tm(local, (int64_t)(last_ns / NS_PER_S), &b);
    timefmt_tm(local, now_s, &now);
    tf->date = !timefmt_same_day(&a, &now) || !timefmt_same_day(&a, &b);
    if (!local || !strftime(tf->zone, sizeof tf->zone, "%Z", &a) || !tf->zone[0])
        snprintf(tf->zone, sizeof tf->zone, "%s", local ? "local" : "UTC");
}

char *timefmt_time(const nl_timefmt *tf, uint64_t ns, int decimals, char *buf, size_t len)
{
    struct tm tm;
    char day[64] = "";
    uint64_t frac = ns % NS_PER_S;
    timefmt_tm(tf->local, (int64_t)(ns / NS_PER_S), &tm);
    if (tf->date)
        snprintf(day, sizeof day, "%04d-%02d-%02d ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    if (decimals < 0)
        decimals = 0;
    if (decimals > 9)
        decimals = 9;
    for (int i = decimals; i < 9; i++)
        frac /= 10;          /* truncate: a time never rounds into the next second */
    if (decimals)
        snprintf(buf, len, "%s%02d:%02d:%02d.%0*llu", day, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 decimals, (unsigned long long)frac);
    else
        snprintf(buf, len, "%s%02d:%02d:%02d", day, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf;
}

char *timefmt_duration(uint64_t ns, char *buf, size_t len)
{
    uint64_t s = ns / NS_PER_S;
    if (s < 60) {
        double v = (double)ns / 1e9;
        snprintf(buf, len, v < 0.01 && ns ? "%.6fs" : "%.3fs", v);
    } else if (s < 3600) {
        snprintf(buf, len, "%llum %02llus", (unsigned long long)(s / 60), (unsigned long long)(s % 60));
    } else if (s < 86400) {
        snprintf(buf, len, "%lluh %02llum %02llus", (unsigned long long)(s / 3600),
                 (unsigned long long)(s / 60 % 60), (unsigned long long)(s % 60));
    } else {
        snprintf(buf, len, "%llud %02lluh %02llum %02llus", (unsigned long long)(s / 86400),
                 (unsigned long long)(s / 3600 % 24), (unsigned long long)(s / 60 % 60),
                 (unsigned long long)(s % 60));
    }
    return buf;
}

char *timefmt_span(const nl_timefmt *tf, uint64_t first_ns, uint64_t last_ns, const char *arrow,
                   char *buf, size_t len)
{
    char a[40], b[40], d[32];
    nl_timefmt end = *tf;
    struct tm ta, tb;
    /* the end's date only when it is another day */
    timefmt_tm(tf->local, (int64_t)(first_ns / NS_PER_S), &ta);
    timefmt_tm(tf->local, (int64_t)(last_ns / NS_PER_S), &tb);
    if (timefmt_same_day(&ta, &tb))
        end.date = 0;
    timefmt_time(tf, first_ns, 0, a, sizeof a);
    timefmt_time(&end, last_ns, 0, b, sizeof b);
    timefmt_duration(last_ns > first_ns ? last_ns - first_ns : 0, d, sizeof d);
    snprintf(buf, len, "%s%s%s %s (%s)", a, arrow, b, tf->zone, d);
    return buf;
}
