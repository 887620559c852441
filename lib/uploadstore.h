/*
 * uploadstore.h - the files of the upload service (XEP-0363) on disk,
 * under upload_dir (xmpp.conf(5)), one folder per slot:
 *
 *   <dir>/<id>/data       the file's bytes
 *   <dir>/<id>/meta       what a GET answers with, and until when:
 *                         "name N\ntype T\nsize S\nexpires E\nowner O\n"
 *   <dir>/<id>/data.part  a PUT in progress (created O_EXCL: one at a time)
 *
 * A file is complete once data exists: meta is renamed into place
 * first, then data, each after its bytes reached the disk, so a crash
 * leaves a partial slot that readers ignore and uploadstore_stale finds.
 * Every name is made here from a checked slot id (uploadsig_id_ok), so
 * nothing a client sends becomes a path. Several hosts may share dir (a
 * network file system): the folder per slot and rename() make that safe.
 *
 * Contract: functions return a named result (>= 0), or XE_SYS with
 * errno set (XE_INVALID for an id that is not one); nothing is logged.
 */
#ifndef XMPPD_UPLOADSTORE_H
#define XMPPD_UPLOADSTORE_H

#include <stddef.h>
#include <time.h>

#include "jid.h"
#include "uploadsig.h"

enum uploadstore_result {
	UPLOADSTORE_OK = 0,
	UPLOADSTORE_EXISTS = 1,    /* begin: the slot has a file, or a PUT in progress */
	UPLOADSTORE_NONE = 2,      /* open, meta_read: no complete file */
	UPLOADSTORE_STALE = 3      /* stale: an unfinished slot older than the limit */
};

/* The largest file written for a slot of size bytes (its data, or its
 * meta file): what a process that writes them must be allowed. */
#define UPLOADSTORE_FILE_MAX(size) \
	((long)(size) > UPLOADSTORE_META_MAX ? (long)(size) : UPLOADSTORE_META_MAX)
#define UPLOADSTORE_META_MAX ((long)sizeof(struct uploadstore_meta) + 64)

struct uploadstore_meta {
	char name[UPLOADSIG_NAME_MAX + 1];
	char type[UPLOADSIG_TYPE_MAX + 1];  /* what GET says; never "" once stored */
	long size;
	long expires;                       /* Unix time after which it is gone */
	char owner[JID_MAX];                /* the uploader's bare JID */
};

/* Start a PUT of slot id: the slot's folder, and *fd open for writing
 * on data.part. UPLOADSTORE_OK, or UPLOADSTORE_EXISTS (a file or another
 * PUT is there; *fd -1). */
int uploadstore_begin(const char *dir, const char *id, int *fd);
/* End it: fd's bytes and then m reach the disk, meta and data take
 * their names; fd is closed either way. UPLOADSTORE_OK or XE_SYS (the
 * caller then calls uploadstore_remove). */
int uploadstore_finish(const char *dir, const char *id, const struct uploadstore_meta *m, int fd);

/* A complete file of slot id: its meta into m and, with fd not NULL,
 * *fd open for reading on data. UPLOADSTORE_OK or UPLOADSTORE_NONE. */
int uploadstore_open(const char *dir, const char *id, struct uploadstore_meta *m, int *fd);

/* Remove slot id's folder and whatever is in it (a missing one is no
 * error). UPLOADSTORE_OK or XE_SYS. */
int uploadstore_remove(const char *dir, const char *id);

/* Slot id has no complete file and its folder was last changed more
 * than max_age seconds before now (a PUT that died): UPLOADSTORE_STALE,
 * else UPLOADSTORE_OK. */
int uploadstore_stale(const char *dir, const char *id, time_t now, long max_age);

/* fn(id, arg) for each slot folder in dir (in no order); fn returns 0 to
 * go on, < 0 to stop (returned). 0 at the end, XE_SYS if dir cannot be
 * read. */
int uploadstore_each(const char *dir, int (*fn)(const char *id, void *arg), void *arg);

#endif
