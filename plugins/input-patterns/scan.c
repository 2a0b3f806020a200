/* SPDX-License-Identifier: MIT */
/*
 * scan.c - one pass over a text that finds every key word of every rule
 * (literals.c) in its letter stream, so that rules run only near them.
 *
 * The text's letters are gathered a block at a time (each byte through
 * a 128-entry table, the letters kept and where each came from), then
 * searched: per letter, one bit of an 8 KiB table says whether its last
 * four letters, hashed, end some key word.  Only the letters that pass
 * are looked up among the key words' (by the last four for words of
 * three to seven letters, by the last eight for longer ones, so that
 * hundreds of "...instructions" share no bucket with every "tion" of
 * the text), with a word's last twelve letters checked in one compare
 * and the rest against the letters kept.  A three-letter word is entered
 * under every letter that can come before it.  Where the CPU has
 * AVX-512 (VBMI2), both passes run 64 bytes and 16 letters at a time;
 * the plain loops give the same hits in the same order
 * (tests/unit/test-ip-scan).  Non-ASCII characters are folded as the
 * views fold them, one at a time, and each code point's fold is kept for
 * its next time (sc_memo).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* secure_getenv */
#endif
#include <stdlib.h>
#include <string.h>

#include "ip.h"

#define SC_GRAM4 0xFFFFFull         /* four letters of five bits */
#define SC_GRAM8 0xFFFFFFFFFFull    /* eight */
#define SC_TAIL 12                  /* letters the state keeps, 60 bits */
#define SC_GRAM12 0xFFFFFFFFFFFFFFFull
#define SC_BITS 65536u
#define SC_LONG 8                   /* key words this long use GRAM8 */

/* What a hit needs of its word is in its entry (32 bytes), so that the
 * word itself (sc_word, 80 bytes, seldom in cache) is read only for the
 * letters of a word longer than SC_TAIL. */
typedef struct sc_entry {
	uint64_t key;  /* the word's last 4 (or 8) letters, or 3 + one before */
	uint64_t tail; /* its last SC_TAIL letters at most, and (top 4 bits)
			* how many: one compare with the state checks them */
	uint32_t word;
	uint16_t len;    /* the word's letters */
	uint8_t any;     /* IP_SC_START and IP_SC_END: of some of its rules */
	uint8_t all;     /* ... of all */
	uint32_t rules;  /* its rules: sc->rules[rules .. rules + nrules) */
	uint32_t nrules;
} sc_entry;

typedef struct sc_word {
	unsigned char code[64]; /* letters as 1..26 */
	uint32_t len;
	uint32_t *rules;        /* the rules this word is a key word of */
	uint32_t nrules;
} sc_word;

/* The words found by one of the two grams: a bit per hash of a gram
 * some word ends with, and the entries sorted by hash, a bucket's (the
 * top SC_BUCKET_BITS of the hash) found through `first`. */
#define SC_BUCKET_BITS 12
typedef struct sc_table {
	uint8_t bits[SC_BITS / 8];
	sc_entry *entry;
	size_t n, cap;
	uint32_t first[(1u << SC_BUCKET_BITS) + 1];
} sc_table;

struct ip_scanner {
	/* the last four letters of every word, short or long: the one test
	 * most letters get; then t4 (words of up to seven letters, by their
	 * last four), and, where `long4` says a long word ends in these
	 * four, t8 (by the last eight) */
	uint8_t any4[SC_BITS / 8], long4[SC_BITS / 8];
	/* per ASCII byte: its letter (1..26, 0 for none), and whether to
	 * mark it (ip_scanner_mark) */
	uint8_t code[128];
	uint8_t mark[128];
	int marks;         /* ... some */
	int simd;          /* gather and search with AVX-512 (sc_simd) */
	sc_table t4, t8;
	sc_word *word;
	size_t nword;
	uint32_t *rules; /* every word's rules, one block */
	uint8_t *flag;   /* per rule: IP_SC_NEAR, IP_SC_START, IP_SC_END */
	size_t nrules;
};

static int sc_simd(void);

/* 0 for no letter, else 1..26. */
static unsigned char sc_code(unsigned char c)
{
	return c >= 'a' && c <= 'z' ? (unsigned char)(c - 'a' + 1) : 0;
}

/* 16 bits of a gram of four or eight letters.  A gram of four (20 bits,
 * the one every letter of a text gets) is hashed by one 32-bit multiply,
 * so that sixteen are hashed in one AVX-512 instruction. */
#define SC_MUL 0x9E3779B1u
static uint32_t sc_hash(uint64_t gram)
{
	uint32_t x = (uint32_t)(gram & SC_GRAM4) +
		     (uint32_t)(gram >> 20) * 0x85EBCA6Bu;

	return (x * SC_MUL) >> 16;
}

static void sc_bit_set(uint8_t *bits, uint32_t h)
{
	bits[h >> 3] |= (uint8_t)(1u << (h & 7));
}

static int sc_bit(const uint8_t *bits, uint32_t h)
{
	return bits[h >> 3] & (1u << (h & 7));
}

static int sc_entry_cmp(const void *a, const void *b)
{
	const sc_entry *x = a, *y = b;

	uint32_t hx = sc_hash(x->key), hy = sc_hash(y->key);

	if (hx != hy)
		return (hx > hy) - (hx < hy);
	if (x->key != y->key)
		return (x->key > y->key) - (x->key < y->key);
	return (x->word > y->word) - (x->word < y->word);
}

