/* SPDX-License-Identifier: MIT */
/*
 * normalise.c - the folded views of a text that input-patterns' rules
 * match, and the letter stream its prefilter reads (see ip.h and the
 * comment at the top of input-patterns.c for what folding does).
 *
 * ASCII, most of any text, takes a short path: it has no compatibility
 * forms or look-alikes, so folding it is lower-casing, whitespace and
 * dropping control characters; utf8proc folds everything else.
 */
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "ip.h"

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
	ip_unit *v = ip_grow(u->v, &u->cap, u->n + 1, sizeof *v, 256);

	if (!v)
		return GS_ENOMEM;
	u->v = v;
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
static int ip_fold_new(ip_units *u, int32_t c, uint32_t os, uint32_t oe)
{
	utf8proc_int32_t d[IP_DECOMP], e[IP_DECOMP];
	utf8proc_ssize_t nd, ne, i, j;
	int lb = 0, rc;

	if (c < 0x80) { /* what the general path below makes of ASCII */
		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		else if (c == '\t')
			c = ' ';
		else if (c == '\n' || c == '\r' || c == '\v' || c == '\f')
			c = '\n';
		else if (c < 0x20 || c == 0x7F)
			return GS_OK; /* control characters are invisible */
		return ip_units_put(u, c, os, oe);
	}
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

/* The fold of a code point does not depend on where it stands, and
 * text in another script repeats a few hundred or thousand of them,
 * each costing two utf8proc decompositions and several property lookups
 * (most of a region's time in such text): ip_normalise keeps the units
 * of IP_MEMO code points, each in the slot of its low bits, when there
 * are at most IP_MEMO_OUT of them. */
#define IP_MEMO 2048
#define IP_MEMO_OUT 6
struct ip_fold_memo {
	int32_t cp;   /* 0: an empty slot (ASCII does not come here) */
	int32_t n;
	int32_t out[IP_MEMO_OUT];
};

static int ip_fold(ip_units *u, int32_t c, uint32_t os, uint32_t oe)
{
	struct ip_fold_memo *m;
	size_t first = u->n, k;
	int rc;

	if (c < 0x80 || !u->memo)
		return ip_fold_new(u, c, os, oe);
	m = &u->memo[(uint32_t)c % IP_MEMO];
	if (m->cp == c) {
		for (k = 0; k < (size_t)m->n; k++)
			if ((rc = ip_units_put(u, m->out[k], os, oe)) < 0)
				return rc;
		return GS_OK;
	}
	if ((rc = ip_fold_new(u, c, os, oe)) < 0)
		return rc;
	m->cp = 0;
	if (u->n - first <= IP_MEMO_OUT) {
		for (k = first; k < u->n; k++)
			m->out[k - first] = u->v[k].cp;
		m->n = (int32_t)(u->n - first);
		m->cp = c;
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

/* What ASCII folds to (see ip_fold): lower case, \t a space, other
 * line-breaking white space a newline, control characters nothing
 * (0xFF). */
static const unsigned char ip_ascii_fold[128] = {
	[0x00] = 0xFF, [0x01] = 0xFF, [0x02] = 0xFF, [0x03] = 0xFF,
	[0x04] = 0xFF, [0x05] = 0xFF, [0x06] = 0xFF, [0x07] = 0xFF,
	[0x08] = 0xFF, ['\t'] = ' ', ['\n'] = '\n', ['\v'] = '\n',
	['\f'] = '\n', ['\r'] = '\n', [0x0E] = 0xFF, [0x0F] = 0xFF,
	[0x10] = 0xFF, [0x11] = 0xFF, [0x12] = 0xFF, [0x13] = 0xFF,
	[0x14] = 0xFF, [0x15] = 0xFF, [0x16] = 0xFF, [0x17] = 0xFF,
	[0x18] = 0xFF, [0x19] = 0xFF, [0x1A] = 0xFF, [0x1B] = 0xFF,
	[0x1C] = 0xFF, [0x1D] = 0xFF, [0x1E] = 0xFF, [0x1F] = 0xFF,
	[' '] = ' ', ['!'] = '!', ['"'] = '"', ['#'] = '#', ['$'] = '$',
	['%'] = '%', ['&'] = '&', ['\''] = '\'', ['('] = '(', [')'] = ')',
	['*'] = '*', ['+'] = '+', [','] = ',', ['-'] = '-', ['.'] = '.',
	['/'] = '/', ['0'] = '0', ['1'] = '1', ['2'] = '2', ['3'] = '3',
	['4'] = '4', ['5'] = '5', ['6'] = '6', ['7'] = '7', ['8'] = '8',
	['9'] = '9', [':'] = ':', [';'] = ';', ['<'] = '<', ['='] = '=',
	['>'] = '>', ['?'] = '?', ['@'] = '@', ['A'] = 'a', ['B'] = 'b',
	['C'] = 'c', ['D'] = 'd', ['E'] = 'e', ['F'] = 'f', ['G'] = 'g',
	['H'] = 'h', ['I'] = 'i', ['J'] = 'j', ['K'] = 'k', ['L'] = 'l',
	['M'] = 'm', ['N'] = 'n', ['O'] = 'o', ['P'] = 'p', ['Q'] = 'q',
	['R'] = 'r', ['S'] = 's', ['T'] = 't', ['U'] = 'u', ['V'] = 'v',
	['W'] = 'w', ['X'] = 'x', ['Y'] = 'y', ['Z'] = 'z', ['['] = '[',
	['\\'] = '\\', [']'] = ']', ['^'] = '^', ['_'] = '_', ['`'] = '`',
	['a'] = 'a', ['b'] = 'b', ['c'] = 'c', ['d'] = 'd', ['e'] = 'e',
	['f'] = 'f', ['g'] = 'g', ['h'] = 'h', ['i'] = 'i', ['j'] = 'j',
	['k'] = 'k', ['l'] = 'l', ['m'] = 'm', ['n'] = 'n', ['o'] = 'o',
	['p'] = 'p', ['q'] = 'q', ['r'] = 'r', ['s'] = 's', ['t'] = 't',
	['u'] = 'u', ['v'] = 'v', ['w'] = 'w', ['x'] = 'x', ['y'] = 'y',
	['z'] = 'z', ['{'] = '{', ['|'] = '|', ['}'] = '}', ['~'] = '~',
	[0x7F] = 0xFF,
};

int ip_normalise(const char *s, size_t len, ip_units *u)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
	size_t i = 0;
	int rc;

	u->n = 0;
	u->tag_run = 0;
	/* ASCII gives at most one unit a byte: room for that up front */
	if (len > u->cap) {
		ip_unit *v = gs_realloc(u->v, len * sizeof *v);

		if (!v)
			return GS_ENOMEM;
		u->v = v;
		u->cap = len;
	}
	while (i < len) {
		utf8proc_int32_t c;
		utf8proc_ssize_t n;
		uint32_t os = (uint32_t)i;

		if (p[i] < 0x80 && !u->tag_run) {
			unsigned char f = ip_ascii_fold[p[i]];

			i++;
			if (f == 0xFF)
				continue;
			if (u->n == u->cap) {
				if ((rc = ip_units_put(u, f, os,
						       (uint32_t)i)) < 0)
					return rc;
			} else {
				u->v[u->n].cp = f;
				u->v[u->n].os = os;
				u->v[u->n++].oe = (uint32_t)i;
			}
			continue;
		}
		if (p[i] < 0x80) {
			c = p[i];
			n = 1;
		} else {
			n = utf8proc_iterate(p + i,
					     (utf8proc_ssize_t)(len - i), &c);
			if (!u->memo) /* without memory for it: no memo */
				u->memo = gs_calloc(IP_MEMO, sizeof *u->memo);
		}

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

/* Makes room for n more bytes (the view builders do not check). */
static int ip_view_reserve(ip_view *v, size_t n)
{
	size_t need = v->text.len + n;
	uint32_t *a, *b;

	if (gs_buf_reserve(&v->text, n + 1) < 0)
		return GS_ENOMEM;
	if (need <= v->cap)
		return GS_OK;
	if (!(a = gs_realloc(v->os, need * sizeof *a)))
		return GS_ENOMEM;
	v->os = a;
	if (!(b = gs_realloc(v->oe, need * sizeof *b)))
		return GS_ENOMEM;
	v->oe = b;
	v->cap = need;
	return GS_OK;
}

static size_t ip_cp_len(int32_t c)
{
	return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
}

void ip_view_free(ip_view *v)
{
	gs_buf_free(&v->text);
	gs_free(v->os);
	gs_free(v->oe);
	gs_free(v->drop);
	gs_free(v->cls);
	gs_free(v->cp);
	gs_free(v->lp);
	gs_free(v->ow);
	memset(v, 0, sizeof *v);
}

/* Writes the units not marked in `drop` into a view, their code points
 * from `cp`, each whitespace run (the dropped units in it skipped)
 * collapsed into one unit spanning the run. */
static int ip_view_build(ip_view *v, const ip_units *u, const uint8_t *drop,
			 const int32_t *cp, size_t need)
{
	size_t i = 0, n = u->n;
	uint32_t *os, *oe;
	char *t;

	if (ip_view_reserve(v, need) < 0)
		return GS_ENOMEM;
	if (!v->text.len)
		v->ascii = 1;
	t = v->text.data + v->text.len;
	os = v->os + v->text.len;
	oe = v->oe + v->text.len;
	i = 0;
	while (i < n) {
		int32_t c = cp[i];
		uint32_t s0 = u->v[i].os, e0 = u->v[i].oe;

		if (drop[i]) {
			i++;
			continue;
		}
		i++;
		if (c == ' ' || c == '\n') {
			for (; i < n; i++) {
				if (drop[i])
					continue;
				if (cp[i] != ' ' && cp[i] != '\n')
					break;
				if (cp[i] == '\n')
					c = '\n';
				e0 = u->v[i].oe;
			}
		}
		if (c < 0x80) {
			*t++ = (char)c;
			*os++ = s0;
			*oe++ = e0;
		} else {
			size_t k, m = (size_t)utf8proc_encode_char(
				c, (utf8proc_uint8_t *)t);

			v->ascii = 0;
			for (k = 0; k < m; k++) {
				*os++ = s0;
				*oe++ = e0;
			}
			t += m;
		}
	}
	v->text.len = (size_t)(t - v->text.data);
	*t = '\0';
	return GS_OK;
}

enum { IP_C_OTHER, IP_C_SPACE, IP_C_ALNUM, IP_C_SEP, IP_C_LEET, IP_C_SYM };

static const unsigned char ip_class_ascii[128] = {
	[' '] = IP_C_SPACE, ['\n'] = IP_C_SPACE,
	['.'] = IP_C_SEP, ['-'] = IP_C_SEP, ['_'] = IP_C_SEP,
	['*'] = IP_C_SEP, ['~'] = IP_C_SEP, ['^'] = IP_C_SEP,
	['|'] = IP_C_SEP, ['+'] = IP_C_SEP, ['`'] = IP_C_SEP,
	['/'] = IP_C_SEP, ['\\'] = IP_C_SEP,
	['@'] = IP_C_LEET, ['$'] = IP_C_LEET,
	['0'] = IP_C_ALNUM, ['1'] = IP_C_ALNUM, ['2'] = IP_C_ALNUM,
	['3'] = IP_C_ALNUM, ['4'] = IP_C_ALNUM, ['5'] = IP_C_ALNUM,
	['6'] = IP_C_ALNUM, ['7'] = IP_C_ALNUM, ['8'] = IP_C_ALNUM,
	['9'] = IP_C_ALNUM,
	['a'] = IP_C_ALNUM, ['b'] = IP_C_ALNUM, ['c'] = IP_C_ALNUM,
	['d'] = IP_C_ALNUM, ['e'] = IP_C_ALNUM, ['f'] = IP_C_ALNUM,
	['g'] = IP_C_ALNUM, ['h'] = IP_C_ALNUM, ['i'] = IP_C_ALNUM,
	['j'] = IP_C_ALNUM, ['k'] = IP_C_ALNUM, ['l'] = IP_C_ALNUM,
	['m'] = IP_C_ALNUM, ['n'] = IP_C_ALNUM, ['o'] = IP_C_ALNUM,
	['p'] = IP_C_ALNUM, ['q'] = IP_C_ALNUM, ['r'] = IP_C_ALNUM,
	['s'] = IP_C_ALNUM, ['t'] = IP_C_ALNUM, ['u'] = IP_C_ALNUM,
	['v'] = IP_C_ALNUM, ['w'] = IP_C_ALNUM, ['x'] = IP_C_ALNUM,
	['y'] = IP_C_ALNUM, ['z'] = IP_C_ALNUM,
};

/* The class of a code point (ASCII: see ip_class_ascii). */
static int ip_class(int32_t c)
{

	if (c >= 0 && c < 0x80)
		return ip_class_ascii[c]; /* IP_C_OTHER is 0 */
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
	case UTF8PROC_CATEGORY_SK: /* and their skin-tone modifiers */
		return IP_C_SYM;
	default:
		return IP_C_OTHER;
	}
}

/* The stream's reading of 0 1 3 4 5 7 @ $, 0 for any other character
 * (ip_stream_ascii reads these as letters, and letters as themselves). */
static int32_t ip_leet(int32_t c)
{
	return c == '@' || c == '$' || (c >= '0' && c <= '9')
	       ? ip_stream_ascii[c] : 0;
}

/* The second view: symbols dropped, separators between letters dropped,
 * letter-spaced words joined, digits inside words read as letters.
 * Returns 1 when it differs from the first view (and was built), 0 when
 * it would not.  One pass classifies the units and lists where the
 * later passes can have work (one-letter words, digits and @ $), so
 * that those visit only there. */
int ip_view_joined(ip_view *v, const ip_units *u)
{
	uint8_t *drop, *cls;
	int32_t *cp;
	uint32_t *lp, *ow;
	size_t i, j, k, n = u->n, nl = 0, no = 0, q, need = 0;
	int changed = 0, seps = 0, rc;

	if (n > v->scap) { /* scratch grows, and stays for the next */
		gs_free(v->drop);
		gs_free(v->cls);
		gs_free(v->cp);
		gs_free(v->lp);
		gs_free(v->ow);
		v->drop = gs_alloc(n);
		v->cls = gs_alloc(n);
		v->cp = gs_alloc(n * sizeof *v->cp);
		v->lp = gs_alloc(n * sizeof *v->lp);
		v->ow = gs_alloc(n * sizeof *v->ow);
		v->scap = v->drop && v->cls && v->cp && v->lp && v->ow ? n : 0;
		if (!v->scap)
			return GS_ENOMEM;
	}
	if (!n)
		return 0;
	drop = v->drop;
	cls = v->cls;
	cp = v->cp;
	lp = v->lp;
	ow = v->ow;
	memset(drop, 0, n);
	for (i = 0; i < n; i++) {
		int32_t c = u->v[i].cp;
		uint8_t k1;

		cp[i] = c;
		if (c < 0x80) {
			k1 = ip_class_ascii[c];
			lp[nl] = (uint32_t)i; /* a digit, @ or $: listed */
			nl += ip_leet(c) != 0;
			need++;
		} else {
			k1 = (uint8_t)ip_class(c);
			/* "ignore 🙂 previous 🙂 instructions" */
			if (k1 == IP_C_SYM) {
				drop[i] = 1;
				changed = 1;
			}
			need += ip_cp_len(c);
		}
		cls[i] = k1;
		seps |= k1 == IP_C_SEP;
		/* a one-letter word (so far as classes tell) ends before i */
		ow[no] = (uint32_t)(i - 1);
		no += i > 0 && cls[i - 1] == IP_C_ALNUM && k1 != IP_C_ALNUM &&
		      (i == 1 || cls[i - 2] == IP_C_SPACE);
	}
	ow[no] = (uint32_t)(n - 1);
	no += cls[n - 1] == IP_C_ALNUM && (n == 1 || cls[n - 2] == IP_C_SPACE);
	/* "i.g.n.o.r.e", "ig-nore": short separator runs between letters
	 * (memchr finds where each run starts) */
	for (i = 1; seps && i < n; i = j) {
		const uint8_t *p = memchr(cls + i, IP_C_SEP, n - i);

		if (!p)
			break;
		i = (size_t)(p - cls);
		for (j = i; j < n && cls[j] == IP_C_SEP; j++)
			;
		if (cls[i - 1] == IP_C_ALNUM && j < n &&
		    cls[j] == IP_C_ALNUM && j - i <= 3) {
			for (k = i; k < j; k++)
				drop[k] = 1;
			changed = 1;
		}
	}
	/* "i g n o r e": three or more one-letter words, one space apart,
	 * from each listed word on (no letter is dropped yet, so a word
	 * whose second unit is a letter has more than one) */
	for (q = 0, j = 0; q < no; q++) {
		size_t start, letters = 0, last;

		if ((i = ow[q]) < j)
			continue;
		start = last = i;
		for (k = i; k < n;) {
			size_t w = k, nw = 0;

			/* one word: letters and dropped separators */
			while (w < n && (cls[w] == IP_C_ALNUM || drop[w])) {
				nw += !drop[w];
				if (nw > 1)
					break; /* no one-letter word */
				w++;
			}
			if (nw != 1 || (w < n && cls[w] != IP_C_SPACE))
				break;
			letters++;
			last = k;
			if (w + 1 >= n || cp[w] != ' ' ||
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
	/* "1gn0r3": digits and @ $ inside a word that has letters, from the
	 * word of each listed one */
	for (q = 0, j = 0; q < nl; q++) {
		size_t alpha = 0, subst = 0;

		if ((i = lp[q]) < j)
			continue; /* in the word just read */
		while (i > 0 && (cls[i - 1] == IP_C_ALNUM ||
				 cls[i - 1] == IP_C_LEET || drop[i - 1]))
			i--;
		for (j = i; j < n && (cls[j] == IP_C_ALNUM ||
				      cls[j] == IP_C_LEET || drop[j]); j++) {
			if (drop[j])
				continue;
			if (ip_leet(cp[j]))
				subst++;
			else if (cls[j] == IP_C_ALNUM &&
				 (cp[j] < '0' || cp[j] > '9'))
				alpha++;
		}
		if (alpha >= 2 && subst) {
			for (k = i; k < j; k++)
				if (!drop[k] && ip_leet(cp[k]))
					cp[k] = ip_leet(cp[k]);
			changed = 1;
		}
	}
	rc = changed ? ip_view_build(v, u, drop, cp, need) : 0;
	if (rc == 0 && changed)
		rc = 1;
	return rc;
}


/* ip_view_build without drops or replaced code points, the hot path:
 * every text with a key word in it gets this view. */
int ip_view_plain(ip_view *v, const ip_units *u)
{
	const ip_unit *p, *end;
	size_t need = 0, i;
	uint32_t *os, *oe;
	char *t;

	if (!v->text.len)
		v->ascii = 1;
	if (!u->n) /* nothing visible: an empty view (u->v may be NULL) */
		return GS_OK;
	p = u->v;
	end = u->v + u->n;
	for (i = 0; i < u->n; i++)
		need += ip_cp_len(u->v[i].cp);
	if (ip_view_reserve(v, need) < 0)
		return GS_ENOMEM;
	t = v->text.data + v->text.len;
	os = v->os + v->text.len;
	oe = v->oe + v->text.len;
	while (p < end) {
		int32_t c = p->cp;
		uint32_t s0 = p->os, e0 = p->oe;

		p++;
		if (c == ' ' || c == '\n') {
			for (; p < end && (p->cp == ' ' || p->cp == '\n'); p++) {
				if (p->cp == '\n')
					c = '\n';
				e0 = p->oe;
			}
		}
		if (c < 0x80) {
			*t++ = (char)c;
			*os++ = s0;
			*oe++ = e0;
		} else {
			size_t n = (size_t)utf8proc_encode_char(
				c, (utf8proc_uint8_t *)t), k;

			v->ascii = 0;
			for (k = 0; k < n; k++) {
				*os++ = s0;
				*oe++ = e0;
			}
			t += n;
		}
	}
	v->text.len = (size_t)(t - v->text.data);
	*t = '\0';
	return GS_OK;
}

/* How much of s[0..len) both views keep as it is, bar case: a pass that
 * stops at the first byte ip_view_ascii would drop, change other than
 * by case, or fold into a run of white space, and at the first place
 * where ip_view_joined could join or read letters (a separator between
 * letters or digits, a word of letters and digits, @ or $, a one-letter
 * word one space after another): more than it must, never less. */
/* ip_ascii_plain's state: the class before, the word of letters and
 * digits it is in or after, where a one-letter word one space after
 * another would start, and the word before a run of separators. */
typedef struct ip_plain {
	unsigned prev;
	size_t word, one_next, sep_word;
	int sep_after;
} ip_plain;

/* Where the plain start ends when byte i is the first one that is not:
 * before the word that byte i may be joined to (across separators, a
 * dropped byte, or a space after a one-letter word), as the joined view
 * may then read that word's digits as letters. */
static size_t ip_plain_stop(const ip_plain *st, size_t i)
{
	if (st->prev == IP_C_ALNUM)
		return i - st->word == st->one_next ? i - st->word - 2
						    : i - st->word;
	if (st->prev == IP_C_SEP && st->sep_after)
		return st->sep_word;
	if (st->prev == IP_C_SPACE && st->one_next == i)
		return i - 2;
	return i;
}

size_t ip_ascii_plain(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	ip_plain st = { IP_C_SPACE, 0, (size_t)-1, 0, 0 };
	size_t i;
	int letters = 0, digits = 0;

	for (i = 0; i < len; i++) {
		unsigned char b = p[i], c = b < 0x80 ? ip_ascii_fold[b] : 0xFF;
		unsigned cls;

		if (c == 0xFF || c != (b >= 'A' && b <= 'Z' ? b | 0x20 : b))
			return ip_plain_stop(&st, i);
		cls = ip_class_ascii[c];
		if (cls == IP_C_LEET)
			return ip_plain_stop(&st, i);
		if (cls == IP_C_ALNUM) {
			int digit = c >= '0' && c <= '9';
			size_t e;

			/* a word joined to the one before the separators */
			if (st.prev == IP_C_SEP && st.sep_after)
				return st.sep_word;
			if (st.prev != IP_C_ALNUM) {
				st.word = 0;
				letters = digits = 0;
			}
			st.word++;
			letters |= !digit;
			digits |= digit;
			if (letters && digits) /* its digits read as letters */
				return ip_plain_stop(&st, i + 1);
			/* the letters after a letter: most of a text */
			for (e = i + 1; !digit && e < len &&
			     (unsigned)((p[e] | 0x20) - 'a') < 26u; e++)
				;
			st.word += e - i - 1;
			i = e - 1;
		} else if (st.prev == IP_C_ALNUM && st.word == 1 &&
			   i - 1 == st.one_next) {
			return i - 3; /* a one-letter word after another */
		}
		if (cls == IP_C_SPACE) {
			if (st.prev == IP_C_SPACE && i > 0) /* a run */
				return ip_plain_stop(&st, i);
			st.one_next = st.prev == IP_C_ALNUM && st.word == 1 &&
				      c == ' ' ? i + 1 : (size_t)-1;
		}
		if (cls == IP_C_SEP) {
			if (st.prev == IP_C_ALNUM)
				st.sep_word = i - st.word;
			st.sep_after = st.prev == IP_C_ALNUM ||
				       (st.prev == IP_C_SEP && st.sep_after);
		}
		st.prev = cls;
	}
	if (st.prev == IP_C_ALNUM && st.word == 1 && len - 1 == st.one_next)
		return len - 3;
	return len;
}

/* ip_normalise then ip_view_plain for an all-ASCII text, in one pass
 * and without units: most regions are ASCII, and the units were most of
 * their cost.  The same pass runs ip_view_joined's tests as they stand
 * while nothing is dropped, which holds until one of them fires: a
 * separator run between letters, a word with letters and a digit, @ or
 * $ read as one, and (one short of what that view joins) two one-letter
 * words one space apart.  So 0 means that view would be this one.
 * GS_EINVAL for a byte of 0x80 or more (the view is then unfinished). */
int ip_view_ascii(ip_view *v, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i, at0 = v->text.len, at;
	size_t sep = 0, alpha = 0, subst = 0, olen = 0;
	size_t ol_start = (size_t)-1, ol_space = (size_t)-2;
	unsigned prev = IP_C_SPACE; /* the start counts as one */
	int sep_left = 0, maybe = 0;
	uint32_t *os, *oe;
	char *t;

	if (!v->text.len)
		v->ascii = 1;
	if (!len) /* an empty view, as ip_view_plain leaves it */
		return 0;
	if (ip_view_reserve(v, len) < 0)
		return GS_ENOMEM;
	t = v->text.data + at0;
	os = v->os + at0;
	oe = v->oe + at0;
	for (i = 0; i < len;) {
		unsigned char c;
		unsigned cls;
		uint32_t s0 = (uint32_t)i, e0 = (uint32_t)i + 1;

		if (p[i] >= 0x80)
			return GS_EINVAL; /* not for this function */
		c = ip_ascii_fold[p[i++]];
		if (c == 0xFF)
			continue;
		cls = ip_class_ascii[c];
		at = (size_t)(t - v->text.data) - at0;
		if (prev == IP_C_ALNUM && cls == IP_C_SPACE &&
		    ol_start != (size_t)-1 && olen == 1) { /* one letter */
			if (ol_start == ol_space + 1)
				maybe = 1;
			ol_space = c == ' ' ? at : (size_t)-2;
		}
		if ((prev == IP_C_ALNUM || prev == IP_C_LEET) &&
		    cls != IP_C_ALNUM && cls != IP_C_LEET && alpha >= 2 &&
		    subst)
			maybe = 1;
		if (cls == IP_C_ALNUM || cls == IP_C_LEET) {
			if (prev != IP_C_ALNUM && prev != IP_C_LEET)
				alpha = subst = 0;
			if (ip_leet(c))
				subst++;
			else if (cls == IP_C_ALNUM && (c < '0' || c > '9'))
				alpha++;
		}
		if (cls == IP_C_ALNUM) {
			size_t k;

			if (prev == IP_C_SEP && sep_left && sep <= 3)
				maybe = 1;
			if (prev != IP_C_ALNUM) {
				ol_start = prev == IP_C_SPACE ? at : (size_t)-1;
				olen = 0;
			}
			olen++;
			*t++ = (char)c;
			*os++ = s0;
			*oe++ = e0;
			/* the letters after it: most of a text, and they
			 * change nothing but the counts */
			for (k = i; k < len &&
			     (unsigned)((p[k] | 0x20) - 'a') < 26u; k++) {
				*t++ = (char)(p[k] | 0x20);
				*os++ = (uint32_t)k;
				*oe++ = (uint32_t)k + 1;
			}
			alpha += k - i;
			olen += k - i;
			i = k;
			prev = cls;
			continue;
		} else if (cls == IP_C_SEP) {
			if (prev != IP_C_SEP) {
				sep_left = prev == IP_C_ALNUM;
				sep = 0;
			}
			sep++;
		} else if (cls == IP_C_SPACE) {
			size_t units = 1;

			for (; i < len && p[i] < 0x80; i++) { /* the run */
				unsigned char d = ip_ascii_fold[p[i]];

				if (d == 0xFF)
					continue;
				if (d != ' ' && d != '\n')
					break;
				if (d == '\n')
					c = '\n';
				e0 = (uint32_t)i + 1;
				units++;
			}
			if (units > 1 || c != ' ')
				ol_space = (size_t)-2;
		}
		prev = cls;
		*t++ = (char)c;
		*os++ = s0;
		*oe++ = e0;
	}
	if ((prev == IP_C_ALNUM || prev == IP_C_LEET) && alpha >= 2 && subst)
		maybe = 1;
	if (prev == IP_C_ALNUM && ol_start != (size_t)-1 && olen == 1 &&
	    ol_start == ol_space + 1)
		maybe = 1;
	v->text.len = (size_t)(t - v->text.data);
	*t = '\0';
	return maybe;
}

void ip_units_free(ip_units *u)
{
	gs_free(u->v);
	gs_free(u->memo);
	memset(u, 0, sizeof *u);
}

/* ---- the letter stream -------------------------------------------- */

const unsigned char ip_stream_ascii[128] = {
	['0'] = 'o', ['1'] = 'i', ['3'] = 'e', ['4'] = 'a', ['5'] = 's',
	['7'] = 't', ['@'] = 'a', ['$'] = 's',
	['A'] = 'a', ['B'] = 'b', ['C'] = 'c', ['D'] = 'd', ['E'] = 'e',
	['F'] = 'f', ['G'] = 'g', ['H'] = 'h', ['I'] = 'i', ['J'] = 'j',
	['K'] = 'k', ['L'] = 'l', ['M'] = 'm', ['N'] = 'n', ['O'] = 'o',
	['P'] = 'p', ['Q'] = 'q', ['R'] = 'r', ['S'] = 's', ['T'] = 't',
	['U'] = 'u', ['V'] = 'v', ['W'] = 'w', ['X'] = 'x', ['Y'] = 'y',
	['Z'] = 'z',
	['a'] = 'a', ['b'] = 'b', ['c'] = 'c', ['d'] = 'd', ['e'] = 'e',
	['f'] = 'f', ['g'] = 'g', ['h'] = 'h', ['i'] = 'i', ['j'] = 'j',
	['k'] = 'k', ['l'] = 'l', ['m'] = 'm', ['n'] = 'n', ['o'] = 'o',
	['p'] = 'p', ['q'] = 'q', ['r'] = 'r', ['s'] = 's', ['t'] = 't',
	['u'] = 'u', ['v'] = 'v', ['w'] = 'w', ['x'] = 'x', ['y'] = 'y',
	['z'] = 'z',
};

int ip_stream_cp(ip_units *scratch, int32_t cp, char *out, size_t cap,
		 size_t *n)
{
	size_t k;
	int rc;

	*n = 0;
	scratch->n = 0;
	scratch->tag_run = 0;
	if (cp >= 0xE0020 && cp <= 0xE007E) { /* tag characters: ASCII */
		cp -= 0xE0000;
		if (ip_stream_ascii[cp] && cap)
			out[(*n)++] = (char)ip_stream_ascii[cp];
		return GS_OK;
	}
	if ((rc = ip_fold(scratch, cp, 0, 0)) < 0)
		return rc;
	for (k = 0; k < scratch->n && *n < cap; k++) {
		int32_t c = scratch->v[k].cp;

		if (c >= 0 && c < 0x80 && ip_stream_ascii[c])
			out[(*n)++] = (char)ip_stream_ascii[c];
	}
	return GS_OK;
}
