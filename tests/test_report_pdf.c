/* test_report_pdf.c — the signed report on ECG paper: the page drawn onto an image at 10 pixels per
 * millimetre and read back pixel by pixel (grid pitch, calibration pulse, samples at their time
 * and voltage, the 3 × 4 layout by lead name, rows for fewer leads, the text's place), the PDF
 * (one A4 landscape page, the CJK font embedded), times in UTC, and the refusals. */
#include "check.h"
#include "report_pdf.h"
#include "synth.h"

#include <stdint.h>
#include <time.h>

#include <cairo.h>

#define PX 10.0 /* pixels per millimetre of the test images */
#define GX REPORT_PDF_GRID_X_MM
#define GY REPORT_PDF_GRID_Y_MM
#define X0 (GX + REPORT_PDF_CAL_W_MM) /* where each row's signal begins (t = 0) */
#define FS 500.0
#define NS 5000 /* 10 s at FS */

static char err[512];

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
static const char *const names12[12] = {"I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"};
static const char *const statements_zh[] = {"窦性心律", "偶发室性早搏", "ST-T 改变"};

/* ---- input ---- */

typedef struct {
    report_pdf in;
    report_pdf_lead leads[REPORT_PDF_MAX_LEADS];
    double uv[REPORT_PDF_MAX_LEADS][NS]; /* flat (0 µV) unless a test draws something */
} page;

/* A signed report of NLEADS flat leads of 10 s at 500 Hz named I, II, ... (the standard order),
 * without statements, text or analysis. */
static page *page_new(int nleads)
{
    page *p = calloc(1, sizeof *p);
    if (!p) exit(2);
    for (int l = 0; l < REPORT_PDF_MAX_LEADS; l++) {
        p->leads[l].name = names12[l];
        p->leads[l].uv = p->uv[l];
    }
    p->in.recording_id = 42;
    p->in.patient_id = "P-0001";
    p->in.site = "桥头镇卫生院";
    p->in.device = "clinic-01";
    p->in.received_ms = 1763900000123;
    p->in.fs = FS;
    p->in.nleads = nleads;
    p->in.leads = p->leads;
    p->in.nsamples = NS;
    p->in.version = 1;
    p->in.signer = "zhang.wei";
    p->in.signed_ms = 1763903600456;
    return p;
}

/* Lead L is UV microvolts from T0 to T1 seconds (samples T0 * fs .. T1 * fs - 1). */
static void plateau(page *p, int l, double t0, double t1, double uv)
{
    for (int i = (int)(t0 * FS); i < (int)(t1 * FS); i++) p->uv[l][i] = uv;
}

/* ---- drawing and reading pixels ---- */

/* The page drawn at PX pixels per mm on white, shifted by half a pixel so that a line at a whole
 * millimetre X covers pixel column X * PX exactly. NULL (a failed check) when drawing fails. */
static cairo_surface_t *draw(const report_pdf *in, report_pdf_notes *notes)
{
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)(REPORT_PDF_PAGE_W_MM * PX),
                                                    (int)(REPORT_PDF_PAGE_H_MM * PX));
    cairo_t *cr = cairo_create(s);
    cairo_translate(cr, 0.5, 0.5);
    cairo_scale(cr, PX, PX);
    int rc = report_pdf_draw(cr, in, notes, err, sizeof err);
    CHECK(rc == 0, "draw: %s", err);
    cairo_destroy(cr);
    cairo_surface_flush(s);
    if (rc == 0) return s;
    cairo_surface_destroy(s);
    return NULL;
}

typedef struct {
    int r, g, b;
} rgb;

/* The pixel under the point X, Y (mm). */
static rgb pixel(cairo_surface_t *s, double x, double y)
{
    int px = (int)floor(x * PX + 0.5), py = (int)floor(y * PX + 0.5);
    rgb c = {-1, -1, -1};
    if (px < 0 || py < 0 || px >= cairo_image_surface_get_width(s) || py >= cairo_image_surface_get_height(s))
        return c;
    const unsigned char *row = cairo_image_surface_get_data(s) + (size_t)py * (size_t)cairo_image_surface_get_stride(s);
    uint32_t v = ((const uint32_t *)row)[px];
    c.r = (int)(v >> 16 & 0xff);
    c.g = (int)(v >> 8 & 0xff);
    c.b = (int)(v & 0xff);
    return c;
}