static int sc_add_entry(const ip_scanner *sc, sc_table *t, uint64_t key,
			uint64_t tail, uint32_t word)
{
	const sc_word *w = &sc->word[word];
	sc_entry *v = ip_grow(t->entry, &t->cap, t->n + 1, sizeof *v, 256);
	uint32_t k;

	if (!v)
		return GS_ENOMEM;
	t->entry = v;
	v += t->n++;
	v->key = key;
	v->tail = tail;
	v->word = word;
	v->len = (uint16_t)w->len;
	v->rules = (uint32_t)(w->rules - sc->rules);
	v->nrules = w->nrules;
	v->any = 0;
	v->all = IP_SC_START | IP_SC_END;
	for (k = 0; k < w->nrules; k++) {
		v->any |= sc->flag[w->rules[k]] & (IP_SC_START | IP_SC_END);
		v->all &= sc->flag[w->rules[k]];
	}
	sc_bit_set(t->bits, sc_hash(key));
	return GS_OK;
}

/* A word's last SC_TAIL letters (fewer when it is shorter), with their
 * number in the top four bits. */
static uint64_t sc_tail(const sc_word *w)
{
	uint32_t n = w->len < SC_TAIL ? w->len : SC_TAIL, j;
	uint64_t tail = 0;

	for (j = n; j > 0; j--)
		tail = tail << 5 | w->code[w->len - j];
	return tail | (uint64_t)n << 60;
}

/* Sorts a table's entries by hash and indexes the buckets.  One entry
 * more, whose key no gram has, ends them: sc_search reads a bucket's
 * first entry without asking whether it has one. */
static int sc_table_index(sc_table *t)
{
	sc_entry *v;
	size_t k, j;
	uint32_t b;

	/* a counting sort by bucket (less than one entry a bucket), then
	 * each bucket by insertion: qsort was a third of building the
	 * scanner */
	if (!(v = gs_calloc(t->n + 1, sizeof *v)))
		return GS_ENOMEM;
	v[t->n].key = UINT64_MAX;
	memset(t->first, 0, sizeof t->first);
	for (k = 0; k < t->n; k++)
		t->first[(sc_hash(t->entry[k].key) >> (16 - SC_BUCKET_BITS)) +
			 1]++;
	for (b = 0; b < 1u << SC_BUCKET_BITS; b++)
		t->first[b + 1] += t->first[b];
	for (k = 0; k < t->n; k++)
		v[t->first[sc_hash(t->entry[k].key) >>
			   (16 - SC_BUCKET_BITS)]++] = t->entry[k];
	for (b = 1u << SC_BUCKET_BITS; b > 0; b--) /* starts again */
		t->first[b] = t->first[b - 1];
	t->first[0] = 0;
	for (b = 0; b < 1u << SC_BUCKET_BITS; b++)
		for (k = t->first[b] + 1; k < t->first[b + 1]; k++) {
			sc_entry e = v[k];

			for (j = k; j > t->first[b] &&
			     sc_entry_cmp(&v[j - 1], &e) > 0; j--)
				v[j] = v[j - 1];
			v[j] = e;
		}
	gs_free(t->entry);
	t->entry = v;
	t->cap = t->n;
	return GS_OK;
}

/* One key word of one rule, while building. */
typedef struct sc_pair {
	const char *s;
	uint32_t rule;
} sc_pair;

/* Orders the pairs so that equal strings are next to each other, each
 * string's rules in the order they came (ascending): by a hash table of
 * the strings, not a sort (sorting them by strcmp was most of the time a
 * scanner took to build).  *ng: how many strings; out[0..n) the pairs. */
static int sc_pair_group(const sc_pair *pair, size_t n, sc_pair *out)
{
	size_t cap = 16, i, ng = 0, at = 0;
	uint32_t *slot, *first, *gid;
	size_t *count;
	int rc = GS_ENOMEM;

	while (cap < 2 * n)
		cap *= 2;
	slot = gs_calloc(cap, sizeof *slot);
	first = gs_alloc((n ? n : 1) * sizeof *first);
	gid = gs_alloc((n ? n : 1) * sizeof *gid);
	count = gs_calloc(n + 1, sizeof *count);
	if (!slot || !first || !gid || !count)
		goto out;
	for (i = 0; i < n; i++) {
		size_t h = ip_strhash(pair[i].s) & (cap - 1);

		while (slot[h] && strcmp(pair[first[slot[h] - 1]].s,
					 pair[i].s))
			h = (h + 1) & (cap - 1);
		if (!slot[h]) {
			first[ng] = (uint32_t)i;
			slot[h] = (uint32_t)++ng;
		}
		gid[i] = slot[h] - 1;
		count[gid[i]]++;
	}
	for (i = 0; i < ng; i++) { /* counts to starts */
		size_t c = count[i];

		count[i] = at;
		at += c;
	}
	for (i = 0; i < n; i++) /* stable: rules stay ascending */
		out[count[gid[i]]++] = pair[i];
	rc = GS_OK;
out:
	gs_free(slot);
	gs_free(first);
	gs_free(gid);
	gs_free(count);
	return rc;
}

/* Adds a word (its last sizeof code letters) for pairs [i, j), which
 * all have the same string; its rules go to sc->rules + i. */
