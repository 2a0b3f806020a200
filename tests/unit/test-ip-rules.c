/* SPDX-License-Identifier: MIT */
/*
 * test-ip-rules - input-patterns' prefilter on rules it has never seen:
 * generated rules (fixed seed) built from what the prefilter reasons
 * about (\b, lookbehinds, spaces the rule needs or not, bounded word
 * lists, groups, alternatives, optional parts) and generated texts made
 * to put their words at and inside word starts, spaced, joined, in
 * other case, after punctuation and line breaks.  For each rule,
 * `prefilter = yes` must redact exactly what `prefilter = no` (every rule
 * over every whole text) redacts.  The shipped rules get the same check
 * from input-patterns-prefilter.sh and fuzz-ip-diff; this one reaches
 * the shapes user rules may have.  It also counts how many rules the
 * prefilter claimed start or end a word (key words, second key words), found
 * second key words on one side of the first (and nearer than a whole
 * match) for, and got third key words for, so that a change that stops
 * claiming shows here
 * rather than passing quietly.
 */
#include "config.h"
#include <guardstack.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../plugins/input-patterns/ip.h"
#include "../splitmix.h"
#include "../tap.h"

static uint64_t seed = 0x7275736c65737465ull;

static uint64_t rnd(void)
{
	return splitmix64(&seed);
}

#define PICK(a) ((a)[rnd() % (sizeof (a) / sizeof *(a))])

static const char *const words[] = {
	"act", "dan", "now", "ignore", "rules", "prompt", "your", "tell",
	"system", "mode", "free", "show", "given", "told",
};

/* What may come before the first word. */
static const char *const leads[] = {
	"", "\\b", "\\b", "(?<![^\\n])\\s*", "(?<=[.!?]\\s)",
	"(?<![^\\n.!?;])\\s*", "(?<!not\\s)\\b", "x?", "(?:\\s|^)",
	"(?<!\\w)", "(?<![^\\nx])", "(?<=\\w\\s)", "^", "^\\s*",
};

/* What may come between two words. */
static const char *const seps[] = {
	"\\s+", "\\s+", "\\s*", "\\s?", "\\s+(?:[\\w'-]{1,6}\\s+){0,2}?",
	"\\s+[\\w-]{1,5}\\s+", "[\\w-]{0,3}", "[^.\\n]{0,12}?", ".{0,6}?",
	"\\s+(?:the\\s+|a\\s+)?", "(?:\\s+\\w{1,4}){0,2}\\s+", ",?\\s+",
	"\\s+[\\w-]{0,3}", "\\s+[\\w'-]{1,3}", "\\s*\\w?", "\\s+(?:\\w+\\s+)?",
	/* a | that is no alternative: in a class, escaped */
	"\\s*[|,]?\\s*", "[[:space:]|]+", "\\s*\\|?\\s*", "[]|]?\\s+",
	".{1,3}?", "\\W{1,3}",
};

/* The words of the rule being made, one of each item, in order: texts
 * say them (in many ways) so that matches are common. */
static const char *said[8];
static unsigned nsaid;

static void word_item(gs_buf *b)
{
	const char *w = PICK(words), *x = PICK(words);

	switch (rnd() % 6) {
	case 0:
		gs_buf_printf(b, "(?:%s|%s)", w, x);
		break;
	case 1:
		gs_buf_printf(b, "(?:\\b%s|%s)", x, w);
		break;
	case 2:
		gs_buf_printf(b, "(?:%s\\s+%s|\\b%s)", x, PICK(words), w);
		break;
	case 3:
		gs_buf_printf(b, "%s(?:s|ing)?", w);
		break;
	default:
		gs_buf_puts(b, w);
	}
	said[nsaid++] = w;
}

static void make_seq(gs_buf *b)
{
	unsigned n = 2 + (unsigned)(rnd() % 3), i;

	nsaid = 0;
	gs_buf_puts(b, PICK(leads));
	for (i = 0; i < n; i++) {
		if (i)
			gs_buf_puts(b, PICK(seps));
		word_item(b);
	}
	if (rnd() % 3 == 0)
		gs_buf_puts(b, "\\b");
}

/* A rule: a sequence, or (one in three) top-level alternatives, which
 * the prefilter searches as rules of their own; with an option setting
 * in front or an alternative that matches no character, it may not. */
static void make_rule(gs_buf *b)
{
	const char *keep[8];
	unsigned nkeep = 0, k, alts = rnd() % 3 ? 1 : 2 + (unsigned)(rnd() % 2);

	gs_buf_reset(b);
	if (alts > 1 && rnd() % 4 == 0) /* reaches every alternative */
		gs_buf_puts(b, rnd() % 2 ? "(?s)" : "(?-m)");
	for (k = 0; k < alts; k++) {
		if (k)
			gs_buf_putc(b, '|');
		if (rnd() % 10 == 0) {
			gs_buf_printf(b, "(?=%s)", PICK(words));
			continue;
		}
		make_seq(b);
		if (!nkeep || rnd() % 2) { /* texts say one of them */
			memcpy(keep, said, nsaid * sizeof *said);
			nkeep = nsaid;
		}
	}
	memcpy(said, keep, nkeep * sizeof *said);
	nsaid = nkeep;
}

