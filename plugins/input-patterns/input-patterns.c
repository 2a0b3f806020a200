/* SPDX-License-Identifier: MIT */
/*
 * input-patterns - finds prompt-injection and jailbreak phrases in user
 * input, on a normalised view of the text, and rejects, redacts or counts
 * them.
 *
 * The rules (a file of named PCRE2 patterns) are compiled once, at stack
 * load, each on its own.  Running dozens of rules at every position of
 * every text costs time in proportion to the number of rules, so a
 * prefilter decides where they run: for each rule, literals.c works out
 * key words one of which every match must contain ("ignoreprevious",
 * "disregard", ... in the text's letter stream, which no spacing,
 * separator or look-alike trick can break), scan.c finds all key words of
 * all rules in one pass at memory speed, and a rule runs only on windows
 * of the text around its own key words (IP_WINDOW letters either side,
 * extended while a match could still run past the end).  Hits inside a
 * word count for nothing where the rule's key words start one; hits of
 * common key words count only with a second key word of the rule (and,
 * for a rule that is one sequence, a third) near enough, and, for a rule
 * every match of which consumes certain punctuation (need.c: "#", "<",
 * "["), with that punctuation near enough; a hit counts only if a
 * search limited to start by it (a bounded distance before it) can
 * match, on the text itself where that is plain enough that both views
 * keep it as it is (ip_hits_anchor).  A text with no key word
 * costs one pass and no matching.  A rule's top-level alternatives are
 * kept apart as rules of their own (the same name, in order), so that
 * each gets key words and a reach of its own.  Rules the parser cannot
 * read run on every text.  `prefilter = no` runs every rule on every
 * whole text instead: the reference the tests compare the prefilter
 * with.  Either way the result is what one alternation of all
 * rules in file order would give: the leftmost match wins, and at one
 * position the earlier rule.
 *
 * PCRE2 is called directly, not through gs_rx_*, for partial matching
 * (a window's end must not look like the text's) and per-rule marks of
 * where to start; the match and depth limits are the core's, so a rule
 * cannot backtrack for long; hitting one fails the call closed.  Rules
 * are JIT-compiled once they have been used a few dozen times, not at
 * load: JIT compiling the shipped set costs ten times parsing it, and
 * most rules never run on most traffic.  The JIT copy is made by one
 * thread and published with an atomic store; until then every thread
 * interprets.
 *
 * Rules see a folded copy of each text, never the text itself:
 *   - invisible characters are dropped (Unicode format characters such as
 *     zero-width spaces and bidi controls, default-ignorables, other
 *     controls, combining marks, private-use and unassigned code points);
 *   - compatibility forms are folded (NFKD with marks stripped, then case
 *     folding): fullwidth, mathematical and circled letters, ligatures,
 *     accents all become plain lower-case letters;
 *   - Cyrillic, Greek, Armenian and small-capital look-alikes of Latin
 *     letters that Unicode does not fold become the Latin letter;
 *   - Unicode tag characters (U+E0020..E007E, invisible "ASCII
 *     smuggling") become the ASCII they encode;
 *   - whitespace runs become one space, or one newline when the run holds
 *     a line break, so rules can still anchor at line starts.
 * A second view, built only when it differs and only searched when the
 * first finds nothing (or for redaction), also joins letters split by
 * separators ("i.g.n.o.r.e", "ig-nore", "i g n o r e"), drops emoji and
 * other symbols, and reads digits used as letters ("1gn0r3").  Every byte
 * of a view remembers the span of original code point(s) it came from, so
 * a match maps back to an exact original span: redaction covers the
 * invisible characters inside a phrase and never splits a UTF-8
 * sequence.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* secure_getenv */
#endif
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <utf8proc.h>

#include "ip.h"
#include "near.h"

#define IP_RULES_DEFAULT "injection.rules"
#define IP_RULES_MAX (1u << 20) /* a rules file larger than this is a mistake */
#define IP_NAME_MAX 64
/* Rules match the folded text; \w, \d and \b stay ASCII (no UCP) so a
 * word of another script next to "ignore" still leaves a boundary. */
#define IP_RX_FLAGS (PCRE2_UTF | PCRE2_CASELESS | PCRE2_MULTILINE | \
		     PCRE2_USE_OFFSET_LIMIT)
/* The same limits as the core's gs_rx_* (core/rx.c). */
#define IP_MATCH_LIMIT 5000000u
#define IP_DEPTH_LIMIT 10000u
/* redaction passes over one text: a new pass runs only when the last one
 * uncovered a match (see ip_request) */
#define IP_REDACT_PASSES 8

enum { IP_REJECT, IP_REDACT, IP_FLAG };
static const char *const ip_actions[] = { "reject", "redact", "flag", NULL };

/* How far before a key word a match may start, for rules whose pattern
 * does not bound it ([\w-]+, .*, ...): this many letters or digits (a
 * documented limit of the prefilter).  Regions start further back by as
 * many letters or digits as the longest lookbehind of a keyed rule (at
 * most IP_CONTEXT / 2) and two more, so lookbehinds, \b and (?<![^\n])
 * see the text before, and at a safe cut (ip_cut_ok) where both views
 * of the region begin as those of the whole text do; they end at the
 * first safe cut 2 * IP_AHEAD bytes after the key word, and grow (by
 * twice as much each time) while a match runs into their end.  Most
 * matches end within a few words of their key word, and a region that
 * must grow costs less than every region being long: on the bench
 * corpus 16 beat 64 (the value until then), 32, 8, 4 and 0. */
#define IP_WINDOW 256
/* searches of a rule before it is JIT-compiled */
#define IP_JIT_AFTER 16
#define IP_CONTEXT 64
#define IP_AHEAD 16
/* bytes after a key word that ip_hits_anchor's search may read: most
 * searches that fail do so within a few words */
#define IP_ANCHOR_AHEAD 24

typedef struct ip_rule {
	char *name;
	pcre2_code *code;
	_Atomic(pcre2_code *) jit; /* a JIT-compiled copy, once made */
	atomic_uint uses;          /* searches so far, up to IP_JIT_AFTER */
	size_t pre;         /* a match starts at most this far before one */
	int wstart;         /* ... and starts a word */
	int wend;           /* ... and ends one */
	int paired;         /* ... holds a second key word (rule + nrule in
			     * the scanner), apart from it and at most span2
			     * letters of the stream in all (see ip_lits) */
	int wstart2;        /* ... one that starts a word */
	int order2;         /* ... after (1) or before (-1) it, or either */
	int third;          /* ... and a third key word (rule + 3 nrule),
			     * within span3, on the side order3 says */
	int order3;
	size_t span2, span3;
	/* Punctuation every match consumes (need.c), and the most letters of
	 * the stream a match holds (IP_PRE_UNKNOWN: no bound); need all zero
	 * when the rule has none */
	uint64_t need[2];
	size_t letters;
} ip_rule;

typedef struct ip_instance {
	pcre2_general_context *gctx; /* per-call memory, through gs_alloc */
	pcre2_match_context *mctx;   /* the match and depth limits */
	ip_rule *rule;
	size_t nrule;
	ip_scanner *scanner;
	int unkeyed;                 /* some rule has no key words */
	int paired;                  /* some rule has second key words */
	/* then, per rule of the scanner, the list ip_hits_pair keeps its
	 * hits in (2 nrule: none) */
	uint32_t *plist;
	uint8_t *pflag; /* per rule: 1 paired, 2 third (ip_rule) */
	int needy;                   /* some rule needs punctuation */
	size_t context;              /* letters a region keeps before */
	int jit;                     /* JIT on first use (not under valgrind) */
	/* Calls' scratch space, kept between calls (one per call running
	 * at once): setting it up and freeing it was a good part of what a
	 * short text cost. */
	pthread_mutex_t lock;
	int locked;                  /* the mutex was made */
	struct ip_work *pool;
	int prefilter;
	int action;
	char *replacement;
	size_t replen;
} ip_instance;

/* ---- matching ----------------------------------------------------- */

typedef struct ip_span {
	size_t start, end; /* original bytes */
	const char *rule;  /* the rule's name, borrowed from the instance */
} ip_span;

typedef struct ip_spans {
	ip_span *v;
	size_t n, cap;
} ip_spans;

static int ip_spans_put(ip_spans *s, const ip_span *sp)
{
	ip_span *v = ip_grow(s->v, &s->cap, s->n + 1, sizeof *v, 8);

	if (!v)
		return GS_ENOMEM;
	s->v = v;
	s->v[s->n++] = *sp;
	return GS_OK;
}

/* The code to run for a rule: its JIT copy once there is one.  The
 * search that makes a rule's use count reach IP_JIT_AFTER makes it
 * (others interpret meanwhile): a one-shot CLI call does not pay for
 * compiling what it runs once, a server soon runs compiled code.  A
 * failed JIT compile (no executable memory) is not tried again. */
static const pcre2_code *ip_code(const ip_instance *in, ip_rule *r)
{
	pcre2_code *c = atomic_load_explicit(&r->jit, memory_order_acquire);

	if (c || !in->jit)
		return c ? c : r->code;
	if (atomic_load_explicit(&r->uses, memory_order_relaxed) >=
	    IP_JIT_AFTER ||
	    atomic_fetch_add_explicit(&r->uses, 1, memory_order_relaxed) !=
	    IP_JIT_AFTER - 1)
		return r->code;
	if (!(c = pcre2_code_copy(r->code)))
		return r->code;
	if (pcre2_jit_compile(c, PCRE2_JIT_COMPLETE |
			      PCRE2_JIT_PARTIAL_HARD) < 0) {
		pcre2_code_free(c);
		return r->code;
	}
	atomic_store_explicit(&r->jit, c, memory_order_release);
	return c;
}

