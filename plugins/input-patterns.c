/* SPDX-License-Identifier: MIT */
/*
 * input-patterns - finds prompt-injection and jailbreak phrases in user
 * input, on a normalised view of the text, and rejects, redacts or counts
 * them.
 *
 * The rule set (a file of named PCRE2 patterns) is compiled once, at stack
 * load, into one alternation whose branches end with (*MARK:name): one
 * JIT pass finds the leftmost match of any rule, and the mark says which
 * rule it was.  (A mark at the end, not the start, leaves PCRE2 free to
 * compute the set of possible first characters, its built-in prefilter:
 * positions no rule can start at are skipped without trying a branch.)
 * PCRE2 caps a compiled pattern at 64 KiB here (link size 2), so a rule
 * set larger than that is split into halves until each fits, one pass
 * per part: the shipped set needs two.
 *
 * PCRE2 is called directly for this, not through gs_rx_*: the core's
 * match data holds 33 groups, too few to tell dozens of branches apart by
 * group, and gs_rx_* does not expose marks.  The match
 * and depth limits are the core's, so a rule cannot backtrack for long;
 * hitting one fails the call closed.
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

#include <guardstack/plugin.h>

#define IP_RULES_DEFAULT "injection.rules"
#define IP_RULES_MAX (1u << 20) /* a rules file larger than this is a mistake */
#define IP_NAME_MAX 64
/* Rules match the folded text; \w, \d and \b stay ASCII (no UCP) so a
 * word of another script next to "ignore" still leaves a boundary. */
#define IP_RX_FLAGS (PCRE2_UTF | PCRE2_CASELESS | PCRE2_MULTILINE)
/* The same limits as the core's gs_rx_* (core/rx.c). */
#define IP_MATCH_LIMIT 5000000u
#define IP_DEPTH_LIMIT 10000u
/* redaction passes over one text: a new pass runs only when the last one
 * uncovered a match (see ip_request) */
#define IP_REDACT_PASSES 8

enum { IP_REJECT, IP_REDACT, IP_FLAG };
static const char *const ip_actions[] = { "reject", "redact", "flag", NULL };

typedef struct ip_instance {
	pcre2_general_context *gctx; /* per-call memory, through gs_alloc */
	pcre2_match_context *mctx;   /* the match and depth limits */
	pcre2_code **code;           /* the rules as few alternations */
	size_t ncode;
	int action;
	char *replacement;
	size_t replen;
} ip_instance;

/* ---- normalisation ------------------------------------------------ */

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
} ip_units;

/* A searchable view: UTF-8 text and, per byte, its original span. */
typedef struct ip_view {
	gs_buf text;
	uint32_t *os, *oe;
	size_t cap;
} ip_view;

/* Look-alikes that NFKC and case folding leave alone.  Keyed on the code
 * point before case folding, so that Greek capital eta (H) and small eta
 * (n) can map differently.  Sorted for bsearch. */
