/* fuzz_hello.c — arbitrary text as a hello; whatever parses must survive json and build unchanged. */
#include "proto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Every field, numbers bit for bit; the token only when the text carries it. */
static int same(const proto_hello *a, const proto_hello *b, int with_token)
{
    if (strcmp(a->device, b->device) || strcmp(a->recording, b->recording) ||
        (with_token && strcmp(a->token, b->token)) || strcmp(a->patient.id, b->patient.id) ||
        a->patient.sex != b->patient.sex || a->patient.age != b->patient.age ||
        strcmp(a->patient.birthdate, b->patient.birthdate) || a->fs != b->fs || a->nleads != b->nleads ||
        a->sample_bytes != b->sample_bytes || a->dev_hp_hz != b->dev_hp_hz || a->dev_lp_hz != b->dev_lp_hz ||
        a->dev_notch_hz != b->dev_notch_hz || strcmp(a->start_time, b->start_time) || a->mode != b->mode ||
        a->encounter != b->encounter)
        return 0;
    for (int l = 0; l < a->nleads; l++) {
        const fmt_lead *x = &a->leads[l], *y = &b->leads[l];
        if (strcmp(x->name, y->name) || x->uv_per_unit != y->uv_per_unit || x->baseline != y->baseline ||
            x->adc_min != y->adc_min || x->adc_max != y->adc_max)
            return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    proto_hello h, back;
    char err[256] = "";
    int rc = proto_hello_parse((const char *)data, size, &h, err, sizeof err);
    if (rc == 0) {
        char *built = proto_hello_build(&h), *json = proto_hello_json(&h);
        if (!built || !json) abort();
        if (proto_hello_parse(built, strlen(built), &back, err, sizeof err) || !same(&h, &back, 1)) abort();
        if (proto_hello_parse(json, strlen(json), &back, err, sizeof err) || !same(&h, &back, 0) ||
            back.token[0])
            abort();
        free(built);
        free(json);
    } else if (!err[0] || (rc != PROTO_CLOSE_MALFORMED && rc != PROTO_CLOSE_TOO_BIG && rc != PROTO_CLOSE_LIMITS)) {
        abort(); /* every refusal is a hello close code and says why */
    }
    return 0;
}
