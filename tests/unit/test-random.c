/* SPDX-License-Identifier: MIT */
/*
 * test-random - gs_random, which reads the kernel's CSPRNG a page at a
 * time per thread: bytes are never handed out twice (across refills,
 * threads, and above all a fork, where a copied page would make the
 * child repeat its parent's markers and canaries).
 */
#include <guardstack/plugin.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "../tap.h"

#define DRAWS 20000 /* 16 bytes each: about 80 refills of a page */

static int cmp16(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

static void *draw_thread(void *out)
{
	return (void *)(long)gs_random(out, 16);
}

int main(void)
{
	unsigned char (*d)[16] = malloc(DRAWS * sizeof *d);
	unsigned char big[3000], mine[16], theirs[16], t1[16], t2[16];
	size_t count[256] = { 0 }, i, lo = SIZE_MAX, hi = 0;
	int fd[2], status, rc = 0, dup = 0;
	pthread_t a, b;
	pid_t pid;

	if (!d)
		return 99;
	for (i = 0; i < DRAWS && rc == GS_OK; i++)
		rc = gs_random(d[i], 16);
	is_int(rc, GS_OK, "%d draws of 16 bytes", DRAWS);
	qsort(d, DRAWS, sizeof *d, cmp16);
	for (i = 1; i < DRAWS; i++)
		dup += !memcmp(d[i - 1], d[i], 16);
	is_int(dup, 0, "no draw repeats another (across page refills)");
	for (i = 0; i < DRAWS * 16; i++)
		count[d[i / 16][i % 16]]++;
	for (i = 0; i < 256; i++) {
		lo = count[i] < lo ? count[i] : lo;
		hi = count[i] > hi ? count[i] : hi;
	}
	/* 320,000 bytes: 1250 of each value expected; these bounds are
	 * more than 8 standard deviations out */
	ok(lo > 950 && hi < 1550, "every byte value about equally often "
	   "(fewest %zu, most %zu)", lo, hi);
	free(d);

	memset(big, 0, sizeof big);
	is_int(gs_random(big, sizeof big), GS_OK, "a large draw (read "
	       "from the kernel directly)");
	for (i = 0, dup = 0; i + 16 <= sizeof big; i += 16)
		dup += !memcmp(big + i, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
			       16);
	is_int(dup, 0, "the large draw is filled");
	is_int(gs_random(big, 0), GS_OK, "a draw of nothing");

	/* the page now holds unread bytes: a child must not read them */
	if (pipe(fd) < 0 || (pid = fork()) < 0)
		return 99;
	if (pid == 0) {
		close(fd[0]);
		if (gs_random(theirs, 16) < 0 ||
		    write(fd[1], theirs, 16) != 16)
			_exit(1);
		_exit(0);
	}
	close(fd[1]);
	is_int(gs_random(mine, 16), GS_OK, "parent draws after fork");
	ok(read(fd[0], theirs, 16) == 16, "child drew 16 bytes");
	close(fd[0]);
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child ran");
	ok(memcmp(mine, theirs, 16) != 0, "a forked child draws other bytes "
	   "than its parent's next");

	memset(t1, 0, 16);
	memset(t2, 0, 16);
	ok(pthread_create(&a, NULL, draw_thread, t1) == 0 &&
	   pthread_create(&b, NULL, draw_thread, t2) == 0, "two threads");
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	ok(memcmp(t1, t2, 16) != 0 && memcmp(t1, mine, 16) != 0 &&
	   memcmp(t2, mine, 16) != 0, "threads draw different bytes");
	return done_testing();
}
