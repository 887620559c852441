/*
 * test_uploadstore.c - unit tests for lib/uploadstore.c, in a temporary
 * folder: a PUT's life (begin, finish, open), one PUT at a time and none
 * after the file is there, a partial slot that readers ignore and that
 * grows stale, a meta file that does not describe its data, removal,
 * and the walk over the slots.
 * Prints one line per failing check, then "N passed, M failed"; exits
 * non-zero if anything failed.
 */
#include "uploadstore.h"
#include "xerr.h"
#include "check.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ID1 "0123456789abcdef0123456789abcdef"
#define ID2 "fedcba9876543210fedcba9876543210"

static char dir[] = "/tmp/test_uploadstore.XXXXXX";

static void meta(struct uploadstore_meta *m, long size)
{
	memset(m, 0, sizeof *m);
	strcpy(m->name, "h\xc3\xa9 llo.txt");
	strcpy(m->type, "text/plain; charset=utf-8");
	m->size = size;
	m->expires = 1700000000;
	strcpy(m->owner, "alice@example.org");
}

static int count(const char *id, void *arg)
{
	(void)id;
	++*(int *)arg;
	return 0;
}

static void test_life(void)
{
	struct uploadstore_meta m, got;
	char buf[16];
	int fd, fd2, n = 0;

	CHECK_INT(uploadstore_open(dir, ID1, &got, &fd), UPLOADSTORE_NONE);
	CHECK_INT(uploadstore_begin(dir, ID1, &fd), UPLOADSTORE_OK);
	CHECK(fd >= 0);
	/* a second PUT while the first runs */
	CHECK_INT(uploadstore_begin(dir, ID1, &fd2), UPLOADSTORE_EXISTS);
	CHECK_INT(fd2, -1);
	CHECK_INT(write(fd, "hello", 5), 5);
	/* not complete: readers see nothing, and it is not stale yet */
	CHECK_INT(uploadstore_open(dir, ID1, &got, NULL), UPLOADSTORE_NONE);
	CHECK_INT(uploadstore_stale(dir, ID1, time(NULL), 60), UPLOADSTORE_OK);
	CHECK_INT(uploadstore_stale(dir, ID1, time(NULL) + 61, 60), UPLOADSTORE_STALE);
	meta(&m, 5);
	CHECK_INT(uploadstore_finish(dir, ID1, &m, fd), UPLOADSTORE_OK);
	CHECK_INT(uploadstore_open(dir, ID1, &got, &fd), UPLOADSTORE_OK);
	CHECK_STR(got.name, m.name);
	CHECK_STR(got.type, m.type);
	CHECK_STR(got.owner, m.owner);
	CHECK_INT(got.size, 5);
	CHECK_INT(got.expires, 1700000000);
	CHECK_INT(read(fd, buf, sizeof buf), 5);
	CHECK(memcmp(buf, "hello", 5) == 0);
	close(fd);
	CHECK_INT(uploadstore_stale(dir, ID1, time(NULL) + 1000, 60), UPLOADSTORE_OK);
	/* no PUT once the file is there */
	CHECK_INT(uploadstore_begin(dir, ID1, &fd2), UPLOADSTORE_EXISTS);

	CHECK_INT(uploadstore_each(dir, count, &n), 0);
	CHECK_INT(n, 1);
	CHECK_INT(uploadstore_remove(dir, ID1), UPLOADSTORE_OK);
	CHECK_INT(uploadstore_open(dir, ID1, &got, NULL), UPLOADSTORE_NONE);
	CHECK_INT(uploadstore_remove(dir, ID1), UPLOADSTORE_OK);   /* twice: fine */
	n = 0;
	CHECK_INT(uploadstore_each(dir, count, &n), 0);
	CHECK_INT(n, 0);
}

/* meta says 6 bytes, data holds 5: not served. Ids that are not ids
 * make no path. */
static void test_mismatch(void)
{
	struct uploadstore_meta m, got;
	int fd;

	CHECK_INT(uploadstore_begin(dir, ID2, &fd), UPLOADSTORE_OK);
	CHECK_INT(write(fd, "hello", 5), 5);
	meta(&m, 6);
	CHECK_INT(uploadstore_finish(dir, ID2, &m, fd), UPLOADSTORE_OK);
	CHECK_INT(uploadstore_open(dir, ID2, &got, &fd), UPLOADSTORE_NONE);
	CHECK_INT(fd, -1);
	CHECK_INT(uploadstore_remove(dir, ID2), UPLOADSTORE_OK);

	CHECK_INT(uploadstore_begin(dir, "../etc", &fd), XE_SYS);
	CHECK_INT(uploadstore_remove(dir, "0123456789abcdef0123456789abcde/"), XE_SYS);
	CHECK_INT(uploadstore_each("/nonexistent/folder", count, &fd), XE_SYS);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_life();
	test_mismatch();
	rmdir(dir);
	return CHECK_DONE();
}
