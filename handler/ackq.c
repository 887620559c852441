/*
 * ackq.c - the queue of messages not yet proven read (see ackq.h).
 */
#include "ackq.h"
#include "xmalloc.h"

#include <stdlib.h>

void ackq_add(struct ackq *q, const char *xml, size_t len, long accepted,
    unsigned long long end)
{
	struct ackq_item *it = xcalloc(1, sizeof *it);

	it->xml = xstrndup(xml, len);
	it->len = len;
	it->mark = q->next_mark;
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

long ackq_request(struct ackq *q)
{
	/* One request at a time: its answer covers everything before it. */
	if (q->request_out || !q->tail || q->tail->mark != q->next_mark)
		return -1;
	q->request_out = 1;
	return (long)q->next_mark++;
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

int ackq_confirm(struct ackq *q, unsigned long mark)
{
	while (q->head && q->head->mark <= mark)
		drop_head(q);
	if (mark + 1 == q->next_mark)
		q->request_out = 0;
	return !q->request_out && q->tail && q->tail->mark == q->next_mark;
}

void ackq_confirm_written(struct ackq *q, unsigned long long written)
{
	while (q->head && q->head->end <= written)
		drop_head(q);
}

size_t ackq_bytes(const struct ackq *q)
{
	return q->bytes;
}

time_t ackq_oldest(const struct ackq *q)
{
	return q->head ? q->head->since : 0;
}

void ackq_drain(struct ackq *q, void (*fn)(const char *xml, size_t len, long accepted,
    void *arg), void *arg)
{
	while (q->head) {
		if (fn)
			fn(q->head->xml, q->head->len, q->head->accepted, arg);
		drop_head(q);
	}
	q->request_out = 0;
}
