/* report_pdf.c — a signed report on ECG paper: the page drawn with cairo and pango, and its PDF. */
#include "report_pdf.h"
#include "result_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cairo-pdf.h>
#include <cjson/cJSON.h>
#include <pango/pangocairo.h>

/* The CJK face has Latin glyphs too, so one family serves the whole page; "Sans" only when it
 * is missing. One weight only: cairo embeds a CJK face with its whole table of shared
 * subroutines (about 0.8 MB whatever the glyphs used), so a bold face would double the file;
 * headings stand out by size and colour instead. */
#define FONT_FAMILIES "Noto Sans CJK SC,Sans"
#define MM_TO_PT (72.0 / 25.4)

/* Page parts the header does not fix (mm). */
#define LINE_MM 4.5          /* header line pitch */
#define TEXT_MM 3.2          /* body text size (about 9 pt) */
#define LABEL_MM 3.0         /* lead labels */
#define COLUMN_W_MM 125.0    /* each half of the header and of the text area */
#define RIGHT_X_MM (REPORT_PDF_GRID_X_MM + REPORT_PDF_GRID_W_MM - COLUMN_W_MM)
#define TEXT_Y_MM 159.0
#define TEXT_BOTTOM_MM 204.0
#define TRACE_W_MM 0.3
#define MINOR_W_MM 0.1
#define MAJOR_W_MM 0.2


/* Pango's state for one drawing, and what it had to give up. */
typedef struct {
    cairo_t *cr;
    PangoFontMap *fonts;
    PangoContext *pc;
    report_pdf_notes notes;
} pen;

char *report_pdf_utc(int64_t ms, char *buf, size_t len)
{
    /* Floor division: a time before 1970 still names the second it falls in. */
    time_t t = (time_t)(ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000));
    struct tm tm;
    if (len) buf[0] = 0;
    if (len && gmtime_r(&t, &tm) && !strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm)) buf[0] = 0;
    return buf;
}

/* ---- input ---- */

static int check_input(const report_pdf *in, char *err, size_t errlen)
{
    if (!in) {
        snprintf(err, errlen, "PDF report: no report given");
        return -1;
    }
    char why[160] = "";
    if (in->recording_id <= 0) snprintf(why, sizeof why, "recording_id must be > 0");
    else if (in->nleads < 1 || in->nleads > REPORT_PDF_MAX_LEADS)
        snprintf(why, sizeof why, "%d leads: the page draws 1 to %d", in->nleads, REPORT_PDF_MAX_LEADS);
    else if (!in->leads) snprintf(why, sizeof why, "no leads given (leads is NULL)");
    else if (!isfinite(in->fs) || in->fs <= 0 || in->fs > REPORT_PDF_MAX_FS)
        snprintf(why, sizeof why, "fs %g is not a sampling rate (0 < fs <= %g)", in->fs, REPORT_PDF_MAX_FS);
    else if (in->nsamples < 1) snprintf(why, sizeof why, "no samples to draw (nsamples 0)");
    else if (in->received_ms <= 0) snprintf(why, sizeof why, "the recording has no time (received_ms)");
    else if (in->version < 1) snprintf(why, sizeof why, "version must be >= 1");
    else if (!in->signer || !*in->signer) snprintf(why, sizeof why, "the report is not signed (no signer)");
    else if (in->signed_ms <= 0) snprintf(why, sizeof why, "the report is not signed (no signing time)");
    else if (in->nstatements > REPORT_PDF_MAX_STATEMENTS)
        snprintf(why, sizeof why, "more than %d statements", REPORT_PDF_MAX_STATEMENTS);
    else if (in->nstatements && !in->statements) snprintf(why, sizeof why, "nstatements > 0 without statements");
    for (size_t i = 0; !why[0] && i < in->nstatements; i++)
        if (!in->statements[i] || !*in->statements[i]) snprintf(why, sizeof why, "statement %zu is empty", i + 1);
    for (int l = 0; !why[0] && l < in->nleads; l++) {
        const report_pdf_lead *d = &in->leads[l];
        if (!d->name || !*d->name) snprintf(why, sizeof why, "lead %d has no name", l);
        else if (!d->uv) snprintf(why, sizeof why, "lead %d (%.32s) has no samples (uv is NULL)", l, d->name);
        for (size_t i = 0; !why[0] && i < in->nsamples; i++)
            if (!isfinite(d->uv[i]))
                snprintf(why, sizeof why, "lead %d (%.32s): sample %zu is %s, not a number of microvolts", l, d->name,
                         i, isnan(d->uv[i]) ? "NaN" : "infinite");
    }
    if (!why[0]) return 0;
    snprintf(err, errlen, "PDF report of recording %lld: %s", (long long)in->recording_id, why);
    return -1;
}

