/* test_beatclass.c — specification of the beat classifier (models/beatclass.h) on synthetic ECGs. */
#include "check.h"

#include "beatclass.h"
#include "beatclass_model.h"
#include "ec57_classes.h"
#include "pipeline.h"
#include "synth.h"

#include <stdint.h>

#define FS 360.0
#define MATCH_S 0.150

static synth_ecg *generate(int nleads, double seconds, double pvc, double pac, uint64_t seed)
{
    synth_opts o;
    synth_defaults(&o);
    o.fs = FS;
    o.duration_s = seconds;
    o.nleads = nleads;
    o.pvc_prob = pvc;
    o.pac_prob = pac;
    o.emg_mv = 0.01;
    o.seed = seed;
    synth_ecg *e = synth_generate(&o);
    if (!e) {
        fprintf(stderr, "synth_generate refused %d leads, seed %llu\n", nleads, (unsigned long long)seed);
        exit(2);
    }
    return e;
}

/* Runs the pipeline over the ECG, pushing `push` frames at a time; returns its result (owned by
 * *pp, free with pipeline_free). */
static const pipeline_result *run(const synth_ecg *e, const bc_model *m, int keep, size_t push, pipeline **pp)
{
    pipeline_opts o;
    pipeline_opts_default(&o);
    o.beat_model = m;
    o.keep_features = keep;
    fmt_lead leads[12];
    memset(leads, 0, sizeof leads);
    for (int l = 0; l < e->nleads; l++) {
        snprintf(leads[l].name, sizeof leads[l].name, "L%d", l);
        leads[l].uv_per_unit = 1.0;
        leads[l].adc_min = -32768;
        leads[l].adc_max = 32767;
    }
    char err[256];
    pipeline *p = pipeline_create(&o, e->fs, e->nleads, leads, err, sizeof err);
    if (!p) {
        fprintf(stderr, "pipeline_create: %s\n", err);
        exit(2);
    }
    size_t nl = (size_t)e->nleads;
    int32_t *f = malloc((size_t)e->nsamples * nl * sizeof *f);
    if (!f) exit(2);
    for (int64_t i = 0; i < e->nsamples; i++)
        for (size_t l = 0; l < nl; l++)
            f[(size_t)i * nl + l] = (int32_t)lroundf(e->uv[l * (size_t)e->nsamples + (size_t)i]);
    for (size_t i = 0; i < (size_t)e->nsamples; i += push) {
        size_t n = (size_t)e->nsamples - i < push ? (size_t)e->nsamples - i : push;
        if (pipeline_push(p, f + i * nl, n, err, sizeof err)) {
            fprintf(stderr, "pipeline_push: %s\n", err);
            exit(2);
        }
    }
    free(f);
    const pipeline_result *r;
    if (pipeline_finish(p, &r, err, sizeof err)) {
        fprintf(stderr, "pipeline_finish: %s\n", err);
        exit(2);
    }
    *pp = p;
    return r;
}

/* Reference classes of the detected beats (0 for a detection that pairs with no synthetic beat). */
static char *labels_of(const synth_ecg *e, const pipeline_result *r)
{
    int64_t *ref = malloc((e->nbeats + 1) * sizeof *ref), *test = malloc((r->nbeats + 1) * sizeof *test);
    long *pair = malloc((r->nbeats + 1) * sizeof *pair);
    char *y = malloc(r->nbeats + 1);
    if (!ref || !test || !pair || !y) exit(2);
    for (size_t i = 0; i < e->nbeats; i++) ref[i] = e->beats[i].sample;
    for (size_t i = 0; i < r->nbeats; i++) test[i] = r->beats[i].sample;
    ec57_pair(ref, e->nbeats, test, r->nbeats, (int64_t)(MATCH_S * e->fs), pair);
    for (size_t i = 0; i < r->nbeats; i++) y[i] = pair[i] >= 0 ? e->beats[pair[i]].label : 0;
    free(pair);
    free(test);
    free(ref);
    return y;
}

