/* SPDX-License-Identifier: MIT */
/*
 * pii-bench - throughput of a stack (ssn-redact, email-redact, ...) on
 * generated prose, through the embedding API as a server would call it.
 *
 *   make tests/bench/pii-bench
 *   GUARDSTACK_PLUGIN_PATH=plugins/.libs \
 *     tests/bench/pii-bench STACK.ini [MB [MESSAGE_BYTES]]
 *
 * It builds MB megabytes (default 64) of English-like prose in memory:
 * text with numbers, dates and prices but no PII, and the same with an
 * SSN and an e-mail address about every 2 KB.  It
 * runs both through the request phase in messages of MESSAGE_BYTES
 * (default 16384) and prints MB/s for each, best of three runs, with the
 * stack's counts.  The core's own work (UTF-8 checks, copies) is included.
 */
#include <guardstack.h>
#include <guardstack/plugin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const words[] = {
	"the", "of", "and", "to", "in", "a", "is", "that", "for", "it",
	"as", "was", "with", "be", "by", "on", "not", "he", "this", "are",
	"or", "his", "from", "at", "which", "but", "have", "an", "had",
	"they", "you", "were", "their", "one", "all", "we", "can", "her",
	"has", "there", "been", "if", "more", "when", "will", "would",
	"who", "so", "no", "customer", "account", "invoice", "meeting",
	"report", "quarter", "revenue", "contact", "address", "number",
	"please", "thanks", "regards", "schedule", "update", "version",
};
#define NWORDS (sizeof words / sizeof words[0])

static unsigned long rng = 88172645463325252ul;

static unsigned long next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Appends prose to b until it holds n bytes; pii adds SSNs and addresses
 * about every 2 KB. */
static void make_text(gs_buf *b, size_t n, int pii)
{
	while (b->len < n) {
		unsigned long r = next() % 1000;

		if (r < 40)
			gs_buf_printf(b, "%lu ", next() % 100000);
		else if (r < 45)
			gs_buf_printf(b, "2024-%02lu-%02lu ", 1 + next() % 12,
				      1 + next() % 28);
		else if (r < 48)
			gs_buf_printf(b, "$%lu.%02lu ", next() % 1000,
				      next() % 100);
		else if (pii && r < 50)
			gs_buf_printf(b, "%03lu-%02lu-%04lu ",
				      1 + next() % 665, 1 + next() % 99,
				      1 + next() % 9999);
		else if (pii && r < 52)
			gs_buf_printf(b, "user%lu@example.com ", next() % 1000);
		else if (r < 120)
			gs_buf_puts(b, ".\n");
		else
			gs_buf_printf(b, "%s ", words[next() % NWORDS]);
	}
	b->len = n; /* all ASCII: no sequence is cut */
	b->data[n] = '\0';
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Runs text through the stack in messages of msg bytes; returns seconds,
 * adds the filters' counts to *count. */
static double run(const gs_stack *st, const gs_buf *text, size_t msg,
		  unsigned long *count)
{
	double t0 = now();

	*count = 0;
	for (size_t off = 0; off < text->len; off += msg) {
		size_t n = text->len - off < msg ? text->len - off : msg;
		const gs_filter_report *r;
		gs_call *c = gs_call_new(st);
		char *err = NULL;

		if (!c || gs_call_add_message(c, "user", text->data + off, n,
					      &err) < 0 ||
		    gs_call_run(c, GS_PHASE_REQUEST) < 0) {
			fprintf(stderr, "pii-bench: call failed: %s\n",
				err ? err : "out of memory");
			exit(1);
		}
		for (size_t i = gs_call_reports(c, &r); i-- > 0;)
			*count += r[i].count;
		gs_call_free(c);
	}
	return now() - t0;
}

int main(int argc, char **argv)
{
	gs_buf clean = GS_BUF_INIT, mixed = GS_BUF_INIT;
	gs_stack *st;
	char *err = NULL;
	size_t mb, msg;

	if (argc < 2) {
		fprintf(stderr, "usage: pii-bench STACK.ini [MB [BYTES]]\n");
		return 2;
	}
	mb = argc > 2 ? strtoul(argv[2], NULL, 10) : 64;
	msg = argc > 3 ? strtoul(argv[3], NULL, 10) : 16384;
	if (!mb || !msg || gs_stack_load(&st, argv[1], 0, &err) < 0) {
		fprintf(stderr, "pii-bench: %s\n", err ? err : "bad arguments");
		return 2;
	}
	make_text(&clean, mb << 20, 0);
	make_text(&mixed, mb << 20, 1);
	for (int pii = 0; pii < 2; pii++) {
		const gs_buf *t = pii ? &mixed : &clean;
		double best = 1e9;
		unsigned long count = 0;

		for (int i = 0; i < 3; i++) {
			double s = run(st, t, msg, &count);

			if (s < best)
				best = s;
		}
		printf("%-6s %zu MB in %zu-byte messages: %.0f MB/s, "
		       "count %lu\n", pii ? "mixed" : "clean", mb, msg,
		       (double)t->len / best / 1e6, count);
	}
	gs_buf_free(&clean);
	gs_buf_free(&mixed);
	gs_stack_free(st);
	return 0;
}
