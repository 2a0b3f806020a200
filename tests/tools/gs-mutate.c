/* SPDX-License-Identifier: MIT */
/*
 * gs-mutate - rewrites text lines the ways prompt-injection evasions do,
 * deterministically, for the tests that compare input-patterns with and
 * without its prefilter (tests/cli/input-patterns-prefilter.sh).
 *
 *   gs-mutate [-c] [-j] [-g N] SEED MUTATION < lines > lines
 *   gs-mutate -l        lists the mutations
 *
 *   -c     corpus input: skip blank lines and lines starting with #, and
 *          read the two characters \n as a line break (as the corpora in
 *          tests/data/ write them)
 *   -j     write {"text":"..."} lines for `guardstack filter --jsonl`;
 *          without it a line break in the output is written as \n
 *   -g N   glue every N output texts into one (joined by a space); the
 *          mutation `long` glues 200 unless -g says otherwise
 *
 * The same SEED and input give the same output on every platform: each
 * line draws from its own generator, seeded from SEED and its number, so
 * adding a line to a corpus leaves the others' mutations alone.  Input
 * that is not UTF-8 is repaired (U+FFFD) and NUL bytes are dropped, so
 * the output is always valid UTF-8 without NUL.
 *
 * Words are runs of ASCII letters (for tags: ASCII tokens between
 * spaces); gaps are ASCII spaces.  Mutations only touch those, so they
 * never split a UTF-8 sequence and compose ("mix").
 */
#define _POSIX_C_SOURCE 200809L /* getline */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* ---- a growable byte buffer ------------------------------------------ */

typedef struct buf {
	char *p;
	size_t n, cap;
} buf;

static void die(const char *msg)
{
	fprintf(stderr, "gs-mutate: %s\n", msg);
	exit(2);
}

static void put(buf *b, const void *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap < b->n + n + 1)
			cap *= 2;
		if (!(b->p = realloc(b->p, cap)))
			die("out of memory");
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void putc1(buf *b, char c)
{
	put(b, &c, 1);
}

static void putcp(buf *b, uint32_t c)
{
	char u[4];

	if (c < 0x80) {
		u[0] = (char)c;
		put(b, u, 1);
	} else if (c < 0x800) {
		u[0] = (char)(0xC0 | c >> 6);
		u[1] = (char)(0x80 | (c & 0x3F));
		put(b, u, 2);
	} else if (c < 0x10000) {
		u[0] = (char)(0xE0 | c >> 12);
		u[1] = (char)(0x80 | (c >> 6 & 0x3F));
		u[2] = (char)(0x80 | (c & 0x3F));
		put(b, u, 3);
	} else {
		u[0] = (char)(0xF0 | c >> 18);
		u[1] = (char)(0x80 | (c >> 12 & 0x3F));
		u[2] = (char)(0x80 | (c >> 6 & 0x3F));
		u[3] = (char)(0x80 | (c & 0x3F));
		put(b, u, 4);
	}
}

