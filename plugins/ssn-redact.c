/* SPDX-License-Identifier: MIT */
/*
 * ssn-redact - replaces US Social Security numbers.
 *
 *   replacement = TEXT        what a number becomes (default "[SSN]")
 *   mask = none|last4|all     keep the shape instead: "***-**-6789" or
 *                             "***-**-****" (default none: replacement)
 *   validate = yes|no         skip numbers the SSA never issues: area 000,
 *                             666 or 900-999, group 00, serial 0000
 *                             (default yes)
 *   context_window = BYTES    a bare nine-digit number is redacted only
 *                             when a context word ("SSN", "social
 *                             security", ...) ends at most this many bytes
 *                             before it; 0 never redacts bare numbers
 *                             (default 30)
 *
 * Forms: 123-45-6789, 123.45.6789, 123 45 6789 with one separator kind per
 * number (Unicode dashes and no-break spaces count as their own kinds), and
 * bare 123456789 near a context word.  A number glued to a longer number
 * (card, phone, account, decimal, version) or to letters is not one.
 *
 * The scanner is hand-written rather than a regex: text without digits is
 * skipped eight bytes at a time, and nothing is allocated unless a number
 * is found.
 */
#include <guardstack/plugin.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#define SSN_SSE2 1
#include <emmintrin.h>
#endif

enum { MASK_NONE, MASK_LAST4, MASK_ALL };

/* Separator classes.  A number's two separators must be the same bytes;
 * the class decides how the number may touch its neighbours. */
enum { SEP_NONE, SEP_DASH, SEP_DOT, SEP_SPACE };
#define FORM_BARE SEP_NONE

struct ssn {
	char *replacement;
	size_t replen;
	int mask;
	int validate;
	size_t window;
};

/* ---- byte classes ------------------------------------------------------ */

static int is_digit(unsigned c)
{
	return c - '0' < 10;
}

static int is_alpha(unsigned c)
{
	return (c | 0x20) - 'a' < 26;
}

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

static size_t digit_run(const unsigned char *s, size_t i, size_t len)
{
	size_t j = i;

	while (j < len && is_digit(s[j]))
		j++;
	return j - i;
}

/* Length of the separator that starts at s[i] (0: none); its class goes to
 * *cls.  Besides '-', '.' and ' ': the Unicode hyphens and dashes word
 * processors substitute (U+2010-2014, U+2212, U+FE63, U+FF0D) and the
 * no-break spaces (U+00A0, U+2009, U+202F). */
static size_t sep_at(const unsigned char *s, size_t i, size_t len, int *cls)
{
	if (i >= len)
		return 0;
	switch (s[i]) {
	case '-':
		*cls = SEP_DASH;
		return 1;
	case '.':
		*cls = SEP_DOT;
		return 1;
	case ' ':
		*cls = SEP_SPACE;
		return 1;
	case 0xC2:
		if (i + 1 < len && s[i + 1] == 0xA0) {
			*cls = SEP_SPACE;
			return 2;
		}
		return 0;
	case 0xE2:
		if (i + 2 >= len)
			return 0;
		if (s[i + 1] == 0x80 && s[i + 2] >= 0x90 && s[i + 2] <= 0x94) {
			*cls = SEP_DASH;
			return 3;
		}
		if (s[i + 1] == 0x80 &&
		    (s[i + 2] == 0x89 || s[i + 2] == 0xAF)) {
			*cls = SEP_SPACE;
			return 3;
		}
		if (s[i + 1] == 0x88 && s[i + 2] == 0x92) {
			*cls = SEP_DASH;
			return 3;
		}
		return 0;
	case 0xEF:
		if (i + 2 >= len)
			return 0;
		if ((s[i + 1] == 0xB9 && s[i + 2] == 0xA3) ||
		    (s[i + 1] == 0xBC && s[i + 2] == 0x8D)) {
			*cls = SEP_DASH;
			return 3;
		}
		return 0;
	default:
		return 0;
	}
}

/* Length of a separator that ends just before s[p] (0: none). */
static size_t sep_before(const unsigned char *s, size_t p, size_t len,
			 int *cls)
{
	for (size_t k = 1; k <= 3 && k <= p; k++)
		if (sep_at(s, p - k, len, cls) == k)
			return k;
	return 0;
}

/* ---- what counts as a number ------------------------------------------- */

