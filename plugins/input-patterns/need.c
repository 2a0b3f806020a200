/* SPDX-License-Identifier: MIT */
/*
 * need.c - finds, for one rule, ASCII punctuation one character of which
 * every match of the rule consumes: "#" for a Markdown heading rule, "<"
 * or "[" for chat-template tokens.  The prefilter (input-patterns.c)
 * keeps a key word's hit of such a rule only when one of those
 * characters is close enough to the key word to share a match with it.
 * Most of the key words those rules have ("system", "user", "inst") are
 * everyday words; the punctuation next to them is not.
 *
 * In an all-ASCII text, a view holds a punctuation character only where
 * the text has that very character (folding leaves punctuation alone;
 * the joined view only drops characters and turns digits, @ and $ into
 * letters), so a match that consumes "#" covers a "#" of the text.
 * (Not so in other texts: a fullwidth "＃" or a tag character folds to
 * "#"; there the prefilter does not use this.)
 *
 * A small reader walks the rule (PCRE2 syntax) and works out, for each
 * part, a set of characters one of which every match of it consumes:
 * a literal or a class of punctuation only is its own set, a sequence
 * keeps the rarest set of its parts, alternatives unite theirs, and a
 * part that may match nothing (a lookaround, an anchor, a repeat that
 * may run zero times) has none.  Anything it does not know gives the
 * whole rule no set: the prefilter may only err towards running a rule.
 */
#include <string.h>

#include "ip.h"

#define NEED_DEPTH 64

typedef struct nset {
	int has;       /* every match consumes a character of m */
	uint64_t m[2]; /* bit c % 64 of m[c / 64] */
} nset;

typedef struct nparse {
	const char *p;
	int bad;
	int depth;
} nparse;

/* Punctuation the views keep as it is: no letter, digit, space or
 * control, and not @ or $ (the joined view reads those as letters). */
int ip_need_char(int c)
{
	return c > 0x20 && c < 0x7F && c != '@' && c != '$' &&
	       !(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'z') &&
	       !(c >= 'A' && c <= 'Z');
}

/* How common a character is in prose: the rarer the set, the more hits
 * it turns away. */
static unsigned need_weight(int c)
{
	switch (c) {
	case '.': case ',': case '\'': case '-': case ':': case '"':
		return 16;
	case '(': case ')': case '!': case '?': case '/': case ';':
	case '*': case '_': case '&': case '%': case '+':
		return 4;
	default:
		return 1;
	}
}

static unsigned nset_weight(const nset *s)
{
	unsigned w = 0;
	int k;

	for (k = 0; k < 2; k++) /* over the set bits only */
		for (uint64_t m = s->m[k]; m; m &= m - 1)
			w += need_weight(64 * k + __builtin_ctzll(m));
	return w;
}

static void nset_char(nset *s, int c)
{
	s->has = 1;
	s->m[c >> 6] |= 1ull << (c & 63);
}