/* A stretch of the original text [start, end), searched from `from`
 * (the bytes before are context for lookbehinds), around the key words
 * hit[h0, h1).  With every rule on the whole text (no prefilter), h0 ==
 * h1 and `whole` is set. */
typedef struct ip_region {
	size_t start, from, end;
	size_t h0, h1;
	int whole;
} ip_region;

typedef struct ip_regions {
	ip_region *v;
	size_t n, cap;
} ip_regions;

/* Whether a character is a letter or digit that the views keep: such
 * characters are never dropped from a view, so counting them gives a
 * lower bound on a stretch's length in either view.  (Not the letters
 * Unicode calls default-ignorable, such as the Hangul fillers: the
 * views drop those, so a run of them must not count, or a match could
 * start before where the prefilter looks.) */
static int ip_alnum_cp(int32_t c)
{
	const utf8proc_property_t *p;

	if (c < 0x80)
		return ip_stream_ascii[c] || (c >= '0' && c <= '9');
	p = utf8proc_get_property(c);
	if (p->ignorable)
		return 0;
	switch (p->category) {
	case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL:
	case UTF8PROC_CATEGORY_LT: case UTF8PROC_CATEGORY_LO:
	case UTF8PROC_CATEGORY_ND:
		return 1;
	default:
		return 0;
	}
}

/* Moves back from `at` over `count` letters or digits (or to 0). */
static size_t ip_back(const char *s, size_t at, size_t count)
{
	const unsigned char *p = (const unsigned char *)s;

	while (at > 0 && count) {
		size_t i = at - 1;
		int32_t c = p[i];

		if (c >= 0x80) {
			while (i > 0 && (p[i] & 0xC0) == 0x80)
				i--;
			utf8proc_iterate(p + i, (utf8proc_ssize_t)(at - i), &c);
		}
		count -= ip_alnum_cp(c);
		at = i;
	}
	return at;
}

/* Moves forward from `at` over `count` letters or digits (or to len). */
static size_t ip_fwd(const char *s, size_t len, size_t at, size_t count)
{
	const unsigned char *p = (const unsigned char *)s;

	while (at < len && count) {
		int32_t c = p[at];
		utf8proc_ssize_t n = 1;

		if (c >= 0x80) {
			n = utf8proc_iterate(p + at,
					     (utf8proc_ssize_t)(len - at), &c);
			if (n <= 0)
				n = 1;
		}
		count -= ip_alnum_cp(c);
		at += (size_t)n;
	}
	return at;
}

static int ip_hit_cmp(const void *a, const void *b)
{
	const ip_hit *x = a, *y = b;

	if (x->start != y->start)
		return (x->start > y->start) - (x->start < y->start);
	return (x->rule > y->rule) - (x->rule < y->rule);
}

static int ip_hit_lo_cmp(const void *a, const void *b)
{
	const ip_hit *x = a, *y = b;

	if (x->lo != y->lo)
		return (x->lo > y->lo) - (x->lo < y->lo);
	return ip_hit_cmp(a, b);
}

/* Sorts hits that come nearly sorted (the scanner reports a key word
 * when its last letter comes, so only longer words ending later start
 * earlier): by insertion, falling back to qsort when that takes more
 * than a few moves a hit.  Ties are equal in every way that matters. */
static void ip_hits_sort(ip_hit *v, size_t n,
			 int (*cmp)(const void *, const void *))
{
	size_t i, moves = 0;

	for (i = 1; i < n; i++) {
		ip_hit x = v[i];
		size_t j = i;

		for (; j > 0 && cmp(&v[j - 1], &x) > 0; j--)
			v[j] = v[j - 1];
		v[j] = x;
		if ((moves += i - j) > 8 * n) {
			qsort(v, n, sizeof *v, cmp);
			return;
		}
	}
}

static int ip_region_push(ip_regions *rs, const ip_region *g)
{
	ip_region *v = ip_grow(rs->v, &rs->cap, rs->n + 1, sizeof *v, 8);

	if (!v)
		return GS_ENOMEM;
	rs->v = v;
	rs->v[rs->n++] = *g;
	return GS_OK;
}

/* Whether a region may start or end at s[p]: the views of the text on
 * either side fold as they do in the whole text.  Folding looks at
 * neighbours (a run of one-letter words is joined, a separator between
 * letters dropped, digits in a word read as letters, a whitespace run
 * collapsed, a run of tag characters closed by a space), so a cut is
 * made only after a space or line break that follows two ASCII letters
 * and comes before printable ASCII other than white space. */
static int ip_cut_ok(const char *s, size_t len, size_t p)
{
	const unsigned char *u = (const unsigned char *)s;

	if (p == 0 || p >= len)
		return 1;
	if (p < 3 || u[p] <= 0x20 || u[p] >= 0x7F ||
	    (u[p - 1] != ' ' && u[p - 1] != '\n' && u[p - 1] != '\t' &&
	     u[p - 1] != '\r'))
		return 0;
	return ((u[p - 2] | 0x20) >= 'a' && (u[p - 2] | 0x20) <= 'z') &&
	       ((u[p - 3] | 0x20) >= 'a' && (u[p - 3] | 0x20) <= 'z');
}

/* The nearest safe cut at or before p (at most IP_CUT_SEARCH bytes back,
 * else the start of the text) and at or after it. */
#define IP_CUT_SEARCH 4096
static size_t ip_cut_before(const char *s, size_t len, size_t p)
{
	size_t stop = p > IP_CUT_SEARCH ? p - IP_CUT_SEARCH : 0;

	for (; p > stop; p--)
		if (ip_cut_ok(s, len, p))
			return p;
	return ip_cut_ok(s, len, p) ? p : 0;
}

static size_t ip_cut_after(const char *s, size_t len, size_t p)
{
	size_t stop = len - p > IP_CUT_SEARCH ? p + IP_CUT_SEARCH : len;

	for (; p < stop; p++)
		if (ip_cut_ok(s, len, p))
			return p;
	return ip_cut_ok(s, len, p) ? p : len;
}

/* Where a region around a key word ending at `end` ends at first: any
 * safe cut after it will do, as a match that runs into it grows the
 * region (partial matching), so bytes are counted, not characters. */
static size_t ip_ahead(const char *s, size_t len, size_t end)
{
	return ip_cut_after(s, len, len - end > IP_AHEAD * 2
				    ? end + IP_AHEAD * 2 : len);
}

/* For ASCII text: keeps `lo` where ip_back(s, at, IP_WINDOW) would
 * put it as `at` moves forward over the hits in order, in time linear
 * in the text, not in the number of hits times the window. */
typedef struct ip_slide {
	size_t lo, at, count; /* count: letters and digits in [lo, at) */
} ip_slide;

static size_t ip_slide_to(ip_slide *w, const char *s, size_t at)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; w->at < at; w->at++)
		w->count += (size_t)ip_alnum_cp(p[w->at]);
	while (w->count > IP_WINDOW ||
	       (w->count == IP_WINDOW && !ip_alnum_cp(p[w->lo])))
		w->count -= (size_t)ip_alnum_cp(p[w->lo++]);
	return w->lo;
}

/* Where, at the earliest, a match around hit h may start. */
static size_t ip_hit_lo(const ip_instance *in, const char *s, ip_slide *w,
			int ascii, const ip_hit *h)
{
	size_t pre = in->rule[h->rule].pre;

	if (pre != IP_PRE_UNKNOWN)
		return ip_back(s, h->start, pre);
	if (ascii)
		return ip_slide_to(w, s, h->start);
	return ip_back(s, h->start, IP_WINDOW);
}

/* The regions to search: stretches around key words, merged where they
 * overlap (hits sorted by where they start); or the whole text for every
 * rule. */
static int ip_regions_make(const ip_instance *in, const char *s,
			   size_t len, ip_hits *h, ip_regions *rs)
{
	ip_slide w = { 0, 0, 0 };
	size_t i;
	int rc;


	if (!in->prefilter || in->unkeyed) {
		ip_region g = { 0, 0, len, 0, 0, 1 };

		return ip_region_push(rs, &g);
	}
	/* where matches may start, hits in text order (the slide moves
	 * forward); then regions as the union of [lo, ahead] over the hits
	 * in the order of lo, so that they never overlap: a hit whose lo
	 * reaches back over earlier regions joins them */
	ip_hits_sort(h->v, h->n, ip_hit_cmp);
	for (i = 0; i < h->n; i++)
		h->v[i].lo = ip_hit_lo(in, s, &w, h->ascii, &h->v[i]);
	ip_hits_sort(h->v, h->n, ip_hit_lo_cmp);
	for (i = 0; i < h->n; i++) {
		size_t lo = h->v[i].lo;
		size_t hi = ip_ahead(s, len, h->v[i].end);
		ip_region *last = rs->n ? &rs->v[rs->n - 1] : NULL;

		if (last && lo <= last->end) {
			if (hi > last->end)
				last->end = hi;
			last->h1 = i + 1;
		} else {
			ip_region g = { 0, lo, hi, i, i + 1, 0 };

			if ((rc = ip_region_push(rs, &g)) < 0)
				return rc;
		}
	}
	for (i = 0; i < rs->n; i++)
		rs->v[i].start = ip_cut_before(s, len,
					       ip_back(s, rs->v[i].from,
						       in->context));
	return GS_OK;
}