static const struct ip_glyph { int32_t cp; char to; } ip_glyphs[] = {
	{ 0x0131, 'i' }, { 0x01C0, 'l' }, { 0x0237, 'j' }, { 0x0251, 'a' },
	{ 0x0261, 'g' }, { 0x0262, 'g' }, { 0x0269, 'i' }, { 0x026A, 'i' },
	{ 0x0274, 'n' },
	{ 0x0280, 'r' }, { 0x028F, 'y' }, { 0x0299, 'b' }, { 0x029C, 'h' },
	{ 0x029F, 'l' },
	{ 0x0391, 'a' }, { 0x0392, 'b' }, { 0x0395, 'e' }, { 0x0396, 'z' },
	{ 0x0397, 'h' }, { 0x0399, 'i' }, { 0x039A, 'k' }, { 0x039C, 'm' },
	{ 0x039D, 'n' }, { 0x039F, 'o' }, { 0x03A1, 'p' }, { 0x03A4, 't' },
	{ 0x03A5, 'y' }, { 0x03A7, 'x' },
	{ 0x03B1, 'a' }, { 0x03B2, 'b' }, { 0x03B3, 'y' }, { 0x03B5, 'e' },
	{ 0x03B7, 'n' }, { 0x03B9, 'i' }, { 0x03BA, 'k' }, { 0x03BD, 'v' },
	{ 0x03BF, 'o' }, { 0x03C1, 'p' }, { 0x03C4, 't' }, { 0x03C5, 'u' },
	{ 0x03C7, 'x' }, { 0x03C9, 'w' }, { 0x03F2, 'c' }, { 0x03F3, 'j' },
	{ 0x0405, 's' }, { 0x0406, 'i' }, { 0x0408, 'j' }, { 0x0410, 'a' },
	{ 0x0412, 'b' }, { 0x0415, 'e' }, { 0x041A, 'k' }, { 0x041C, 'm' },
	{ 0x041D, 'h' }, { 0x041E, 'o' }, { 0x0420, 'p' }, { 0x0421, 'c' },
	{ 0x0422, 't' }, { 0x0423, 'y' }, { 0x0425, 'x' },
	{ 0x0430, 'a' }, { 0x0432, 'b' }, { 0x0433, 'r' }, { 0x0435, 'e' },
	{ 0x043A, 'k' }, { 0x043C, 'm' }, { 0x043D, 'h' }, { 0x043E, 'o' },
	{ 0x043F, 'n' }, { 0x0440, 'p' }, { 0x0441, 'c' }, { 0x0442, 't' },
	{ 0x0443, 'y' }, { 0x0445, 'x' }, { 0x0455, 's' }, { 0x0456, 'i' },
	{ 0x0458, 'j' }, { 0x04AE, 'y' }, { 0x04AF, 'y' }, { 0x04BB, 'h' },
	{ 0x04C0, 'l' }, { 0x04CF, 'l' }, { 0x0501, 'd' }, { 0x051B, 'q' },
	{ 0x051D, 'w' },
	{ 0x0570, 'h' }, { 0x0578, 'n' }, { 0x057D, 'u' }, { 0x0585, 'o' },
	{ 0x1D00, 'a' }, { 0x1D04, 'c' }, { 0x1D05, 'd' }, { 0x1D07, 'e' },
	{ 0x1D0A, 'j' }, { 0x1D0B, 'k' }, { 0x1D0D, 'm' }, { 0x1D0F, 'o' },
	{ 0x1D18, 'p' }, { 0x1D1B, 't' }, { 0x1D1C, 'u' }, { 0x1D20, 'v' },
	{ 0x1D21, 'w' }, { 0x1D22, 'z' }, { 0xA730, 'f' }, { 0xA731, 's' },
};

static int ip_glyph_cmp(const void *k, const void *e)
{
	int32_t a = *(const int32_t *)k, b = ((const struct ip_glyph *)e)->cp;
	return (a > b) - (a < b);
}

static int32_t ip_glyph(int32_t cp)
{
	const struct ip_glyph *g;

	if (cp < 0x0131 || cp > 0xA731)
		return 0;
	g = bsearch(&cp, ip_glyphs, sizeof ip_glyphs / sizeof ip_glyphs[0],
		    sizeof ip_glyphs[0], ip_glyph_cmp);
	return g ? g->to : 0;
}

/* 0: not whitespace, ' ': a space, '\n': a line break. */
static int ip_space(int32_t cp)
{
	if (cp == '\n' || cp == '\r' || cp == '\v' || cp == '\f' ||
	    cp == 0x85 || cp == 0x2028 || cp == 0x2029)
		return '\n';
	if (cp == ' ' || cp == '\t' || cp == 0x2800) /* braille blank */
		return ' ';
	if (cp < 0x80)
		return 0;
	return utf8proc_category(cp) == UTF8PROC_CATEGORY_ZS ? ' ' : 0;
}

/* Characters that render as nothing (or as a modifier of the previous
 * one) and so can hide inside a word. */
static int ip_invisible(int32_t cp)
{
	const utf8proc_property_t *p;

	if (cp >= 0x20 && cp < 0x7F)
		return 0;
	p = utf8proc_get_property(cp);
	if (p->ignorable)
		return 1;
	switch (p->category) {
	case UTF8PROC_CATEGORY_CF: case UTF8PROC_CATEGORY_CC:
	case UTF8PROC_CATEGORY_CS: case UTF8PROC_CATEGORY_CO:
	case UTF8PROC_CATEGORY_CN: case UTF8PROC_CATEGORY_MN:
	case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME:
		return 1;
	default:
		return 0;
	}
}