/* A model of the given kind fitted to one synthetic record (2 leads, V and S beats). */
static bc_model *synthetic_model_of(int mlp)
{
    synth_ecg *e = generate(2, 240.0, 0.12, 0.10, 11);
    pipeline *p;
    const pipeline_result *r = run(e, NULL, 1, 4096, &p);
    CHECK(r->nfeatures == bc_feature_count(), "%d features per beat, want %d", r->nfeatures, bc_feature_count());
    char *y = labels_of(e, r);
    bc_fit_opts o;
    bc_fit_opts_default(&o);
    o.min_count = 10;
    bc_model *m = NULL;
    char err[256];
    bc_mlp_opts no;
    bc_mlp_opts_default(&no);
    no.min_count = 10;
    no.epochs = 60; /* one short record: more passes than over DS1 */
    int rc = mlp ? bc_fit_mlp(r->features, y, r->nbeats, "synthetic-11", &no, NULL, NULL, &m, err, sizeof err)
                 : bc_fit(r->features, y, r->nbeats, "synthetic-11", &o, &m, err, sizeof err);
    CHECK(rc == 0, "bc_fit: %s", err);
    CHECK(!m || bc_model_version(m) == (mlp ? 2 : 1), "model version %d", m ? bc_model_version(m) : 0);
    free(y);
    pipeline_free(p);
    synth_free(e);
    if (!m) exit(1);
    return m;
}

static bc_model *synthetic_model(void) { return synthetic_model_of(0); }

/* Labels a second synthetic record with m and checks V (and S) against its truth. */
static void labels_another_records_beats(bc_model *m)
{
    synth_ecg *e = generate(2, 180.0, 0.10, 0.08, 23);
    pipeline *p;
    const pipeline_result *r = run(e, m, 0, 4096, &p);
    int64_t *ref = malloc(e->nbeats * sizeof *ref), *test = malloc((r->nbeats + 1) * sizeof *test);
    char *rc = malloc(e->nbeats), *tc = malloc(r->nbeats + 1);
    if (!ref || !test || !rc || !tc) exit(2);
    for (size_t i = 0; i < e->nbeats; i++) {
        ref[i] = e->beats[i].sample;
        rc[i] = e->beats[i].label;
    }
    for (size_t i = 0; i < r->nbeats; i++) {
        test[i] = r->beats[i].sample;
        tc[i] = r->beats[i].label;
        CHECK(r->beats[i].confidence >= 0.0f && r->beats[i].confidence <= 1.0f, "confidence %g",
              (double)r->beats[i].confidence);
    }
    ec57_confusion c;
    memset(&c, 0, sizeof c);
    ec57_classes_match(ref, rc, e->nbeats, test, tc, r->nbeats, (int64_t)(2 * FS), (int64_t)(MATCH_S * FS),
                       NULL, 0, &c);
    ec57_class_stats v, s;
    ec57_class_stats_of(&c, 'V', &v);
    ec57_class_stats_of(&c, 'S', &s);
    CHECK(v.tp + v.fn >= 15, "the test record has %ld V beats", v.tp + v.fn);
    CHECK(v.se >= 95.0 && v.ppv >= 95.0, "V Se %.1f +P %.1f (want >= 95)", v.se, v.ppv);
    CHECK(s.se >= 70.0 && s.ppv >= 70.0, "S Se %.1f +P %.1f (want >= 70)", s.se, s.ppv);
    free(tc);
    free(rc);
    free(test);
    free(ref);
    pipeline_free(p);
    synth_free(e);
}

static void a_model_trained_on_one_record_labels_another_records_v_beats(void)
{
    bc_model *m = synthetic_model();
    labels_another_records_beats(m);
    bc_model_free(m);
}

static void an_mlp_trained_on_one_record_labels_another_records_v_beats(void)
{
    bc_model *m = synthetic_model_of(1);
    labels_another_records_beats(m);
    bc_model_free(m);
}

static void labels_do_not_depend_on_the_push_size(void)
{
    bc_model *m = synthetic_model();
    synth_ecg *e = generate(2, 40.0, 0.1, 0.1, 5);
    pipeline *p0;
    const pipeline_result *r0 = run(e, m, 1, (size_t)e->nsamples, &p0);
    CHECK(r0->nbeats > 30, "%zu beats", r0->nbeats);
    const size_t sizes[] = {1, 37, 1000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        pipeline *p;
        const pipeline_result *r = run(e, m, 1, sizes[k], &p);
        int same = r->nbeats == r0->nbeats && r->nfeatures == r0->nfeatures;
        for (size_t i = 0; same && i < r->nbeats; i++)
            same = r->beats[i].sample == r0->beats[i].sample && r->beats[i].label == r0->beats[i].label &&
                   r->beats[i].confidence == r0->beats[i].confidence;
        if (same)
            same = !memcmp(r->features, r0->features, r->nbeats * (size_t)r->nfeatures * sizeof *r->features);
        CHECK(same, "pushes of %zu frames give other beats, labels or features", sizes[k]);
        pipeline_free(p);
    }
    pipeline_free(p0);
    synth_free(e);
    bc_model_free(m);
}

