/* SPDX-License-Identifier: MIT */
/*
 * ip.h - the parts of the input-patterns plugin, shared between its
 * files (not installed; nothing here is exported from the module):
 *   normalise.c  the folded views of a text that rules match, and the
 *                letter stream the prefilter reads;
 *   literals.c   the key words every match of a rule must contain;
 *   need.c       the punctuation every match of a rule consumes;
 *   scan.c       one pass over a text finding those key words;
 *   near.h       whether other key words of a rule are near a hit;
 *   input-patterns.c  rules file, instance, matching around key words.
 */
#ifndef GS_INPUT_PATTERNS_H
#define GS_INPUT_PATTERNS_H

#include <stddef.h>
#include <stdint.h>

#include <guardstack/plugin.h>

/* ---- shared helpers ----------------------------------------------- */

/* Room for `need` elements of `size` bytes in array v (with *cap now):
 * v when it has it, else v grown (at least doubled, from `first`) and
 * *cap updated, or NULL when out of memory (v is left as it was).
 * need is at least 1. */
static inline void *ip_grow(void *v, size_t *cap, size_t need, size_t size,
			    size_t first)
{
	size_t nc = *cap ? *cap : first;

	if (need <= *cap)
		return v;
	while (nc < need)
		nc *= 2;
	if (nc > SIZE_MAX / size || !(v = gs_realloc(v, nc * size)))
		return NULL;
	*cap = nc;
	return v;
}

/* FNV-1a of a string: for the hash tables that group key words. */
static inline uint32_t ip_strhash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* ---- normalise.c -------------------------------------------------- */

/* One code point of the folded text and the original bytes it stands
 * for (several units may share one span: "ﬁ" gives "f" and "i"). */
typedef struct ip_unit {
	int32_t cp;
	uint32_t os, oe;
} ip_unit;

typedef struct ip_units {
	ip_unit *v;
	size_t n, cap;
	int tag_run;        /* last unit came from a tag character */
	uint32_t tag_os, tag_oe;
	struct ip_fold_memo *memo; /* ip_normalise's folds of code points
				    * seen (normalise.c), or NULL */
} ip_units;

/* A searchable view: UTF-8 text and, per byte, its original span. */
typedef struct ip_view {
	gs_buf text;
	uint32_t *os, *oe;
	size_t cap;
	int ascii;          /* text is all ASCII: a byte is a code point */
	/* the joined view's per-unit scratch, kept for the next region */
	uint8_t *drop, *cls;
	int32_t *cp;
	uint32_t *lp, *ow;
	size_t scap;
} ip_view;

#define IP_VIEW_INIT { GS_BUF_INIT, NULL, NULL, 0, 0, NULL, NULL, NULL, \
		       NULL, NULL, 0 }

/* Folds s[0..len) into units (offsets relative to s). */
int ip_normalise(const char *s, size_t len, ip_units *u);
/* The first view: every unit, whitespace runs collapsed. */
int ip_view_plain(ip_view *v, const ip_units *u);
/* The first view of an all-ASCII text, straight from its bytes (the
 * same as ip_normalise then ip_view_plain; offsets relative to s): 1
 * when the second view may differ from it (build the units and ask
 * ip_view_joined), 0 when it cannot, GS_ENOMEM, or GS_EINVAL when s
 * is not all ASCII after all. */
int ip_view_ascii(ip_view *v, const char *s, size_t len);
/* The length of the start of an ASCII text that both views keep as it
 * is but for case (offsets too), whatever follows once the last four
 * bytes of it are left out: where a search of the lowercased text finds
 * what a search of either view would (ip_hits_anchor). */
size_t ip_ascii_plain(const char *s, size_t len);
/* The second view (letters joined, digits read as letters): 1 when it
 * differs from the first and was built, 0 when not, or GS_E*. */
int ip_view_joined(ip_view *v, const ip_units *u);
void ip_view_free(ip_view *v);
void ip_units_free(ip_units *u);

/* The letter stream: for an ASCII byte, the letter it stands for ('a' to
 * 'z', digits and @ $ read as letters) or 0 for none. */
extern const unsigned char ip_stream_ascii[128];
/* The letters one non-ASCII code point stands for in the stream, folded
 * as the views fold it: *n of them written to out (up to cap).  scratch
 * is reused between calls (ip_units_free it after).  GS_OK or GS_ENOMEM. */
int ip_stream_cp(ip_units *scratch, int32_t cp, char *out, size_t cap,
		 size_t *n);

/* ---- literals.c --------------------------------------------------- */

/* Key words, in the stream's letters, and how many characters (of a
 * view) a match can run before the first letter of its key word. */
typedef struct ip_lits {
	char **v;
	size_t n;
	size_t pre;   /* IP_PRE_UNKNOWN: unbounded */
	int wstart;   /* a key word starts a word: the character before it
		       * is no ASCII letter, digit or _ */
	int wend;     /* ... and ends one: the character after it is none
		       * of those either (or the text ends) */
	/* Second key words: every match also holds one of these (found
	 * elsewhere in the rule), and at most `span` letters of the stream
	 * in all; so a key word with none of these within `span` letters of
	 * it is in no match.  n2 is 0 when the rule has none, or its
	 * matches have no bound (span IP_PRE_UNKNOWN). */
	char **v2;
	size_t n2;
	size_t span;
	int wstart2;  /* every match holds one of v2 that starts a word (as
		       * wstart for v): the others are no use to pair */
	int order2;   /* ... and it lies after (1) or before (-1) the key
		       * word of v the match holds (0: either), and the two
		       * hold at most span2 letters from the first one's
		       * start to the other's end (span2 <= span) */
	size_t span2;
	/* Those of v that come (also) from alternatives without second key
	 * words: a hit of one of these needs none. */
	char **vu;
	size_t nu;
	/* Third key words: a rule that is one sequence with second key words
	 * holds one of these too, from yet another part, in every match
	 * (within the same span; n3 0 for none), after (order3 1) or before
	 * (-1) the key word of v it holds, the two within span3 letters as
	 * for span2. */
	char **v3;
	size_t n3;
	int order3;
	size_t span3;
	/* The most letters of the stream a match holds, IP_PRE_UNKNOWN when
	 * there is no bound (IP_SPAN_MAX or more). */
	size_t letters;
} ip_lits;

