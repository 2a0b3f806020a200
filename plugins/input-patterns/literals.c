/* SPDX-License-Identifier: MIT */
/*
 * literals.c - finds, for one rule, a set of key words that every match
 * of the rule must contain: the prefilter's input (see scan.c).
 *
 * Words are compared in the "letter stream" of a text: its folded letters
 * a-z only, with 0 1 3 4 5 7 @ $ read as o i e a s t a s and everything
 * else (spaces, punctuation, other digits, other scripts) left out.  A
 * match in either view of the text (input-patterns.c) is a stretch of
 * folded units, so its letter stream is a contiguous piece of the text's
 * letter stream: "i g n o r e", "ig-nore" and "1gn0re" all give "ignore",
 * and `\bignore\s+previous` gives the one word "ignoreprevious".
 *
 * A small parser reads the rule (the PCRE2 syntax rules use) and works
 * out, for each part, either every letter string it can produce (exact,
 * when that set is small) or a set of strings one of which every match
 * of it contains (a factor set).  Sequences multiply exact sets and keep
 * the best factor set seen; alternatives unite them; a part that may
 * match nothing contributes nothing.  Anything the parser does not know
 * makes the answer "no set", and such a rule runs on every text: the
 * prefilter may only ever err towards running a rule.
 *
 * Second key words: a sequence also keeps the rarest set from another of
 * its parts than the best one's (a match holds one string of each, apart
 * from one another), and counts the most letters a match can hold (a
 * view character gives at most one letter; spaces and punctuation none).
 * An alternative without a second set of its own makes its strings of
 * the first set exceptions (fsu): a hit of one of those needs none.  The
 * exceptions hold only with that alternative's group as the first set,
 * so a group's second set pairs another part's first set only when the
 * group has no exceptions.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ip.h"

#define LIT_CAP 64      /* strings in one exact set (a product) */
#define LIT_UNION_CAP 1024 /* strings in one factor set */
#define LIT_MAXLEN 48    /* letters in one string; longer ones are cut */
#define LIT_CLASS_MAX 6  /* letters a class may hold and stay exact */
#define LIT_DEPTH 64     /* group nesting */
#define LIT_THIRD_MAX 0.5 /* lset_score of a useful third set, below: one
			   * common word of three letters scores 1 */

/* ---- string sets -------------------------------------------------- */

/* Strings of a set live in blocks the set owns: sets are built and
 * thrown away by the thousand while a rule set loads. */
typedef struct lblock {
	struct lblock *next;
	size_t used, cap;
	char data[];
} lblock;

typedef struct lset {
	char **v;
	size_t n;
	lblock *pool, *tail; /* tail: the first block made, last in the list */
} lset;

#define LSET_INIT { NULL, 0, NULL, NULL }

#define LIT_INF ((size_t)-1)

/* What a part of a rule can produce in the letter stream, and how long
 * (in characters of a view) a match of it can be.  Distances tell the
 * matcher where, before a key word, a match can start. */
/* A sequence's other candidates for its second set, while it is read:
 * fs2b the rarest from another part than fs2's; fs2c and fs2cu an
 * atom's second set and its exceptions (good only with that atom's set
 * as fs, from part fs2c_src).  linfo_seq_done picks among them. */
typedef struct lsec {
	int fac2b, fac2c;
	lset fs2b, fs2c, fs2cu;
	double f2bscore;
	int fs2b_src, fs2c_src;
	int f2bkw, f2ckw; /* as linfo.f2kw */
	int f2cord; /* as linfo.f2ord (fs2b, from another part, needs none) */
	size_t f2cspan; /* as linfo.f2span */
} lsec;

typedef struct linfo {
	int exact;   /* ex holds every string it can produce */
	lset ex;
	size_t lead; /* ex without "": characters before its first letter */
	int fac;     /* fs: every production contains one of these */
	lset fs;
	size_t fpre; /* ... starting at most this far into the match */
	double fcost; /* lset_cost(fs, fpre), kept */
	size_t maxv; /* longest match, LIT_INF when unbounded */
	size_t maxl; /* most letters of the stream a match holds: a view
		      * character gives at most one, and only one that can
		      * be a letter, digit, @, $ or non-ASCII */
	/* A second set every production contains one of (from another part
	 * of it, where there is one): the prefilter keeps a hit of the first
	 * set only with a hit of this one near enough (ip.h, ip_lits). */
	int fac2;
	lset fs2;    /* a match's occurrence of it never overlaps the one of
		      * fs it holds: the two come from different atoms */
	double f2score; /* lset_score(fs2) */
	int f2kw;    /* fs2 starts a word (KW_*, as fkw for fs): there is an
		      * occurrence of it that does in every match */
	int f2ord;   /* where fs2's occurrence lies in a match, next to the
		      * one of fs it holds: after it, before it (ORD_*: both
		      * from parts of one sequence, in that order), or
		      * either; while a sequence is read, for an fs2 that is
		      * an atom's own, as that atom's says */
	size_t f2span; /* the most letters from the start of the one to the
			* end of the other (0: not known, see maxl): the
			* letters of the parts they come from and those
			* between; kept and inherited as f2ord is */
	lset fsu;    /* the strings of fs a match may hold without one of fs2
		      * (from alternatives that have no second set) */
	/* While a sequence is read: which part fs came from, and fs2 (the
	 * rarest set every match holds); sec keeps the other candidates */
	int fs_src, fs2_src;
	struct lsec *sec;
	int ws;      /* matches white space only (a view has runs of one) */
	/* Whether a key word starts a word, so that a hit inside a word
	 * ("act" in "contract") can be dropped: a \b (or ^) right before a
	 * part whose every match starts with a letter. */
	int wb;      /* this atom is \b or ^ */
	int nw;      /* every character it consumes is a non-word one */
	int nwe;     /* every match that consumes one ends with such a one
		      * ("(?:[\w-]{1,40}\s+){0,2}"); nw implies it */
	int wbe;     /* after every match, a word starts (or none does): as
		      * a \b, for "(?:(?<![^\n])\s*|(?<=[.!?]\s))" */
	int min1;    /* consumes at least one character */
	int lstart;  /* every match starts with an ASCII letter */
	int fkw;     /* fs starts a word: KW_NO, KW_YES or KW_INHERIT (when
		      * a \b comes right before this part) */
	/* Whether an occurrence of ex's (fs's) strings in a match ends a
	 * word, the character after its last letter being no word
	 * character (END_*, END_NO when not known): END_INHERIT for ex when
	 * that depends on what follows this part */
	int exend, fend;
	int en;      /* a production of "" consumes nothing or only non-word
		      * characters (0: not known) */
	int exkw;    /* the same for ex, plus one; 0: from lead and lstart */
} linfo;

enum { KW_NO, KW_YES, KW_INHERIT };
enum { ORD_ANY, ORD_AFTER, ORD_BEFORE };
enum { END_NO, END_INHERIT, END_YES }; /* worst first: see lit_end_min */

static int lit_end_min(int a, int b)
{
	return a < b ? a : b;
}

/* Clears n bytes at p in 16-byte stores: GCC makes a rep stos of a
 * memset of an info (or of lsec), which is slow to start on some CPUs,
 * and the reader clears several per atom of every rule.  n is a size
 * known where this is inlined: the loop unrolls into plain stores (its
 * counting and branching cost twice the stores). */
static inline void lit_clear(void *p, size_t n)
{
	unsigned char *c = p;
	size_t k;

#pragma GCC unroll 32
	for (k = 0; k + 16 <= n; k += 16)
		__builtin_memset(c + k, 0, 16);
	__builtin_memset(c + k, 0, n - k);
}

static inline void linfo_zero(linfo *i)
{
	lit_clear(i, sizeof *i);
}

static size_t lit_add(size_t a, size_t b)
{
	return a == LIT_INF || b == LIT_INF || a + b < a ? LIT_INF : a + b;
}

typedef struct lparse {
	const char *p;
	int bad;    /* unknown syntax: no answer for this rule */
	int nomem;
	int depth;
	int nsrc;   /* sources handed out (see linfo.fs_src) */
	/* The rule's top: how many alternatives, and (of the last) a third
	 * set, from a part neither the first nor the second came from, and
	 * where that part lies next to the first's (ORD_AFTER, ORD_BEFORE) */
	int top_alts;
	lset third;
	int third_ord;
	size_t third_span; /* as linfo.f2span, for the third set */
} lparse;

/* Blocks of the first size and string arrays of the first size, kept
 * for the next set while one rule is read (per thread: stacks may load
 * in several at once): a rule makes and drops thousands of small sets,
 * and malloc and free were a fifth of the load time. */
#define LIT_BLOCK0 256
#define LIT_V0 8
#define LIT_SPARES 64
static __thread lblock *lit_spare_b;
static __thread char **lit_spare_v[LIT_SPARES];
static __thread size_t lit_nspare_b, lit_nspare_v;

static void lit_spares_free(void)
{
	while (lit_spare_b) {
		lblock *b = lit_spare_b;

		lit_spare_b = b->next;
		gs_free(b);
	}
	while (lit_nspare_v)
		gs_free(lit_spare_v[--lit_nspare_v]);
	lit_nspare_b = 0;
}

/* Room for n string pointers in a set's array: at least LIT_V0, and
 * doubled when n reaches a power of two from there (see lset_add). */