enum { WHITE, MINOR, MAJOR, INK, OTHER };
static const char *const kinds[] = {"white", "minor line", "major line", "ink", "other"};

/* White paper, a light red 1-mm line, a red 5-mm line, or the black of traces and text. */
static int kind(rgb c)
{
    if (c.r >= 250 && c.g >= 250 && c.b >= 250) return WHITE;
    if (c.r >= 250 && c.g >= 170 && c.g <= 215 && c.b >= 170 && c.b <= 215) return MINOR;
    if (c.r >= 200 && c.r < 250 && c.g < 130 && c.b < 130) return MAJOR;
    if (c.r < 80 && c.g < 80 && c.b < 80) return INK;
    return OTHER;
}

static int is_ink(cairo_surface_t *s, double x, double y) { return kind(pixel(s, x, y)) == INK; }

/* The topmost and bottommost ink in the column at X between Y0 and Y1 (mm, 0.1-mm steps);
 * 0 when there is none. */
static int ink_extent(cairo_surface_t *s, double x, double y0, double y1, double *top, double *bottom)
{
    int found = 0;
    for (double y = y0; y <= y1 + 1e-9; y += 0.1)
        if (is_ink(s, x, y)) {
            if (!found) *top = y;
            *bottom = y;
            found = 1;
        }
    return found;
}

/* Row R's baseline (0 µV) for a page of ROWS rows, as report_pdf.h lays it out. */
static double baseline(int rows, int r)
{
    double pitch = REPORT_PDF_GRID_H_MM / (rows > REPORT_PDF_MIN_ROWS ? rows : REPORT_PDF_MIN_ROWS);
    return GY + r * pitch + fmax(pitch * 2.0 / 3.0, REPORT_PDF_BASELINE_MIN_MM);
}

/* The trace's middle in the column at time T (s) near Y (mm, within 3 mm), or NAN without ink. */
static double trace_y(cairo_surface_t *s, double t, double y)
{
    double top = 0, bottom = 0;
    if (!ink_extent(s, X0 + t * REPORT_PDF_MM_PER_S, y - 3, y + 3, &top, &bottom)) return NAN;
    return (top + bottom) / 2;
}

/* ---- the paper ---- */

static void the_paper_has_1_mm_and_5_mm_lines_at_true_scale(void)
{
    page *p = page_new(12);
    cairo_surface_t *s = draw(&p->in, NULL);
    free(p);
    if (!s) return;
    /* Across the first row, 7.5 mm above its flat traces: vertical lines only. */
    int checked = 0, wrong = 0;
    for (double x = X0; x <= GX + REPORT_PDF_GRID_W_MM; x += 0.5) {
        double mm = x - GX;
        int want = fmod(mm, 5.0) == 0 ? MAJOR : fmod(mm, 1.0) == 0 ? MINOR : WHITE, got = kind(pixel(s, x, GY + 12.5));
        checked++;
        if (got != want && wrong++ < 5)
            CHECK(0, "x = %.1f mm from the grid's edge is %s, expected %s", mm, kinds[got], kinds[want]);
    }
    CHECK(checked == 501 && wrong == 0, "%d of %d points along a row are wrong", wrong, checked);

    /* Down the whole paper at 40.5 mm (between vertical lines), away from the traces: horizontal
     * lines every 1 mm, every 5th a major one. */
    checked = wrong = 0;
    for (double y = GY; y <= GY + REPORT_PDF_GRID_H_MM; y += 0.5) {
        int near_trace = 0;
        for (int r = 0; r < 4; r++) near_trace |= fabs(y - baseline(4, r)) < 1.5;
        if (near_trace) continue;
        double mm = y - GY;
        int want = fmod(mm, 5.0) == 0 ? MAJOR : fmod(mm, 1.0) == 0 ? MINOR : WHITE, got = kind(pixel(s, GX + 40.5, y));
        checked++;
        if (got != want && wrong++ < 5)
            CHECK(0, "y = %.1f mm from the grid's top is %s, expected %s", mm, kinds[got], kinds[want]);
    }
    CHECK(checked > 200 && wrong == 0, "%d of %d points down the paper are wrong", wrong, checked);

    /* The paper ends where the layout says: white just outside it. */
    CHECK(kind(pixel(s, GX - 1, GY + 12.5)) == WHITE && kind(pixel(s, GX + REPORT_PDF_GRID_W_MM + 1, GY + 12.5)) == WHITE,
          "white left and right of the paper");
    CHECK(kind(pixel(s, GX + 40.5, GY - 1)) == WHITE &&
              kind(pixel(s, GX + 40.5, GY + REPORT_PDF_GRID_H_MM + 0.6)) == WHITE,
          "white above and below the paper");
    CHECK(kind(pixel(s, GX, GY + 12.5)) == MAJOR && kind(pixel(s, GX + REPORT_PDF_GRID_W_MM, GY + 12.5)) == MAJOR,
          "the paper's edges are major lines");
    cairo_surface_destroy(s);
}

