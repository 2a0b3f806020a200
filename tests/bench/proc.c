/* SPDX-License-Identifier: MIT */
/* proc.c - runs the guardstack CLI as a child, timed, with its peak RSS
 * from wait4(2). */
#define _GNU_SOURCE
#include "bench.h"
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int redirect(const char *path, int flags, int fd)
{
	int f = open(path, flags, 0600);

	if (f < 0)
		return -1;
	if (f != fd && (dup2(f, fd) < 0 || close(f) < 0))
		return -1;
	return 0;
}

int proc_run(char *const argv[], const char *in_path, const char *out_path,
	     struct proc_result *r)
{
	struct rusage ru;
	double t0 = now();
	int st;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (redirect(in_path, O_RDONLY, 0) < 0 ||
		    redirect(out_path ? out_path : "/dev/null",
			     O_WRONLY | O_CREAT | O_TRUNC, 1) < 0 ||
		    redirect("/dev/null", O_WRONLY, 2) < 0)
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	if (wait4(pid, &st, 0, &ru) < 0)
		return -1;
	r->seconds = now() - t0;
	r->cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
		 (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	r->maxrss_kb = ru.ru_maxrss;
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return 0;
}