static size_t lset_vcap(size_t n)
{
	return n <= LIT_V0 ? LIT_V0 : (n & (n - 1)) ? 2 * n : n;
}

/* The room a set of n strings has at least, whichever way it grew: the
 * power of two from n up (LIT_V0 at least), since lset_add grows the
 * array when n reaches one and lset_move to lset_vcap, never less. */
static size_t lset_room(size_t n)
{
	size_t r = LIT_V0;

	while (r < n)
		r *= 2;
	return r;
}

static void lset_release(lset *s);

/* Most sets freed hold nothing: those take no call (nor the per-thread
 * spares, whose every use calls into the dynamic linker in a module). */
static inline void lset_free(lset *s)
{
	if (!s->pool && !s->v) {
		s->n = 0;
		s->tail = NULL;
		return;
	}
	lset_release(s);
}

static void lset_release(lset *s)
{
	while (s->pool) {
		lblock *b = s->pool;

		s->pool = b->next;
		if (b->cap == LIT_BLOCK0 && lit_nspare_b < LIT_SPARES) {
			b->next = lit_spare_b;
			lit_spare_b = b;
			lit_nspare_b++;
		} else {
			gs_free(b);
		}
	}
	if (s->v && lit_nspare_v < LIT_SPARES) /* every array holds LIT_V0 */
		lit_spare_v[lit_nspare_v++] = s->v;
	else
		gs_free(s->v);
	s->v = NULL;
	s->n = 0;
	s->tail = NULL;
}

static void linfo_free(linfo *i)
{
	lset_free(&i->ex);
	lset_free(&i->fs);
	lset_free(&i->fs2);
	lset_free(&i->fsu);
	i->exact = i->fac = i->fac2 = 0;
}

/* Adds a copy of s[0..n) (repeats are removed by lset_uniq); -1 when
 * out of memory. */
static int lset_add(lset *s, const char *str, size_t n)
{
	char **v, *c;

	if (n > LIT_MAXLEN)
		n = LIT_MAXLEN;
	if (!s->pool || s->pool->cap - s->pool->used < n + 2) {
		/* blocks double, from what one short string needs */
		size_t cap = s->pool ? 2 * s->pool->cap : LIT_BLOCK0;
		lblock *b;

		if (cap > 16384)
			cap = 16384; /* LIT_MAXLEN + 2 always fits */
		if (cap == LIT_BLOCK0 && lit_spare_b) {
			b = lit_spare_b;
			lit_spare_b = b->next;
			lit_nspare_b--;
		} else if (!(b = gs_alloc(sizeof *b + cap))) {
			return -1;
		}
		b->next = s->pool;
		b->used = 0;
		b->cap = cap;
		if (!s->pool)
			s->tail = b;
		s->pool = b;
	}
	if (!s->v && lit_nspare_v) {
		s->v = lit_spare_v[--lit_nspare_v];
	} else if (!s->v || (s->n >= LIT_V0 && !(s->n & (s->n - 1)))) {
		/* full: none yet, or LIT_V0, 16, 32, ... */
		if (!(v = gs_realloc(s->v, lset_vcap(s->n + 1) * sizeof *v)))
			return -1;
		s->v = v;
	}
	c = s->pool->data + s->pool->used;
	*c++ = (char)n; /* its length, for lit_len */
	memcpy(c, str, n);
	c[n] = '\0';
	s->pool->used += n + 2;
	s->v[s->n++] = c;
	return 0;
}

/* The length of a string of a set (lset_add keeps it in front). */
static size_t lit_len(const char *str)
{
	return (unsigned char)str[-1];
}

static int lset_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts a set and drops repeats. */
static void lset_uniq(lset *s)
{
	size_t i, n = 0;

	if (s->n < 2)
		return;
	if (s->n > 16) {
		qsort(s->v, s->n, sizeof *s->v, lset_strcmp);
	} else { /* most sets are this small: no calls through a pointer */
		for (i = 1; i < s->n; i++) {
			char *x = s->v[i];
			size_t j = i;

			for (; j > 0 && strcmp(s->v[j - 1], x) > 0; j--)
				s->v[j] = s->v[j - 1];
			s->v[j] = x;
		}
	}
	for (i = 0; i < s->n; i++) {
		if (!n || strcmp(s->v[n - 1], s->v[i]))
			s->v[n++] = s->v[i];
	}
	s->n = n;
}

/* Drops repeats, keeping the order (only the final key words need to be
 * sorted): by hashing, since sorting every union on the way up was a
 * fifth of the time a rule set took to load. */
static void lset_dedupe(lset *s)
{
	uint32_t small[256], *slot = small;
	size_t cap = 8, i, n = 0;

	if (s->n < 2)
		return;
	while (cap < 2 * s->n)
		cap *= 2;
	if (cap > sizeof small / sizeof *small &&
	    !(slot = gs_alloc(cap * sizeof *slot))) {
		lset_uniq(s); /* no memory for the table: sort instead */
		return;
	}
	memset(slot, 0, cap * sizeof *slot);
	for (i = 0; i < s->n; i++) {
		uint32_t h;

		for (h = ip_strhash(s->v[i]) & (uint32_t)(cap - 1);
		     slot[h] && strcmp(s->v[slot[h] - 1], s->v[i]);
		     h = (h + 1) & (uint32_t)(cap - 1))
			;
		if (slot[h])
			continue; /* a repeat */
		s->v[n] = s->v[i];
		slot[h] = (uint32_t)++n;
	}
	s->n = n;
	if (slot != small)
		gs_free(slot);
}

/* Appends from's strings to `to`, taking over their storage; from is
 * left empty. */
static int lset_move(lset *to, lset *from)
{
	char **v;

	if (!from->n) {
		lset_free(from);
		return 0;
	}
	v = to->v;
	if ((!v || to->n + from->n > lset_room(to->n)) &&
	    !(v = gs_realloc(to->v, lset_vcap(to->n + from->n) * sizeof *v)))
		return -1;
	memcpy(v + to->n, from->v, from->n * sizeof *v);
	to->v = v;
	to->n += from->n;
	if (from->pool) {
		from->tail->next = to->pool;
		if (!to->pool)
			to->tail = from->tail;
		to->pool = from->pool;
		from->pool = from->tail = NULL;
	}
	lset_free(from); /* its array only, now */
	return 0;
}

/* Moves a set's strings out (the set is left empty). */
static lset lset_take(lset *from)
{
	lset t = *from;

	memset(from, 0, sizeof *from);
	return t;
}

static int lset_copy(lset *to, const lset *from)
{
	size_t k;

	for (k = 0; k < from->n; k++)
		if (lset_add(to, from->v[k], lit_len(from->v[k])) < 0)
			return -1;
	return 0;
}

static int lset_has_empty(const lset *s)
{
	size_t k;

	for (k = 0; k < s->n; k++)
		if (!s->v[k][0])
			return 1;
	return 0;
}

/* a x b, or -1 (out of memory) / 1 (too large: nothing written). */
static int lset_product(lset *out, const lset *a, const lset *b)
{
	char buf[2 * LIT_MAXLEN + 1];
	size_t i, j;

	if (a->n * b->n > LIT_CAP)
		return 1;
	for (i = 0; i < a->n; i++) {
		size_t la = lit_len(a->v[i]);

		memcpy(buf, a->v[i], la);
		for (j = 0; j < b->n; j++) {
			size_t lb = lit_len(b->v[j]);

			if (la + lb > LIT_MAXLEN)
				return 1; /* a cut string is no longer exact */
			memcpy(buf + la, b->v[j], lb);
			if (lset_add(out, buf, la + lb) < 0)
				return -1;
		}
	}
	return 0; /* repeats ("a"+"bc", "ab"+"c") are rare: kept till the end */
}

/* Whether a short key word is part of a word common in English prose or
 * in prompts: such a key would send its rule to work on most texts. */
static const char lit_words_common[] =
	"about|after|again|also|answer|because|been|before|being|"
	"could|does|each|from|give|have|help|here|into|just|know|"
	"like|make|model|more|most|need|only|other|over|please|"
	"question|same|should|show|some|such|system|take|tell|than|"
	"that|their|them|then|there|these|they|this|those|through|"
	"time|under|user|very|want|well|were|what|when|where|which|"
	"while|will|with|would|write|your|yours|yourself|actually|"
	"factor|contact|exact|impact|action|mode|order|rules|list|"
	"text|output|data|code|file|name|type";

/* Every piece of up to six letters of the words of lit_words_common, as
 * a set: scoring sets asks about each short key, often enough that a
 * search of the whole string each time was a tenth of reading rules.  A
 * piece is packed five bits a letter (1..26), so that no two differ. */
#define LIT_COMMON_SLOTS 8192
static uint32_t lit_common_set[LIT_COMMON_SLOTS];
static pthread_once_t lit_common_once = PTHREAD_ONCE_INIT;

static uint32_t lit_common_slot(uint32_t key)
{
	return (key * 0x9E3779B1u) >> 19; /* 13 bits */
}