static void one_lead_and_twelve_lead_records_get_every_beat_labelled(void)
{
    bc_model *m = synthetic_model();
    const int leads[] = {1, 12};
    for (int k = 0; k < 2; k++) {
        synth_ecg *e = generate(leads[k], 30.0, 0.1, 0.0, 7);
        pipeline *p;
        const pipeline_result *r = run(e, m, 1, 500, &p);
        CHECK(r->nbeats + 2 >= e->nbeats && r->nbeats <= e->nbeats + 2, "%d leads: %zu beats of %zu",
              leads[k], r->nbeats, e->nbeats);
        int ok = 1, finite = 1;
        for (size_t i = 0; i < r->nbeats; i++) ok &= strchr("NSVF", r->beats[i].label) != NULL;
        for (size_t i = 0; i < r->nbeats * (size_t)r->nfeatures; i++) finite &= isfinite(r->features[i]) != 0;
        CHECK(ok, "%d leads: every beat labelled N, S, V or F", leads[k]);
        CHECK(finite, "%d leads: every feature finite", leads[k]);
        char *y = labels_of(e, r);
        long vv = 0, nv = 0;
        for (size_t i = 0; i < r->nbeats; i++) {
            vv += y[i] == 'V' && r->beats[i].label == 'V';
            nv += y[i] == 'V';
        }
        CHECK(vv * 10 >= nv * 7, "%d leads: %ld of %ld V beats found", leads[k], vv, nv);
        free(y);
        pipeline_free(p);
        synth_free(e);
    }
    bc_model_free(m);
}

static void a_stream_releases_the_last_beat_only_when_finished(void)
{
    char err[256];
    bc_stream *s = bc_stream_create(NULL, 250.0, 1, 0, err, sizeof err);
    CHECK(s != NULL, "bc_stream_create: %s", err);
    if (!s) return;
    float sig[2500] = {0};
    for (int i = 0; i < 2500; i++) sig[i] = (i % 200 == 100) ? 1000.0f : 0.0f;
    dsp_beat b;
    memset(&b, 0, sizeof b);
    b.sample = 100;
    CHECK(bc_stream_beat(s, &b, err, sizeof err) == 0, "beat: %s", err);
    CHECK(bc_stream_signal(s, 0, sig, 2500, 2500, err, sizeof err) == 0, "signal: %s", err);
    bc_beat o;
    CHECK(!bc_stream_next(s, &o), "no beat before the next one or the end");
    b.sample = 300;
    bc_stream_beat(s, &b, err, sizeof err);
    CHECK(bc_stream_next(s, &o) && o.sample == 100, "the first beat once the second arrived");
    CHECK(!bc_stream_next(s, &o), "the second waits for a third");
    bc_stream_finish(s);
    CHECK(bc_stream_next(s, &o) && o.sample == 300, "the last beat on finish");
    bc_stream_free(s);
}

/* A QRS-like wave centred on sample c (sign +1 or -1: an upright or inverted complex). */
static void put_qrs(float *sig, int n, int c, float sign)
{
    for (int i = -25; i <= 25; i++) {
        if (c + i < 0 || c + i >= n) continue;
        double t = i / 6.0;
        sig[c + i] += sign * (float)(1000.0 * t * exp(-t * t / 2) + 600.0 * exp(-(t - 1.5) * (t - 1.5)));
    }
}

static void each_beat_carries_its_qrs_correlation_with_the_previous_one(void)
{
    enum { N = 250 * 12 };
    static float sig[N];
    memset(sig, 0, sizeof sig);
    char err[256];
    bc_stream *s = bc_stream_create(NULL, 250.0, 1, 0, err, sizeof err);
    CHECK(s != NULL, "bc_stream_create: %s", err);
    if (!s) return;
    /* Ten beats; the detector's fiducial point wanders by up to 20 ms around the wave, which
     * alignment must absorb; beat 6 is inverted (another shape). */
    const int jitter[10] = {0, 5, -5, 3, -4, 0, 2, -5, 5, 0};
    for (int k = 0; k < 10; k++) put_qrs(sig, N, 300 + 250 * k, k == 6 ? -1.0f : 1.0f);
    CHECK(bc_stream_signal(s, 0, sig, N, N, err, sizeof err) == 0, "signal: %s", err);
    for (int k = 0; k < 10; k++) {
        dsp_beat b;
        memset(&b, 0, sizeof b);
        b.sample = 300 + 250 * k + jitter[k];
        CHECK(bc_stream_beat(s, &b, err, sizeof err) == 0, "beat: %s", err);
    }
    bc_stream_finish(s);
    bc_beat o;
    for (int k = 0; k < 10 && bc_stream_next(s, &o); k++) {
        if (k == 0) CHECK(isnan(o.prev_corr), "the first beat has none: %g", o.prev_corr);
        else if (k == 6 || k == 7) CHECK(o.prev_corr < 0.5f, "beat %d against an inverted one: %g", k, o.prev_corr);
        else CHECK(o.prev_corr > 0.95f, "beat %d, same shape, shifted %d samples: %g", k, jitter[k], o.prev_corr);
    }
    bc_stream_free(s);
}