static void sc_word_add(ip_scanner *sc, const sc_pair *p, size_t i, size_t j)
{
	const char *s = p[i].s;
	size_t n = strlen(s), k;
	sc_word *w;

	if (n > sizeof w->code) /* keep its end */
		s += n - sizeof w->code, n = sizeof w->code;
	w = &sc->word[sc->nword];
	memset(w, 0, sizeof *w);
	w->len = (uint32_t)n;
	for (k = 0; k < n; k++)
		w->code[k] = sc_code((unsigned char)s[k]);
	w->rules = sc->rules + i;
	for (k = i; k < j; k++)
		if (!w->nrules || w->rules[w->nrules - 1] != p[k].rule)
			w->rules[w->nrules++] = p[k].rule;
	sc->nword++;
}

int ip_scanner_new(const ip_lits *lits, size_t nrules, const uint8_t *flag,
		   ip_scanner **out)
{
	ip_scanner *sc = gs_calloc(1, sizeof *sc);
	sc_pair *pair = NULL, *grouped = NULL;
	size_t r, k, n = 0, i;
	uint32_t c;

	if (!sc || !(sc->flag = gs_calloc(nrules ? nrules : 1, 1))) {
		gs_free(sc);
		return GS_ENOMEM;
	}
	if (flag)
		memcpy(sc->flag, flag, nrules);
	sc->nrules = nrules;
	for (c = 0; c < 128; c++)
		sc->code[c] = ip_stream_ascii[c]
			      ? (uint8_t)(ip_stream_ascii[c] - 'a' + 1) : 0;
	sc->simd = sc_simd();
	for (r = 0; r < nrules; r++)
		n += lits[r].n;
	if (!(pair = gs_alloc((n ? n : 1) * sizeof *pair)) ||
	    !(sc->word = gs_alloc((n ? n : 1) * sizeof *sc->word)))
		goto nomem;
	for (r = 0, n = 0; r < nrules; r++)
		for (k = 0; k < lits[r].n; k++) {
			pair[n].s = lits[r].v[k];
			pair[n++].rule = (uint32_t)r;
		}
	if (!(grouped = gs_alloc((n ? n : 1) * sizeof *grouped)) ||
	    !(sc->rules = gs_alloc((n ? n : 1) * sizeof *sc->rules)) ||
	    sc_pair_group(pair, n, grouped) < 0)
		goto nomem;
	for (i = 0; i < n; i = k) {
		for (k = i + 1; k < n && !strcmp(grouped[k].s, grouped[i].s);
		     k++)
			;
		sc_word_add(sc, grouped, i, k);
	}
	gs_free(pair);
	gs_free(grouped);
	pair = grouped = NULL;
	for (k = 0; k < sc->nword; k++) {
		const sc_word *w = &sc->word[k];
		const unsigned char *e = w->code + w->len;
		uint64_t key = 0;
		uint32_t j;

		if (w->len >= SC_LONG) {
			for (j = SC_LONG; j > 0; j--)
				key = key << 5 | e[-(int)j];
			if (sc_add_entry(sc, &sc->t8, key, sc_tail(w),
					 (uint32_t)k) < 0)
				goto nomem;
			sc_bit_set(sc->long4, sc_hash(key & SC_GRAM4));
			sc_bit_set(sc->any4, sc_hash(key & SC_GRAM4));
			continue;
		}
		for (j = w->len < 4 ? 3 : 4; j > 0; j--)
			key = key << 5 | e[-(int)j];
		if (w->len >= 4) {
			if (sc_add_entry(sc, &sc->t4, key, sc_tail(w),
					 (uint32_t)k) < 0)
				goto nomem;
			sc_bit_set(sc->any4, sc_hash(key));
			continue;
		}
		/* three letters: any letter, or none, before them */
		for (c = 0; c <= 26; c++) {
			if (sc_add_entry(sc, &sc->t4, (uint64_t)c << 15 | key,
					 sc_tail(w), (uint32_t)k) < 0)
				goto nomem;
			sc_bit_set(sc->any4, sc_hash((uint64_t)c << 15 | key));
		}
	}
	if (sc_table_index(&sc->t4) < 0 || sc_table_index(&sc->t8) < 0)
		goto nomem;
	*out = sc;
	return GS_OK;
nomem:
	gs_free(pair);
	gs_free(grouped);
	ip_scanner_free(sc);
	return GS_ENOMEM;
}

void ip_scanner_free(ip_scanner *sc)
{
	if (!sc)
		return;
	gs_free(sc->rules);
	gs_free(sc->flag);
	gs_free(sc->word);
	gs_free(sc->t4.entry);
	gs_free(sc->t8.entry);
	gs_free(sc);
}

int ip_scanner_simd(const ip_scanner *sc)
{
	return sc->simd;
}

void ip_scanner_mark(ip_scanner *sc, const uint64_t mask[2])
{
	int c;

	/* never a character of the letter stream: the folds kept by
	 * sc_gather_cp hold only the others */
	for (c = 0; c < 128; c++) {
		sc->mark[c] = (uint8_t)(mask[c >> 6] >> (c & 63) & 1) &
			      !ip_stream_ascii[c];
		sc->marks |= sc->mark[c];
	}
}

static int sc_mark_put(ip_hits *h, uint64_t n, size_t more,
		       unsigned char c)
{
	ip_mark *v = ip_grow(h->m, &h->mcap, h->nm + 1, sizeof *v, 64);

	if (!v)
		return GS_ENOMEM;
	h->m = v;
	h->m[h->nm].n = n;
	h->m[h->nm].more = (uint8_t)more;
	h->m[h->nm++].c = c;
	return GS_OK;
}