/* The heart rate, beat count and distinct rhythm labels of the analysis JSON (NULL: none).
 * Returns 0, or -1 with err when it does not parse. */
static int read_analysis(const report_pdf *in, result_json_facts *f, char *err, size_t errlen)
{
    if (!result_json_read_facts(in->analysis_json, f)) return 0;
    snprintf(err, errlen, "PDF report of recording %lld: its analysis JSON does not parse as an object",
             (long long)in->recording_id);
    return -1;
}

/* ---- text ---- */

static int pen_open(pen *p, cairo_t *cr)
{
    memset(p, 0, sizeof *p);
    p->cr = cr;
    p->fonts = pango_cairo_font_map_new();
    p->pc = p->fonts ? pango_font_map_create_context(p->fonts) : NULL;
    if (!p->pc) return -1;
    /* Outlines as designed, metrics unhinted: the layout is the same on paper and on any
     * image, whatever the device's resolution. */
    cairo_font_options_t *fo = cairo_font_options_create();
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
    pango_cairo_context_set_font_options(p->pc, fo);
    cairo_font_options_destroy(fo);
    pango_cairo_update_context(cr, p->pc);
    return 0;
}

static void pen_close(pen *p)
{
    if (p->pc) g_object_unref(p->pc);
    if (p->fonts) g_object_unref(p->fonts);
}

typedef struct {
    double size_mm;
    int heading;      /* dark red instead of black */
    double width_mm;  /* 0: no wrapping */
    double height_mm; /* > 0: cut with "…" below this; < 0: at most -height_mm lines; 0: no limit */
    int right;        /* align to the right edge of width_mm */
} text_style;

/* Draws S (UTF-8; invalid bytes become U+FFFD) with its top-left at X, Y. Returns the height
 * drawn (mm). */
static double pen_text(pen *p, double x, double y, const text_style *st, const char *s)
{
    PangoLayout *layout = pango_layout_new(p->pc);
    PangoFontDescription *font = pango_font_description_from_string(FONT_FAMILIES);
    char *valid = g_utf8_make_valid(s ? s : "", -1);
    pango_font_description_set_absolute_size(font, st->size_mm * PANGO_SCALE);
    pango_layout_set_font_description(layout, font);
    if (st->width_mm > 0) {
        pango_layout_set_width(layout, (int)(st->width_mm * PANGO_SCALE));
        pango_layout_set_wrap(layout, PANGO_WRAP_WORD_CHAR);
        if (st->right) pango_layout_set_alignment(layout, PANGO_ALIGN_RIGHT);
    }
    if (st->height_mm != 0) {
        pango_layout_set_height(layout, st->height_mm > 0 ? (int)(st->height_mm * PANGO_SCALE) : (int)st->height_mm);
        pango_layout_set_ellipsize(layout, PANGO_ELLIPSIZE_END);
    }
    pango_layout_set_text(layout, valid, -1);
    cairo_save(p->cr);
    if (st->heading) cairo_set_source_rgb(p->cr, 0.55, 0.05, 0.05);
    else cairo_set_source_rgb(p->cr, 0, 0, 0);
    cairo_move_to(p->cr, x, y);
    pango_cairo_show_layout(p->cr, layout);
    cairo_restore(p->cr);
    p->notes.missing_glyphs += pango_layout_get_unknown_glyphs_count(layout);
    if (st->height_mm > 0 && pango_layout_is_ellipsized(layout)) p->notes.text_cut = 1;
    int w, h;
    pango_layout_get_size(layout, &w, &h);
    g_free(valid);
    pango_font_description_free(font);
    g_object_unref(layout);
    return (double)h / PANGO_SCALE;
}

/* One header line of at most a column's width (cut with "…" when longer). */
static void pen_line(pen *p, double x, double y, int heading, const char *s)
{
    text_style st = {TEXT_MM, heading, COLUMN_W_MM, -1, 0};
    pen_text(p, x, y, &st, s);
}

/* ---- the page ---- */