/* Pieces of text: the words as they are and in the ways views undo or
 * keep apart. */
static void make_text(gs_buf *b)
{
	static const char *const glue[] = {
		" ", " ", " ", "  ", "\n", ". ", "! ", ", ", "-", "_", "x",
		"bold", "s ", "\t", " (", "'", "\xc3\xa9", "3", " a ",
	};
	static const char *const near[] = {
		" ", " ", " the ", " a ", " all of ", "", " xyz ", " x",
		" ab", "-", " 4",
	};
	unsigned n = 3 + (unsigned)(rnd() % 14), i, at = n, j = 0;

	gs_buf_reset(b);
	if (n < nsaid)
		n = at = nsaid;
	if (rnd() % 3) /* most texts say the rule's words somewhere */
		at = (unsigned)(rnd() % (n - nsaid + 1));
	for (i = 0; i < n; i++) {
		const char *w = i >= at && j < nsaid ? said[j++] : PICK(words);
		size_t k;

		switch (rnd() % 8) {
		case 0: /* upper case */
			for (k = 0; w[k]; k++)
				gs_buf_putc(b, (char)(w[k] - 'a' + 'A'));
			break;
		case 1: /* letter-spaced */
			for (k = 0; w[k]; k++) {
				gs_buf_putc(b, w[k]);
				if (w[k + 1])
					gs_buf_putc(b, ' ');
			}
			break;
		case 2: /* cut in two */
			k = 1 + rnd() % (strlen(w) - 1);
			gs_buf_append(b, w, k);
			gs_buf_putc(b, ' ');
			gs_buf_puts(b, w + k);
			break;
		default:
			gs_buf_puts(b, w);
		}
		/* between the rule's words, mostly what its separators take */
		gs_buf_puts(b, j > 0 && j < nsaid && rnd() % 3 ? PICK(near)
			    : PICK(glue));
	}
}

/* Loads a one-rule stack with the prefilter on or off. */
static gs_stack *load(const char *dir, const char *rules, int prefilter)
{
	char path[256], *err = NULL;
	gs_stack *st = NULL;
	FILE *fp;

	snprintf(path, sizeof path, "%s/p%d.ini", dir, prefilter);
	if (!(fp = fopen(path, "w")))
		return NULL;
	fprintf(fp, "[input-patterns]\nrules = %s\naction = redact\n"
		"replacement = #\nprefilter = %s\n", rules,
		prefilter ? "yes" : "no");
	fclose(fp);
	if (gs_stack_load(&st, path, 0, &err) < 0)
		gs_free(err);
	unlink(path);
	return st;
}

/* The request text after the phase, or the outcome's name. */
static void run(gs_stack *st, const char *text, size_t len, gs_buf *out)
{
	gs_call *c = gs_call_new(st);
	const char *t;
	size_t n = 0;
	int rc;

	gs_buf_reset(out);
	if (!c || gs_call_add_message(c, "user", text, len, NULL) < 0) {
		gs_buf_puts(out, "(no call)");
	} else if ((rc = gs_call_run(c, GS_PHASE_REQUEST)) < 0 ||
		   rc == GS_OUTCOME_ERROR || rc == GS_OUTCOME_REJECTED) {
		gs_buf_printf(out, "(outcome %d)", rc);
	} else if ((t = gs_call_text(c, GS_PHASE_REQUEST, 0, &n))) {
		gs_buf_append(out, t, n);
	}
	gs_call_free(c);
}

/* s with line breaks shown as \n, for a test's name (one line). */
static const char *oneline(const char *s)
{
	static char out[128];
	size_t n = 0;

	for (; *s && n + 3 < sizeof out; s++) {
		if (*s == '\n') {
			out[n++] = '\\';
			out[n++] = 'n';
		} else {
			out[n++] = *s;
		}
	}
	out[n] = '\0';
	return out;
}

/* Rules whose alternatives must not be searched apart, or only with
 * care, each with a text where that shows. */
static void fixed(const char *dir, const char *rules)
{
	static const struct {
		const char *rule, *text;
	} t[] = {
		/* an option at the top reaches every alternative */
		{ "(?-m)^now\\s+dan|^tell\\s+your", "x\ntell your" },
		{ "(?s)now.dan|tell.your", "tell\nyour" },
		/* an alternative that matches no character wins where it
		 * comes first */
		{ "(?=tell)|tell\\s+your", "tell your" },
		{ "(?=\\btell)\\b|tell\\s+your", "so tell your" },
		/* a | in a class or escaped is no alternative */
		{ "tell[|]your|now\\s+dan", "tell|your now dan" },
		{ "tell\\|your|now\\s+dan", "tell|your now dan" },
		{ "tell[]|]your|now\\s+dan", "tell]your now dan" },
		/* at one position the earlier alternative wins */
		{ "tell\\s+your|tell\\s+your\\s+rules", "tell your rules" },
		{ "tell\\s+your\\s+rules|tell\\s+your", "tell your rules" },
	};
	gs_buf a = GS_BUF_INIT, b = GS_BUF_INIT;
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		gs_stack *with, *without;
		FILE *fp = fopen(rules, "w");

		if (fp) {
			fprintf(fp, "r  %s\n", t[i].rule);
			fclose(fp);
		}
		with = load(dir, rules, 1);
		without = load(dir, rules, 0);
		if (!with || !without) {
			ok(0, "%s loads", t[i].rule);
		} else {
			run(with, t[i].text, strlen(t[i].text), &a);
			run(without, t[i].text, strlen(t[i].text), &b);
			ok(a.len == b.len && !memcmp(a.data, b.data, a.len),
			   "%s: the prefilter redacts \"%s\" as the whole "
			   "rule does", t[i].rule, oneline(b.data));
		}
		gs_stack_free(with);
		gs_stack_free(without);
	}
	gs_buf_free(&a);
	gs_buf_free(&b);
}

