/* http_pdf.c — GET /api/recordings/{id}/export.pdf: the signed report on ECG paper, one A4 page
 * (models/report_pdf.h), drawn from the first 10 s of the recording as its journal holds them. */
#include <math.h>
#include <pthread.h>
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

/* An export being drawn: the inputs read on the loop, the result the thread leaves. */
struct http_pdf_job {
    http_pdf_job *next;
    http_ctx *ctx;
    struct lws_context *lws;
    http_req *req;              /* NULL once the request is gone (under ctx->mu) */
    int64_t id;
    char actor[96];
    store_review_item it;
    store_report *rep;
    char *analysis;
    http_window w;
    report_pdf_lead leads[REPORT_PDF_MAX_LEADS];
    const char *statements[STORE_REPORT_MAX_STATEMENTS];
    /* the result */
    unsigned char *pdf;
    size_t len;
    int failed, missing_glyphs;
    char err[512];
};

#define PDF_MAX_RENDERING 2 /* threads drawing at once; more exports are asked to retry */

static void job_free(http_pdf_job *j)
{
    if (!j) return;
    free(j->pdf);
    http_signal_window_free(&j->w);
    free(j->analysis);
    free(j->rep);
    free(j);
}

void http_pdf_job_detach(http_pdf_job *job)
{
    job->req = NULL;
}

int http_ctx_init(http_ctx *ctx)
{
    ctx->done = NULL;
    ctx->rendering = 0;
    if (pthread_mutex_init(&ctx->mu, NULL)) return -1;
    if (pthread_cond_init(&ctx->idle, NULL)) {
        pthread_mutex_destroy(&ctx->mu);
        return -1;
    }
    return 0;
}

void http_ctx_free(http_ctx *ctx)
{
    pthread_mutex_lock(&ctx->mu);
    while (ctx->rendering) pthread_cond_wait(&ctx->idle, &ctx->mu);
    http_pdf_job *j = ctx->done;
    ctx->done = NULL;
    pthread_mutex_unlock(&ctx->mu);
    /* Unanswered: their requests forget them, so that closing the connections later (when the
     * context goes) touches neither the jobs nor the mutex. */
    while (j) {
        http_pdf_job *next = j->next;
        if (j->req) j->req->job = NULL;
        job_free(j);
        j = next;
    }
    pthread_cond_destroy(&ctx->idle);
    pthread_mutex_destroy(&ctx->mu);
}

/* The drawing thread: renders, hands the job to the loop and wakes it. The wake-up happens
 * before RENDERING drops, so that http_ctx_free (waiting for RENDERING to reach 0) never lets
 * the libwebsockets context go while a thread is still about to use it. */
static void *draw(void *arg)
{
    http_pdf_job *j = arg;
    const store_report *rep = j->rep;
    report_pdf in = {
        .recording_id = j->id, .patient_id = j->it.rec.patient_id, .site = j->it.rec.site,
        .device = j->it.rec.device, .received_ms = j->it.rec.received_ms, .fs = j->w.hello->fs,
        .nleads = j->w.hello->nleads, .leads = j->leads, .nsamples = j->w.got, .version = rep->version,
        .signer = rep->signer, .signed_ms = rep->signed_ms, .nstatements = rep->nstatements,
        .statements = j->statements, .text = rep->text, .analysis_json = j->analysis,
    };
    report_pdf_notes notes = {0};
    j->failed = report_pdf_render(&in, &j->pdf, &j->len, &notes, j->err, sizeof j->err) != 0;
    j->missing_glyphs = notes.missing_glyphs;
    http_ctx *ctx = j->ctx;
    pthread_mutex_lock(&ctx->mu);
    j->next = ctx->done;
    ctx->done = j;
    lws_cancel_service(j->lws);
    if (--ctx->rendering == 0) pthread_cond_broadcast(&ctx->idle);
    pthread_mutex_unlock(&ctx->mu);
    return NULL;
}

/* On the loop: audits the export and answers R with the finished job J. */
static void answer(http_req *r, http_pdf_job *j)
{
    char err[512] = "", msg[64], name[64];
    if (j->missing_glyphs)
        net_log(NET_LOG_WARN, "http", "pdf recording=%lld missing_glyphs=%d (install fonts-noto-cjk)",
                (long long)j->id, j->missing_glyphs);
    /* The input came from the store and the journal: a refusal by the renderer is the server's fault. */
    if (j->failed) {
        http_reply_store(r, STORE_ERR, j->err);
        return;
    }
    snprintf(msg, sizeof msg, "PDF, report version %d", j->rep->version);
    int src = store_audit(r->ctx->st, j->actor, "report.export", j->id, msg, err, sizeof err);
    if (src != STORE_OK) {
        http_reply_store(r, src, err);
        return;
    }
    snprintf(name, sizeof name, "ecg-%lld-v%d.pdf", (long long)j->id, j->rep->version);
    http_reply_download(r, "application/pdf", name, j->pdf, j->len);
}

