/* SPDX-License-Identifier: MIT */
/*
 * near.h - the prefilter's questions about distance: is a second (or
 * third) key word of a rule close enough to a hit to share a match
 * with it, is punctuation a rule needs close enough.  Each is a search
 * in a list sorted by where its entries end, asked once per hit, in the
 * order of the hits' ends; so each search starts where the last one of
 * the same list ended and gallops from there (a binary search from
 * scratch per hit mispredicted its way through most of the list).
 * Inline: they run once or twice per hit, and the record size is then
 * a constant.  Included by input-patterns.c only (and its test).
 */
#ifndef GS_IP_NEAR_H
#define GS_IP_NEAR_H

#include "ip.h"

static inline uint64_t ip_near_key(const void *v, size_t size, size_t k)
{
	/* the key is each record's first member */
	return *(const uint64_t *)(const void *)((const char *)v + k * size);
}

/* The first of n records (size bytes each, at v, in the order of the
 * uint64_t each starts with: ip_pos.le, ip_mark.n) whose key is greater
 * than key; n when none is.  Searched from *hint, where the last search
 * of the same list ended (hits come in the order of their ends, so the
 * answer is seldom far), which it then moves to the answer. */
static inline size_t ip_after(const void *v, size_t size, size_t n,
			      size_t *hint, uint64_t key)
{
	size_t lo, hi, step = 1;

	lo = hi = *hint < n ? *hint : n;
	if (hi > 0 && ip_near_key(v, size, hi - 1) > key) { /* before it */
		hi--;
		while (hi >= step && ip_near_key(v, size, hi - step) > key) {
			hi -= step;
			step *= 2;
		}
		lo = hi >= step ? hi - step + 1 : 0;
	} else { /* at or after it */
		while (hi < n && ip_near_key(v, size, hi) <= key) {
			lo = hi + 1;
			hi += step;
			step *= 2;
		}
		if (hi > n)
			hi = n;
	}
	while (lo < hi) { /* the one at hi (if any) is greater */
		size_t mid = lo + (hi - lo) / 2;

		if (ip_near_key(v, size, mid) <= key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return *hint = lo;
}

/* Whether one of a rule's second key words p[0..n) (ip_pos, in the
 * order of their ends) lies apart from hit x and within span letters of
 * it: before it (ending by its start, starting no earlier than span
 * letters before its end) or after it (starting at its end or later,
 * ending no later than span letters after its start); only after it
 * where order (ip_lits.order2) is 1, only before where it is -1.  hint:
 * as for ip_after. */
static inline int ip_pair_near(const ip_pos *p, size_t n, const ip_hit *x,
				size_t span, int order, size_t *hint)
{
	size_t lo = ip_after(p, sizeof *p, n, hint, x->ls), k;

	/* before: of those ending by x's start, the greatest start */
	if (lo > 0 && order <= 0 && p[lo - 1].maxls + span >= x->le)
		return 1;
	if (order < 0)
		return 0;
	/* after: the first that starts at x's end or later has the least
	 * end of those; the ones between overlap x (a few letters' worth) */
	for (k = lo; k < n && p[k].le <= x->ls + span; k++)
		if (p[k].ls >= x->le)
			return 1;
	return 0;
}

/* Whether one of a rule's third key words p[0..n) can share a match of
 * at most span letters with hit x on the side of it order says
 * (ip_lits.order3): after it (starting at its end or later, ending no
 * later than span letters after its start), or before it (ending by its
 * start, starting no earlier than span letters before its end); or, for
 * order 0, anywhere within those bounds (overlapping x too). */
static inline int ip_third_near(const ip_pos *p, size_t n, const ip_hit *x,
				 size_t span, int order, size_t *hint)
{
	uint64_t lo = x->le > span ? x->le - span : 0, hi = x->ls + span;
	size_t a;

	if (order > 0)
		lo = x->le;
	else if (order < 0)
		hi = x->ls;
	a = lo ? ip_after(p, sizeof *p, n, hint, lo - 1) : 0;
	for (; a < n && p[a].le <= hi; a++)
		if (p[a].ls >= lo)
			return 1;
	return 0;
}

#endif