/* Whether the number starting at s[p] stands on its own to the left.  Not
 * after a letter or '_' ("A123-45-6789"), '+' (a phone's country code), or
 * a digit and a dash, dot or '/' ("4111-123-45-6789", "1.123.45.6789");
 * a spaced number not after a digit and a space either ("+49 123 45
 * 6789").  A letter before a dash ("ID-123-45-6789") is a prefix, not a
 * longer number.  Digits below `redacted` belong to a number already
 * replaced: they glue nothing, as its replacement will not on a second
 * pass. */
static int left_ok(const unsigned char *s, size_t p, size_t len, int form,
		   size_t redacted)
{
	size_t k;
	int cls = SEP_NONE;

	if (p == 0)
		return 1;
	if (is_alpha(s[p - 1]) || s[p - 1] == '_' || s[p - 1] == '+')
		return 0;
	if (s[p - 1] == '/') {
		k = 1;
		cls = SEP_DASH;
	} else {
		k = sep_before(s, p, len, &cls);
	}
	if (k && p > k && is_digit(s[p - k - 1]) && p - k - 1 >= redacted &&
	    (cls != SEP_SPACE || form == SEP_SPACE))
		return 0;
	return 1;
}

/* The same to the right of the number's end e: not before a letter or
 * '_', nor a separator or '/' and a digit ("123-45-6789-0001",
 * "123.45.6789.1"), nor '-' and a letter ("123-45-6789-B").  A spaced
 * number before a space and a digit is decided by the caller: *next is
 * set to that digit's offset (else 0). */
static int right_ok(const unsigned char *s, size_t e, size_t len, int form,
		    size_t *next)
{
	size_t k;
	int cls = SEP_NONE;

	*next = 0;
	if (e >= len)
		return 1;
	if (is_alpha(s[e]) || s[e] == '_')
		return 0;
	if (s[e] == '/') {
		k = 1;
		cls = SEP_DASH;
	} else {
		k = sep_at(s, e, len, &cls);
	}
	*next = 0;
	if (!k || e + k >= len)
		return 1;
	if (is_digit(s[e + k]) && cls == SEP_SPACE && form == SEP_SPACE)
		*next = e + k;
	else if (is_digit(s[e + k]) && cls != SEP_SPACE)
		return 0;
	if (s[e] == '-' && is_alpha(s[e + k]))
		return 0;
	return 1;
}

/* For a three-digit run at s[p], the end of a separated number
 * ddd S dd S dddd (both S the same bytes), or 0.  Its class goes to
 * *form, its nine digits to d. */
static size_t separated_end(const unsigned char *s, size_t p, size_t len,
			    int *form, unsigned char d[9])
{
	size_t i = p + 3, k;
	int cls;

	k = sep_at(s, i, len, &cls);
	if (!k || i + k + 2 > len)
		return 0;
	i += k;
	if (!is_digit(s[i]) || !is_digit(s[i + 1]))
		return 0;
	i += 2;
	if (i + k + 4 > len || memcmp(s + i, s + p + 3, k))
		return 0;
	i += k;
	if (digit_run(s, i, len) != 4)
		return 0;
	memcpy(d, s + p, 3);
	memcpy(d + 3, s + p + 3 + k, 2);
	memcpy(d + 5, s + i, 4);
	*form = cls;
	return i + 4;
}

/* Whether the SSA could have issued the number (area, group, serial). */
static int plausible(const unsigned char d[9])
{
	int area = (d[0] - '0') * 100 + (d[1] - '0') * 10 + (d[2] - '0');

	if (area == 0 || area == 666 || area >= 900)
		return 0;
	if (d[3] == '0' && d[4] == '0')
		return 0;
	return memcmp(d + 5, "0000", 4) != 0;
}

/* ---- context for bare numbers ------------------------------------------ */

/* Lower-case words that announce an SSN.  A ' ' matches a run of blanks,
 * dots, dashes or underscores ("Soc. Sec.", "social-security"); a trailing
 * '*' lets the last word go on ("taxpayer identification"); otherwise a
 * letter may not follow. */
static const char *const context_words[] = {
	"ssn", "ssns", "ss#", "ss #", "ss no", "ss num*", "ssa",
	"social security*", "soc sec*", "taxpayer id*", "tin", "itin",
	"seguro social*", NULL
};

static int is_gap(unsigned c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '.' ||
	       c == '-' || c == '_';
}