static void lit_common_init(void)
{
	const char *w = lit_words_common;

	while (*w) {
		size_t len = strcspn(w, "|"), i, j;

		for (i = 0; i < len; i++) {
			uint32_t key = 0;

			for (j = i; j < len && j < i + 6; j++) {
				uint32_t h;

				key = key << 5 | (uint32_t)(w[j] - 'a' + 1);
				h = lit_common_slot(key);
				while (lit_common_set[h] && lit_common_set[h] != key)
					h = (h + 1) & (LIT_COMMON_SLOTS - 1);
				lit_common_set[h] = key;
			}
		}
		w += len + (w[len] == '|');
	}
}

/* Whether key, of six letters or fewer, is part of a common word. */
static int lit_common(const char *key)
{
	size_t n = lit_len(key), i;
	uint32_t k = 0, h;

	if (n > 6)
		return 0;
	if (!n)
		return 1;
	for (i = 0; i < n; i++) {
		if (key[i] < 'a' || key[i] > 'z')
			return 0; /* the words hold nothing else */
		k = k << 5 | (uint32_t)(key[i] - 'a' + 1);
	}
	pthread_once(&lit_common_once, lit_common_init);
	for (h = lit_common_slot(k); lit_common_set[h];
	     h = (h + 1) & (LIT_COMMON_SLOTS - 1))
		if (lit_common_set[h] == k)
			return 1;
	return 0;
}

/* How often a set is expected to occur in a letter stream: lower is
 * better.  A string shorter than IP_LIT_MIN is useless to the scanner. */
static double lset_score(const lset *s)
{
	static const double w[] = { 1, 1, 1, 1e-2, 1e-3, 2e-4, 5e-5 };
	double sum = 0;
	size_t k;

	if (!s->n)
		return 1e9;
	for (k = 0; k < s->n; k++) /* a useless set costs little to see */
		if (!s->v[k][0] || !s->v[k][1] || !s->v[k][2])
			return 1e9;
	for (k = 0; k < s->n; k++) {
		size_t n = lit_len(s->v[k]);

		sum += w[n < 6 ? n : 6] *
		       (n <= 6 && lit_common(s->v[k]) ? 100 : 1);
	}
	return sum;
}

/* Whether info's exact set starts a word (KW_*). */
static int linfo_exkw(const linfo *i)
{
	if (i->exkw)
		return i->exkw - 1;
	return i->lead == 0 && i->lstart ? KW_INHERIT : KW_NO;
}

/* What a key set costs the matcher: how often it occurs times how many
 * start positions each occurrence makes it try (those up to `pre`
 * characters before it; an unbounded pre means a whole window). */
static double lit_pre_weight(size_t pre)
{
	return pre == LIT_INF || pre > 256 ? 300.0 : (double)pre + 8;
}

static double lset_cost(const lset *s, size_t pre)
{
	double sc = lset_score(s);

	if (sc >= 1e9)
		return 1e9;
	return sc * lit_pre_weight(pre);
}

/* The better of what info knows (its exact set or its factor set) as a
 * factor set, or NULL; *pre: how far into a match it starts. */
static lset *linfo_best(linfo *i, size_t *pre, int *kw)
{
	lset *best = NULL;
	double bs = 1e9, s;

	if (i->exact && !lset_has_empty(&i->ex) &&
	    (s = lset_cost(&i->ex, i->lead)) < bs) {
		best = &i->ex;
		*pre = i->lead;
		*kw = linfo_exkw(i);
		bs = s;
	}
	if (i->fac && (s = i->fcost) < bs) {
		best = &i->fs;
		*pre = i->fpre;
		*kw = i->fkw;
	}
	return best;
}

/* Where the parts of a sequence lie, as the most letters a match holds
 * before each one's start and end (sums of maxl, so that hi - lo of two
 * parts bounds the letters from the one to the other; UINT32_MAX: no
 * bound): filled by lit_seq as it offers each part, read by
 * linfo_seq_done.  Small, as it is on the stack of every nested group's
 * sequence: a pair with a part past the last kept gets no bound. */
#define LIT_PARTS 24
typedef struct lparts {
	int n;
	struct { int src; uint32_t lo, hi; } v[LIT_PARTS];
} lparts;

static void lparts_add(lparts *t, int src, size_t lo, size_t hi)
{
	if (t->n < LIT_PARTS) {
		t->v[t->n].src = src;
		t->v[t->n].lo = lo < UINT32_MAX ? (uint32_t)lo : UINT32_MAX;
		t->v[t->n++].hi = hi < UINT32_MAX ? (uint32_t)hi : UINT32_MAX;
	}
}

/* The most letters parts a and b, and those between, hold in a match
 * (0: not known). */
static size_t lparts_span(const lparts *t, int a, int b)
{
	uint32_t lo = UINT32_MAX, hi = 0;
	int k, found = 0;

	for (k = 0; t && k < t->n; k++)
		if (t->v[k].src == a || t->v[k].src == b) {
			if (t->v[k].hi == UINT32_MAX)
				return 0;
			if (t->v[k].lo < lo)
				lo = t->v[k].lo;
			if (t->v[k].hi > hi)
				hi = t->v[k].hi;
			found += (t->v[k].src == a) + (t->v[k].src == b);
		}
	return found >= 2 && hi > lo ? hi - lo : 0;
}

/* Keeps cand (from part src of a sequence; ord: where it lies next to
 * that part's own first set, when it is the part's second) as info's
 * second set when it is rarer than the one kept, or as the runner-up
 * from another part. */
static void linfo_offer2(linfo *i, lset *cand, int src, double sc,
			 int kw, int ord, size_t span)
{
	lset tmp;
	int first;

	if (!cand)
		return;
	if (sc < 0) /* not known yet */
		sc = lset_score(cand);
	first = !i->fac2 || sc < i->f2score;
	if (sc >= 1e9)
		return;
	if (!first && (!i->sec || src == i->fs2_src ||
		       (i->sec->fac2b && i->sec->f2bscore <= sc)))
		return;
	tmp = lset_take(cand);
	if (!first) {
		lset_free(&i->sec->fs2b);
		i->sec->fs2b = tmp;
		i->sec->fac2b = 1;
		i->sec->f2bscore = sc;
		i->sec->fs2b_src = src;
		i->sec->f2bkw = kw;
		return;
	}
	if (i->fac2 && i->sec && src != i->fs2_src) { /* old first: runner-up */
		lset_free(&i->sec->fs2b);
		i->sec->fs2b = i->fs2;
		i->sec->fac2b = 1;
		i->sec->f2bscore = i->f2score;
		i->sec->fs2b_src = i->fs2_src;
		i->sec->f2bkw = i->f2kw;
	} else {
		lset_free(&i->fs2);
	}
	i->fs2 = tmp;
	i->fac2 = 1;
	i->f2score = sc;
	i->fs2_src = src;
	i->f2kw = kw;
	i->f2ord = ord;
	i->f2span = span;
}

/* Keeps cand (from part src of a sequence; candu: its strings without a
 * second set of their own, or NULL) as info's factor set when it scores
 * better (or as well, starting nearer the start of a match): 1 when it
 * did, else 0.  What loses is offered as the second set.  Sets kept move
 * out of cand and candu (callers drop them after offering). */
static int linfo_offer(linfo *i, lset *cand, size_t pre, int kw, int end,
		       int src, lset *candu)
{
	lset tmp, tmpu = LSET_INIT;
	double score = cand ? lset_score(cand) : 1e9;
	double sc = score >= 1e9 ? 1e9 : score * lit_pre_weight(pre);

	if (!cand || sc >= 1e9)
		return 0;
	if (i->fac && i->fcost <= sc) {
		linfo_offer2(i, cand, src, score, kw, ORD_ANY, 0);
		return 0;
	}
	tmp = lset_take(cand);
	if (candu)
		tmpu = lset_take(candu);
	if (i->fac)
		linfo_offer2(i, &i->fs, i->fs_src,
			     i->fcost / lit_pre_weight(i->fpre), i->fkw,
			     ORD_ANY, 0);
	lset_free(&i->fs);
	lset_free(&i->fsu);
	i->fs = tmp;
	i->fsu = tmpu;
	i->fac = 1;
	i->fpre = pre;
	i->fcost = sc;
	i->fkw = kw;
	i->fend = end == END_YES ? END_YES : END_NO;
	i->fs_src = src;
	return 1;
}

static void lsec_free(lsec *c)
{
	lset_free(&c->fs2b);
	lset_free(&c->fs2c);
	lset_free(&c->fs2cu);
	c->fac2b = c->fac2c = 0;
}

/* Offers atom a (part src of a sequence) as out's sets: its best set;
 * and a's second set, which lies apart from a's first (linfo.fs2): for
 * any first set when it has no exceptions, else only with a's first,
 * kept now if that became out's. */
static void linfo_offer_atom(linfo *out, linfo *a, lset *best, size_t pre,
			     int kw, int src)
{
	int own = best == &a->fs && a->fac2;
	int cond = own && a->fsu.n; /* read before a's sets move */
	int end = best == &a->ex ? a->exend : a->fend;
	int won = linfo_offer(out, best, pre, kw, end, src,
			      own ? &a->fsu : NULL);

	if (!own)
		return;
	if (!cond) {
		linfo_offer2(out, &a->fs2, src, a->f2score, a->f2kw,
			     a->f2ord, a->f2span);
		return;
	}
	if (!won || !out->sec)
		return; /* a's first lost: its second is no use */
	lset_free(&out->sec->fs2c);
	lset_free(&out->sec->fs2cu);
	out->sec->fs2c = lset_take(&a->fs2);
	out->sec->fs2cu = lset_take(&out->fsu); /* moved there from a */
	out->sec->fac2c = 1;
	out->sec->fs2c_src = src;
	out->sec->f2ckw = a->f2kw;
	out->sec->f2cord = a->f2ord;
	out->sec->f2cspan = a->f2span;
}

