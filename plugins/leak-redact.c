/* SPDX-License-Identifier: MIT */
/*
 * leak-redact - keeps the system prompt out of the answer.
 *
 * Three checks on the answer, in this order:
 *  - canary: with `canary = yes` the request phase adds a random token to
 *    the system prompt; an answer that contains it is rejected whatever
 *    `action` says, since the token appears only if the prompt leaked.
 *  - echo: any run of `min_words` consecutive words of the request's own
 *    system prompt (compared case-, punctuation- and space-blind).  The
 *    prompt's word shingles are hashed into a table once per call, so the
 *    answer is scanned in one pass instead of searched for every phrase.
 *  - pattern: a regular expression, by default "(?i)system prompt:.*".
 * Echoes and pattern matches are redacted or rejected as `action` says.
 */
#include <guardstack/plugin.h>

#include <stdint.h>
#include <string.h>
#include <utf8proc.h>

#define LR_CANARY_BYTES 16
#define LR_CANARY_PREFIX "gs-canary-"
#define LR_DEFAULT_PATTERN "(?i)system prompt:.*"

enum { LR_REDACT = 0, LR_REJECT };
static const char *const lr_actions[] = { "redact", "reject", NULL };

struct lr {
	gs_rx *rx;          /* leak pattern, or NULL */
	int rx_default;     /* it is LR_DEFAULT_PATTERN: lr_default_run */
	char *replacement;
	size_t min_words;
	int action;
	int canary;
	uint64_t seed;      /* keys the word hash, so collisions cannot be
			     * planned from outside */
};

/* One word of a text, and where its normalised form is kept. */
struct lr_word {
	size_t start, end;  /* byte span in the source text */
	size_t noff, nlen;  /* normalised bytes in lr_words.norm */
	uint64_t h;
};

struct lr_words {
	struct lr_word *w;
	size_t n, cap;
	gs_buf norm;
};

/* ---- words ------------------------------------------------------------ */

/* Letters, marks and digits make words; everything else separates them,
 * so "System-Prompt," and "system prompt" compare equal.  For c >= 0x80;
 * ASCII is lr_ascii_fold's. */
static int lr_word_char(utf8proc_int32_t c)
{
	switch (utf8proc_category(c)) {
	case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL:
	case UTF8PROC_CATEGORY_LT: case UTF8PROC_CATEGORY_LM:
	case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_MN:
	case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME:
	case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL:
	case UTF8PROC_CATEGORY_NO:
		return 1;
	default:
		return 0;
	}
}

/* An ASCII letter lower-cased or a digit as it is; 0 for any other byte
 * (non-ASCII ones included). */
static inline unsigned lr_ascii_fold(unsigned char c)
{
	unsigned l = c | 0x20u;

	if (l - 'a' < 26u)
		return l;
	return (unsigned)c - '0' < 10u ? c : 0;
}

static uint64_t lr_mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* A word's hash, fed its normalised bytes as they are written: eight at a
 * time go through one keyed mix, so a short word costs one mix instead of
 * a multiply per byte, and nothing reads the word back. */
struct lr_hasher {
	uint64_t h, acc;
	unsigned sh;
};

static inline void lr_hash_start(struct lr_hasher *hs, uint64_t seed)
{
	hs->h = seed;
	hs->acc = 0;
	hs->sh = 0;
}

static inline void lr_hash_byte(struct lr_hasher *hs, unsigned c)
{
	hs->acc |= (uint64_t)c << hs->sh;
	hs->sh += 8;
	if (hs->sh == 64) {
		hs->h = lr_mix(hs->h ^ hs->acc);
		hs->acc = 0;
		hs->sh = 0;
	}
}

/* The hash of a word of n bytes, h having mixed its whole chunks and
 * acc holding the rest: a partial chunk leaves the top byte free for the
 * length.  Both tokenizers end a word here, so their hashes agree. */
static inline uint64_t lr_hash_fin(uint64_t h, uint64_t acc, size_t n)
{
	return lr_mix(h ^ acc ^ ((uint64_t)(n & 0xff) << 56));
}

static inline uint64_t lr_hash_end(const struct lr_hasher *hs, size_t n)
{
	return lr_hash_fin(hs->h, hs->acc, n);
}

static void lr_words_free(struct lr_words *ws)
{
	gs_free(ws->w);
	gs_buf_free(&ws->norm);
	memset(ws, 0, sizeof(*ws));
}