static void header(pen *p, const report_pdf *in, const result_json_facts *f)
{
    char line[1024], t[40];
    text_style title = {5.0, 1, 0, 0, 0}, right = {TEXT_MM, 0, REPORT_PDF_GRID_W_MM, -1, 1};
    const double x = REPORT_PDF_GRID_X_MM, y = 7.0;
    pen_text(p, x, y, &title, "心电图报告  ECG report");
    snprintf(line, sizeof line, "Recording %lld", (long long)in->recording_id);
    pen_text(p, x, y + 1.6, &right, line);

    const char *none = "—";
    snprintf(line, sizeof line, "Patient  %s", in->patient_id && *in->patient_id ? in->patient_id : none);
    pen_line(p, x, y + 7.5, 1, line);
    snprintf(line, sizeof line, "Site  %s     Device  %s", in->site && *in->site ? in->site : none,
             in->device && *in->device ? in->device : none);
    pen_line(p, x, y + 7.5 + LINE_MM, 0, line);
    snprintf(line, sizeof line, "Recorded  %s     %g Hz, %d lead%s", report_pdf_utc(in->received_ms, t, sizeof t),
             in->fs, in->nleads, in->nleads == 1 ? "" : "s");
    pen_line(p, x, y + 7.5 + 2 * LINE_MM, 0, line);

    if (in->version > 1)
        snprintf(line, sizeof line, "Amended report, version %d (corrects version %d)", in->version, in->version - 1);
    else
        snprintf(line, sizeof line, "Report version %d", in->version);
    pen_line(p, RIGHT_X_MM, y + 7.5, 1, line);
    snprintf(line, sizeof line, "Signed by %s, %s", in->signer, report_pdf_utc(in->signed_ms, t, sizeof t));
    pen_line(p, RIGHT_X_MM, y + 7.5 + LINE_MM, 0, line);

    size_t n = 0;
    line[0] = 0;
    if (f->has_hr) {
        n += (size_t)snprintf(line + n, sizeof line - n, "Heart rate %.0f/min", f->hr_mean);
        if (f->hr_max > 0 && n < sizeof line)
            n += (size_t)snprintf(line + n, sizeof line - n, " (%.0f–%.0f)", f->hr_min, f->hr_max);
    }
    if (f->has_beats && n < sizeof line)
        n += (size_t)snprintf(line + n, sizeof line - n, "%s%.0f beats", n ? "  ·  " : "", f->beats);
    for (size_t i = 0; i < f->nrhythms && n < sizeof line; i++)
        n += (size_t)snprintf(line + n, sizeof line - n, "%s%s", i ? ", " : n ? "  ·  Rhythm " : "Rhythm ",
                              f->rhythms[i]);
    if (!in->analysis_json) snprintf(line, sizeof line, "No automated analysis");
    pen_line(p, RIGHT_X_MM, y + 7.5 + 2 * LINE_MM, 0, line);
}

static void grid(cairo_t *cr)
{
    const double x0 = REPORT_PDF_GRID_X_MM, y0 = REPORT_PDF_GRID_Y_MM;
    const int nx = (int)REPORT_PDF_GRID_W_MM, ny = (int)REPORT_PDF_GRID_H_MM;
    cairo_save(cr);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_BUTT);
    for (int major = 0; major < 2; major++) {
        /* Minor lines only where no major line goes, so that each line has one colour. */
        for (int k = 0; k <= nx; k++)
            if ((k % 5 == 0) == major) {
                cairo_move_to(cr, x0 + k, y0);
                cairo_line_to(cr, x0 + k, y0 + ny);
            }
        for (int k = 0; k <= ny; k++)
            if ((k % 5 == 0) == major) {
                cairo_move_to(cr, x0, y0 + k);
                cairo_line_to(cr, x0 + nx, y0 + k);
            }
        if (major) cairo_set_source_rgb(cr, 0.92, 0.40, 0.40);
        else cairo_set_source_rgb(cr, 1.0, 0.76, 0.76);
        cairo_set_line_width(cr, major ? MAJOR_W_MM : MINOR_W_MM);
        cairo_stroke(cr);
    }
    cairo_restore(cr);
}

/* The 1 mV, 0.2 s calibration pulse at the start of a row whose baseline is at BASE. */
static void calibration(cairo_t *cr, double base)
{
    const double x = REPORT_PDF_GRID_X_MM, up = REPORT_PDF_MM_PER_MV, w = 0.2 * REPORT_PDF_MM_PER_S;
    cairo_move_to(cr, x + 1, base);
    cairo_line_to(cr, x + 3, base);
    cairo_line_to(cr, x + 3, base - up);
    cairo_line_to(cr, x + 3 + w, base - up);
    cairo_line_to(cr, x + 3 + w, base);
    cairo_line_to(cr, x + REPORT_PDF_CAL_W_MM - 1, base);
    cairo_stroke(cr);
}