/* Extends region i to `to` and swallows the regions it now reaches. */
static void ip_region_grow(ip_regions *rs, size_t i, size_t to)
{
	ip_region *g = &rs->v[i];

	g->end = to;
	while (i + 1 < rs->n && rs->v[i + 1].from <= g->end) {
		ip_region *nx = &rs->v[i + 1];

		if (nx->end > g->end)
			g->end = nx->end;
		g->h1 = nx->h1;
		memmove(nx, nx + 1, (rs->n - i - 2) * sizeof *nx);
		rs->n--;
	}
}

/* One rule's leftmost non-empty match in a view starting in [from,
 * limit]: 1 (ov set), 0, IP_PARTIAL (it ran into the end of a region
 * that is not the end of the text), or GS_E*. */
#define IP_PARTIAL 2
static int ip_find1(pcre2_match_context *mc, const pcre2_code *code,
		    pcre2_match_data *md, const ip_view *v, size_t from,
		    size_t limit, int window)
{
	const char *s = v->text.data;
	size_t len = v->text.len;
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
	uint32_t opts = PCRE2_NO_UTF_CHECK |
			(window ? PCRE2_PARTIAL_HARD : 0);
	int rc;

	pcre2_set_offset_limit(mc, limit >= len ? PCRE2_UNSET : limit);
	for (;;) {
		if (from > len || from > limit)
			return 0;
		/* rc 0 only says the ovector is short: we read group 0 only */
		rc = pcre2_match(code, (PCRE2_SPTR)s, len, from, opts, md, mc);
		if (rc == PCRE2_ERROR_NOMATCH)
			return 0;
		if (rc == PCRE2_ERROR_PARTIAL)
			return IP_PARTIAL;
		if (rc == PCRE2_ERROR_NOMEMORY)
			return GS_ENOMEM;
		if (rc < 0)
			return GS_ELIMIT; /* match, depth or heap limit */
		if (ov[1] > ov[0])
			return 1;
		/* an empty match (lookarounds only) judges nothing: step on
		 * by one code point */
		from = ov[0] + 1;
		while (from < len && ((unsigned char)s[from] & 0xC0) == 0x80)
			from++;
	}
}

/* Where, in a view, a rule may start matching around its key words: an
 * interval of start positions per key word, merged per rule. */
typedef struct ip_iv {
	uint32_t rule;
	size_t a, b;
} ip_iv;

/* One rule of a region: its intervals, the first one not yet passed,
 * and its next match (cached: searched again only when a chosen match
 * ended past the start of it). */
typedef struct ip_slot {
	uint32_t rule;
	size_t i0, i1, cur;
	size_t start, end; /* view bytes; start SIZE_MAX: no more */
	int fresh;
} ip_slot;

/* Per-call scratch space, reused across texts, regions and calls (see
 * ip_instance.pool). */
typedef struct ip_work {
	struct ip_work *next;    /* in the pool */
	ip_hits h;               /* one text's */
	ip_regions rs;
	ip_spans first, sp;
	pcre2_match_context *mc; /* the instance's, plus an offset limit */
	pcre2_match_data *md;
	ip_units u;              /* a region, folded */
	ip_view a, b;            /* its plain and joined views */
	ip_iv *iv;
	size_t niv, ivcap;
	ip_slot *slot;
	size_t nslot, slotcap;
	ip_iv *iv2;              /* for sorting iv */
	size_t *count;           /* intervals per rule, nrule + 1 */
	size_t *pfirst;          /* ip_hits_pair's: 6 nrule */
	uint32_t *pseen;         /* ... and 2 nrule */
	uint8_t *pwant;          /* ... and 2 nrule */
	ip_pos *pos;
	size_t poscap;
	char *low;               /* ip_hits_anchor's stretch, lowercased */
	size_t lowcap;
} ip_work;

/* Sorts the intervals by rule, then start: by counting, keeping the
 * order they came in within a rule, which is already the order of their
 * starts (hits come sorted by where a match may start, and a rule's
 * intervals start the same way before its hits). */
static void ip_iv_sort(const ip_instance *in, ip_work *w)
{
	size_t k, r, at = 0;
	ip_iv *t;

	memset(w->count, 0, (in->nrule + 1) * sizeof *w->count);
	for (k = 0; k < w->niv; k++)
		w->count[w->iv[k].rule]++;
	for (r = 0; r <= in->nrule; r++) {
		size_t c = w->count[r];

		w->count[r] = at;
		at += c;
	}
	for (k = 0; k < w->niv; k++)
		w->iv2[w->count[w->iv[k].rule]++] = w->iv[k];
	t = w->iv;
	w->iv = w->iv2;
	w->iv2 = t;
}

/* Moves back n code points in a view (not before `floor`). */
static size_t ip_view_back(const ip_view *v, size_t at, size_t n,
			   size_t floor)
{
	const char *s = v->text.data;

	if (v->ascii) /* one byte a code point */
		return at - floor > n ? at - n : floor;
	while (at > floor && n--) {
		at--;
		while (at > floor && ((unsigned char)s[at] & 0xC0) == 0x80)
			at--;
	}
	return at;
}

/* The first view byte in [lo, hi) whose original offset is `at` or
 * more (hi when none). */
static size_t ip_view_lower(const ip_view *v, size_t lo, size_t hi,
			    size_t at)
{
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v->os[mid] < at)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The first view byte at or after original offset `at` (relative). */
static size_t ip_view_at(const ip_view *v, size_t at)
{
	return ip_view_lower(v, 0, v->text.len, at);
}

/* ip_view_at, searching out from `hint` (where the previous lookup
 * landed): hits come nearly in order, so the answer is close by. */
static size_t ip_view_near(const ip_view *v, size_t at, size_t hint)
{
	size_t lo, hi, step = 1, n = v->text.len;

	if (hint > n)
		hint = n;
	if (hint < n && v->os[hint] < at) { /* the answer is after hint */
		lo = hint + 1;
		while (lo + step < n && v->os[lo + step - 1] < at)
			step *= 2;
		hi = lo + step < n ? lo + step : n;
	} else { /* at or before hint */
		hi = hint;
		while (hi >= step && v->os[hi - step] >= at)
			step *= 2;
		lo = hi >= step ? hi - step : 0;
	}
	return ip_view_lower(v, lo, hi, at);
}

/* Sets up the slots of one view of a region. */
static int ip_slots(const ip_instance *in, ip_work *w, const ip_view *v,
		    const char *s, const ip_hits *h, const ip_region *g,
		    size_t from)
{
	size_t k, n, hint_a = 0, hint_b = 0;

	w->niv = w->nslot = 0;
	n = g->whole ? in->nrule : g->h1 - g->h0;
	if (n > w->ivcap) {
		ip_iv *nv = gs_realloc(w->iv, n * sizeof *nv);

		if (!nv)
			return GS_ENOMEM;
		w->iv = nv;
		if (!(nv = gs_realloc(w->iv2, n * sizeof *nv)))
			return GS_ENOMEM;
		w->iv2 = nv;
		w->ivcap = n;
	}
	if (!w->count &&
	    !(w->count = gs_alloc((in->nrule + 1) * sizeof *w->count)))
		return GS_ENOMEM;
	if (n > w->slotcap) {
		ip_slot *ns = gs_realloc(w->slot, n * sizeof *ns);

		if (!ns)
			return GS_ENOMEM;
		w->slot = ns;
		w->slotcap = n;
	}
	for (k = 0; k < n; k++) {
		ip_iv *iv = &w->iv[w->niv];

		if (g->whole) {
			iv->rule = (uint32_t)k;
			iv->a = from;
			iv->b = SIZE_MAX;
		} else {
			const ip_hit *hit = &h->v[g->h0 + k];
			size_t pre = in->rule[hit->rule].pre;
			size_t b = ip_view_near(v, hit->start - g->start,
						hint_b);

			if (b >= v->text.len)
				continue; /* folded away in this view */
			/* a character folded into several letters: the key
			 * may start at any of them */
			while (b + 1 < v->text.len && v->os[b + 1] == v->os[b])
				b++;
			iv->rule = hit->rule;
			iv->b = b;
			iv->a = pre == IP_PRE_UNKNOWN
				? (hint_a = ip_view_near(v, hit->lo - g->start,
							 hint_a))
				: ip_view_back(v, b, pre + 4, from);
			hint_b = b;
			if (iv->a < from)
				iv->a = from;
			if (iv->a > iv->b)
				iv->a = iv->b;
		}
		w->niv++;
	}
	ip_iv_sort(in, w);
	/* merge each rule's overlapping intervals, one slot per rule */
	for (k = 0, n = 0; k < w->niv; k++) {
		ip_slot *sl = w->nslot ? &w->slot[w->nslot - 1] : NULL;

		if (sl && sl->rule == w->iv[k].rule) {
			ip_iv *last = &w->iv[n - 1];

			if (w->iv[k].a <= last->b + 1) {
				if (w->iv[k].b > last->b)
					last->b = w->iv[k].b;
				continue;
			}
			w->iv[n++] = w->iv[k];
			sl->i1 = n;
			continue;
		}
		w->iv[n] = w->iv[k];
		sl = &w->slot[w->nslot++];
		sl->rule = w->iv[k].rule;
		sl->i0 = sl->cur = n;
		sl->i1 = ++n;
		sl->fresh = 0;
	}
	w->niv = n;
	return GS_OK;
}