/* At the end of a sequence (or repeat): the second set.  One from
 * another part than fs's pairs every string of fs; else an atom's own,
 * with its exceptions, when fs is that atom's first.  With third, the
 * runner-up for the second set moves there when it is from a third part
 * (its strings are required as every part's are), and *tord says on
 * which side of the first set's part, *tspan how far (parts: where the
 * sequence's parts lie, NULL for a repeat, whose pair is its atom's). */
static void linfo_seq_done(linfo *i, lset *third, int *tord, size_t *tspan,
			   const lparts *parts)
{
	lsec *c = i->sec;
	lset t;

	i->sec = NULL;
	if (!c)
		return;
	if (i->fac2 && i->fs2_src == i->fs_src && c->fac2b) {
		t = i->fs2; /* the runner-up is from another part */
		i->fs2 = c->fs2b;
		c->fs2b = t;
		i->f2score = c->f2bscore;
		i->fs2_src = c->fs2b_src;
		i->f2kw = c->f2bkw;
	}
	if (!i->fac) {
		i->fac2 = 0;
		lset_free(&i->fs2);
	} else if (i->fac2 && i->fs2_src != i->fs_src) {
		lset_free(&i->fsu); /* every string paired */
	} else if (c->fac2c && c->fs2c_src == i->fs_src) {
		t = i->fs2;
		i->fs2 = c->fs2c;
		c->fs2c = t;
		i->fac2 = 1;
		i->f2score = lset_score(&i->fs2);
		i->f2kw = c->f2ckw;
		i->f2ord = c->f2cord;
		i->f2span = c->f2cspan;
		i->fs2_src = c->fs2c_src; /* fs's own part */
		t = i->fsu;
		i->fsu = c->fs2cu;
		c->fs2cu = t;
	} else if (i->fac2) {
		lset_free(&i->fsu); /* fs's atom's own, without exceptions */
	}
	/* parts are numbered as they come: fs2 from another part than fs
	 * lies after or before it, as that part does */
	if (i->fac2 && i->fs2_src != i->fs_src) {
		i->f2ord = i->fs2_src > i->fs_src ? ORD_AFTER : ORD_BEFORE;
		i->f2span = lparts_span(parts, i->fs_src, i->fs2_src);
	}
	if (third && i->fac && i->fac2 && c->fac2b &&
	    c->fs2b_src != i->fs_src && c->fs2b_src != i->fs2_src) {
		lset_free(third);
		*third = lset_take(&c->fs2b);
		*tord = c->fs2b_src > i->fs_src ? ORD_AFTER : ORD_BEFORE;
		*tspan = lparts_span(parts, i->fs_src, c->fs2b_src);
	}
	lsec_free(c);
}

/* One exact string s[0..n) that a match of maxv characters makes. */
static int linfo_exact1(lparse *l, linfo *i, const char *s, size_t n,
			size_t maxv)
{
	linfo_zero(i);
	i->exact = 1;
	i->maxv = maxv;
	i->maxl = n;
	i->min1 = maxv > 0;
	/* letters end where this part does; "" has none to end (what it
	 * consumes: en, set by the callers that know) */
	i->exend = n ? END_INHERIT : END_YES;
	i->en = n > 0 || !maxv;
	if (lset_add(&i->ex, s, n) < 0) {
		l->nomem = 1;
		return -1;
	}
	return 0;
}

/* ---- characters --------------------------------------------------- */

/* Whether a character is one \w matches (ASCII: no UCP). */
static int lit_wordch(long ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '_';
}

/* The letter a code point of a rule stands for in the stream, or 0 when
 * it stands for nothing there (the rule sees folded text: upper case in
 * a caseless rule is the lower-case letter). */
static char lit_char(long c)
{
	if (c >= 'A' && c <= 'Z')
		c += 'a' - 'A';
	return c >= 0 && c < 0x80 ? (char)ip_stream_ascii[c] : 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* \xhh or \x{h...} after the x; -1 when malformed. */
static long lit_hex(lparse *l)
{
	long v = 0;
	int d, k;

	if (*l->p == '{') {
		for (l->p++, k = 0; (d = hexval(*l->p)) >= 0; l->p++, k++)
			if ((v = v * 16 + d) > 0x10FFFF)
				return -1;
		if (*l->p != '}' || !k)
			return -1;
		l->p++;
		return v;
	}
	for (k = 0; k < 2 && (d = hexval(*l->p)) >= 0; k++, l->p++)
		v = v * 16 + d;
	return v;
}

/* One UTF-8 character of the pattern. */
static long lit_utf8(lparse *l)
{
	const unsigned char *p = (const unsigned char *)l->p;
	long c = p[0];
	int n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4, k;

	if (n > 1)
		c &= 0x3F >> (n - 1);
	for (k = 1; k < n; k++) {
		if ((p[k] & 0xC0) != 0x80)
			return -1;
		c = (c << 6) | (p[k] & 0x3F);
	}
	l->p += n;
	return c;
}

/* What a one-character set produces: each letter it holds, and nothing
 * (the empty string) when it holds a character that is not a letter. */
typedef struct lclass {
	uint32_t letters; /* bit k: 'a' + k */
	int empty;        /* a member stands for nothing */
	int any;          /* too many to list */
	int other;        /* a member is not an ASCII letter */
	int word;         /* a member is an ASCII letter, digit or _ */
	int nonascii;     /* a member is not ASCII (may be a letter) */
} lclass;

static void lclass_char(lclass *c, long ch)
{
	char s = lit_char(ch);

	if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')))
		c->other = 1;
	if (lit_wordch(ch))
		c->word = 1;
	if (ch >= 0x80)
		c->nonascii = 1;
	if (s)
		c->letters |= 1u << (s - 'a');
	else
		c->empty = 1;
}

static void lclass_range(lclass *c, long a, long b)
{
	long ch;

	if (b - a > 256) {
		c->any = 1;
		return;
	}
	for (ch = a; ch <= b; ch++)
		lclass_char(c, ch);
	/* caseless: [A-Z] also holds a-z, [a-z] A-Z (same letters) */
}

static int lclass_info(lparse *l, const lclass *c, linfo *out)
{
	char s[2] = { 0, 0 };
	int k, n = 0;

	linfo_zero(out);
	out->maxv = 1;
	out->maxl = c->letters || c->any || c->nonascii;
	out->min1 = 1;
	out->lstart = c->letters && !c->other && !c->any;
	out->nw = !c->word && !c->any;
	for (k = 0; k < 26; k++)
		n += (c->letters >> k) & 1;
	if (c->any || n > LIT_CLASS_MAX)
		return 0; /* unknown */
	out->exact = 1;
	out->exend = END_INHERIT;
	out->en = !c->empty || out->nw;
	for (k = 0; k < 26; k++) {
		if (!((c->letters >> k) & 1))
			continue;
		s[0] = (char)('a' + k);
		if (lset_add(&out->ex, s, 1) < 0)
			goto nomem;
	}
	if (c->empty && lset_add(&out->ex, "", 0) < 0)
		goto nomem;
	return 0;
nomem:
	l->nomem = 1;
	return -1;
}

/* The escapes that stand for a class: 1 when `e` is one (and *c got
 * its members), 0 when not. */
static int lclass_escape(char e, lclass *c)
{
	switch (e) {
	case 's': case 'h': case 'v': case 'R':
		c->empty = 1; /* white space: nothing in the stream */
		c->other = 1;
		return 1;
	case 'd':         /* digits: leet letters and nothing */
	case 'w': case 'S': case 'W': case 'D': case 'H': case 'V':
	case 'N':
		c->any = 1;
		c->other = 1;
		return 1;
	default:
		return 0;
	}
}

/* One escaped character (after the backslash) as a code point, or -1
 * when it is not a plain character. */
static long lit_escaped(lparse *l)
{
	char e = *l->p;

	switch (e) {
	case 'n': l->p++; return '\n';
	case 't': l->p++; return '\t';
	case 'r': l->p++; return '\r';
	case 'f': l->p++; return '\f';
	case 'e': l->p++; return 0x1B;
	case 'a': l->p++; return 0x07;
	case 'x': l->p++; return lit_hex(l);
	default:
		if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') ||
		    (e >= '0' && e <= '9') || !e)
			return -1;
		return lit_utf8(l); /* an escaped punctuation character */
	}
}

