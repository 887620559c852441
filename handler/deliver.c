/*
 * deliver.c - the delivery module: messages and IQs from the client to
 * other users (RFC 6121 8), each answered by its outcome, so that every
 * stanza accepted ends delivered, stored, or answered with an error.
 *
 * The messages of one read wait in a batch (the module's slot) and go to
 * Redis in one pipelined round trip, in order: the batch is flushed
 * before any other element is handled, at the end of each read, and when
 * the session ends. An eligible message's XEP-0280 carbon copies
 * (carbons.c) and XEP-0313 archive entries (mam.c) ride in the same round
 * trip: the received copies and the recipient's entry in its own routing
 * request, the sender's entry and the sent copies in one more request,
 * right after it, on the sender's keys.
 */
#include "modules.h"
#include "push.h"
#include "conn.h"
#include "config.h"
#include "relay.h"
#include "route.h"
#include "s2s.h"
#include "store.h"
#include "log.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DELIVER_BATCH 64      /* messages of one read routed in one round trip */
#define DELIVER_REQS  (2 * DELIVER_BATCH)   /* each with its sent copies */

/* A message waiting in the batch, already stamped and serialised. */
struct pending {
	struct xml_node *st;       /* for an error reply */
	char *bare, *resource, *env, *delay;
	int to_self;               /* to the user's own bare JID */
	int to_own;                /* to the user's own JID, bare or full */
	size_t envlen;
	int carbons;               /* eligible for XEP-0280 copies */
	int archive;               /* for the archives (XEP-0313) */
	char *to;                  /* the recipient's JID, for the sender's archive */
	int remote;                /* to another domain: queued for federation */
	unsigned long mark;        /* the client's stanzas handled before it (sm) */
};

struct batch {
	struct pending p[DELIVER_BATCH];
	int n;
};

static struct batch *batch_of(struct conn *c)
{
	return conn_slot(c, &mod_deliver, sizeof(struct batch));
}

/* The answer the client gets for a stanza it sent, by outcome. */
static void answer_outcome(struct conn *c, const struct xml_node *st, enum route_outcome o)
{
	switch (o) {
	case RO_DELIVERED:
	case RO_OFFLINE:
	case RO_DROPPED:
		break;
	case RO_NOUSER:
	case RO_UNAVAILABLE:
	case RO_FULL:
	case RO_BLOCKED:        /* XEP-0191 3.3: as if the user were not there */
		conn_error(c, st, "cancel", "service-unavailable", NULL);
		break;
	case RO_ERROR:
		log_msg(LOG_ERR, "route: %s", conn_store(c)->err);
		conn_error(c, st, "wait", "internal-server-error", NULL);
		break;
	}
}

/* A message to another domain, after its sent copies and archive entry:
 * queued for federation (s2s_send), or answered with why not. */
static void answer_queued(struct conn *c, const struct xml_node *st)
{
	federation_answer(c, st, federation_send(conn_store(c), conn_cfg(c), st));
}

static void pending_free(struct pending *p)
{
	xml_free(p->st);
	free(p->bare);
	free(p->resource);
	free(p->env);
	free(p->delay);
	free(p->to);
}

/* Does p need the request on the sender's keys: its sent copies for the
 * user's other sessions, or its entry in the sender's archive (never for
 * a message to the user's own JID: that one is archived once, received)? */
static int sent_wanted(struct conn *c, const struct pending *p)
{
	return (p->carbons && carbons_sent_wanted(c)) || (p->archive && !p->to_own);
}

/* The request on the sender's keys for p (sent_wanted): copies to the
 * user's own sessions, all but this one, and the archive entry. */
static void sent_request(struct conn *c, const struct pending *p, const char *type,
    long *found, struct route_req *q)
{
	q->bare = conn_bare(c);
	q->resource = "";
	q->msg_type = type;
	q->envelope = p->env;
	q->envlen = p->envlen;
	q->delay = "";
	q->echo_of = conn_resource(c);
	q->carbons = p->carbons && carbons_sent_wanted(c);
	q->sent = 1;
	q->carbons_found = q->carbons ? found : NULL;
	q->archive_with = p->archive ? p->to : NULL;
}

