/* SPDX-License-Identifier: MIT */
/*
 * test-ip-scan - input-patterns' scanner (scan.c) against a plain
 * reference: the shipped rules' key words (first, second as "near",
 * third as "near") looked up at every letter of the text's letter
 * stream, built here one character at a time.  Every hit the reference
 * finds the scanner must report, with the same letters and bytes, and no
 * other; where a rule's key words start or end a word (as the plugin
 * asks for them), none inside a word or running on into one.  Then the AVX-512 paths against the plain ones (where the CPU
 * has them; GUARDSTACK_NO_SIMD turns them off): the same hits and marks
 * in the same order, on texts long enough to cross the 64-byte and
 * 1024-letter steps, with non-ASCII characters, marks and bytes that are
 * not UTF-8 in between (fixed seed).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/input-patterns/ip.h"
#include "../splitmix.h"
#include "../tap.h"
#include "../utf8enc.h"

static uint64_t seed = 0x7363616e74657374ull;

static uint64_t rnd(void)
{
	return splitmix64(&seed);
}

/* ---- the key words ------------------------------------------------ */

#define RULES_MAX 1024
static ip_lits lits[RULES_MAX], whole[RULES_MAX / 3];
static uint8_t flag[RULES_MAX]; /* IP_SC_* */
static size_t nlits, nwhole;

/* Every word once, with the pseudo-rules it belongs to, by hash. */
typedef struct kw {
	const char *s; /* the scanner keeps a word's last 64 letters */
	size_t len;
	uint32_t rules[64];
	size_t nrules;
	struct kw *next;
} kw;

#define KW_SLOTS 8192
static kw *slot[KW_SLOTS];
static uint8_t has_len[65];

static uint32_t hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static kw *kw_find(const char *s, size_t n)
{
	kw *k;

	for (k = slot[hash(s, n) % KW_SLOTS]; k; k = k->next)
		if (k->len == n && !memcmp(k->s, s, n))
			return k;
	return NULL;
}

static int kw_add(const char *s, uint32_t rule)
{
	size_t n = strlen(s);
	kw *k;

	if (n > 64)
		s += n - 64, n = 64;
	if (!(k = kw_find(s, n))) {
		if (!(k = calloc(1, sizeof *k)))
			return -1;
		k->s = s;
		k->len = n;
		k->next = slot[hash(s, n) % KW_SLOTS];
		slot[hash(s, n) % KW_SLOTS] = k;
		has_len[n] = 1;
	}
	if (k->nrules && k->rules[k->nrules - 1] == rule)
		return 0;
	if (k->nrules == 64)
		return -1;
	k->rules[k->nrules++] = rule;
	return 0;
}

/* The shipped rules, whole, each as three pseudo-rules. */
static int load(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[16384];
	size_t r, k;

	if (!f)
		return -1;
	while (fgets(line, sizeof line, f) && nlits + 3 <= RULES_MAX) {
		char *p = strstr(line, "  ");
		ip_lits l;

		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || !p)
			continue;
		while (*p == ' ')
			p++;
		if (ip_lit_extract(p, &l) <= 0)
			continue;
		whole[nwhole++] = l;
		lits[nlits].v = l.v, lits[nlits].n = l.n;
		flag[nlits++] = (uint8_t)((l.wstart ? IP_SC_START : 0) |
					  (l.wend ? IP_SC_END : 0));
		lits[nlits].v = l.v2, lits[nlits].n = l.n2;
		flag[nlits++] = (uint8_t)(IP_SC_NEAR |
					  (l.wstart2 ? IP_SC_START : 0));
		lits[nlits].v = l.v3, lits[nlits].n = l.n3;
		flag[nlits++] = IP_SC_NEAR;
	}
	fclose(f);
	for (r = 0; r < nlits; r++)
		for (k = 0; k < lits[r].n; k++)
			if (kw_add(lits[r].v[k], (uint32_t)r) < 0)
				return -1;
	return nlits ? 0 : -1;
}

/* ---- the reference ------------------------------------------------ */

/* The letter stream of valid UTF-8, a letter at a time, with the bytes
 * of the character each letter comes from. */
