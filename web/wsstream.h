/*
 * wsstream.h - put a WebSocket (ws.h) between a connection's bytes and
 * its XMPP stream (conn.h): called once, before the first byte is fed;
 * the connection then owns w and frees it with itself.
 */
#ifndef XMPPD_WSSTREAM_H
#define XMPPD_WSSTREAM_H

struct conn;
struct ws;

void wsstream_attach(struct conn *c, struct ws *w);

#endif