/* Samples [I0, I1) of lead L at their own times, 0 µV on BASE. */
static void trace(cairo_t *cr, const report_pdf *in, int l, size_t i0, size_t i1, double base)
{
    const double *uv = in->leads[l].uv;
    const double x0 = REPORT_PDF_GRID_X_MM + REPORT_PDF_CAL_W_MM, mm_per_sample = REPORT_PDF_MM_PER_S / in->fs;
    const double mm_per_uv = REPORT_PDF_MM_PER_MV / 1000.0;
    if (i0 >= i1) return;
    cairo_move_to(cr, x0 + (double)i0 * mm_per_sample, base - uv[i0] * mm_per_uv);
    /* A lone sample still shows, as a dot (round caps). */
    if (i1 - i0 == 1) cairo_line_to(cr, x0 + (double)i0 * mm_per_sample, base - uv[i0] * mm_per_uv);
    for (size_t i = i0 + 1; i < i1; i++) cairo_line_to(cr, x0 + (double)i * mm_per_sample, base - uv[i] * mm_per_uv);
    cairo_stroke(cr);
}

static void label(pen *p, double x, double row_top, const char *name)
{
    text_style st = {LABEL_MM, 0, 0, 0, 0};
    pen_text(p, x + 1.0, row_top + 0.8, &st, name);
}

/* The index of the lead named NAME (any case), or -1. */
static int find_lead(const report_pdf *in, const char *name)
{
    for (int l = 0; l < in->nleads; l++)
        if (!strcasecmp(in->leads[l].name, name)) return l;
    return -1;
}

static void leads(pen *p, const report_pdf *in)
{
    static const char *const standard[12] = {"I", "II", "III", "aVR", "aVL", "aVF",
                                              "V1", "V2", "V3", "V4", "V5", "V6"};
    cairo_t *cr = p->cr;
    const double gx = REPORT_PDF_GRID_X_MM, gy = REPORT_PDF_GRID_Y_MM, x0 = gx + REPORT_PDF_CAL_W_MM;
    const int twelve = in->nleads == 12, rows = twelve ? 4 : in->nleads;
    const double pitch = REPORT_PDF_GRID_H_MM / (rows > REPORT_PDF_MIN_ROWS ? rows : REPORT_PDF_MIN_ROWS);
    double limit = ceil(REPORT_PDF_SECONDS * in->fs);
    const size_t ndraw = (double)in->nsamples < limit ? in->nsamples : (size_t)limit;

    cairo_save(cr);
    cairo_rectangle(cr, gx, gy, REPORT_PDF_GRID_W_MM, REPORT_PDF_GRID_H_MM);
    cairo_clip(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, TRACE_W_MM);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);

    int order[12];
    int by_name = twelve;
    for (int i = 0; twelve && i < 12; i++) by_name &= (order[i] = find_lead(in, standard[i])) >= 0;
    for (int i = 0; twelve && !by_name && i < 12; i++) order[i] = i;

    for (int r = 0; r < rows; r++) {
        const double top = gy + r * pitch, base = top + fmax(pitch * 2.0 / 3.0, REPORT_PDF_BASELINE_MIN_MM);
        calibration(cr, base);
        if (!twelve || r == 3) {
            int l = twelve ? order[1] : r;
            trace(cr, in, l, 0, ndraw, base);
            label(p, x0, top, in->leads[l].name);
            continue;
        }
        for (int c = 0; c < 4; c++) {
            const double t0 = 2.5 * c, col_x = x0 + t0 * REPORT_PDF_MM_PER_S;
            size_t i0 = (size_t)ceil(t0 * in->fs), i1 = (size_t)ceil((t0 + 2.5) * in->fs);
            if (i1 > ndraw) i1 = ndraw;
            int l = order[c * 3 + r];
            trace(cr, in, l, i0, i1, base);
            label(p, col_x, top, in->leads[l].name);
            if (c > 0) { /* where one column's leads give way to the next's */
                cairo_move_to(cr, col_x, base - 2.5);
                cairo_line_to(cr, col_x, base + 2.5);
                cairo_stroke(cr);
            }
        }
    }
    cairo_restore(cr);

    char line[160];
    text_style small = {2.6, 0, 0, 0, 0};
    snprintf(line, sizeof line, "25 mm/s     10 mm/mV     %g Hz     %.1f s", in->fs, (double)ndraw / in->fs);
    pen_text(p, gx, gy + REPORT_PDF_GRID_H_MM + 1.2, &small, line);
}