static int ip_units_put(ip_units *u, int32_t cp, uint32_t os, uint32_t oe)
{
	if (u->n == u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 256;
		ip_unit *v = gs_realloc(u->v, cap * sizeof *v);

		if (!v)
			return GS_ENOMEM;
		u->v = v;
		u->cap = cap;
	}
	u->v[u->n].cp = cp;
	u->v[u->n].os = os;
	u->v[u->n].oe = oe;
	u->n++;
	return GS_OK;
}

/* One code point of the folded text, as a unit: spaces unified, a
 * look-alike replaced, invisible results dropped. */
static int ip_emit(ip_units *u, int32_t cp, uint32_t os, uint32_t oe)
{
	int32_t g = ip_glyph(cp);
	int sp = ip_space(cp);

	if (g)
		cp = g;
	else if (sp)
		cp = sp;
	else if (ip_invisible(cp))
		return GS_OK;
	return ip_units_put(u, cp, os, oe);
}

#define IP_DECOMP 32 /* longest decomposition is 18; case folds add 3 */
#define IP_FOLD1 (UTF8PROC_COMPAT | UTF8PROC_DECOMPOSE | \
		  UTF8PROC_STRIPMARK | UTF8PROC_LUMP)
#define IP_FOLD2 (IP_FOLD1 | UTF8PROC_CASEFOLD)

/* Folds one original code point into units.  Look-alikes are looked up
 * before case folding (where the case still tells H from n) and after it
 * (for mathematical Greek, which NFKC turns into plain Greek). */
static int ip_fold(ip_units *u, int32_t c, uint32_t os, uint32_t oe)
{
	utf8proc_int32_t d[IP_DECOMP], e[IP_DECOMP];
	utf8proc_ssize_t nd, ne, i, j;
	int lb = 0, rc;

	if (ip_space(c) || ip_glyph(c))
		return ip_emit(u, c, os, oe);
	if (ip_invisible(c))
		return GS_OK;
	nd = utf8proc_decompose_char(c, d, IP_DECOMP, IP_FOLD1, &lb);
	if (nd < 0 || nd > IP_DECOMP) {
		d[0] = c;
		nd = 1;
	}
	for (i = 0; i < nd; i++) {
		if (ip_glyph(d[i]) || ip_space(d[i])) {
			if ((rc = ip_emit(u, d[i], os, oe)) < 0)
				return rc;
			continue;
		}
		ne = utf8proc_decompose_char(d[i], e, IP_DECOMP, IP_FOLD2, &lb);
		if (ne < 0 || ne > IP_DECOMP) {
			e[0] = d[i];
			ne = 1;
		}
		for (j = 0; j < ne; j++)
			if ((rc = ip_emit(u, e[j], os, oe)) < 0)
				return rc;
	}
	return GS_OK;
}

/* Tag characters spell ASCII invisibly; a run of them is read as a word
 * of its own (a space before and after it). */
static int ip_tag(ip_units *u, int32_t c, uint32_t os, uint32_t oe)
{
	int rc;

	if (!u->tag_run && (rc = ip_units_put(u, ' ', os, oe)) < 0)
		return rc;
	u->tag_run = 1;
	u->tag_os = os;
	u->tag_oe = oe;
	c -= 0xE0000;
	if (c >= 'A' && c <= 'Z')
		c += 'a' - 'A';
	return ip_units_put(u, c, os, oe);
}

static int ip_normalise(const char *s, size_t len, ip_units *u)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
	size_t i = 0;
	int rc;

	while (i < len) {
		utf8proc_int32_t c;
		utf8proc_ssize_t n;
		uint32_t os = (uint32_t)i;

		n = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &c);

		if (n <= 0) { /* the core hands over valid UTF-8 only */
			c = 0xFFFD;
			n = 1;
		}
		i += (size_t)n;
		if (c >= 0xE0020 && c <= 0xE007E) {
			rc = ip_tag(u, c, os, (uint32_t)i);
		} else {
			if (u->tag_run && c != 0xE0001 && c != 0xE007F) {
				rc = ip_units_put(u, ' ', u->tag_os, u->tag_oe);
				if (rc < 0)
					return rc;
				u->tag_run = 0;
			}
			rc = ip_fold(u, c, os, (uint32_t)i);
		}
		if (rc < 0)
			return rc;
	}
	return GS_OK;
}