/* Room for one more word: the slot, or NULL when out of memory. */
static inline struct lr_word *lr_word_new(struct lr_words *ws)
{
	if (ws->n == ws->cap) {
		size_t cap = ws->cap ? 2 * ws->cap : 64;
		struct lr_word *w = gs_realloc(ws->w, cap * sizeof(*w));

		if (!w)
			return NULL;
		ws->w = w;
		ws->cap = cap;
	}
	return &ws->w[ws->n++];
}

static int lr_push(struct lr_words *ws, struct lr_word *cur, size_t end,
		   const struct lr_hasher *hs)
{
	struct lr_word *w = lr_word_new(ws);

	if (!w)
		return GS_ENOMEM;
	cur->end = end;
	cur->nlen = ws->norm.len - cur->noff;
	cur->h = lr_hash_end(hs, cur->nlen);
	*w = *cur;
	return GS_OK;
}

/* Eight bytes from p as the hasher packs them (p[0] lowest). */
static inline uint64_t lr_load8(const char *p)
{
	uint64_t x;

	memcpy(&x, p, 8);
	if (__BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__)
		x = __builtin_bswap64(x);
	return x;
}

/* Adds the word whose n normalised bytes are at ws->norm.data + noff,
 * from s[start..end), hashed from eight-byte loads: the same hash as
 * lr_hash_byte's, the bytes past the word masked off (the normalised
 * text has eight bytes of room after it). */
static int lr_push_ascii(const struct lr *lr, struct lr_words *ws,
			 size_t start, size_t end, size_t noff)
{
	const char *p = ws->norm.data + noff;
	size_t n = end - start, r = n;
	uint64_t h = lr->seed;
	struct lr_word *w = lr_word_new(ws);

	if (!w)
		return GS_ENOMEM;
	for (; r >= 8; r -= 8, p += 8)
		h = lr_mix(h ^ lr_load8(p));
	w->start = start;
	w->end = end;
	w->noff = noff;
	w->nlen = n;
	w->h = lr_hash_fin(h, r ? lr_load8(p) & ((1ull << 8 * r) - 1) : 0, n);
	return GS_OK;
}

#if defined(__SSE2__)
#define LR_SSE2 1
#include <emmintrin.h>

/* Sixteen ASCII bytes from s lower-cased into d; returns a bit per
 * letter or digit.  (SSE2 is part of x86-64: no run-time check.)  A
 * byte added to 128 - 'a' lands below -128 + 26 exactly when it was a
 * letter: one signed compare tests the range. */
static inline unsigned lr_fold16(const char *s, char *d)
{
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);
	__m128i l = _mm_or_si128(v, _mm_set1_epi8(0x20));
	__m128i letter = _mm_cmplt_epi8(
		_mm_add_epi8(l, _mm_set1_epi8((char)(128 - 'a'))),
		_mm_set1_epi8(-128 + 26));
	__m128i digit = _mm_cmplt_epi8(
		_mm_add_epi8(v, _mm_set1_epi8((char)(128 - '0'))),
		_mm_set1_epi8(-128 + 10));

	_mm_storeu_si128((__m128i *)(void *)d, _mm_or_si128(v,
		_mm_and_si128(letter, _mm_set1_epi8(0x20))));
	return (unsigned)_mm_movemask_epi8(_mm_or_si128(letter, digit));
}
#endif

/* lr_tokenize for ASCII text, where the normalised text can be the text
 * itself lower-cased byte for byte (separators and all: a word is found
 * by its offsets).  Per 64 bytes, one branch-free loop folds them and
 * makes a mask of the word bytes; the words are then read off the mask
 * a run at a time, instead of deciding at every byte whether a word
 * starts or ends there (about one mispredicted branch a word). */
static int lr_tokenize_ascii(const struct lr *lr, const char *s, size_t len,
			     struct lr_words *ws)
{
	gs_buf *nb = &ws->norm;
	size_t base, i, in = (size_t)-1; /* the word's start, if in one */
	char *d;