static void puts_(buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* ---- randomness: splitmix64, seeded per line ------------------------- */

static uint64_t rng;

static uint64_t next(void)
{
	uint64_t z = (rng += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* 0 .. n-1 (n > 0); the modulo bias is irrelevant here */
static unsigned pick(unsigned n)
{
	return (unsigned)(next() % n);
}

/* true one time in n */
static int chance(unsigned n)
{
	return pick(n) == 0;
}

/* ---- helpers over words and gaps ------------------------------------- */

static int is_letter(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Calls f on each word (a run of ASCII letters) of in, copying the rest
 * of in to out unchanged. */
typedef void (*word_fn)(buf *out, const char *w, size_t n);

static void each_word(buf *out, const buf *in, word_fn f)
{
	size_t i = 0;

	while (i < in->n) {
		size_t j = i;

		while (j < in->n && is_letter((unsigned char)in->p[j]))
			j++;
		if (j > i) {
			f(out, in->p + i, j - i);
			i = j;
		} else {
			putc1(out, in->p[i++]);
		}
	}
}

/* Calls f on each gap (an ASCII space with something other than white
 * space on its left), copying everything else unchanged.  f is told
 * whether this is the gap picked to be mutated in any case, so each line
 * with a gap gets at least one mutation. */
typedef void (*gap_fn)(buf *out, int forced);

static int is_gap(const buf *in, size_t i)
{
	return in->p[i] == ' ' && i > 0 && in->p[i - 1] != ' ' &&
	       in->p[i - 1] != '\n';
}

static void each_gap(buf *out, const buf *in, gap_fn f)
{
	size_t gaps = 0, k = 0, forced;

	for (size_t i = 0; i < in->n; i++)
		gaps += is_gap(in, i);
	forced = gaps ? pick((unsigned)gaps) : 0;
	for (size_t i = 0; i < in->n; i++) {
		if (is_gap(in, i))
			f(out, k++ == forced);
		else
			putc1(out, in->p[i]);
	}
}

/* ---- the mutations --------------------------------------------------- */

static void m_none(buf *out, const buf *in)
{
	put(out, in->p, in->n);
}

/* random case, letter by letter */
static void m_case(buf *out, const buf *in)
{
	for (size_t i = 0; i < in->n; i++) {
		char c = in->p[i];

		if (is_letter((unsigned char)c))
			c = chance(2) ? (char)(c | 0x20) : (char)(c & ~0x20);
		putc1(out, c);
	}
}

/* "i g n o r e": some words letter-spaced */
static void w_space(buf *out, const char *w, size_t n)
{
	int on = n > 1 && chance(2);

	for (size_t i = 0; i < n; i++) {
		if (on && i)
			putc1(out, ' ');
		putc1(out, w[i]);
	}
}

static void m_space(buf *out, const buf *in)
{
	each_word(out, in, w_space);
}

/* "i.g.n.o.r.e", "ig-nore", "ig_no_re" */
static void w_sep(buf *out, const char *w, size_t n)
{
	unsigned style = n > 2 && chance(2) ? 1 + pick(3) : 0;
	size_t at = n > 1 ? 1 + pick((unsigned)(n - 1)) : 0;

	for (size_t i = 0; i < n; i++) {
		if (i && style == 1)
			putc1(out, '.');
		else if (i && style == 2 && i == at)
			putc1(out, '-');
		else if (i && style == 3 && (i == at || chance(3)))
			putc1(out, '_');
		putc1(out, w[i]);
	}
}

static void m_sep(buf *out, const buf *in)
{
	each_word(out, in, w_sep);
}

/* zero-width characters inside words */
static const uint32_t zero_width[] = { 0x200B, 0x200D, 0x2060, 0x00AD };

static void w_zw(buf *out, const char *w, size_t n)
{
	int on = n > 1 && chance(2);

	for (size_t i = 0; i < n; i++) {
		if (on && i && (chance(3) || i == n / 2))
			putcp(out, zero_width[pick(4)]);
		putc1(out, w[i]);
	}
}

static void m_zw(buf *out, const buf *in)
{
	each_word(out, in, w_zw);
}

/* digits (and @ $) for letters */
static void m_leet(buf *out, const buf *in)
{
	for (size_t i = 0; i < in->n; i++) {
		char c = in->p[i], l = (char)(c | 0x20), r = c;

		if (is_letter((unsigned char)c) && chance(2)) {
			switch (l) {
			case 'o': r = '0'; break;
			case 'i': r = '1'; break;
			case 'e': r = '3'; break;
			case 'a': r = chance(2) ? '4' : '@'; break;
			case 's': r = chance(2) ? '5' : '$'; break;
			case 't': r = '7'; break;
			}
		}
		putc1(out, r);
	}
}

/* fullwidth forms of some words */
static void w_full(buf *out, const char *w, size_t n)
{
	int on = chance(2);

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)w[i];

		if (!on)
			putc1(out, (char)c);
		else if (c >= 'a')
			putcp(out, 0xFF41 + (uint32_t)(c - 'a'));
		else
			putcp(out, 0xFF21 + (uint32_t)(c - 'A'));
	}
}

static void m_full(buf *out, const buf *in)
{
	each_word(out, in, w_full);
}

/* Cyrillic and Greek look-alikes */
static void m_homo(buf *out, const buf *in)
{
	for (size_t i = 0; i < in->n; i++) {
		char c = in->p[i];
		uint32_t r = 0;

		if (is_letter((unsigned char)c) && chance(2)) {
			switch (c) {
			case 'a': r = chance(2) ? 0x0430 : 0x03B1; break;
			case 'e': r = 0x0435; break;
			case 'o': r = chance(2) ? 0x043E : 0x03BF; break;
			case 'p': r = 0x0440; break;
			case 'c': r = 0x0441; break;
			case 'x': r = 0x0445; break;
			case 'i': r = 0x0456; break;
			case 'A': r = chance(2) ? 0x0410 : 0x0391; break;
			case 'E': r = 0x0415; break;
			case 'O': r = chance(2) ? 0x041E : 0x039F; break;
			case 'P': r = 0x0420; break;
			case 'C': r = 0x0421; break;
			case 'X': r = 0x0425; break;
			case 'I': r = 0x0406; break;
			}
		}
		if (r)
			putcp(out, r);
		else
			putc1(out, c);
	}
}

/* Unicode tag characters for whole words (and the spaces between two
 * tagged words): invisible "ASCII smuggling".  A word here is what an
 * attacker would hide: a token between white space ("user's", "pre-
 * prompt", "instructions."), if it is all printable ASCII, which is all
 * tag characters can spell. */
static int is_token(const buf *in, size_t i, size_t *end)
{
	size_t j = i;

	while (j < in->n && in->p[j] != ' ' && in->p[j] != '\n')
		j++;
	*end = j;
	for (size_t k = i; k < j; k++)
		if ((unsigned char)in->p[k] < 0x21 ||
		    (unsigned char)in->p[k] > 0x7E)
			return 0;
	return j > i;
}

static void m_tags(buf *out, const buf *in)
{
	int prev = 0; /* the last token was tagged */
	size_t i = 0, j;

	while (i < in->n) {
		if (in->p[i] == ' ' || in->p[i] == '\n') {
			if (in->p[i] == '\n')
				prev = 0;
			putc1(out, in->p[i++]);
			continue;
		}
		if (is_token(in, i, &j) && chance(3)) {
			/* one space between two tagged tokens is tagged */
			if (prev && out->n >= 2 && out->p[out->n - 1] == ' ' &&
			    out->p[out->n - 2] != ' ') {
				out->n--;
				putcp(out, 0xE0020);
			}
			for (; i < j; i++)
				putcp(out, 0xE0000 + (unsigned char)in->p[i]);
			prev = 1;
		} else {
			put(out, in->p + i, j - i);
			i = j;
			prev = 0;
		}
	}
}

/* 300 spaces, 2000 zero-width spaces or 50 line breaks between words */
static int pads;

static void g_pad(buf *out, int forced)
{
	unsigned k;

	if (!forced && (pads >= 3 || !chance(4))) {
		putc1(out, ' ');
		return;
	}
	pads++;
	switch (pick(3)) {
	case 0:
		for (k = 0; k < 300; k++)
			putc1(out, ' ');
		break;
	case 1: /* with a space, or alone: the words then touch */
		if (chance(2))
			putc1(out, ' ');
		for (k = 0; k < 2000; k++)
			putcp(out, 0x200B);
		break;
	default:
		for (k = 0; k < 50; k++)
			putc1(out, '\n');
		break;
	}
}

static void m_pad(buf *out, const buf *in)
{
	pads = 0;
	each_gap(out, in, g_pad);
}

/* emoji between words, spaced or glued to them: plain, with a variation
 * selector, a skin tone, a ZWJ sequence and a flag */
static void g_emoji(buf *out, int forced)
{
	static const char *const emoji[] = {
		"\xF0\x9F\x94\xA5", "\xE2\x9D\xA4\xEF\xB8\x8F",
		"\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD",
		"\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x92\xBB",
		"\xF0\x9F\x87\xBA\xF0\x9F\x87\xB8", "\xF0\x9F\x98\x80",
	};

	if (!forced && !chance(3)) {
		putc1(out, ' ');
		return;
	}
	if (chance(2)) {
		putc1(out, ' ');
		puts_(out, emoji[pick(6)]);
		putc1(out, ' ');
	} else {
		puts_(out, emoji[pick(6)]);
	}
}

static void m_emoji(buf *out, const buf *in)
{
	each_gap(out, in, g_emoji);
}

/* a 200-letter word at one gap, splitting whatever phrase spans it
 * (inside input-patterns' documented reach of 256 letters before a key
 * word; beyond it the prefilter does not look, see guardstack.ini(5)) */
static void m_split(buf *out, const buf *in)
{
	size_t gaps = 0, at, k;

	for (k = 0; k < in->n; k++)
		gaps += in->p[k] == ' ';
	at = gaps ? pick((unsigned)gaps) : 0;
	for (k = 0; k < in->n; k++) {
		putc1(out, in->p[k]);
		if (in->p[k] == ' ' && at-- == 0) {
			for (int i = 0; i < 200; i++)
				putc1(out, (char)('a' + pick(26)));
			putc1(out, ' ');
		}
	}
	if (!gaps) {
		putc1(out, ' ');
		for (int i = 0; i < 200; i++)
			putc1(out, (char)('a' + pick(26)));
	}
}

typedef void (*mutation)(buf *out, const buf *in);

static void m_all(buf *out, const buf *in);
static void m_mix(buf *out, const buf *in);

static const struct {
	const char *name;
	mutation f;
	const char *what;
} mutations[] = {
	{ "none", m_none, "unchanged" },
	{ "case", m_case, "random case" },
	{ "space", m_space, "some words letter-spaced" },
	{ "sep", m_sep, "separators inside words: . - _" },
	{ "zw", m_zw, "zero-width characters inside words" },
	{ "leet", m_leet, "digits and @ $ for letters" },
	{ "full", m_full, "fullwidth letters" },
	{ "homo", m_homo, "Cyrillic and Greek look-alikes" },
	{ "tags", m_tags, "tag characters for whole ASCII words" },
	{ "pad", m_pad, "300 spaces, 2000 ZWSP or 50 newlines between words" },
	{ "emoji", m_emoji, "emoji between words" },
	{ "split", m_split, "a 200-letter word at one gap" },
	{ "long", m_none, "unchanged, 200 lines glued into one" },
	{ "all", m_all, "one of case..split per line, in turn" },
	{ "mix", m_mix, "two to four of case..split per line" },
};
#define FIRST_REAL 1 /* case */
#define NREAL 11     /* case .. split */

static unsigned long lineno;

static void m_all(buf *out, const buf *in)
{
	mutations[FIRST_REAL + (lineno - 1) % NREAL].f(out, in);
}

static void m_mix(buf *out, const buf *in)
{
	buf a = { 0 }, b = { 0 };
	unsigned n = 2 + pick(3);

	put(&a, in->p, in->n);
	while (n--) {
		b.n = 0;
		put(&b, "", 0);
		mutations[FIRST_REAL + pick(NREAL)].f(&b, &a);
		a.n = 0;
		put(&a, b.p, b.n);
	}
	put(out, a.p, a.n);
	free(a.p);
	free(b.p);
}

/* ---- input and output ------------------------------------------------ */

/* Copies s[0..n) to out as valid UTF-8 without NUL; with `corpus`, the
 * two characters \n become a line break. */
static void clean(buf *out, const char *s, size_t n, int corpus)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		unsigned c = p[i], len, k;
		uint32_t cp, min;

		if (c == 0) {
			i++;
			continue;
		}
		if (corpus && c == '\\' && i + 1 < n && p[i + 1] == 'n') {
			putc1(out, '\n');
			i += 2;
			continue;
		}
		if (c < 0x80) {
			putc1(out, (char)c);
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			len = 2; cp = c & 0x1F; min = 0x80;
		} else if (c >= 0xE0 && c <= 0xEF) {
			len = 3; cp = c & 0x0F; min = 0x800;
		} else if (c >= 0xF0 && c <= 0xF4) {
			len = 4; cp = c & 0x07; min = 0x10000;
		} else {
			len = 0; cp = 0; min = 1;
		}
		for (k = 1; len && k < len; k++) {
			if (i + k >= n || (p[i + k] & 0xC0) != 0x80)
				break;
			cp = cp << 6 | (p[i + k] & 0x3F);
		}
		if (!len || k < len || cp < min || cp > 0x10FFFF ||
		    (cp >= 0xD800 && cp <= 0xDFFF)) {
			putcp(out, 0xFFFD);
			i++;
			continue;
		}
		put(out, s + i, len);
		i += len;
	}
}

