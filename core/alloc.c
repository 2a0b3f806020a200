/* SPDX-License-Identifier: MIT */
/*
 * alloc.c - the one allocator every part of guardstack goes through: the
 * core, the plugins (plugin.h asks them to), cJSON and PCRE2 (routed here
 * below).  One allocator means one place to inject failures.
 *
 * Fault injection, a test hook in the manner of curl's torture tests:
 * with GUARDSTACK_FAIL_ALLOC=N in the environment (read once, when the
 * library loads, and ignored when setuid or setgid) the Nth call to
 * gs_alloc, gs_calloc or gs_realloc returns NULL; "N+" fails the Nth and
 * every later one.  Test programs run in-process sweeps with
 * gs__alloc_fault().  When neither is used the cost is one relaxed atomic
 * load per allocation.  It is compiled in always so the sanitizer and
 * valgrind passes of `make check` can run the sweep on the build they
 * test.
 */
#include "internal.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_ulong fail_at;    /* 0: off; else the allocation to fail */
static atomic_int fail_after;   /* fail every allocation from fail_at on */
static atomic_ulong n_allocs;   /* counted only while fail_at is set */

static int inject(void)
{
	unsigned long at = atomic_load_explicit(&fail_at,
						memory_order_relaxed);
	unsigned long n;

	if (!at)
		return 0;
	n = atomic_fetch_add_explicit(&n_allocs, 1, memory_order_relaxed) + 1;
	return n == at ||
	       (n > at && atomic_load_explicit(&fail_after,
					       memory_order_relaxed));
}

unsigned long gs__alloc_fault(unsigned long n, int and_after)
{
	unsigned long seen;

	atomic_store(&fail_at, 0);
	seen = atomic_exchange(&n_allocs, 0);
	atomic_store(&fail_after, and_after);
	atomic_store(&fail_at, n);
	return seen;
}

/* This thread's failed allocations, real or injected: how a caller tells
 * "cJSON ran out of memory" from "the JSON is malformed", which cJSON's
 * NULL alone does not. */
static _Thread_local unsigned long failures;

unsigned long gs__alloc_failures(void)
{
	return failures;
}

static void *counted(void *p)
{
	if (!p)
		failures++;
	return p;
}

void *gs_alloc(size_t n)
{
	return counted(inject() ? NULL : malloc(n ? n : 1));
}

void *gs_calloc(size_t n, size_t size)
{
	return counted(inject() ? NULL : calloc(n ? n : 1, size ? size : 1));
}

void *gs_realloc(void *p, size_t n)
{
	return counted(inject() ? NULL : realloc(p, n ? n : 1));
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

/* cJSON's hooks are process-wide, so they are set once, when the library
 * loads: before main(), so an embedder that installs its own hooks later
 * wins (json.c then still frees cJSON's strings correctly, as long as
 * those hooks are malloc-compatible, which cJSON requires of them
 * anyway).  PCRE2's general context comes first, before the environment
 * can arm the fault hook. */
__attribute__((constructor)) static void alloc_init(void)
{
	cJSON_Hooks hooks = { .malloc_fn = gs_alloc, .free_fn = gs_free };
	const char *env;
	char *end;
	unsigned long n;

	cJSON_InitHooks(&hooks);
	gs__rx_init();
	env = gs__secure_getenv("GUARDSTACK_FAIL_ALLOC");
	if (!env || !*env)
		return;
	errno = 0;
	n = strtoul(env, &end, 10);
	if (errno || n == 0 || (*end && strcmp(end, "+")))
		return;
	gs__alloc_fault(n, *end == '+');
}

__attribute__((destructor)) static void alloc_fini(void)
{
	gs__rx_fini();
	gs__random_fini();
}
