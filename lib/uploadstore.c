/*
 * uploadstore.c - the upload service's files on disk (see uploadstore.h).
 */
#include "uploadstore.h"
#include "xerr.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LEAF_DATA "data"
#define LEAF_META "meta"
#define LEAF_PART "data.part"
#define LEAF_META_PART "meta.part"

static const char *const leaves[] = { LEAF_DATA, LEAF_META, LEAF_PART, LEAF_META_PART, NULL };

/* <dir>/<id>[/<leaf>] into out (PATH_MAX); -1 with errno when it does
 * not fit or id is not an id. */
static int path_of(const char *dir, const char *id, const char *leaf, char out[PATH_MAX])
{
	int n;

	if (!uploadsig_id_ok(id)) {
		errno = EINVAL;
		return -1;
	}
	n = leaf ? snprintf(out, PATH_MAX, "%s/%s/%s", dir, id, leaf)
	         : snprintf(out, PATH_MAX, "%s/%s", dir, id);
	if (n < 0 || n >= PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int uploadstore_begin(const char *dir, const char *id, int *fd)
{
	char path[PATH_MAX];

	*fd = -1;
	if (path_of(dir, id, NULL, path) == -1)
		return XE_SYS;
	if (mkdir(path, 0700) == -1 && errno != EEXIST)
		return XE_SYS;
	if (path_of(dir, id, LEAF_DATA, path) == -1)
		return XE_SYS;
	if (access(path, F_OK) == 0)
		return UPLOADSTORE_EXISTS;
	if (path_of(dir, id, LEAF_PART, path) == -1)
		return XE_SYS;
	*fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (*fd == -1)
		return errno == EEXIST ? UPLOADSTORE_EXISTS : XE_SYS;
	return UPLOADSTORE_OK;
}

/* Write all of buf to fd. */
static int write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, buf, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* meta.part written and synced, then renamed to meta. */
static int write_meta(const char *dir, const char *id, const struct uploadstore_meta *m)
{
	char path[PATH_MAX], final[PATH_MAX], buf[UPLOADSTORE_META_MAX];
	int fd, n, e;

	n = snprintf(buf, sizeof buf, "name %s\ntype %s\nsize %ld\nexpires %ld\nowner %s\n",
	    m->name, m->type, m->size, m->expires, m->owner);
	if (n < 0 || (size_t)n >= sizeof buf) {
		errno = EOVERFLOW;
		return -1;
	}
	if (path_of(dir, id, LEAF_META_PART, path) == -1 ||
	    path_of(dir, id, LEAF_META, final) == -1)
		return -1;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	if (write_all(fd, buf, (size_t)n) == -1 || fsync(fd) == -1) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	if (close(fd) == -1)
		return -1;
	return rename(path, final);
}

int uploadstore_finish(const char *dir, const char *id, const struct uploadstore_meta *m, int fd)
{
	char part[PATH_MAX], data[PATH_MAX];
	int e;

	if (fsync(fd) == -1) {
		e = errno;
		close(fd);
		errno = e;
		return XE_SYS;
	}
	if (close(fd) == -1 || write_meta(dir, id, m) == -1 ||
	    path_of(dir, id, LEAF_PART, part) == -1 || path_of(dir, id, LEAF_DATA, data) == -1 ||
	    rename(part, data) == -1)
		return XE_SYS;
	return UPLOADSTORE_OK;
}

/* One "key value" line of a meta file into m; -1 if it is not one. */
static int meta_line(struct uploadstore_meta *m, const char *k, const char *v)
{
	char *end;

	if (!strcmp(k, "name"))
		return snprintf(m->name, sizeof m->name, "%s", v) < (int)sizeof m->name ? 0 : -1;
	if (!strcmp(k, "type"))
		return snprintf(m->type, sizeof m->type, "%s", v) < (int)sizeof m->type ? 0 : -1;
	if (!strcmp(k, "owner"))
		return snprintf(m->owner, sizeof m->owner, "%s", v) < (int)sizeof m->owner ? 0 : -1;
	if (!strcmp(k, "size") || !strcmp(k, "expires")) {
		long n;
		errno = 0;
		n = strtol(v, &end, 10);
		if (errno || end == v || *end || n < 0)
			return -1;
		*(!strcmp(k, "size") ? &m->size : &m->expires) = n;
		return 0;
	}
	return 0;               /* a later version's line: ignored */
}

static int read_meta(const char *dir, const char *id, struct uploadstore_meta *m)
{
	char path[PATH_MAX], buf[UPLOADSTORE_META_MAX], *line, *next, *sp;
	ssize_t n;
	int fd;

	memset(m, 0, sizeof *m);
	m->size = m->expires = -1;
	if (path_of(dir, id, LEAF_META, path) == -1)
		return -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0 || n == (ssize_t)sizeof buf - 1)
		return -1;
	buf[n] = '\0';
	for (line = buf; *line; line = next) {
		next = strchr(line, '\n');
		if (!next)
			return -1;      /* cut short */
		*next++ = '\0';
		if (!(sp = strchr(line, ' ')))
			return -1;
		*sp = '\0';
		if (meta_line(m, line, sp + 1) == -1)
			return -1;
	}
	return m->name[0] && m->type[0] && m->size >= 0 && m->expires >= 0 ? 0 : -1;
}

int uploadstore_open(const char *dir, const char *id, struct uploadstore_meta *m, int *fd)
{
	char path[PATH_MAX];
	struct stat st;

	if (fd)
		*fd = -1;
	if (read_meta(dir, id, m) == -1 || path_of(dir, id, LEAF_DATA, path) == -1)
		return UPLOADSTORE_NONE;
	if (!fd)
		return access(path, F_OK) == 0 ? UPLOADSTORE_OK : UPLOADSTORE_NONE;
	if ((*fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return UPLOADSTORE_NONE;
	if (fstat(*fd, &st) == -1 || st.st_size != m->size) {
		close(*fd);             /* not the file meta describes */
		*fd = -1;
		return UPLOADSTORE_NONE;
	}
	return UPLOADSTORE_OK;
}

int uploadstore_remove(const char *dir, const char *id)
{
	char path[PATH_MAX];
	int i;

	for (i = 0; leaves[i]; i++) {
		if (path_of(dir, id, leaves[i], path) == -1)
			return XE_SYS;
		if (unlink(path) == -1 && errno != ENOENT)
			return XE_SYS;
	}
	if (path_of(dir, id, NULL, path) == -1)
		return XE_SYS;
	return rmdir(path) == -1 && errno != ENOENT ? XE_SYS : UPLOADSTORE_OK;
}

int uploadstore_stale(const char *dir, const char *id, time_t now, long max_age)
{
	struct uploadstore_meta m;
	char path[PATH_MAX];
	struct stat st;

	if (uploadstore_open(dir, id, &m, NULL) == UPLOADSTORE_OK)
		return UPLOADSTORE_OK;
	if (path_of(dir, id, LEAF_PART, path) == -1)
		return XE_SYS;
	/* the part file's time moves while a PUT writes it; else the folder's */
	if (stat(path, &st) == -1 && (path_of(dir, id, NULL, path) == -1 || stat(path, &st) == -1))
		return errno == ENOENT ? UPLOADSTORE_OK : XE_SYS;
	return (long)(now - st.st_mtime) > max_age ? UPLOADSTORE_STALE : UPLOADSTORE_OK;
}

int uploadstore_each(const char *dir, int (*fn)(const char *id, void *arg), void *arg)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	int rc = 0;

	if (!d)
		return XE_SYS;
	while (rc == 0 && (errno = 0, e = readdir(d)))
		if (uploadsig_id_ok(e->d_name))
			rc = fn(e->d_name, arg);
	if (rc == 0 && errno) {
		int en = errno;
		closedir(d);
		errno = en;
		return XE_SYS;
	}
	closedir(d);
	return rc;
}
