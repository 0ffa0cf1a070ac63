/* http_pdf.c — GET /api/recordings/{id}/export.pdf: the signed report on ECG paper, one A4 page
 * (models/report_pdf.h), drawn from the first 10 s of the recording as its journal holds them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_impl.h"
#include "journal.h"
#include "log.h"
#include "report_pdf.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Subtracts from each lead of W its median over the window: the journal holds the device's raw
 * samples, whose offset would otherwise put a trace anywhere on the paper, even on another
 * lead's row; the median leaves the waveform itself untouched. Returns 0, or -1 when out of
 * memory. */
static int centre(http_window *w)
{
    double *sorted = malloc(w->got * sizeof *sorted);
    if (!sorted) return -1;
    for (int l = 0; l < w->hello->nleads; l++) {
        double *x = w->data + (size_t)l * w->want;
        memcpy(sorted, x, w->got * sizeof *sorted);
        qsort(sorted, w->got, sizeof *sorted, cmp_double);
        double median = w->got % 2 ? sorted[w->got / 2] : (sorted[w->got / 2 - 1] + sorted[w->got / 2]) / 2;
        for (size_t i = 0; i < w->got; i++) x[i] -= median;
    }
    free(sorted);
    return 0;
}

/* Same access and the same refusals as the HL7 and FHIR exports (http_review_export): the
 * recording as its user may see it, signed, with a patient id; audited alike. */
int http_pdf_export(http_req *r, int64_t id)
{
    char err[STORE_JOURNAL_ERRLEN] = "", msg[200], actor[96], name[64];
    store_review_item it;
    int src = store_review_get(r->ctx->st, &r->user, id, &it, err, sizeof err);
    if (src != STORE_OK) return http_reply_store(r, src, err);
    if (strcmp(it.rec.review, "signed")) {
        snprintf(msg, sizeof msg, "recording %lld is \"%s\": only a signed report can be exported", (long long)id,
                 it.rec.review);
        return http_reply_error(r, HTTP_STATUS_CONFLICT, msg);
    }
    if (!it.rec.patient_id[0]) {
        snprintf(msg, sizeof msg, "recording %lld has no patient id: its report cannot be filed", (long long)id);
        return http_reply_error(r, HTTP_STATUS_CONFLICT, msg);
    }

    store_report *rep = malloc(sizeof *rep);
    char *analysis = NULL;
    unsigned char *pdf = NULL;
    size_t len = 0;
    http_window w = {0};
    report_pdf_lead leads[REPORT_PDF_MAX_LEADS];
    if (!rep) return http_reply_json(r, HTTP_STATUS_OK, NULL);
    if ((src = store_report_get(r->ctx->st, &r->user, id, rep, err, sizeof err)) != STORE_OK) goto fail;
    if (!rep->is_signed) {
        snprintf(msg, sizeof msg, "recording %lld has only a draft: sign it first", (long long)id);
        goto conflict;
    }
    if ((src = store_recording_analysis(r->ctx->st, id, &analysis, err, sizeof err)) != STORE_OK) goto fail;

    /* The first 10 s, every sample. */
    int64_t count = (int64_t)ceil(REPORT_PDF_SECONDS * it.rec.fs);
    src = STORE_ERR;
    if (http_signal_window(it.rec.journal, 0, 1, count, (size_t)count * PROTO_MAX_LEADS, &w, err, sizeof err))
        goto fail;
    if (w.hello->nleads > REPORT_PDF_MAX_LEADS) {
        snprintf(msg, sizeof msg, "recording %lld has %d leads: the PDF draws at most %d", (long long)id,
                 w.hello->nleads, REPORT_PDF_MAX_LEADS);
        goto conflict;
    }
    if (!w.got) {
        snprintf(msg, sizeof msg, "recording %lld has no samples to draw", (long long)id);
        goto conflict;
    }
    if (centre(&w)) {
        snprintf(err, sizeof err, "out of memory centring the signal of recording %lld", (long long)id);
        goto fail;
    }
    for (int l = 0; l < w.hello->nleads; l++) {
        leads[l].name = w.hello->leads[l].name;
        leads[l].uv = w.data + (size_t)l * w.want;
    }
    const char *st[STORE_REPORT_MAX_STATEMENTS];
    for (size_t i = 0; i < rep->nstatements && i < STORE_REPORT_MAX_STATEMENTS; i++) st[i] = rep->statements[i];
    report_pdf in = {
        .recording_id = id, .patient_id = it.rec.patient_id, .site = it.rec.site, .device = it.rec.device,
        .received_ms = it.rec.received_ms, .fs = w.hello->fs, .nleads = w.hello->nleads, .leads = leads,
        .nsamples = w.got, .version = rep->version, .signer = rep->signer, .signed_ms = rep->signed_ms,
        .nstatements = rep->nstatements, .statements = st, .text = rep->text, .analysis_json = analysis,
    };
    report_pdf_notes notes;
    /* The input comes from the store and the journal: a refusal here is the server's fault. */
    if (report_pdf_render(&in, &pdf, &len, &notes, err, sizeof err)) goto fail;
    if (notes.missing_glyphs)
        net_log(NET_LOG_WARN, "http", "pdf recording=%lld missing_glyphs=%d (install fonts-noto-cjk)", (long long)id,
                notes.missing_glyphs);

    snprintf(actor, sizeof actor, "user:%s", r->user.name);
    snprintf(msg, sizeof msg, "PDF, report version %d", rep->version);
    if ((src = store_audit(r->ctx->st, actor, "report.export", id, msg, err, sizeof err)) != STORE_OK) goto fail;
    snprintf(name, sizeof name, "ecg-%lld-v%d.pdf", (long long)id, rep->version);
    int rc = http_reply_download(r, "application/pdf", name, pdf, len);
    free(pdf);
    http_signal_window_free(&w);
    free(analysis);
    free(rep);
    return rc;
conflict:
    http_signal_window_free(&w);
    free(analysis);
    free(rep);
    return http_reply_error(r, HTTP_STATUS_CONFLICT, msg);
fail:
    free(pdf);
    http_signal_window_free(&w);
    free(analysis);
    free(rep);
    return http_reply_store(r, src, err);
}