static void batch_send(struct conn *c)
{
	struct batch *b = batch_of(c);
	struct route_req *req;
	enum route_outcome *out;
	int i, k, n = b->n, at[DELIVER_BATCH], sent[DELIVER_BATCH], asleep[DELIVER_BATCH], lost;
	long found = -1;
	struct sm_rider *rider;

	if (n == 0)
		return;
	b->n = 0;
	lost = n;
	req = xcalloc(DELIVER_REQS, sizeof *req);
	out = xcalloc(DELIVER_REQS, sizeof *out);
	for (i = k = 0; i < n; i++) {
		const char *type = xml_get(b->p[i].st, "type");
		at[i] = k;
		if (b->p[i].remote)
			goto sent_part;     /* no local recipient: federation takes it */
		req[k].bare = b->p[i].bare;
		req[k].resource = b->p[i].resource;
		req[k].is_iq = 0;
		req[k].msg_type = type ? type : "normal";
		req[k].envelope = b->p[i].env;
		req[k].envlen = b->p[i].envlen;
		req[k].delay = b->p[i].delay;
		req[k].echo_of = b->p[i].to_self ? conn_resource(c) : "";
		req[k].carbons = b->p[i].carbons;
		req[k].from = conn_full(c);
		req[k].archive_with = b->p[i].archive ? conn_full(c) : NULL;
		asleep[i] = 0;
		req[k].asleep = &asleep[i];
		k++;
sent_part:
		sent[i] = sent_wanted(c, &b->p[i]);
		if (sent[i])
			sent_request(c, &b->p[i], type ? type : "normal", &found, &req[k++]);
	}
	rider = conn_sm_rider(c);
	route_stanza_batch_with(conn_store(c), k, req, conn_cfg(c)->offline_max, out,
	    conn_sm_rider_cmd(rider));
	conn_sm_rider_done(c, rider);
	if (found >= 0)
		carbons_sent_found(c, found);
	/* Redis was lost during the round trip (or a failover left it
	 * behind, route.h): from the first message it failed on, none may
	 * have been kept. Under stream management they count as unhandled
	 * and the stream ends, so the client sends them again once it has
	 * resumed; without it, each is answered with an error as usual. */
	if (store_lost(conn_store(c))) {
		for (i = 0; i < n && lost == n; i++)
			if (!b->p[i].remote && out[at[i]] == RO_ERROR)
				lost = i;
		/* All ran, but the WAIT after them did not answer: none is
		 * known to be on a replica. */
		if (lost == n && conn_store(c)->wait_replicas > 0)
			lost = 0;
		if (lost < n && conn_sm_unhandle(c, b->p[lost].mark))
			conn_storage_lost(c, "storage unavailable");
		else
			lost = n;
	}
	for (i = 0; i < n; i++) {
		int local = !b->p[i].remote;
		if (i >= lost)
			;                     /* the client sends it again */
		else if (local)
			answer_outcome(c, b->p[i].st, out[at[i]]);
		else
			answer_queued(c, b->p[i].st);
		/* XEP-0357: no session of the recipient listens. */
		if (local && asleep[i] &&
		    push_notify(conn_store(c), conn_cfg(c), b->p[i].bare, b->p[i].st) < 0)
			log_msg(LOG_ERR, "push: %s", conn_store(c)->err);
		/* Lost copies or a lost entry are no error of the message's. */
		if (sent[i] && out[at[i] + local] == RO_ERROR)
			log_msg(LOG_ERR, "sent copies, archive: %s", conn_store(c)->err);
		pending_free(&b->p[i]);
	}
	free(req);
	free(out);
}

/* Messages go out before anything else is handled (RFC 6120 10.1: in
 * order); another message may join the batch. */