/* Each row's pulse: up 10 mm at GX + 3, across 5 mm, down at GX + 8, open below. */
static void check_pulse(cairo_surface_t *s, int rows, int r)
{
    double base = baseline(rows, r), top = 0, bottom = 0;
    /* Looked for within 0.6 mm of the pulse's ends: rows may be as close as 10.9 mm, so the
     * neighbours' pulses are 0.9 mm away. */
    int found = ink_extent(s, GX + 3, base - 10.6, base + 0.6, &top, &bottom);
    /* The ink is 0.3 mm wide: the edge reaches 0.15 mm past both ends; a pixel (0.1 mm) only
     * partly covered at either end may not count as ink. */
    CHECK(found && fabs(top - (base - 10.15)) <= 0.25 && fabs(bottom - (base + 0.15)) <= 0.25,
          "row %d of %d: the rising edge spans %.2f .. %.2f mm, expected %.2f .. %.2f", r, rows, found ? top : 0,
          found ? bottom : 0, base - 10, base);
    CHECK(found && fabs((bottom - top) - 10.3) <= 0.25, "row %d of %d: the pulse is %.2f mm tall (10 mm and the ink)", r,
          rows, found ? bottom - top - 0.3 : 0);
    for (double x = GX + 3.5; x <= GX + 7.5; x += 1)
        CHECK(is_ink(s, x, base - 10) && !is_ink(s, x, base - 5) && !is_ink(s, x, base),
              "row %d of %d: at %.1f mm the pulse's top at 1 mV, nothing below it", r, rows, x - GX);
    CHECK(is_ink(s, GX + 8, base - 5) && is_ink(s, GX + 1.5, base) && is_ink(s, GX + 8.5, base),
          "row %d of %d: the falling edge and the flat parts", r, rows);
}

static void every_row_starts_with_a_1_mv_calibration_pulse_10_mm_tall(void)
{
    page *p = page_new(12);
    cairo_surface_t *s = draw(&p->in, NULL);
    for (int r = 0; s && r < 4; r++) check_pulse(s, 4, r);
    if (s) cairo_surface_destroy(s);
    p->in.nleads = 11; /* rows of 10.9 mm: the pulse keeps its true size */
    s = draw(&p->in, NULL);
    for (int r = 0; s && r < 11; r++) check_pulse(s, 11, r);
    if (s) cairo_surface_destroy(s);
    free(p);
}

/* ---- the traces ---- */

/* Lead II +1.5 mV from 1.0 to 1.4 s and V4 -0.5 mV from 8.0 to 8.4 s, drawn in the 3 × 4
 * layout: each where its name and time put it, at 10 mm/mV. */