static int ip_view_put(ip_view *v, int32_t cp, uint32_t os, uint32_t oe)
{
	utf8proc_uint8_t enc[4];
	utf8proc_ssize_t n = utf8proc_encode_char(cp, enc);
	size_t at = v->text.len, k;

	if (at + (size_t)n > v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 256;
		uint32_t *a, *b;

		while (cap < at + (size_t)n)
			cap *= 2;
		if (!(a = gs_realloc(v->os, cap * sizeof *a)))
			return GS_ENOMEM;
		v->os = a;
		if (!(b = gs_realloc(v->oe, cap * sizeof *b)))
			return GS_ENOMEM;
		v->oe = b;
		v->cap = cap;
	}
	if (gs_buf_append(&v->text, (const char *)enc, (size_t)n) < 0)
		return GS_ENOMEM;
	for (k = at; k < at + (size_t)n; k++) {
		v->os[k] = os;
		v->oe[k] = oe;
	}
	return GS_OK;
}

static void ip_view_free(ip_view *v)
{
	gs_buf_free(&v->text);
	gs_free(v->os);
	gs_free(v->oe);
	memset(v, 0, sizeof *v);
}

/* Writes the units not marked in `drop` (NULL: all) into a view, with
 * `cp` overriding their code points when given, each whitespace run
 * collapsed into one unit spanning the whole run. */
static int ip_view_build(ip_view *v, const ip_units *u, const uint8_t *drop,
			 const int32_t *cp)
{
	size_t i = 0;
	int rc;

	while (i < u->n) {
		int32_t c = cp ? cp[i] : u->v[i].cp;
		uint32_t os = u->v[i].os, oe = u->v[i].oe;

		if (drop && drop[i]) {
			i++;
			continue;
		}
		if (c == ' ' || c == '\n') {
			size_t j = i + 1;

			for (; j < u->n; j++) {
				int32_t d = cp ? cp[j] : u->v[j].cp;

				if (drop && drop[j])
					continue;
				if (d != ' ' && d != '\n')
					break;
				if (d == '\n')
					c = '\n';
				oe = u->v[j].oe;
			}
			i = j;
		} else {
			i++;
		}
		if ((rc = ip_view_put(v, c, os, oe)) < 0)
			return rc;
	}
	return GS_OK;
}

enum { IP_C_OTHER, IP_C_SPACE, IP_C_ALNUM, IP_C_SEP, IP_C_LEET, IP_C_SYM };

static int ip_class(int32_t c)
{
	if (c == ' ' || c == '\n')
		return IP_C_SPACE;
	if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		return IP_C_ALNUM;
	if (c < 0x80) {
		if (c && strchr(".-_*~^|+`/\\", (int)c))
			return IP_C_SEP;
		return c == '@' || c == '$' ? IP_C_LEET : IP_C_OTHER;
	}
	if (c == 0xB7 || c == 0x2022 || c == 0x2027 || c == 0x2219 ||
	    c == 0x22C5)
		return IP_C_SEP;
	switch (utf8proc_category(c)) {
	case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL:
	case UTF8PROC_CATEGORY_LT: case UTF8PROC_CATEGORY_LM:
	case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_ND:
	case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
		return IP_C_ALNUM;
	case UTF8PROC_CATEGORY_SO: /* emoji and pictographs */
		return IP_C_SYM;
	default:
		return IP_C_OTHER;
	}
}

static int32_t ip_leet(int32_t c)
{
	static const char from[] = "013457@$", to[] = "oieastas";
	const char *p = c > 0 && c < 0x80 ? strchr(from, (int)c) : NULL;

	return p && *p ? to[p - from] : 0;
}

/* The second view: symbols dropped, separators between letters dropped,
 * letter-spaced words joined, digits inside words read as letters.
 * Returns 1 when it differs from the first view (and was built), 0 when
 * it would not. */