/* [...] after the bracket. */
static int lit_class(lparse *l, linfo *out)
{
	lclass c = { 0, 0, 0, 0, 0, 0 };
	int neg = 0, first = 1;
	long prev = -1;

	if (*l->p == '^') {
		neg = 1;
		l->p++;
	}
	for (;; first = 0) {
		long ch;

		if (!*l->p) {
			l->bad = 1;
			return 0;
		}
		if (*l->p == ']' && !first) {
			l->p++;
			break;
		}
		if (l->p[0] == '[' && l->p[1] == ':') {
			const char *e = strstr(l->p + 2, ":]");

			if (!e) {
				l->bad = 1;
				return 0;
			}
			l->p = e + 2;
			c.any = 1;
			prev = -1;
			continue;
		}
		if (*l->p == '\\') {
			l->p++;
			if (lclass_escape(*l->p, &c)) {
				l->p++;
				prev = -1;
				continue;
			}
			if (*l->p == 'b') { /* backspace in a class */
				l->p++;
				ch = 0x08;
			} else if ((ch = lit_escaped(l)) < 0) {
				l->bad = 1;
				return 0;
			}
		} else if (*l->p == '-' && prev >= 0 && l->p[1] != ']') {
			long hi;

			l->p++;
			if (*l->p == '\\') {
				l->p++;
				hi = lit_escaped(l);
			} else {
				hi = lit_utf8(l);
			}
			if (hi < prev) {
				l->bad = 1;
				return 0;
			}
			lclass_range(&c, prev, hi);
			prev = -1;
			continue;
		} else if ((ch = lit_utf8(l)) < 0) {
			l->bad = 1;
			return 0;
		}
		lclass_char(&c, ch);
		prev = ch;
	}
	if (neg) {
		linfo_zero(out);
		out->maxv = out->maxl = 1;
		out->min1 = 1;
		return 0;
	}
	return lclass_info(l, &c, out);
}

/* ---- the parser --------------------------------------------------- */

static int lit_alt(lparse *l, linfo *out);

/* Whether a negative lookbehind's body, at p, is "[^S])" with S only
 * non-word ASCII characters ("(?<![^\n])", "(?<![^\n.!?;])"): then the
 * character before is one of S or there is none, a non-word one either
 * way. */
static int lit_nonword_behind(const char *p)
{
	if (p[0] != '[' || p[1] != '^' || p[2] == ']')
		return 0;
	for (p += 2; *p != ']'; p++) {
		if (*p == '\\') {
			p++;
			if (!*p || (lit_wordch((unsigned char)*p) &&
				    !strchr("nrtfvs", *p)) ||
			    (unsigned char)*p >= 0x80)
				return 0;
		} else if (!*p || lit_wordch((unsigned char)*p) ||
			   (unsigned char)*p >= 0x80 || *p == '-' ||
			   *p == '[') {
			return 0;
		}
	}
	return p[1] == ')';
}

/* (...) after the parenthesis. */
static int lit_group(lparse *l, linfo *out)
{
	int look = 0, behind = 0, rc;

	linfo_zero(out);
	if (*l->p == '*') { /* (*VERB): refused elsewhere; not ours */
		l->bad = 1;
		return 0;
	}
	if (*l->p == '?') {
		const char *p = ++l->p;

		if (*p == ':' || *p == '>' || *p == '|') {
			l->p++;
		} else if (*p == '=' || *p == '!') {
			l->p++;
			look = 1;
		} else if (*p == '<' && (p[1] == '=' || p[1] == '!')) {
			l->p += 2;
			look = 1;
			/* 1: the character before is a non-word one; 2: so if
			 * every character the body consumes is one */
			behind = p[1] == '!' ? lit_nonword_behind(l->p) : 2;
		} else if (*p == '#') {
			const char *e = strchr(p, ')');

			if (!e) {
				l->bad = 1;
				return 0;
			}
			l->p = e + 1;
			return linfo_exact1(l, out, "", 0, 0);
		} else {
			/* option letters: (?i) (?-i) (?i:...) */
			while (*l->p && strchr("imnsJU-", *l->p))
				l->p++;
			if (*l->p == ')') {
				l->p++;
				return linfo_exact1(l, out, "", 0, 0);
			}
			if (*l->p != ':') { /* (?x), conditions, names */
				l->bad = 1;
				return 0;
			}
			l->p++;
		}
	}
	if (++l->depth > LIT_DEPTH) {
		l->bad = 1;
		return 0;
	}
	rc = lit_alt(l, out);
	l->depth--;
	if (rc < 0)
		return rc;
	if (*l->p != ')') {
		l->bad = 1;
		return 0;
	}
	l->p++;
	if (look) { /* an assertion consumes nothing */
		int wb = behind == 1 ||
			 (behind == 2 && out->nw && out->min1);

		linfo_free(out);
		rc = linfo_exact1(l, out, "", 0, 0);
		out->wb = wb; /* as a \b: a word starts after it, or none */
		return rc;
	}
	return 0;
}

/* \... outside a class, after the backslash. */
static int lit_escape_atom(lparse *l, linfo *out)
{
	lclass c = { 0, 0, 0, 0, 0, 0 };
	char e = *l->p, s;
	long ch;
	int rc;

	linfo_zero(out);
	if (strchr("bBAzZG", e) && e) {
		l->p++;
		rc = linfo_exact1(l, out, "", 0, 0);
		out->wb = e == 'b';
		return rc;
	}
	if (lclass_escape(e, &c)) {
		l->p++;
		rc = lclass_info(l, &c, out);
		out->ws = e == 's' || e == 'h' || e == 'v' || e == 'R';
		return rc;
	}
	if (e == 'p' || e == 'P') {
		l->p++;
		if (*l->p == '{') {
			const char *end = strchr(l->p, '}');

			if (!end) {
				l->bad = 1;
				return 0;
			}
			l->p = end + 1;
		} else if (*l->p) {
			l->p++;
		}
		out->maxv = out->maxl = 1;
		out->min1 = 1;
		return 0; /* unknown */
	}
	if ((ch = lit_escaped(l)) < 0) {
		l->bad = 1; /* \K, \Q handled by the caller, \1, \g ... */
		return 0;
	}
	s = lit_char(ch);
	if ((rc = linfo_exact1(l, out, &s, s ? 1 : 0, 1)) == 0) {
		out->maxl = s || ch >= 0x80;
		out->ws = ch == ' ' || ch == '\t' || ch == '\n' ||
			  ch == '\r' || ch == '\f';
		out->lstart = (ch >= 'a' && ch <= 'z') ||
			      (ch >= 'A' && ch <= 'Z');
		out->nw = !lit_wordch(ch);
		out->en = out->en || out->nw;
	}
	return rc;
}

/* A quantifier, if one follows: 1 with min and max (-1: unbounded). */
static int lit_quant(lparse *l, long *min, long *max)
{
	const char *p = l->p;
	char *end;

	switch (*p) {
	case '?': *min = 0; *max = 1; p++; break;
	case '*': *min = 0; *max = -1; p++; break;
	case '+': *min = 1; *max = -1; p++; break;
	case '{':
		if (p[1] < '0' || p[1] > '9')
			return 0; /* a literal brace */
		*min = strtol(p + 1, &end, 10);
		if (*end == '}') {
			*max = *min;
		} else if (*end == ',' && end[1] == '}') {
			*max = -1;
			end++;
		} else if (*end == ',' && end[1] >= '0' && end[1] <= '9') {
			*max = strtol(end + 1, &end, 10);
		} else {
			return 0;
		}
		if (*end != '}' || *min > 65535 || *max > 65535)
			return 0;
		p = end + 1;
		break;
	default:
		return 0;
	}
	if (*p == '?' || *p == '+') /* lazy, possessive: same strings */
		p++;
	l->p = p;
	return 1;
}

/* atom{min,max} */
static int lit_repeat(lparse *l, linfo *a, long min, long max)
{
	linfo r;
	size_t pre = 0;
	long k;

	linfo_zero(&r);
	r.ws = a->ws;
	r.min1 = min >= 1 && a->min1;
	r.lstart = min >= 1 && a->lstart;
	r.nw = a->nw;
	r.nwe = a->nw || a->nwe;
	r.wbe = min >= 1 && a->wbe;
	/* a view has no two white-space characters in a row */
	if (a->ws)
		r.maxv = a->maxv ? 1 : 0;
	else if (max < 0)
		r.maxv = a->maxv ? LIT_INF : 0;
	else
		for (k = 0; k < max; k++)
			r.maxv = lit_add(r.maxv, a->maxv);
	if (!a->maxl)
		r.maxl = 0;
	else if (max < 0)
		r.maxl = LIT_INF;
	else
		for (k = 0; k < max; k++)
			r.maxl = lit_add(r.maxl, a->maxl);
	if (a->exact && a->ex.n == 1 && !a->ex.v[0][0]) {
		size_t maxv = r.maxv;
		int en = a->en;

		linfo_free(a); /* nothing repeated is nothing */
		if (linfo_exact1(l, a, "", 0, maxv) < 0)
			return -1;
		a->en = en;
		a->ws = r.ws;
		a->min1 = r.min1 && maxv > 0;
		a->nw = r.nw;
		a->nwe = r.nwe;
		a->wbe = r.wbe;
		return 0;
	}
	/* small bounded repeats of an exact set stay exact */
	if (a->exact && max >= 0 && max <= 3) {
		lset acc = LSET_INIT, next;
		int rc = 0;

		r.exact = 1;
		r.lead = a->lead;
		r.exkw = a->exkw;
		r.exend = a->exend; /* the last copy's letters end it */
		r.en = a->en;
		if (lset_add(&acc, "", 0) < 0)
			rc = -1;
		for (k = 0; k <= max && rc == 0; k++) {
			if (k >= min)
				rc = lset_copy(&r.ex, &acc) < 0 ? -1 : 0;
			if (k == max || rc)
				break;
			memset(&next, 0, sizeof next);
			rc = lset_product(&next, &acc, &a->ex);
			lset_free(&acc);
			acc = next;
		}
		lset_free(&acc);
		if (rc < 0) {
			linfo_free(&r);
			l->nomem = 1;
			return -1;
		}
		lset_dedupe(&r.ex);
		if (rc > 0 || r.ex.n > LIT_CAP) {
			lset_free(&r.ex);
			r.exact = 0;
		}
	}
	/* at least once: whatever one copy must contain, the whole does,
	 * as far into it as into the first copy */
	if (min >= 1) {
		int kw = KW_NO;
		lset *best = linfo_best(a, &pre, &kw);
		lsec sec;

		lit_clear(&sec, sizeof sec);
		r.sec = &sec;
		linfo_offer_atom(&r, a, best, pre, kw, 0);
		linfo_seq_done(&r, NULL, NULL, NULL, NULL);
	}
	linfo_free(a);
	*a = r;
	return 0;
}