static void check_twelve(const page *p, const char *what)
{
    cairo_surface_t *s = draw(&p->in, NULL);
    if (!s) return;
    double b0 = baseline(4, 0), b1 = baseline(4, 1), b3 = baseline(4, 3);
    /* The rhythm strip is lead II over 10 s. */
    CHECK_NEAR(trace_y(s, 1.2, b3 - 15), b3 - 15, 0.1, "rhythm strip: II at 1.2 s, 1500 µV above the baseline");
    CHECK_NEAR(trace_y(s, 0.5, b3), b3, 0.1, "rhythm strip: II at 0.5 s on the baseline");
    CHECK_NEAR(trace_y(s, 1.6, b3), b3, 0.1, "rhythm strip: II at 1.6 s back on the baseline");
    /* Its plateau's edges are at 1.0 s and 1.4 s: 25 mm/s. */
    double top = 0, bottom = 0;
    CHECK(ink_extent(s, X0 + 25.0, b3 - 15, b3, &top, &bottom) && bottom - top > 14, "%s: an edge at 1.0 s", what);
    CHECK(ink_extent(s, X0 + 35.0, b3 - 15, b3, &top, &bottom) && bottom - top > 14, "%s: an edge at 1.4 s", what);
    CHECK(!ink_extent(s, X0 + 24.0, b3 - 14, b3 - 1, &top, &bottom), "%s: nothing before 1.0 s", what);
    /* Column 1 row 2 is II's first 2.5 s. */
    CHECK_NEAR(trace_y(s, 1.2, b1 - 15), b1 - 15, 0.1, "II in the 3 x 4 layout");
    /* Column 4 row 1 is V4's last 2.5 s; V5 below it is flat. */
    CHECK_NEAR(trace_y(s, 8.2, b0 + 5), b0 + 5, 0.1, "V4 at 8.2 s, 500 µV below the baseline");
    CHECK_NEAR(trace_y(s, 8.2, b1), b1, 0.1, "V5 at 8.2 s on the baseline");
    /* I's row does not show II: row 1, column 1 is flat at 1.2 s. */
    CHECK_NEAR(trace_y(s, 1.2, b0), b0, 0.1, "I at 1.2 s on the baseline");
    /* The ticks between columns, at 2.5, 5 and 7.5 s. */
    for (int c = 1; c < 4; c++)
        CHECK(is_ink(s, X0 + 62.5 * c, b0 - 2) && is_ink(s, X0 + 62.5 * c, b0 + 2), "%s: tick at %.1f s", what, 2.5 * c);
    cairo_surface_destroy(s);
}

static void samples_are_drawn_at_their_time_and_voltage_in_the_3_by_4_layout(void)
{
    page *p = page_new(12);
    plateau(p, 1, 1.0, 1.4, 1500);
    plateau(p, 9, 8.0, 8.4, -500);
    check_twelve(p, "standard order");
    /* The same leads handed over in another order (and other case): placed by name. */
    static const int order[12] = {11, 3, 9, 0, 7, 1, 5, 10, 2, 8, 4, 6};
    static const char *const lower[12] = {"i", "ii", "iii", "avr", "avl", "avf", "v1", "v2", "v3", "v4", "v5", "v6"};
    for (int k = 0; k < 12; k++) {
        p->leads[k].name = lower[order[k]];
        p->leads[k].uv = p->uv[order[k]];
    }
    check_twelve(p, "shuffled");
    free(p);
}

static void a_synthetic_ecg_s_r_peaks_are_drawn_where_they_belong(void)
{
    synth_opts o;
    synth_defaults(&o);
    o.nleads = 12;
    o.fs = FS;
    o.duration_s = 10;
    o.seed = 11;
    synth_ecg *e = synth_generate(&o);
    CHECK(e && e->nsamples == NS && e->nbeats >= 10, "a 10-s 12-lead synthetic ECG");
    if (!e) return;
    page *p = page_new(12);
    for (int l = 0; l < 12; l++)
        for (int i = 0; i < NS; i++) p->uv[l][i] = e->uv[(size_t)l * (size_t)e->nsamples + (size_t)i];
    cairo_surface_t *s = draw(&p->in, NULL);
    double b3 = baseline(4, 3);
    for (size_t k = 0; s && k < e->nbeats; k++) {
        /* The rhythm strip (II): the R peak's vertex is the trace's highest point in its column. */
        int64_t at = e->beats[k].sample;
        double t = (double)at / FS, want = b3 - p->uv[1][at] / 100.0, top = 0, bottom = 0;
        int found = ink_extent(s, X0 + t * REPORT_PDF_MM_PER_S, want - 2, want + 2, &top, &bottom);
        CHECK(found && fabs(top + 0.15 - want) <= 0.2, "beat %zu at %.3f s (%.0f µV): its peak drawn at %.2f mm, expected %.2f",
              k, t, p->uv[1][at], found ? top + 0.15 : 0, want);
    }
    if (s) cairo_surface_destroy(s);
    synth_free(e);
    free(p);
}

