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

/* ---- by hand: text output formats a time and a duration for every flow;
 * gmtime_r (it takes the time zone lock) and snprintf made that most of
 * the cost of `flows`. Each function below prints what the snprintf next
 * to it prints. ---- */

/* w digits of v, zero-padded (w <= 20) */
static char *tf_digits(char *o, uint64_t v, int w)
{
    for (int i = w - 1; i >= 0; i--, v /= 10)
        o[i] = (char)('0' + v % 10);
    return o + w;
}

/* v without padding */
static char *tf_u64(char *o, uint64_t v)
{
    int w = 1;
    for (uint64_t x = v; x >= 10; x /= 10)
        w++;
    return tf_digits(o, v, w);
}

/* civil date of a day count since 1970-01-01 (H. Hinnant's algorithm,
 * the proleptic Gregorian calendar gmtime_r uses) */
static void tf_civil(uint64_t days, uint64_t *y, unsigned *m, unsigned *d)
{
    uint64_t z = days + 719468, era = z / 146097, doe = z - era * 146097;
    uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* UTC "YYYY-MM-DD HH:MM:SS.fff" (date optional) when buf holds it */
static int tf_utc(const nl_timefmt *tf, uint64_t ns, int decimals, char *buf, size_t len)
{
    uint64_t s = ns / NS_PER_S, frac = ns % NS_PER_S, y;
    unsigned sod = (unsigned)(s % 86400), mo, d;
    char *o = buf;
    if (len < 40)
        return 0;
    if (tf->date) {
        tf_civil(s / 86400, &y, &mo, &d);
        o = y < 10000 ? tf_digits(o, y, 4) : tf_u64(o, y);
        *o++ = '-';
        o = tf_digits(o, mo, 2);
        *o++ = '-';
        o = tf_digits(o, d, 2);
        *o++ = ' ';
    }
    o = tf_digits(o, sod / 3600, 2);
    *o++ = ':';
    o = tf_digits(o, sod / 60 % 60, 2);
    *o++ = ':';
    o = tf_digits(o, sod % 60, 2);
    if (decimals) {
        for (int i = decimals; i < 9; i++)
            frac /= 10;
        *o++ = '.';
        o = tf_digits(o, frac, decimals);
    }
    *o = '\0';
    return 1;
}

char *timefmt_time(const nl_timefmt *tf, uint64_t ns, int decimals, char *buf, size_t len)
{
    struct tm tm;
    char day[64] = "";
    uint64_t frac = ns % NS_PER_S;
    if (decimals < 0)
        decimals = 0;
    if (decimals > 9)
        decimals = 9;
    if (!tf->local && tf_utc(tf, ns, decimals, buf, len))
        return buf;
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

/* ns in seconds with `dec` decimals as "%.*f" of the double ns / 1e9
 * rounds it: by hand unless the remainder is a tie (then the double's own
 * error decides: snprintf). buf >= 32. */
static void tf_seconds(uint64_t ns, int dec, char *buf, size_t len)
{
    uint64_t unit = 1, q, r;
    char *o = buf;
    for (int i = dec; i < 9; i++)
        unit *= 10;
    q = ns / unit;
    r = ns % unit;
    if (len < 32 || (unit > 1 && r == unit / 2)) {
        snprintf(buf, len, "%.*fs", dec, (double)ns / 1e9);
        return;
    }
    if (unit > 1 && r > unit / 2)
        q++;
    {
        uint64_t pow = 1;
        for (int i = 0; i < dec; i++)
            pow *= 10;
        o = tf_u64(o, q / pow);
        *o++ = '.';
        o = tf_digits(o, q % pow, dec);
        *o++ = 's';
        *o = '\0';
    }
}

char *timefmt_duration(uint64_t ns, char *buf, size_t len)
{
    uint64_t s = ns / NS_PER_S;
    if (s < 60 && len >= 32) {
        /* "%.6fs" below 10 ms (0.01 s is 10000000 ns exactly as a double
         * comparison: v < 0.01 holds for ns < 10000000) */
        tf_seconds(ns, ns && ns < 10000000 ? 6 : 3, buf, len);
    } else if (s < 60) {
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
