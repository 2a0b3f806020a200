/* SPDX-License-Identifier: MIT */
/*
 * test-fastpaths - the shortcuts taken for speed (see tests/bench/) give
 * the same answers as the plain way, on many generated inputs:
 *   - gs_utf8_check and gs_utf8_count (32- and 64-byte ASCII steps, AVX2
 *     where the CPU has it) against a byte-at-a-time reference, and the
 *     core's input check (UTF-8 and NUL in one pass) against the messages
 *     the two separate checks gave;
 *   - gs_buf_printf (formats into spare room, again only when short);
 *   - leak-redact's default pattern (literal prefilter, regex at the
 *     literal) against the same pattern written so the plain regex runs;
 *   - `--jsonl` answer lines, now written by hand, against cJSON's own
 *     printing of the same line;
 *   - the core's JSON printer (core/jsonout.c) against
 *     cJSON_PrintUnformatted on random trees.
 */
#include <guardstack.h>
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "../../core/cli/cli.h"
#include "../../core/jsonout.h"

static const char *srcdir;
static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* ---- UTF-8 ----------------------------------------------------------- */

/* The reference: one byte at a time, as RFC 3629 says. */
static size_t ref_check(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i], n, lo = 0x80, hi = 0xBF;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			n = 1;
		else if (c >= 0xE0 && c <= 0xEF)
			n = 2, lo = c == 0xE0 ? 0xA0 : 0x80,
			hi = c == 0xED ? 0x9F : 0xBF;
		else if (c >= 0xF0 && c <= 0xF4)
			n = 3, lo = c == 0xF0 ? 0x90 : 0x80,
			hi = c == 0xF4 ? 0x8F : 0xBF;
		else
			return i;
		if (len - i <= n || s[i + 1] < lo || s[i + 1] > hi)
			return i;
		for (unsigned k = 2; k <= n; k++)
			if ((s[i + k] & 0xC0) != 0x80)
				return i;
		i += n + 1;
	}
	return len;
}

static size_t ref_count(const unsigned char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += (s[i] & 0xC0) != 0x80;
	return n;
}

/* Mostly ASCII with, now and then, a valid sequence, a bad byte or a
 * NUL, at every offset around the 32- and 64-byte steps. */
static size_t gen_text(unsigned char *s, size_t max)
{
	static const char *const seq[] = { "\xc3\xa9", "\xe2\x82\xac",
		"\xf0\x9f\x99\x82", "\xed\x9f\xbf", "\xf4\x8f\xbf\xbf" };
	static const char *const bad[] = { "\x80", "\xc0\xaf", "\xed\xa0\x80",
		"\xf4\x90\x80\x80", "\xe2\x82", "\xff", "\xc3",
		"\xe0\x80\xaf", "\xf0\x80\x80\xaf" };
	size_t len = next() % max, i = 0;
	unsigned odds = (unsigned)(next() % 4);

	while (i < len) {
		unsigned r = (unsigned)(next() % 1000);
		const char *p = NULL;

		if (odds && r < 8 * odds)
			p = seq[next() % 5];
		else if (odds > 1 && r < 8 * odds + 2)
			p = bad[next() % 9];
		else if (odds > 2 && r < 8 * odds + 3)
			p = "";
		if (p && *p) {
			size_t n = strlen(p);

			if (i + n > len)
				break;
			memcpy(s + i, p, n);
			i += n;
		} else {
			/* no '\\': gs_json_check would read "\\u0000" */
			s[i] = p ? 0 : (unsigned char)(' ' + next() % 95);
			if (s[i] == '\\')
				s[i] = 'b';
			i++;
		}
	}
	return i;
}