static void deliver_flush(struct conn *c, const struct xml_node *next)
{
	if (!next || strcmp(next->name, "message"))
		batch_send(c);
}

/* A message from the client to a user of one of our domains: batched,
 * in order. */
static void queue_message(struct conn *c, struct xml_node *st, const struct jid *to, int remote)
{
	struct batch *b = batch_of(c);
	struct pending *p;
	struct xbuf delay = { 0 };
	char bare[JID_MAX], full[JID_MAX + JID_MAX_PART + 1], *xml;
	long now = (long)time(NULL);

	if (b->n == DELIVER_BATCH)
		batch_send(c);
	p = &b->p[b->n++];
	p->remote = remote;
	p->mark = conn_sm_mark(c);
	xml_set(st, "from", conn_full(c));
	jid_bare(to, bare, sizeof bare);
	/* XEP-0359 3.3: only the server gives a message its stanza-ids; a
	 * client's would pass for an archive's. */
	xml_remove_children(st, NS_SID, "stanza-id");
	p->archive = mam_archivable(st);
	xml = xml_string(st, NULL);
	p->env = route_envelope_stanza(xml, now, &p->envlen);
	free(xml);
	p->carbons = carbons_eligible(c, st, bare);
	relay_delay_element(c, st, &delay);
	p->delay = delay.p ? delay.p : xstrdup("");
	p->bare = xstrdup(bare);
	p->resource = xstrdup(to->resource);
	p->to_own = !strcmp(bare, conn_bare(c));
	snprintf(full, sizeof full, "%s%s%s", bare, to->resource[0] ? "/" : "", to->resource);
	p->to = xstrdup(full);
	p->to_self = !to->resource[0] && !strcmp(bare, conn_bare(c));
	p->st = xml_copy(st);
}

static enum mod_ret deliver_inbound(struct conn *c, struct xml_node *st)
{
	const char *to = xml_get(st, "to");
	struct jid j;

	if (strcmp(st->name, "message") && strcmp(st->name, "iq"))
		return MOD_PASS;
	if (to && jid_parse(to, &j) == -1) {
		conn_error(c, st, "modify", "jid-malformed", NULL);
		return MOD_HANDLED;
	}
	if (!to)                /* a message without 'to' is for the user's own account */
		jid_parse(conn_bare(c), &j);
	if (!config_serves(conn_cfg(c), j.domain)) {
		/* To another domain: through federation when it may go there. */
		if (!strcmp(st->name, "message") && federation_remote(conn_cfg(c), to))
			queue_message(c, st, &j, 1);
		else
			conn_error(c, st, "cancel", "remote-server-not-found", NULL);
		return MOD_HANDLED;
	}
	if (!j.node[0]) {
		conn_error(c, st, "cancel", "service-unavailable", NULL);
		return MOD_HANDLED;
	}
	if (!strcmp(st->name, "iq") && !j.resource[0]) {
		/* To another user's bare JID: the server answers on the
		 * user's behalf (RFC 6121 8.5.2.1.3) and serves nothing there. */
		conn_error(c, st, "cancel", "service-unavailable", NULL);
		return MOD_HANDLED;
	}
	if (!strcmp(st->name, "message")) {
		queue_message(c, st, &j, 0);
	} else {
		xml_set(st, "from", conn_full(c));
		answer_outcome(c, st, relay_to_user(c, st, &j, time(NULL)));
	}
	return MOD_HANDLED;
}

static void deliver_free(void *slot)
{
	struct batch *b = slot;
	int i;
	/* Only a connection that ends without conn_finish leaves a batch. */
	for (i = 0; i < b->n; i++)
		pending_free(&b->p[i]);
}

static const char *const deliver_disco[] = { "msgoffline", NULL };

const struct module mod_deliver = {
	.name = "deliver",
	.disco = deliver_disco,
	.inbound = deliver_inbound,
	.flush = deliver_flush,
	.free_slot = deliver_free,
};