static void emit(const buf *t, int jsonl)
{
	buf o = { 0 };

	if (jsonl)
		puts_(&o, "{\"text\":\"");
	for (size_t i = 0; i < t->n; i++) {
		unsigned char c = (unsigned char)t->p[i];
		char esc[8];

		if (c == '\n') {
			puts_(&o, "\\n");
		} else if (jsonl && (c == '"' || c == '\\')) {
			putc1(&o, '\\');
			putc1(&o, (char)c);
		} else if (jsonl && c < 0x20) {
			snprintf(esc, sizeof esc, "\\u%04x", c);
			puts_(&o, esc);
		} else {
			putc1(&o, (char)c);
		}
	}
	if (jsonl)
		puts_(&o, "\"}");
	putc1(&o, '\n');
	if (fwrite(o.p, 1, o.n, stdout) != o.n)
		die("write error");
	free(o.p);
}

static void usage(void)
{
	fprintf(stderr, "usage: gs-mutate [-c] [-j] [-g N] SEED MUTATION\n"
		"       gs-mutate -l\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int corpus = 0, jsonl = 0, a = 1;
	long glue = 0;
	unsigned long long seed;
	mutation f = NULL;
	char *line = NULL, *end;
	size_t cap = 0, m;
	ssize_t n;
	buf in = { 0 }, out = { 0 }, glued = { 0 };
	long held = 0;

	for (; a < argc && argv[a][0] == '-' && argv[a][1]; a++) {
		if (!strcmp(argv[a], "-c")) {
			corpus = 1;
		} else if (!strcmp(argv[a], "-j")) {
			jsonl = 1;
		} else if (!strcmp(argv[a], "-g") && a + 1 < argc) {
			glue = strtol(argv[++a], &end, 10);
			if (*end || glue < 1)
				usage();
		} else if (!strcmp(argv[a], "-l")) {
			for (m = 0; m < sizeof mutations / sizeof *mutations;
			     m++)
				printf("%-6s %s\n", mutations[m].name,
				       mutations[m].what);
			return 0;
		} else {
			usage();
		}
	}
	if (argc - a != 2)
		usage();
	seed = strtoull(argv[a], &end, 0);
	if (*end || end == argv[a])
		usage();
	for (m = 0; m < sizeof mutations / sizeof *mutations; m++)
		if (!strcmp(argv[a + 1], mutations[m].name))
			f = mutations[m].f;
	if (!f)
		die("unknown mutation (gs-mutate -l lists them)");
	if (!glue && !strcmp(argv[a + 1], "long"))
		glue = 200;

	while ((n = getline(&line, &cap, stdin)) > 0) {
		size_t len = (size_t)n;

		if (line[len - 1] == '\n')
			len--;
		if (len && line[len - 1] == '\r')
			len--;
		if (corpus && (len == 0 || line[0] == '#'))
			continue;
		lineno++;
		in.n = out.n = 0;
		put(&in, "", 0);
		put(&out, "", 0);
		clean(&in, line, len, corpus);
		/* one generator per line: a line's mutation does not depend
		 * on the lines before it */
		rng = seed ^ (lineno * 0xD1B54A32D192ED03ull);
		next();
		f(&out, &in);
		if (!glue) {
			emit(&out, jsonl);
			continue;
		}
		if (held++)
			putc1(&glued, ' ');
		put(&glued, out.p, out.n);
		if (held == glue) {
			emit(&glued, jsonl);
			glued.n = 0;
			held = 0;
		}
	}
	if (held)
		emit(&glued, jsonl);
	free(line);
	free(in.p);
	free(out.p);
	free(glued.p);
	return ferror(stdin) ? 1 : 0;
}
