/* ingest_impl.h — private to ingest*.c: the session, recording-actor and job structures.
 *
 * Lock order, always: ingest.mu (the recordings) → session.mu → rec.mu → ingest.qmu (the job
 * queue). Nothing blocking (disk, pipeline) is done while holding any of them.
 *
 * Ownership: a session is referenced by the loop (until ingest_session_gone), by the recording it
 * streams (rec.sess), by a pending hello (rec.hello_sess) and by a queued hello job. A recording
 * (rec) lives in ingest.recs from its first hello until its actor finishes or expires it; only the
 * actor frees it, after unlinking it under ingest.mu and detaching its session.
 */
#ifndef ECGNET_NET_INGEST_IMPL_H
#define ECGNET_NET_INGEST_IMPL_H

#include <pthread.h>
#include <stdatomic.h>

#include "ingest.h"
#include "journal.h"
#include "pipeline.h"
#include "proto.h"

/* Samples received and not yet journaled. */
typedef struct block {
    struct block *next;
    int64_t first;
    size_t n;            /* frames */
    uint16_t lead_off, saturated;
    uint8_t flags;
    int64_t arrived_us;  /* monotonic, for the latency histogram */
    size_t bytes;        /* charged to the sending session */
    struct ingest_session *from;
    int32_t data[];      /* n * nleads */
} block;

typedef struct rec rec;

typedef enum { S_HELLO, S_AUTH, S_STREAM, S_ENDING, S_CLOSED } session_state;

/* An outgoing text message. */
typedef struct msg {
    struct msg *next;
    size_t len;
    char text[];
} msg;

struct ingest_session {
    ingest *g;
    atomic_int refs;
    char peer[64];
    /* loop thread only */
    session_state state;
    proto_hello hello;
    int64_t expected;    /* next sample index wanted */
    int64_t last_first;  /* first sample of the previous frame on this connection */
    double tokens;       /* rate-limit bucket, in frames */
    int64_t tokens_us;
    /* under mu (workers write, loop reads) */
    pthread_mutex_t mu;
    rec *r;              /* the recording streamed, once welcomed */
    msg *out, **out_tail;
    size_t nout;
    int64_t ack;         /* latest acknowledgement to send, -1: none */
    int close_code;
    char close_reason[124];
    int welcomed;        /* the worker accepted the hello: S_AUTH → S_STREAM */
    int64_t welcome_next;
    size_t inflight;     /* bytes handed to the recording, not yet journaled */
    int gone;
    atomic_int wants_write;
};

struct rec {
    ingest *g;
    rec *next;                  /* in ingest.recs, under ingest.mu */
    char device[65], recording[129];
    proto_hello hello;          /* as first received (token cleared) */
    char site[65];
    int64_t id;                 /* store row */
    store_journal *j;
    pipeline *p;
    char journal_path[4096], archive_path[4096];
    /* under mu */
    pthread_mutex_t mu;
    block *inbox, **inbox_tail;
    int scheduled;              /* queued or running on a worker */
    ingest_session *sess;       /* streaming connection, or NULL */
    ingest_session *hello_sess; /* a connection waiting to be welcomed */
    int end_requested;
    int expire;                 /* idle: close as interrupted */
    int64_t detached_us;        /* when the last connection left */
    /* actor only */
    int loaded;                 /* journal open and pipeline caught up */
    int finished;
    int64_t analysed;           /* samples pushed through the pipeline */
    int64_t retry_us;           /* after a failed finish: not before this time (written under mu) */
    uint16_t lead_off;          /* last lead-off mask reported by the device */
    char (*sent_flags)[48];     /* "code@start" of flags already raised */
    size_t nsent, capsent;
};

typedef enum { JOB_HELLO, JOB_REC } job_kind;

typedef struct job {
    struct job *next;
    job_kind kind;
    ingest_session *sess; /* JOB_HELLO (holds a reference) */
    rec *r;               /* JOB_REC */
} job;

struct ingest {
    ingest_config c;
    char data_dir[4096];
    store *st;
    net_metrics *m;
    void (*wake)(void *);
    void *wake_ctx;
    pthread_mutex_t mu;         /* recs, nrecs */
    pthread_mutex_t qmu;        /* the job queue below, stopping, running */
    pthread_cond_t cv;
    job *jobs, **jobs_tail;
    int stopping;
    int nworkers;
    pthread_t *threads;
    rec *recs;
    long nrecs;
    int running;                /* jobs being executed */
    atomic_int wake_pending;    /* a wake-up is on its way to the loop */
    pthread_cond_t idle;
};


/* Session side, callable from workers. */
void session_ref(ingest_session *s);
void session_unref(ingest_session *s);
void session_post(ingest_session *s, const char *text);            /* queue a text message */
void session_post_ack(ingest_session *s, int64_t next);
void session_close(ingest_session *s, int code, const char *reason); /* after queued output */
void session_release(ingest_session *s, size_t bytes);             /* bytes journaled */

/* Queues the recording's actor unless it is queued or running (call with r->mu held). */
void rec_schedule_locked(rec *r);
/* The actor: drains the inbox, welcomes, ends or expires. Runs on a worker. */
void rec_run(rec *r);
/* The hello job: authenticates, finds or creates the recording, hands it the session. */
void rec_hello(ingest *g, ingest_session *s);
/* A recording known to the store but not in memory (after a restart): creates the actor, to be
 * loaded when it runs. Call with ingest.mu held. NULL when out of memory. */
rec *rec_new_locked(ingest *g, const char *device, const char *recording);
/* Frees an unlinked, detached recording. */
void rec_free(rec *r);

#endif
