/* SPDX-License-Identifier: MIT */
/*
 * Properties over generated inputs (a fixed seed, so a failure replays):
 *  - length-limit, in both units and both scopes: valid UTF-8 in gives
 *    valid UTF-8 out; no text (or, with scope = total, no sum) exceeds
 *    the limit; each output is the longest prefix of its input within
 *    what was left of the budget;
 *  - gs_rx_replace with a fixed replacement the pattern cannot match:
 *    the result holds no match, and replacing again changes nothing.
 */
#include "config.h"
#include <guardstack.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "../splitmix.h"
#include "../tap.h"
#include "../utf8enc.h"

#define INPUTS 2000

static uint64_t seed = 0x6775617264737461ull; /* "guardsta" */

static uint64_t rnd(void)
{
	return splitmix64(&seed);
}

static unsigned below(unsigned n)
{
	return (unsigned)(rnd() % n);
}

static void put_cp(gs_buf *b, uint32_t c)
{
	char u[4];

	gs_buf_append(b, u, utf8_encode(c, u));
}

/* A code point from every UTF-8 length, edges included; no NUL, no
 * surrogates (neither is valid input). */
static uint32_t any_cp(void)
{
	static const uint32_t edges[] = { 0x01, 0x7F, 0x80, 0x7FF, 0x800,
					  0xD7FF, 0xE000, 0xFFFD, 0xFFFF,
					  0x10000, 0x10FFFF, 0x1F600 };
	uint32_t c;

	switch (below(6)) {
	case 0:
		return edges[below(sizeof edges / sizeof *edges)];
	case 1:
		return 0x80 + below(0x800 - 0x80);
	case 2:
		c = 0x800 + below(0x10000 - 0x800);
		return c >= 0xD800 && c <= 0xDFFF ? c + 0x800 : c;
	case 3:
		return 0x10000 + below(0x110000 - 0x10000);
	default:
		return 0x20 + below(0x5F);
	}
}

static void gen(gs_buf *b, unsigned maxcp)
{
	unsigned n = below(maxcp + 1);

	gs_buf_reset(b);
	gs_buf_reserve(b, 0);
	for (unsigned i = 0; i < n; i++)
		put_cp(b, any_cp());
}

static size_t chars(const char *s, size_t len)
{
	return gs_utf8_count(s, len);
}

/* ---- length-limit ---------------------------------------------------- */

static const long maxes[] = { 0, 1, 2, 3, 5, 8, 13, 40 };
#define NMAX (sizeof maxes / sizeof *maxes)
static gs_stack *stacks[2][2][NMAX]; /* [bytes][total][max] */

static int load_stacks(const char *dir)
{
	for (int u = 0; u < 2; u++)
		for (int sc = 0; sc < 2; sc++)
			for (size_t m = 0; m < NMAX; m++) {
				char path[512], *err = NULL;
				FILE *fp;

				snprintf(path, sizeof path, "%s/ll-%d%d%zu.ini",
					 dir, u, sc, m);
				fp = fopen(path, "w");
				if (!fp)
					return -1;
				fprintf(fp, "[length-limit]\nmax = %ld\n"
					"unit = %s\nscope = %s\n", maxes[m],
					u ? "bytes" : "chars",
					sc ? "total" : "message");
				fclose(fp);
				if (gs_stack_load(&stacks[u][sc][m], path, 0,
						  &err) < 0) {
					printf("# %s: %s\n", path, err);
					gs_free(err);
					return -1;
				}
				unlink(path);
			}
	return 0;
}

/* Runs one request of nmsg generated user texts through a stack and
 * checks the properties; returns 0 or describes the failure. */
static int check_limit(int bytes, int total, size_t mi, char *why,
		       size_t whylen)
{
	gs_buf in[3] = { GS_BUF_INIT, GS_BUF_INIT, GS_BUF_INIT };
	unsigned nmsg = 1 + below(3);
	size_t budget = (size_t)maxes[mi], used = 0;
	gs_call *c = gs_call_new(stacks[bytes][total][mi]);
	int rc = 0, oc;

	for (unsigned i = 0; i < nmsg; i++) {
		gen(&in[i], 1 + (unsigned)maxes[mi] * 2);
		if (gs_call_add_message(c, "user", in[i].data, in[i].len,
					NULL) < 0) {
			snprintf(why, whylen, "the generator made invalid "
				 "input");
			rc = -1;
		}
	}
	oc = rc ? rc : gs_call_run(c, GS_PHASE_REQUEST);
	if (!rc && oc != GS_OUTCOME_PASS && oc != GS_OUTCOME_MODIFIED) {
		snprintf(why, whylen, "outcome %s", gs_outcome_name(oc));
		rc = -1;
	}
	for (unsigned i = 0; !rc && i < nmsg; i++) {
		size_t len, ilen = in[i].len;
		const char *s = gs_call_text(c, GS_PHASE_REQUEST, i, &len);
		size_t size = bytes ? len : chars(s, len);
		size_t left = total ? budget - used : budget;
		size_t next;

		if (gs_utf8_check(s, len) != len)
			snprintf(why, whylen, "text %u: invalid UTF-8", i),
				rc = -1;
		else if (len > ilen || memcmp(s, in[i].data, len))
			snprintf(why, whylen, "text %u: not a prefix", i),
				rc = -1;
		else if (size > left)
			snprintf(why, whylen, "text %u: %zu %s, over %zu", i,
				 size, bytes ? "bytes" : "chars", left),
				rc = -1;
		if (rc)
			break;
		/* Longest: one more character would not have fitted. */
		next = 1;
		while (len + next < ilen &&
		       ((unsigned char)in[i].data[len + next] & 0xC0) == 0x80)
			next++;
		if (len < ilen && size + (bytes ? next : 1) <= left) {
			snprintf(why, whylen, "text %u: cut to %zu of %zu "
				 "bytes, shorter than the limit needs", i,
				 len, ilen);
			rc = -1;
		}
		used += size;
	}
	gs_call_free(c);
	for (unsigned i = 0; i < 3; i++)
		gs_buf_free(&in[i]);
	return rc;
}