static const char *tmpfile_in(const char *dir, const char *name)
{
    static char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = malloc(1 << 20);
    *len = buf ? fread(buf, 1, 1 << 20, f) : 0;
    fclose(f);
    return buf;
}

static void spill(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len) exit(2);
    fclose(f);
}

static void training_twice_gives_the_same_bytes(void)
{
    setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
    synth_ecg *e = generate(2, 120.0, 0.1, 0.1, 3);
    pipeline *p;
    const pipeline_result *r = run(e, NULL, 1, 4096, &p);
    char *y = labels_of(e, r);
    /* Enough of each class for the default minimum: repeat the beats. */
    size_t reps = 8, n = r->nbeats * reps, F = (size_t)r->nfeatures;
    float *x = malloc(n * F * sizeof *x);
    char *yy = malloc(n);
    if (!x || !yy) exit(2);
    for (size_t k = 0; k < reps; k++) {
        memcpy(x + k * r->nbeats * F, r->features, r->nbeats * F * sizeof *x);
        memcpy(yy + k * r->nbeats, y, r->nbeats);
    }
    const char *dir = check_tmpdir("beatclass_train");
    char a[1200], b[1200], err[256];
    snprintf(a, sizeof a, "%s", tmpfile_in(dir, "a.model"));
    snprintf(b, sizeof b, "%s", tmpfile_in(dir, "b.model"));
    CHECK(bc_train(x, yy, n, "synthetic-3", a, err, sizeof err) == 0, "bc_train: %s", err);
    CHECK(bc_train(x, yy, n, "synthetic-3", b, err, sizeof err) == 0, "bc_train: %s", err);
    size_t la = 0, lb = 0;
    char *da = slurp(a, &la), *db = slurp(b, &lb);
    CHECK(da && db && la == lb && la > 1000 && !memcmp(da, db, la), "two trainings differ (%zu, %zu bytes)", la, lb);
    CHECK(da && strstr(da, "date 2023-11-14\n") && strstr(da, "records synthetic-3\n"),
          "the header names the date and records");
    CHECK(da && !strncmp(da, "ecgnet-beat-model 2\n", 20) && strstr(da, "\nhidden "),
          "bc_train writes the MLP (version 2)");
    bc_model *m = NULL;
    CHECK(bc_model_load(a, &m, err, sizeof err) == 0, "load: %s", err);
    CHECK(m && strstr(bc_model_describe(m), "synthetic-3"), "describe: %s", m ? bc_model_describe(m) : "");
    bc_model_free(m);
    free(da);
    free(db);
    free(yy);
    free(x);
    free(y);
    pipeline_free(p);
    synth_free(e);
}

/* Saves m, loads it back and checks that every beat of a synthetic record gets the same label and
 * the same confidence bit for bit, and that saving the loaded model gives the same bytes. */