static void fewer_leads_get_one_row_each_over_the_whole_10_s(void)
{
    page *p = page_new(2);
    p->leads[0].name = "MLII";
    p->leads[1].name = "V5";
    plateau(p, 1, 8.0, 8.4, 1000);
    cairo_surface_t *s = draw(&p->in, NULL);
    if (s) {
        double b0 = baseline(2, 0), b1 = baseline(2, 1);
        CHECK_NEAR(b1 - b0, 30, 1e-9, "rows 30 mm apart");
        CHECK_NEAR(trace_y(s, 8.2, b1 - 10), b1 - 10, 0.1, "the second lead at 8.2 s, 1 mV up, in the second row");
        CHECK_NEAR(trace_y(s, 8.2, b0), b0, 0.1, "the first lead flat at 8.2 s");
        CHECK_NEAR(trace_y(s, 9.9, b0), b0, 0.1, "the first row runs to 10 s");
        check_pulse(s, 2, 0);
        check_pulse(s, 2, 1);
        /* Two rows only: no pulse and no trace where a third would be. */
        double top = 0, bottom = 0;
        CHECK(!ink_extent(s, GX + 3, baseline(4, 2) - 12, baseline(4, 3) + 3, &top, &bottom), "nothing below row 2");
        cairo_surface_destroy(s);
    }
    /* A recording shorter than 10 s: drawn as far as it goes. */
    p->in.nsamples = 1000;
    s = draw(&p->in, NULL);
    if (s) {
        CHECK_NEAR(trace_y(s, 1.9, baseline(2, 0)), baseline(2, 0), 0.1, "the first 2 s are there");
        CHECK(isnan(trace_y(s, 2.2, baseline(2, 0))), "nothing after 2 s");
        cairo_surface_destroy(s);
    }
    free(p);
}

/* ---- the text ---- */

/* Pixels that differ between A and B in the band Y0 .. Y1 (mm) of the page. */
static long differ(cairo_surface_t *a, cairo_surface_t *b, double y0, double y1)
{
    long n = 0;
    int w = cairo_image_surface_get_width(a), stride = cairo_image_surface_get_stride(a);
    const unsigned char *da = cairo_image_surface_get_data(a), *db = cairo_image_surface_get_data(b);
    for (int y = (int)(y0 * PX); y < (int)(y1 * PX); y++)
        for (int x = 0; x < w; x++) {
            size_t at = (size_t)y * (size_t)stride + (size_t)x * 4;
            n += (*(const uint32_t *)(da + at) & 0xffffff) != (*(const uint32_t *)(db + at) & 0xffffff);
        }
    return n;
}

static void statements_and_free_text_are_drawn_below_the_paper(void)
{
    page *p = page_new(12);
    report_pdf_notes notes;
    cairo_surface_t *plain = draw(&p->in, &notes);
    p->in.statements = statements_zh;
    p->in.nstatements = 3;
    p->in.text = "偶发室早，建议复查。\nFollow up in 3 months.";
    cairo_surface_t *with = draw(&p->in, &notes);
    if (plain && with) {
        const double text_y = GY + REPORT_PDF_GRID_H_MM + 6; /* below the scale line */
        CHECK(differ(plain, with, text_y, REPORT_PDF_PAGE_H_MM) > 2000, "the text shows below the paper: %ld pixels",
              differ(plain, with, text_y, REPORT_PDF_PAGE_H_MM));
        CHECK(differ(plain, with, 0, text_y) == 0, "and nowhere else: %ld pixels", differ(plain, with, 0, text_y));
        CHECK(notes.missing_glyphs == 0 && notes.text_cut == 0, "Chinese drawn with real glyphs (%d missing), nothing cut",
              notes.missing_glyphs);
    }
    /* The patient id is in the header, above the paper. */
    p->in.patient_id = "P-0002";
    cairo_surface_t *other = draw(&p->in, &notes);
    if (other && with) {
        CHECK(differ(with, other, 0, GY) > 100, "another patient id changes the header");
        CHECK(differ(with, other, GY, REPORT_PDF_PAGE_H_MM) == 0, "and only the header");
    }
    /* Far more text than the page holds is cut, and says so. */
    size_t n = 9000;
    char *longtext = malloc(n);
    for (size_t i = 0; i + 1 < n; i++) longtext[i] = i % 7 == 6 ? ' ' : 'a' + (char)(i % 26);
    longtext[n - 1] = 0;
    p->in.text = longtext;
    cairo_surface_t *cut = draw(&p->in, &notes);
    CHECK(cut && notes.text_cut == 1, "a text longer than the page is cut");
    if (cut && other) CHECK(differ(other, cut, REPORT_PDF_PAGE_H_MM - 5, REPORT_PDF_PAGE_H_MM) == 0, "within the page");
    /* A character no font has is counted. */
    p->in.text = "\xee\x80\x80 a private-use character";
    cairo_surface_t *odd = draw(&p->in, &notes);
    CHECK(odd && notes.missing_glyphs >= 1, "a character without a glyph is reported: %d", notes.missing_glyphs);
    free(longtext);
    cairo_surface_t *all[] = {plain, with, other, cut, odd};
    for (size_t i = 0; i < 5; i++)
        if (all[i]) cairo_surface_destroy(all[i]);
    free(p);
}

