/*
 * standalone.c - main() for a fuzz target built without libFuzzer (the
 * regression run of `make check`): each file named on the command line,
 * or each file of a directory named there, goes once through
 * LLVMFuzzerTestOneInput in a child process of its own, so one crash is
 * reported with its file name and the others still run.
 *
 * FUZZ_NOFORK=1: everything in this process (coverage.sh), so the first
 * crash ends the run.
 *
 * Output: a line per failure, then "NAME: N passed, M failed". Exit
 * status 1 if any input failed (crash, sanitizer report, abort).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int passed, failed, inline_run;

static int read_file(const char *path, uint8_t **data, size_t *size)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 4096, n = 0, got;
	uint8_t *p;
	if (!f)
		return -1;
	p = malloc(cap);
	while (p && (got = fread(p + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			uint8_t *q = realloc(p, cap *= 2);
			if (!q) {
				free(p);
				p = NULL;
			}
			p = q;
		}
	}
	fclose(f);
	if (!p)
		return -1;
	*data = p;
	*size = n;
	return 0;
}

static void run_one(const char *path)
{
	uint8_t *data;
	size_t size;
	pid_t pid;
	int status;

	if (read_file(path, &data, &size) == -1) {
		fprintf(stderr, "FAIL %s: cannot read\n", path);
		failed++;
		return;
	}
	if (inline_run) {
		LLVMFuzzerTestOneInput(data, size);
		free(data);
		passed++;
		return;
	}
	fflush(NULL);
	pid = fork();
	if (pid == -1) {
		perror("fork");
		exit(2);
	}
	if (pid == 0) {
		LLVMFuzzerTestOneInput(data, size);
		exit(0);        /* not _exit: LeakSanitizer checks at exit */
	}
	free(data);
	if (waitpid(pid, &status, 0) == -1) {
		perror("waitpid");
		exit(2);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		passed++;
		return;
	}
	failed++;
	if (WIFSIGNALED(status))
		fprintf(stderr, "FAIL %s: signal %d\n", path, WTERMSIG(status));
	else
		fprintf(stderr, "FAIL %s: exit status %d\n", path, WEXITSTATUS(status));
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static void run_path(const char *path)
{
	struct stat st;
	struct dirent **names;
	int i, n;

	if (stat(path, &st) == -1)
		return;                  /* an absent directory holds no inputs */
	if (!S_ISDIR(st.st_mode)) {
		run_one(path);
		return;
	}
	n = scandir(path, &names, NULL, by_name);
	for (i = 0; i < n; i++) {
		char *full;
		if (names[i]->d_name[0] != '.' &&
		    asprintf(&full, "%s/%s", path, names[i]->d_name) != -1) {
			if (stat(full, &st) == 0 && S_ISREG(st.st_mode))
				run_one(full);
			free(full);
		}
		free(names[i]);
	}
	if (n >= 0)
		free(names);
}

int main(int argc, char **argv)
{
	const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	int i;

	inline_run = getenv("FUZZ_NOFORK") != NULL;
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++)
		run_path(argv[i]);
	printf("%s: %d passed, %d failed\n", name, passed, failed);
	return failed ? 1 : 0;
}
