/*
 * ackq.h - messages written to the client but not yet proven read.
 *
 * "Written" is not "delivered": the kernel accepts what we write to a
 * client that has already vanished. Each message handed to the client is
 * kept here until the client answers a ping (XEP-0199) sent after it, or
 * closes its stream in order after the message was written to it (a
 * client that says goodbye has read what came before); when the session
 * ends, whatever is still here is routed again (to the user's other
 * resources, or offline storage), never dropped.
 */
#ifndef XMPPD_ACKQ_H
#define XMPPD_ACKQ_H

#include <stddef.h>
#include <time.h>

#define ACKQ_MAX_BYTES (1024 * 1024)   /* unconfirmed output that ends a session */
#define ACKQ_ID_PREFIX "xmppd-ack-"
#define ACKQ_UNWRITTEN (~0ULL)

struct ackq_item {
	char *xml;
	size_t len;
	unsigned long seq;        /* ping sequence that will confirm it */
	time_t since;             /* when it was handed to the client */
	long accepted;            /* when the server accepted it (0 unknown) */
	unsigned long long end;   /* output offset just after it (ACKQ_UNWRITTEN:
	                             never queued for the client) */
	struct ackq_item *next;
};

struct ackq {
	struct ackq_item *head, *tail;
	size_t bytes;
	unsigned long next_seq;   /* the ping that confirms items added now */
	int ping_out;             /* a ping is unanswered */
};

struct conn;

/* Keep a message the client is being sent, accepted by the server at
 * `accepted`, whose last byte is at output offset `end` (ACKQ_UNWRITTEN
 * if it is not sent). The caller watches the queue's size against
 * ACKQ_MAX_BYTES (and ends the session past it). */
void ackq_add(struct conn *c, const char *xml, size_t len, long accepted,
    unsigned long long end);
/* Ask for a confirmation of what was added since the last ping, unless a
 * ping is already out. */
void ackq_ping(struct conn *c);
/* An IQ result or error with this id arrived: 1 if it answered our ping
 * (it is consumed), else 0. */
int ackq_answer(struct conn *c, const char *id);
/* The client closed its stream in order once `written` bytes of output
 * had been written to it: those messages are confirmed. */
void ackq_confirm_written(struct conn *c, unsigned long long written);
/* Hand every unconfirmed message to fn, oldest first, and empty the queue. */
void ackq_drain(struct conn *c, void (*fn)(struct conn *c, const char *xml, size_t len,
    long accepted));

#endif