	if (gs_buf_reserve(nb, len + 8) < 0)
		return GS_ENOMEM;
	base = nb->len;
	d = nb->data + base;
	memset(d + len, 0, 8);
	for (i = 0; i < len; i += 64) {
		size_t nbytes = len - i < 64 ? len - i : 64, pos = 0, k = 0, e;
		uint64_t m = 0, z;

#ifdef LR_SSE2
		for (; k + 16 <= nbytes; k += 16)
			m |= (uint64_t)lr_fold16(s + i + k, d + i + k) << k;
#endif
		for (; k < nbytes; k++) {
			unsigned char c = (unsigned char)s[i + k];
			unsigned a = lr_ascii_fold(c);

			d[i + k] = (char)(a ? a : c);
			m |= (uint64_t)(a != 0) << k;
		}
		while (pos < nbytes) {
			if (in == (size_t)-1) {
				if (!(z = m >> pos))
					break;
				pos += (size_t)__builtin_ctzll(z);
				in = i + pos;
				continue;
			}
			/* the mask is 0 past nbytes: a word ends at the
			 * text's end; none here: it goes on in the next */
			if (!(z = ~m >> pos))
				break;
			e = pos + (size_t)__builtin_ctzll(z);
			if (lr_push_ascii(lr, ws, in, i + e, base + in) < 0)
				return GS_ENOMEM;
			in = (size_t)-1;
			pos = e;
		}
	}
	if (in != (size_t)-1 &&
	    lr_push_ascii(lr, ws, in, len, base + in) < 0)
		return GS_ENOMEM;
	nb->len += len;
	return GS_OK;
}

/* Appends the words of s (valid UTF-8) to ws, lower-cased.  Both the
 * system prompt and the answer go through here on every call.  The
 * normalised text always has room for the rest of s written as it is,
 * so ASCII (one byte in, at most one out) is stored without a check;
 * only a non-ASCII letter, whose lower case may be longer, renews it. */
static int lr_tokenize(const struct lr *lr, const char *s, size_t len,
		       struct lr_words *ws)
{
	struct lr_word cur = { 0, 0, 0, 0, 0 };
	struct lr_hasher hs = { 0, 0, 0 };
	gs_buf *nb = &ws->norm;
	int in = 0;
	size_t i = 0;

	/* valid UTF-8 with a code point a byte is ASCII */
	if (gs_utf8_count(s, len) == len)
		return lr_tokenize_ascii(lr, s, len, ws);
	if (gs_buf_reserve(nb, len) < 0)
		return GS_ENOMEM;
	while (i < len) {
		utf8proc_int32_t c;
		utf8proc_uint8_t enc[4];
		utf8proc_ssize_t k, e;
		unsigned a = (unsigned char)s[i];

		if (a < 0x80) {
			a = lr_ascii_fold((unsigned char)a);
			if (!a) {
				if (in) {
					in = 0;
					if (lr_push(ws, &cur, i, &hs) < 0)
						return GS_ENOMEM;
				}
				i++;
				continue;
			}
			if (!in) {
				cur.start = i;
				cur.noff = nb->len;
				lr_hash_start(&hs, lr->seed);
				in = 1;
			}
			nb->data[nb->len++] = (char)a;
			lr_hash_byte(&hs, a);
			i++;
			continue;
		}
		k = utf8proc_iterate((const utf8proc_uint8_t *)s + i,
				     (utf8proc_ssize_t)(len - i), &c);
		if (k <= 0) { /* cannot happen: texts are checked */
			k = 1;
			c = ' ';
		}
		if (lr_word_char(c)) {
			if (!in) {
				cur.start = i;
				cur.noff = nb->len;
				lr_hash_start(&hs, lr->seed);
				in = 1;
			}
			e = utf8proc_encode_char(utf8proc_tolower(c), enc);
			if (gs_buf_append(nb, (char *)enc, (size_t)e) < 0 ||
			    gs_buf_reserve(nb, len - i - (size_t)k) < 0)
				return GS_ENOMEM;
			for (utf8proc_ssize_t b = 0; b < e; b++)
				lr_hash_byte(&hs, enc[b]);
		} else if (in) {
			in = 0;
			if (lr_push(ws, &cur, i, &hs) < 0)
				return GS_ENOMEM;
		}
		i += (size_t)k;
	}
	if (in && lr_push(ws, &cur, len, &hs) < 0)
		return GS_ENOMEM;
	nb->data[nb->len] = '\0';
	return GS_OK;
}

