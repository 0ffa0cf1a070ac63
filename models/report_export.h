/* report_export.h — a signed ECG report as the hospital information system (HIS) takes it: an
 * HL7 v2.5.1 ORU^R01 message or a FHIR R4 Observation (JSON).
 *
 * The module knows nothing of the store or the network: the caller copies what it read from
 * the store into a report_export (borrowed pointers, nothing is kept). Both builders take the
 * same input and say the same things:
 *
 *   - the recording: patient id (and the site that assigned it), device, when it was recorded
 *     (received_ms, ended_ms);
 *   - the signed report: version (an amendment is version >= 2 and is sent as a correction:
 *     HL7 result status C, FHIR status "amended"; version 1 is F / "final"), the signer and the
 *     signing time, the diagnostic statements and the free text;
 *   - from the analysis JSON (models/result_json.h), when there is one: the mean heart rate
 *     (LOINC 8867-4, UCUM "/min") and the rhythm labels (WFDB notation, each once, in order).
 *
 * Times are written in UTC with an explicit offset (HL7 "YYYYMMDDHHMMSS+0000", FHIR
 * "...Z"), so no reader depends on the server's time zone. Text is UTF-8 throughout (MSH-18
 * "UNICODE UTF-8"). In HL7 text the delimiters |^~\& are escaped as \F\ \S\ \R\ \E\ \T\, line
 * breaks in the free text (FT) become \.br\, other control characters \Xhh\; a raw CR would
 * otherwise end the segment and let a report's text forge segments of its own.
 */
#ifndef ECGNET_MODELS_REPORT_EXPORT_H
#define ECGNET_MODELS_REPORT_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#define REPORT_EXPORT_MAX_STATEMENTS 32 /* as many as a stored report holds */

typedef struct {
    /* the recording */
    int64_t recording_id;      /* the store's id, > 0: the filler order number in HL7 */
    const char *patient_id;    /* 1.. bytes of text: a report without a patient cannot be filed */
    const char *site;          /* the site that recorded it (the id's assigning authority); "" ok */
    const char *device;        /* the device id; NULL or "" when unknown */
    int64_t received_ms;       /* when the ECG began (Unix ms, > 0): the observation time */
    int64_t ended_ms;          /* when it ended; 0 when unknown */
    /* the signed report version being sent */
    int version;               /* 1.. ; >= 2: an amendment (a correction of an earlier one) */
    const char *signer;        /* the signing cardiologist's user name, 1.. bytes */
    int64_t signed_ms;         /* when this version was signed (Unix ms, > 0) */
    size_t nstatements;        /* 0..REPORT_EXPORT_MAX_STATEMENTS */
    const char *const *statements; /* nstatements non-empty strings (NULL when none) */
    const char *text;          /* the free text, line breaks allowed; NULL or "" when none */
    /* the analysis */
    const char *analysis_json; /* the analysis report as stored (result_json); NULL when none */
    /* the message */
    int64_t now_ms;            /* when the message is made (MSH-7, part of MSH-10); > 0 */
} report_export;

/* Renders IN as an HL7 v2.5.1 ORU^R01 message: segments MSH, PID, OBR, then one OBX each for
 * the heart rate (NM, when the analysis has one), every statement (ST), the free text (FT, when
 * not empty) and every rhythm (ST), separated by (and ending with) '\r'. OBR-7 is the
 * observation time, OBR-22 the signing time, OBR-25 the status (F, C for an amendment),
 * OBR-32 the signer. *OUT receives the NUL-terminated text, malloc'd: the caller frees it.
 * Returns 0, or -1 with a message in ERR (and *OUT NULL) for bad input (which field and why:
 * a missing patient id, signer or time, an empty statement, an analysis JSON that does not
 * parse) or when out of memory. */
int report_export_hl7(const report_export *in, char **out, char *err, size_t errlen);

/* Renders IN as a FHIR R4 Observation resource (compact JSON): status "final" ("amended" for an
 * amendment), category "procedure", code LOINC 11524-6 "EKG study", subject by the patient's
 * identifier, effectiveDateTime (recorded), issued (signed), performer (the signer), valueString
 * (the statements joined by "; "), one component per heart rate (LOINC 8867-4, UCUM /min) and
 * rhythm, interpretation (one text per statement) and note (the free text). *OUT receives the
 * malloc'd text (the caller frees it). Returns 0, or -1 with ERR as report_export_hl7. */
int report_export_fhir(const report_export *in, char **out, char *err, size_t errlen);

#endif
