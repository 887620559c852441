/*
 * spawnfloor - the floor under a process-per-connection server's login
 * rate: how long it takes to start a program and reap it, one at a time,
 * on the core this runs on (bench.py pins it).
 *
 *   spawnfloor -n N PROGRAM [ARG...]
 *
 * posix_spawn()s PROGRAM N times, waiting for each, with stdin, stdout
 * and stderr on /dev/null, and prints one line:
 *   n=N wall_ms=<per spawn> cpu_ms=<user+system of this process and its
 *   children, per spawn>
 * Exit status: 0, 100 usage, 111 a spawn failed.
 */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double tv_ms(struct timeval t)
{
	return (double)t.tv_sec * 1e3 + (double)t.tv_usec / 1e3;
}

int main(int argc, char **argv)
{
	posix_spawn_file_actions_t fa;
	struct timespec t0, t1;
	struct rusage self, kids;
	long i, n = 0;
	int opt, status;
	pid_t pid;

	while ((opt = getopt(argc, argv, "+n:")) != -1) {   /* "+": PROGRAM's options are its own */
		if (opt != 'n')
			goto usage;
		n = strtol(optarg, NULL, 10);
	}
	if (n <= 0 || optind >= argc)
		goto usage;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		if (posix_spawn(&pid, argv[optind], &fa, NULL, argv + optind, environ) != 0 ||
		    waitpid(pid, &status, 0) != pid) {
			perror("spawnfloor");
			return 111;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	printf("n=%ld wall_ms=%.3f cpu_ms=%.3f\n", n,
	    ((double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6) / (double)n,
	    (tv_ms(self.ru_utime) + tv_ms(self.ru_stime) + tv_ms(kids.ru_utime) +
	    tv_ms(kids.ru_stime)) / (double)n);
	return 0;
usage:
	fprintf(stderr, "usage: spawnfloor -n N PROGRAM [ARG...]\n");
	return 100;
}