/* A slot's leftmost match starting at or after `from`. */
static int ip_slot_next(const ip_instance *in, ip_work *w, ip_slot *sl,
			const ip_view *v, size_t from, int window)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(w->md);
	const pcre2_code *code = ip_code(in, &in->rule[sl->rule]);

	sl->fresh = 1;
	sl->start = SIZE_MAX;
	for (; sl->cur < sl->i1; sl->cur++) {
		const ip_iv *iv = &w->iv[sl->cur];
		int rc;

		if (iv->b < from)
			continue;
		rc = ip_find1(w->mc, code, w->md, v,
			      iv->a > from ? iv->a : from, iv->b, window);
		if (rc < 0 || rc == IP_PARTIAL)
			return rc;
		if (rc == 1) {
			sl->start = ov[0];
			sl->end = ov[1];
			return GS_OK;
		}
	}
	return GS_OK;
}

/* Collects the matches of one view of a region (all, or the first):
 * leftmost first, at one position the earlier rule, each search going
 * on from where the chosen match ended, as one alternation of all the
 * rules would.  GS_OK, IP_PARTIAL or GS_E*. */
static int ip_scan(const ip_instance *in, ip_work *w, const ip_view *v,
		   const char *s, const ip_hits *h, const ip_region *g,
		   size_t len, int all, ip_spans *out)
{
	size_t k, from;
	int window = g->end < len, rc;

	if (!v->text.len) /* nothing visible: no rule matches nothing */
		return GS_OK;
	from = ip_view_at(v, g->from - g->start);
	if ((rc = ip_slots(in, w, v, s, h, g, from)) < 0)
		return rc;
	for (;;) {
		ip_slot *best = NULL;
		ip_span hit;

		for (k = 0; k < w->nslot; k++) {
			ip_slot *sl = &w->slot[k];

			if (!sl->fresh || (sl->start != SIZE_MAX &&
					   sl->start < from)) {
				rc = ip_slot_next(in, w, sl, v, from, window);
				if (rc < 0 || rc == IP_PARTIAL)
					return rc;
			}
			if (sl->start != SIZE_MAX &&
			    (!best || sl->start < best->start))
				best = sl;
		}
		if (!best)
			return GS_OK;
		hit.start = g->start + v->os[best->start];
		hit.end = g->start + v->oe[best->end - 1];
		hit.rule = in->rule[best->rule].name;
		if ((rc = ip_spans_put(out, &hit)) < 0)
			return rc;
		if (!all)
			return GS_OK;
		from = best->end;
	}
}

/* Searches one region, normalised once, in both views: all matches of
 * both into `out`; or, rejecting (first != NULL), the first match of the
 * plain view into `out` and, while `first` holds none, the first of the
 * joined view into `first`.  GS_OK, IP_PARTIAL (the region must grow) or
 * GS_E*. */
static int ip_region_scan(const ip_instance *in, ip_work *w, const char *s,
			  size_t len, const ip_hits *h, const ip_region *g,
			  ip_spans *out, ip_spans *first)
{
	const char *r = s + g->start;
	size_t n = g->end - g->start;
	int all = !first, rc, joined = 1, units = 0;

	w->a.text.len = 0;
	if (gs_utf8_count(r, n) == n) { /* ASCII: no units unless needed */
		if ((rc = joined = ip_view_ascii(&w->a, r, n)) < 0)
			return rc;
	} else {
		if ((rc = ip_normalise(r, n, &w->u)) < 0 ||
		    (rc = ip_view_plain(&w->a, &w->u)) < 0)
			return rc;
		units = 1;
	}
	if ((rc = ip_scan(in, w, &w->a, s, h, g, len, all, out)) != GS_OK)
		return rc;
	if ((first && (out->n || first->n)) || !joined)
		return GS_OK;
	if (!units && (rc = ip_normalise(r, n, &w->u)) < 0)
		return rc;
	w->b.text.len = 0;
	if ((rc = ip_view_joined(&w->b, &w->u)) == 1)
		rc = ip_scan(in, w, &w->b, s, h, g, len, all,
			     first ? first : out);
	return rc;
}

static int ip_span_cmp(const void *a, const void *b)
{
	const ip_span *x = a, *y = b;

	if (x->start != y->start)
		return (x->start > y->start) - (x->start < y->start);
	return (x->end < y->end) - (x->end > y->end);
}

/* Sorts the spans of both views and merges overlapping ones. */
static void ip_spans_merge(ip_spans *s)
{
	size_t i, n = 0;

	if (s->n < 2)
		return;
	qsort(s->v, s->n, sizeof *s->v, ip_span_cmp);
	for (i = 1; i < s->n; i++) {
		if (s->v[i].start < s->v[n].end) {
			if (s->v[i].end > s->v[n].end)
				s->v[n].end = s->v[i].end;
		} else {
			s->v[++n] = s->v[i];
		}
	}
	s->n = n + 1;
}

/* Searches the regions in order (see ip_region_scan), growing a region
 * when a match ran into its end. */
static int ip_regions_scan(const ip_instance *in, ip_work *w, const char *s,
			   size_t len, const ip_hits *h, ip_regions *rs,
			   ip_spans *out, ip_spans *first)
{
	size_t i;
	int rc;

	for (i = 0; i < rs->n; i++) {
		size_t mark = out->n, mark1 = first ? first->n : 0;
		ip_region *g = &rs->v[i];

		rc = ip_region_scan(in, w, s, len, h, g, out, first);
		if (rc == IP_PARTIAL) {
			/* a match may run on past the region: grow it (by
			 * twice as much each time) and search it again */
			out->n = mark;
			if (first)
				first->n = mark1;
			ip_region_grow(rs, i, ip_cut_after(s, len,
				ip_fwd(s, len, g->end, 2 * (g->end - g->from) +
				       IP_AHEAD)));
			i--;
			continue;
		}
		if (rc < 0)
			return rc;
		if (first && out->n)
			return GS_OK;
	}
	return GS_OK;
}

/* Drops the hits of paired rules' key words that no second key word of
 * theirs could share a match with: a match holds one of each, apart
 * (no letter in common), and at most span letters in all; likewise for
 * a third key word, where the rule has them; then drops the second and
 * third key words' hits.  Sound, so matches stay where they were: a
 * match's own key word keeps its own second and third ones.  (Key words
 * inside a word, or running on into one, where the rule's start or end
 * one, the scanner did not report: ip_scanner_make.) */
static int ip_hits_pair(const ip_instance *in, ip_work *w, ip_hits *h)
{
	size_t nr = in->nrule, nl = 2 * nr + 1, i, k, n = 0, m = 0, at = 0;
	size_t nseen = 0;
	size_t *count, *first, *hint;
	uint32_t *seen;
	uint8_t *want;
	ip_pos *pos;
	int rc = GS_ENOMEM;

	/* count, first and hint: per list (rule r's second key words are
	 * list r, its third nrule + r, and 2 nrule takes the near hits no
	 * list keeps), its hits, where they go in pos, and where its last
	 * search ended */
	if ((!w->pfirst &&
	     !(w->pfirst = gs_calloc(3 * nl, sizeof *w->pfirst))) ||
	    (!w->pseen && !(w->pseen = gs_alloc(nl * sizeof *w->pseen))) ||
	    (!w->pwant && !(w->pwant = gs_calloc(nl, 1))))
		return GS_ENOMEM;
	count = w->pfirst;
	first = w->pfirst + nl;
	hint = w->pfirst + 2 * nl;
	seen = w->pseen;
	want = w->pwant;
	/* the lists some hit will ask about: only those are built (most
	 * rules' second and third key words turn up in texts without a hit
	 * of their first); want and count are all 0 outside them */
	for (i = 0; i < h->nfl; i++) {
		size_t r = h->fl[i], b = r < nr ? r : r - 2 * nr;

		if (r < nr && (in->pflag[b] & 1) && !want[r]) {
			want[r] = 1;
			seen[nseen++] = (uint32_t)r;
		}
		if ((in->pflag[b] & 2) && !want[nr + b]) {
			want[nr + b] = 1;
			seen[nseen++] = (uint32_t)(nr + b);
		}
	}
	/* the near hits those lists keep, moved to the front with their
	 * list for rule: without a branch, as which are kept is random */
	for (i = 0; i < h->np; i++) {
		ip_near e = h->p[i];
		uint32_t g = in->plist[e.rule];
		unsigned keep = want[g];

		e.rule = g;
		h->p[m] = e;
		m += keep;
		count[g] += keep;
	}
	if (m) {
		if (!(pos = ip_grow(w->pos, &w->poscap, m, sizeof *pos, 16)))
			goto out;
		w->pos = pos;
	}
	pos = w->pos;
	for (k = 0; k < nseen; k++) { /* counts to starts */
		first[seen[k]] = at;
		at += count[seen[k]];
	}
	/* each list in the order of the ends (the hits' order), then (for
	 * second key words) the greatest start so far along it */
	for (i = 0; i < m; i++) {
		ip_pos *p = &pos[first[h->p[i].rule]++];

		p->ls = h->p[i].ls;
		p->le = h->p[i].le;
	}
	for (k = 0; k < nseen; k++) {
		size_t a, e = first[seen[k]];

		first[seen[k]] = a = e - count[seen[k]]; /* starts again */
		hint[seen[k]] = 0;
		for (i = a; seen[k] < nr && i < e; i++) {
			uint64_t prev = i > a ? pos[i - 1].maxls : 0;

			pos[i].maxls = prev > pos[i].ls ? prev : pos[i].ls;
		}
	}
	for (i = 0; i < h->n; i++) {
		ip_hit *x = &h->v[i];
		size_t r = x->rule;
		int need2 = 1;

		if (r >= 2 * nr) { /* needs no second key word */
			r -= 2 * nr;
			need2 = 0;
		}
		if (need2 && in->rule[r].paired &&
		    !(count[r] && ip_pair_near(pos + first[r], count[r], x,
					       in->rule[r].span2,
					       in->rule[r].order2, &hint[r])))
			continue;
		if (in->rule[r].third &&
		    !(count[nr + r] && ip_third_near(pos + first[nr + r],
						     count[nr + r], x,
						     in->rule[r].span3,
						     in->rule[r].order3,
						     &hint[nr + r])))
			continue;
		x->rule = (uint32_t)r;
		h->v[n++] = *x;
	}
	h->n = n;
	rc = GS_OK;
out:
	for (k = 0; k < nseen; k++) { /* all 0 again, for the next text */
		want[seen[k]] = 0;
		count[seen[k]] = 0;
	}
	return rc;
}

