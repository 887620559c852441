/*
 * scripts.h - the Lua scripts of router/lua/, embedded at build time
 * (the Makefile turns each router/lua/NAME.lua into lua_NAME).
 */
#ifndef XMPPD_SCRIPTS_H
#define XMPPD_SCRIPTS_H

extern const char lua_session_register[];
extern const char lua_session_unregister[];
extern const char lua_session_update[];

#endif