/* ---- the PDF ---- */

/* How many times NEEDLE (LEN bytes) occurs in the N bytes at P. */
static int occurrences(const unsigned char *p, size_t n, const char *needle, size_t len)
{
    int k = 0;
    for (size_t i = 0; i + len <= n; i++) k += !memcmp(p + i, needle, len);
    return k;
}
#define COUNT(p, n, lit) occurrences((p), (n), (lit), sizeof(lit) - 1)

static void the_pdf_is_one_a4_landscape_page_with_the_cjk_font_embedded(void)
{
    page *p = page_new(12);
    p->in.statements = statements_zh;
    p->in.nstatements = 3;
    p->in.text = "偶发室早，建议复查。";
    p->in.analysis_json = "{\"heart_rate\":{\"mean\":72.4,\"min\":60,\"max\":90},\"beat_count\":12,"
                          "\"rhythms\":[{\"label\":\"N\"},{\"label\":\"AFIB\"},{\"label\":\"N\"}]}";
    unsigned char *pdf = NULL;
    size_t len = 0;
    report_pdf_notes notes;
    int rc = report_pdf_render(&p->in, &pdf, &len, &notes, err, sizeof err);
    CHECK(rc == 0 && pdf && len > 1000, "render: %s", err);
    if (rc == 0) {
        CHECK(!memcmp(pdf, "%PDF-", 5), "starts with %%PDF-: %.8s", (const char *)pdf);
        CHECK(COUNT(pdf, len, "%%EOF") >= 1, "ends with %%%%EOF");
        /* "/Type /Page" also begins "/Type /Pages": one page object and a page tree of one. */
        int pages = COUNT(pdf, len, "/Type /Page") - COUNT(pdf, len, "/Type /Pages");
        CHECK(pages == 1 && COUNT(pdf, len, "/Count 1") == 1, "%d page objects", pages);
        /* A4 landscape in points: 297 × 210 mm at 72/25.4. */
        CHECK(COUNT(pdf, len, "/MediaBox [ 0 0 841.889764 595.275591 ]") == 1, "an A4 landscape page");
        CHECK(COUNT(pdf, len, "NotoSansCJK") > 0, "the CJK font is embedded (a subset named after it)");
        CHECK(COUNT(pdf, len, "/Title (ECG report, recording 42, version 1)") == 1, "titled after the report");
        CHECK(len < 3 * 1024 * 1024, "a file of %zu bytes", len);
        CHECK(notes.missing_glyphs == 0, "%d missing glyphs", notes.missing_glyphs);
    }
    free(pdf);
    free(p);
}

static void times_are_written_in_utc_whatever_the_time_zone(void)
{
    char buf[40];
    setenv("TZ", "Asia/Shanghai", 1);
    tzset();
    CHECK(!strcmp(report_pdf_utc(1763900000123, buf, sizeof buf), "2025-11-23 12:13:20 UTC"), "%s", buf);
    CHECK(!strcmp(report_pdf_utc(0, buf, sizeof buf), "1970-01-01 00:00:00 UTC"), "%s", buf);
    CHECK(!strcmp(report_pdf_utc(-1, buf, sizeof buf), "1969-12-31 23:59:59 UTC"), "%s", buf);
    CHECK(!strcmp(report_pdf_utc(1763900000123, buf, 10), ""), "too small a buffer gives \"\": %s", buf);
    unsetenv("TZ");
    tzset();
}

/* ---- refusals ---- */

