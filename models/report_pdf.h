/* report_pdf.h — a signed ECG report as a one-page A4 landscape PDF: the 12-lead on ECG paper at
 * true size, with the report's statements and free text, for printing and filing.
 *
 * The module knows nothing of the store or the network: the caller copies the recording's facts,
 * a 10-s window of its samples (in microvolts) and the signed report into a report_pdf (borrowed
 * pointers, nothing is kept). Drawing goes through cairo, text through pango (pangocairo), so
 * Chinese text is laid out and shaped like any other: the font is "Noto Sans CJK SC" (Debian
 * fonts-noto-cjk), falling back to "Sans". Every call makes its own pango font map: no state is
 * shared between calls, and calls on different threads do not meet.
 *
 * Units and layout. The page is drawn in millimetres, origin at the top-left corner of the page,
 * x to the right and y down; report_pdf_render scales millimetres to PDF points (72/25.4). The
 * page (REPORT_PDF_PAGE_*_MM, 297 × 210 mm) holds, top to bottom:
 *
 *   y   7 ..  30  header: patient id, site, device, recording time (UTC, written "UTC"), fs and
 *                 leads; report version (an amendment says so), signer and signing time (UTC);
 *                 from the analysis JSON, when given: heart rate mean (min–max), beats, rhythms;
 *   y  32 .. 152  the ECG paper (REPORT_PDF_GRID_*): x 18 .. 278 mm, minor lines every 1 mm
 *                 (0.1 mm wide, light red), major lines every 5 mm (0.2 mm, red), on white;
 *   y 153 .. 157  the scale: 25 mm/s, 10 mm/mV, sampling rate, seconds shown;
 *   y 159 .. 204  the statements (left half) and the free text (right half), wrapped; text that
 *                 does not fit is cut with "…" (report_pdf_notes.text_cut says so).
 *
 * The paper has ROWS rows: 4 for 12 leads (3 × 4 layout plus the rhythm strip), NLEADS for 1..11
 * leads (one lead a row). Row r (0-based) begins at y = GRID_Y + r * PITCH, where PITCH =
 * GRID_H / max(ROWS, 4) (30 mm for up to 4 rows, 10.9 mm for 11), and its baseline (0 µV) lies
 * at y = GRID_Y + r * PITCH + max(PITCH * 2 / 3, REPORT_PDF_BASELINE_MIN_MM) (the second term:
 * room for the pulse in a row of 11). Each row begins with a 1 mV calibration pulse in its
 * first REPORT_PDF_CAL_W_MM: flat from GRID_X + 1 to GRID_X + 3 mm, up 10 mm, across 5 mm
 * (0.2 s), down, flat to GRID_X + 9 mm. The signal follows: sample i of a lead (i from 0, the
 * window's first sample) is drawn at x = GRID_X + CAL_W + i / fs * 25 mm and
 * y = baseline - uv[i] / 1000 * 10 mm, as given (no filtering, no offset removed), in black
 * lines 0.3 mm wide, clipped to the paper; samples past 10 s are not drawn.
 *
 *   12 leads, 3 × 4: rows 0..2 hold the columns I II III | aVR aVL aVF | V1 V2 V3 | V4 V5 V6, each
 *   column 2.5 s (62.5 mm) of its own leads at their own times (column c shows 2.5c .. 2.5c +
 *   2.5 s, at the x above), separated by short vertical ticks; row 3 is lead II over the whole
 *   10 s. Leads are found by name (I, II, III, aVR, aVL, aVF, V1..V6, any case); when the 12 names
 *   are not exactly these, the leads go into the columns in the order given (the 4th column
 *   holding leads 9..11) and the rhythm strip is lead 1.
 *   1..11 leads: row r is lead r over the whole 10 s.
 *
 * Each segment is labelled with its lead's name near the top-left of its place in the row.
 */
#ifndef ECGNET_MODELS_REPORT_PDF_H
#define ECGNET_MODELS_REPORT_PDF_H

#include <stddef.h>
#include <stdint.h>

#include <cairo.h>