static char *letter;
static size_t *lat, *lend, nletter, capletter;
static ip_units scratch;

static int put(char c, size_t at, size_t end)
{
	if (nletter == capletter) {
		size_t nc = capletter ? 2 * capletter : 4096;

		if (!(letter = realloc(letter, nc)) ||
		    !(lat = realloc(lat, nc * sizeof *lat)) ||
		    !(lend = realloc(lend, nc * sizeof *lend)))
			return -1;
		capletter = nc;
	}
	letter[nletter] = c;
	lat[nletter] = at;
	lend[nletter++] = end;
	return 0;
}

static size_t utf8_len(unsigned char c)
{
	return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

static int stream(const char *s, size_t len)
{
	size_t i = 0, n, k, m;

	nletter = 0;
	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		char out[IP_MARK_MORE];
		int32_t cp;

		if (c < 0x80) {
			if (ip_stream_ascii[c] && put((char)ip_stream_ascii[c],
						      i, i + 1) < 0)
				return -1;
			i++;
			continue;
		}
		n = utf8_len(c);
		cp = c & (0x3F >> (n - 1));
		for (k = 1; k < n; k++)
			cp = cp << 6 | (s[i + k] & 0x3F);
		if (ip_stream_cp(&scratch, cp, out, sizeof out, &m) < 0)
			return -1;
		for (k = 0; k < m; k++)
			if (put(out[k], i, i + n) < 0)
				return -1;
		i += n;
	}
	return 0;
}

/* A hit of either kind, to sort and compare. */
typedef struct any_hit {
	uint64_t ls, le;
	size_t start, end; /* end SIZE_MAX for a near hit */
	uint32_t rule;
} any_hit;

static int hit_cmp(const void *a, const void *b)
{
	const any_hit *x = a, *y = b;

	if (x->le != y->le)
		return x->le < y->le ? -1 : 1;
	if (x->ls != y->ls)
		return x->ls < y->ls ? -1 : 1;
	return (x->rule > y->rule) - (x->rule < y->rule);
}

static any_hit *want, *got;
static size_t nwant, ngot, capwant, capgot;

static int push(any_hit **v, size_t *n, size_t *cap, const any_hit *h)
{
	if (*n == *cap) {
		size_t nc = *cap ? 2 * *cap : 1024;
		any_hit *p = realloc(*v, nc * sizeof *p);

		if (!p)
			return -1;
		*v = p;
		*cap = nc;
	}
	(*v)[(*n)++] = *h;
	return 0;
}

static int word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_';
}

/* Hits the reference left out as inside a word, or running on into one */
static size_t dropped_start, dropped_end;

/* Every key word ending at every letter, as the scanner reports them:
 * not one whose first character is ASCII and comes right after an ASCII
 * word character, where its rule's key words start a word; not one whose
 * last character is ASCII and comes right before one, where they end a
 * word. */
static int reference(const char *s, size_t len)
{
	size_t e, n, r;

	nwant = 0;
	if (stream(s, len) < 0)
		return -1;
	for (e = 1; e <= nletter; e++)
		for (n = 3; n <= 64 && n <= e; n++) {
			kw *k = has_len[n] ? kw_find(letter + e - n, n) : NULL;
			size_t a = lat[e - n], z = lend[e - 1];
			int inside = a > 0 && (unsigned char)s[a] < 0x80 &&
				     word_char(s[a - 1]);
			int runs_on = z < len &&
				      (unsigned char)s[z - 1] < 0x80 &&
				      word_char(s[z]);

			for (r = 0; k && r < k->nrules; r++) {
				unsigned f = flag[k->rules[r]];
				any_hit h = { e - n, e, a, f & IP_SC_NEAR
					      ? SIZE_MAX : z, k->rules[r] };

				if (f & IP_SC_START && inside) {
					dropped_start++;
					continue;
				}
				if (f & IP_SC_END && runs_on) {
					dropped_end++;
					continue;
				}
				if (push(&want, &nwant, &capwant, &h) < 0)
					return -1;
			}
		}
	qsort(want, nwant, sizeof *want, hit_cmp);
	return 0;
}