int main(void)
{
	char dir[] = "/tmp/gs-iprules.XXXXXX", rules[256];
	const char *pass = getenv("GS_PASS");
	int nrules = pass && !strcmp(pass, "valgrind") ? 40 : 400;
	int ntexts = pass && !strcmp(pass, "valgrind") ? 60 : 300;
	long loaded = 0, texts = 0, differ = 0, redacted = 0;
	long wstart = 0, paired = 0, wstart2 = 0, third = 0, ordered = 0;
	long tight = 0, wend = 0;
	gs_buf rule = GS_BUF_INIT, text = GS_BUF_INIT, more = GS_BUF_INIT;
	gs_buf a = GS_BUF_INIT, b = GS_BUF_INIT;

	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	snprintf(rules, sizeof rules, "%s/r.rules", dir);
	fixed(dir, rules);
	for (int r = 0; r < nrules; r++) {
		gs_stack *with, *without;
		ip_lits l;
		FILE *fp;

		make_rule(&rule);
		if (!(fp = fopen(rules, "w")))
			break;
		fprintf(fp, "r  %s\n", rule.data);
		fclose(fp);
		with = load(dir, rules, 1);
		without = load(dir, rules, 0);
		if (!with || !without) { /* an empty match, say: refused */
			gs_stack_free(with);
			gs_stack_free(without);
			continue;
		}
		loaded++;
		if (ip_lit_extract(rule.data, &l) == 1) {
			wstart += l.wstart;
			paired += l.n2 > 0;
			wstart2 += l.n2 > 0 && l.wstart2;
			wend += l.wend;
			third += l.n3 > 0;
			ordered += l.n2 > 0 && l.order2 != 0;
			tight += l.n2 > 0 && l.span2 < l.span;
			ip_lits_free(&l);
		}
		for (int t = 0; t < ntexts; t++) {
			make_text(&text);
			/* every fourth text is sixteen in a row: a long text
			 * with many hits, where the prefilter first tries
			 * each where it is (ip_hits_anchor) */
			if (t % 4 == 0) {
				gs_buf_reset(&more);
				for (int k = 0; k < 16; k++) {
					if (k) {
						gs_buf_putc(&more, ' ');
						make_text(&text);
					}
					gs_buf_append(&more, text.data,
						      text.len);
				}
				gs_buf_reset(&text);
				gs_buf_append(&text, more.data, more.len);
			}
			run(with, text.data, text.len, &a);
			run(without, text.data, text.len, &b);
			texts++;
			redacted += memchr(b.data, '#', b.len) != NULL;
			if (a.len != b.len || memcmp(a.data, b.data, a.len)) {
				if (differ++ < 5)
					printf("# rule %s\n#  text \"%s\"\n"
					       "#  with \"%s\"\n#  without "
					       "\"%s\"\n", rule.data,
					       text.data, a.data, b.data);
			}
		}
		gs_stack_free(with);
		gs_stack_free(without);
	}
	unlink(rules);
	rmdir(dir);
	ok(loaded >= nrules * 3 / 4, "%ld of %d generated rules load",
	   loaded, nrules);
	is_int(differ, 0, "%ld texts: the prefilter redacts what every rule "
	       "over the whole text does", texts);
	ok(redacted >= texts / 50, "... and %ld of them had something to "
	   "redact", redacted);
	ok(wstart >= loaded / 4 && wstart < loaded,
	   "key words claimed to start a word in %ld rules, not in all",
	   wstart);
	ok(wstart2 >= paired / 10 && wstart2 < paired,
	   "second key words claimed so in %ld of %ld paired rules, not all",
	   wstart2, paired);
	ok(third >= paired / 20 && third < paired,
	   "third key words in %ld of the paired rules, not all", third);
	ok(ordered >= paired / 4 && ordered < paired,
	   "second key words claimed after or before the first in %ld of "
	   "the paired rules, not all", ordered);
	ok(tight >= paired / 20 && tight < paired,
	   "... and nearer than the whole match in %ld of them, not all",
	   tight);
	ok(wend >= nrules / 20 && wend < nrules,
	   "key words claimed to end a word in %ld rules, not in all", wend);
	gs_buf_free(&rule);
	gs_buf_free(&text);
	gs_buf_free(&more);
	gs_buf_free(&a);
	gs_buf_free(&b);
	return done_testing();
}
