/* ingest.h — the live ingest service: device sessions, durable journaling, the live pipeline.
 *
 * Transport-free: the server (server.c) owns the WebSocket connections and the event loop and
 * hands this module the messages it receives; this module hands back the messages to send. So
 * the threading rule of libwebsockets holds by construction: only the loop thread calls the
 * ingest_session_* functions and touches connections; worker threads journal, fsync and analyse,
 * then call the wake callback (the server's lws_cancel_service) when a session has output.
 *
 * Per recording there is one actor: its frames queue up in an inbox, and at most one worker at a
 * time drains it — append to the journal, one fdatasync for everything drained (group commit),
 * acknowledge what is now durable, then push the samples through the same pipeline as
 * `ecgnet analyze` and raise any new flags. A device that resumes (same recording id, after a
 * dropped connection or a server restart) is told the next sample the journal needs.
 *
 * Memory stays bounded: a connection whose samples wait unjournaled beyond max_buffered bytes,
 * or that sends faster than its rate limit, is paused (the server stops reading its socket:
 * lws_rx_flow_control) until the workers catch up.
 */
#ifndef ECGNET_NET_INGEST_H
#define ECGNET_NET_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "beatclass.h"
#include "flags.h"
#include "metrics.h"
#include "store.h"

typedef struct {
    const char *data_dir;     /* journals in DIR/journal/, EDF+ archives in DIR/archive/ */
    int workers;              /* worker threads; 0: 16 per core (they mostly wait on fsync) */
    size_t max_buffered;      /* bytes received but not yet journaled, per connection, before
                                 its socket is paused; 0: 4 MiB */
    double rate_limit;        /* most samples per second a connection may send, as a multiple of
                                 its sample rate (catching up after a reconnect needs > 1);
                                 0: 50 */
    double idle_timeout_s;    /* a recording with no connection this long is closed as
                                 "interrupted" and archived; 0: 3600 */
    const flag_table *flags;  /* critical-value rules; NULL: no flags */
    const bc_model *model;    /* beat classifier; NULL: every beat N */
    int diagnostic;           /* filter setting, as `ecgnet analyze --diagnostic` */
    double mains_hz;          /* 50 or 60; 0: 50 */
} ingest_config;

typedef struct ingest ingest;
typedef struct ingest_session ingest_session;

/* Starts the workers. WAKE(WAKE_CTX) is called from any thread when a session has output to
 * send or may resume reading; it must be cheap and thread-safe (lws_cancel_service). STORE and
 * METRICS are borrowed and must outlive the ingest. Returns NULL with a message in err (data
 * directory not creatable, out of memory, threads). */
ingest *ingest_create(const ingest_config *c, store *st, net_metrics *m, void (*wake)(void *),
                      void *wake_ctx, char *err, size_t errlen);

/* Finds the recordings a previous run left "receiving" so that they are closed as interrupted
 * after idle_timeout_s if their devices do not come back (resuming devices reopen them at
 * once). Journals ended but not yet archived are finished now. Returns the number found, or -1
 * with err. */
long ingest_recover(ingest *g, char *err, size_t errlen);

/* Stops: waits for the workers to drain what was received (journaled and synced, so every
 * acknowledged sample is on disk), closes the journals and frees everything. Recordings still
 * streaming stay "receiving" in the store, to be resumed after the restart. NULL is a no-op. */
void ingest_free(ingest *g);

/* The loop has woken up and is about to look at every session: call it before looking, so a
 * session flagged meanwhile wakes it again. */
void ingest_woken(ingest *g);

/* Called about once a second from the loop: closes idle recordings, lifts rate-limit pauses. */
void ingest_tick(ingest *g);

/* --- called only from the event loop thread --- */

/* A new connection from PEER (address text, for logs). NULL when out of memory. */
ingest_session *ingest_session_new(ingest *g, const char *peer);

/* The connection is gone (closed either way); the loop will not use S again. */
void ingest_session_gone(ingest_session *s);

/* A complete text message. Returns 0, or a PROTO_CLOSE_* code with the reason in reason: the
 * server then closes the connection with that code (the session has logged it). */
int ingest_session_text(ingest_session *s, const char *text, size_t len, char *reason, size_t rlen);

/* A complete binary (sample) message; as ingest_session_text. */
int ingest_session_binary(ingest_session *s, const uint8_t *buf, size_t len, char *reason,
                          size_t rlen);

/* 1 when the server should stop reading this connection (too much buffered or over its rate),
 * 0 when it may read. */
int ingest_session_paused(ingest_session *s);

/* 1 when the session has a message to send or wants to close. */
int ingest_session_wants_write(ingest_session *s);

/* The next message to send, copied into buf (at most cap bytes; messages are < 2 KiB): returns
 * its length, or 0 when there is none. When 0 and *close_code is set non-zero, the server must
 * close the connection with that code and reason now. */
size_t ingest_session_next_output(ingest_session *s, char *buf, size_t cap, int *close_code,
                                  char *reason, size_t rlen);

/* Monotonic microseconds (the clock of the latency figures). */
int64_t ingest_now_us(void);

/* Asks the session to close with CODE and REASON once its queued messages are sent (the server
 * shutting down: PROTO_CLOSE_GOING_AWAY). */
void ingest_session_close(ingest_session *s, int code, const char *reason);

/* How many recordings are in memory (streaming or resumable) — for tests and metrics. */
long ingest_active(ingest *g);

#endif