static void round_trips(const bc_model *m, const char *name, int version)
{
    const char *dir = check_tmpdir("beatclass_roundtrip");
    char a[1200], b[1300], err[256];
    snprintf(a, sizeof a, "%s", tmpfile_in(dir, name));
    snprintf(b, sizeof b, "%s.again", a);
    CHECK(bc_model_save(m, a, err, sizeof err) == 0, "save: %s", err);
    bc_model *l = NULL;
    CHECK(bc_model_load(a, &l, err, sizeof err) == 0, "load: %s", err);
    if (!l) return;
    CHECK(bc_model_version(l) == version, "%s loads as version %d, want %d", name, bc_model_version(l), version);
    synth_ecg *e = generate(2, 60.0, 0.1, 0.1, 9);
    pipeline *p;
    const pipeline_result *r = run(e, NULL, 1, 4096, &p);
    CHECK(r->nbeats > 50, "%zu beats", r->nbeats);
    size_t differ = 0;
    for (size_t i = 0; i < r->nbeats; i++) {
        const float *x = r->features + i * (size_t)r->nfeatures;
        float c0, c1;
        char l0 = bc_model_classify(m, x, &c0), l1 = bc_model_classify(l, x, &c1);
        differ += l0 != l1 || memcmp(&c0, &c1, sizeof c0) != 0;
    }
    CHECK(differ == 0, "%s: %zu of %zu beats classified differently after loading", name, differ, r->nbeats);
    CHECK(bc_model_save(l, b, err, sizeof err) == 0, "save again: %s", err);
    size_t la = 0, lb = 0;
    char *da = slurp(a, &la), *db = slurp(b, &lb);
    char head[32];
    snprintf(head, sizeof head, "ecgnet-beat-model %d\n", version);
    CHECK(da && db && la == lb && !memcmp(da, db, la), "%s: saved again, the bytes differ", name);
    CHECK(da && !strncmp(da, head, strlen(head)), "%s starts '%s'", name, head);
    free(da);
    free(db);
    pipeline_free(p);
    synth_free(e);
    bc_model_free(l);
}

static void an_mlp_file_round_trips_and_classifies_identically(void)
{
    bc_model *m = synthetic_model_of(1);
    round_trips(m, "mlp.model", 2);
    CHECK(strstr(bc_model_describe(m), "MLP") != NULL, "describe: %s", bc_model_describe(m));
    bc_model_free(m);
}

static void version_1_linear_discriminant_files_still_load(void)
{
    bc_model *m = synthetic_model_of(0);
    round_trips(m, "lda.model", 1);
    bc_model_free(m);
}

/* Writes the synthetic model, then a variant with `from` replaced by `to` (or cut to `cut`
 * bytes), and returns the error of loading the variant ("" if it loaded). */
static const char *load_variant(const char *from, const char *to, long cut, char *err, size_t errlen)
{
    static bc_model *m;
    if (!m) m = synthetic_model();
    const char *dir = check_tmpdir("beatclass_load");
    char good[1200], bad[1200];
    snprintf(good, sizeof good, "%s", tmpfile_in(dir, "good.model"));
    snprintf(bad, sizeof bad, "%s", tmpfile_in(dir, "bad.model"));
    if (bc_model_save(m, good, err, errlen)) return err;
    size_t len;
    char *d = slurp(good, &len);
    if (!d) exit(2);
    if (cut >= 0) {
        spill(bad, d, (size_t)cut);
    } else {
        char *at = strstr(d, from);
        CHECK(at != NULL, "'%s' is in the model file", from);
        if (!at) exit(1);
        FILE *f = fopen(bad, "wb");
        fwrite(d, 1, (size_t)(at - d), f);
        fputs(to, f);
        fputs(at + strlen(from), f);
        fclose(f);
    }
    free(d);
    bc_model *x = NULL;
    err[0] = 0;
    if (bc_model_load(bad, &x, err, errlen) == 0) {
        bc_model_free(x);
        err[0] = 0;
    }
    return err;
}

static void a_model_with_another_feature_list_is_refused(void)
{
    char err[512];
    load_variant("feature rr_post ", "feature rr_next ", -1, err, sizeof err);
    CHECK(strstr(err, "bad.model") && strstr(err, "rr_next") && strstr(err, "rr_post"),
          "a renamed feature is named: '%s'", err);
    char count[32];
    snprintf(count, sizeof count, "features %d\n", bc_feature_count());
    load_variant(count, "features 3\n", -1, err, sizeof err);
    CHECK(strstr(err, "bad.model") && strstr(err, "features"), "a shorter list is refused: '%s'", err);
}

static void a_truncated_or_corrupt_model_is_refused(void)
{
    char err[512];
    load_variant(NULL, NULL, 600, err, sizeof err);
    CHECK(strstr(err, "bad.model") && strstr(err, "truncated"), "a cut file: '%s'", err);
    load_variant("\nend\n", "\n", -1, err, sizeof err);
    CHECK(strstr(err, "bad.model") && strstr(err, "end"), "no end line: '%s'", err);
    load_variant("class V ", "class V x", -1, err, sizeof err);
    CHECK(strstr(err, "bad.model") && strstr(err, "not a valid beat model"), "a bad number: '%s'", err);
    load_variant("ecgnet-beat-model 1", "ecgnet-beat-model 9", -1, err, sizeof err);
    CHECK(strstr(err, "bad.model") && strstr(err, "version 9"), "an unknown version: '%s'", err);
    load_variant("ecgnet-beat-model", "hello", -1, err, sizeof err);
    CHECK(strstr(err, "bad.model") && strstr(err, "not a valid beat model"), "another file: '%s'", err);
    load_variant("class V ", "class V ", -1, err, sizeof err);
    CHECK(err[0] == 0, "the unchanged file loads: '%s'", err);
}

