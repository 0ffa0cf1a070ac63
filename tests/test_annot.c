/* test_annot.c — specification of the WFDB annotation reader and the annotation code tables. */
#include "check.h"
#include "annot.h"
#include "record.h"

#include <stdint.h>

static char err[FMT_ERRLEN];

static int read_data(const char *rel, fmt_annot_list *l)
{
    char path[1024];
    err[0] = '\0';
    int rc = fmt_annot_read_wfdb(check_data_path(path, sizeof path, rel), l, err, sizeof err);
    CHECK(rc == 0, "cannot read %s: %s", rel, err);
    return rc;
}

static void mitdb_100_has_2273_beats_and_starts_with_rhythm_n_at_sample_18(void)
{
    fmt_annot_list l;
    if (read_data("mitdb/100.atr", &l)) return;
    size_t beats = 0, n = 0, a = 0, v = 0;
    for (size_t i = 0; i < l.count; i++) {
        beats += (size_t)fmt_annot_is_beat(l.items[i].code);
        n += l.items[i].code == 1;
        a += l.items[i].code == 8;
        v += l.items[i].code == 5;
    }
    CHECK(l.count == 2274, "annotations %zu", l.count);
    CHECK(beats == 2273 && n == 2239 && a == 33 && v == 1, "beats %zu (N %zu A %zu V %zu)", beats, n, a, v);
    CHECK(l.items[0].sample == 18 && l.items[0].code == 28 && !strcmp(l.items[0].aux, "(N"),
          "first: %lld code %d aux '%s'", (long long)l.items[0].sample, l.items[0].code, l.items[0].aux);
    CHECK(fmt_annot_mnemonic(l.items[0].code) == '+', "rhythm mnemonic");
    static const int64_t first_beats[] = {77, 370, 662, 946, 1231};
    for (int i = 0; i < 5; i++)
        CHECK(l.items[i + 1].sample == first_beats[i] && l.items[i + 1].code == 1 && !l.items[i + 1].aux[0],
              "beat %d at %lld code %d", i, (long long)l.items[i + 1].sample, l.items[i + 1].code);
    for (size_t i = 1; i < l.count; i++)
        CHECK(l.items[i].sample >= l.items[i - 1].sample, "sorted at %zu", i);
    CHECK(l.items[l.count - 1].sample < 650000, "last annotation inside the record");
    fmt_annot_list_free(&l);
    CHECK(l.items == NULL && l.count == 0, "free empties the list");
}

static void mitdb_201_rhythm_changes_carry_their_aux_strings(void)
{
    fmt_annot_list l;
    if (read_data("mitdb/201.atr", &l)) return;
    static const struct {
        int64_t sample;
        const char *aux;
    } want[] = {{60, "(AFIB"}, {136226, "(NOD"}, {138552, "(N"}, {171815, "(AFIB"}, {185068, "(NOD"},
                {188387, "(N"}, {199610, "(T"}};
    size_t k = 0, rhythms = 0;
    for (size_t i = 0; i < l.count; i++) {
        if (l.items[i].code != 28) continue;
        rhythms++;
        if (k < sizeof want / sizeof *want) {
            CHECK(l.items[i].sample == want[k].sample && !strcmp(l.items[i].aux, want[k].aux),
                  "rhythm %zu: %lld '%s' (want %lld '%s')", k, (long long)l.items[i].sample,
                  l.items[i].aux, (long long)want[k].sample, want[k].aux);
            k++;
        }
    }
    CHECK(rhythms == 35, "201 has 35 rhythm annotations, read %zu", rhythms);
    fmt_annot_list_free(&l);
}