/* Drops the hits of rules that need punctuation (need.c) with none of it
 * close enough to share a match.  A view holds punctuation only where
 * the text has it, or a code point that folds to it, and the scanner
 * marked those with the count of letters before them.  A match holding a
 * hit's key word (letters [ls, le) of the stream) and at most `letters`
 * letters lies after letter le - letters - 1 and before letter ls +
 * letters: it covers only marks with a count in [le - letters, ls +
 * letters]. */
static void ip_hits_need(const ip_instance *in, ip_hits *h)
{
	uint64_t seen[2] = { 0, 0 };
	size_t i, n = 0, at = 0;

	for (i = 0; i < h->nm; i++)
		seen[h->m[i].c >> 6] |= 1ull << (h->m[i].c & 63);
	for (i = 0; i < h->n; i++) {
		const ip_hit *x = &h->v[i];
		const ip_rule *r = &in->rule[x->rule];
		size_t lo, k;
		uint64_t a, b, a0;
		int keep = 0;

		if (!(r->need[0] | r->need[1])) {
			h->v[n++] = *x;
			continue;
		}
		if (!((r->need[0] & seen[0]) | (r->need[1] & seen[1])))
			continue; /* none of it in the whole text */
		if (r->letters == IP_PRE_UNKNOWN ||
		    r->letters < x->le - x->ls) {
			h->v[n++] = *x; /* no bound to go by */
			continue;
		}
		a = x->le > r->letters ? x->le - r->letters : 0;
		b = x->ls + r->letters;
		/* the first mark that can reach a: n + more >= a */
		a0 = a > IP_MARK_MORE ? a - IP_MARK_MORE : 0;
		lo = a0 ? ip_after(h->m, sizeof *h->m, h->nm, &at, a0 - 1) : 0;
		for (k = lo; k < h->nm && h->m[k].n <= b && !keep; k++) {
			unsigned char c = h->m[k].c;

			keep = h->m[k].n + h->m[k].more >= a &&
			       (r->need[c >> 6] >> (c & 63) & 1);
		}
		if (keep)
			h->v[n++] = *x;
	}
	h->n = n;
}

/* Drops the hits that start no match: for a rule whose matches start at
 * most `pre` characters before their key word (ip_rule.pre), one search
 * from there with an offset limit at the key word (so JIT still applies)
 * tells.  Most hits that survive pairing start none ("ignore the
 * budget"), and a region per hit (its views, its slots, its searches)
 * cost far more than this.  The search runs on the text itself,
 * lowercased, from the safe cut a region would start at, over as much as
 * both views keep as it is (ip_ascii_plain, less its last four bytes):
 * there a view is the text bar case, byte for byte, and a character a
 * byte, so a search of it finds what a search of either view would.  It
 * may not look past that end (partial matching): a hit whose search
 * would is kept, as is one where the text is not plain enough, or the
 * search fails on a limit (the region's search will say so). */
static int ip_hits_anchor(const ip_instance *in, ip_work *w, const char *s,
			  size_t len, ip_hits *h)
{
	size_t i, n = 0, k;

	for (i = 0; i < h->n; i++) {
		const ip_hit *x = &h->v[i];
		ip_rule *r = &in->rule[x->rule];
		size_t s0, end, at, from;
		char *low;
		int rc;

		if (r->pre == IP_PRE_UNKNOWN || r->pre > x->start)
			goto keep;
		/* in plain text a character is a byte: in->context bytes
		 * before where a match may start hold every lookbehind's */
		from = x->start - r->pre;
		s0 = ip_cut_before(s, len, from > in->context
					   ? from - in->context : 0);
		end = len - x->end > IP_ANCHOR_AHEAD ? x->end + IP_ANCHOR_AHEAD
						     : len;
		at = s0 + ip_ascii_plain(s + s0, end - s0);
		if (at < len)
			at = at - s0 >= 4 ? at - 4 : s0;
		if (at < x->end)
			goto keep;
		if (!(low = ip_grow(w->low, &w->lowcap, at - s0 + 1, 1, 256)))
			return GS_ENOMEM;
		w->low = low;
		for (k = s0; k < at; k++)
			low[k - s0] = (char)((unsigned char)s[k] >= 'A' &&
					     (unsigned char)s[k] <= 'Z'
					     ? s[k] | 0x20 : s[k]);
		pcre2_set_offset_limit(w->mc, x->start - s0);
		rc = pcre2_match(ip_code(in, r), (PCRE2_SPTR)low, at - s0,
				 from - s0, PCRE2_NO_UTF_CHECK |
				 (at < len ? PCRE2_PARTIAL_HARD : 0), w->md,
				 w->mc);
		if (rc == PCRE2_ERROR_NOMEMORY)
			return GS_ENOMEM;
		if (rc == PCRE2_ERROR_NOMATCH)
			continue;
keep:
		h->v[n++] = *x;
	}
	h->n = n;
	return GS_OK;
}

/* Matches one text: the first match only when rejecting (the joined view
 * only when the plain one has none anywhere), every match of both views
 * otherwise. */
static int ip_match(const ip_instance *in, ip_work *w, const char *s,
		    size_t len, ip_spans *out)
{
	ip_hits *h = &w->h;
	ip_regions *rs = &w->rs;
	ip_spans *first = &w->first;
	int rc = GS_OK;

	h->n = h->np = rs->n = first->n = 0;
	if (len >= UINT32_MAX)
		return GS_ELIMIT;
	if (in->prefilter && !in->unkeyed) {
		if ((rc = ip_scanner_run(in->scanner, s, len, h)) < 0 ||
		    (in->paired && h->n &&
		     (rc = ip_hits_pair(in, w, h)) < 0))
			return rc;
		if (in->needy)
			ip_hits_need(in, h);
		if (h->n && (rc = ip_hits_anchor(in, w, s, len, h)) < 0)
			return rc;
		if (!h->n)
			return 0;
	}
	if ((rc = ip_regions_make(in, s, len, h, rs)) < 0)
		return rc;
	if (in->action != IP_REJECT) {
		rc = ip_regions_scan(in, w, s, len, h, rs, out, NULL);
	} else {
		/* the plain view's first match anywhere, else the joined
		 * view's, each region normalised once */
		rc = ip_regions_scan(in, w, s, len, h, rs, out, first);
		if (rc == GS_OK && !out->n && first->n)
			rc = ip_spans_put(out, &first->v[0]);
	}
	if (rc >= 0)
		ip_spans_merge(out);
	return rc < 0 ? rc : 0;
}

static void ip_work_free(ip_work *w)
{
	if (!w)
		return;
	ip_hits_free(&w->h);
	gs_free(w->rs.v);
	gs_free(w->first.v);
	gs_free(w->sp.v);
	gs_free(w->iv);
	gs_free(w->iv2);
	gs_free(w->count);
	gs_free(w->pfirst);
	gs_free(w->pseen);
	gs_free(w->pwant);
	gs_free(w->pos);
	gs_free(w->low);
	gs_free(w->slot);
	ip_units_free(&w->u);
	ip_view_free(&w->a);
	ip_view_free(&w->b);
	pcre2_match_data_free(w->md);
	pcre2_match_context_free(w->mc);
	gs_free(w);
}

/* A call's scratch space: from the pool, or new. */
static ip_work *ip_work_get(ip_instance *in)
{
	ip_work *w;

	pthread_mutex_lock(&in->lock);
	if ((w = in->pool))
		in->pool = w->next;
	pthread_mutex_unlock(&in->lock);
	if (w)
		return w;
	if (!(w = gs_calloc(1, sizeof *w)))
		return NULL;
	/* the match context is copied: each search sets its offset limit */
	if (!(w->mc = pcre2_match_context_copy(in->mctx)) ||
	    !(w->md = pcre2_match_data_create(1, in->gctx))) {
		ip_work_free(w);
		return NULL;
	}
	return w;
}

/* Scratch space this large (one text of megabytes) goes back to the
 * allocator rather than staying in the pool. */
#define IP_POOL_KEEP (1u << 20)

static void ip_work_put(ip_instance *in, ip_work *w)
{
	if (w->u.cap > IP_POOL_KEEP || w->a.cap > IP_POOL_KEEP ||
	    w->b.cap > IP_POOL_KEEP || w->h.cap > IP_POOL_KEEP / 32 ||
	    w->h.pcap > IP_POOL_KEEP / 16) {
		ip_work_free(w);
		return;
	}
	pthread_mutex_lock(&in->lock);
	w->next = in->pool;
	in->pool = w;
	pthread_mutex_unlock(&in->lock);
}