static int lr_same_word(const struct lr_words *a, size_t i,
			const struct lr_words *b, size_t j)
{
	const struct lr_word *x = &a->w[i], *y = &b->w[j];

	return x->h == y->h && x->nlen == y->nlen &&
	       !memcmp(a->norm.data + x->noff, b->norm.data + y->noff,
		       x->nlen);
}

/* ---- the system prompt's shingles -------------------------------------- */

/* Open-addressing table from shingle hash to the first word of one
 * shingle with that hash.  pos is stored plus one: 0 marks a free slot. */
struct lr_prompt {
	struct lr_words words;
	uint64_t *key;
	size_t *pos;
	size_t mask;
	uint64_t base, top; /* rolling hash: base, base^(N-1) */
};

static void lr_prompt_free(struct lr_prompt *p)
{
	lr_words_free(&p->words);
	gs_free(p->key);
	gs_free(p->pos);
}

static void lr_table_put(struct lr_prompt *p, uint64_t key, size_t pos)
{
	size_t i = (size_t)key & p->mask;

	while (p->pos[i]) {
		if (p->key[i] == key)
			return; /* same shingle seen before: keep the first */
		i = (i + 1) & p->mask;
	}
	p->key[i] = key;
	p->pos[i] = pos + 1;
}

static size_t lr_table_get(const struct lr_prompt *p, uint64_t key)
{
	size_t i = (size_t)key & p->mask;

	while (p->pos[i]) {
		if (p->key[i] == key)
			return p->pos[i];
		i = (i + 1) & p->mask;
	}
	return 0;
}

/* Reads the request's system and developer messages (gs_msg_* still show
 * the request in the response phase) and hashes every run of N words that
 * lies inside one message.  Leaves p->mask 0 when there is none. */
static int lr_prompt_build(const struct lr *lr, gs_ctx *ctx,
			   struct lr_prompt *p)
{
	size_t N = lr->min_words, nseg = 0, cap = 0, slots = 16;
	size_t *seg = NULL; /* first word of each message, then the end */

	memset(p, 0, sizeof(*p));
	p->base = lr_mix(lr->seed ^ 0x9e3779b97f4a7c15ull) | 1;
	p->top = 1;
	for (size_t k = 1; k < N; k++)
		p->top *= p->base;

	for (size_t m = 0; m < gs_msg_count(ctx); m++) {
		const char *role = gs_msg_role(ctx, m), *s;
		size_t len;

		if (!role || (strcmp(role, "system") &&
			      strcmp(role, "developer")))
			continue;
		s = gs_msg_text(ctx, m, &len);
		if (!s)
			continue;
		if (nseg + 2 > cap) {
			size_t *t;

			cap = cap ? 2 * cap : 8;
			t = gs_realloc(seg, cap * sizeof(*t));
			if (!t)
				goto nomem;
			seg = t;
		}
		seg[nseg++] = p->words.n;
		if (lr_tokenize(lr, s, len, &p->words) < 0)
			goto nomem;
	}
	if (p->words.n < N)
		goto done;
	seg[nseg] = p->words.n;

	/* A quarter full at most: most of the answer's shingles are not
	 * the prompt's, and a miss ends at the first free slot. */
	while (slots < 4 * p->words.n)
		slots *= 2;
	p->key = gs_alloc(slots * sizeof(*p->key));
	p->pos = gs_calloc(slots, sizeof(*p->pos));
	if (!p->key || !p->pos)
		goto nomem;
	p->mask = slots - 1;
	for (size_t g = 0; g < nseg; g++) {
		size_t a = seg[g], b = seg[g + 1];
		uint64_t h = 0;

		if (b - a < N)
			continue;
		for (size_t k = a; k < a + N; k++)
			h = h * p->base + p->words.w[k].h;
		lr_table_put(p, h, a);
		for (size_t j = a + 1; j + N <= b; j++) {
			h = (h - p->words.w[j - 1].h * p->top) * p->base +
			    p->words.w[j + N - 1].h;
			lr_table_put(p, h, j);
		}
	}
done:
	gs_free(seg);
	return GS_OK;
nomem:
	gs_free(seg);
	lr_prompt_free(p);
	memset(p, 0, sizeof(*p));
	return GS_ENOMEM;
}

struct lr_spans {
	gs_span *v;
	size_t n, cap;
};