static void mitdb_207_brackets_ventricular_flutter_with_vfon_and_vfoff(void)
{
    fmt_annot_list l;
    if (read_data("mitdb/207.atr", &l)) return;
    int64_t on[6], off[6];
    int non = 0, noff = 0, flw = 0;
    for (size_t i = 0; i < l.count; i++) {
        if (l.items[i].code == 32 && non < 6) on[non++] = l.items[i].sample;
        if (l.items[i].code == 33 && noff < 6) off[noff++] = l.items[i].sample;
        flw += l.items[i].code == 31;
    }
    CHECK(non == 6 && noff == 6, "6 '[' and 6 ']': %d %d", non, noff);
    CHECK(non >= 3 && noff >= 3 && on[0] == 14665 && off[0] == 18350 && on[1] == 19715 &&
              off[1] == 21731 && on[2] == 87172 && off[2] == 88716,
          "episode bounds");
    for (int i = 0; i < non && i < noff; i++) CHECK(on[i] < off[i], "'[' before ']' in episode %d", i);
    CHECK(flw == 472, "472 flutter waves '!', read %d", flw);
    CHECK(fmt_annot_mnemonic(32) == '[' && fmt_annot_mnemonic(33) == ']' && fmt_annot_mnemonic(31) == '!',
          "mnemonics");
    fmt_annot_list_free(&l);
}

static void truncated_annotation_file_is_an_error_naming_it(void)
{
    char src[1024];
    FILE *f = fopen(check_data_path(src, sizeof src, "mitdb/100.atr"), "rb");
    CHECK(f != NULL, "open 100.atr");
    if (!f) return;
    static uint8_t buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    const char *d = check_tmpdir("annot_trunc");
    char path[1200];
    snprintf(path, sizeof path, "%s/cut.atr", d);
    /* Cut mid-stream (no end marker), mid-word, and inside the first aux string. */
    size_t cuts[] = {n / 2, n / 2 + 1, 6, 5};
    for (size_t c = 0; c < sizeof cuts / sizeof *cuts; c++) {
        FILE *o = fopen(path, "wb");
        fwrite(buf, 1, cuts[c], o);
        fclose(o);
        fmt_annot_list l;
        err[0] = '\0';
        int rc = fmt_annot_read_wfdb(path, &l, err, sizeof err);
        CHECK(rc == -1, "cut at %zu should fail", cuts[c]);
        CHECK(strstr(err, "cut.atr") && strstr(err, "truncated"), "message '%s'", err);
        CHECK(l.items == NULL && l.count == 0, "nothing left to free on error");
    }
    fmt_annot_list l;
    CHECK(fmt_annot_read_wfdb("/nonexistent/x.atr", &l, err, sizeof err) == -1 && strstr(err, "x.atr"),
          "missing file: '%s'", err);
}

static void parsed_stream_applies_skip_num_sub_chn_and_aux(void)
{
    /* N at 10; SKIP +100000; V at +5 with SUB 3, CHN 1, NUM -2, AUX "hi" (odd length 3, padded);
     * then A at +1 inheriting NUM and CHN; end. */
    uint8_t s[] = {
        10, 1 << 2,                  /* N, I=10 */
        0, 59 << 2, 0x01, 0x00, 0xa0, 0x86, /* SKIP 0x000186a0 = 100000, high word first */
        5, 5 << 2,                   /* V, I=5 */
        3, 61 << 2,                  /* SUB 3 */
        1, 62 << 2,                  /* CHN 1 */
        0xfe, (60 << 2) | 3,         /* NUM 0x3fe = -2 */
        3, 63 << 2, 'h', 'i', '!', 0, /* AUX "hi!" + pad */
        1, 8 << 2,                   /* A, I=1 */
        0, 0,
    };
    fmt_annot_list l;
    CHECK(fmt_annot_parse_wfdb(s, sizeof s, "mem", &l, err, sizeof err) == 0, "parse: %s", err);
    CHECK(l.count == 3, "3 annotations, got %zu", l.count);
    if (l.count != 3) return;
    CHECK(l.items[0].sample == 10 && l.items[0].code == 1 && l.items[0].num == 0, "N at 10");
    CHECK(l.items[1].sample == 100015 && l.items[1].code == 5, "V at %lld", (long long)l.items[1].sample);
    CHECK(l.items[1].subtype == 3 && l.items[1].chan == 1 && l.items[1].num == -2 &&
              !strcmp(l.items[1].aux, "hi!"),
          "V fields sub %d chan %d num %d aux '%s'", l.items[1].subtype, l.items[1].chan, l.items[1].num,
          l.items[1].aux);
    CHECK(l.items[2].sample == 100016 && l.items[2].code == 8 && l.items[2].num == -2 &&
              l.items[2].chan == 1 && l.items[2].subtype == 0 && !l.items[2].aux[0],
          "A inherits num and chan, not subtype or aux");
    fmt_annot_list_free(&l);

    /* A header NOTE "## time resolution" at 0 is not an annotation; code 0 with I != 0 is corrupt. */
    uint8_t h[] = {0, 22 << 2, 6, 63 << 2, '#', '#', ' ', 't', 'r', 0, 7, 1 << 2, 0, 0};
    CHECK(fmt_annot_parse_wfdb(h, sizeof h, "mem", &l, err, sizeof err) == 0 && l.count == 1 &&
              l.items[0].code == 1 && l.items[0].sample == 7,
          "header note hidden");
    fmt_annot_list_free(&l);
    uint8_t bad[] = {5, 0, 0, 0};
    CHECK(fmt_annot_parse_wfdb(bad, sizeof bad, "mem", &l, err, sizeof err) == -1 && strstr(err, "mem") &&
              strstr(err, "corrupt"),
          "code 0: '%s'", err);
    uint8_t neg[] = {0, 59 << 2, 0xff, 0xff, 0xff, 0xff, 0, 0};
    CHECK(fmt_annot_parse_wfdb(neg, sizeof neg, "mem", &l, err, sizeof err) == -1, "time before 0");
}