static void test_utf8(void)
{
	static unsigned char s[600];
	int bad_check = 0, bad_count = 0, bad_input = 0, n = 20000;

	for (int k = 0; k < n; k++) {
		size_t len = gen_text(s, sizeof s), want = ref_check(s, len);
		size_t nul = (unsigned char *)memchr(s, 0, len) ?
			(size_t)((unsigned char *)memchr(s, 0, len) - s) : len;
		char *err = NULL, exp[128];

		if (gs_utf8_check((const char *)s, len) != want)
			bad_check++;
		if (want == len && gs_utf8_count((const char *)s, len) !=
				   ref_count(s, len))
			bad_count++;
		/* The input check's message is the one the two separate
		 * checks gave: UTF-8 first, then NUL. */
		gs_json_check((const char *)s, len, 0, &err);
		if (want < len)
			snprintf(exp, sizeof exp, "input: invalid UTF-8 at "
				 "byte %zu", want);
		else if (nul < len)
			snprintf(exp, sizeof exp, "input: NUL byte at offset "
				 "%zu; text may not contain NUL", nul);
		else
			exp[0] = '\0';
		if (exp[0] ? !err || strcmp(err, exp) : err != NULL) {
			if (!bad_input++)
				printf("# got \"%s\", want \"%s\"\n",
				       err ? err : "(none)", exp);
		}
		gs_free(err);
	}
	is_int(bad_check, 0, "utf8: gs_utf8_check as the reference, %d texts",
	       n);
	is_int(bad_count, 0, "utf8: gs_utf8_count as the reference");
	is_int(bad_input, 0, "utf8: the input check reports as before");
	/* Long runs, both sides of every step boundary. */
	bad_check = 0;
	memset(s, 'a', sizeof s);
	for (size_t at = 0; at < 200; at++) {
		s[at] = 0xC3;
		if (gs_utf8_check((const char *)s, 300) != at)
			bad_check++;
		s[at + 1] = 0xA9;
		if (gs_utf8_check((const char *)s, 300) != 300 ||
		    gs_utf8_count((const char *)s, 300) != 299)
			bad_check++;
		s[at] = s[at + 1] = 'a';
	}
	is_int(bad_check, 0, "utf8: a sequence at every offset");
}

/* The 32-byte checks of blocks that are not all ASCII (AVX2): every pair
 * of bytes, and four of those that start, end or bound sequences, each
 * around a block's edge, in ASCII and among other sequences; and texts
 * dense with sequences and bad bytes.  Also through the input check,
 * whose NUL search shares the pass. */
static void test_utf8_blocks(void)
{
	/* the bytes each table tells apart (the ends of each range) */
	static const unsigned char pick[] = { 0x00, 0x41, 0x80, 0x8F, 0x90,
		0x9F, 0xA0, 0xBF, 0xC1, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0,
		0xF4, 0xF5, 0xFF };
	const char *pass = getenv("GS_PASS");
	int slow = pass && !strcmp(pass, "valgrind");
	static const char *const fill[] = { "a", "\xc3\xa9", "\xe2\x82\xac",
		"\xf0\x9f\x99\x82" };
	enum { NP = sizeof pick };
	unsigned char s[160];
	size_t len = 96; /* the edges of 32-byte blocks at 32 and 64 */
	long bad = 0, badnul = 0, n = 0;

	/* under valgrind: one filler, one place across the edge */
	for (size_t f = 0; f < (slow ? 2u : 4u); f += slow ? 2 : 1) {
		size_t fl = strlen(fill[f]), j;

		for (j = 0; j + fl <= len; j += fl) /* valid filler */
			memcpy(s + j, fill[f], fl);
		memset(s + j, 'a', len - j);
		for (size_t at = slow ? 31 : 29; at <= 32; at++) {
			unsigned char keep[4];

			memcpy(keep, s + at, 4);
			for (unsigned a = 0; a < 256; a++)
				for (unsigned b = 0; b < 256; b++) {
					s[at] = (unsigned char)a;
					s[at + 1] = (unsigned char)b;
					n++;
					if (gs_utf8_check((char *)s, len) !=
					    ref_check(s, len))
						bad++;
				}
			for (unsigned q = 0; q < NP * NP * NP * NP; q++) {
				char *err = NULL, exp[80];
				size_t want;
				unsigned char *z;

				s[at] = pick[q % NP];
				s[at + 1] = pick[q / NP % NP];
				s[at + 2] = pick[q / NP / NP % NP];
				s[at + 3] = pick[q / NP / NP / NP];
				want = ref_check(s, len);
				n++;
				if (gs_utf8_check((char *)s, len) != want)
					bad++;
				/* the input check: UTF-8 and the first NUL in
				 * one pass */
				z = memchr(s, 0, len);
				if (want < len)
					snprintf(exp, sizeof exp, "input: invalid "
						 "UTF-8 at byte %zu", want);
				else if (z)
					snprintf(exp, sizeof exp, "input: NUL "
						 "byte at offset %zu; text may "
						 "not contain NUL",
						 (size_t)(z - s));
				else
					exp[0] = '\0';
				gs_json_check((char *)s, len, 0, &err);
				if (exp[0] ? !err || strcmp(err, exp)
					   : err != NULL)
					badnul++;
				gs_free(err);
			}
			memcpy(s + at, keep, 4);
		}
	}
	is_int(bad, 0, "utf8 blocks: every pair, and four of %d bytes, across "
	       "a block's edge (%ld texts)", NP, n);
	is_int(badnul, 0, "utf8 blocks: the input check (UTF-8, then NUL) as "
	       "the reference");
	/* dense: a sequence or a bad byte every few bytes */
	bad = 0;
	for (int k = 0; k < 20000; k++) {
		static const char *const piece[] = { "\xc3\xa9", "\xe2\x82\xac",
			"\xf0\x9f\x99\x82", "\xed\x9f\xbf", "\xf4\x8f\xbf\xbf",
			"\xee\x80\x80", "x", "yz", "\x80", "\xc3", "\xe2\x82",
			"\xf0\x9f\x99", "\xed\xa0\x80", "\xf4\x90\x80\x80" };
		/* mostly valid pieces, so that the first error lies deep */
		unsigned valid = 6 + (unsigned)(next() % 2), np = 14;
		size_t i = 0, want;

		len = 32 + next() % 128;
		while (i < len) {
			unsigned r = (unsigned)(next() % 1000);
			const char *p = piece[r < 990 ? r % (valid + 2)
					      : valid + 2 + r % (np - valid - 2)];
			size_t pl = strlen(p);

			if (i + pl > len)
				pl = len - i;
			memcpy(s + i, p, pl);
			i += pl;
		}
		want = ref_check(s, len);
		if (gs_utf8_check((char *)s, len) != want ||
		    (want == len &&
		     gs_utf8_count((char *)s, len) != ref_count(s, len)))
			bad++;
	}
	is_int(bad, 0, "utf8 blocks: texts dense with sequences and bad bytes");
}