static int lr_span_push(struct lr_spans *sp, size_t start, size_t end)
{
	if (sp->n == sp->cap) {
		size_t cap = sp->cap ? 2 * sp->cap : 4;
		gs_span *v = gs_realloc(sp->v, cap * sizeof(*v));

		if (!v)
			return GS_ENOMEM;
		sp->v = v;
		sp->cap = cap;
	}
	sp->v[sp->n].start = start;
	sp->v[sp->n].end = end;
	sp->n++;
	return GS_OK;
}

/* Finds the runs of the answer's words that repeat the prompt and appends
 * their byte spans to sp, merged: overlapping or touching shingles make
 * one span, so a pasted paragraph is one redaction. */
static int lr_echoes(const struct lr *lr, const struct lr_prompt *p,
		     const char *s, size_t len, struct lr_spans *sp)
{
	struct lr_words a = { NULL, 0, 0, GS_BUF_INIT };
	size_t N = lr->min_words, rs = 0, re = 0; /* run: words [rs, re) */
	uint64_t h = 0;
	int rc = GS_OK;

	if (!p->mask)
		return GS_OK;
	if (lr_tokenize(lr, s, len, &a) < 0) {
		lr_words_free(&a);
		return GS_ENOMEM;
	}
	for (size_t j = 0; j + N <= a.n && rc == 0; j++) {
		size_t pos;
		int same = 1;

		if (j == 0)
			for (size_t k = 0; k < N; k++)
				h = h * p->base + a.w[k].h;
		else
			h = (h - a.w[j - 1].h * p->top) * p->base +
			    a.w[j + N - 1].h;
		pos = lr_table_get(p, h);
		if (!pos)
			continue;
		/* Confirm word by word: a hash match is only a candidate. */
		for (size_t k = 0; k < N && same; k++)
			same = lr_same_word(&p->words, pos - 1 + k, &a, j + k);
		if (!same)
			continue;
		if (re && j <= re) {
			re = j + N;
			continue;
		}
		if (re)
			rc = lr_span_push(sp, a.w[rs].start, a.w[re - 1].end);
		rs = j;
		re = j + N;
	}
	if (rc == 0 && re)
		rc = lr_span_push(sp, a.w[rs].start, a.w[re - 1].end);
	lr_words_free(&a);
	return rc;
}

/* ---- the default pattern, fast ------------------------------------------ */

/* In PCRE2's UTF caseless matching the letters of "system prompt:" have
 * no case partners outside ASCII except "s", which also matches U+017F
 * (long s, bytes C5 BF).  So a match of LR_DEFAULT_PATTERN can only start
 * where that literal stands, in any ASCII case with either form of each
 * "s", and finding the literal needs no regex: the ':' is found with
 * memchr and the rest compared backwards.  PCRE2 then runs from the
 * literal, to take the match exactly as it would have (the ".*" to the
 * line's end); where there is no literal, as in most answers, it does not
 * run at all.  Its caseless first letter (s, S or a two-byte U+017F)
 * defeats PCRE2's own fast scan, which made the regex the dearest part of
 * the response phase. */

/* Length of an "s" (s, S or U+017F) ending just before s[p], or 0. */
static size_t lr_ess_before(const char *s, size_t lo, size_t p)
{
	if (p > lo && (s[p - 1] | 0x20) == 's')
		return 1;
	if (p >= lo + 2 && (unsigned char)s[p - 2] == 0xC5 &&
	    (unsigned char)s[p - 1] == 0xBF)
		return 2;
	return 0;
}

/* Start of the first "system prompt:" that begins at or after from, or
 * (size_t)-1. */
static size_t lr_default_next(const char *s, size_t len, size_t from)
{
	static const char tail[] = " prompt"; /* before the ':' */
	const char *p = s + from, *end = s + len;

	while ((p = memchr(p, ':', (size_t)(end - p)))) {
		size_t q = (size_t)(p - s), k, a;

		p++;
		if (q < from + 13) /* "system prompt" is 13 bytes at least */
			continue;
		for (k = 0; k < 7 && (s[q - 7 + k] | (k ? 0x20 : 0)) ==
				     tail[k]; k++)
			;
		a = q - 7; /* the space; "system" ends here */
		if (k < 7 || (s[a - 1] | 0x20) != 'm' ||
		    (s[a - 2] | 0x20) != 'e' || (s[a - 3] | 0x20) != 't')
			continue;
		a -= 3;
		if (!(k = lr_ess_before(s, from, a)))
			continue;
		a -= k;
		if (a <= from || (s[a - 1] | 0x20) != 'y')
			continue;
		a--;
		if (!(k = lr_ess_before(s, from, a)))
			continue;
		return a - k;
	}
	return (size_t)-1;
}