/* End of context word w matched at s[i..lim), or 0. */
static size_t word_at(const unsigned char *s, size_t i, size_t lim,
		      const char *w)
{
	for (; *w && *w != '*'; w++) {
		if (*w == ' ') {
			if (i >= lim || !is_gap(s[i]))
				return 0;
			while (i < lim && is_gap(s[i]))
				i++;
			continue;
		}
		if (i >= lim || (s[i] | (is_alpha(s[i]) ? 0x20 : 0)) !=
				    (unsigned char)*w)
			return 0;
		i++;
	}
	if (*w == '*') {
		while (i < lim && is_alpha(s[i]))
			i++; /* the word ends where its letters do */
	} else if (is_alpha(w[-1]) && i < lim && is_alpha(s[i])) {
		return 0;
	}
	return i;
}

/* Words that may follow a context word and belong to it: the window is
 * counted from the end of "Social Security Number", not of "Security". */
static const char *const number_words[] = {
	" number", " numbers", " no", " num", " #", "#", " card", " id", NULL
};

/* Whether win[0..n) holds an s, t or i, the initials of every context
 * word: tables of bare numbers have none, and are then passed over eight
 * bytes at a time. */
static int has_initial(const unsigned char *win, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t w, a, b, c;

		memcpy(&w, win + i, 8);
		w |= ONES * 0x20;
		a = w ^ (ONES * 's');
		b = w ^ (ONES * 't');
		c = w ^ (ONES * 'i');
		/* A zero byte in a, b or c is a match. */
		if (((a - ONES) & ~a) & HIGHS || ((b - ONES) & ~b) & HIGHS ||
		    ((c - ONES) & ~c) & HIGHS)
			return 1;
	}
	for (; i < n; i++)
		if ((win[i] | 0x20) == 's' || (win[i] | 0x20) == 't' ||
		    (win[i] | 0x20) == 'i')
			return 1;
	return 0;
}

#define MAX_WINDOW 1000
#define CONTEXT_SLACK 40 /* room for the context word itself */

/* One scan of one text. */
struct scan {
	const struct ssn *c;
	const unsigned char *s;
	size_t len;
	gs_buf *out;      /* the redacted text up to `copied` */
	size_t copied;    /* s[0..copied) is in out */
	size_t last_end;  /* end of the last redacted number */
	long n;           /* numbers redacted so far */
};

/* Whether a context word ends at most `window` bytes before the number at
 * s[p].  The bytes searched are those a second pass would see: the
 * redacted output so far, then the text since the last replacement.  So
 * distances shrink as they will, and replacements ("[SSN]") are skipped
 * rather than taken for context words; a second pass then finds nothing
 * new. */
static int has_context(const struct scan *st, size_t p)
{
	const struct ssn *c = st->c;
	const unsigned char *rep = (const unsigned char *)c->replacement;
	size_t rl = c->mask == MASK_NONE ? c->replen : 0;
	unsigned char win[MAX_WINDOW + CONTEXT_SLACK];
	size_t need = c->window + CONTEXT_SLACK, n = 0, tail;

	tail = p - st->copied < need ? p - st->copied : need;
	if (tail < need && st->out->len) {
		n = need - tail < st->out->len ? need - tail : st->out->len;
		memcpy(win, st->out->data + st->out->len - n, n);
	}
	memcpy(win + n, st->s + p - tail, tail);
	p = n + tail;
	if (!has_initial(win, p))
		return 0;
	/* Nearest first: in a list of SSNs the first word tried is it. */
	for (size_t i = p; i-- > 0;) {
		if (rl && win[i] == rep[rl - 1] && i + 1 >= rl &&
		    !memcmp(win + i + 1 - rl, rep, rl)) {
			i -= rl - 1;
			continue;
		}
		/* Every context word starts with s, t or i. */
		if (((win[i] | 0x20) != 's' && (win[i] | 0x20) != 't' &&
		     (win[i] | 0x20) != 'i') || (i > 0 && is_alpha(win[i - 1])))
			continue;
		for (size_t w = 0; context_words[w]; w++) {
			size_t e = word_at(win, i, p, context_words[w]), f;

			if (!e)
				continue;
			for (size_t k = 0; number_words[k]; k++)
				if ((f = word_at(win, e, p,
						 number_words[k])) > e)
					e = f;
			if (e + c->window >= p)
				return 1;
		}
	}
	return 0;
}

/* Whether s[from..p) only separates list items: blanks, punctuation and
 * "and"/"or", so "SSNs: 123456789, 234567890 and 345678901" carries the
 * context of its first number to the others. */
