/* SPDX-License-Identifier: MIT */
/*
 * test-ip-near - input-patterns' distance questions (near.h) against
 * their definitions asked of every entry: ip_after from any hint (before
 * the answer, at it, after it, past the end), ip_pair_near and
 * ip_third_near on random sorted lists, with hints carried from one
 * question to the next as the plugin carries them, and with hints
 * thrown anywhere (fixed seed).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/input-patterns/near.h"
#include "../splitmix.h"
#include "../tap.h"

static uint64_t seed = 0x6e6561726e656172ull;

static uint64_t rnd(void)
{
	return splitmix64(&seed);
}

#define NMAX 300
static ip_pos pos[NMAX];
static ip_mark mark[NMAX];

/* A list of n key words sorted by end, some ending together, and the
 * marks at the same counts. */
static void make(size_t n, uint64_t gap)
{
	uint64_t le = 3 + rnd() % 8, maxls = 0, len;
	size_t k;

	for (k = 0; k < n; k++) {
		le += rnd() % 3 == 0 ? 0 : rnd() % gap;
		len = 3 + rnd() % 12;
		pos[k].le = le;
		pos[k].ls = le > len ? le - len : 0;
		maxls = pos[k].ls > maxls ? pos[k].ls : maxls;
		pos[k].maxls = maxls;
		mark[k].n = le;
		mark[k].more = 0;
		mark[k].c = '#';
	}
}

static size_t after_ref(size_t n, uint64_t key)
{
	size_t k = 0;

	while (k < n && pos[k].le <= key)
		k++;
	return k;
}

static int pair_ref(size_t n, const ip_hit *x, size_t span, int order)
{
	size_t k;

	for (k = 0; k < n; k++)
		if ((order <= 0 && pos[k].le <= x->ls &&
		     pos[k].ls + span >= x->le) ||
		    (order >= 0 && pos[k].ls >= x->le &&
		     pos[k].le <= x->ls + span))
			return 1;
	return 0;
}

static int third_ref(size_t n, const ip_hit *x, size_t span, int order)
{
	uint64_t lo = x->le > span ? x->le - span : 0;
	size_t k;

	for (k = 0; k < n; k++)
		if (pos[k].ls >= lo && pos[k].le <= x->ls + span &&
		    (order == 0 || (order > 0 && pos[k].ls >= x->le) ||
		     (order < 0 && pos[k].le <= x->ls)))
			return 1;
	return 0;
}

static ip_hit hit_at(uint64_t le)
{
	ip_hit x;

	memset(&x, 0, sizeof x);
	x.le = le;
	x.ls = le > 3 ? le - 3 - rnd() % (le - 3 < 10 ? le - 3 : 10) : 0;
	return x;
}

static void fixed(void)
{
	size_t hint;
	ip_hit x;

	pos[0] = (ip_pos){ 10, 5, 5 };
	pos[1] = (ip_pos){ 20, 15, 15 };
	pos[2] = (ip_pos){ 20, 16, 16 };
	pos[3] = (ip_pos){ 40, 33, 33 };
	hint = 0;
	is_int(ip_after(pos, sizeof *pos, 4, &hint, 20), 3,
	       "after: past equal keys");
	is_int(hint, 3, "after: the hint moves to the answer");
	is_int(ip_after(pos, sizeof *pos, 4, &hint, 9), 0,
	       "after: back from a hint past the answer");
	hint = 99;
	is_int(ip_after(pos, sizeof *pos, 4, &hint, 100), 4,
	       "after: none greater, from a hint past the end");
	hint = 2;
	is_int(ip_after(pos, sizeof *pos, 0, &hint, 5), 0, "after: empty");
	memset(&x, 0, sizeof x);
	x.ls = 25, x.le = 30, hint = 0;
	ok(ip_pair_near(pos, 4, &x, 14, 0, &hint),
	   "pair: one before, 14 letters in all");
	hint = 0;
	ok(ip_pair_near(pos, 4, &x, 14, -1, &hint),
	   "pair: ... also where it must be before");
	hint = 0;
	ok(!ip_pair_near(pos, 4, &x, 14, 1, &hint),
	   "pair: ... not where it must be after");
	hint = 0;
	ok(!ip_pair_near(pos, 4, &x, 13, 0, &hint), "pair: not in 13");
	x.ls = 18, x.le = 25, hint = 0;
	ok(!ip_pair_near(pos, 1, &x, 19, 0, &hint),
	   "pair: one before, 20 letters in all, not in 19");
	hint = 0;
	ok(ip_pair_near(pos + 3, 1, &x, 22, 0, &hint),
	   "pair: one after, 22 letters in all");
	hint = 0;
	ok(!ip_pair_near(pos + 3, 1, &x, 22, -1, &hint),
	   "pair: ... not where it must be before");
	x.ls = 14, x.le = 21, hint = 0;
	ok(!ip_pair_near(pos + 1, 2, &x, 100, 0, &hint),
	   "pair: overlapping ones do not count");
	hint = 0;
	ok(ip_third_near(pos + 1, 2, &x, 7, 0, &hint),
	   "third: overlapping ones do");
	hint = 0;
	ok(!ip_third_near(pos + 1, 2, &x, 7, 1, &hint),
	   "third: ... not where it must be after");
}

static void random_lists(int rounds)
{
	int r, bad_after = 0, bad_pair = 0, bad_third = 0, bad_mark = 0;
	long yes = 0, asked = 0;

	for (r = 0; r < rounds; r++) {
		size_t n = rnd() % NMAX, q, h1 = 0, h2 = 0, h3 = 0, h4;
		uint64_t gap = 1 + rnd() % 120, end;
		size_t span = 5 + rnd() % 80;
		int order = (int)(rnd() % 3) - 1; /* one per list, as a rule's */

		make(n, gap);
		end = n ? pos[n - 1].le + 50 : 50;
		/* questions in the order of their ends, hints carried */
		for (q = 0; q < 60; q++) {
			uint64_t le = end * q / 60 + rnd() % 5;
			ip_hit x = hit_at(le);
			uint64_t key = rnd() % (end + 10);
			size_t want = after_ref(n, key), k;
			int p, t;

			h4 = rnd() % (n + 3); /* and a hint anywhere */
			bad_after += ip_after(pos, sizeof *pos, n, &h1, key) !=
				     want;
			bad_after += ip_after(pos, sizeof *pos, n, &h4, key) !=
				     want;
			/* marks: the same search on another record */
			k = after_ref(n, key);
			bad_mark += ip_after(mark, sizeof *mark, n, &h4, key) !=
				    k;
			p = ip_pair_near(pos, n, &x, span, order, &h2);
			t = ip_third_near(pos, n, &x, span, order, &h3);
			bad_pair += p != pair_ref(n, &x, span, order);
			bad_third += t != third_ref(n, &x, span, order);
			yes += p + t;
			asked++;
		}
	}
	is_int(bad_after, 0, "after: the first greater, from any hint "
	       "(%d lists)", rounds);
	is_int(bad_mark, 0, "after: the same on marks");
	is_int(bad_pair, 0, "pair: as asked of every entry, in either "
	       "order or one");
	is_int(bad_third, 0, "third: as asked of every entry, in either "
	       "order or one");
	ok(yes > asked / 10 && yes < 2 * asked - asked / 10,
	   "the questions have both answers (%ld yes of %ld)", yes,
	   2 * asked);
}

int main(void)
{
	const char *pass = getenv("GS_PASS");

	fixed();
	random_lists(pass && !strcmp(pass, "valgrind") ? 300 : 20000);
	return done_testing();
}