static void beat_codes_map_to_aami_classes(void)
{
    const char *n = "NLRej", *s = "AaJS", *v = "VE", *f = "F", *q = "/fQ";
    struct {
        const char *set;
        char cls;
    } groups[] = {{n, 'N'}, {s, 'S'}, {v, 'V'}, {f, 'F'}, {q, 'Q'}};
    int mapped = 0;
    for (int code = 0; code < 256; code++) {
        char m = fmt_annot_mnemonic((uint8_t)code), c = fmt_annot_aami_class((uint8_t)code);
        char want = 0;
        for (int g = 0; g < 5; g++)
            if (code <= 49 && m != '?' && strchr(groups[g].set, m)) want = groups[g].cls;
        CHECK(c == want, "code %d '%c': class %c, want %c", code, m, c ? c : '0', want ? want : '0');
        if (c) {
            mapped++;
            CHECK(fmt_annot_is_beat((uint8_t)code), "code %d has a class but is not a beat", code);
        }
    }
    CHECK(mapped == 15, "15 codes have AAMI classes, got %d", mapped);
    CHECK(fmt_annot_aami_class(1) == 'N' && fmt_annot_aami_class(5) == 'V' && fmt_annot_aami_class(8) == 'S' &&
              fmt_annot_aami_class(6) == 'F' && fmt_annot_aami_class(12) == 'Q',
          "N V A F / by code");
    CHECK(!fmt_annot_is_beat(28) && !fmt_annot_is_beat(14) && !fmt_annot_is_beat(32) && !fmt_annot_is_beat(0),
          "rhythm, noise, VFON are not beats");
    CHECK(fmt_annot_aami_class(28) == 0 && fmt_annot_aami_class(200) == 0, "non-beats have no class");
    CHECK(fmt_annot_mnemonic(200) == '?' && fmt_annot_mnemonic(1) == 'N' && fmt_annot_mnemonic(12) == '/',
          "mnemonics");
}

int main(void)
{
    RUN(mitdb_100_has_2273_beats_and_starts_with_rhythm_n_at_sample_18);
    RUN(mitdb_201_rhythm_changes_carry_their_aux_strings);
    RUN(mitdb_207_brackets_ventricular_flutter_with_vfon_and_vfoff);
    RUN(truncated_annotation_file_is_an_error_naming_it);
    RUN(parsed_stream_applies_skip_num_sub_chn_and_aux);
    RUN(beat_codes_map_to_aami_classes);
    return check_report();
}
