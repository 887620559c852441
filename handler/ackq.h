/*
 * ackq.h - messages written to the client but not yet proven read.
 *
 * "Written" is not "delivered": the kernel accepts what we write to a
 * client that has already vanished. Each message handed to the client is
 * kept here until the client confirms it; when the session ends,
 * whatever is still here is routed again (to the user's other resources,
 * or offline storage), never dropped.
 *
 * The queue knows nothing of how a confirmation is asked for and given:
 * it numbers requests (marks) and drops what a confirmed mark covers.
 * The connection asks with an XEP-0199 ping after each batch, whose
 * answer confirms every message written before it (conn.c). A client
 * that closes its stream in order confirms what was written to it
 * before (ackq_confirm_written). Under XEP-0198 stream management the
 * client's acknowledgements confirm instead, and what they cover is kept
 * in Redis, not here (sm.c).
 *
 * Contract: the queue owns copies of the messages; nothing here writes
 * to the client or touches Redis.
 */
#ifndef XMPPD_ACKQ_H
#define XMPPD_ACKQ_H

#include <stddef.h>
#include <time.h>

#define ACKQ_MAX_BYTES (1024 * 1024)   /* unconfirmed output that ends a session */
#define ACKQ_UNWRITTEN (~0ULL)         /* an item never queued for the client */

struct ackq_item {
	char *xml;
	size_t len;
	unsigned long mark;       /* the request whose confirmation covers it */
	time_t since;             /* when it was handed to the client */
	long accepted;            /* when the server accepted it (0 unknown) */
	unsigned long long end;   /* output offset just after it, or ACKQ_UNWRITTEN */
	struct ackq_item *next;
};

struct ackq {
	struct ackq_item *head, *tail;
	size_t bytes;
	unsigned long next_mark;  /* the request that will cover items added now */
	int request_out;          /* a request is unanswered */
};

/* Keep a copy of a message the client is being sent, accepted by the
 * server at `accepted`, whose last byte is at output offset `end`. The
 * caller watches ackq_bytes() against ACKQ_MAX_BYTES. */
void ackq_add(struct ackq *q, const char *xml, size_t len, long accepted,
    unsigned long long end);
/* The mark to ask the client to confirm now, or -1 when no request is
 * due (one is already out, or nothing new was added since the last). The
 * caller then sends its request for that mark. */
long ackq_request(struct ackq *q);
/* The client confirmed mark: drop every item it covers. Returns 1 if a
 * further request is due (items were added after the mark), else 0. */
int ackq_confirm(struct ackq *q, unsigned long mark);
/* The client closed its stream in order once `written` bytes of output
 * had been written to it: those messages are confirmed. */
void ackq_confirm_written(struct ackq *q, unsigned long long written);
/* Unconfirmed bytes, and the time the oldest item was handed over (0 when
 * the queue is empty). */
size_t ackq_bytes(const struct ackq *q);
time_t ackq_oldest(const struct ackq *q);
/* Hand every item to fn (if not NULL), oldest first, and empty the queue. */
void ackq_drain(struct ackq *q, void (*fn)(const char *xml, size_t len, long accepted,
    void *arg), void *arg);

#endif