static int ip_view_joined(ip_view *v, const ip_units *u)
{
	uint8_t *drop = gs_calloc(u->n ? u->n : 1, 1), *cls;
	int32_t *cp = gs_alloc((u->n ? u->n : 1) * sizeof *cp);
	size_t i, j, k;
	int changed = 0, rc;

	cls = gs_alloc(u->n ? u->n : 1);
	if (!drop || !cp || !cls) {
		rc = GS_ENOMEM;
		goto out;
	}
	for (i = 0; i < u->n; i++) {
		cp[i] = u->v[i].cp;
		cls[i] = (uint8_t)ip_class(cp[i]);
		/* "ignore 🙂 previous 🙂 instructions" */
		if (cls[i] == IP_C_SYM) {
			drop[i] = 1;
			changed = 1;
		}
	}
	/* "i.g.n.o.r.e", "ig-nore": short separator runs between letters. */
	for (i = 1; i < u->n; i = j) {
		for (j = i; j < u->n && cls[j] == IP_C_SEP; j++)
			;
		if (j == i) {
			j++;
			continue;
		}
		if (cls[i - 1] == IP_C_ALNUM && j < u->n &&
		    cls[j] == IP_C_ALNUM && j - i <= 3) {
			for (k = i; k < j; k++)
				drop[k] = 1;
			changed = 1;
		}
	}
	/* "i g n o r e": three or more one-letter words, one space apart. */
	for (i = 0; i < u->n; i = j) {
		size_t start = i, letters = 0, last = i;

		j = i + 1;
		if (cls[i] != IP_C_ALNUM ||
		    (i > 0 && cls[i - 1] != IP_C_SPACE))
			continue;
		for (k = i; k < u->n;) {
			size_t w = k, nw = 0;

			/* one word: letters and dropped separators */
			while (w < u->n && (cls[w] == IP_C_ALNUM || drop[w])) {
				nw += !drop[w];
				w++;
			}
			if (nw != 1 || (w < u->n && cls[w] != IP_C_SPACE))
				break;
			letters++;
			last = k;
			if (w + 1 >= u->n || cp[w] != ' ' ||
			    cls[w + 1] != IP_C_ALNUM)
				break;
			k = w + 1;
		}
		if (letters >= 3) {
			for (k = start; k < last; k++)
				if (cls[k] == IP_C_SPACE)
					drop[k] = 1;
			changed = 1;
		}
		j = last + 1;
	}
	/* "1gn0r3": digits and @ $ inside a word that has letters. */
	for (i = 0; i < u->n; i = j) {
		size_t alpha = 0, subst = 0;

		for (j = i; j < u->n && (cls[j] == IP_C_ALNUM ||
					 cls[j] == IP_C_LEET || drop[j]); j++) {
			if (drop[j])
				continue;
			if (ip_leet(cp[j]))
				subst++;
			else if (cls[j] == IP_C_ALNUM &&
				 (cp[j] < '0' || cp[j] > '9'))
				alpha++;
		}
		if (j == i) {
			j++;
			continue;
		}
		if (alpha >= 2 && subst) {
			for (k = i; k < j; k++)
				if (!drop[k] && ip_leet(cp[k]))
					cp[k] = ip_leet(cp[k]);
			changed = 1;
		}
	}
	rc = changed ? ip_view_build(v, u, drop, cp) : 0;
	if (rc == 0 && changed)
		rc = 1;
out:
	gs_free(drop);
	gs_free(cp);
	gs_free(cls);
	return rc;
}

/* ---- matching ----------------------------------------------------- */

typedef struct ip_span {
	size_t start, end; /* original bytes */
	const char *rule;  /* the rule's name, borrowed from the pattern */
} ip_span;

typedef struct ip_spans {
	ip_span *v;
	size_t n, cap;
} ip_spans;

static int ip_spans_put(ip_spans *s, const ip_span *sp)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		ip_span *v = gs_realloc(s->v, cap * sizeof *v);

		if (!v)
			return GS_ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = *sp;
	return GS_OK;
}

/* Finds the leftmost non-empty match of one alternation at or after
 * `from`: 1 with ov[0..1] and *mark set, 0, or GS_E*. */