static int ip_redact(const ip_instance *in, gs_ctx *ctx, size_t t,
		     const char *s, size_t len, const ip_spans *sp)
{
	gs_buf b = GS_BUF_INIT;
	size_t i, at = 0;
	int rc = GS_OK;

	for (i = 0; i < sp->n && rc == GS_OK; i++) {
		rc = gs_buf_append(&b, s + at, sp->v[i].start - at);
		if (rc == GS_OK)
			rc = gs_buf_append(&b, in->replacement, in->replen);
		at = sp->v[i].end;
	}
	if (rc == GS_OK)
		rc = gs_buf_append(&b, s + at, len - at);
	if (rc == GS_OK)
		rc = gs_text_replace_buf(ctx, t, &b);
	gs_buf_free(&b);
	return rc;
}

static gs_result ip_request(void *instance, gs_ctx *ctx)
{
	ip_instance *in = instance;
	size_t t, n = gs_text_count(ctx);
	ip_work *w = ip_work_get(in);
	unsigned long total = 0;
	gs_result res = GS_RESULT_OK;
	int rc = w ? GS_OK : GS_ENOMEM;

	for (t = 0; t < n && rc == GS_OK; t++) {
		size_t len;
		const char *s = gs_text_get(ctx, t, &len);

		w->sp.n = 0;
		if (!s || (rc = ip_match(in, w, s, len, &w->sp)) < 0 ||
		    !w->sp.n)
			continue;
		total += w->sp.n;
		if (in->action == IP_REJECT) {
			gs_reject(ctx, "rule %s matched",
				  w->sp.v[0].rule);
			res = GS_RESULT_REJECT;
			break;
		}
		if (in->action != IP_REDACT)
			continue;
		rc = ip_redact(in, ctx, t, s, len, &w->sp);
		/* The replacement's edges are word boundaries the text may
		 * have lacked: in "promptignore previous instructions" the
		 * second phrase has none until "prompt" is redacted.  Scan
		 * the result again until nothing matches (a bounded number
		 * of times), so the output holds nothing this filter would
		 * redact. */
		for (int pass = 1; rc == GS_OK && pass < IP_REDACT_PASSES;
		     pass++) {
			w->sp.n = 0;
			s = gs_text_get(ctx, t, &len);
			if (!s || (rc = ip_match(in, w, s, len, &w->sp)) < 0 ||
			    !w->sp.n)
				break;
			total += w->sp.n;
			rc = ip_redact(in, ctx, t, s, len, &w->sp);
		}
	}
	if (rc == GS_ELIMIT) {
		gs_reject(ctx, "match limit reached; "
			  "the input could not be checked");
		res = GS_RESULT_ERROR;
	} else if (rc < 0) {
		gs_reject(ctx, "%s", gs_strerror(rc));
		res = GS_RESULT_ERROR;
	}
	if (total)
		gs_count(ctx, total);
	if (w)
		ip_work_put(in, w);
	return res;
}

/* ---- rules file --------------------------------------------------- */

/* A rule must not refer to groups by number or name, name its own
 * groups, or use backtracking verbs: a rule is one stretch of text the
 * prefilter can reason about, and (*ACCEPT), \K and friends would make
 * its reported span something else.  A rough lexical check that errs on
 * the side of refusing. */
static const char *ip_refers(const char *p)
{
	int cls = 0;

	for (; *p; p++) {
		if (p[0] == '\\' && p[1] == 'Q') {
			const char *e = strstr(p + 2, "\\E");

			if (!e)
				return NULL;
			p = e + 1;
			continue;
		}
		if (*p == '\\') {
			if ((p[1] >= '1' && p[1] <= '9') || p[1] == 'g' ||
			    p[1] == 'k')
				return "a back reference";
			if (p[1])
				p++;
			continue;
		}
		if (cls) {
			if (*p == ']')
				cls = 0;
			continue;
		}
		if (*p == '[') {
			cls = 1;
			if (p[1] == '^')
				p++;
			if (p[1] == ']')
				p++;
			continue;
		}
		if (p[0] == '(' && p[1] == '*')
			return "a (*VERB)";
		if (p[0] != '(' || p[1] != '?')
			continue;
		if ((p[2] == '<' && p[3] != '=' && p[3] != '!') ||
		    p[2] == '\'' || !strncmp(p + 2, "P<", 2))
			return "a named group";
		if (!strncmp(p + 2, "P=", 2) || !strncmp(p + 2, "P>", 2) ||
		    p[2] == '&' || p[2] == 'R' || p[2] == '(' ||
		    (p[2] >= '0' && p[2] <= '9') ||
		    ((p[2] == '+' || p[2] == '-') &&
		     p[3] >= '0' && p[3] <= '9'))
			return "a group reference, recursion or condition";
	}
	return NULL;
}

/* Compiles a pattern; on failure writes "message at offset N" to err.
 * Compiled (and JIT) code uses PCRE2's own allocator, not gs_alloc: it is
 * made once, at load, and libpcre2 10.42's JIT compiler crashes when its
 * allocator fails, which fault injection would make it do. */
static pcre2_code *ip_compile(const char *pat, char *err, size_t errlen)
{
	PCRE2_UCHAR msg[160];
	PCRE2_SIZE off;
	pcre2_code *code;
	int ec;

	code = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
			     IP_RX_FLAGS, &ec, &off, NULL);
	if (!code) {
		pcre2_get_error_message(ec, msg, sizeof msg);
		snprintf(err, errlen, "%s at offset %zu", (char *)msg,
			 (size_t)off);
	}
	return code;
}

/* Checks and compiles one rule: its code, or NULL with the error set
 * (*rc GS_EINVAL or GS_ENOMEM). */
static pcre2_code *ip_rule_compile(const ip_instance *in, gs_config *cfg,
				   const char *file, long line,
				   const char *name, const char *pat, int *rc)
{
	char err[256];
	const char *why;
	pcre2_match_data *md;
	pcre2_code *code;
	int m;

	*rc = GS_EINVAL;
	if ((why = ip_refers(pat))) {
		gs_config_error_at(cfg, file, line, "rule %s: uses %s, which "
				   "a rule may not", name, why);
		return NULL;
	}
	if (!(code = ip_compile(pat, err, sizeof err))) {
		gs_config_error_at(cfg, file, line, "rule %s: %s", name, err);
		return NULL;
	}
	if (!(md = pcre2_match_data_create(1, in->gctx))) {
		pcre2_code_free(code);
		*rc = GS_ENOMEM;
		return NULL;
	}
	m = pcre2_match(code, (PCRE2_SPTR)"", 0, 0, 0, md, in->mctx);
	pcre2_match_data_free(md);
	if (m >= 0) {
		gs_config_error_at(cfg, file, line,
				   "rule %s: matches the empty string", name);
		pcre2_code_free(code);
		return NULL;
	}
	*rc = GS_OK;
	return code;
}

static int ip_read_file(gs_config *cfg, const char *key, const char *path,
			gs_buf *out)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	int rc = GS_EINVAL;

	if (fd < 0) {
		gs_config_error(cfg, key, "%s: %s", path, strerror(errno));
		return GS_EIO;
	}
	if (fstat(fd, &st) < 0) {
		gs_config_error(cfg, key, "%s: %s", path, strerror(errno));
		rc = GS_EIO;
	} else if (!S_ISREG(st.st_mode)) {
		gs_config_error(cfg, key, "%s: not a regular file", path);
	} else if (st.st_size > (off_t)IP_RULES_MAX) {
		gs_config_error(cfg, key, "%s: larger than 1 MiB", path);
	} else {
		rc = gs_buf_reserve(out, (size_t)st.st_size + 1);
	}
	while (rc == GS_OK) {
		char chunk[4096];
		ssize_t n = read(fd, chunk, sizeof chunk);

		if (n == 0)
			break;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			gs_config_error(cfg, key, "%s: %s", path,
					strerror(errno));
			rc = GS_EIO;
		} else if (out->len + (size_t)n > IP_RULES_MAX) {
			gs_config_error(cfg, key, "%s: larger than 1 MiB",
					path);
			rc = GS_EINVAL;
		} else {
			rc = gs_buf_append(out, chunk, (size_t)n);
		}
	}
	close(fd);
	return rc;
}

static int ip_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

/* Parses one line in place: 0 for a blank or comment line, 1 with *name
 * and *pat set, GS_EINVAL (error set) for anything else. */
static int ip_parse_line(gs_config *cfg, const char *file, long line,
			 char *p, char **name, char **pat)
{
	char *q = p + strlen(p);

	/* trailing blanks and a CR are not part of the pattern */
	while (q > p && (q[-1] == ' ' || q[-1] == '\t' || q[-1] == '\r'))
		*--q = '\0';
	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p || *p == '#')
		return 0;
	for (*name = p; ip_name_char(*p); p++)
		;
	if (p == *name || p - *name > IP_NAME_MAX ||
	    (*p != ' ' && *p != '\t')) {
		gs_config_error_at(cfg, file, line, "expected `NAME PATTERN' "
				   "with a NAME of up to %d characters "
				   "a-z 0-9 _ -", IP_NAME_MAX);
		return GS_EINVAL;
	}
	*p++ = '\0';
	while (*p == ' ' || *p == '\t')
		p++;
	*pat = p;
	if (!*p) {
		gs_config_error_at(cfg, file, line, "rule %s: no pattern",
				   *name);
		return GS_EINVAL;
	}
	return 1;
}

