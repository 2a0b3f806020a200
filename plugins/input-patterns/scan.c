/* SPDX-License-Identifier: MIT */
/*
 * scan.c - one pass over a text that finds every key word of every rule
 * (literals.c) in its letter stream, so that rules run only near them.
 *
 * The pass keeps the last twelve letters as a 60-bit number.  Per
 * letter it tests one bit of each of two 8 KiB tables: the last four
 * letters hashed (for key words of three to seven letters) and the last
 * eight hashed (for longer ones, so that hundreds of "...instructions"
 * share no bucket with every "tion" of the text).  Only when a bit is
 * set does it look the letters up among the key words' (a table by
 * hash), check a word's last twelve letters with one compare, and the
 * letters of a longer word before those against a ring of recent
 * letters.  A three-letter word is entered under every letter that can
 * come before it.  Bytes that give no letter (spaces, punctuation) cost
 * a table lookup and nothing else; non-ASCII characters are folded as
 * the views fold them.
 */
#include <stdlib.h>
#include <string.h>

#include "ip.h"

#define SC_RING 64           /* letters kept; key words are shorter */
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
	uint32_t len;    /* the word's letters */
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
	uint8_t mark[128]; /* ASCII characters to mark (ip_scanner_mark) */
	int marks;         /* ... some */
	sc_table t4, t8;
	sc_word *word;
	size_t nword;
	uint32_t *rules; /* every word's rules, one block */
	uint8_t *near;   /* per rule: its hits go to ip_hits.p */
};

/* 0 for no letter, else 1..26. */
static unsigned char sc_code(unsigned char c)
{
	return c >= 'a' && c <= 'z' ? (unsigned char)(c - 'a' + 1) : 0;
}