/* ---- gs_rx_replace ---------------------------------------------------- */

struct rcase {
	const char *pattern, *rep;
	unsigned flags;
};

/* Texts built from pieces the patterns care about. */
static void gen_rx(gs_buf *b)
{
	static const char *const pieces[] = {
		"0", "1", "9", "123", "-", "45", "6789", "123-45-6789", "1234",
		"078-05-1120-", " ", "  ", "\t", "\n",
		"x", "xx", "X", "secret", "SECRET", "Secret", "\xc5\xbf" "ecret",
		"s", "ecret", "_", "\xc3\xa9", "\xf0\x9f\x98\x80",
		"\xf0\x9f\x99\x8f", "\xe2\x80\x83", "a", "[SSN]", "[X]",
		"?",
	};
	unsigned n = below(24);

	gs_buf_reset(b);
	gs_buf_reserve(b, 0);
	for (unsigned i = 0; i < n; i++)
		gs_buf_puts(b, pieces[below(sizeof pieces / sizeof *pieces)]);
}

static long replace(const gs_rx *rx, const char *rep, const char *s,
		    size_t len, gs_buf *out)
{
	long n;

	gs_buf_reset(out);
	n = gs_rx_replace(rx, NULL, s, len, NULL, NULL, rep, out);
	if (n == 0) /* nothing appended: the text stands */
		gs_buf_append(out, s, len);
	return n;
}

static void rx_props(void)
{
	static const struct rcase cases[] = {
		{ "\\d{3}-\\d{2}-\\d{4}", "[SSN]", 0 },
		{ "secret\\w*", "[X]", GS_RX_CASELESS },
		{ "x+", "", 0 },
		{ "[\\x{1F600}-\\x{1F64F}]+", "?", 0 },
		{ "\\s{2,}", " ", GS_RX_UCP },
	};
	gs_buf in = GS_BUF_INIT, once = GS_BUF_INIT, twice = GS_BUF_INIT;

	for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
		const struct rcase *rc = &cases[k];
		char err[128];
		gs_rx *rx;
		long bad = 0, changed = 0;
		gs_span g;

		if (gs_rx_compile(&rx, rc->pattern, rc->flags, err,
				  sizeof err) < 0) {
			ok(0, "compile %s: %s", rc->pattern, err);
			continue;
		}
		for (int i = 0; i < INPUTS; i++) {
			long n1, n2;

			gen_rx(&in);
			n1 = replace(rx, rc->rep, in.data, in.len, &once);
			n2 = replace(rx, rc->rep, once.data, once.len, &twice);
			changed += n1 > 0;
			if (n1 < 0 || n2 != 0 || once.len != twice.len ||
			    memcmp(once.data, twice.data, once.len) ||
			    gs_rx_find(rx, NULL, once.data, once.len, 0, &g,
				       1) != 0 ||
			    gs_utf8_check(once.data, once.len) != once.len) {
				if (bad++ < 3)
					printf("# /%s/ -> \"%s\" on \"%s\": "
					       "once \"%s\" (%ld), twice "
					       "\"%s\" (%ld)\n", rc->pattern,
					       rc->rep, in.data, once.data,
					       n1, twice.data, n2);
			}
		}
		ok(bad == 0 && changed > INPUTS / 10,
		   "/%s/ -> \"%s\": over %d texts (%ld changed), the result "
		   "has no match, is valid UTF-8, and a second pass changes "
		   "nothing", rc->pattern, rc->rep, INPUTS, changed);
		gs_rx_free(rx);
	}
	gs_buf_free(&in);
	gs_buf_free(&once);
	gs_buf_free(&twice);
}

int main(void)
{
	char dir[] = "/tmp/gs-props.XXXXXX", why[160];

	if (!mkdtemp(dir) || load_stacks(dir) < 0) {
		printf("Bail out! cannot set up the length-limit stacks\n");
		return 1;
	}
	rmdir(dir);
	for (int bytes = 0; bytes < 2; bytes++)
		for (int total = 0; total < 2; total++) {
			long bad = 0;

			for (int i = 0; i < INPUTS; i++) {
				size_t mi = below(NMAX);

				if (check_limit(bytes, total, mi, why,
						sizeof why) < 0 && bad++ < 3)
					printf("# input %d, max %ld: %s\n", i,
					       maxes[mi], why);
			}
			ok(bad == 0, "length-limit unit = %s, scope = %s: "
			   "%d requests, valid UTF-8, within the limit, the "
			   "longest prefix that fits", bytes ? "bytes" :
			   "chars", total ? "total" : "message", INPUTS);
		}
	for (int u = 0; u < 2; u++)
		for (int sc = 0; sc < 2; sc++)
			for (size_t m = 0; m < NMAX; m++)
				gs_stack_free(stacks[u][sc][m]);
	rx_props();
	return done_testing();
}
