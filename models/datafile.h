/* datafile.h — finds the data files that ship with ecgnet (model, rule table) from any directory. */
#ifndef ECGNET_MODELS_DATAFILE_H
#define ECGNET_MODELS_DATAFILE_H

#include <stddef.h>

/* Finds NAME (e.g. "critical_values.json"): the file named by environment variable ENV if set,
 * else <directory of the running executable>/../share/ecgnet/NAME (an installed ecgnet), else the
 * source tree's models/NAME (a plain CMake build). Writes the path into out and returns 0, or
 * returns -1 with a message in err listing every place looked. */
int datafile_find(const char *env, const char *name, char *out, size_t outlen, char *err, size_t errlen);

/* Reads a whole (small) text file into a new NUL-terminated buffer (caller frees). Returns NULL
 * with a message naming the file in err. */
char *datafile_read(const char *path, size_t max_bytes, char *err, size_t errlen);

#endif