/* Marks what one non-ASCII code point folds to (ip_stream_cp left its
 * fold in scratch; a tag character stands for one ASCII character). */
static int sc_mark_cp(const ip_scanner *sc, const ip_units *scratch,
		      int32_t cp, uint64_t n, size_t more, ip_hits *out)
{
	size_t k;
	int rc = GS_OK;

	if (cp >= 0xE0020 && cp <= 0xE007E) {
		unsigned char c = (unsigned char)(cp - 0xE0000);

		return sc->mark[c] ? sc_mark_put(out, n, more, c) : GS_OK;
	}
	for (k = 0; k < scratch->n && rc == GS_OK; k++) {
		int32_t c = scratch->v[k].cp;

		if (c >= 0 && c < 0x80 && sc->mark[c])
			rc = sc_mark_put(out, n, more, (unsigned char)c);
	}
	return rc;
}

static int sc_hits_put(ip_hits *h, uint32_t rule, size_t start, size_t end,
		       uint64_t ls, uint64_t le)
{
	ip_hit *v = ip_grow(h->v, &h->cap, h->n + 1, sizeof *v, 64);

	if (!v)
		return GS_ENOMEM;
	h->v = v;
	h->v[h->n].rule = rule;
	h->v[h->n].ls = ls;
	h->v[h->n].le = le;
	h->v[h->n].start = start;
	h->v[h->n++].end = end;
	return GS_OK;
}

static int sc_near_put(ip_hits *h, uint32_t rule, size_t start, uint64_t ls,
		       uint64_t le)
{
	ip_near *v = ip_grow(h->p, &h->pcap, h->np + 1, sizeof *v, 64);

	if (!v)
		return GS_ENOMEM;
	h->p = v;
	v += h->np++;
	v->rule = rule;
	v->start = (uint32_t)start;
	v->ls = ls;
	v->le = le;
	return GS_OK;
}

/* Letters are gathered a block at a time and then searched, so that
 * neither pass branches on the text: gathering writes every byte's
 * letter and moves on by one only for a letter, and searching notes
 * every letter whose last four pass the first test and moves on only
 * for those.  (Branching per byte on "letter or not" and per letter on
 * the test mispredicted about once a word.)  A block keeps the last
 * SC_HIST letters of the one before it in front, so that a word ending
 * in this block can be read back to its first letter. */
#define SC_HIST 64  /* key words are shorter (sc_word.code) */
#define SC_BLOCK 1024

typedef struct sc_block {
	uint64_t n0;   /* letters of the stream before L[SC_HIST] */
	size_t nl;     /* letters in L, the SC_HIST kept included */
	/* letters as 1..26 (0 before the text's first), and where each
	 * one's character starts in the text */
	unsigned char L[SC_HIST + SC_BLOCK + 64]; /* room to read and write */
	uint32_t at[SC_HIST + SC_BLOCK];          /* a vector past the end */
	uint32_t cand[SC_BLOCK + 16]; /* letter << 16 | hash of its last four */
	/* a kept one's t4 bucket, whether that may hold its word (bit 0)
	 * and t8 (bit 1), and its last eight's hash */
	uint32_t lo[SC_BLOCK], hi[SC_BLOCK];
	uint64_t gram[SC_BLOCK]; /* its last twelve letters (sc_gram12) */
	uint8_t in[SC_BLOCK];
	uint16_t h8[SC_BLOCK];
	struct sc_memo *memo; /* NULL until a text has a non-ASCII byte */
} sc_block;

/* Folding a code point (utf8proc's decomposition, the glyph tables)
 * costs as much as scanning a few hundred ASCII bytes, and text in
 * another script repeats a few hundred or thousand of them: the block
 * keeps the folds of SC_MEMO code points, each in the slot of its low
 * bits (a script's letters are contiguous), with up to SC_MEMO_L letters
 * and SC_MEMO_M ASCII characters that are no letter (those the scanner
 * may mark: ip_scanner_mark marks punctuation only).  Longer folds are
 * not kept. */
#define SC_MEMO 4096
#define SC_MEMO_L 6
#define SC_MEMO_M 4
typedef struct sc_memo {
	int32_t cp;      /* 0 for an empty slot: ASCII never comes here */
	uint8_t n, nm;
	uint8_t l[SC_MEMO_L];   /* letters, as 1..26 */
	unsigned char m[SC_MEMO_M];
} sc_memo;

/* Where the character that starts at s[at] ends. */
static size_t sc_char_end(const unsigned char *s, size_t len, size_t at);

/* Whether the ASCII byte c is a word character (letter, digit or _). */
static unsigned sc_word_byte(unsigned char c)
{
	return ((unsigned)((c | 0x20) - 'a') < 26u) |
	       ((unsigned)(c - '0') < 10u) | (c == '_');
}

/* Whether the key word whose first letter's character starts at s[at] is
 * inside a word: an ASCII letter right after an ASCII letter, digit or _
 * stays right after a word character in either view of input-patterns,
 * so no \b (nor a space, nor a line start) can come between them.  (Not
 * so for other characters: a run of tag characters is read as a word of
 * its own.) */
static unsigned sc_inside_word(const unsigned char *s, size_t at)
{
	return at && s[at] < 0x80 && sc_word_byte(s[at - 1]);
}

/* Whether the key word whose last letter's character ends at s[end] runs
 * on into a word: an ASCII word character right after an ASCII one (as
 * sc_inside_word, the other way).  The letter stream joins words, so
 * "response steps" holds "responses". */