static int collect(const ip_hits *h)
{
	size_t i;

	ngot = 0;
	for (i = 0; i < h->n; i++) {
		any_hit x = { h->v[i].ls, h->v[i].le, h->v[i].start,
			      h->v[i].end, h->v[i].rule };

		if (push(&got, &ngot, &capgot, &x) < 0)
			return -1;
	}
	for (i = 0; i < h->np; i++) {
		any_hit x = { h->p[i].ls, h->p[i].le, h->p[i].start, SIZE_MAX,
			      h->p[i].rule };

		if (push(&got, &ngot, &capgot, &x) < 0)
			return -1;
	}
	qsort(got, ngot, sizeof *got, hit_cmp);
	return 0;
}

/* ---- texts -------------------------------------------------------- */

static const char *const filler[] = {
	" ", "  ", "\n", ". ", ", ", "-", "the ", "and ", "report ",
	"budget ", "x", "7", "0", "@", "$", "#", "<", ":", "[", "é",
	"\xef\xbd\x89", /* fullwidth i */
	"\xef\xac\x81", /* the fi ligature */
	"\xe2\x80\x8b", /* zero-width space */
	"\xf3\xa0\x81\xa9", /* tag i */
	"\xef\xbc\x83", /* fullwidth # */
	"\xe2\x91\xb4", /* parenthesised 1 */
	"\xf0\x9f\x99\x82", /* an emoji */
	"\xc3\x9f", /* sharp s */
	"\xd1\x96", /* Cyrillic i */
};

/* A random key word, spelt in the text as the stream would read it:
 * case changed, separators or digits for letters now and then. */
static size_t key_text(char *out, size_t cap)
{
	const ip_lits *l = &lits[rnd() % nlits];
	const char *w;
	size_t n = 0;

	if (!l->n)
		return 0;
	for (w = l->v[rnd() % l->n]; *w && n + 8 < cap; w++) {
		unsigned x = (unsigned)(rnd() % 32);

		if (x == 0)
			out[n++] = ' ';
		else if (x == 1)
			out[n++] = '.';
		if (x == 2 && *w == 'o')
			out[n++] = '0';
		else if (x == 3 && *w == 'i')
			memcpy(out + n, "\xef\xbd\x89", 3), n += 3;
		else
			out[n++] = x < 8 ? (char)(*w - 'a' + 'A') : *w;
	}
	return n;
}

static size_t text(char *out, size_t cap, size_t pieces, int valid)
{
	size_t n = 0, k;

	for (k = 0; k < pieces && n + 80 < cap; k++) {
		unsigned x = (unsigned)(rnd() % 16);

		if (x < 6) {
			n += key_text(out + n, cap - n);
		} else if (!valid && x == 6) {
			out[n++] = (char)(0x80 + rnd() % 0x80);
		} else {
			const char *f = filler[rnd() % (sizeof filler /
							sizeof *filler)];

			memcpy(out + n, f, strlen(f));
			n += strlen(f);
		}
	}
	return n;
}

/* ---- the checks --------------------------------------------------- */

/* Field by field: the records have padding. */
static int same_hits(const ip_hits *a, const ip_hits *b)
{
	size_t i;

	if (a->n != b->n || a->np != b->np || a->nm != b->nm ||
	    a->ascii != b->ascii)
		return 0;
	for (i = 0; i < a->n; i++)
		if (a->v[i].rule != b->v[i].rule || a->v[i].ls != b->v[i].ls ||
		    a->v[i].le != b->v[i].le ||
		    a->v[i].start != b->v[i].start ||
		    a->v[i].end != b->v[i].end)
			return 0;
	for (i = 0; i < a->np; i++)
		if (a->p[i].rule != b->p[i].rule || a->p[i].ls != b->p[i].ls ||
		    a->p[i].le != b->p[i].le || a->p[i].start != b->p[i].start)
			return 0;
	for (i = 0; i < a->nm; i++)
		if (a->m[i].n != b->m[i].n || a->m[i].more != b->m[i].more ||
		    a->m[i].c != b->m[i].c)
			return 0;
	return 1;
}

