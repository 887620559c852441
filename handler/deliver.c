/*
 * deliver.c - stanzas leaving the client for others, and arriving for it.
 */
#include "modules.h"
#include "stream.h"
#include "route.h"
#include "session.h"
#include "log.h"

#include <string.h>

/* Addressed to the server itself, or to the user's own account. */
static int for_server(struct conn *c, const char *to)
{
	return !to || !strcmp(to, c->domain) || !strcmp(to, c->bare);
}

void deliver_outbound(struct conn *c, struct xml_node *st)
{
	const char *to = xml_get(st, "to");
	if (!strcmp(st->name, "iq") && for_server(c, to)) {
		serveriq_handle(c, st);
		return;
	}
	if (!strcmp(st->name, "presence"))
		return;                  /* presence broadcast: not served yet */
	stanza_error(c, st, "cancel", "service-unavailable", NULL);
}

void deliver_inbound(struct conn *c, struct xml_node *st)
{
	conn_send(c, st);
}
