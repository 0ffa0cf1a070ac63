/* annot.h — reference annotations: WFDB (MIT format) annotation files, beats and rhythm changes.
 *
 * Used to score detectors against the reference (ecgnet eval). Codes are WFDB's annotation codes
 * (ecgcodes.h): NORMAL=1 'N', LBBB=2 'L', RBBB=3 'R', ABERR=4 'a', PVC=5 'V', FUSION=6 'F',
 * NPC=7 'J', APC=8 'A', SVPB=9 'S', VESC=10 'E', NESC=11 'j', PACE=12 '/', UNKNOWN=13 'Q',
 * NOISE=14 '~', ARFCT=16 '|', STCH=18 's', TCH=19 'T', SYSTOLE=20 '*', DIASTOLE=21 'D',
 * NOTE=22 '"', MEASURE=23 '=', PWAVE=24 'p', BBB=25 'B', PACESP=26 '^', TWAVE=27 't',
 * RHYTHM=28 '+', UWAVE=29 'u', LEARN=30 '?', FLWAV=31 '!', VFON=32 '[', VFOFF=33 ']',
 * AESC=34 'e', SVESC=35 'n', LINK=36 '@', NAPC=37 'x', PFUS=38 'f', WFON=39 '(', WFOFF=40 ')',
 * RONT=41 'r'.
 */
#ifndef ECGNET_FORMATS_ANNOT_H
#define ECGNET_FORMATS_ANNOT_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int64_t sample;  /* sample index (0-based, at the record's frame rate) */
    uint8_t code;    /* WFDB annotation code, 1..49 */
    int8_t subtype;
    uint8_t chan;
    int8_t num;
    char aux[64];    /* aux string, NUL-terminated ("(AFIB" for rhythm changes), "" if none */
} fmt_annot;

typedef struct {
    fmt_annot *items; /* sorted by sample as in the file; owned by the list */
    size_t count;
} fmt_annot_list;

/* Reads the WFDB annotation file PATH (e.g. "mitdb/100.atr"). Returns 0 and fills *out (free with
 * fmt_annot_list_free), or -1 with a message naming the file in err (missing, truncated, corrupt). */
int fmt_annot_read_wfdb(const char *path, fmt_annot_list *out, char *err, size_t errlen);

/* As fmt_annot_read_wfdb, from the LEN bytes of an annotation file already in memory (e.g. received
 * over the network). NAME is used only in messages. */
int fmt_annot_parse_wfdb(const void *data, size_t len, const char *name, fmt_annot_list *out,
                         char *err, size_t errlen);

void fmt_annot_list_free(fmt_annot_list *list);

/* The WFDB mnemonic of a code ('N', 'V', '+', …), or '?' for an unknown code. */
char fmt_annot_mnemonic(uint8_t code);

/* 1 when code is a beat annotation (N L R a V F J A S E j / Q e n f x? — WFDB's isqrs()). */
int fmt_annot_is_beat(uint8_t code);

/* AAMI class of a beat code: 'N' (N L R e j), 'S' (A a J S), 'V' (V E), 'F' (F), 'Q' (/ f Q),
 * or 0 for a non-beat code. */
char fmt_annot_aami_class(uint8_t code);

#endif