/* ---- gs_buf_printf --------------------------------------------------- */

static void test_printf(void)
{
	gs_buf b = GS_BUF_INIT;
	char want[4096];
	int bad = 0;

	for (int k = 0; k < 400; k++) {
		size_t before = b.len;
		int w = (int)(next() % 1500);

		if (gs_buf_printf(&b, "%d:%*s|", k, w, "x") < 0) {
			bad++;
			break;
		}
		snprintf(want, sizeof want, "%d:%*s|", k, w, "x");
		if (b.len - before != strlen(want) ||
		    memcmp(b.data + before, want, strlen(want)) ||
		    b.data[b.len] != '\0')
			bad++;
		if (next() % 8 == 0)
			gs_buf_reset(&b);
	}
	is_int(bad, 0, "gs_buf_printf: content, length and NUL as snprintf");
	gs_buf_free(&b);
}

/* ---- leak-redact ----------------------------------------------------- */

static gs_stack *load(const char *name)
{
	char path[4096], *err = NULL;
	gs_stack *st = NULL;

	snprintf(path, sizeof path, "%s/tests/stacks/%s.ini", srcdir, name);
	if (gs_stack_load(&st, path, 0, &err) < 0) {
		printf("# %s: %s\n", path, err ? err : "?");
		gs_free(err);
		return NULL;
	}
	return st;
}

/* Runs text through the response phase; a description of the result
 * (outcome, count, text) goes to out. */
static void run_answer(gs_stack *st, const char *text, gs_buf *out)
{
	gs_call *c = gs_call_new(st);
	const gs_filter_report *r;
	size_t len;
	const char *t;
	int oc;

	gs_buf_reset(out);
	if (!c || gs_call_set_answer(c, text, strlen(text), NULL) < 0) {
		gs_buf_puts(out, "setup failed");
		gs_call_free(c);
		return;
	}
	oc = gs_call_run(c, GS_PHASE_RESPONSE);
	gs_call_reports(c, &r);
	t = gs_call_text(c, GS_PHASE_RESPONSE, 0, &len);
	gs_buf_printf(out, "%d %lu %s", oc, r[0].count, t ? t : "(null)");
	gs_call_free(c);
}