/* Returns 0, or -1 when out of memory. */
static int report_text(pen *p, const report_pdf *in)
{
    text_style head = {3.6, 1, COLUMN_W_MM, -1, 0};
    text_style body = {TEXT_MM, 0, COLUMN_W_MM, TEXT_BOTTOM_MM - TEXT_Y_MM - 5.5, 0};
    const double x = REPORT_PDF_GRID_X_MM, y = TEXT_Y_MM;
    pen_text(p, x, y, &head, "诊断  Statements");
    pen_text(p, RIGHT_X_MM, y, &head, "报告  Report text");

    size_t cap = 8, n = 0;
    for (size_t i = 0; i < in->nstatements; i++) cap += strlen(in->statements[i]) + 8;
    char *list = malloc(cap);
    if (!list) return -1;
    list[0] = 0;
    for (size_t i = 0; i < in->nstatements; i++)
        n += (size_t)snprintf(list + n, cap - n, "%s• %s", i ? "\n" : "", in->statements[i]);
    pen_text(p, x, y + 5.5, &body, in->nstatements ? list : "—");
    free(list);
    pen_text(p, RIGHT_X_MM, y + 5.5, &body, in->text && *in->text ? in->text : "—");
    return 0;
}

int report_pdf_draw(cairo_t *cr, const report_pdf *in, report_pdf_notes *notes, char *err, size_t errlen)
{
    result_json_facts f;
    pen p;
    if (notes) memset(notes, 0, sizeof *notes);
    if (check_input(in, err, errlen) || read_analysis(in, &f, err, errlen)) return -1;
    if (!cr || cairo_status(cr) != CAIRO_STATUS_SUCCESS) {
        snprintf(err, errlen, "PDF report of recording %lld: cannot draw: %s", (long long)in->recording_id,
                 cr ? cairo_status_to_string(cairo_status(cr)) : "no cairo context");
        return -1;
    }
    cairo_save(cr);
    if (pen_open(&p, cr)) {
        pen_close(&p);
        cairo_restore(cr);
        snprintf(err, errlen, "PDF report of recording %lld: cannot set up the fonts", (long long)in->recording_id);
        return -1;
    }
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_rectangle(cr, 0, 0, REPORT_PDF_PAGE_W_MM, REPORT_PDF_PAGE_H_MM);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    header(&p, in, &f);
    grid(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    leads(&p, in);
    int oom = report_text(&p, in);
    pen_close(&p);
    cairo_restore(cr);
    cairo_status_t status = cairo_status(cr);
    if (oom || status != CAIRO_STATUS_SUCCESS) {
        snprintf(err, errlen, "PDF report of recording %lld: drawing failed: %s", (long long)in->recording_id,
                 oom ? "out of memory" : cairo_status_to_string(status));
        return -1;
    }
    if (notes) *notes = p.notes;
    return 0;
}

/* ---- the PDF ---- */

typedef struct {
    unsigned char *p;
    size_t len, cap;
    int oom;
} bytes;

static cairo_status_t pdf_write(void *closure, const unsigned char *data, unsigned int length)
{
    bytes *b = closure;
    if (b->len + length > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->len + length) cap *= 2;
        unsigned char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return CAIRO_STATUS_WRITE_ERROR;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, length);
    b->len += length;
    return CAIRO_STATUS_SUCCESS;
}

int report_pdf_render(const report_pdf *in, unsigned char **pdf, size_t *len, report_pdf_notes *notes, char *err,
                      size_t errlen)
{
    bytes b = {0};
    *pdf = NULL;
    *len = 0;
    if (notes) memset(notes, 0, sizeof *notes);
    if (check_input(in, err, errlen)) return -1;
    cairo_surface_t *surface = cairo_pdf_surface_create_for_stream(pdf_write, &b, REPORT_PDF_PAGE_W_MM * MM_TO_PT,
                                                                   REPORT_PDF_PAGE_H_MM * MM_TO_PT);
    char title[96];
    snprintf(title, sizeof title, "ECG report, recording %lld, version %d", (long long)in->recording_id, in->version);
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, title);
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "ecgnet");
    cairo_t *cr = cairo_create(surface);
    cairo_scale(cr, MM_TO_PT, MM_TO_PT);
    int rc = report_pdf_draw(cr, in, notes, err, errlen);
    cairo_show_page(cr);
    cairo_destroy(cr);
    cairo_surface_finish(surface);
    cairo_status_t status = cairo_surface_status(surface);
    cairo_surface_destroy(surface);
    if (rc) goto fail;
    if (b.oom || status != CAIRO_STATUS_SUCCESS) {
        snprintf(err, errlen, "PDF report of recording %lld: writing the PDF failed: %s", (long long)in->recording_id,
                 b.oom ? "out of memory" : cairo_status_to_string(status));
        goto fail;
    }
    *pdf = b.p;
    *len = b.len;
    return 0;
fail:
    free(b.p);
    if (notes) memset(notes, 0, sizeof *notes);
    return -1;
}
