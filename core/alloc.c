/* SPDX-License-Identifier: MIT */
/* alloc.c - the one allocator every part of guardstack goes through, so a
 * later fault-injection hook sees plugin allocations as well as the
 * core's. */
#include "internal.h"
#include <stdlib.h>
#include <string.h>

void *gs_alloc(size_t n)
{
	return malloc(n ? n : 1);
}

void *gs_calloc(size_t n, size_t size)
{
	return calloc(n ? n : 1, size ? size : 1);
}

void *gs_realloc(void *p, size_t n)
{
	return realloc(p, n ? n : 1);
}

void gs_free(void *p)
{
	free(p);
}

char *gs_strndup(const char *s, size_t n)
{
	char *d = gs_alloc(n + 1);

	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

#include <errno.h>
#include <sys/random.h>

int gs_random(void *buf, size_t n)
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