static void test_leak(void)
{
	static const char *const parts[] = {
		"system prompt:", "System Prompt:", "SYSTEM PROMPT:",
		"\xc5\xbfystem prompt:", "\xc5\xbfy\xc5\xbftem prompt:",
		"sy\xc5\xbftem PROMPT:", "system  prompt:", "system prompt :",
		"system prompt", "xsystem prompt:", "ystem prompt:", " prompt:",
		":", "\n", "\r\n", " ", "abc", "\xc3\xa9", "\xc5\xbf", "s", "S",
		"system", "prompt", "the ", "K", "\xe2\x84\xaa", "PrOmPt:",
	};
	gs_stack *st[4] = { load("fastpath-leak-default"),
			    load("fastpath-leak-generic"),
			    load("fastpath-leak-default-reject"),
			    load("fastpath-leak-generic-reject") };
	gs_buf text = GS_BUF_INIT, a = GS_BUF_INIT, b = GS_BUF_INIT;
	int bad = 0, found = 0, n = 20000;

	ok(st[0] && st[1] && st[2] && st[3], "leak: stacks load");
	if (!st[0] || !st[1] || !st[2] || !st[3])
		return;
	for (int k = 0; k < n; k++) {
		int np = (int)(next() % 14);

		gs_buf_reset(&text);
		for (int i = 0; i < np; i++)
			gs_buf_puts(&text, parts[next() % (sizeof parts /
						       sizeof parts[0])]);
		for (int pair = 0; pair < 4; pair += 2) {
			run_answer(st[pair], text.data ? text.data : "", &a);
			run_answer(st[pair + 1], text.data ? text.data : "",
				   &b);
			if (strcmp(a.data, b.data) && !bad++)
				printf("# input \"%s\"\n# fast \"%s\"\n# "
				       "plain \"%s\"\n", text.data, a.data,
				       b.data);
			found += pair == 0 && a.data[0] != '1';
		}
	}
	is_int(bad, 0, "leak: default pattern (prefilter) as the plain regex, "
	       "%d texts, redact and reject", n);
	ok(found > n / 2, "leak: most of them had something to redact (%d)",
	   found);
	for (int i = 0; i < 4; i++)
		gs_stack_free(st[i]);
	gs_buf_free(&text);
	gs_buf_free(&a);
	gs_buf_free(&b);
}

/* ---- --jsonl lines ------------------------------------------------- */

static void test_jsonl(void)
{
	static const char *const parts[] = {
		"a", " ", "\"", "\\", "\\n", "\\r", "\\t", "\\b", "\\f",
		"\\u0001", "\\u001f", "\\u007f", "\xc3\xa9", "/", "<script>",
		"123-45-6789", "x@example.com", "system prompt: no",
	};
	gs_stack *st = load("append");
	gs_buf in = GS_BUF_INIT, out = GS_BUF_INIT;
	int bad = 0, n = 5000;

	ok(st != NULL, "jsonl: stack loads");
	if (!st)
		return;
	for (int k = 0; k < n; k++) {
		int np = (int)(next() % 12);
		gs_phase ph = k & 1 ? GS_PHASE_RESPONSE : GS_PHASE_REQUEST;
		cJSON *j;
		char *again;

		gs_buf_reset(&in);
		gs_buf_puts(&in, "{\"text\":\"");
		for (int i = 0; i < np; i++)
			gs_buf_puts(&in, parts[next() % (sizeof parts /
						     sizeof parts[0])]);
		gs_buf_puts(&in, k % 7 ? "\"}" : "\"");
		if (cli_jsonl_line(st, ph, in.data, in.len, k % 50 == 0,
				   1000, (unsigned long)k + 1, &out) < 0) {
			bad++;
			continue;
		}
		/* cJSON's own printing of what it reads back is the line
		 * cJSON would have written: byte for byte the same. */
		j = out.len ? cJSON_ParseWithLength(out.data, out.len - 1)
			    : NULL;
		again = j ? cJSON_PrintUnformatted(j) : NULL;
		if ((!again || out.len < 1 || out.data[out.len - 1] != '\n' ||
		     strlen(again) != out.len - 1 ||
		     memcmp(again, out.data, out.len - 1)) && !bad++)
			printf("# line %s# cJSON %s\n", out.data,
			       again ? again : "(none)");
		cJSON_free(again);
		cJSON_Delete(j);
	}
	is_int(bad, 0, "jsonl: %d answer lines exactly as cJSON prints them",
	       n);
	gs_stack_free(st);
	gs_buf_free(&in);
	gs_buf_free(&out);
}

/* ---- the core's JSON printer ----------------------------------------- */

/* Numbers where "%1.15g", -0 and 10^15 make the difference. */
static const char *const json_nums[] = {
	"0", "-0", "1", "-1", "0.3", "-0.5", "1e15", "999999999999999",
	"-999999999999999", "1000000000000000", "123456789012345678",
	"9007199254740993", "2147483647", "2147483648", "-2147483649",
	"1e300", "-1e-300", "5e-324", "1.7976931348623157e308", "0.1e1",
	"1E2", "3.14159265358979", "1700000000", "0.000001", "1e-7",
	"12345.678", "-0.0", "4503599627370496.5",
};

