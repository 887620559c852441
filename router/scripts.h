/*
 * scripts.h - the Lua scripts of router/lua/, embedded at build time
 * (the Makefile turns each router/lua/NAME.lua into lua_NAME). Each
 * script's header comment is its contract.
 */
#ifndef XMPPD_SCRIPTS_H
#define XMPPD_SCRIPTS_H

extern const char lua_session_register[];
extern const char lua_session_unregister[];
extern const char lua_session_update[];
extern const char lua_session_reap[];
extern const char lua_presence_get[];
extern const char lua_roster_sub[];
extern const char lua_roster_set[];
extern const char lua_roster_remove[];
extern const char lua_route_stanza[];
extern const char lua_offline_move[];
extern const char lua_authfail_record[];

#endif
