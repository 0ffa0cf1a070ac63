/* test_api_pdf.c — GET /api/recordings/{id}/export.pdf through a real ecgnetd: a 12-lead recording
 * streamed by a simulated device, read and signed by a cardiologist, comes back as a one-page PDF
 * attachment drawn from the journal's first 10 s; refused like the other exports before signing
 * (409), without a session (401), to another site's clinic; every export audited. */
#include <pthread.h>
#include <strings.h>

#include <cairo.h>
#include <zlib.h>

#include "check.h"
#include "log.h"
#include "net_harness.h"
#include "report_pdf.h"
#include "server.h"

#define PW_CARD "correct horse battery"
#define PW_CLINIC "village clinic pw"
#define PW_OTHER "other village pw"
#define SITE_A "Test Township"
#define SITE_B "Other Village"

static char err[1536];

/* Leaks inside the libraries, not ecgnet's, reproduced by a 30-line pango + cairo program:
 * cairo 1.16 loses 768 bytes per PDF that embeds a CFF (CJK) font subset, inside
 * cairo_surface_finish; fontconfig loses about 300 bytes once while parsing its configuration.
 * The sanitizers read these hooks when the test starts (sanitizer builds only). */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:cairo_surface_finish\nleak:FcInitLoadConfigAndFonts\n"; }
/* Whole stacks for every allocation (the libraries have no frame pointers): without them the
 * suppressions above would not see those calls, and a broader one could hide a leak of ours. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "fast_unwind_on_malloc=0"; }
static char data_dir[1024], rec_dir[1024], store_url[1200];
static device_source src;
static int32_t *src_samples;
static int port;
static int64_t rec;
static char csrf_card[STORE_SESSION_CHARS + 1], tok_card[STORE_SESSION_CHARS + 1], tok_clinic[STORE_SESSION_CHARS + 1], tok_other[STORE_SESSION_CHARS + 1];
static const char *const statements[] = {"窦性心律", "偶发室性早搏 Occasional PVCs"};
static const char text[] = "偶发室早，建议复查。\nFollow up in 3 months.";

/* ---- a small HTTP/1.1 client (Connection: close) that keeps binary bodies whole ---- */

typedef struct {
    int status;
    char type[128], disposition[160], cache[64];
    long length;          /* Content-Length, -1 when absent */
    unsigned char *body;  /* malloc'd, NUL-terminated for convenience; len bytes */
    size_t len;
} answer;

/* METHOD PATH with session COOKIE and CSRF token (each NULL: none), the whole answer. */
static answer http_csrf(const char *method, const char *path, const char *cookie, const char *csrf)
{
    harness_answer h = harness_request(port, method, path, cookie, csrf, NULL, 0, NULL);
    answer a = {h.status, "", "", "", -1, malloc(h.len + 1), h.len};
    char v[32];
    harness_header(&h, "content-type", a.type, sizeof a.type);
    harness_header(&h, "content-disposition", a.disposition, sizeof a.disposition);
    harness_header(&h, "cache-control", a.cache, sizeof a.cache);
    if (harness_header(&h, "content-length", v, sizeof v)[0]) a.length = atol(v);
    if (a.body) {
        if (h.len) memcpy(a.body, h.body, h.len);
        a.body[h.len] = 0;
    }
    harness_answer_free(&h);
    return a;
}

static answer http(const char *method, const char *path, const char *cookie)
{
    return http_csrf(method, path, cookie, NULL);
}

static char *path_of(int64_t id, const char *what)
{
    static char path[128];
    snprintf(path, sizeof path, "/api/recordings/%lld/%s", (long long)id, what);
    return path;
}

/* ---- reading the PDF back ---- */

static int occurrences(const unsigned char *p, size_t n, const char *needle)
{
    size_t len = strlen(needle);
    int k = 0;
    for (size_t i = 0; i + len <= n; i++) k += !memcmp(p + i, needle, len);
    return k;
}

/* The first stream of the PDF (cairo writes the page's drawing first), inflated: malloc'd into
 * *OUT, its length returned; 0 when there is none or it does not inflate. */