/* The product being built in a sequence: strings, how far into it its
 * first letter can be, and how long it can be. */
typedef struct lprod {
	lset cur;
	size_t lead, maxv;
	int end;       /* whether its strings end a word (END_*, linfo) */
	int fixed;     /* an atom that always gives a letter came */
	int kw;        /* then: whether the product starts a word (KW_*) */
} lprod;

static int lprod_reset(lprod *p)
{
	lset_free(&p->cur);
	p->lead = p->maxv = 0;
	p->fixed = 0;
	p->kw = KW_NO;
	p->end = END_YES; /* "" has no letters to end */
	return lset_add(&p->cur, "", 0);
}

/* Where the product's strings end, after atom a: a's letters end them
 * as a's do (a production of "" leaves the last end, spoilt where it may
 * consume a word character); an atom without letters settles an end
 * still open (END_INHERIT) when it always puts a non-word character (or
 * a \b) after it, spoils it when it may put a word character. */
static int lprod_end(int end, const linfo *a)
{
	int empty = a->en ? end : END_NO;

	if (a->ex.n != 1 || a->ex.v[0][0]) /* letters */
		return lit_end_min(a->exend,
				   lset_has_empty(&a->ex) ? empty : END_YES);
	if (end != END_INHERIT)
		return end;
	if (!a->maxv)
		return a->wb ? END_YES : END_INHERIT;
	if (a->nw && a->min1)
		return END_YES;
	return a->en ? END_INHERIT : END_NO;
}

/* An end still open when something that is not part of the product
 * follows: settled by that atom as lprod_end would (END_NO for one with
 * letters). */
static int lprod_end_by(int end, const linfo *a)
{
	if (end != END_INHERIT)
		return end;
	if (a->ex.n != 1 || a->ex.v[0][0] || !a->exact)
		return a->nw && a->min1 && !a->exact ? END_YES : END_NO;
	return lprod_end(end, a) == END_YES ? END_YES : END_NO;
}

/* Appends atom a's exact set, a word start state `st` (KW_*) before
 * it; 1 when the product would be too large (nothing changed), -1 out of
 * memory. */
static int lprod_append(lprod *p, const linfo *a, int st)
{
	lset next = LSET_INIT;
	int rc;

	/* most atoms between words (\s+, \b, punctuation) give only "":
	 * the product stays as it is (copying it was a fifth of reading
	 * the rules) */
	if (a->ex.n != 1 || a->ex.v[0][0]) {
		if ((rc = lset_product(&next, &p->cur, &a->ex)) != 0) {
			lset_free(&next);
			return rc;
		}
		lset_free(&p->cur);
		p->cur = next;
	}
	p->end = lprod_end(p->end, a);
	if (!p->fixed) {
		if (lset_has_empty(&a->ex)) {
			p->lead = lit_add(p->lead, a->maxv);
		} else {
			/* st already says what came before this atom, unless
			 * the atom itself knows ("(?:\byou|\bu)") */
			int k = linfo_exkw(a);

			p->kw = k == KW_INHERIT ? st : k;
			p->lead = lit_add(p->lead, a->lead);
			p->fixed = 1;
		}
	}
	p->maxv = lit_add(p->maxv, a->maxv);
	return 0;
}

static int lit_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* How many ASCII letters at p can be read as one atom: a run of them,
 * less a last one that a quantifier applies to.  Loading the shipped
 * rules made one string set per letter before (most of the load time). */
static size_t lit_letters(const char *p)
{
	size_t n = 0;

	while (lit_alpha(p[n]) && n < LIT_MAXLEN)
		n++;
	if (n && (p[n] == '?' || p[n] == '*' || p[n] == '+' ||
		  (p[n] == '{' && p[n + 1] >= '0' && p[n + 1] <= '9')))
		n--;
	return n;
}

/* One atom of a sequence; 0 with *a set, or -1; l->bad on unknown
 * syntax.  \Q...\E gives its first character only. */
static int lit_atom(lparse *l, linfo *a, int *in_q)
{
	int rc = 0;

	/* *a is cleared by whatever fills it (linfo_exact1, lit_group,
	 * lit_escape_atom) or here: this runs for every atom of every rule,
	 * and clearing it twice was a tenth of reading the rule set */
	if (*in_q) {
		long ch = lit_utf8(l);
		char s = ch < 0 ? 0 : lit_char(ch);

		if (ch < 0) {
			linfo_zero(a);
			l->bad = 1;
			return 0;
		}
		if (l->p[0] == '\\' && l->p[1] == 'E') {
			l->p += 2;
			*in_q = 0;
		}
		if ((rc = linfo_exact1(l, a, &s, s ? 1 : 0, 1)) == 0) {
			a->maxl = s || ch >= 0x80;
			a->lstart = (ch >= 'a' && ch <= 'z') ||
				    (ch >= 'A' && ch <= 'Z');
			a->nw = !lit_wordch(ch);
			a->en = a->en || a->nw;
		}
		return rc;
	}
	switch (*l->p) {
	case '(':
		l->p++;
		rc = lit_group(l, a);
		break;
	case '[':
		l->p++;
		linfo_zero(a);
		rc = lit_class(l, a);
		break;
	case '\\':
		l->p++;
		rc = lit_escape_atom(l, a);
		break;
	case '^': case '$':
		/* ^ (multiline): after a line break or at the start */
		l->p++;
		rc = linfo_exact1(l, a, "", 0, 0);
		a->wb = l->p[-1] == '^';
		break;
	case '.':
		l->p++;
		linfo_zero(a);
		a->maxv = a->maxl = 1;
		a->min1 = 1;
		break; /* unknown */
	case '*': case '+': case '?':
		linfo_zero(a);
		l->bad = 1; /* a quantifier with nothing before it */
		break;
	default: {
		long ch;
		char s;
		size_t n = lit_letters(l->p);

		if (n > 1) { /* a word: one atom, not one per letter */
			char w[LIT_MAXLEN];
			size_t k;

			for (k = 0; k < n && k < sizeof w; k++)
				w[k] = lit_char(l->p[k]);
			l->p += n;
			rc = linfo_exact1(l, a, w, k, n);
			a->lstart = 1;
			return rc;
		}
		ch = lit_utf8(l);
		s = ch < 0 ? 0 : lit_char(ch);

		if (ch < 0) {
			linfo_zero(a);
			l->bad = 1;
		} else {
			rc = linfo_exact1(l, a, &s, s ? 1 : 0, 1);
		}
		if (rc == 0 && !l->bad) {
			a->maxl = s || ch >= 0x80;
			a->ws = ch == ' ';
			a->lstart = (ch >= 'a' && ch <= 'z') ||
				    (ch >= 'A' && ch <= 'Z');
			a->nw = !lit_wordch(ch);
			a->en = a->en || a->nw;
		}
	}
	}
	return rc;
}

