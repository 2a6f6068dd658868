/* test_timefmt.c - times and durations for people (timefmt.h), counted
 * nouns (plural.h), the JSON time twins and shortest doubles (json.h).
 *
 * The date is shown exactly when the capture does not start today or does
 * not end on its first day; local time follows TZ and names the zone;
 * durations switch to d/h/m/s; json_ts writes "X_ns" beside "X_ts". */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "natlens/json.h"
#include "natlens/plural.h"
#include "natlens/timefmt.h"
#include "unit.h"

#define S ((uint64_t)1000000000)

static int streq(const char *a, const char *b)
{
    if (strcmp(a, b) != 0) {
        fprintf(stderr, "  got '%s', want '%s'\n", a, b);
        return 0;
    }
    return 1;
}

static void test_utc(void)
{
    nl_timefmt tf;
    char b[128];
    /* modbus-rst.pcap: 2004-08-26 12:12:06 .. 2023-07-08 20:25:57 */
    uint64_t t0 = 1093522326ull * S + 102435000, t1 = 1688847957ull * S + 247196000;
    timefmt_init(&tf, 0, t0, t1, 1800000000);
    CHECK(tf.date == 1);
    CHECK(streq(tf.zone, "UTC"));
    CHECK(streq(timefmt_time(&tf, t0, 6, b, sizeof b), "2004-08-26 12:12:06.102435"));
    CHECK(streq(timefmt_span(&tf, t0, t1, " -> ", b, sizeof b),
                "2004-08-26 12:12:06 -> 2023-07-08 20:25:57 UTC (6890d 08h 13m 51s)"));
    /* today, within one day: no date */
    timefmt_init(&tf, 0, 1800000000ull * S, 1800000100ull * S, 1800003600);
    CHECK(tf.date == 0);
    CHECK(streq(timefmt_time(&tf, 1800000000ull * S + 999999999, 3, b, sizeof b), "08:00:00.999"));
    CHECK(streq(timefmt_time(&tf, 1800000000ull * S, 0, b, sizeof b), "08:00:00"));
    /* today, but across midnight UTC: the date */
    timefmt_init(&tf, 0, 1799971200ull * S - S, 1799971200ull * S + S, 1799971300);
    CHECK(tf.date == 1);
    /* another day, a short capture: the date, once */
    timefmt_init(&tf, 0, 1800000000ull * S, 1800000001ull * S, 1800000000 + 2 * 86400);
    CHECK(tf.date == 1);
    CHECK(streq(timefmt_span(&tf, 1800000000ull * S, 1800000061ull * S, " -> ", b, sizeof b),
                "2027-01-15 08:00:00 -> 08:01:01 UTC (1m 01s)"));
}

static void test_local(void)
{
    nl_timefmt tf;
    char b[64];
    setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);   /* POSIX rule: no zoneinfo needed */
    tzset();
    timefmt_init(&tf, 1, 1800000000ull * S, 1800000000ull * S, 1800000000);
    CHECK(tf.date == 0);
    /* 2027-01-15 08:00:00 UTC is 09:00 in Berlin (CET, winter) */
    CHECK(streq(timefmt_time(&tf, 1800000000ull * S, 0, b, sizeof b), "09:00:00"));
    CHECK(streq(tf.zone, "CET"));
    setenv("TZ", "UTC", 1);
    tzset();
}

static void test_duration(void)
{
    char b[64];
    CHECK(streq(timefmt_duration(0, b, sizeof b), "0.000s"));
    CHECK(streq(timefmt_duration(312000, b, sizeof b), "0.000312s"));
    CHECK(streq(timefmt_duration(4512000000ull, b, sizeof b), "4.512s"));
    CHECK(streq(timefmt_duration(245 * S, b, sizeof b), "4m 05s"));
    CHECK(streq(timefmt_duration(11045 * S, b, sizeof b), "3h 04m 05s"));
    CHECK(streq(timefmt_duration(595325631 * S, b, sizeof b), "6890d 08h 13m 51s"));
}

static void test_plural(void)
{
    char b[32];
    CHECK(streq(plural_count(1, "flow", "flows", b, sizeof b), "1 flow"));
    CHECK(streq(plural_count(0, "flow", "flows", b, sizeof b), "0 flows"));
    CHECK(streq(plural_count(3, "connection", "connections", b, sizeof b), "3 connections"));
    CHECK(streq(plural_word(1, "was", "were"), "was"));
}

static void test_json(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    nl_json j;
    json_init(&j, f, 0);
    json_obj_begin(&j, NULL);
    json_schema(&j);
    json_ts(&j, "first_ts", 1795323366004705001ull);
    json_ts(&j, "ts", 5 * S);
    json_arr_begin(&j, "a");
    json_ts(&j, NULL, 7);
    json_arr_end(&j);
    json_double_shortest(&j, "d", 0.156);
    json_double_shortest(&j, "e", 1284385411.03556);
    json_double_shortest(&j, "g", 2.0);
    json_obj_end(&j);
    fclose(f);
    CHECK(streq(buf, "{\"schema\":2,\"first_ts\":1795323366.004705001,\"first_ns\":1795323366004705001,"
                     "\"ts\":5.000000000,\"ts_ns\":5000000000,\"a\":[0.000000007],"
                     "\"d\":0.156,\"e\":1284385411.03556,\"g\":2.0}"));
    free(buf);
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    test_utc();
    test_local();
    test_duration();
    test_plural();
    test_json();
    return UNIT_END();
}
