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

/* Runs argv with stdin and stdout redirected, waits for it, and writes
 * "WALL CPU MAXRSS_KB STATUS" to fd.  This is the --spawn side. */
int proc_spawn(int fd, const char *in_path, const char *out_path,
	       char *const argv[])
{
	struct rusage ru;
	double t0 = now();
	char line[128];
	int st, n;
	pid_t pid = fork();

	if (pid < 0)
		return 1;
	if (pid == 0) {
		if (redirect(in_path, O_RDONLY, 0) < 0 ||
		    redirect(*out_path ? out_path : "/dev/null",
			     O_WRONLY | O_CREAT | O_TRUNC, 1) < 0 ||
		    redirect("/dev/null", O_WRONLY, 2) < 0)
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	if (wait4(pid, &st, 0, &ru) < 0)
		return 1;
	n = snprintf(line, sizeof line, "%.6f %.6f %ld %d\n", now() - t0,
		     (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
		     (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) /
		     1e6, ru.ru_maxrss, WIFEXITED(st) ? WEXITSTATUS(st) :
		     128 + WTERMSIG(st));
	return write(fd, line, (size_t)n) == n ? 0 : 1;
}

/* Linux keeps a process's peak RSS across exec as the larger of before
 * and after, so a child forked from this process (which holds the
 * corpus) would report this process's size as its own.  The child is
 * therefore forked by a fresh, small copy of gs-bench (--spawn), which
 * reports the grandchild's figures through a pipe. */
int proc_run(char *const argv[], const char *in_path, const char *out_path,
	     struct proc_result *r)
{
	char fdarg[16], line[128];
	char *args[64];
	int fd[2], st, n = 0;
	ssize_t got;
	pid_t pid;

	args[n++] = "gs-bench";
	args[n++] = "--spawn";
	args[n++] = fdarg;
	args[n++] = (char *)in_path;
	args[n++] = (char *)(out_path ? out_path : "");
	for (int i = 0; argv[i] && n < 63; i++)
		args[n++] = argv[i];
	args[n] = NULL;
	fflush(NULL);
	if (pipe(fd) < 0)
		return -1;
	snprintf(fdarg, sizeof fdarg, "%d", fd[1]);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(fd[0]);
		execv("/proc/self/exe", args);
		_exit(127);
	}
	close(fd[1]);
	got = read(fd[0], line, sizeof line - 1);
	close(fd[0]);
	if (waitpid(pid, &st, 0) < 0 || got <= 0)
		return -1;
	line[got] = '\0';
	if (sscanf(line, "%lf %lf %ld %d", &r->seconds, &r->cpu,
		   &r->maxrss_kb, &r->status) != 4)
		return -1;
	return 0;
}