static unsigned sc_runs_on(const unsigned char *s, size_t len, size_t end)
{
	return end < len && s[end - 1] < 0x80 && sc_word_byte(s[end]);
}

/* Whether entry e's key is `key` and its last letters end `gram` (the
 * letters kept: twelve at most), without a branch.  (Letters are never
 * 0, so a text with fewer letters than the word never passes.) */
static inline __attribute__((always_inline)) unsigned
sc_ends(const sc_entry *e, uint64_t key, uint64_t gram)
{
	uint32_t tl = (uint32_t)(e->tail >> 60);

	return (e->key == key) &
	       ((gram & ((1ull << 5 * tl) - 1)) == (e->tail & SC_GRAM12));
}

/* The bucket of a hash, or of a candidate (letter << 16 | hash). */
static uint32_t sc_bucket(uint32_t cand)
{
	return (cand & 0xFFFF) >> (16 - SC_BUCKET_BITS);
}

/* Which words of the bucket [lo, hi) of t end at letter j of the block,
 * whose last letters are `gram` (the bucket's `key`)?  Rules that
 * want their key words to start (end) a word get no hit of one inside a
 * word (running on into one), such as "all" in "small": a seventh of the
 * hits on the bench corpus. */
static int sc_verify(const ip_scanner *sc, const sc_table *t, size_t lo,
		     size_t hi, uint64_t key, uint64_t gram, const sc_block *bk,
		     size_t j, const unsigned char *s, size_t len,
		     ip_hits *out)
{
	uint64_t n = bk->n0 + j + 1 - SC_HIST; /* letters so far */

	for (; lo < hi; lo++) {
		const sc_entry *e = &t->entry[lo];
		const sc_word *w;
		uint32_t k, r, tl = (uint32_t)(e->tail >> 60);
		size_t at, end = 0;
		unsigned drop = 0;

		if (!sc_ends(e, key, gram))
			continue;
		if (e->len > n)
			continue;
		if (e->len > tl) { /* the rest, from the letters kept */
			w = &sc->word[e->word];
			for (k = tl; k < w->len; k++)
				if (bk->L[j - k] != w->code[w->len - 1 - k])
					break;
			if (k < w->len)
				continue;
		}
		at = bk->at[j + 1 - e->len];
		if (e->any) {
			if (e->any & IP_SC_START && sc_inside_word(s, at))
				drop = IP_SC_START;
			if (e->any & IP_SC_END) {
				end = sc_char_end(s, len, bk->at[j]);
				if (sc_runs_on(s, len, end))
					drop |= IP_SC_END;
			}
			if (drop & e->all)
				continue;
		}
		for (r = 0; r < e->nrules; r++) {
			uint32_t rule = sc->rules[e->rules + r];
			unsigned f = sc->flag[rule];

			if (f & drop)
				continue;
			if (f & IP_SC_NEAR) {
				if (sc_near_put(out, rule, at, n - e->len,
						n) < 0)
					return GS_ENOMEM;
				continue;
			}
			if (!end)
				end = sc_char_end(s, len, bk->at[j]);
			if (sc_hits_put(out, rule, at, end, n - e->len, n) < 0)
				return GS_ENOMEM;
			if (!out->found[rule]) {
				out->found[rule] = 1;
				out->fl[out->nfl++] = rule;
			}
		}
	}
	return GS_OK;
}

/* The twelve letters ending at *e as a gram (*e in the low five bits):
 * two loads, and pairs, fours and eights of letters joined in place
 * (a byte at a time was a third of the search). */
static inline __attribute__((always_inline)) uint64_t
sc_gram12(const unsigned char *e)
{
	uint64_t x, y;
	uint32_t z;

	memcpy(&x, e - 7, 8); /* little-endian: e[0] in the top byte */
	memcpy(&z, e - 11, 4);
	if (__BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__) {
		x = __builtin_bswap64(x);
		z = __builtin_bswap32(z);
	}
	x = (x >> 8 & 0x001F001F001F001Full) |
	    (x & 0x001F001F001F001Full) << 5;
	x = (x >> 16 & 0x000003FF000003FFull) |
	    (x & 0x000003FF000003FFull) << 10;
	x = (x >> 32) | (x & 0xFFFFF) << 20;
	y = z;
	y = (y >> 8 & 0x001F001F) | (y & 0x001F001F) << 5;
	y = (y >> 16) | (y & 0x3FF) << 10;
	return x | y << 40;
}

/* Kept candidate k (its letter's last four passed any4, and it may end
 * a word): which words end there?  The filter says which table may hold
 * one and where its t4 bucket is: read again here, the bounds were often
 * out of L1, and the bit tests and hash were done twice. */
static int sc_check(const ip_scanner *sc, const sc_block *bk, size_t k,
		    const unsigned char *s, size_t len, ip_hits *out)
{
	size_t j = bk->cand[k] >> 16;
	uint32_t h4 = bk->cand[k] & 0xFFFF, b;
	uint64_t gram = bk->gram[k];
	int rc = GS_OK;

	if ((bk->in[k] & 1) && sc_bit(sc->t4.bits, h4))
		rc = sc_verify(sc, &sc->t4, bk->lo[k], bk->hi[k],
			       gram & SC_GRAM4, gram, bk, j, s, len, out);
	if (rc == GS_OK && (bk->in[k] & 2)) {
		b = sc_bucket(bk->h8[k]);
		rc = sc_verify(sc, &sc->t8, sc->t8.first[b],
			       sc->t8.first[b + 1], gram & SC_GRAM8, gram, bk,
			       j, s, len, out);
	}
	return rc;
}