#define IP_PRE_UNKNOWN ((size_t)-1)
#define IP_SPAN_MAX 65536 /* more letters than this: no bound */

#define IP_LIT_MIN 3 /* shorter key words are not worth scanning for */

/* Finds key words one of which every match of pattern contains (in the
 * letter stream).  1 with *out set (free with ip_lits_free), 0 when the
 * rule has none worth using (it must then run on every text), or
 * GS_ENOMEM. */
int ip_lit_extract(const char *pattern, ip_lits *out);
int ip_lits_add(ip_lits *s, const char *str);
void ip_lits_free(ip_lits *s);

/* ---- need.c ------------------------------------------------------- */

/* Whether a view keeps the ASCII character c as it is and makes it from
 * nothing else, in an all-ASCII text: punctuation other than @ and $. */
int ip_need_char(int c);
/* Finds punctuation (ip_need_char) one character of which every match of
 * pattern consumes: 1 with need[c / 64] bit c % 64 set for each, or 0
 * (need all zero) when the rule has no such set or the reader cannot
 * tell. */
int ip_need_extract(const char *pattern, uint64_t need[2]);

/* ---- scan.c ------------------------------------------------------- */

typedef struct ip_scanner ip_scanner;

/* A key word of `rule` found: the original bytes from the character of
 * its first letter to just after the character of its last. */
typedef struct ip_hit {
	uint32_t rule;
	uint64_t ls, le; /* its letters in the stream: [ls, le) */
	size_t start, end;
	size_t lo;    /* where a match may start at the earliest (the caller's) */
} ip_hit;

/* A character the scanner was asked to mark (ip_scanner_mark), and how
 * many letters of the stream come before it: n, or, for a character
 * that a non-ASCII one folds to ("＃", "⑴"), n to n + more (the letters
 * the same code point gives). */
typedef struct ip_mark {
	uint64_t n;
	uint8_t more;
	unsigned char c;
} ip_mark;

#define IP_MARK_MORE 64 /* letters one code point gives, at most */

/* A key word of a rule whose hits only say where its words are (second
 * and third key words, see ip_scanner_new): half the size of a hit, as
 * most hits are these. */
typedef struct ip_near {
	uint32_t rule;
	uint32_t start; /* texts are shorter than 4 GiB */
	uint64_t ls, le;
} ip_near;

typedef struct ip_hits {
	ip_hit *v;
	size_t n, cap;
	ip_near *p;   /* the hits of rules asked for as near (ip_scanner_new) */
	size_t np, pcap;
	int ascii;    /* the text scanned was all ASCII */
	ip_mark *m;   /* marks, in text order */
	size_t nm, mcap;
	uint8_t *found; /* per rule (of ip_scanner_new's nrules): 1 when v
			 * has a hit of it */
	uint32_t *fl;   /* those rules, in the order of their first hits */
	size_t nfl, fcap;
	struct sc_block *blk; /* the scanner's scratch (scan.c) */
} ip_hits;

/* What ip_scanner_new's flags say of a rule's key words (bits). */
#define IP_SC_NEAR 1  /* their hits go to ip_hits.p */
#define IP_SC_START 2 /* they start a word: none inside one is a hit (a
		       * character right after an ASCII letter, digit or _
		       * that is itself ASCII) */
#define IP_SC_END 4   /* they end one: none that runs on into one is (an
		       * ASCII character right before one of those) */

/* Builds a scanner for nrules rules; lits[r] are rule r's key words
 * (rules with none are simply absent from the scanner; the second key
 * words, v2, are not read: pass them as rules of their own), flag[r]
 * (flag may be NULL: none) what to do with their hits. */
int ip_scanner_new(const ip_lits *lits, size_t nrules, const uint8_t *flag,
		   ip_scanner **out);
void ip_scanner_free(ip_scanner *sc);
/* Whether it gathers and searches with AVX-512 (the CPU has it and
 * GUARDSTACK_NO_SIMD was not set when it was built): for the tests. */
int ip_scanner_simd(const ip_scanner *sc);
/* Asks the scanner to mark these ASCII punctuation characters (bit c %
 * 64 of mask[c / 64]) wherever a view of the text would hold them.
 * Characters of the letter stream (letters, digits read as letters, @,
 * $) are never marked. */
void ip_scanner_mark(ip_scanner *sc, const uint64_t mask[2]);
/* Appends every key word occurrence in s[0..len) to out (out->v, or
 * out->p for rules asked for as near), and the marks asked for, notes
 * the rules with hits in out->v (found, fl), and says whether the text
 * was all ASCII.  GS_ELIMIT for a text of 4 GiB or more.  out may be
 * used with one scanner after another. */
int ip_scanner_run(const ip_scanner *sc, const char *s, size_t len,
		   ip_hits *out);
/* Frees what runs put in h (h itself is the caller's). */
void ip_hits_free(ip_hits *h);

/* ---- near.h ------------------------------------------------------- */

/* Where a second or third key word of a rule was found, its letters in
 * the stream, and (for second key words) the greatest start among those
 * of its list that end no later.  le first: ip_after reads it. */
typedef struct ip_pos {
	uint64_t le, ls, maxls;
} ip_pos;

#endif