static int same_list(void)
{
	size_t i;

	if (ngot != nwant)
		return 0;
	for (i = 0; i < ngot; i++)
		if (got[i].ls != want[i].ls || got[i].le != want[i].le ||
		    got[i].start != want[i].start ||
		    got[i].end != want[i].end || got[i].rule != want[i].rule)
			return 0;
	return 1;
}

/* Whether found and fl name the rules of h's hits (not its near ones),
 * each once, in the order of their first hits (nrules: the scanner's). */
static int found_right(const ip_hits *h, size_t nrules)
{
	size_t i, k = 0, r;

	for (i = 0; i < h->n; i++) {
		for (r = 0; r < k && h->fl[r] != h->v[i].rule; r++)
			;
		if (r == k && (k == h->nfl || h->fl[k++] != h->v[i].rule))
			return 0;
	}
	if (k != h->nfl)
		return 0;
	for (r = 0; r < nrules; r++) {
		int listed = 0;

		for (i = 0; i < h->nfl; i++)
			listed |= h->fl[i] == r;
		if (h->found[r] != listed)
			return 0;
	}
	return 1;
}

static void against_reference(ip_scanner *sc, int count)
{
	static char buf[16384];
	ip_hits h;
	int i, bad = 0, fail = 0, badfound = 0;
	size_t hits = 0;

	memset(&h, 0, sizeof h);
	dropped_start = dropped_end = 0;
	for (i = 0; i < count && !fail; i++) {
		size_t len = text(buf, sizeof buf, 1 + rnd() % (i % 10 ? 40
							       : 600), 1);

		h.n = h.np = 0;
		if (ip_scanner_run(sc, buf, len, &h) < 0 || collect(&h) < 0 ||
		    reference(buf, len) < 0) {
			fail = 1;
			break;
		}
		hits += nwant;
		badfound += !found_right(&h, nlits);
		if (!same_list()) {
			if (!bad++)
				printf("# differs on \"%.*s\"\n",
				       (int)(len < 200 ? len : 200), buf);
		}
	}
	ok(!fail, "reference: ran");
	is_int(bad, 0, "reference: the scanner finds every key word the "
	       "letter-by-letter lookup finds, and no other (%d texts)",
	       count);
	ok(hits > (size_t)count, "reference: the texts hold key words "
	   "(%zu hits)", hits);
	ok(dropped_start > (size_t)count / 10 && dropped_end > (size_t)count / 10,
	   "reference: ... and key words inside a word (%zu) or running on "
	   "into one (%zu) that their rules do not want", dropped_start,
	   dropped_end);
	is_int(badfound, 0, "reference: found and fl list the rules with "
	       "hits, each once, in the order of their first hits");
	ip_hits_free(&h);
}

/* One ip_hits with a scanner of one rule, then with sc (more rules):
 * the second run's found and fl must be right, with nothing left of the
 * first's. */
static void scanners_in_turn(ip_scanner *sc)
{
	static const char one[] = "please ignore that, ignore it";
	static char buf[4096];
	ip_lits l;
	ip_scanner *small = NULL;
	ip_hits h;
	size_t len;
	int good;

	memset(&l, 0, sizeof l);
	memset(&h, 0, sizeof h);
	if (!ok(ip_lits_add(&l, "ignore") == 0 &&
		ip_scanner_new(&l, 1, NULL, &small) == 0, "a one-rule scanner")) {
		ip_lits_free(&l);
		ip_scanner_free(small);
		return;
	}
	good = ip_scanner_run(small, one, strlen(one), &h) == 0 &&
	       h.n == 2 && h.nfl == 1 && h.fl[0] == 0 && found_right(&h, 1);
	len = text(buf, sizeof buf, 200, 1);
	h.n = h.np = 0;
	good = good && ip_scanner_run(sc, buf, len, &h) == 0 &&
	       found_right(&h, nlits);
	ok(good, "one ip_hits for a one-rule scanner, then for %zu rules: "
	   "found and fl right each time", nlits);
	ip_hits_free(&h);
	ip_scanner_free(small);
	ip_lits_free(&l);
	/* only a long word: the short words' table is empty */
	small = NULL;
	memset(&l, 0, sizeof l);
	memset(&h, 0, sizeof h);
	if (ip_lits_add(&l, "instructions") == 0 &&
	    ip_scanner_new(&l, 1, NULL, &small) == 0) {
		static const char two[] = "new instructions: all INSTRUC"
					  "TIONS, instruction";

		good = ip_scanner_run(small, two, strlen(two), &h) == 0 &&
		       h.n == 2 && h.v[0].start == 4 && h.v[1].start == 22;
	} else {
		good = 0;
	}
	ok(good, "a scanner of one long word finds it twice");
	ip_hits_free(&h);
	ip_scanner_free(small);
	ip_lits_free(&l);
}