/* gs_rx_replace (all = 1) or gs_rx_find (all = 0: *out untouched) for
 * LR_DEFAULT_PATTERN, with the same result.  Returns the number of
 * matches replaced (or 1 when one was found), or a negative GS_E*. */
static long lr_default_run(const struct lr *lr, gs_ctx *ctx, const char *s,
			   size_t len, int all, gs_buf *out)
{
	size_t from = 0, copied = 0, at, start0 = out->len;
	long n = 0;
	gs_span g;
	int r;

	while ((at = lr_default_next(s, len, from)) != (size_t)-1) {
		r = gs_rx_find(lr->rx, ctx, s, len, at, &g, 1);
		if (r < 0)
			goto fail;
		if (r == 0 || g.end <= g.start)
			break; /* cannot be: the literal is a match */
		if (!all)
			return 1;
		if (gs_buf_append(out, s + copied, g.start - copied) < 0 ||
		    gs_buf_puts(out, lr->replacement) < 0) {
			r = GS_ENOMEM;
			goto fail;
		}
		copied = from = g.end;
		n++;
	}
	if (n && gs_buf_append(out, s + copied, len - copied) < 0) {
		r = GS_ENOMEM;
		goto fail;
	}
	return n;
fail:
	out->len = start0;
	if (out->data)
		out->data[start0] = '\0';
	return r;
}

/* ---- canary ----------------------------------------------------------- */

/* Whether the canary's digits follow from p[i] on. */
static int lr_canary_at(const unsigned char *p, size_t len, size_t i,
			const char *hex, size_t hlen)
{
	size_t j = 1, k = i + 1;

	if (lr_ascii_fold(p[i]) != (unsigned char)hex[0])
		return 0;
	while (j < hlen && k < len) {
		unsigned c = lr_ascii_fold(p[k++]);

		if (!c)
			continue;
		if (c != (unsigned char)hex[j])
			return 0;
		j++;
	}
	return j == hlen;
}

/* Whether the answer holds the canary's hex digits, also when the model
 * spaced, hyphenated or upper-cased them: the answer's ASCII letters and
 * digits are compared, lower-cased, and every other byte is skipped.  A
 * try starts only where the first digit stands (either case: the OR is a
 * filter, lr_ascii_fold decides), so the text is neither copied nor
 * folded as a whole.  At most strlen(hex) tries cover any byte. */
static int lr_has_canary(const char *s, size_t len, const char *hex)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned h0 = (unsigned char)hex[0];
	size_t i = 0, hlen = strlen(hex);

#ifdef LR_SSE2
	for (; i + 16 <= len; i += 16) {
		__m128i v = _mm_or_si128(_mm_loadu_si128(
			(const __m128i *)(const void *)(p + i)),
			_mm_set1_epi8(0x20));
		unsigned bits = (unsigned)_mm_movemask_epi8(
			_mm_cmpeq_epi8(v, _mm_set1_epi8((char)h0)));

		for (; bits; bits &= bits - 1)
			if (lr_canary_at(p, len, i + (size_t)__builtin_ctz(bits),
					 hex, hlen))
				return 1;
	}
#endif
	for (; i < len; i++)
		if ((p[i] | 0x20u) == h0 && lr_canary_at(p, len, i, hex, hlen))
			return 1;
	return 0;
}