static void gen_json_str(gs_buf *b)
{
	static const char *const parts[] = {
		"a", "Z", " ", "\\\"", "\\\\", "\\/", "\\n", "\\r", "\\t",
		"\\b", "\\f", "\\u0001", "\\u001f", "\\u007f", "\\u00e9",
		"\\u2028", "\\ud83d\\ude00", "\xc3\xa9", "\xe6\x97\xa5",
		"<script>", "role", "content", "0123456789",
	};
	int n = (int)(next() % 24);

	gs_buf_putc(b, '"');
	for (int i = 0; i < n; i++)
		gs_buf_puts(b, parts[next() % (sizeof parts / sizeof *parts)]);
	gs_buf_putc(b, '"');
}

static void gen_json(gs_buf *b, int depth)
{
	unsigned k = (unsigned)(next() % (depth > 3 ? 6 : 8));
	int n;

	switch (k) {
	case 0:
		gs_buf_puts(b, "null");
		break;
	case 1:
		gs_buf_puts(b, next() & 1 ? "true" : "false");
		break;
	case 2:
		gs_buf_puts(b, json_nums[next() % (sizeof json_nums /
						   sizeof *json_nums)]);
		break;
	case 3: /* a random integer or fraction */
		if (next() & 1)
			gs_buf_printf(b, "%lld", (long long)(next() >>
							     (next() % 64)) *
				      (next() & 1 ? 1 : -1));
		else
			gs_buf_printf(b, "%.*g", (int)(1 + next() % 17),
				      (double)(int64_t)next() /
				      (double)(1ull << (next() % 63)));
		break;
	case 4:
	case 5:
		gen_json_str(b);
		break;
	case 6:
		n = (int)(next() % 5);
		gs_buf_putc(b, '[');
		for (int i = 0; i < n; i++) {
			if (i)
				gs_buf_putc(b, ',');
			gen_json(b, depth + 1);
		}
		gs_buf_putc(b, ']');
		break;
	default:
		n = (int)(next() % 5);
		gs_buf_putc(b, '{');
		for (int i = 0; i < n; i++) {
			if (i)
				gs_buf_putc(b, ',');
			gen_json_str(b);
			gs_buf_putc(b, ':');
			gen_json(b, depth + 1);
		}
		gs_buf_putc(b, '}');
		break;
	}
}

static void test_json_print(void)
{
	gs_buf in = GS_BUF_INIT;
	int bad = 0, n = 20000, parsed = 0;

	for (int k = 0; k < n; k++) {
		cJSON *j;
		char *want, *got;

		gs_buf_reset(&in);
		gen_json(&in, 0);
		if (!(j = cJSON_ParseWithLength(in.data, in.len)))
			continue;
		parsed++;
		if (k % 10 == 0 && cJSON_IsArray(j)) /* what only code makes */
			cJSON_AddItemToArray(j, cJSON_CreateRaw("[1,2]"));
		want = cJSON_PrintUnformatted(j);
		got = gs__json_print(j);
		if ((!want || !got || strcmp(want, got)) && !bad++)
			printf("# in %s\n# cJSON %s\n# ours  %s\n", in.data,
			       want ? want : "(none)", got ? got : "(none)");
		cJSON_free(want);
		gs_free(got);
		cJSON_Delete(j);
	}
	ok(parsed > n * 9 / 10, "json: %d of %d random values parsed", parsed,
	   n);
	is_int(bad, 0, "json: the core's printer writes what cJSON does");
	/* numbers made in the program: any double, and the edges */
	bad = 0;
	for (int k = 0; k < 200000; k++) {
		uint64_t bits = next();
		double d;
		cJSON *num;
		char *want, *got;

		switch (k % 4) {
		case 0:
			memcpy(&d, &bits, sizeof d);
			break;
		case 1:
			d = (double)(int64_t)(bits >> (bits % 64));
			break;
		case 2:
			d = 1e15 + (double)(int)(bits % 5) - 2;
			d = bits & 8 ? -d : d;
			break;
		default:
			d = (double)(int64_t)(bits % 2000001) - 1e6;
			break;
		}
		num = cJSON_CreateNumber(d);
		want = cJSON_PrintUnformatted(num);
		got = gs__json_print(num);
		if ((!want || !got || strcmp(want, got)) && !bad++)
			printf("# %.17g: cJSON %s, ours %s\n", d,
			       want ? want : "(none)", got ? got : "(none)");
		cJSON_free(want);
		gs_free(got);
		cJSON_Delete(num);
	}
	is_int(bad, 0, "json: 200000 numbers printed as cJSON prints them");
	gs_buf_free(&in);
}

int main(void)
{
	srcdir = getenv("top_srcdir");
	if (!srcdir)
		srcdir = ".";
	test_utf8();
	test_utf8_blocks();
	test_printf();
	test_leak();
	test_jsonl();
	test_json_print();
	return done_testing();
}
