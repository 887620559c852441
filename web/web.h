/*
 * web.h - the paths xmpp-web serves (web/main.c dispatches on them; the
 * services build their URLs from them).
 */
#ifndef XMPPD_WEB_H
#define XMPPD_WEB_H

#include "uploadsig.h"

#define WEB_PATH_WEBSOCKET      "/xmpp-websocket"
#define WEB_PATH_BOSH           "/http-bind"
#define WEB_PATH_HOSTMETA       "/.well-known/host-meta"
#define WEB_PATH_HOSTMETA_JSON  "/.well-known/host-meta.json"
/* and every path below it (upload.h): the prefix slot URLs are made
 * with (lib/uploadsig.h) */
#define WEB_PATH_UPLOAD         UPLOADSIG_PREFIX

#endif