/* IN is refused by both entry points with a message containing NEEDLE, and nothing is drawn. */
static void expect_refused(const report_pdf *in, const char *why, const char *needle)
{
    unsigned char *pdf = (unsigned char *)"untouched";
    size_t len = 7;
    err[0] = 0;
    CHECK(report_pdf_render(in, &pdf, &len, NULL, err, sizeof err) == -1, "render accepts %s", why);
    CHECK(pdf == NULL && len == 0, "render leaves no PDF for %s", why);
    CHECK(strstr(err, needle) != NULL, "render, %s: message \"%s\" lacks \"%s\"", why, err, needle);
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 40, 40);
    cairo_t *cr = cairo_create(s);
    err[0] = 0;
    CHECK(report_pdf_draw(cr, in, NULL, err, sizeof err) == -1, "draw accepts %s", why);
    CHECK(strstr(err, needle) != NULL, "draw, %s: message \"%s\" lacks \"%s\"", why, err, needle);
    cairo_destroy(cr);
    cairo_surface_flush(s);
    const uint32_t *px = (const uint32_t *)cairo_image_surface_get_data(s);
    int painted = 0;
    for (int i = 0; i < 40 * 40; i++) painted |= (px[i] & 0xffffff) != 0;
    CHECK(!painted, "nothing drawn for %s", why);
    cairo_surface_destroy(s);
}

static void bad_input_is_refused_with_a_clear_message(void)
{
    expect_refused(NULL, "no input", "no report");
    page *p = page_new(12);
    report_pdf in = p->in;
    in.leads = NULL;
    expect_refused(&in, "NULL leads", "no leads given");
    in = p->in;
    in.fs = 0;
    expect_refused(&in, "fs 0", "fs 0 is not a sampling rate");
    in.fs = -500;
    expect_refused(&in, "fs < 0", "is not a sampling rate");
    in.fs = NAN;
    expect_refused(&in, "fs NaN", "is not a sampling rate");
    in = p->in;
    in.nleads = 0;
    expect_refused(&in, "0 leads", "0 leads: the page draws 1 to 12");
    in.nleads = 13;
    expect_refused(&in, "13 leads", "13 leads: the page draws 1 to 12");
    in = p->in;
    in.nsamples = 0;
    expect_refused(&in, "no samples", "no samples to draw");
    p->uv[3][17] = NAN;
    expect_refused(&p->in, "a NaN sample", "lead 3 (aVR): sample 17 is NaN");
    p->uv[3][17] = INFINITY;
    expect_refused(&p->in, "an infinite sample", "sample 17 is infinite");
    p->uv[3][17] = 0;
    p->leads[5].uv = NULL;
    expect_refused(&p->in, "a lead without samples", "lead 5 (aVF) has no samples");
    p->leads[5].uv = p->uv[5];
    p->leads[2].name = "";
    expect_refused(&p->in, "a lead without a name", "lead 2 has no name");
    p->leads[2].name = "III";
    in = p->in;
    in.signer = "";
    expect_refused(&in, "no signer", "not signed");
    in = p->in;
    in.signed_ms = 0;
    expect_refused(&in, "no signing time", "not signed");
    in = p->in;
    in.version = 0;
    expect_refused(&in, "version 0", "version");
    in = p->in;
    static const char *const st[] = {"ok", ""};
    in.statements = st;
    in.nstatements = 2;
    expect_refused(&in, "an empty statement", "statement 2 is empty");
    in.nstatements = REPORT_PDF_MAX_STATEMENTS + 1;
    expect_refused(&in, "too many statements", "more than 32 statements");
    in = p->in;
    in.analysis_json = "{\"heart_rate\": ";
    expect_refused(&in, "a broken analysis", "analysis JSON does not parse");
    in = p->in;
    in.recording_id = 0;
    expect_refused(&in, "no recording id", "recording_id");
    free(p);
}

int main(void)
{
    RUN(the_paper_has_1_mm_and_5_mm_lines_at_true_scale);
    RUN(every_row_starts_with_a_1_mv_calibration_pulse_10_mm_tall);
    RUN(samples_are_drawn_at_their_time_and_voltage_in_the_3_by_4_layout);
    RUN(a_synthetic_ecg_s_r_peaks_are_drawn_where_they_belong);
    RUN(fewer_leads_get_one_row_each_over_the_whole_10_s);
    RUN(statements_and_free_text_are_drawn_below_the_paper);
    RUN(the_pdf_is_one_a4_landscape_page_with_the_cjk_font_embedded);
    RUN(times_are_written_in_utc_whatever_the_time_zone);
    RUN(bad_input_is_refused_with_a_clear_message);
    return check_report();
}