void http_finish_jobs(http_ctx *ctx)
{
    pthread_mutex_lock(&ctx->mu);
    http_pdf_job *j = ctx->done;
    ctx->done = NULL;
    pthread_mutex_unlock(&ctx->mu);
    /* req_free and req_begin detach a job on this same thread: REQ cannot change under us. */
    while (j) {
        http_pdf_job *next = j->next;
        if (j->req) {
            j->req->job = NULL;
            answer(j->req, j);
        }
        job_free(j);
        j = next;
    }
}

/* Same access and the same refusals as the HL7 and FHIR exports (http_review_export): the
 * recording as its user may see it, signed, with a patient id; audited alike. The drawing
 * happens on a thread of its own; the answer follows when it is done. */
int http_pdf_export(http_req *r, int64_t id)
{
    char err[STORE_JOURNAL_ERRLEN] = "", msg[200];
    http_pdf_job *j = calloc(1, sizeof *j);
    if (!j || !(j->rep = malloc(sizeof *j->rep))) {
        job_free(j);
        return http_reply_json(r, HTTP_STATUS_OK, NULL);
    }
    int src = store_review_get(r->ctx->st, &r->user, id, &j->it, err, sizeof err);
    if (src != STORE_OK) goto fail;
    if (j->it.rec.purged_ms) {
        int rc = http_reply_purged(r, &j->it.rec);
        job_free(j);
        return rc;
    }
    if (strcmp(j->it.rec.review, "signed")) {
        snprintf(msg, sizeof msg, "recording %lld is \"%s\": only a signed report can be exported", (long long)id,
                 j->it.rec.review);
        goto conflict;
    }
    if (!j->it.rec.patient_id[0]) {
        snprintf(msg, sizeof msg, "recording %lld has no patient id: its report cannot be filed", (long long)id);
        goto conflict;
    }
    if ((src = store_report_get(r->ctx->st, &r->user, id, j->rep, err, sizeof err)) != STORE_OK) goto fail;
    if (!j->rep->is_signed) {
        snprintf(msg, sizeof msg, "recording %lld has only a draft: sign it first", (long long)id);
        goto conflict;
    }
    if ((src = store_recording_analysis(r->ctx->st, id, &j->analysis, err, sizeof err)) != STORE_OK) goto fail;

    /* The first 10 s, every sample. */
    int64_t count = (int64_t)ceil(REPORT_PDF_SECONDS * j->it.rec.fs);
    src = STORE_ERR;
    if (http_signal_window(j->it.rec.journal, 0, 1, count, (size_t)count * PROTO_MAX_LEADS, &j->w, err, sizeof err))
        goto fail;
    if (j->w.hello->nleads > REPORT_PDF_MAX_LEADS) {
        snprintf(msg, sizeof msg, "recording %lld has %d leads: the PDF draws at most %d", (long long)id,
                 j->w.hello->nleads, REPORT_PDF_MAX_LEADS);
        goto conflict;
    }
    if (!j->w.got) {
        snprintf(msg, sizeof msg, "recording %lld has no samples to draw", (long long)id);
        goto conflict;
    }
    if (centre(&j->w)) {
        snprintf(err, sizeof err, "out of memory centring the signal of recording %lld", (long long)id);
        goto fail;
    }
    for (int l = 0; l < j->w.hello->nleads; l++) {
        j->leads[l].name = j->w.hello->leads[l].name;
        j->leads[l].uv = j->w.data + (size_t)l * j->w.want;
    }
    for (size_t i = 0; i < j->rep->nstatements && i < STORE_REPORT_MAX_STATEMENTS; i++)
        j->statements[i] = j->rep->statements[i];
    j->id = id;
    j->ctx = r->ctx;
    j->lws = lws_get_context(r->wsi);
    j->req = r;
    snprintf(j->actor, sizeof j->actor, "user:%s", r->user.name);

    pthread_mutex_lock(&r->ctx->mu);
    int busy = r->ctx->rendering >= PDF_MAX_RENDERING;
    if (!busy) r->ctx->rendering++;
    pthread_mutex_unlock(&r->ctx->mu);
    if (busy) {
        job_free(j);
        r->retry_after_s = 1;
        return http_reply_error(r, HTTP_STATUS_SERVICE_UNAVAILABLE, "other reports are being drawn: try again in a moment");
    }
    pthread_t t;
    pthread_attr_t attr;
    int started = !pthread_attr_init(&attr);
    if (started) {
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        started = !pthread_create(&t, &attr, draw, j);
        pthread_attr_destroy(&attr);
    }
    if (!started) {
        pthread_mutex_lock(&r->ctx->mu);
        if (--r->ctx->rendering == 0) pthread_cond_broadcast(&r->ctx->idle);
        pthread_mutex_unlock(&r->ctx->mu);
        job_free(j);
        snprintf(err, sizeof err, "cannot start a thread to draw the PDF of recording %lld", (long long)id);
        return http_reply_store(r, STORE_ERR, err);
    }
    r->job = j;
    return 0; /* answered by http_finish_jobs */
conflict:
    job_free(j);
    return http_reply_error(r, HTTP_STATUS_CONFLICT, msg);
fail:
    job_free(j);
    return http_reply_store(r, src, err);
}