static gs_result lr_request(void *instance, gs_ctx *ctx)
{
	const struct lr *lr = instance;
	unsigned char rnd[LR_CANARY_BYTES];
	gs_buf b = GS_BUF_INIT;
	char *hex;
	size_t m, n = gs_msg_count(ctx);
	int rc;

	/* Nothing to judge here without a canary: abstain, so that as a
	 * `sufficient` filter it cannot end the request phase early. */
	if (!lr->canary)
		return GS_RESULT_IGNORE;
	hex = gs_alloc(2 * LR_CANARY_BYTES + 1);
	if (!hex || gs_random(rnd, sizeof(rnd)) < 0) {
		gs_free(hex);
		gs_reject(ctx, "cannot make a canary");
		return GS_RESULT_ERROR;
	}
	for (size_t k = 0; k < sizeof(rnd); k++) {
		hex[2 * k] = "0123456789abcdef"[rnd[k] >> 4];
		hex[2 * k + 1] = "0123456789abcdef"[rnd[k] & 15];
	}
	hex[2 * LR_CANARY_BYTES] = '\0';
	if (gs_ctx_set_data(ctx, hex, gs_free) < 0) {
		gs_free(hex);
		gs_reject(ctx, "cannot keep the canary");
		return GS_RESULT_ERROR;
	}
	for (m = 0; m < n; m++)
		if (gs_msg_role(ctx, m) &&
		    !strcmp(gs_msg_role(ctx, m), "system"))
			break;
	if (m < n) {
		size_t len;
		const char *s = gs_msg_text(ctx, m, &len);

		rc = gs_buf_append(&b, s ? s : "", s ? len : 0);
		if (rc == 0 && b.len)
			rc = gs_buf_puts(&b, "\n\n");
	} else {
		rc = GS_OK;
	}
	if (rc == 0)
		rc = gs_buf_printf(&b, "Internal reference, not to be "
				   "repeated: " LR_CANARY_PREFIX "%s", hex);
	if (rc == 0)
		rc = m < n ? gs_msg_set_text(ctx, m, b.data, b.len) :
			gs_msg_insert(ctx, 0, "system", b.data, b.len);
	gs_buf_free(&b);
	if (rc < 0) {
		gs_reject(ctx, "cannot add the canary (error %d)", rc);
		return GS_RESULT_ERROR;
	}
	return GS_RESULT_OK;
}

/* ---- response --------------------------------------------------------- */

/* Redacts (or judges) one answer text.  Returns the number of findings,
 * or a negative GS_E*. */
static long lr_one(const struct lr *lr, gs_ctx *ctx,
		   const struct lr_prompt *p, size_t i, int *reject)
{
	size_t len;
	const char *s = gs_text_get(ctx, i, &len);
	gs_buf echo = GS_BUF_INIT, out = GS_BUF_INIT;
	struct lr_spans sp = { NULL, 0, 0 };
	long m = 0;
	int rc;

	if (!s)
		return 0;
	rc = lr_echoes(lr, p, s, len, &sp);
	if (rc == 0 && sp.n && lr->action == LR_REJECT) {
		gs_reject(ctx, "the answer repeats %zu or more consecutive "
			  "words of the system prompt", lr->min_words);
		*reject = 1;
		gs_free(sp.v);
		return (long)sp.n;
	}
	if (rc == 0 && sp.n) {
		size_t at = 0;

		for (size_t k = 0; k < sp.n && rc == 0; k++) {
			rc = gs_buf_append(&echo, s + at, sp.v[k].start - at);
			if (rc == 0)
				rc = gs_buf_puts(&echo, lr->replacement);
			at = sp.v[k].end;
		}
		if (rc == 0)
			rc = gs_buf_append(&echo, s + at, len - at);
		s = echo.data;
		len = echo.len;
	}
	if (rc == 0 && lr->rx && lr->rx_default) {
		m = lr_default_run(lr, ctx, s, len,
				   lr->action != LR_REJECT, &out);
		if (m < 0) {
			rc = (int)m;
		} else if (m > 0 && lr->action == LR_REJECT) {
			gs_reject(ctx, "the answer matches the leak pattern");
			*reject = 1;
		}
	} else if (rc == 0 && lr->rx && lr->action == LR_REJECT) {
		gs_span g;
		int r = gs_rx_find(lr->rx, ctx, s, len, 0, &g, 1);

		if (r < 0) {
			rc = r;
		} else if (r > 0) {
			gs_reject(ctx, "the answer matches the leak pattern");
			*reject = 1;
			m = 1;
		}
	} else if (rc == 0 && lr->rx) {
		m = gs_rx_replace(lr->rx, ctx, s, len, NULL, NULL,
				  lr->replacement, &out);
		if (m < 0)
			rc = (int)m;
	}
	/* The pattern ran on the echo-redacted text, so `out` has both. */
	if (rc == 0 && m > 0 && !*reject)
		rc = gs_text_replace_buf(ctx, i, &out);
	else if (rc == 0 && sp.n)
		rc = gs_text_replace_buf(ctx, i, &echo);
	gs_buf_free(&echo);
	gs_buf_free(&out);
	gs_free(sp.v);
	return rc < 0 ? rc : (long)sp.n + m;
}

