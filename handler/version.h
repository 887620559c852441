/*
 * version.h - the version xmpp-handler reports (-V, XEP-0092 software
 * version). The Makefile passes XMPPD_VERSION (git describe of the
 * checkout by default) to the files that include this one, and rebuilds
 * them when it changes; a build without it says "0.1".
 */
#ifndef XMPPD_VERSION_H
#define XMPPD_VERSION_H

#ifndef XMPPD_VERSION
#define XMPPD_VERSION "0.1"
#endif

#endif