/* A sequence, up to | or ) or the end. */
static int lit_seq(lparse *l, linfo *out)
{
	lprod p = { LSET_INIT, 0, 0, END_YES, 0, KW_NO };
	size_t before = 0, pre = 0; /* atoms before the product */
	size_t maxl = 0, plo = 0, m0; /* letters before the product, atom */
	int psrc = ++l->nsrc; /* the product's part, for linfo.fs_src */
	lparts parts;
	int exact = 1, in_q = 0, ws = 1, first = 1, nw = 1, nwe = 0, en = 1;
	int st = KW_INHERIT; /* a \b right before here? (see linfo) */
	lsec sec;

	lit_clear(&sec, sizeof sec);
	linfo_zero(out);
	out->sec = &sec;
	parts.n = 0;
	if (lprod_reset(&p) < 0)
		goto nomem;
	while (*l->p && (in_q || (*l->p != '|' && *l->p != ')')) &&
	       !l->bad) {
		linfo a;
		long min, max;
		int rc, kw = KW_NO;

		if (!in_q && l->p[0] == '\\' && l->p[1] == 'Q') {
			l->p += 2;
			in_q = l->p[0] != '\\' || l->p[1] != 'E';
			if (!in_q)
				l->p += 2;
			continue;
		}
		if (!in_q && l->p[0] == '\\' && l->p[1] == 'E') {
			l->p += 2; /* a stray \E is ignored */
			continue;
		}
		if (lit_atom(l, &a, &in_q) < 0 || l->nomem) {
			linfo_free(&a);
			goto nomem;
		}
		if (l->bad) {
			linfo_free(&a);
			break;
		}
		if (!in_q && lit_quant(l, &min, &max) &&
		    lit_repeat(l, &a, min, max) < 0) {
			linfo_free(&a);
			goto nomem;
		}
		m0 = maxl;
		maxl = lit_add(maxl, a.maxl);
		ws = ws && a.ws;
		en = en && a.en;
		nw = nw && (a.nw || !a.maxv);
		out->min1 = out->min1 || a.min1;
		if (first && a.maxv) { /* the first atom that consumes */
			out->lstart = a.min1 && a.lstart;
			first = 0;
		}
		if (a.exact && (rc = lprod_append(&p, &a, st)) <= 0) {
			if (rc < 0) {
				linfo_free(&a);
				goto nomem;
			}
		} else if (a.exact) {
			/* too many: what we have is a factor set, and the
			 * product starts again at this atom */
			size_t done = p.maxv;

			lparts_add(&parts, psrc, plo, m0);
			linfo_offer(out, &p.cur, lit_add(before, p.lead),
				    p.fixed ? p.kw : KW_NO,
				    lprod_end_by(p.end, &a), psrc, NULL);
			if (lprod_reset(&p) < 0 ||
			    lprod_append(&p, &a, st) < 0) {
				linfo_free(&a);
				goto nomem;
			}
			before = lit_add(before, done);
			psrc = ++l->nsrc;
			plo = m0;
			exact = 0;
		} else {
			lset *best = linfo_best(&a, &pre, &kw);

			exact = 0;
			if (a.f2kw == KW_INHERIT) /* as for the first set */
				a.f2kw = st;
			lparts_add(&parts, psrc, plo, m0);
			linfo_offer(out, &p.cur, lit_add(before, p.lead),
				    p.fixed ? p.kw : KW_NO,
				    lprod_end_by(p.end, &a), psrc, NULL);
			lparts_add(&parts, ++l->nsrc, m0, maxl);
			linfo_offer_atom(out, &a, best,
					 lit_add(lit_add(before, p.maxv), pre),
					 kw == KW_INHERIT ? st : kw, l->nsrc);
			before = lit_add(lit_add(before, p.maxv), a.maxv);
			psrc = ++l->nsrc;
			plo = maxl;
			if (lprod_reset(&p) < 0) {
				linfo_free(&a);
				goto nomem;
			}
		}
		/* what comes before the next atom: a non-word character
		 * after \b (or a lookbehind that says so), or after an atom
		 * that always consumes something and ends with such a
		 * character; an optional one leaves the claim as it was */
		a.nwe = a.nwe || a.nw;
		if (a.wb || a.wbe || (a.nwe && a.min1))
			st = KW_YES;
		else if (a.maxv && !a.nwe)
			st = KW_NO;
		if (a.nwe && a.min1)
			nwe = 1;
		else if (a.maxv && !a.nwe)
			nwe = 0;
		linfo_free(&a);
	}
	out->ws = ws;
	out->nw = nw;
	out->nwe = nwe;
	out->wbe = st == KW_YES;
	out->maxl = maxl;
	if (exact) {
		out->sec = NULL; /* nothing was offered */
		out->exact = 1;
		out->exend = p.end;
		out->en = en;
		out->ex = p.cur;
		out->lead = p.lead;
		out->maxv = p.maxv;
		out->exkw = (p.fixed ? p.kw : KW_NO) + 1;
		return 0;
	}
	out->maxv = lit_add(before, p.maxv);
	lparts_add(&parts, psrc, plo, maxl);
	linfo_offer(out, &p.cur, lit_add(before, p.lead),
		    p.fixed ? p.kw : KW_NO, p.end, psrc, NULL);
	linfo_seq_done(out, l->depth ? NULL : &l->third, &l->third_ord,
		       &l->third_span, &parts);
	lset_free(&p.cur);
	return 0;
nomem:
	lset_free(&p.cur);
	lsec_free(&sec);
	out->sec = NULL;
	linfo_free(out);
	l->nomem = 1;
	return -1;
}

/* Alternatives, up to ) or the end. */
static int lit_alt(lparse *l, linfo *out)
{
	lset fs = LSET_INIT, fs2 = LSET_INIT, fsu = LSET_INIT;
	size_t fpre = 0, *ur = NULL, nur = 0, urcap = 0, k; /* see below */
	int exact = 1, fac = 1, ws = 1, fkw = KW_YES, xkw = KW_YES;
	int nb = 0, npaired = 0, paired = 0, f2kw = KW_YES, f2ord = ORD_ANY;
	size_t f2span = 0; /* the most of the paired branches' */
	int f2unk = 0;     /* ... or one of them is not known */
	int xend = END_YES, fend = END_YES; /* the worst branch's */

	linfo_zero(out);
	out->min1 = out->lstart = out->nw = out->nwe = out->wbe = 1;
	out->en = 1;
	for (;;) {
		linfo b;
		const lset *best;
		size_t pre = 0;
		int kw = KW_NO;

		if (lit_seq(l, &b) < 0)
			goto nomem;
		if (l->bad) {
			linfo_free(&b);
			break;
		}
		ws = ws && b.ws;
		out->min1 = out->min1 && b.min1;
		out->lstart = out->lstart && b.lstart;
		out->nw = out->nw && b.nw;
		out->nwe = out->nwe && (b.nwe || !b.maxv);
		out->wbe = out->wbe && b.wbe;
		out->en = out->en && b.en;
		nb++;
		if (b.maxv > out->maxv)
			out->maxv = b.maxv;
		if (b.maxl > out->maxl)
			out->maxl = b.maxl;
		if (!b.exact)
			exact = 0;
		best = linfo_best(&b, &pre, &kw);
		if (!best)
			fac = 0;
		xend = lit_end_min(xend, b.exend);
		if (best == &b.fs)
			fend = lit_end_min(fend, b.fend);
		else if (best) /* as a factor set: an end left open is no end */
			fend = b.exend == END_YES ? fend : END_NO;
		/* a branch with a second set of its own (apart from its
		 * first) brings it and its strings without one; a branch
		 * without brings all its strings as such: where they will
		 * lie in fs is noted (most alternatives have no branch with
		 * a second set, and then need no copies) */
		paired = fac && b.fac2 && best == &b.fs;
		if (paired && (lset_copy(&fs2, &b.fs2) < 0 ||
			       lset_copy(&fsu, &b.fsu) < 0)) {
			linfo_free(&b);
			goto nomem;
		}
		if (paired) /* one order for all, or none */
			f2ord = !npaired || b.f2ord == f2ord ? b.f2ord
							      : ORD_ANY;
		if (paired && !b.f2span)
			f2unk = 1;
		else if (paired && b.f2span > f2span)
			f2span = b.f2span;
		npaired += paired;
		if (paired && (b.f2kw == KW_NO || f2kw == KW_NO))
			f2kw = KW_NO;
		else if (paired && b.f2kw == KW_INHERIT)
			f2kw = KW_INHERIT;
		if (kw == KW_NO || fkw == KW_NO)
			fkw = KW_NO;
		else if (kw == KW_INHERIT)
			fkw = KW_INHERIT;
		if (exact) {
			int bk = linfo_exkw(&b);

			if (bk == KW_NO || xkw == KW_NO)
				xkw = KW_NO;
			else if (bk == KW_INHERIT)
				xkw = KW_INHERIT;
			/* the strings move; copied when the key set needs
			 * them too */
			if ((fac && best == &b.ex
			     ? lset_copy(&out->ex, &b.ex)
			     : lset_move(&out->ex, &b.ex)) < 0) {
				linfo_free(&b);
				goto nomem;
			}
			if (b.lead > out->lead)
				out->lead = b.lead;
		}
		if (fac && !paired) {
			if (nur && ur[2 * nur - 1] == fs.n) {
				ur[2 * nur - 1] += best->n;
			} else {
				size_t *nu = ip_grow(ur, &urcap, nur + 1,
						     2 * sizeof *ur, 4);

				if (!nu) {
					linfo_free(&b);
					goto nomem;
				}
				ur = nu;
				ur[2 * nur] = fs.n;
				ur[2 * nur++ + 1] = fs.n + best->n;
			}
		}
		if (fac && lset_move(&fs, best == &b.ex ? &b.ex : &b.fs) < 0) {
			linfo_free(&b);
			goto nomem;
		}
		if (fac && pre > fpre)
			fpre = pre;
		linfo_free(&b);
		if (*l->p != '|')
			break;
		l->p++;
	}
	out->ws = ws;
	if (!l->depth)
		l->top_alts = nb;
	if (!nb)
		out->min1 = out->lstart = out->nwe = out->wbe = 0;
	for (k = 0; fac && npaired && k < nur; k++) { /* before fs sorts */
		size_t j;

		for (j = ur[2 * k]; j < ur[2 * k + 1]; j++)
			if (lset_add(&fsu, fs.v[j], lit_len(fs.v[j])) < 0)
				goto nomem;
	}
	gs_free(ur);
	ur = NULL;
	lset_dedupe(&out->ex);
	lset_dedupe(&fs);
	out->exact = exact && !l->bad && out->ex.n <= LIT_CAP;
	out->exkw = xkw + 1;
	out->exend = xend;
	if (!out->exact)
		lset_free(&out->ex);
	if (fac && !l->bad && fs.n <= LIT_UNION_CAP) {
		out->fs = fs;
		out->fac = 1;
		out->fpre = fpre;
		out->fkw = fkw;
		out->fend = fend;
		out->fcost = lset_cost(&fs, fpre);
	} else {
		lset_free(&fs);
	}
	if (fac && npaired && !l->bad && fs2.n <= LIT_UNION_CAP) {
		out->fs2 = fs2;
		out->fsu = fsu;
		out->fac2 = 1;
		out->f2score = lset_score(&fs2);
		out->f2kw = f2kw;
		out->f2ord = f2ord;
		out->f2span = f2unk ? 0 : f2span;
	} else {
		lset_free(&fs2);
		lset_free(&fsu);
	}
	return 0;
nomem:
	gs_free(ur);
	lset_free(&fs);
	lset_free(&fs2);
	lset_free(&fsu);
	linfo_free(out);
	l->nomem = 1;
	return -1;
}