static int list_gap(const unsigned char *s, size_t from, size_t p)
{
	size_t i = from;

	while (i < p) {
		unsigned c = s[i];

		if (is_alpha(c)) {
			size_t j = i;

			while (j < p && is_alpha(s[j]))
				j++;
			if (!((j - i == 3 && !memcmp(s + i, "and", 3)) ||
			      (j - i == 2 && !memcmp(s + i, "or", 2))))
				return 0;
			i = j;
		} else if (is_digit(c) || c >= 0x80) {
			return 0;
		} else {
			i++;
		}
	}
	return 1;
}

/* ---- scanning ---------------------------------------------------------- */

static int emit(const struct ssn *c, gs_buf *out, const unsigned char *s,
		size_t start, size_t end)
{
	int nd = 0;

	if (c->mask == MASK_NONE)
		return gs_buf_append(out, c->replacement, c->replen);
	if (gs_buf_reserve(out, end - start) < 0)
		return GS_ENOMEM;
	for (size_t i = start; i < end; i++) {
		char ch = (char)s[i];

		if (is_digit(s[i]) && (c->mask == MASK_ALL || nd++ < 5))
			ch = '*';
		out->data[out->len++] = ch;
	}
	out->data[out->len] = '\0';
	return GS_OK;
}

/* End of the SSN whose digits start at s[i], or 0.  `look` allows one
 * look ahead: a spaced number followed by a space and a digit stands on
 * its own only when an SSN of another form starts there ("123 45 6789
 * 234-56-7890" is two numbers, "123 45 6789 0" one longer one). */
static size_t match_at(const struct scan *st, size_t i, int look)
{
	const struct ssn *c = st->c;
	const unsigned char *s = st->s;
	size_t run = digit_run(s, i, st->len), end = 0, next;
	int form = FORM_BARE;
	unsigned char d[9];

	if (run == 3) {
		end = separated_end(s, i, st->len, &form, d);
	} else if (run == 9 && c->window) {
		end = i + 9;
		memcpy(d, s + i, 9);
	}
	if (!end || !left_ok(s, i, st->len, form, st->n ? st->last_end : 0) ||
	    !right_ok(s, end, st->len, form, &next) ||
	    (next && (!look || !match_at(st, next, 0))) ||
	    (c->validate && !plausible(d)))
		return 0;
	if (form == FORM_BARE && !has_context(st, i) &&
	    !(st->n && i - st->last_end <= c->window &&
	      list_gap(s, st->last_end, i)))
		return 0;
	return end;
}

/* Bit k set when s[k] is a digit, k < n (n <= 64). */
static uint64_t digit_mask(const unsigned char *s, size_t n)
{
	uint64_t m = 0;
	size_t k = 0;

#ifdef SSN_SSE2
	/* SSE2 is part of x86-64: no run-time check.  Bytes of 0x80 and
	 * over are negative here, so below '0'. */
	const __m128i lo = _mm_set1_epi8('0' - 1), hi = _mm_set1_epi8('9' + 1);

	for (; k + 16 <= n; k += 16) {
		__m128i v = _mm_loadu_si128((const void *)(s + k));

		m |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_and_si128(
			     _mm_cmpgt_epi8(v, lo), _mm_cmplt_epi8(v, hi)))
		     << k;
	}
#endif
	for (; k < n; k++)
		m |= (uint64_t)is_digit(s[k]) << k;
	return m;
}

/* The next run of digits from i on that may start a number, as scan's
 * loop saw them one at a time: the run at i itself (it may be the rest
 * of a longer one), then whole runs; only a run of three digits, or of
 * nine where `nine`, is returned (its length in *run), else len.  Digits
 * come every few dozen bytes in ordinary text (dates, prices, counts):
 * runs are found 64 bytes at a time from a bit mask, not a byte at a
 * time. */
