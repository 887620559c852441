/*
 * modules.c - the table of feature modules. A new feature is one file,
 * one line here, its router file and scripts, and a man page section.
 *
 * Order matters where hooks answer: the first MOD_HANDLED ends a walk, so
 * the delivery module, which routes whatever no other module took, comes
 * last.
 */
#include "modules.h"

const struct module *const modules[] = {
	&mod_sasl,
	&mod_sasl2,
	&mod_fast,
	&mod_iqauth,
	&mod_bind,
	&mod_sm,
	&mod_csi,
	&mod_roster,
	&mod_blocking,          /* before presence and deliver: it refuses and drops */
	&mod_caps,              /* before presence: it reads <c/> and lets it pass */
	&mod_muc,               /* before presence and deliver: the conference domain */
	&mod_upload,            /* before presence and deliver: the upload domain */
	&mod_presence,
	&mod_serveriq,
	&mod_carbons,
	&mod_push,
	&mod_vcard,
	&mod_private,
	&mod_register,
	&mod_mam,
	&mod_pep,
	&mod_bookmarks,
	&mod_avatar,
	&mod_extdisco,
	&mod_federation,        /* before deliver: stanzas to other domains */
	&mod_deliver,
	NULL
};
