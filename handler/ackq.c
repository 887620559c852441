/*
 * ackq.c - the queue of messages not yet proven read by the client.
 */
#include "ackq.h"
#include "stream.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ackq_add(struct conn *c, const char *xml, size_t len, long accepted,
    unsigned long long end)
{
	struct ackq *q = &c->ackq;
	struct ackq_item *it;

	it = xcalloc(1, sizeof *it);
	it->xml = xstrndup(xml, len);
	it->len = len;
	it->seq = q->next_seq;
	it->since = time(NULL);
	it->accepted = accepted;
	it->end = end;
	if (q->tail)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
	q->bytes += len;
}

void ackq_ping(struct conn *c)
{
	struct ackq *q = &c->ackq;
	if (q->ping_out || !q->tail || q->tail->seq != q->next_seq)
		return;
	xbuf_addf(&c->out, "<iq type='get' id='" ACKQ_ID_PREFIX "%lu' from='", q->next_seq);
	xbuf_add_esc(&c->out, c->domain, strlen(c->domain));
	xbuf_adds(&c->out, "' to='");
	xbuf_add_esc(&c->out, c->full, strlen(c->full));
	xbuf_adds(&c->out, "'><ping xmlns='urn:xmpp:ping'/></iq>");
	q->ping_out = 1;
	q->next_seq++;
}

static void drop_head(struct ackq *q)
{
	struct ackq_item *it = q->head;
	q->head = it->next;
	if (!q->head)
		q->tail = NULL;
	q->bytes -= it->len;
	free(it->xml);
	free(it);
}

int ackq_answer(struct conn *c, const char *id)
{
	struct ackq *q = &c->ackq;
	unsigned long seq;
	char tail;

	if (!id || strncmp(id, ACKQ_ID_PREFIX, sizeof ACKQ_ID_PREFIX - 1) ||
	    sscanf(id + sizeof ACKQ_ID_PREFIX - 1, "%lu%c", &seq, &tail) != 1)
		return 0;
	/* Any answer, even an error, proves the client read the stream up
	 * to the ping. */
	while (q->head && q->head->seq <= seq)
		drop_head(q);
	if (seq + 1 == q->next_seq)
		q->ping_out = 0;
	ackq_ping(c);
	return 1;
}

void ackq_confirm_written(struct conn *c, unsigned long long written)
{
	struct ackq *q = &c->ackq;
	while (q->head && q->head->end <= written)
		drop_head(q);
}

void ackq_drain(struct conn *c, void (*fn)(struct conn *c, const char *xml, size_t len,
    long accepted))
{
	struct ackq *q = &c->ackq;
	while (q->head) {
		if (fn)
			fn(c, q->head->xml, q->head->len, q->head->accepted);
		drop_head(q);
	}
	q->ping_out = 0;
}