static void simd_against_plain(ip_scanner *vec, ip_scanner *plain,
			       int count)
{
	static char buf[65536];
	ip_hits a, b;
	int i, bad = 0, fail = 0;
	size_t marks = 0, big = 0;
	uint64_t m[2] = { 0, 0 };

	m['#' >> 6] |= 1ull << ('#' & 63);
	m['<' >> 6] |= 1ull << ('<' & 63);
	m[':' >> 6] |= 1ull << (':' & 63);
	ip_scanner_mark(vec, m);
	ip_scanner_mark(plain, m);
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	for (i = 0; i < count; i++) {
		size_t len = text(buf, sizeof buf, 1 + rnd() % (i % 50 ? 300
							       : 8000),
				  i % 3 == 0);
		int ra, rb;

		a.n = a.np = b.n = b.np = 0;
		ra = ip_scanner_run(vec, buf, len, &a);
		rb = ip_scanner_run(plain, buf, len, &b);
		if (ra < 0 || rb < 0) {
			fail = 1;
			break;
		}
		marks += a.nm;
		big += len > 2048;
		if (!same_hits(&a, &b) && !bad++)
			printf("# differs on \"%.*s\"\n",
			       (int)(len < 200 ? len : 200), buf);
	}
	ok(!fail, "vector: ran");
	is_int(bad, 0, "vector: the AVX-512 paths give the plain paths' hits "
	       "and marks, in order (%d texts, %zu longer than 2 KiB)",
	       count, big);
	ok(marks > 0, "vector: the texts have marks (%zu)", marks);
	ip_hits_free(&a);
	ip_hits_free(&b);
}

/* Non-ASCII code points are folded once and then taken from a memo
 * kept with the hits: the second time a code point comes, in the same
 * text, its letters and marks must be those of the first (computed)
 * time.  Text "a" CP "#" CP "#" with every punctuation mark asked for:
 * both halves give the same marks, the second shifted by the letters CP
 * gives; and the letters themselves are a key word's ("tion" from
 * ligatures and fullwidth forms) found both times. */
