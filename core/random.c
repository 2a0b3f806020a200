/* SPDX-License-Identifier: MIT */
/*
 * random.c - gs_random: the kernel's CSPRNG, read a page at a time.
 *
 * A call draws a call id, a prompt-wrap marker and a leak-redact canary:
 * three getrandom(2) calls of 8 to 16 bytes, about a tenth of a short
 * request's time.  Each thread instead keeps one page of getrandom
 * output and hands it out in order, wiping what it hands out.  The page
 * is marked MADV_WIPEONFORK, so a forked child finds it empty and draws
 * its own bytes instead of repeating its parent's.  Where the page
 * cannot be had or marked (an old kernel), every call goes to
 * getrandom(2) as before.
 */
#include "internal.h"
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#define RND_PAGE 4096

typedef struct rnd_page {
	size_t left;   /* unread bytes at the end of buf; 0 after a fork */
	unsigned char buf[RND_PAGE - sizeof(size_t)];
} rnd_page;

static pthread_key_t rnd_key;
static pthread_once_t rnd_once = PTHREAD_ONCE_INIT;
static int rnd_key_ok;
static __thread rnd_page *rnd;
static __thread int rnd_none; /* no page for this thread: unbuffered */

static int rnd_kernel(void *buf, size_t n)
{
	unsigned char *p = buf;

	while (n) {
		ssize_t r = getrandom(p, n, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return GS_EIO;
		}
		p += r;
		n -= (size_t)r;
	}
	return GS_OK;
}

static void rnd_release(void *page)
{
	munmap(page, RND_PAGE);
}

static void rnd_key_make(void)
{
	rnd_key_ok = pthread_key_create(&rnd_key, rnd_release) == 0;
}

static int rnd_wipe_on_fork(void *p)
{
#ifdef MADV_WIPEONFORK
	return madvise(p, RND_PAGE, MADV_WIPEONFORK);
#else
	(void)p;
	return -1; /* a child would repeat its parent's bytes */
#endif
}

/* The calling thread's page, or NULL (then it reads the kernel). */
static rnd_page *rnd_get(void)
{
	void *p;

	if (rnd || rnd_none)
		return rnd;
	pthread_once(&rnd_once, rnd_key_make);
	p = mmap(NULL, RND_PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		rnd_none = 1;
		return NULL;
	}
	if (!rnd_key_ok || rnd_wipe_on_fork(p) < 0 ||
	    pthread_setspecific(rnd_key, p) != 0) {
		munmap(p, RND_PAGE);
		rnd_none = 1;
		return NULL;
	}
	return rnd = p; /* zero-filled: left is 0 */
}

int gs_random(void *buf, size_t n)
{
	unsigned char *out = buf;
	rnd_page *pg = rnd_get();

	if (!pg || n > sizeof pg->buf / 4)
		return rnd_kernel(buf, n);
	while (n) {
		size_t k, at;

		if (!pg->left) {
			if (rnd_kernel(pg->buf, sizeof pg->buf) < 0)
				return GS_EIO;
			pg->left = sizeof pg->buf;
		}
		k = n < pg->left ? n : pg->left;
		at = sizeof pg->buf - pg->left;
		memcpy(out, pg->buf + at, k);
		memset(pg->buf + at, 0, k); /* handed out: not kept */
		pg->left -= k;
		out += k;
		n -= k;
	}
	return GS_OK;
}

/* When the library is unloaded: no destructor may point into it. */
void gs__random_fini(void)
{
	if (rnd_key_ok)
		pthread_key_delete(rnd_key);
}