static uint32_t sc_hash(uint64_t gram)
{
	return (uint32_t)((gram * 0x9E3779B97F4A7C15ull) >> 48);
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

	if (!v)
		return GS_ENOMEM;
	t->entry = v;
	v += t->n++;
	v->key = key;
	v->tail = tail;
	v->word = word;
	v->len = w->len;
	v->rules = (uint32_t)(w->rules - sc->rules);
	v->nrules = w->nrules;
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

/* Sorts a table's entries by hash and indexes the buckets. */
static int sc_table_index(sc_table *t)
{
	sc_entry *v;
	size_t k, j;
	uint32_t b;

	/* a counting sort by bucket (less than one entry a bucket), then
	 * each bucket by insertion: qsort was a third of building the
	 * scanner */
	if (!t->n)
		return GS_OK;
	if (!(v = gs_alloc(t->n * sizeof *v)))
		return GS_ENOMEM;
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

int ip_scanner_new(const ip_lits *lits, size_t nrules, const uint8_t *near,
		   ip_scanner **out)
{
	ip_scanner *sc = gs_calloc(1, sizeof *sc);
	sc_pair *pair = NULL, *grouped = NULL;
	size_t r, k, n = 0, i;
	uint32_t c;

	if (!sc || !(sc->near = gs_calloc(nrules ? nrules : 1, 1))) {
		gs_free(sc);
		return GS_ENOMEM;
	}
	if (near)
		memcpy(sc->near, near, nrules);
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
	gs_free(sc->near);
	gs_free(sc->word);
	gs_free(sc->t4.entry);
	gs_free(sc->t8.entry);
	gs_free(sc);
}

void ip_scanner_mark(ip_scanner *sc, const uint64_t mask[2])
{
	int c;

	for (c = 0; c < 128; c++) {
		sc->mark[c] = (uint8_t)(mask[c >> 6] >> (c & 63) & 1);
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

typedef struct sc_state {
	uint64_t gram;
	uint64_t n;                   /* letters so far */
	unsigned char ring[SC_RING];
	size_t at[SC_RING];           /* where each letter's character starts */
} sc_state;

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

/* The bit was set: which words end here? */
static int sc_verify(const ip_scanner *sc, const sc_table *t, uint64_t key,
		     const sc_state *st, size_t end, ip_hits *out)
{
	uint32_t b = sc_hash(key) >> (16 - SC_BUCKET_BITS);
	size_t lo = t->first[b], hi = t->first[b + 1];

	for (; lo < hi; lo++) {
		const sc_entry *e = &t->entry[lo];
		const sc_word *w;
		uint32_t j, r, tl = (uint32_t)(e->tail >> 60);

		/* the last letters: one compare (letters are never 0, so
		 * a state with fewer letters than the word never passes) */
		if (e->key != key ||
		    (st->gram & ((1ull << 5 * tl) - 1)) !=
		    (e->tail & SC_GRAM12))
			continue;
		if (e->len > st->n)
			continue;
		if (e->len > tl) { /* the rest, from the ring */
			w = &sc->word[e->word];
			for (j = tl; j < w->len; j++)
				if (st->ring[(st->n - 1 - j) % SC_RING] !=
				    w->code[w->len - 1 - j])
					break;
			if (j < w->len)
				continue;
		}
		for (r = 0; r < e->nrules; r++) {
			uint32_t rule = sc->rules[e->rules + r];
			size_t at = st->at[(st->n - e->len) % SC_RING];

			if ((sc->near[rule]
			     ? sc_near_put(out, rule, at, st->n - e->len, st->n)
			     : sc_hits_put(out, rule, at, end, st->n - e->len,
					   st->n)) < 0)
				return GS_ENOMEM;
		}
	}
	return GS_OK;
}

/* The letters so far end in a gram some word ends with (any4 said so):
 * which words end here? */
static int sc_check(const ip_scanner *sc, const sc_state *st, uint32_t h4,
		    size_t end, ip_hits *out)
{
	int rc = GS_OK;

	if (sc_bit(sc->t4.bits, h4))
		rc = sc_verify(sc, &sc->t4, st->gram & SC_GRAM4, st, end, out);
	if (rc == GS_OK && sc_bit(sc->long4, h4) &&
	    sc_bit(sc->t8.bits, sc_hash(st->gram & SC_GRAM8)))
		rc = sc_verify(sc, &sc->t8, st->gram & SC_GRAM8, st, end,
			       out);
	return rc;
}

static inline int sc_step(const ip_scanner *sc, sc_state *st,
			  unsigned char code, size_t at, size_t end,
			  ip_hits *out)
{
	uint32_t h4;

	st->gram = (st->gram << 5 | code) & SC_GRAM12;
	st->ring[st->n % SC_RING] = code;
	st->at[st->n++ % SC_RING] = at;
	h4 = sc_hash(st->gram & SC_GRAM4);
	if (!sc_bit(sc->any4, h4)) /* most letters end here */
		return GS_OK;
	return sc_check(sc, st, h4, end, out);
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

int ip_scanner_run(const ip_scanner *sc, const char *text, size_t len,
		   ip_hits *out)
{
	const unsigned char *s = (const unsigned char *)text;
	sc_state st;
	ip_units scratch = { NULL, 0, 0, 0, 0, 0 };
	size_t i = 0;
	int rc = GS_OK;

	out->ascii = 1;
	out->nm = 0;
	if (len >= UINT32_MAX)
		return GS_ELIMIT;
	if (!sc->t4.n && !sc->t8.n)
		return GS_OK;
	st.gram = 0;
	st.n = 0;
	while (i < len && rc == GS_OK) {
		unsigned char b = s[i];

		if (b < 0x80) {
			/* ASCII, the common case: the state in registers
			 * until a letter passes the first test */
			uint64_t gram = st.gram, n = st.n;

			for (; i < len && s[i] < 0x80; i++) {
				unsigned char c = ip_stream_ascii[s[i]];
				uint32_t h4;

				if (!c) { /* no letter: maybe a mark */
					if (sc->mark[s[i]] && (rc = sc_mark_put(
						out, n, 0, s[i])) < 0)
						break;
					continue;
				}
				c = (unsigned char)(c - 'a' + 1);
				gram = (gram << 5 | c) & SC_GRAM12;
				st.ring[n % SC_RING] = c;
				st.at[n++ % SC_RING] = i;
				h4 = sc_hash(gram & SC_GRAM4);
				if (!sc_bit(sc->any4, h4))
					continue;
				st.gram = gram;
				st.n = n;
				if ((rc = sc_check(sc, &st, h4, i + 1, out)) < 0)
					break;
			}
			st.gram = gram;
			st.n = n;
		} else {
			char letters[IP_MARK_MORE];
			size_t n, k, m;
			int32_t cp = sc_utf8(s + i, len - i, &n);
			size_t at = i;

			out->ascii = 0;
			i += n;
			rc = ip_stream_cp(&scratch, cp, letters, sizeof letters,
					  &m);
			if (rc == GS_OK && sc->marks)
				rc = sc_mark_cp(sc, &scratch, cp, st.n, m, out);
			for (k = 0; k < m && rc == GS_OK; k++)
				rc = sc_step(sc, &st,
					     sc_code((unsigned char)letters[k]),
					     at, i, out);
		}
	}
	ip_units_free(&scratch);
	return rc;
}