static size_t next_run(const unsigned char *s, size_t i, size_t len,
		       int nine, size_t *run)
{
	size_t n;

	if (i < len && is_digit(s[i])) {
		n = digit_run(s, i, len);
		if (n == 3 || (n == 9 && nine)) {
			*run = n;
			return i;
		}
		i += n;
	}
	while (i < len) {
		size_t w = len - i < 64 ? len - i : 64;
		uint64_t d = digit_mask(s + i, w);
		/* starts: digits after a non-digit; a digit at bit 0 right
		 * after one continues a run already counted */
		uint64_t st = d & ~(d << 1);

		if (i > 0 && is_digit(s[i - 1]))
			st &= ~1ull;
		for (; st; st &= st - 1) {
			unsigned k = (unsigned)__builtin_ctzll(st);
			uint64_t rest = ~(d >> k);

			/* ones from bit k; a run that reaches the block's
			 * end is counted on from the bytes */
			n = rest ? (size_t)__builtin_ctzll(rest) : 64 - k;
			if (k + n >= w)
				n = digit_run(s, i + k, len);
			if (n == 3 || (n == 9 && nine)) {
				*run = n;
				return i + k;
			}
		}
		i += w;
	}
	return len;
}

/* Appends the redacted text to out once something matched; returns the
 * number of redactions (out untouched when 0) or GS_ENOMEM. */
/* A gs_rewrite_fn: appends the redacted text to out, returns the count. */
static long scan(void *inst, const char *text, size_t len, gs_buf *out)
{
	const struct ssn *c = inst;
	struct scan st = { c, (const unsigned char *)text, len, out, 0, 0, 0 };
	size_t i = 0, end, run;

	/* Only three digits (ddd-dd-dddd) or nine (bare) can start one:
	 * other runs (years, prices, counts) are passed over without a look
	 * around them. */
	while ((i = next_run(st.s, i, len, c->window != 0, &run)) < len) {
		if (!(end = match_at(&st, i, 1))) {
			i += run;
			continue;
		}
		/* at the first, room for the whole text: doubling from
		 * nothing copied a 64 KiB one about twice over */
		if ((!st.n && gs_buf_reserve(out, len + len / 16 + 64) < 0) ||
		    gs_buf_append(out, text + st.copied, i - st.copied) < 0 ||
		    emit(c, out, st.s, i, end) < 0)
			return GS_ENOMEM;
		st.n++;
		st.copied = st.last_end = i = end;
	}
	if (st.n && gs_buf_append(out, text + st.copied, len - st.copied) < 0)
		return GS_ENOMEM;
	return st.n;
}

/* ---- plugin ------------------------------------------------------------ */

static void ssn_destroy(void *inst)
{
	struct ssn *c = inst;

	gs_free(c->replacement);
	gs_free(c);
}

static int ssn_create(gs_config *cfg, void **out)
{
	static const char *const masks[] = { "none", "last4", "all", NULL };
	struct ssn *c = gs_calloc(1, sizeof *c);
	const char *rep;
	long window;
	int rc;

	if (!c)
		return GS_ENOMEM;
	if ((rc = gs_config_str(cfg, "replacement", "[SSN]", &rep)) < 0 ||
	    (rc = gs_config_enum(cfg, "mask", masks, MASK_NONE,
				 &c->mask)) < 0 ||
	    (rc = gs_config_bool(cfg, "validate", 1, &c->validate)) < 0 ||
	    (rc = gs_config_long(cfg, "context_window", 0, MAX_WINDOW, 30,
				 &window)) < 0)
		goto fail;
	c->window = (size_t)window;
	c->replen = strlen(rep);
	if (gs_utf8_check(rep, c->replen) != c->replen) {
		rc = gs_config_error(cfg, "replacement", "not valid UTF-8");
		goto fail;
	}
	if (c->mask != MASK_NONE && gs_config_has(cfg, "replacement")) {
		rc = gs_config_error(cfg, "mask", "mask = %s replaces the "
				     "digits; it cannot be combined with "
				     "replacement", masks[c->mask]);
		goto fail;
	}
	if (!(c->replacement = gs_strndup(rep, c->replen))) {
		rc = GS_ENOMEM;
		goto fail;
	}
	*out = c;
	return GS_OK;
fail:
	ssn_destroy(c);
	return rc;
}

static gs_result ssn_run(void *inst, gs_ctx *ctx)
{
	return gs_text_rewrite(ctx, scan, inst);
}

GS_PLUGIN_EXPORT const gs_plugin gs_plugin_entry = {
	GS_PLUGIN_HEADER,
	.name = "ssn-redact",
	.description = "replaces US Social Security numbers",
	.version = "1.0",
	.phases = GS_PHASE_REQUEST | GS_PHASE_RESPONSE,
	.flags = GS_PLUGIN_MODIFIES,
	.count_unit = "redactions",
	.create = ssn_create,
	.request = ssn_run,
	.response = ssn_run,
	.destroy = ssn_destroy,
};