/* Names seen so far (pointing into the file buffer) and their lines. */
typedef struct ip_seen {
	const char **name;
	long *line;
	size_t n, cap;
} ip_seen;

/* 0 when the name is new (and now recorded), else the line it was
 * first defined on; GS_ENOMEM. */
static long ip_seen_add(ip_seen *s, const char *name, long line)
{
	size_t k;

	for (k = 0; k < s->n; k++)
		if (!strcmp(s->name[k], name))
			return s->line[k];
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		const char **nv = gs_realloc(s->name, cap * sizeof *nv);
		long *lv;

		if (!nv)
			return GS_ENOMEM;
		s->name = nv;
		if (!(lv = gs_realloc(s->line, cap * sizeof *lv)))
			return GS_ENOMEM;
		s->line = lv;
		s->cap = cap;
	}
	s->name[s->n] = name;
	s->line[s->n++] = line;
	return 0;
}

/* Adds a compiled rule and its key words (lits[] grows with it): kw,
 * key words ip_lit_extract found for pat, which move to lits, or NULL to
 * look for them here. */
static int ip_rule_add(ip_instance *in, ip_lits **lits, const char *name,
		       const char *pat, pcre2_code *code, ip_lits *kw)
{
	ip_rule *v = gs_realloc(in->rule, (in->nrule + 1) * sizeof *v);
	ip_lits *lv;
	uint32_t lb = 0;
	int rc = 1;

	if (!v) {
		pcre2_code_free(code);
		if (kw)
			ip_lits_free(kw);
		return GS_ENOMEM;
	}
	in->rule = v;
	v = &in->rule[in->nrule];
	v->code = code;
	atomic_init(&v->jit, NULL);
	atomic_init(&v->uses, 0);
	v->wstart = v->wend = v->paired = v->wstart2 = v->third = 0;
	v->order2 = v->order3 = 0;
	v->span2 = v->span3 = 0;
	v->need[0] = v->need[1] = 0;
	v->letters = IP_PRE_UNKNOWN;
	if (!(v->name = gs_strndup(name, strlen(name)))) {
		pcre2_code_free(code);
		if (kw)
			ip_lits_free(kw);
		return GS_ENOMEM;
	}
	in->nrule++;
	if (!(lv = gs_realloc(*lits, in->nrule * sizeof *lv))) {
		if (kw)
			ip_lits_free(kw);
		return GS_ENOMEM;
	}
	*lits = lv;
	memset(&lv[in->nrule - 1], 0, sizeof *lv);
	if (kw)
		lv[in->nrule - 1] = *kw;
	else if ((rc = ip_lit_extract(pat, &lv[in->nrule - 1])) < 0)
		return rc;
	/* a lookbehind longer than the context a window keeps before where
	 * it is searched could look at text the window does not hold */
	pcre2_pattern_info(code, PCRE2_INFO_MAXLOOKBEHIND, &lb);
	if (rc == 1 && lb <= IP_CONTEXT / 2) {
		if (lb + 2 > in->context)
			in->context = lb + 2;
		v->pre = lv[in->nrule - 1].pre;
		v->wstart = lv[in->nrule - 1].wstart;
		v->wend = lv[in->nrule - 1].wend;
		v->paired = lv[in->nrule - 1].n2 > 0;
		v->wstart2 = lv[in->nrule - 1].wstart2;
		v->order2 = lv[in->nrule - 1].order2;
		v->order3 = lv[in->nrule - 1].order3;
		v->third = v->paired && lv[in->nrule - 1].n3 > 0;
		v->span2 = lv[in->nrule - 1].span2;
		v->span3 = lv[in->nrule - 1].span3;
		in->paired |= v->paired;
		v->letters = lv[in->nrule - 1].letters;
		in->needy |= ip_need_extract(pat, v->need);
	} else {
		ip_lits_free(&lv[in->nrule - 1]);
		in->unkeyed = 1;
	}
	return GS_OK;
}

/* What the scanner is to do with a rule's key words that start (end) a
 * word in every match: report none inside a word (running on into one). */
static uint8_t ip_word_flags(const ip_rule *r)
{
	return (uint8_t)((r->wstart ? IP_SC_START : 0) |
			 (r->wend ? IP_SC_END : 0));
}

/* The scanner: rule r's key words as r, except, in a paired rule, those
 * that need no second key word (ip_lits.vu) as 2 nrule + r; its second
 * key words as nrule + r (near), its third as 3 nrule + r (near). */
static int ip_scanner_make(ip_instance *in, const ip_lits *lits)
{
	size_t nr = in->nrule, r, k, j;
	ip_lits *all;
	uint8_t *flag;
	int rc = GS_ENOMEM;

	if (!(flag = gs_calloc(4 * nr + 1, 1)))
		return GS_ENOMEM;
	for (r = 0; r < nr; r++)
		flag[r] = ip_word_flags(&in->rule[r]);
	if (!in->paired) {
		rc = ip_scanner_new(lits, nr, flag, &in->scanner);
		gs_free(flag);
		return rc;
	}
	if (!(all = gs_calloc(4 * nr, sizeof *all))) {
		gs_free(flag);
		return GS_ENOMEM;
	}
	for (r = 0; r < nr; r++) {
		flag[nr + r] = (uint8_t)(IP_SC_NEAR | (in->rule[r].wstart2
						       ? IP_SC_START : 0));
		flag[2 * nr + r] = flag[r];
		flag[3 * nr + r] = IP_SC_NEAR;
	}
	for (r = 0; r < nr; r++) { /* strings borrowed, not copied */
		const ip_lits *l = &lits[r];

		if (!in->rule[r].paired) {
			all[r].v = l->v;
			all[r].n = l->n;
			continue;
		}
		if (l->n && !(all[r].v = gs_alloc(l->n * sizeof *l->v)))
			goto out;
		for (k = j = 0; k < l->n; k++) { /* both sorted */
			while (j < l->nu && strcmp(l->vu[j], l->v[k]) < 0)
				j++;
			if (j == l->nu || strcmp(l->vu[j], l->v[k]))
				all[r].v[all[r].n++] = l->v[k];
		}
		all[nr + r].v = l->v2;
		all[nr + r].n = l->n2;
		all[2 * nr + r].v = l->vu;
		all[2 * nr + r].n = l->nu;
		all[3 * nr + r].v = l->v3;
		all[3 * nr + r].n = l->n3;
	}
	rc = ip_scanner_new(all, 4 * nr, flag, &in->scanner);
	if (rc == GS_OK && !(in->plist = gs_alloc(4 * nr * sizeof *in->plist)))
		rc = GS_ENOMEM;
	for (r = 0; rc == GS_OK && r < 4 * nr; r++)
		in->plist[r] = (uint32_t)(r >= nr && r < 2 * nr ? r - nr
					  : r >= 3 * nr ? r - 2 * nr : 2 * nr);
	if (rc == GS_OK && !(in->pflag = gs_alloc(nr)))
		rc = GS_ENOMEM;
	for (r = 0; rc == GS_OK && r < nr; r++)
		in->pflag[r] = (uint8_t)((in->rule[r].paired ? 1 : 0) |
					 (in->rule[r].third ? 2 : 0));
out:
	for (r = 0; r < nr; r++)
		if (in->rule[r].paired)
			gs_free(all[r].v);
	gs_free(all);
	gs_free(flag);
	return rc;
}

/* Where pat's top-level alternatives start (offsets; the '|' before one
 * ends the one before): how many, or 0 when it has one or must stay
 * whole: an option setting at its top ("(?s)" reaches into the
 * alternatives after it), \Q...\E or a comment (read as text), more
 * than IP_ALTS_MAX, or brackets that do not balance. */
#define IP_ALTS_MAX 64
static size_t ip_alternatives(const char *pat, size_t *start)
{
	const char *p = pat;
	size_t n = 1, depth = 0;

	start[0] = 0;
	while (*p) {
		if (*p == '\\') {
			if (!p[1] || p[1] == 'Q')
				return 0;
			p += 2;
		} else if (*p == '[') { /* a class: | and ( are themselves */
			p += 1 + (p[1] == '^');
			if (*p == ']')
				p++;
			while (*p && *p != ']') {
				if (*p == '\\' && !p[1])
					return 0;
				if (*p == '[' && p[1] == ':') {
					const char *e = strstr(p + 2, ":]");

					if (!e)
						return 0;
					p = e + 2;
				} else {
					p += *p == '\\' ? 2 : 1;
				}
			}
			if (!*p)
				return 0;
			p++;
		} else if (*p == '(') {
			const char *q = p + 2;

			if (p[1] == '?' && p[2] == '#')
				return 0;
			while (p[1] == '?' && *q && strchr("imnsxJU^-", *q))
				q++;
			if (!depth && p[1] == '?' && q > p + 2 && *q == ')')
				return 0;
			depth++;
			p++;
		} else if (*p == ')') {
			if (!depth)
				return 0;
			depth--;
			p++;
		} else {
			if (*p == '|' && !depth) {
				if (n == IP_ALTS_MAX)
					return 0;
				start[n++] = (size_t)(p + 1 - pat);
			}
			p++;
		}
	}
	return depth || n < 2 ? 0 : n;
}