static gs_result lr_response(void *instance, gs_ctx *ctx)
{
	const struct lr *lr = instance;
	const char *hex = lr->canary ? gs_ctx_get_data(ctx) : NULL;
	size_t nt = gs_text_count(ctx);
	struct lr_prompt p;
	unsigned long found = 0;
	int reject = 0;

	/* No canary data: the request phase did not run for this filter
	 * (an earlier `sufficient` filter ended it), so nothing to find. */
	for (size_t i = 0; hex && i < nt; i++) {
		size_t len;
		const char *s = gs_text_get(ctx, i, &len);
		if (s && lr_has_canary(s, len, hex)) {
			gs_count(ctx, 1);
			gs_reject(ctx, "the answer contains the system "
				  "prompt's canary");
			return GS_RESULT_REJECT;
		}
	}
	if (lr_prompt_build(lr, ctx, &p) < 0)
		goto fail;
	for (size_t i = 0; i < nt && !reject; i++) {
		long n = lr_one(lr, ctx, &p, i, &reject);

		if (n < 0) {
			lr_prompt_free(&p);
			goto fail;
		}
		found += (unsigned long)n;
	}
	lr_prompt_free(&p);
	gs_count(ctx, found);
	return reject ? GS_RESULT_REJECT : GS_RESULT_OK;
fail:
	gs_reject(ctx, "leak check failed (out of memory or match limit)");
	return GS_RESULT_ERROR;
}

/* ---- configuration ---------------------------------------------------- */

static void lr_destroy(void *instance)
{
	struct lr *lr = instance;

	if (!lr)
		return;
	gs_rx_free(lr->rx);
	gs_free(lr->replacement);
	gs_free(lr);
}

static int lr_create(gs_config *cfg, void **instance)
{
	struct lr *lr = gs_calloc(1, sizeof(*lr));
	const char *pattern, *rep;
	char err[128];
	long words;
	int rc;

	if (!lr)
		return GS_ENOMEM;
	if ((rc = gs_config_str(cfg, "pattern", LR_DEFAULT_PATTERN,
				&pattern)) < 0 ||
	    (rc = gs_config_str(cfg, "replacement", "[REDACTED]", &rep)) < 0 ||
	    (rc = gs_config_long(cfg, "min_words", 3, 1000, 8, &words)) < 0 ||
	    (rc = gs_config_enum(cfg, "action", lr_actions, LR_REDACT,
				 &lr->action)) < 0 ||
	    (rc = gs_config_bool(cfg, "canary", 0, &lr->canary)) < 0)
		goto fail;
	lr->min_words = (size_t)words;
	if (gs_utf8_check(rep, strlen(rep)) != strlen(rep)) {
		gs_config_error(cfg, "replacement", "not valid UTF-8");
		rc = GS_EINVAL;
		goto fail;
	}
	lr->replacement = gs_strndup(rep, strlen(rep));
	if (!lr->replacement) {
		rc = GS_ENOMEM;
		goto fail;
	}
	/* An empty pattern turns the pattern check off. */
	if (*pattern && (rc = gs_rx_compile(&lr->rx, pattern, 0, err,
					    sizeof(err))) < 0) {
		gs_config_error(cfg, "pattern", "%s", err);
		goto fail;
	}
	lr->rx_default = !strcmp(pattern, LR_DEFAULT_PATTERN);
	if (gs_random(&lr->seed, sizeof(lr->seed)) < 0) {
		gs_config_error(cfg, NULL, "no random seed: CSPRNG failed");
		rc = GS_EIO;
		goto fail;
	}
	*instance = lr;
	return GS_OK;
fail:
	lr_destroy(lr);
	return rc;
}

GS_PLUGIN_EXPORT const gs_plugin gs_plugin_entry = {
	GS_PLUGIN_HEADER,
	.name = "leak-redact",
	.description = "redacts or rejects answers that leak the system "
		       "prompt",
	.version = "1",
	.phases = GS_PHASE_REQUEST | GS_PHASE_RESPONSE,
	.flags = GS_PLUGIN_MODIFIES,
	.count_unit = "leaks",
	.create = lr_create,
	.request = lr_request,
	.response = lr_response,
	.destroy = lr_destroy,
};
