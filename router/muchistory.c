/*
 * muchistory.c - the discussion history a joiner gets (XEP-0045 7.2.15,
 * 7.2.16): after its own presence and before the subject, the room's
 * last groupchat messages from before its join, oldest first, each as
 * it was sent live (from room/nick, its XEP-0359 stanza-id by the room)
 * with an XEP-0203 <delay/> from the room of when the room took it.
 *
 * Each is spliced from the stored message as a live one is
 * (muc_groupchat_xml), the delay last. The history comes from the
 * room's log (muc_history, router/muc.h), not its archive: every room
 * has a log, logged or not, and the log is what the occupants were
 * sent. At most the room's history setting
 * (muc#roomconfig_historylength), and within the client's <history/>:
 * maxstanzas, maxchars (the characters of the stanzas as written,
 * <delay/> and all), seconds and since; an attribute that is no number
 * or no DateTime is ignored. The join's own presence event and what
 * follows it are not history: the occupant's reader reads them from the
 * log after (mucview.h).
 */
#include "mucview.h"
#include "datetime.h"
#include "log.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MS_PER_SEC 1000LL

/* What one join asks for. */
struct limits {
	int stanzas;            /* at most this many */
	long chars;             /* their characters in all; -1 no limit */
	long long since_ms;     /* none older (Unix ms); -1 any age */
};

/* The non-negative integer v, or -1 when v is not one. */
static long count_of(const char *v)
{
	char *end;
	long n;

	if (!v || !*v)
		return -1;
	n = strtol(v, &end, 10);
	return *end || n < 0 ? -1 : n;
}

/* The limits of the join presence st's <history/> on top of the room's
 * room_max. */
static void limits_of(const struct xml_node *st, int room_max, struct limits *l)
{
	const struct xml_node *x = xml_child(st, NS_MUC, "x");
	const struct xml_node *h = x ? xml_child(x, NS_MUC, "history") : NULL;
	const char *since = h ? xml_get(h, "since") : NULL;
	long n;
	long long ms;

	l->stanzas = room_max > 0 ? room_max : 0;
	l->chars = -1;
	l->since_ms = -1;
	if (!h)
		return;
	if ((n = count_of(xml_get(h, "maxstanzas"))) >= 0 && n < l->stanzas)
		l->stanzas = (int)n;
	if ((n = count_of(xml_get(h, "maxchars"))) >= 0)
		l->chars = n;
	if ((n = count_of(xml_get(h, "seconds"))) >= 0)
		l->since_ms = ((long long)time(NULL) - n) * MS_PER_SEC;
	/* Both: the later bound. */
	if (since && datetime_parse(since, &ms) == 0 && ms > l->since_ms)
		l->since_ms = ms;
	if (l->chars == 0)
		l->stanzas = 0;
}

/* Characters of UTF-8 text s: its bytes but continuation bytes. */
static long utf8_chars(const char *s, size_t len)
{
	long n = 0;
	size_t i;

	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			n++;
	return n;
}

/* The history being gathered, newest first. */
struct gather {
	const struct muc_view *v;
	long chars;             /* left; -1 no limit */
	char **xml;
	size_t *len;
	int n;
};

/* muc_history's fn: message event e as history, unless it would pass
 * the characters left (then it and what is older stay out: 1). */
static int take(const struct muc_event *e, void *arg)
{
	struct gather *g = arg;
	struct xbuf delay = { 0 }, m = { 0 };
	char stamp[DATETIME_MAX];
	long k;

	datetime_format(mam_id_ms(e->id), 1, stamp, sizeof stamp);
	xbuf_adds(&delay, "<delay xmlns='" NS_DELAY "' from='");
	xbuf_add_esc(&delay, g->v->room, strlen(g->v->room));
	xbuf_addf(&delay, "' stamp='%s'/>", stamp);
	if (muc_groupchat_xml(g->v->room, e->nick, g->v->to, e->xml, e->xml_len, e->sid,
	    delay.p, &m) == -1) {
		xbuf_free(&delay);
		return 0;           /* not a message as muc_message stores them */
	}
	xbuf_free(&delay);
	if (g->chars >= 0) {
		k = utf8_chars(m.p, m.len);
		if (k > g->chars) {
			xbuf_free(&m);
			return 1;
		}
		g->chars -= k;
	}
	g->xml[g->n] = m.p;         /* the buffer's string, freed when sent */
	g->len[g->n++] = m.len;
	return 0;
}

void muc_view_history(struct store *s, struct muc_view *v, const struct xml_node *st,
    const char *before, int room_max)
{
	struct limits l;
	struct gather g;
	int rc, i;

	limits_of(st, room_max, &l);
	if (l.stanzas == 0)
		return;
	g.v = v;
	g.chars = l.chars;
	g.xml = xcalloc((size_t)l.stanzas, sizeof *g.xml);
	g.len = xcalloc((size_t)l.stanzas, sizeof *g.len);
	g.n = 0;
	rc = muc_history(s, v->room, before, l.since_ms, l.stanzas, take, &g);
	if (rc < 0)
		log_msg(LOG_ERR, "muc: history of %s: %s", v->room, s->err);
	for (i = g.n - 1; i >= 0; i--) {
		v->send_raw(g.xml[i], g.len[i], v->arg);
		free(g.xml[i]);
	}
	free(g.xml);
	free(g.len);
}
