/* edf_lib.h — EDFlib glue shared by the EDF reader, annotation reader and writer (private to formats/).
 *
 * EDFlib keeps one process-wide table of open files (at most 64, readers and writers together)
 * and its open and close are not thread-safe, so every open and close in this module goes
 * through fmt_edf_lock()/fmt_edf_unlock(), the process-wide mutex defined in edf_lib.c. Reading
 * and writing an already open handle needs no lock: EDFlib touches only that handle's state.
 */
#ifndef ECGNET_FORMATS_EDF_LIB_H
#define ECGNET_FORMATS_EDF_LIB_H

#include <stddef.h>

#include <edflib.h>

/* EDFlib copies paths into a 1024-byte buffer without checking the length. */
#define FMT_EDF_MAX_PATH 1023

void fmt_edf_lock(void);
void fmt_edf_unlock(void);

/* Opens PATH read-only through EDFlib under the lock, filling *hdr (a large struct: allocate it
 * on the heap). read_annotations is EDFLIB_DO_NOT_READ_ANNOTATIONS or EDFLIB_READ_ALL_ANNOTATIONS.
 * EDFlib refuses to open one path twice; when the file is already open (another record on the
 * same file) this retries with an equivalent spelling of the path ("./x", "/./x"), so up to 16
 * readers can share a file. Returns the handle (>= 0), or -1 with a message in err that names
 * the file and says what is wrong with it (see fmt_edf_diagnose). */
int fmt_edf_open_readonly(const char *path, struct edf_hdr_struct *hdr, int read_annotations,
                          char *err, size_t errlen);

/* Closes an EDFlib handle under the lock; returns EDFlib's result (0, or -1 on failure). */
int fmt_edf_close(int handle);

/* A readable description of an EDFlib error code (EDFLIB_* constants, the negative values of
 * edf_hdr_struct.filetype and of edfopen_file_writeonly). */
const char *fmt_edf_strerror(int code);

/* Explains why PATH is not a well-formed EDF/BDF file from its own header: empty, too short,
 * not EDF, a non-ASCII byte in a named header field, a header size that disagrees with the
 * signal count, or a file size that disagrees with the data record count (truncated or
 * trailing bytes). Writes "path: problem" into err and returns -1 when it finds a problem,
 * returns 0 (err untouched) when the header and the size are consistent. */
int fmt_edf_diagnose(const char *path, char *err, size_t errlen);

#endif