static void memo_same(void)
{
	static const int32_t fixed[] = { 0xE9, 0xDF, 0x456, 0x3B1, 0x627,
		0x905, 0x65E5, 0x1F642, 0x200B, 0x2474, 0x2488, 0x24D0, 0x3392,
		0xFB01, 0xFB03, 0xE0069, 0xE0023, 0x2126, 0x212B, 0x1D400,
		0xFF0E, 0x2024, 0x2025, 0x3002 };
	ip_lits l;
	ip_scanner *sc = NULL;
	uint64_t all[2] = { ~0ull, ~0ull };
	int bad = 0, checked = 0, withmarks = 0, fail = 0;

	memset(&l, 0, sizeof l);
	if (!ok(ip_lits_add(&l, "tion") == 0 &&
		ip_scanner_new(&l, 1, NULL, &sc) == 0, "memo: a scanner")) {
		ip_lits_free(&l);
		return;
	}
	ip_scanner_mark(sc, all);
	for (int32_t k = 0; k < 24 + 0x10000 / 7 && !fail; k++) {
		int32_t cp = k < 24 ? fixed[k] : 0x80 + (k - 24) * 7;
		char u[4], buf[64];
		size_t n, h1, i;
		ip_hits h;

		if (cp >= 0xD800 && cp < 0xE000)
			continue;
		n = utf8_encode((uint32_t)cp, u);
		/* "ti" CP "on#" CP "on#": with CP "ti"-less, no hit */
		memcpy(buf, "ti", 2);
		memcpy(buf + 2, u, n);
		memcpy(buf + 2 + n, "on#", 3);
		memcpy(buf + 5 + n, "ti", 2);
		memcpy(buf + 7 + n, u, n);
		memcpy(buf + 7 + 2 * n, "on#", 3);
		memset(&h, 0, sizeof h);
		if (ip_scanner_run(sc, buf, 10 + 2 * n, &h) < 0) {
			fail = 1;
			ip_hits_free(&h);
			break;
		}
		checked++;
		/* the marks: those of the first half, then the same again */
		h1 = h.nm / 2;
		if (h.nm % 2 || h.n % 2)
			bad++;
		else
			for (i = 0; i < h1; i++)
				/* shifted by the first half's letters: the
				 * n of its last mark, the '#' */
				if (h.m[h1 + i].c != h.m[i].c ||
				    h.m[h1 + i].more != h.m[i].more ||
				    h.m[h1 + i].n != h.m[i].n + h.m[h1 - 1].n)
					bad++;
		/* the hits: as many in each half, the same letters apart */
		for (i = 0; !(h.n % 2) && i < h.n / 2; i++)
			if (h.v[h.n / 2 + i].le - h.v[h.n / 2 + i].ls !=
			    h.v[i].le - h.v[i].ls)
				bad++;
		withmarks += h.nm > 2;
		ip_hits_free(&h);
	}
	ok(!fail, "memo: ran");
	is_int(bad, 0, "memo: a code point's second fold (kept) gives its "
	       "first's letters and marks (%d code points, %d with marks "
	       "of their own)", checked, withmarks);
	ip_scanner_free(sc);
	ip_lits_free(&l);
}

static void cleanup(void)
{
	size_t k;
	kw *w, *next;

	for (k = 0; k < nwhole; k++)
		ip_lits_free(&whole[k]);
	for (k = 0; k < KW_SLOTS; k++)
		for (w = slot[k]; w; w = next) {
			next = w->next;
			free(w);
		}
	free(letter), free(lat), free(lend), free(want), free(got);
	ip_units_free(&scratch);
}

int main(int argc, char **argv)
{
	char path[4096];
	const char *top = getenv("top_srcdir"), *pass = getenv("GS_PASS");
	int slow = pass && !strcmp(pass, "valgrind");
	ip_scanner *vec = NULL, *plain = NULL;
	int loaded;

	snprintf(path, sizeof path, "%s/etc/guardstack/injection.rules",
		 top ? top : ".");
	loaded = load(argc > 1 ? argv[1] : path) == 0;
	if (!ok(loaded, "the shipped rules' key words (%zu pseudo-rules)",
		nlits))
		return done_testing();
	if (!ok(ip_scanner_new(lits, nlits, flag, &vec) == 0,
		"a scanner")) {
		cleanup();
		return done_testing();
	}
	against_reference(vec, slow ? 200 : 20000);
	scanners_in_turn(vec);
	memo_same();
	setenv("GUARDSTACK_NO_SIMD", "1", 1);
	if (!ok(ip_scanner_new(lits, nlits, flag, &plain) == 0 &&
		!ip_scanner_simd(plain), "a scanner without AVX-512")) {
		ip_scanner_free(vec);
		ip_scanner_free(plain);
		cleanup();
		return done_testing();
	}
	against_reference(plain, slow ? 200 : 5000);
	if (ip_scanner_simd(vec))
		simd_against_plain(vec, plain, slow ? 100 : 20000);
	else
		printf("ok %d # SKIP no AVX-512 here (or GUARDSTACK_NO_SIMD)\n",
		       ++tap_n);
	ip_scanner_free(vec);
	ip_scanner_free(plain);
	cleanup();
	return done_testing();
}