static void a_missing_model_file_is_named(void)
{
    bc_model *m = NULL;
    char err[1024];
    CHECK(bc_model_load("/nonexistent/beats.model", &m, err, sizeof err) == -1 && !m, "loads");
    CHECK(strstr(err, "/nonexistent/beats.model") != NULL, "names the file: '%s'", err);
}

static void the_default_model_is_found_and_matches_this_program(void)
{
    unsetenv("ECGNET_BEAT_MODEL");
    bc_model *m = NULL;
    char err[2048];
    CHECK(bc_model_load(NULL, &m, err, sizeof err) == 0, "the committed models/beats.model: %s", err);
    CHECK(m && strstr(bc_model_describe(m), "101,106,108"), "trained on DS1: %s", m ? bc_model_describe(m) : "");
    bc_model_free(m);
    /* An environment setting comes first, and a missing one is listed among the places looked. */
    setenv("ECGNET_BEAT_MODEL", "/nonexistent/env.model", 1);
    m = NULL;
    int rc = bc_model_load(NULL, &m, err, sizeof err);
    CHECK(rc == 0, "falls back to the next place: %s", err);
    bc_model_free(m);
    const char *dir = check_tmpdir("beatclass_env");
    char path[1200];
    snprintf(path, sizeof path, "%s", tmpfile_in(dir, "env.model"));
    spill(path, "not a model\n", 12);
    setenv("ECGNET_BEAT_MODEL", path, 1);
    CHECK(bc_model_load(NULL, &m, err, sizeof err) == -1 && strstr(err, path), "the env file is used: '%s'", err);
    unsetenv("ECGNET_BEAT_MODEL");
}

static void feature_names_are_unique_and_fit_the_limit(void)
{
    int n = bc_feature_count();
    CHECK(n > 20 && n <= BC_MAX_FEATURES, "%d features", n);
    int dup = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++) dup |= !strcmp(bc_feature_name(i), bc_feature_name(j));
    CHECK(!dup, "duplicate feature names");
    CHECK(bc_feature_name(n)[0] == 0 && bc_feature_name(-1)[0] == 0, "out of range gives ''");
}

static void the_rules_read_the_features_they_name(void)
{
    CHECK(!strcmp(bc_feature_name(BC_F_RR_LOCAL), "rr_local"), "%s", bc_feature_name(BC_F_RR_LOCAL));
    CHECK(!strcmp(bc_feature_name(BC_F_RR_PRE_LOCAL), "rr_pre_local"), "%s", bc_feature_name(BC_F_RR_PRE_LOCAL));
    CHECK(!strcmp(bc_feature_name(BC_F_RR_POST_LOCAL), "rr_post_local"), "%s", bc_feature_name(BC_F_RR_POST_LOCAL));
    CHECK(!strcmp(bc_feature_name(BC_F_AMP_RATIO), "l0_amp_ratio"), "%s", bc_feature_name(BC_F_AMP_RATIO));
    CHECK(!strcmp(bc_feature_name(BC_F_AMP_RATIO + 6), "l1_amp_ratio"), "%s", bc_feature_name(BC_F_AMP_RATIO + 6));
    CHECK(!strcmp(bc_feature_name(BC_F_DOM_ACORR), "dom_acorr_l0"), "%s", bc_feature_name(BC_F_DOM_ACORR));
    CHECK(!strcmp(bc_feature_name(BC_F_DOM_ACORR + 1), "dom_acorr_l1"), "%s", bc_feature_name(BC_F_DOM_ACORR + 1));
    CHECK(!strcmp(bc_feature_name(BC_F_WIDTH_DIFF), "width_diff"), "%s", bc_feature_name(BC_F_WIDTH_DIFF));
    CHECK(!strcmp(bc_feature_name(BC_F_DOM_SPREAD), "dom_spread"), "%s", bc_feature_name(BC_F_DOM_SPREAD));
    CHECK(!strcmp(bc_feature_name(BC_F_CLU_PREM), "clu_prem"), "%s", bc_feature_name(BC_F_CLU_PREM));
    CHECK(!strcmp(bc_feature_name(BC_F_RHYTHM_AF), "rhythm_af"), "%s", bc_feature_name(BC_F_RHYTHM_AF));
}