#if defined(__x86_64__) && defined(__GNUC__)
#define SC_X86 1
#include <immintrin.h>
#define SC_AVX512 __attribute__((target( \
	"avx512f,avx512bw,avx512dq,avx512vbmi,avx512vbmi2,popcnt")))

/* Gathers 64 ASCII bytes at a time (the byte loop after it takes what
 * is left: a non-ASCII byte, the text's last bytes, a full block): the
 * bytes' letters through a 128-entry table, compressed to the letters,
 * and their offsets likewise. */
SC_AVX512 static int sc_gather_avx512(const ip_scanner *sc, sc_block *bk,
				      const unsigned char *s, size_t len,
				      size_t *i, ip_hits *out)
{
	const __m512i t0 = _mm512_loadu_si512(sc->code);
	const __m512i t1 = _mm512_loadu_si512(sc->code + 64);
	const __m512i m0 = _mm512_loadu_si512(sc->mark);
	const __m512i m1 = _mm512_loadu_si512(sc->mark + 64);
	const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
					       10, 11, 12, 13, 14, 15);
	size_t p = *i, nl = bk->nl;

	while (len - p >= 64 && nl + 64 <= SC_HIST + SC_BLOCK) {
		__m512i v = _mm512_loadu_si512(s + p), c, mv;
		__mmask64 k, mk;
		unsigned q, at = 0;

		if (_mm512_movepi8_mask(v))
			break;
		c = _mm512_permutex2var_epi8(t0, v, t1);
		k = _mm512_test_epi8_mask(c, c);
		mv = _mm512_permutex2var_epi8(m0, v, m1);
		if (sc->marks && (mk = _mm512_test_epi8_mask(mv, mv))) {
			for (; mk; mk &= mk - 1) {
				unsigned b = (unsigned)__builtin_ctzll(mk);
				uint64_t n = bk->n0 + nl - SC_HIST +
					     (uint64_t)__builtin_popcountll(
						     k & ((1ull << b) - 1));

				if (sc_mark_put(out, n, 0, s[p + b]) < 0) {
					*i = p;
					bk->nl = nl;
					return GS_ENOMEM;
				}
			}
		}
		_mm512_storeu_si512(bk->L + nl,
				    _mm512_maskz_compress_epi8(k, c));
		for (q = 0; q < 4; q++) {
			__mmask16 kq = (__mmask16)(k >> 16 * q);
			__m512i pos = _mm512_add_epi32(
				iota, _mm512_set1_epi32((int)(p + 16 * q)));

			_mm512_storeu_si512(bk->at + nl + at,
				_mm512_maskz_compress_epi32(kq, pos));
			at += (unsigned)__builtin_popcount(kq);
		}
		nl += at;
		p += 64;
	}
	*i = p;
	bk->nl = nl;
	return GS_OK;
}

/* Sixteen letters from p, as 32-bit lanes shifted left by `by`. */
SC_AVX512 static __m512i sc_letters16(const unsigned char *p, int by)
{
	return _mm512_sll_epi32(_mm512_cvtepu8_epi32(_mm_loadu_si128(
		(const void *)p)), _mm_cvtsi32_si128(by));
}

/* The block's letters whose last four pass any4, sixteen at a time, as
 * sc_search lists them (letter << 16 | hash): the same grams and hash as
 * its loop. */
SC_AVX512 static size_t sc_cands_avx512(const ip_scanner *sc, sc_block *bk)
{
	const unsigned char *L = bk->L;
	const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
					       10, 11, 12, 13, 14, 15);
	const __m512i mul = _mm512_set1_epi32((int)SC_MUL);
	const __m512i low5 = _mm512_set1_epi32(31);
	const __m512i one = _mm512_set1_epi32(1);
	size_t j, nc = 0, nl = bk->nl;

	for (j = SC_HIST; j < nl; j += 16) {
		__mmask16 ok = nl - j >= 16 ? 0xFFFF
			       : (__mmask16)((1u << (nl - j)) - 1);
		__m512i g = _mm512_or_si512(
			_mm512_or_si512(sc_letters16(L + j - 3, 15),
					sc_letters16(L + j - 2, 10)),
			_mm512_or_si512(sc_letters16(L + j - 1, 5),
					sc_letters16(L + j, 0)));
		__m512i h = _mm512_srli_epi32(_mm512_mullo_epi32(g, mul), 16);
		__m512i w = _mm512_mask_i32gather_epi32(
			_mm512_setzero_si512(), ok, _mm512_srli_epi32(h, 5),
			(const void *)sc->any4, 4);
		__mmask16 k = _mm512_mask_test_epi32_mask(ok, _mm512_srlv_epi32(
			w, _mm512_and_si512(h, low5)), one);

		_mm512_storeu_si512(bk->cand + nc, _mm512_maskz_compress_epi32(
			k, _mm512_or_si512(_mm512_slli_epi32(_mm512_add_epi32(
				iota, _mm512_set1_epi32((int)j)), 16), h)));
		nc += (size_t)__builtin_popcount(k);
	}
	return nc;
}

/* Whether this CPU runs the AVX-512 paths (GUARDSTACK_NO_SIMD set: no,
 * so that the tests run both). */