static int ip_find1(const pcre2_code *code, const ip_instance *in,
		    pcre2_match_data *md, const ip_view *v, size_t from,
		    const char **mark)
{
	const char *s = v->text.data;
	size_t len = v->text.len;
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
	int rc;

	for (;;) {
		if (from > len)
			return 0;
		/* rc 0 only says the ovector is short: we read group 0 only */
		rc = pcre2_match(code, (PCRE2_SPTR)s, len, from,
				 PCRE2_NO_UTF_CHECK, md, in->mctx);
		if (rc == PCRE2_ERROR_NOMATCH)
			return 0;
		if (rc == PCRE2_ERROR_NOMEMORY)
			return GS_ENOMEM;
		if (rc < 0)
			return GS_ELIMIT; /* match, depth, heap or JIT stack */
		if (ov[1] > ov[0])
			break;
		/* an empty match (lookarounds only) judges nothing: step on
		 * by one code point */
		from = ov[0] + 1;
		while (from < len && ((unsigned char)s[from] & 0xC0) == 0x80)
			from++;
	}
	*mark = (const char *)pcre2_get_mark(md);
	return 1;
}

/* Finds the leftmost non-empty match at or after *from in a view, over
 * every alternation (the earlier one wins a tie, as one alternation
 * would).  Returns 1 (*hit in original offsets), 0, or GS_E*. */
static int ip_find(const ip_instance *in, pcre2_match_data *md,
		   const ip_view *v, size_t *from, ip_span *hit)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
	size_t k, start = SIZE_MAX, end = 0;
	const char *mark = NULL, *best = NULL;
	int rc;

	for (k = 0; k < in->ncode; k++) {
		if ((rc = ip_find1(in->code[k], in, md, v, *from, &mark)) < 0)
			return rc;
		if (rc == 1 && ov[0] < start) {
			start = ov[0];
			end = ov[1];
			best = mark;
		}
	}
	if (start == SIZE_MAX)
		return 0;
	*from = end;
	hit->start = v->os[start];
	hit->end = v->oe[end - 1];
	hit->rule = best ? best : "?";
	return 1;
}