/* A beat at 75/min that is, aligned, the record's dominant shape on both leads (as in left
 * bundle-branch block, where every beat is wide). */
static void usual_beat(float *f)
{
    for (int i = 0; i < BC_MAX_FEATURES; i++) f[i] = 0.0f;
    f[BC_F_RR_LOCAL] = 0.8f;
    f[BC_F_RR_PRE_LOCAL] = 1.0f;
    f[BC_F_RR_POST_LOCAL] = 1.0f;
    f[BC_F_AMP_RATIO] = f[BC_F_AMP_RATIO + 6] = 1.0f;
    f[BC_F_DOM_ACORR] = f[BC_F_DOM_ACORR + 1] = 0.98f;
    f[BC_F_DOM_SPREAD] = 0.01f;
    f[BC_F_WIDTH_DIFF] = 0.0f;
    f[BC_F_CLU_PREM] = 1.0f;
}

static void a_v_label_on_the_patients_usual_beat_becomes_n_unless_the_beat_is_early(void)
{
    bc_rule_opts o;
    bc_rule_opts_default(&o);
    float f[BC_MAX_FEATURES];
    usual_beat(f);
    CHECK(bc_rules_apply(&o, 'V', f) == 'N', "the usual shape on time is N");
    CHECK(bc_rules_apply(&o, 'S', f) == 'S' && bc_rules_apply(&o, 'N', f) == 'N', "only V is vetoed");
    /* Bigeminy: the commonest shape may be the ectopic one, and it comes early. */
    usual_beat(f);
    f[BC_F_RR_PRE_LOCAL] = f[BC_F_CLU_PREM] = 0.6f;
    f[BC_F_RR_POST_LOCAL] = 1.4f;
    CHECK(bc_rules_apply(&o, 'V', f) == 'V', "an early beat of the dominant shape stays V");
    /* In AF every beat comes early or late: there the shape alone tells. */
    f[BC_F_RHYTHM_AF] = 1.0f;
    CHECK(bc_rules_apply(&o, 'V', f) == 'N', "in AF an early beat of the dominant shape is N");
    bc_rule_opts no_af = o;
    no_af.match_af = 0;
    CHECK(bc_rules_apply(&no_af, 'V', f) == 'V', "unless match_af is off");
    /* The match alone (the on-time rule would pass these beats too): another shape on one lead
     * only is still another shape. */
    bc_rule_opts m = o;
    m.ontime_prem = 0;
    usual_beat(f);
    CHECK(bc_rules_apply(&m, 'V', f) == 'N', "the match alone makes the usual shape N");
    f[BC_F_DOM_ACORR + 1] = 0.5f;
    CHECK(bc_rules_apply(&m, 'V', f) == 'V', "a beat unlike the template on lead 2 stays V");
    usual_beat(f);
    f[BC_F_WIDTH_DIFF] = 0.06f;
    CHECK(bc_rules_apply(&m, 'V', f) == 'V', "a beat 60 ms wider than the template stays V");
    usual_beat(f);
    f[BC_F_AMP_RATIO] = 2.0f;
    CHECK(bc_rules_apply(&m, 'V', f) == 'V', "a beat twice the template's amplitude stays V");
    /* "Within the template's own spread": a template whose beats vary a lot accepts more. */
    usual_beat(f);
    f[BC_F_DOM_ACORR] = f[BC_F_DOM_ACORR + 1] = 0.85f;
    f[BC_F_DOM_SPREAD] = 0.005f;
    CHECK(bc_rules_apply(&m, 'V', f) == 'V', "0.85 against a template steady to 0.995 stays V");
    f[BC_F_DOM_SPREAD] = 0.03f;
    CHECK(bc_rules_apply(&m, 'V', f) == 'N', "0.85 against a template that varies by 0.03 is N");
    f[BC_F_DOM_ACORR] = 0.7f;
    f[BC_F_DOM_SPREAD] = 0.1f;
    CHECK(bc_rules_apply(&m, 'V', f) == 'V', "under the floor (0.8) it stays V however it varies");
}

