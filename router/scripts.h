/*
 * scripts.h - the Lua scripts of router/lua/, embedded at build time
 * (the Makefile turns each router/lua/NAME.lua into lua_NAME, with its
 * SHA-1 as lua_NAME_sha; tests/embed-lua.sh puts in what a script
 * includes from router/lua/lib/ first). Each script's header comment is
 * its contract; each answers { outcome, data... }, read with
 * store_script (store.h).
 */
#ifndef XMPPD_SCRIPTS_H
#define XMPPD_SCRIPTS_H

/* Every script, ended by { NULL, NULL }: what store.c's pipelines look a
 * script up in by its SHA-1. */
struct lua_script {
	const char *text, *sha;
};
extern const struct lua_script lua_scripts[];

extern const char lua_session_register[], lua_session_register_sha[];
extern const char lua_session_unregister[], lua_session_unregister_sha[];
extern const char lua_session_update[], lua_session_update_sha[];
extern const char lua_session_reap[], lua_session_reap_sha[];
extern const char lua_presence_get[], lua_presence_get_sha[];
extern const char lua_roster_sub[], lua_roster_sub_sha[];
extern const char lua_roster_set[], lua_roster_set_sha[];
extern const char lua_roster_remove[], lua_roster_remove_sha[];
extern const char lua_route_stanza[], lua_route_stanza_sha[];
extern const char lua_offline_move[], lua_offline_move_sha[];
extern const char lua_authfail_record[], lua_authfail_record_sha[];
extern const char lua_server_secret[], lua_server_secret_sha[];
extern const char lua_upload_reserve[], lua_upload_reserve_sha[];
extern const char lua_upload_commit[], lua_upload_commit_sha[];
extern const char lua_sm_enable[], lua_sm_enable_sha[];
extern const char lua_sm_sync[], lua_sm_sync_sha[];
extern const char lua_sm_resume[], lua_sm_resume_sha[];
extern const char lua_sm_end[], lua_sm_end_sha[];
extern const char lua_sm_adopt[], lua_sm_adopt_sha[];
extern const char lua_bosh_claim[], lua_bosh_claim_sha[];
extern const char lua_bosh_record[], lua_bosh_record_sha[];
extern const char lua_bosh_fed[], lua_bosh_fed_sha[];
extern const char lua_bcast[], lua_bcast_sha[];
extern const char lua_s2s_queue[], lua_s2s_queue_sha[];
extern const char lua_s2s_verify_ask[], lua_s2s_verify_ask_sha[];
extern const char lua_s2s_lease[], lua_s2s_lease_sha[];
extern const char lua_s2s_idle[], lua_s2s_idle_sha[];
extern const char lua_bcast_hold[], lua_bcast_hold_sha[];
extern const char lua_carbons_set[], lua_carbons_set_sha[];
extern const char lua_private_set[], lua_private_set_sha[];
extern const char lua_blocking_set[], lua_blocking_set_sha[];
extern const char lua_mam_query[], lua_mam_query_sha[];
extern const char lua_mam_add[], lua_mam_add_sha[];
extern const char lua_mam_prefs_set[], lua_mam_prefs_set_sha[];
extern const char lua_account_create[], lua_account_create_sha[];
extern const char lua_invite_check[], lua_invite_check_sha[];
extern const char lua_invite_take[], lua_invite_take_sha[];
extern const char lua_registration_count[], lua_registration_count_sha[];
extern const char lua_pep_publish[], lua_pep_publish_sha[];
extern const char lua_pep_configure[], lua_pep_configure_sha[];
extern const char lua_pep_retract[], lua_pep_retract_sha[];
extern const char lua_pep_purge[], lua_pep_purge_sha[];
extern const char lua_pep_items[], lua_pep_items_sha[];
extern const char lua_muc_join[], lua_muc_join_sha[];
extern const char lua_muc_leave[], lua_muc_leave_sha[];
extern const char lua_muc_nick[], lua_muc_nick_sha[];
extern const char lua_muc_message[], lua_muc_message_sha[];
extern const char lua_muc_private[], lua_muc_private_sha[];
extern const char lua_muc_ping[], lua_muc_ping_sha[];
extern const char lua_muc_remote_add[], lua_muc_remote_add_sha[];
extern const char lua_muc_remote_sync[], lua_muc_remote_sync_sha[];
extern const char lua_push_enable[], lua_push_enable_sha[];
extern const char lua_fast_cas[], lua_fast_cas_sha[];
extern const char lua_clients_seen[], lua_clients_seen_sha[];
extern const char lua_push_note[], lua_push_note_sha[];
extern const char lua_muc_subject[], lua_muc_subject_sha[];
extern const char lua_muc_info[], lua_muc_info_sha[];
extern const char lua_muc_config_set[], lua_muc_config_set_sha[];
extern const char lua_muc_destroy[], lua_muc_destroy_sha[];
extern const char lua_muc_occupant[], lua_muc_occupant_sha[];
extern const char lua_muc_role_set[], lua_muc_role_set_sha[];
extern const char lua_muc_aff_set[], lua_muc_aff_set_sha[];
extern const char lua_muc_list[], lua_muc_list_sha[];
extern const char lua_muc_invite[], lua_muc_invite_sha[];
extern const char lua_muc_mam_query[], lua_muc_mam_query_sha[];
extern const char lua_muc_people[], lua_muc_people_sha[];

#endif