/* Collects the matches of one view (all of them, or the first). */
static int ip_scan(const ip_instance *in, pcre2_match_data *md,
		   const ip_view *v, int all, ip_spans *out)
{
	size_t from = 0;
	ip_span hit;
	int rc;

	if (!v->text.len) /* nothing visible: no rule matches nothing */
		return 0;
	while ((rc = ip_find(in, md, v, &from, &hit)) == 1) {
		if ((rc = ip_spans_put(out, &hit)) < 0)
			return rc;
		if (!all)
			break;
	}
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

/* Matches one text: the first match only when rejecting (the joined view
 * only when the plain one has none), every match of both views
 * otherwise. */
static int ip_match(const ip_instance *in, pcre2_match_data *md,
		    const char *s, size_t len, ip_spans *out)
{
	ip_units u = { 0 };
	ip_view a = { GS_BUF_INIT, NULL, NULL, 0 };
	ip_view b = { GS_BUF_INIT, NULL, NULL, 0 };
	int all = in->action != IP_REJECT, rc;

	if (len >= UINT32_MAX)
		return GS_ELIMIT;
	if ((rc = ip_normalise(s, len, &u)) < 0 ||
	    (rc = ip_view_build(&a, &u, NULL, NULL)) < 0 ||
	    (rc = ip_scan(in, md, &a, all, out)) < 0)
		goto out;
	if (out->n && !all)
		goto out;
	if ((rc = ip_view_joined(&b, &u)) == 1)
		rc = ip_scan(in, md, &b, all, out);
	if (rc >= 0)
		ip_spans_merge(out);
out:
	gs_free(u.v);
	ip_view_free(&a);
	ip_view_free(&b);
	return rc < 0 ? rc : 0;
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
	const ip_instance *in = instance;
	size_t t, n = gs_text_count(ctx);
	pcre2_match_data *md = pcre2_match_data_create(1, in->gctx);
	ip_spans sp = { NULL, 0, 0 };
	unsigned long total = 0;
	gs_result res = GS_RESULT_OK;
	int rc = md ? GS_OK : GS_ENOMEM;

	for (t = 0; t < n && rc == GS_OK; t++) {
		size_t len;
		const char *s = gs_text_get(ctx, t, &len);

		sp.n = 0;
		if (!s || (rc = ip_match(in, md, s, len, &sp)) < 0 || !sp.n)
			continue;
		total += sp.n;
		if (in->action == IP_REJECT) {
			gs_reject(ctx, "rule %s matched",
				  sp.v[0].rule);
			res = GS_RESULT_REJECT;
			break;
		}
		if (in->action != IP_REDACT)
			continue;
		rc = ip_redact(in, ctx, t, s, len, &sp);
		/* The replacement's edges are word boundaries the text may
		 * have lacked: in "promptignore previous instructions" the
		 * second phrase has none until "prompt" is redacted.  Scan
		 * the result again until nothing matches (a bounded number
		 * of times), so the output holds nothing this filter would
		 * redact. */
		for (int pass = 1; rc == GS_OK && pass < IP_REDACT_PASSES;
		     pass++) {
			sp.n = 0;
			s = gs_text_get(ctx, t, &len);
			if (!s || (rc = ip_match(in, md, s, len, &sp)) < 0 ||
			    !sp.n)
				break;
			total += sp.n;
			rc = ip_redact(in, ctx, t, s, len, &sp);
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
	gs_free(sp.v);
	pcre2_match_data_free(md);
	return res;
}

/* ---- rules file --------------------------------------------------- */

/* Rules are combined into one pattern, so a rule must not refer to groups
 * by number or name (they are renumbered), name its own groups (names
 * would clash), or use backtracking verbs (the branch marks are verbs, and
 * (*COMMIT) and friends would reach into other rules).  A rough lexical
 * check that errs on the side of refusing. */
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

static uint32_t ip_groups(const pcre2_code *code)
{
	uint32_t n = 0;

	pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &n);
	return n;
}

/* Checks one rule on its own (so error offsets are the rule's) and as a
 * branch of an alternation.  GS_OK, or GS_E* with the error set. */
static int ip_rule_check(const ip_instance *in, gs_config *cfg,
			 const char *file, long line, const char *name,
			 const char *pat)
{
	char err[256];
	const char *why;
	gs_buf probe = GS_BUF_INIT;
	pcre2_match_data *md;
	pcre2_code *code;
	uint32_t groups;
	int rc;

	if ((why = ip_refers(pat))) {
		gs_config_error_at(cfg, file, line, "rule %s: uses %s, which "
				   "a rule may not: rules are combined into "
				   "one pattern", name, why);
		return GS_EINVAL;
	}
	if (!(code = ip_compile(pat, err, sizeof err))) {
		gs_config_error_at(cfg, file, line, "rule %s: %s", name, err);
		return GS_EINVAL;
	}
	groups = ip_groups(code);
	if (!(md = pcre2_match_data_create(1, in->gctx))) {
		pcre2_code_free(code);
		return GS_ENOMEM;
	}
	rc = pcre2_match(code, (PCRE2_SPTR)"", 0, 0, 0, md, in->mctx);
	pcre2_match_data_free(md);
	pcre2_code_free(code);
	if (rc >= 0) {
		gs_config_error_at(cfg, file, line,
				   "rule %s: matches the empty string", name);
		return GS_EINVAL;
	}
	/* A rule that ends inside \Q or an extended-mode comment would
	 * swallow the branches after it: try it as one. */
	if (gs_buf_printf(&probe, "(?:%s\\E)|()", pat) < 0)
		return GS_ENOMEM;
	code = ip_compile(probe.data, err, sizeof err);
	gs_buf_free(&probe);
	rc = code && ip_groups(code) == groups + 1;
	pcre2_code_free(code);
	if (rc)
		return GS_OK;
	gs_config_error_at(cfg, file, line, "rule %s: cannot be combined "
			   "with other rules (a comment or \\Q runs to its "
			   "end)", name);
	return GS_EINVAL;
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

/* The rules' branches, "(?:PATTERN\E)(*MARK:NAME)" each, end to end. */
typedef struct ip_branches {
	gs_buf text;
	size_t *end; /* end offset of each branch in text */
	size_t n, cap;
} ip_branches;

static int ip_branch_add(ip_branches *b, const char *name, const char *pat)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		size_t *v = gs_realloc(b->end, cap * sizeof *v);

		if (!v)
			return GS_ENOMEM;
		b->end = v;
		b->cap = cap;
	}
	/* \E ends a \Q the rule left open; the mark names the rule */
	if (gs_buf_printf(&b->text, "(?:%s\\E)(*MARK:%s)", pat, name) < 0)
		return GS_ENOMEM;
	b->end[b->n++] = b->text.len;
	return GS_OK;
}

/* Compiles branches [i, j) as one alternation, or, when PCRE2 finds it
 * too large, each half on its own. */
static int ip_add_code(ip_instance *in, gs_config *cfg, const char *key,
		       const char *path, const ip_branches *b, size_t i,
		       size_t j)
{
	gs_buf alt = GS_BUF_INIT;
	PCRE2_UCHAR msg[160];
	PCRE2_SIZE off;
	pcre2_code **v, *code;
	size_t k, from;
	int ec, rc;

	for (k = i; k < j; k++) {
		from = k ? b->end[k - 1] : 0;
		if ((k > i && gs_buf_putc(&alt, '|') < 0) ||
		    gs_buf_append(&alt, b->text.data + from,
				  b->end[k] - from) < 0) {
			gs_buf_free(&alt);
			return GS_ENOMEM;
		}
	}
	code = pcre2_compile((PCRE2_SPTR)alt.data, alt.len, IP_RX_FLAGS, &ec,
			     &off, NULL);
	gs_buf_free(&alt);
	if (!code && ec == PCRE2_ERROR_PATTERN_TOO_LARGE && j - i > 1) {
		if ((rc = ip_add_code(in, cfg, key, path, b, i,
				      i + (j - i) / 2)) < 0)
			return rc;
		return ip_add_code(in, cfg, key, path, b, i + (j - i) / 2, j);
	}
	if (!code) {
		pcre2_get_error_message(ec, msg, sizeof msg);
		gs_config_error(cfg, key, "%s: rules do not combine: %s", path,
				(char *)msg);
		return GS_EINVAL;
	}
	if (!(v = gs_realloc(in->code, (in->ncode + 1) * sizeof *v))) {
		pcre2_code_free(code);
		return GS_ENOMEM;
	}
	in->code = v;
	in->code[in->ncode++] = code;
	/* Without JIT (no executable memory, or GUARDSTACK_NO_JIT for the
	 * valgrind pass, as the core does) PCRE2 interprets: slower, under
	 * the same limits. */
	if (!secure_getenv("GUARDSTACK_NO_JIT"))
		pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
	return GS_OK;
}

/* Reads the rules file and compiles the rules into alternations. */
static int ip_load(ip_instance *in, gs_config *cfg, const char *key,
		   const char *path)
{
	gs_buf file = GS_BUF_INIT;
	ip_branches br = { GS_BUF_INIT, NULL, 0, 0 };
	ip_seen seen = { NULL, NULL, 0, 0 };
	long line = 0, first;
	char *p, *end, *name, *pat;
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
		if ((rc = ip_rule_check(in, cfg, path, line, name, pat)) < 0 ||
		    (rc = ip_branch_add(&br, name, pat)) < 0)
			goto out;
	}
	if (!br.n) {
		gs_config_error(cfg, key, "%s: no rules", path);
		rc = GS_EINVAL;
		goto out;
	}
	rc = ip_add_code(in, cfg, key, path, &br, 0, br.n);
out:
	gs_buf_free(&file);
	gs_buf_free(&br.text);
	gs_free(br.end);
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
	while (in->ncode)
		pcre2_code_free(in->code[--in->ncode]);
	gs_free(in->code);
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
	if ((rc = gs_config_enum(cfg, "action", ip_actions, IP_REJECT,
				 &in->action)) < 0 ||
	    (rc = gs_config_str(cfg, "replacement", "[FILTERED]", &rep)) < 0 ||
	    (rc = gs_config_path(cfg, "rules", &path)) < 0 ||
	    (rc = ip_contexts(in)) < 0)
		goto fail;
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