static int need_hex(int c)
{
	return c >= '0' && c <= '9' ? c - '0' :
	       c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	       c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* \x: \xHH (up to two digits) or \x{H...}; the code point, or -1 (and
 * bad) when it is not one. */
static long need_xescape(nparse *l)
{
	long v = 0;
	int d, n = 0;

	if (*l->p == '{') {
		for (l->p++; (d = need_hex(*l->p)) >= 0 && n < 8; l->p++, n++)
			v = v * 16 + d;
		if (*l->p != '}' || !n) {
			l->bad = 1;
			return -1;
		}
		l->p++;
		return v;
	}
	for (; n < 2 && (d = need_hex(*l->p)) >= 0; l->p++, n++)
		v = v * 16 + d;
	return v;
}

/* One escape (after the backslash) inside or outside a class: the one
 * character it stands for, or -1 when it stands for a set of characters
 * or for none (*cls set: a class such as \d or \s; neither: a position
 * such as \b), or -1 with bad set. */
static long need_escape(nparse *l, int in_class, int *cls)
{
	char e = *l->p;

	*cls = 0;
	if (!e) {
		l->bad = 1;
		return -1;
	}
	l->p++;
	if (!(e >= '0' && e <= '9') && !(e >= 'a' && e <= 'z') &&
	    !(e >= 'A' && e <= 'Z'))
		return (unsigned char)e; /* an escaped punctuation character */
	switch (e) {
	case 'd': case 'D': case 'w': case 'W': case 's': case 'S':
	case 'h': case 'H': case 'v': case 'V':
		*cls = 1;
		return -1;
	case 'n': return '\n';
	case 't': return '\t';
	case 'r': return '\r';
	case 'f': return '\f';
	case 'e': return 0x1B;
	case 'a': return 0x07;
	case 'x': return need_xescape(l);
	case 'b': case 'B':
		if (in_class) /* \b is a backspace there */
			return 0x08;
		return -1;
	case 'A': case 'z': case 'Z': case 'G':
		if (in_class)
			break;
		return -1;
	case 'N': case 'R': case 'X':
		if (in_class || *l->p == '{')
			break;
		*cls = 1;
		return -1;
	case 'p': case 'P':
		if (*l->p == '{') {
			const char *c = strchr(l->p, '}');

			if (!c)
				break;
			l->p = c + 1;
		} else if (*l->p) {
			l->p++;
		} else {
			break;
		}
		*cls = 1;
		return -1;
	default:
		break;
	}
	/* back references, \K (which moves where a match starts), \Q, \c,
	 * octal, \g and the rest: unknown here */
	l->bad = 1;
	return -1;
}

/* One member of a class, or one end of a range: the character (0x80
 * for any non-ASCII one), or -1 with *cls set for \d and such. */
static long need_class_char(nparse *l, int *cls)
{
	long c;

	*cls = 0;
	if (*l->p == '\\') {
		l->p++;
		return need_escape(l, 1, cls);
	}
	c = (unsigned char)*l->p++;
	if (c >= 0x80) { /* one UTF-8 character */
		while ((*l->p & 0xC0) == 0x80)
			l->p++;
		c = 0x80;
	}
	return c;
}

/* A class, after its "[": its set when every character it can match is
 * one of the kept punctuation. */
static void need_class(nparse *l, nset *out)
{
	int neg = 0, ok = 1, first = 1;
	nset s;

	memset(&s, 0, sizeof s);
	if (*l->p == '^') {
		neg = 1;
		l->p++;
	}
	for (;; first = 0) {
		long c;
		int cls = 0;

		if (!*l->p) {
			l->bad = 1;
			return;
		}
		if (*l->p == ']' && !first) {
			l->p++;
			break;
		}
		if (*l->p == '[' && l->p[1] == ':') { /* [:alpha:] and such */
			const char *e = strstr(l->p + 2, ":]");

			if (!e) {
				l->bad = 1;
				return;
			}
			l->p = e + 2;
			ok = 0;
			continue;
		}
		c = need_class_char(l, &cls);
		if (l->bad)
			return;
		if (c < 0 || cls) {
			ok = 0;
			continue;
		}
		if (*l->p == '-' && l->p[1] && l->p[1] != ']') { /* a range */
			long hi;

			l->p++;
			hi = need_class_char(l, &cls);
			if (l->bad)
				return;
			if (hi < 0 || cls || hi < c) {
				ok = 0;
				continue;
			}
			for (; c <= hi && ok; c++) {
				if (!ip_need_char((int)c))
					ok = 0;
				else
					nset_char(&s, (int)c);
			}
			continue;
		}
		if (!ip_need_char((int)c))
			ok = 0;
		else
			nset_char(&s, (int)c);
	}
	if (ok && !neg && s.has)
		*out = s;
}

static void need_alt(nparse *l, nset *out);

/* A group, after its "(": its set, or none for a lookaround.  1 when
 * it only set options ("(?i)"): it consumes nothing and takes no
 * repeat. */
static int need_group(nparse *l, nset *out)
{
	int look = 0;

	memset(out, 0, sizeof *out);
	if (++l->depth > NEED_DEPTH) {
		l->bad = 1;
		return 0;
	}
	if (*l->p == '?') {
		const char *q = l->p + 1;

		if (*q == ':' || *q == '>' || *q == '|') {
			l->p = q + 1;
		} else if (*q == '=' || *q == '!') {
			look = 1;
			l->p = q + 1;
		} else if (*q == '<' && (q[1] == '=' || q[1] == '!')) {
			look = 1;
			l->p = q + 2;
		} else if (*q == '<' || *q == '\'' ||
			   (*q == 'P' && q[1] == '<')) {
			char end = *q == '\'' ? '\'' : '>';
			const char *e = strchr(q + 1, end);

			if (!e) {
				l->bad = 1;
				return 0;
			}
			l->p = e + 1;
		} else {
			/* options: (?i) (?i: ...) and such; not x, which
			 * changes what the rest of the pattern means */
			while (*q && strchr("imnsJU-^", *q))
				q++;
			if (*q != ')' && *q != ':') {
				l->bad = 1;
				return 0;
			}
			l->p = q + 1;
			if (*q == ')') { /* options for what follows */
				l->depth--;
				return 1;
			}
		}
	}
	need_alt(l, out);
	if (*l->p != ')') {
		l->bad = 1;
		return 0;
	}
	l->p++;
	l->depth--;
	if (look)
		memset(out, 0, sizeof *out);
	return 0;
}

/* A repeat after an atom: how few times it may run (1 when there is no
 * repeat), or -1 with bad set. */
static long need_repeat(nparse *l)
{
	long min = 1;

	switch (*l->p) {
	case '*': case '?':
		min = 0;
		l->p++;
		break;
	case '+':
		l->p++;
		break;
	case '{': {
		const char *q = l->p + 1;
		long n = 0;

		if (!(*q >= '0' && *q <= '9')) {
			l->bad = 1; /* a literal "{" or {,n}: not read here */
			return -1;
		}
		for (; *q >= '0' && *q <= '9'; q++)
			n = n < 100000 ? n * 10 + (*q - '0') : n;
		if (*q == ',')
			for (q++; *q >= '0' && *q <= '9'; q++)
				;
		if (*q != '}') {
			l->bad = 1;
			return -1;
		}
		l->p = q + 1;
		min = n;
		break;
	}
	default:
		return 1;
	}
	if (*l->p == '?' || *l->p == '+') /* lazy, possessive */
		l->p++;
	return min;
}

/* A sequence, up to "|", ")" or the end: the rarest set of its parts. */
static void need_seq(nparse *l, nset *out)
{
	unsigned best = 0;

	memset(out, 0, sizeof *out);
	while (*l->p && *l->p != '|' && *l->p != ')' && !l->bad) {
		nset a;
		unsigned char c = (unsigned char)*l->p;
		long min;

		memset(&a, 0, sizeof a);
		if (c == '(') {
			l->p++;
			if (need_group(l, &a))
				continue;
		} else if (c == '[') {
			l->p++;
			need_class(l, &a);
		} else if (c == '\\') {
			int cls;
			long ch;

			l->p++;
			ch = need_escape(l, 0, &cls);
			if (ch >= 0 && ip_need_char((int)ch))
				nset_char(&a, (int)ch);
		} else if (c == '^' || c == '$' || c == '.') {
			l->p++;
		} else if (c == '*' || c == '+' || c == '?' || c == '{') {
			l->bad = 1; /* a repeat of nothing, or a literal "{" */
			break;
		} else {
			l->p++;
			if (c >= 0x80)
				while ((*l->p & 0xC0) == 0x80)
					l->p++;
			else if (ip_need_char(c))
				nset_char(&a, c);
		}
		if (l->bad)
			break;
		min = need_repeat(l);
		if (min <= 0)
			continue;
		if (a.has) {
			unsigned w = nset_weight(&a);

			if (!out->has || w < best) {
				*out = a;
				best = w;
			}
		}
	}
}

/* Alternatives, up to ")" or the end: every one needs a set, and the
 * union is theirs. */
static void need_alt(nparse *l, nset *out)
{
	int all = 1;

	need_seq(l, out);
	all = out->has;
	while (*l->p == '|' && !l->bad) {
		nset a;

		l->p++;
		need_seq(l, &a);
		all &= a.has;
		out->m[0] |= a.m[0];
		out->m[1] |= a.m[1];
	}
	if (!all)
		memset(out, 0, sizeof *out);
}

int ip_need_extract(const char *pattern, uint64_t need[2])
{
	nparse l = { pattern, 0, 0 };
	nset s;

	need[0] = need[1] = 0;
	if (!strncmp(pattern, "(*", 2)) /* (*UTF) and such: not read */
		return 0;
	need_alt(&l, &s);
	if (l.bad || *l.p || !s.has)
		return 0;
	need[0] = s.m[0];
	need[1] = s.m[1];
	return 1;
}