/* Adds a rule with top-level alternatives (with the prefilter) as one
 * rule per alternative, each with the rule's name and in its order: each
 * gets key words, second key words, punctuation and a reach of its own
 * (the verbs of reveal-prompt's first alternative start its matches;
 * the rule as a whole could only say "within 12 letters").  The matches
 * are the same: the leftmost wins, at one position the earlier
 * alternative, as PCRE2 tries them; so every alternative must compile
 * on its own and consume a character in every match (an empty match
 * would win where it comes first): it has key words, which come only
 * from what a match consumes (PCRE2's minimum length would not do: it
 * counts what a lookahead needs).  1 when added so, 0 when the rule
 * stays whole (nothing added), or GS_ENOMEM. */
static int ip_rule_split(ip_instance *in, ip_lits **lits, const char *name,
			 const char *pat)
{
	size_t start[IP_ALTS_MAX], n = ip_alternatives(pat, start), k;
	pcre2_code *code[IP_ALTS_MAX];
	ip_lits kw[IP_ALTS_MAX];
	char err[256], *alt[IP_ALTS_MAX];
	int rc = 0;

	if (n < 2 || ip_refers(pat))
		return 0; /* ip_rule_compile says why */
	memset(kw, 0, n * sizeof *kw);
	for (k = 0; k < n; k++) {
		code[k] = NULL;
		alt[k] = NULL;
	}
	for (k = 0; k < n; k++) {
		size_t end = k + 1 < n ? start[k + 1] - 1 : strlen(pat);

		if (!(alt[k] = gs_strndup(pat + start[k], end - start[k])) ||
		    (rc = ip_lit_extract(alt[k], &kw[k])) < 0) {
			rc = GS_ENOMEM;
			goto out;
		}
		if (rc == 0 ||
		    !(code[k] = ip_compile(alt[k], err, sizeof err))) {
			rc = 0;
			goto out;
		}
	}
	for (k = 0; k < n; k++) {
		rc = ip_rule_add(in, lits, name, alt[k], code[k], &kw[k]);
		code[k] = NULL; /* the rule's now, or freed */
		memset(&kw[k], 0, sizeof kw[k]);
		if (rc < 0)
			goto out;
	}
	rc = 1;
out:
	for (k = 0; k < n; k++) {
		pcre2_code_free(code[k]);
		ip_lits_free(&kw[k]);
		gs_free(alt[k]);
	}
	return rc;
}

/* Reads the rules file, compiles each rule and builds the prefilter. */
static int ip_load(ip_instance *in, gs_config *cfg, const char *key,
		   const char *path)
{
	gs_buf file = GS_BUF_INIT;
	ip_seen seen = { NULL, NULL, 0, 0 };
	ip_lits *lits = NULL;
	pcre2_code *code;
	long line = 0, first;
	char *p, *end, *name, *pat;
	size_t k;
	int rc;

	if ((rc = gs_config_check_file(cfg, key, path)) < 0 ||
	    (rc = ip_read_file(cfg, key, path, &file)) < 0)
		goto out;
	if (file.len && (memchr(file.data, '\0', file.len) ||
			 gs_utf8_check(file.data, file.len) != file.len)) {
		gs_config_error(cfg, key, "%s: not UTF-8 text", path);
		rc = GS_EINVAL;
		goto out;
	}
	for (p = file.data; p && p < file.data + file.len; p = end + 1) {
		line++;
		if (!(end = memchr(p, '\n', file.data + file.len - p)))
			end = file.data + file.len; /* the buffer's NUL */
		*end = '\0';
		rc = ip_parse_line(cfg, path, line, p, &name, &pat);
		if (rc < 0)
			goto out;
		if (rc == 0)
			continue;
		if ((first = ip_seen_add(&seen, name, line)) != 0) {
			rc = (int)first;
			if (first > 0) {
				gs_config_error_at(cfg, path, line, "rule %s: "
						   "defined twice (first on "
						   "line %ld)", name, first);
				rc = GS_EINVAL;
			}
			goto out;
		}
		if (in->prefilter &&
		    (rc = ip_rule_split(in, &lits, name, pat)) != 0) {
			if (rc < 0)
				goto out;
			continue;
		}
		if (!(code = ip_rule_compile(in, cfg, path, line, name, pat,
					     &rc)) ||
		    (rc = ip_rule_add(in, &lits, name, pat, code, NULL)) < 0)
			goto out;
	}
	if (!in->nrule) {
		gs_config_error(cfg, key, "%s: no rules", path);
		rc = GS_EINVAL;
		goto out;
	}
	rc = ip_scanner_make(in, lits);
	if (rc == GS_OK && in->needy) { /* the scanner marks what they need */
		uint64_t all[2] = { 0, 0 };

		for (k = 0; k < in->nrule; k++) {
			all[0] |= in->rule[k].need[0];
			all[1] |= in->rule[k].need[1];
		}
		ip_scanner_mark(in->scanner, all);
	}
out:
	for (k = 0; lits && k < in->nrule; k++)
		ip_lits_free(&lits[k]);
	gs_free(lits);
	gs_buf_free(&file);
	gs_free(seen.name);
	gs_free(seen.line);
	return rc;
}

/* ---- instance ----------------------------------------------------- */

static void *ip_pcre_alloc(PCRE2_SIZE n, void *data)
{
	(void)data;
	return gs_alloc(n);
}

static void ip_pcre_free(void *p, void *data)
{
	(void)data;
	gs_free(p);
}

static void ip_destroy(void *instance)
{
	ip_instance *in = instance;

	if (!in)
		return;
	while (in->nrule) {
		in->nrule--;
		pcre2_code_free(in->rule[in->nrule].code);
		pcre2_code_free(atomic_load(&in->rule[in->nrule].jit));
		gs_free(in->rule[in->nrule].name);
	}
	gs_free(in->rule);
	while (in->pool) {
		ip_work *w = in->pool;

		in->pool = w->next;
		ip_work_free(w);
	}
	if (in->locked)
		pthread_mutex_destroy(&in->lock);
	ip_scanner_free(in->scanner);
	gs_free(in->plist);
	gs_free(in->pflag);
	pcre2_match_context_free(in->mctx);
	pcre2_general_context_free(in->gctx);
	gs_free(in->replacement);
	gs_free(in);
}

/* Without `rules =`: injection.rules beside the stack file, where the
 * shipped one is installed next to default.ini. */
static char *ip_default_rules(const gs_config *cfg)
{
	gs_buf b = GS_BUF_INIT;

	if (gs_buf_printf(&b, "%s/%s", gs_config_dir(cfg),
			  IP_RULES_DEFAULT) < 0)
		return NULL;
	return gs_buf_steal(&b, NULL);
}

static int ip_contexts(ip_instance *in)
{
	in->gctx = pcre2_general_context_create(ip_pcre_alloc, ip_pcre_free,
						NULL);
	if (!in->gctx)
		return GS_ENOMEM;
	in->mctx = pcre2_match_context_create(in->gctx);
	if (!in->mctx)
		return GS_ENOMEM;
	pcre2_set_match_limit(in->mctx, IP_MATCH_LIMIT);
	pcre2_set_depth_limit(in->mctx, IP_DEPTH_LIMIT);
	return GS_OK;
}

static int ip_create(gs_config *cfg, void **instance)
{
	ip_instance *in = gs_calloc(1, sizeof *in);
	const char *rep = NULL;
	char *path = NULL;
	int rc;

	if (!in)
		return GS_ENOMEM;
	if (pthread_mutex_init(&in->lock, NULL) != 0) {
		gs_free(in);
		return GS_ENOMEM;
	}
	in->locked = 1;
	if ((rc = gs_config_enum(cfg, "action", ip_actions, IP_REJECT,
				 &in->action)) < 0 ||
	    (rc = gs_config_str(cfg, "replacement", "[FILTERED]", &rep)) < 0 ||
	    (rc = gs_config_bool(cfg, "prefilter", 1, &in->prefilter)) < 0 ||
	    (rc = gs_config_path(cfg, "rules", &path)) < 0 ||
	    (rc = ip_contexts(in)) < 0)
		goto fail;
	/* without JIT (GUARDSTACK_NO_JIT for the valgrind pass, as the core
	 * does) PCRE2 interprets: slower, under the same limits */
	in->jit = !secure_getenv("GUARDSTACK_NO_JIT");
	in->replen = strlen(rep);
	if (gs_utf8_check(rep, in->replen) != in->replen) {
		gs_config_error(cfg, "replacement", "not valid UTF-8");
		rc = GS_EINVAL;
		goto fail;
	}
	rc = GS_ENOMEM;
	if (!(in->replacement = gs_strndup(rep, in->replen)) ||
	    (!path && !(path = ip_default_rules(cfg))))
		goto fail;
	rc = ip_load(in, cfg, gs_config_has(cfg, "rules") ? "rules" : NULL,
		     path);
	if (rc < 0)
		goto fail;
	gs_free(path);
	*instance = in;
	return GS_OK;
fail:
	gs_free(path);
	ip_destroy(in);
	return rc;
}

GS_PLUGIN_EXPORT const gs_plugin gs_plugin_entry = {
	GS_PLUGIN_HEADER,
	.name = "input-patterns",
	.description = "rejects, redacts or counts prompt-injection phrases "
		       "(rules file, normalised text)",
	.version = "1.0",
	.phases = GS_PHASE_REQUEST,
	.flags = GS_PLUGIN_MODIFIES,
	.count_unit = "matches",
	.create = ip_create,
	.request = ip_request,
	.destroy = ip_destroy,
};
