/* test_report.c - the report's small pieces that every format relies on:
 * escaping (HTML, Markdown cells, fences), format names, the file sha256.
 * (Redaction: test_redact.c.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "natlens/report.h"
#include "../../analyzer/report_int.h"

static int failures;

#define CHECK(cond, ...) do { if (!(cond)) { failures++; fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

typedef void (*esc_fn)(FILE *, const char *);

static char *run_esc(esc_fn fn, const char *s)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&buf, &n);
    fn(m, s);
    fclose(m);
    return buf;
}

static void expect_esc(esc_fn fn, const char *name, const char *in, const char *want)
{
    char *got = run_esc(fn, in);
    CHECK(!strcmp(got, want), "%s(%s): got '%s', want '%s'", name, in, got, want);
    free(got);
}

static void test_escape(void)
{
    expect_esc(report_html_esc, "html", "<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;");
    expect_esc(report_html_esc, "html", "a&b \"q\" 'x'", "a&amp;b &quot;q&quot; &#39;x&#39;");
    expect_esc(report_html_esc, "html", "line\nbreak\x01", "line break\\x01");
    expect_esc(report_html_esc, "html", "caf\xc3\xa9 \xff", "caf\xc3\xa9 \\xff");
    expect_esc(report_md_esc, "md", "a|b `c` *d* _e_ [f](g) <h>", "a\\|b \\`c\\` \\*d\\* \\_e\\_ \\[f\\](g) &lt;h&gt;");
    expect_esc(report_md_esc, "md", "x\\|y", "x\\\\\\|y");
    expect_esc(report_fence_esc, "fence", "```end `x`\n", "'''end 'x' ");
    /* C1 controls (CSI U+009B) and bidi formatting characters (RLO U+202E,
     * FSI U+2068, RLM U+200F) are made visible, not passed through: they
     * reorder or hide text in a browser or a terminal (#13 item 3) */
    expect_esc(report_html_esc, "html", "a\xc2\x9b" "31mb", "a\\u009b31mb");
    expect_esc(report_html_esc, "html", "evil\xe2\x80\xae" "gpj.exe", "evil\\u202egpj.exe");
    expect_esc(report_md_esc, "md", "x\xe2\x81\xa8y\xe2\x80\x8fz", "x\\u2068y\\u200fz");
    expect_esc(report_fence_esc, "fence", "\xc2\x85\x7f\xe2\x80\xad", "\\u0085\\x7f\\u202d");
    expect_esc(report_html_esc, "html", "caf\xc3\xa9 \xe2\x86\x92 ok", "caf\xc3\xa9 \xe2\x86\x92 ok");
}

static void test_formats(void)
{
    CHECK(report_format_from_name("out/incident.html") == NL_REPORT_HTML, "html");
    CHECK(report_format_from_name("x.MD") == NL_REPORT_MD, "md");
    CHECK(report_format_from_name("json") == NL_REPORT_JSON, "json");
    CHECK(report_format_from_name("markdown") == NL_REPORT_MD, "markdown");
    CHECK(report_format_from_name("x.txt") == -1, "txt");
    CHECK(report_format_from_name("dir.html/file") == -1, "dir.html/file");
}

static void test_sha256(void)
{
    char path[] = "/tmp/natlens-test-report-XXXXXX", hex[65], err[256];
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fputs("abc", f);
    fclose(f);
    CHECK(report_sha256_file(path, hex, err) == 0, "sha256: %s", err);
    CHECK(!strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"), "sha256(abc) = %s", hex);
    remove(path);
    CHECK(report_sha256_file(path, hex, err) == -1 && strstr(err, path), "missing file: %s", err);
}

int main(void)
{
    test_escape();
    test_formats();
    test_sha256();
    if (failures) {
        fprintf(stderr, "%d failures\n", failures);
        return 1;
    }
    puts("test_report: ok");
    return 0;
}