static int sc_simd(void)
{
	__builtin_cpu_init();
	return !secure_getenv("GUARDSTACK_NO_SIMD") &&
	       __builtin_cpu_supports("avx512f") &&
	       __builtin_cpu_supports("avx512bw") &&
	       __builtin_cpu_supports("avx512dq") &&
	       __builtin_cpu_supports("avx512vbmi") &&
	       __builtin_cpu_supports("avx512vbmi2");
}
#else
static int sc_simd(void)
{
	return 0;
}
#endif

static uint64_t sc_gram4(const unsigned char *L, size_t j)
{
	return (uint64_t)L[j - 3] << 15 | (uint64_t)L[j - 2] << 10 |
	       (uint64_t)L[j - 1] << 5 | L[j];
}

#define SC_AHEAD 8

/* Searches the block's new letters, then keeps its last SC_HIST. */
static int sc_search(const ip_scanner *sc, sc_block *bk,
		     const unsigned char *s, size_t len, ip_hits *out)
{
	const unsigned char *L = bk->L;
	size_t j, k, m, nc = 0;
	int rc = GS_OK;

#ifdef SC_X86
	if (sc->simd)
		nc = sc_cands_avx512(sc, bk);
	else
#endif
		for (j = SC_HIST; j < bk->nl; j++) {
			uint32_t h = sc_hash(sc_gram4(L, j));

			bk->cand[nc] = (uint32_t)j << 16 | h;
			nc += !!sc_bit(sc->any4, h);
		}
	/* Then, without a branch, only the candidates that can end a word
	 * are kept: those whose t4 bucket has more than one entry, or one
	 * that these last letters end, and those whose last eight may end a
	 * long word.  Fewer than half the candidates are, and which is
	 * random: asking sc_check of each mispredicted about once a
	 * candidate.  Most candidates' buckets and entries are not in L1:
	 * ask for the bucket SC_AHEAD candidates ahead, its entries half as
	 * far. */
	for (k = 0, m = 0; k < nc; k++) {
		uint32_t c = bk->cand[k], b = sc_bucket(c), lo, hi, h8;
		uint64_t gram = sc_gram12(L + (c >> 16));
		unsigned k4, k8;

		if (k + SC_AHEAD < nc)
			__builtin_prefetch(&sc->t4.first[sc_bucket(
				bk->cand[k + SC_AHEAD])]);
		if (k + SC_AHEAD / 2 < nc)
			__builtin_prefetch(&sc->t4.entry[sc->t4.first[
				sc_bucket(bk->cand[k + SC_AHEAD / 2])]]);
		lo = sc->t4.first[b];
		hi = sc->t4.first[b + 1];
		h8 = sc_hash(gram & SC_GRAM8);
		k4 = (hi - lo > 1) |
		     sc_ends(&sc->t4.entry[lo], gram & SC_GRAM4, gram);
		k8 = (unsigned)!!sc_bit(sc->long4, c & 0xFFFF) &
		     (unsigned)!!sc_bit(sc->t8.bits, h8);
		bk->cand[m] = c;
		bk->lo[m] = lo;
		bk->hi[m] = hi;
		bk->gram[m] = gram;
		bk->in[m] = (uint8_t)(k4 | k8 << 1);
		bk->h8[m] = (uint16_t)h8;
		m += k4 | k8;
	}
	for (k = 0; k < m && rc == GS_OK; k++)
		rc = sc_check(sc, bk, k, s, len, out);
	memmove(bk->L, bk->L + bk->nl - SC_HIST, SC_HIST);
	memmove(bk->at, bk->at + bk->nl - SC_HIST, SC_HIST * sizeof *bk->at);
	bk->n0 += bk->nl - SC_HIST;
	bk->nl = SC_HIST;
	return rc;
}

/* Decodes one UTF-8 sequence (the core hands over valid UTF-8). */
static int32_t sc_utf8(const unsigned char *p, size_t left, size_t *n)
{
	int32_t c = p[0];
	size_t k, len = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;

	if (len > left || c < 0xC2) {
		*n = 1;
		return 0xFFFD;
	}
	c &= 0x3F >> (len - 1);
	for (k = 1; k < len; k++) {
		if ((p[k] & 0xC0) != 0x80) {
			*n = 1;
			return 0xFFFD;
		}
		c = (c << 6) | (p[k] & 0x3F);
	}
	*n = len;
	return c;
}

static size_t sc_char_end(const unsigned char *s, size_t len, size_t at)
{
	size_t n = 1;

	if (s[at] >= 0x80)
		sc_utf8(s + at, len - at, &n);
	return at + n;
}

/* Gathers the letters of an ASCII run from s[*i] into the block, as many
 * as it has room for, marking what was asked for; stops at the first
 * non-ASCII byte. */
static int sc_gather_ascii(const ip_scanner *sc, sc_block *bk,
			   const unsigned char *s, size_t len, size_t *i,
			   ip_hits *out)
{
	size_t p = *i, nl = bk->nl, stop = len;
	int rc = GS_OK;

	/* each byte writes a letter, so there must be room for each */
#ifdef SC_X86
	if (sc->simd) {
		if ((rc = sc_gather_avx512(sc, bk, s, len, &p, out)) < 0)
			return rc;
		nl = bk->nl;
	}
#endif
	if (stop - p > SC_HIST + SC_BLOCK - nl)
		stop = p + SC_HIST + SC_BLOCK - nl;
	for (; p < stop && s[p] < 0x80; p++) {
		unsigned char c = sc->code[s[p]];

		bk->L[nl] = c;
		bk->at[nl] = (uint32_t)p;
		nl += c != 0;
		if (sc->mark[s[p]] && (rc = sc_mark_put(
			out, bk->n0 + nl - SC_HIST, 0, s[p])) < 0)
			break;
	}
	bk->nl = nl;
	*i = p;
	return rc;
}