static void a_v_label_on_a_shape_that_comes_on_time_becomes_n_unless_fast_or_paused(void)
{
    bc_rule_opts o;
    bc_rule_opts_default(&o);
    float f[BC_MAX_FEATURES];
    /* Intermittent bundle-branch block: another shape, but conducted on time. */
    usual_beat(f);
    f[BC_F_DOM_ACORR] = -0.4f;
    f[BC_F_DOM_ACORR + 1] = 0.1f;
    f[BC_F_WIDTH_DIFF] = 0.05f;
    CHECK(bc_rules_apply(&o, 'V', f) == 'N', "another shape on time is N");
    f[BC_F_RR_POST_LOCAL] = 1.4f;
    CHECK(bc_rules_apply(&o, 'V', f) == 'V', "followed by a compensatory pause it stays V");
    f[BC_F_RR_POST_LOCAL] = 1.0f;
    f[BC_F_RR_LOCAL] = 0.5f;
    CHECK(bc_rules_apply(&o, 'V', f) == 'V', "at 120/min (a run of VT) it stays V");
    f[BC_F_RR_LOCAL] = 0.8f;
    f[BC_F_CLU_PREM] = 0.7f;
    CHECK(bc_rules_apply(&o, 'V', f) == 'V', "a shape whose beats usually come early stays V");
    f[BC_F_CLU_PREM] = 1.0f;
    f[BC_F_RR_PRE_LOCAL] = 0.85f;
    CHECK(bc_rules_apply(&o, 'V', f) == 'N', "a beat of such a shape a little early (sinus arrhythmia) is N");
    f[BC_F_RR_PRE_LOCAL] = 0.6f;
    CHECK(bc_rules_apply(&o, 'V', f) == 'V', "a clearly early beat stays V");
    bc_rule_opts off = o;
    off.match_k = 0;
    off.ontime_prem = 0;
    usual_beat(f);
    CHECK(bc_rules_apply(&off, 'V', f) == 'V', "rules turned off leave V alone");
}

static void the_model_leaves_out_the_features_only_the_rules_read(void)
{
    bc_model *m = synthetic_model_of(1);
    synth_ecg *e = generate(2, 60.0, 0.1, 0.1, 31);
    pipeline *p;
    const pipeline_result *r = run(e, NULL, 1, 4096, &p);
    const int F = bc_feature_count();
    int n_rule = 0, same = 1;
    for (int i = 0; i < F; i++) n_rule += bc_feature_rule_only(i);
    CHECK(n_rule >= 5, "%d rule-only features", n_rule);
    for (size_t b = 0; b < r->nbeats && same; b++) {
        float x[BC_MAX_FEATURES], c0, c1;
        memcpy(x, r->features + b * (size_t)F, (size_t)F * sizeof *x);
        char l0 = bc_model_classify(m, x, &c0);
        for (int i = 0; i < F; i++)
            if (bc_feature_rule_only(i)) x[i] = 1000.0f;
        char l1 = bc_model_classify(m, x, &c1);
        same = l0 == l1 && c0 == c1;
    }
    CHECK(same, "changing the rule-only features changes the model's output");
    pipeline_free(p);
    synth_free(e);
    bc_model_free(m);
}

int main(void)
{
    RUN(a_model_trained_on_one_record_labels_another_records_v_beats);
    RUN(labels_do_not_depend_on_the_push_size);
    RUN(one_lead_and_twelve_lead_records_get_every_beat_labelled);
    RUN(a_stream_releases_the_last_beat_only_when_finished);
    RUN(each_beat_carries_its_qrs_correlation_with_the_previous_one);
    RUN(an_mlp_trained_on_one_record_labels_another_records_v_beats);
    RUN(training_twice_gives_the_same_bytes);
    RUN(an_mlp_file_round_trips_and_classifies_identically);
    RUN(version_1_linear_discriminant_files_still_load);
    RUN(a_model_with_another_feature_list_is_refused);
    RUN(a_truncated_or_corrupt_model_is_refused);
    RUN(a_missing_model_file_is_named);
    RUN(the_default_model_is_found_and_matches_this_program);
    RUN(feature_names_are_unique_and_fit_the_limit);
    RUN(the_rules_read_the_features_they_name);
    RUN(a_v_label_on_the_patients_usual_beat_becomes_n_unless_the_beat_is_early);
    RUN(a_v_label_on_a_shape_that_comes_on_time_becomes_n_unless_fast_or_paused);
    RUN(the_model_leaves_out_the_features_only_the_rules_read);
    return check_report();
}