#define REPORT_PDF_PAGE_W_MM 297.0
#define REPORT_PDF_PAGE_H_MM 210.0
#define REPORT_PDF_GRID_X_MM 18.0
#define REPORT_PDF_GRID_Y_MM 32.0
#define REPORT_PDF_GRID_W_MM 260.0  /* CAL_W + 10 s at 25 mm/s */
#define REPORT_PDF_GRID_H_MM 120.0
#define REPORT_PDF_CAL_W_MM 10.0    /* the calibration pulse's place at the start of every row */
#define REPORT_PDF_MM_PER_S 25.0
#define REPORT_PDF_MM_PER_MV 10.0
#define REPORT_PDF_SECONDS 10.0     /* the window drawn */
#define REPORT_PDF_MIN_ROWS 4       /* rows are never taller than GRID_H / 4 */
#define REPORT_PDF_BASELINE_MIN_MM 10.5 /* a baseline lies at least this far below its row's top */
#define REPORT_PDF_MAX_LEADS 12
#define REPORT_PDF_MAX_STATEMENTS 32
#define REPORT_PDF_MAX_FS 100000.0  /* samples per second accepted */

typedef struct {
    const char *name;   /* the lead's name as recorded ("II", "V1", "MLII"): 1.. bytes of text */
    const double *uv;   /* nsamples values, microvolts, finite */
} report_pdf_lead;

typedef struct {
    /* the recording */
    int64_t recording_id;        /* the store's id, > 0 */
    const char *patient_id;      /* NULL or "" when unknown (printed as such) */
    const char *site;            /* NULL or "" when unknown */
    const char *device;          /* NULL or "" when unknown */
    int64_t received_ms;         /* when the ECG began (Unix ms), > 0 */
    double fs;                   /* samples per second, 0 < fs <= REPORT_PDF_MAX_FS */
    int nleads;                  /* 1..REPORT_PDF_MAX_LEADS */
    const report_pdf_lead *leads; /* nleads leads */
    size_t nsamples;             /* samples per lead from the window's start, >= 1; only the
                                  * first 10 s (i / fs < 10) are drawn */
    /* the signed report version */
    int version;                 /* 1.. ; >= 2: an amendment */
    const char *signer;          /* the signing cardiologist, 1.. bytes */
    int64_t signed_ms;           /* when this version was signed (Unix ms), > 0 */
    size_t nstatements;          /* 0..REPORT_PDF_MAX_STATEMENTS */
    const char *const *statements; /* nstatements non-empty strings (NULL when none) */
    const char *text;            /* the free text, line breaks allowed; NULL or "" when none */
    /* the analysis */
    const char *analysis_json;   /* the analysis report as stored (result_json); NULL: none */
} report_pdf;

/* What a drawing had to give up, for the caller to log or show. */
typedef struct {
    int missing_glyphs; /* characters no installed font could draw (shown as boxes): 0 when the
                         * fonts are installed */
    int text_cut;       /* 1 when the statements or the free text did not fit and were cut */
} report_pdf_notes;

/* Draws the page of IN on CR, whose user space must be millimetres with the page's top-left at
 * the origin (scale the surface's units to millimetres before calling); paints the page white
 * first. CR's state is restored on return. Text is UTF-8 (an invalid byte is drawn as U+FFFD).
 * *NOTES (unless NULL) receives what had to be given up. Returns 0, or -1 with a message in ERR
 * (nothing drawn) for bad input — which field and why: no leads, fs not positive, 0 or more than
 * 12 leads, a lead without name or samples, a sample that is not a finite number (lead and
 * sample named), no signer or signing time, an empty statement, an analysis JSON that does not
 * parse — or for a cairo failure (out of memory) while drawing. */
int report_pdf_draw(cairo_t *cr, const report_pdf *in, report_pdf_notes *notes, char *err, size_t errlen);

/* Renders IN as a one-page A4 landscape PDF (841.9 × 595.3 pt) in memory, titled after the
 * recording and the report version. *PDF receives the malloc'd bytes (the caller frees them) and
 * *LEN their count. Returns 0, or -1 with ERR as report_pdf_draw (and *PDF NULL, *LEN 0). */
int report_pdf_render(const report_pdf *in, unsigned char **pdf, size_t *len, report_pdf_notes *notes, char *err,
                      size_t errlen);

/* MS (Unix ms) as the page writes times: "YYYY-MM-DD hh:mm:ss UTC" (UTC whatever the server's
 * time zone). BUF of LEN >= 24 bytes; "" when the time cannot be represented. Returns BUF. */
char *report_pdf_utc(int64_t ms, char *buf, size_t len);

#endif
