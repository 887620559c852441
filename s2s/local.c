/*
 * local.c - this server's side of federation (local.h).
 */
#include "local.h"
#include "account.h"
#include "carbons.h"
#include "mam.h"
#include "jid.h"
#include "log.h"
#include "push.h"
#include "s2s.h"
#include "xerr.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <nettle/hmac.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The dialback secret: HMAC-SHA256(server secret, label). */
static int secret(struct store *s, unsigned char out[SHA256_DIGEST_SIZE])
{
	unsigned char server[ACCOUNT_SECRET_LEN];
	struct hmac_sha256_ctx h;

	if (account_server_secret(s, server) < 0)
		return XE_REDIS;
	hmac_sha256_set_key(&h, sizeof server, server);
	hmac_sha256_update(&h, sizeof S2S_DIALBACK_LABEL - 1,
	    (const uint8_t *)S2S_DIALBACK_LABEL);
	hmac_sha256_digest(&h, SHA256_DIGEST_SIZE, out);
	return 0;
}

int s2s_dialback_key(struct store *s, const char *receiving, const char *originating,
    const char *sid, char key[DIALBACK_KEY_HEX + 1])
{
	unsigned char k[SHA256_DIGEST_SIZE];
	int r;

	key[0] = '\0';
	if ((r = secret(s, k)) < 0)
		return r;
	return dialback_key(k, sizeof k, receiving, originating, sid, key);
}

int s2s_dialback_check(struct store *s, const char *receiving, const char *originating,
    const char *sid, const char *key)
{
	unsigned char k[SHA256_DIGEST_SIZE];
	int r;

	if ((r = secret(s, k)) < 0)
		return r;
	return dialback_verify(k, sizeof k, receiving, originating, sid, key) == 0;
}

void s2s_trust(const struct config *cfg, struct tls_trust *t)
{
	t->ca_file = cfg->s2s_ca_file[0] ? cfg->s2s_ca_file : NULL;
	t->ca_dir = NULL;
}

enum route_outcome s2s_deliver_local(struct store *s, const struct config *cfg,
    const struct xml_node *st)
{
	const char *type = xml_get(st, "type"), *to = xml_get(st, "to");
	struct route_req q = { 0 };
	enum route_outcome o;
	struct xbuf x = { 0 }, delay = { 0 };
	struct xml_node *client = NULL;
	char bare[JID_MAX], *env;
	int asleep = 0;
	struct jid j;
	size_t len;

	if (!to || jid_parse(to, &j) == -1)
		return RO_NOUSER;
	jid_bare(&j, bare, sizeof bare);
	/* Written without the stream's namespace: as a local client's. */
	xml_write(&x, st, "jabber:server");
	xbuf_add(&x, "", 1);
	env = route_envelope_stanza(x.p, (long)time(NULL), &len);
	/* XEP-0280 copies and the XEP-0313 entry, as from a local sender;
	 * judged on the client form (the stanza's own namespace is
	 * jabber:server). */
	if (!strcmp(st->name, "message") && (client = xml_parse_string(x.p, x.len - 1))) {
		q.carbons = carbons_copyable(client);
		if (mam_archivable(client))
			q.archive_with = xml_get(st, "from");
		route_delay_element(j.domain, client, &delay);
	}
	q.bare = bare;
	q.resource = j.resource;
	q.is_iq = !strcmp(st->name, "iq");
	q.msg_type = type ? type : "normal";
	q.envelope = env;
	q.envlen = len;
	q.delay = delay.p ? delay.p : "";
	q.echo_of = "";
	q.from = xml_get(st, "from");       /* the recipient may block it */
	q.asleep = &asleep;
	route_stanza_batch(s, 1, &q, cfg->offline_max, &o);
	/* XEP-0357: no session of the recipient listens. */
	if (client && asleep && push_notify(s, cfg, bare, client) < 0)
		log_msg(LOG_ERR, "push: %s", s->err);
	xml_free(client);
	free(env);
	xbuf_free(&x);
	xbuf_free(&delay);
	return o;
}

/* The lease of name is held by a process of this host that no longer
 * exists: free it. 1 if it was freed. */
static int free_dead_lease(struct store *s, const struct config *cfg, const char *name)
{
	char n[STORE_MAX_GLOBAL_KEY], key[STORE_MAX_GLOBAL_KEY], host[256];
	redisReply *r;
	long pid = 0;
	int dead = 0;

	snprintf(n, sizeof n, "s2s:lease:{%s}", name);
	store_global_key(s, n, key, sizeof key);
	if (!(r = store_cmd(s, "GET %s", key)))
		return 0;
	if (r->type == REDIS_REPLY_STRING && sscanf(r->str, "%255s %ld", host, &pid) == 2 &&
	    !strcmp(host, cfg->hostname) && pid > 0 && pid != (long)getpid() &&
	    kill((pid_t)pid, 0) == -1 && errno == ESRCH)
		dead = 1;
	freeReplyObject(r);
	if (!dead || s2s_lease_release(s, name, host, pid) < 0)
		return 0;
	log_msg(LOG_NOTICE, "%s: took over the lease of process %ld, which is gone", name, pid);
	return 1;
}

int s2s_lease_take(struct store *s, const struct config *cfg, const char *name, int ttl)
{
	int rc = s2s_lease(s, name, cfg->hostname, (long)getpid(), ttl);

	if (rc == S2S_LEASE_OTHER && free_dead_lease(s, cfg, name))
		rc = s2s_lease(s, name, cfg->hostname, (long)getpid(), ttl);
	if (rc < 0)
		log_msg(LOG_ERR, "%s: redis: %s", name, s->err);
	return rc;
}

int s2s_wake_subscribe(struct store *s)
{
	char ch[STORE_MAX_GLOBAL_KEY];
	redisReply *r;

	if (store_open_sub(s) < 0)
		return -1;
	store_global_key(s, S2S_WAKE_CHANNEL, ch, sizeof ch);
	if (redisAppendCommand(s->sub, "SUBSCRIBE %s", ch) != REDIS_OK ||
	    redisGetReply(s->sub, (void **)&r) != REDIS_OK)
		return -1;
	freeReplyObject(r);
	return 0;
}

int s2s_wake_read(struct store *s, const char *route)
{
	redisReply *r;
	int woke = S2S_WAKE_NONE;

	if (redisBufferRead(s->sub) != REDIS_OK)
		return -1;
	for (;;) {
		if (redisGetReplyFromReader(s->sub, (void **)&r) != REDIS_OK)
			return -1;
		if (!r)
			return woke;
		if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
		    r->element[2]->type == REDIS_REPLY_STRING) {
			const char *m = r->element[2]->str;
			if (!strcmp(m, route) && !woke)
				woke = S2S_WAKE_WORK;
			else if (!strncmp(m, S2S_CLOSE_PREFIX, sizeof S2S_CLOSE_PREFIX - 1) &&
			    !strcmp(m + sizeof S2S_CLOSE_PREFIX - 1, route))
				woke = S2S_WAKE_CLOSE;
		}
		freeReplyObject(r);
	}
}