static size_t first_stream(const unsigned char *pdf, size_t len, unsigned char **out)
{
    *out = NULL;
    const unsigned char *at = NULL;
    for (size_t i = 0; i + 7 <= len && !at; i++)
        if (!memcmp(pdf + i, "stream\n", 7)) at = pdf + i + 7;
    if (!at) return 0;
    z_stream z = {0};
    size_t cap = 1 << 20;
    unsigned char *buf = malloc(cap);
    if (!buf || inflateInit(&z) != Z_OK) {
        free(buf);
        return 0;
    }
    z.next_in = (unsigned char *)at;
    z.avail_in = (uInt)(pdf + len - at);
    int rc;
    do {
        if (z.total_out == cap) buf = realloc(buf, cap *= 2);
        z.next_out = buf + z.total_out;
        z.avail_out = (uInt)(cap - z.total_out);
        rc = inflate(&z, Z_NO_FLUSH);
    } while (rc == Z_OK);
    size_t n = z.total_out;
    inflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(buf);
        return 0;
    }
    *out = buf;
    return n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The page the export should be: the recording's first 10 s as the device sent them, in
 * microvolts, less each lead's median over those 10 s, with the signed report and the analysis
 * as the store holds them. A PDF in *PDF (malloc'd); its length, 0 on failure. */
static size_t expected_pdf(unsigned char **pdf)
{
    store *s = store_open(store_url, err, sizeof err);
    store_user card;
    store_review_item it;
    store_report *rep = malloc(sizeof *rep);
    char *analysis = NULL;
    size_t len = 0;
    *pdf = NULL;
    if (!s || store_user_get(s, "card1", &card, err, sizeof err) ||
        store_review_get(s, &card, rec, &it, err, sizeof err) || store_report_get(s, &card, rec, rep, err, sizeof err) ||
        store_recording_analysis(s, rec, &analysis, err, sizeof err)) {
        CHECK(0, "reading the store: %s", err);
        goto done;
    }
    size_t n = src.nframes < 5000 ? (size_t)src.nframes : 5000;
    static double uv[12][5000], sorted[5000];
    report_pdf_lead leads[12];
    for (int l = 0; l < src.nleads; l++) {
        for (size_t i = 0; i < n; i++)
            uv[l][i] = (src.samples[i * (size_t)src.nleads + (size_t)l] - src.leads[l].baseline) * src.leads[l].uv_per_unit;
        memcpy(sorted, uv[l], n * sizeof *sorted);
        qsort(sorted, n, sizeof *sorted, cmp_double);
        double median = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
        for (size_t i = 0; i < n; i++) uv[l][i] -= median;
        leads[l].name = src.leads[l].name;
        leads[l].uv = uv[l];
    }
    const char *st[STORE_REPORT_MAX_STATEMENTS];
    for (size_t i = 0; i < rep->nstatements; i++) st[i] = rep->statements[i];
    report_pdf in = {
        .recording_id = rec, .patient_id = it.rec.patient_id, .site = it.rec.site, .device = it.rec.device,
        .received_ms = it.rec.received_ms, .fs = src.fs, .nleads = src.nleads, .leads = leads, .nsamples = n,
        .version = rep->version, .signer = rep->signer, .signed_ms = rep->signed_ms,
        .nstatements = rep->nstatements, .statements = st, .text = rep->text, .analysis_json = analysis,
    };
    CHECK(report_pdf_render(&in, pdf, &len, NULL, err, sizeof err) == 0, "render: %s", err);
done:
    free(analysis);
    free(rep);
    store_close(s);
    return len;
}

/* ---- the cases ---- */

static void before_signing_the_export_is_409(void)
{
    answer a = http("GET", path_of(rec, "export.pdf"), tok_card);
    CHECK(a.status == 409 && strstr((char *)a.body, "only a signed report"), "new: %d %s", a.status, a.body);
    free(a.body);
    /* A draft is not a report either. */
    store *s = store_open(store_url, err, sizeof err);
    store_user card;
    CHECK(s && store_user_get(s, "card1", &card, err, sizeof err) == STORE_OK &&
              store_claim(s, &card, rec, err, sizeof err) == STORE_OK &&
              store_report_save(s, &card, rec, statements, 2, text, err, sizeof err) == STORE_OK,
          "draft: %s", err);
    store_close(s);
    a = http("GET", path_of(rec, "export.pdf"), tok_card);
    CHECK(a.status == 409 && strstr((char *)a.body, "reported") && strstr((char *)a.body, "only a signed report"),
          "draft: %d %s", a.status, a.body);
    CHECK(strncmp((char *)a.body, "%PDF", 4), "no PDF before signing");
    free(a.body);
}

static void a_signed_report_comes_as_a_one_page_pdf_attachment(void)
{
    store *s = store_open(store_url, err, sizeof err);
    store_user card;
    CHECK(s && store_user_get(s, "card1", &card, err, sizeof err) == STORE_OK &&
              store_report_sign(s, &card, rec, PW_CARD, err, sizeof err) == STORE_OK,
          "sign: %s", err);
    store_close(s);

    answer a = http("GET", path_of(rec, "export.pdf"), tok_card);
    char want[96];
    snprintf(want, sizeof want, "attachment; filename=\"ecg-%lld-v1.pdf\"", (long long)rec);
    CHECK(a.status == 200, "%d %s", a.status, a.status == 200 ? "" : (char *)a.body);
    CHECK(!strcmp(a.type, "application/pdf"), "Content-Type %s", a.type);
    CHECK(!strcmp(a.disposition, want), "Content-Disposition '%s', expected '%s'", a.disposition, want);
    CHECK(!strcmp(a.cache, "no-store"), "Cache-Control '%s'", a.cache);
    CHECK(a.length == (long)a.len && a.len > 1000, "the whole body: %zu bytes of %ld", a.len, a.length);
    CHECK(a.len >= 5 && !memcmp(a.body, "%PDF-", 5), "a PDF: %.8s", (char *)a.body);
    int pages = occurrences(a.body, a.len, "/Type /Page") - occurrences(a.body, a.len, "/Type /Pages");
    CHECK(pages == 1, "%d pages", pages);
    CHECK(occurrences(a.body, a.len, "NotoSansCJK") > 0, "the Chinese statements with the CJK font");

    /* The page is the one the renderer draws from the journal's first 10 s: the same drawing,
     * operator for operator. */
    unsigned char *mine = NULL, *page = NULL, *expected_page = NULL;
    size_t mine_len = expected_pdf(&mine);
    size_t n = first_stream(a.body, a.len, &page), m = mine_len ? first_stream(mine, mine_len, &expected_page) : 0;
    CHECK(n > 10000 && n == m && !memcmp(page, expected_page, n),
          "the page drawn from the recording: %zu bytes of drawing, expected %zu", n, m);
    free(page);
    free(expected_page);
    free(mine);
    free(a.body);

    /* The recording's own clinic may have it too. */
    a = http("GET", path_of(rec, "export.pdf"), tok_clinic);
    CHECK(a.status == 200 && a.len >= 5 && !memcmp(a.body, "%PDF-", 5), "the clinic of the site: %d", a.status);
    free(a.body);
}

/* Sends GET PATH with COOKIE on a new connection and returns the socket (-1 on failure), without
 * waiting for the answer. */
static int send_get(const char *path, const char *cookie)
{
    int fd = harness_connect(port);
    char head[512];
    int n = snprintf(head, sizeof head,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nCookie: ecgnet_session=%s\r\n\r\n",
                     path, cookie);
    if (fd < 0 || write(fd, head, (size_t)n) != n) {
        if (fd >= 0) close(fd);
        return -1;
    }
    return fd;
}

/* The status of the answer on FD (read to its end; FD closed); -1 without one. */
static int status_of(int fd)
{
    char buf[4096];
    int status = -1;
    ssize_t k, got = 0;
    while ((k = read(fd, buf + got, sizeof buf - 1 - (size_t)got)) > 0) {
        got += k;
        if ((size_t)got >= sizeof buf - 1) got = 64; /* keep the status line, drop the rest */
    }
    buf[got] = 0;
    close(fd);
    if (sscanf(buf, "HTTP/1.1 %d", &status) != 1) status = -1;
    return status;
}

/* The drawing happens off the event loop, at most two at once: more are asked to retry (503 with
 * Retry-After), a client that hangs up while its PDF is drawn costs nothing, and afterwards
 * exports work as before. */
static void drawings_run_beside_the_loop_two_at_a_time(void)
{
    const char *path = path_of(rec, "export.pdf");
    int fds[5];
    for (int i = 0; i < 5; i++) fds[i] = send_get(path, tok_card);
    CHECK(fds[0] >= 0 && fds[4] >= 0, "connected");
    if (fds[0] >= 0) close(fds[0]); /* hangs up at once */
    int ok = 0, busy = 0, other = 0;
    for (int i = 1; i < 5; i++) {
        int s = fds[i] >= 0 ? status_of(fds[i]) : -1;
        ok += s == 200;
        busy += s == 503;
        other += s != 200 && s != 503;
    }
    CHECK(ok >= 1 && busy >= 1 && other == 0, "four asked at once: %d drawn, %d asked to retry, %d else", ok, busy,
          other);
    answer a = http("GET", path, tok_card);
    CHECK(a.status == 200 && a.len > 1000 && !memcmp(a.body, "%PDF-", 5), "then one alone is drawn: %d", a.status);
    free(a.body);
}

static void access_is_that_of_the_other_exports(void)
{
    answer a = http("GET", path_of(rec, "export.pdf"), NULL);
    CHECK(a.status == 401, "no session: %d %s", a.status, a.body);
    free(a.body);
    a = http("GET", path_of(rec, "export.pdf"), "not-a-session");
    CHECK(a.status == 401, "a made-up session: %d %s", a.status, a.body);
    free(a.body);

    /* Another site's clinic is refused as the HL7 export refuses it, and learns nothing. */
    answer hl7 = http("GET", path_of(rec, "export.hl7"), tok_other);
    a = http("GET", path_of(rec, "export.pdf"), tok_other);
    CHECK((a.status == 403 || a.status == 404) && a.status == hl7.status, "another site's clinic: %d (HL7: %d) %s",
          a.status, hl7.status, a.body);
    CHECK(strncmp((char *)a.body, "%PDF", 4) && !strstr((char *)a.body, "P-PDF-1"), "no PDF, no patient id: %s",
          a.body);
    free(a.body);
    free(hl7.body);

    a = http_csrf("POST", path_of(rec, "export.pdf"), tok_card, csrf_card);
    CHECK(a.status == 405, "POST: %d %s", a.status, a.body);
    free(a.body);
    a = http("GET", path_of(999999, "export.pdf"), tok_card);
    CHECK(a.status == 404, "no such recording: %d %s", a.status, a.body);
    free(a.body);
}

/* The audit rows of REC whose action and detail are these, by ACTOR. */
static int audited(const char *actor, const char *detail)
{
    store *s = store_open(store_url, err, sizeof err);
    store_audit_entry *rows = NULL;
    size_t n = 0;
    int found = 0;
    if (s && store_audit_list(s, rec, &rows, &n, err, sizeof err) == STORE_OK)
        for (size_t i = 0; i < n; i++)
            found += !strcmp(rows[i].action, "report.export") && !strcmp(rows[i].actor, actor) &&
                     !strcmp(rows[i].detail, detail);
    CHECK(s != NULL, "store: %s", err);
    free(rows);
    store_close(s);
    return found;
}

static void every_export_is_audited(void)
{
    CHECK(audited("user:card1", "PDF, report version 1") == 1, "the cardiologist's export: %d rows",
          audited("user:card1", "PDF, report version 1"));
    CHECK(audited("user:clinic1", "PDF, report version 1") == 1, "the clinic's export");
    CHECK(audited("user:clinic2", "PDF, report version 1") == 0, "nothing for the refused clinic");
}

static void an_amendment_is_exported_as_its_own_version(void)
{
    store *s = store_open(store_url, err, sizeof err);
    store_user card;
    static const char *const st[] = {"窦性心动过缓"};
    CHECK(s && store_user_get(s, "card1", &card, err, sizeof err) == STORE_OK &&
              store_report_amend(s, &card, rec, st, 1, NULL, PW_CARD, err, sizeof err) == STORE_OK,
          "amend: %s", err);
    store_close(s);
    answer a = http("GET", path_of(rec, "export.pdf"), tok_card);
    char want[96];
    snprintf(want, sizeof want, "attachment; filename=\"ecg-%lld-v2.pdf\"", (long long)rec);
    CHECK(a.status == 200 && !strcmp(a.disposition, want), "%d '%s'", a.status, a.disposition);
    CHECK(occurrences(a.body, a.len, "/Title (ECG report, recording") == 1 &&
              occurrences(a.body, a.len, ", version 2)") == 1,
          "titled as version 2");
    free(a.body);
    CHECK(audited("user:card1", "PDF, report version 2") == 1, "audited as version 2");
}

/* ---- setup ---- */

static int64_t stream(const char *device, const char *token, const char *recording)
{
    return harness_stream_recording(port, store_url, &src, device, token, recording);
}

int main(void)
{
    char token[STORE_TOKEN_CHARS + 1], token_b[STORE_TOKEN_CHARS + 1], csrf[STORE_SESSION_CHARS + 1];
    net_log_set_level(NET_LOG_ERROR);
    snprintf(data_dir, sizeof data_dir, "%s", check_tmpdir("api-pdf-data"));
    snprintf(rec_dir, sizeof rec_dir, "%s", check_tmpdir("api-pdf-records"));
    snprintf(store_url, sizeof store_url, "sqlite:%s/ecgnet.db", data_dir);
    /* 12 s of a 12-lead ECG: the PDF takes the first 10. */
    harness_record(rec_dir, "syn12", 12, 500, 12, &src, &src_samples);
    snprintf(src.patient.id, sizeof src.patient.id, "P-PDF-1");

    store *s = store_open(store_url, err, sizeof err);
    if (!s || store_device_add(s, "dev-a", SITE_A, token, err, sizeof err) ||
        store_device_add(s, "dev-b", SITE_B, token_b, err, sizeof err) ||
        store_user_add(s, "card1", "cardiologist", NULL, PW_CARD, err, sizeof err) ||
        store_user_add(s, "clinic1", "clinic", SITE_A, PW_CLINIC, err, sizeof err) ||
        store_user_add(s, "clinic2", "clinic", SITE_B, PW_OTHER, err, sizeof err) ||
        store_login(s, "card1", PW_CARD, NULL, tok_card, csrf_card, NULL, NULL, err, sizeof err) ||
        store_login(s, "clinic1", PW_CLINIC, NULL, tok_clinic, csrf, NULL, NULL, err, sizeof err) ||
        store_login(s, "clinic2", PW_OTHER, NULL, tok_other, csrf, NULL, NULL, err, sizeof err)) {
        fprintf(stderr, "setup: %s\n", err);
        return 2;
    }
    store_close(s);
    server_config c = {0};
    c.ingest.data_dir = data_dir;
    c.ingest.workers = 1;
    harness_server hs = harness_serve(&c);
    port = server_port(hs.sv);
    rec = stream("dev-a", token, "rec-pdf");

    RUN(before_signing_the_export_is_409);
    RUN(a_signed_report_comes_as_a_one_page_pdf_attachment);
    RUN(access_is_that_of_the_other_exports);
    RUN(every_export_is_audited);
    RUN(drawings_run_beside_the_loop_two_at_a_time);
    RUN(an_amendment_is_exported_as_its_own_version);
    harness_stop(&hs);
    free(src_samples);
    return check_report();
}