/* Keeps the fold ip_stream_cp just left in letters[0..m) and scratch in
 * slot e, when it fits. */
static void sc_memo_put(sc_memo *e, int32_t cp, const char *letters,
			size_t m, const ip_units *scratch)
{
	size_t k;

	e->cp = 0;
	if (m > SC_MEMO_L || (cp >= 0xE0020 && cp <= 0xE007E))
		return; /* too long, or a tag character (sc_mark_cp) */
	e->nm = 0;
	for (k = 0; k < scratch->n; k++) {
		int32_t c = scratch->v[k].cp;

		if (c < 0 || c >= 0x80 || ip_stream_ascii[c])
			continue;
		if (e->nm == SC_MEMO_M)
			return;
		e->m[e->nm++] = (unsigned char)c;
	}
	for (k = 0; k < m; k++)
		e->l[k] = sc_code((unsigned char)letters[k]);
	e->n = (uint8_t)m;
	e->cp = cp;
}

/* Gathers the letters one non-ASCII character at s[*i] folds to. */
static int sc_gather_cp(const ip_scanner *sc, sc_block *bk,
			const unsigned char *s, size_t len, size_t *i,
			ip_units *scratch, ip_hits *out)
{
	char letters[IP_MARK_MORE];
	size_t n, k, m;
	int32_t cp = sc_utf8(s + *i, len - *i, &n);
	uint64_t at = bk->n0 + bk->nl - SC_HIST;
	sc_memo *e;
	int rc = GS_OK;

	if (!bk->memo) /* no memory for it: fold each time */
		bk->memo = gs_calloc(SC_MEMO, sizeof *bk->memo);
	e = bk->memo ? &bk->memo[(uint32_t)cp % SC_MEMO] : NULL;
	*i += n;
	if (e && e->cp == cp) {
		for (k = 0; sc->marks && k < e->nm && rc == GS_OK; k++)
			if (sc->mark[e->m[k]])
				rc = sc_mark_put(out, at, e->n, e->m[k]);
		for (k = 0; k < e->n; k++) {
			bk->L[bk->nl] = e->l[k];
			bk->at[bk->nl++] = (uint32_t)(*i - n);
		}
		return rc;
	}
	rc = ip_stream_cp(scratch, cp, letters, sizeof letters, &m);
	if (rc == GS_OK && e)
		sc_memo_put(e, cp, letters, m, scratch);
	if (rc == GS_OK && sc->marks)
		rc = sc_mark_cp(sc, scratch, cp, at, m, out);
	for (k = 0; k < m && rc == GS_OK; k++) {
		bk->L[bk->nl] = sc_code((unsigned char)letters[k]);
		bk->at[bk->nl++] = (uint32_t)(*i - n);
	}
	return rc;
}

int ip_scanner_run(const ip_scanner *sc, const char *text, size_t len,
		   ip_hits *out)
{
	const unsigned char *s = (const unsigned char *)text;
	sc_block *bk;
	ip_units scratch = { NULL, 0, 0, 0, 0, 0, NULL };
	size_t i = 0;
	int rc = GS_OK;

	out->ascii = 1;
	out->nm = 0;
	if (len >= UINT32_MAX)
		return GS_ELIMIT;
	if (out->fcap < sc->nrules + 1) { /* the scanner's rules, at least */
		size_t cap = sc->nrules + 1;

		gs_free(out->found);
		gs_free(out->fl);
		out->fcap = out->nfl = 0;
		out->found = gs_calloc(cap, 1);
		out->fl = gs_alloc(cap * sizeof *out->fl);
		if (!out->found || !out->fl)
			return GS_ENOMEM;
		out->fcap = cap;
	}
	while (out->nfl) /* the last text's */
		out->found[out->fl[--out->nfl]] = 0;
	if (!sc->t4.n && !sc->t8.n)
		return GS_OK;
	/* 21 KB: kept with the hits rather than on a caller's stack */
	if (!(bk = out->blk)) {
		if (!(bk = out->blk = gs_alloc(sizeof *bk)))
			return GS_ENOMEM;
		bk->memo = NULL;
	}
	memset(bk->L, 0, SC_HIST);
	memset(bk->at, 0, SC_HIST * sizeof *bk->at);
	bk->n0 = 0;
	bk->nl = SC_HIST;
	while (i < len && rc == GS_OK) {
		if (s[i] < 0x80) {
			rc = sc_gather_ascii(sc, bk, s, len, &i, out);
		} else {
			out->ascii = 0;
			rc = sc_gather_cp(sc, bk, s, len, &i, &scratch, out);
		}
		/* search when full (a character gives IP_MARK_MORE letters
		 * at most) or at the end */
		if (rc == GS_OK &&
		    (bk->nl + IP_MARK_MORE > SC_HIST + SC_BLOCK || i == len))
			rc = sc_search(sc, bk, s, len, out);
	}
	ip_units_free(&scratch);
	return rc;
}

void ip_hits_free(ip_hits *h)
{
	gs_free(h->v);
	gs_free(h->p);
	gs_free(h->m);
	gs_free(h->found);
	gs_free(h->fl);
	if (h->blk)
		gs_free(h->blk->memo);
	gs_free(h->blk);
	memset(h, 0, sizeof *h);
}
