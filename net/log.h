/* log.h — structured log lines (logfmt: ts=… level=… event=… key=value …) on stderr.
 *
 * One line per call, written with a single stdio call so lines from different threads never
 * interleave. Values with spaces or quotes are quoted by the caller's format (use %q-style
 * quoting through net_log_quote when a value comes from a device).
 */
#ifndef ECGNET_NET_LOG_H
#define ECGNET_NET_LOG_H

#include <stddef.h>

typedef enum { NET_LOG_DEBUG, NET_LOG_INFO, NET_LOG_WARN, NET_LOG_ERROR } net_log_level;

/* Writes "ts=<UTC ISO 8601 ms> level=<level> event=<event> <formatted rest>\n" to stderr when
 * level >= the minimum set by net_log_set_level (INFO by default). */
void net_log(net_log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sets the minimum level printed (the daemon's --log-level; tests quieten it). */
void net_log_set_level(net_log_level level);

/* Copies S into BUF as a double-quoted logfmt value, escaping quotes, backslashes and control
 * characters, truncated to fit; returns BUF. For text that comes from a device or a user. */
const char *net_log_quote(char *buf, size_t len, const char *s);

/* Formats a message into err (truncating quietly: messages name long paths, and a cut message
 * beats none). */
void net_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