/* Adds a copy of str to a list of key words. */
static int lit_words_add(char ***v, size_t *n, const char *str)
{
	char **nv = *v, *c = gs_strndup(str, strlen(str));

	if (!c)
		return GS_ENOMEM;
	/* room for 4, then doubled when full (at 4, 8, 16, ...): a
	 * realloc per word was a twentieth of reading the rules */
	if ((!*n || (*n >= 4 && !(*n & (*n - 1)))) &&
	    !(nv = gs_realloc(*v, (*n ? 2 * *n : 4) * sizeof *nv))) {
		gs_free(c);
		return GS_ENOMEM;
	}
	*v = nv;
	nv[(*n)++] = c;
	return GS_OK;
}

/* A set's strings sorted, without repeats: an array of pointers into
 * the set (free it with gs_free), *n of them; NULL when out of memory
 * (or the set is empty: check *n). */
static char **lit_sorted(const lset *set, size_t *n)
{
	lset t = LSET_INIT; /* borrows set's strings: no copies */
	char **v;

	*n = 0;
	if (!set->n || !(v = gs_alloc(set->n * sizeof *v)))
		return NULL;
	memcpy(v, set->v, set->n * sizeof *v);
	t.v = v;
	t.n = set->n;
	lset_uniq(&t);
	*n = t.n;
	return v;
}

/* Copies sorted strings s[0..ns) into a list of key words, less those
 * that start with another: where such a string occurs, the shorter one
 * does too, as early (one that only contains another would move where a
 * key starts).  In sorted order such a string follows the last one
 * kept. */
static int lit_words(char **s, size_t ns, char ***v, size_t *n)
{
	const char *kept = NULL;
	size_t k;
	int rc = GS_OK;

	for (k = 0; k < ns && rc == GS_OK; k++) {
		if (kept && !strncmp(s[k], kept, strlen(kept)))
			continue;
		kept = s[k];
		rc = lit_words_add(v, n, kept);
	}
	return rc;
}

static int lit_bsearch_cmp(const void *k, const void *e)
{
	return strcmp((const char *)k, *(char *const *)e);
}

/* Which key words (out->v, kept by lit_words from the sorted s[0..ns))
 * must be taken without a second key word: those that stand for a
 * string of fsu.  A string dropped for starting with a kept one is found
 * as that one. */
static int lit_unpaired(char **s, size_t ns, lset *fsu, ip_lits *out)
{
	size_t k, kept = 0;
	int rc = GS_OK;

	if (!fsu->n)
		return GS_OK;
	lset_uniq(fsu); /* unions of alternatives are sorted only here */
	for (k = 0; k < ns && rc == GS_OK; k++) {
		while (kept + 1 < out->n && strcmp(out->v[kept + 1], s[k]) <= 0)
			kept++;
		if (bsearch(s[k], fsu->v, fsu->n, sizeof *fsu->v,
			    lit_bsearch_cmp) &&
		    (!out->nu || strcmp(out->vu[out->nu - 1], out->v[kept])))
			rc = lit_words_add(&out->vu, &out->nu, out->v[kept]);
	}
	return rc;
}

static int lit_same(char **a, size_t na, char **b, size_t nb)
{
	size_t k;

	if (na != nb)
		return 0;
	for (k = 0; k < na; k++) /* both sorted */
		if (strcmp(a[k], b[k]))
			return 0;
	return 1;
}

/* Reads a pattern: 1 with *top and *best (in top; pre, kw as for
 * linfo_best), 0 when it gives no key words, or GS_ENOMEM. */
static int lit_read(lparse *l, linfo *top, const lset **best, size_t *pre,
		    int *kw)
{
	int rc = lit_alt(l, top);

	if (rc < 0 || l->nomem) {
		linfo_free(top);
		return GS_ENOMEM;
	}
	if (l->bad || *l->p || /* an unmatched ) or unknown syntax */
	    !(*best = linfo_best(top, pre, kw))) {
		linfo_free(top);
		return 0;
	}
	return 1;
}

static int lit_extract(const char *pattern, ip_lits *out)
{
	lparse l;
	const lset *best, *third;
	linfo top;
	char **sorted;
	size_t pre = 0, ns = 0, n2 = 0, n3 = 0, k;
	int rc, kw = KW_NO;

	memset(out, 0, sizeof *out);
	memset(&l, 0, sizeof l);
	l.p = pattern;
	out->pre = out->span = out->letters = IP_PRE_UNKNOWN;
	rc = lit_read(&l, &top, &best, &pre, &kw);
	/* a third set, for a rule that is one sequence */
	third = l.top_alts == 1 && l.third.n ? &l.third : NULL;
	if (rc <= 0) {
		lset_free(&l.third);
		return rc;
	}
	if (top.maxl < IP_SPAN_MAX)
		out->letters = top.maxl;
	out->wstart = kw == KW_YES; /* the rule's start: nothing known */
	out->pre = pre == LIT_INF ? IP_PRE_UNKNOWN : pre;
	sorted = lit_sorted(best, &ns);
	rc = !sorted ? GS_ENOMEM : lit_words(sorted, ns, &out->v, &out->n);
	/* the set's strings end a word; its key words do only if each is
	 * one of them whole: none left out for starting with a shorter one
	 * ("ignorier" for "ignoriere"), none cut at LIT_MAXLEN */
	out->wend = (best == &top.ex ? top.exend : top.fend) == END_YES &&
		    rc == GS_OK && out->n == ns;
	for (k = 0; out->wend && k < out->n; k++)
		out->wend = strlen(out->v[k]) < LIT_MAXLEN;
	/* a second set, when it is another and a match's letters are
	 * bounded: where no hit of it is near, a hit of the first is no
	 * match's */
	if (rc == GS_OK && best == &top.fs && top.fac2 &&
	    top.maxl < IP_SPAN_MAX) {
		char **s2 = lit_sorted(&top.fs2, &n2);

		rc = !s2 ? GS_ENOMEM : lit_words(s2, n2, &out->v2, &out->n2);
		gs_free(s2);
		out->wstart2 = top.f2kw == KW_YES;
		out->order2 = top.f2ord == ORD_AFTER ? 1
			      : top.f2ord == ORD_BEFORE ? -1 : 0;
		out->span2 = top.f2span && top.f2span < top.maxl ? top.f2span
								  : top.maxl;
		if (rc == GS_OK)
			rc = lit_unpaired(sorted, ns, &top.fsu, out);
		out->span = top.maxl;
		/* no use when every key word goes without one */
		if (rc == GS_OK && (out->nu == out->n ||
				    lit_same(out->v, out->n, out->v2, out->n2))) {
			while (out->n2)
				gs_free(out->v2[--out->n2]);
			while (out->nu)
				gs_free(out->vu[--out->nu]);
			out->span = IP_PRE_UNKNOWN;
		}
		/* and a third, for a rule that is one sequence, unless it
		 * holds common words ("the", "all", "can"): finding those
		 * costs the scanner more than they save */
		if (rc == GS_OK && out->n2 && third &&
		    lset_score(third) < LIT_THIRD_MAX) {
			char **s3 = lit_sorted(third, &n3);

			rc = !s3 ? GS_ENOMEM
				 : lit_words(s3, n3, &out->v3, &out->n3);
			out->order3 = l.third_ord == ORD_AFTER ? 1 : -1;
			out->span3 = l.third_span && l.third_span < top.maxl
				     ? l.third_span : top.maxl;
			gs_free(s3);
		}
	}
	lset_free(&l.third);
	gs_free(sorted);
	linfo_free(&top);
	if (rc < 0) {
		ip_lits_free(out);
		return rc;
	}
	return 1;
}

int ip_lit_extract(const char *pattern, ip_lits *out)
{
	int rc = lit_extract(pattern, out);

	lit_spares_free();
	return rc;
}

int ip_lits_add(ip_lits *s, const char *str)
{
	return lit_words_add(&s->v, &s->n, str);
}

void ip_lits_free(ip_lits *s)
{
	while (s->n)
		gs_free(s->v[--s->n]);
	while (s->n2)
		gs_free(s->v2[--s->n2]);
	while (s->nu)
		gs_free(s->vu[--s->nu]);
	while (s->n3)
		gs_free(s->v3[--s->n3]);
	gs_free(s->v);
	gs_free(s->v2);
	gs_free(s->vu);
	gs_free(s->v3);
	s->v = s->v2 = s->vu = s->v3 = NULL;
}
