/* SPDX-License-Identifier: MIT */
/*
 * test-leak - request->response flows of leak-redact (and prompt-wrap in
 * front of it) through the embedding API: `guardstack filter` runs one
 * phase per invocation, so a canary added in the request phase and looked
 * for in the response phase can only be tested here.
 */
#include <guardstack.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../tap.h"
#include "../splitmix.h"

static const char *srcdir;

static const char prompt[] =
	"You are Captain Byte, the travel assistant of Acme Rail. Answer "
	"only questions about train timetables, fares and seat bookings, "
	"and never discuss the internal discount codes listed below.";

static gs_stack *load(const char *name)
{
	char path[4096];
	char *err = NULL;
	gs_stack *st = NULL;

	snprintf(path, sizeof(path), "%s/tests/stacks/%s.ini", srcdir, name);
	if (gs_stack_load(&st, path, 0, &err) < 0) {
		printf("# %s: %s\n", path, err ? err : "?");
		gs_free(err);
		return NULL;
	}
	return st;
}

/* A call with a system prompt and one user message, request phase run. */
static gs_call *request(gs_stack *st, const char *sys, int *outcome)
{
	gs_call *c = gs_call_new(st);
	static const char user[] = "What is the fare from Lyon to Turin?";

	if (!c)
		return NULL;
	gs_call_set_model(c, "mistral-small-latest");
	if (sys)
		gs_call_add_message(c, "system", sys, strlen(sys), NULL);
	gs_call_add_message(c, "user", user, sizeof(user) - 1, NULL);
	*outcome = gs_call_run(c, GS_PHASE_REQUEST);
	return c;
}

/* Runs the response phase on `answer`; returns the outcome. */
static int respond(gs_call *c, const char *answer)
{
	if (gs_call_set_answer(c, answer, strlen(answer), NULL) < 0)
		return -1000;
	return gs_call_run(c, GS_PHASE_RESPONSE);
}

static const char *answer_text(gs_call *c)
{
	return gs_call_text(c, GS_PHASE_RESPONSE, 0, NULL);
}

static unsigned long count_of(gs_call *c, const char *name)
{
	const gs_filter_report *r;
	size_t n = gs_call_reports(c, &r);

	for (size_t i = 0; i < n; i++)
		if (!strcmp(r[i].name, name))
			return r[i].count;
	return (unsigned long)-1;
}

/* The canary the request phase put in the system prompt: 32 hex digits
 * after "gs-canary-", copied into hex[33]. */
static int find_canary(gs_call *c, char *hex)
{
	for (size_t i = 0; i < gs_call_text_count(c, GS_PHASE_REQUEST); i++) {
		const char *s = gs_call_text(c, GS_PHASE_REQUEST, i, NULL);
		const char *p = s ? strstr(s, "gs-canary-") : NULL;

		if (p && strlen(p + 10) >= 32) {
			memcpy(hex, p + 10, 32);
			hex[32] = '\0';
			return 1;
		}
	}
	return 0;
}

static void test_canary(void)
{
	gs_stack *st = load("leak-redact-canary");
	char hex[33], hex2[33], buf[512], upper[33];
	const char *sys;
	gs_call *c, *c2;
	int out;

	ok(st != NULL, "canary: stack loads");
	if (!st)
		return;
	c = request(st, prompt, &out);
	is_int(out, GS_OUTCOME_MODIFIED, "canary: request phase modifies");
	ok(find_canary(c, hex), "canary: token added to the system prompt");
	sys = gs_call_text(c, GS_PHASE_REQUEST, 0, NULL);
	ok(sys && !strncmp(sys, prompt, sizeof(prompt) - 1),
	   "canary: the prompt itself is kept, token after it");
	is_int(gs_call_text_count(c, GS_PHASE_REQUEST), 2,
	       "canary: no message added when a system prompt exists");

	snprintf(buf, sizeof(buf), "Sure! My reference is gs-canary-%s.",
		 hex);
	is_int(respond(c, buf), GS_OUTCOME_REJECTED,
	       "canary: answer holding the token is rejected");
	is_str(gs_call_rejected_by(c), "leak-redact", "canary: rejected_by");
	ok(gs_call_reason(c) && !strstr(gs_call_reason(c), hex),
	   "canary: reason does not reveal the token");
	has_str(gs_call_reason(c), "canary", "canary: reason names it");
	gs_call_free(c);

	/* Disguised: upper case, split by spaces every four digits. */
	c = request(st, prompt, &out);
	find_canary(c, hex);
	for (int i = 0; i < 32; i++)
		upper[i] = (char)(hex[i] >= 'a' ? hex[i] - 32 : hex[i]);
	upper[32] = '\0';
	snprintf(buf, sizeof(buf), "ref %.4s %.4s %.4s %.4s %.4s %.4s %.4s "
		 "%.4s", upper, upper + 4, upper + 8, upper + 12, upper + 16,
		 upper + 20, upper + 24, upper + 28);
	is_int(respond(c, buf), GS_OUTCOME_REJECTED,
	       "canary: spaced, upper-cased token still found");
	gs_call_free(c);

	/* A clean answer passes, and tokens differ per call. */
	c = request(st, prompt, &out);
	c2 = request(st, prompt, &out);
	find_canary(c, hex);
	find_canary(c2, hex2);
	ok(strcmp(hex, hex2) != 0, "canary: a new token for every call");
	/* The request phase modified, so MODIFIED is the call's outcome. */
	is_int(respond(c, "The fare is 49 euros."), GS_OUTCOME_MODIFIED,
	       "canary: clean answer passes");
	is_str(answer_text(c), "The fare is 49 euros.",
	       "canary: clean answer unchanged");
	snprintf(buf, sizeof(buf), "gs-canary-%s", hex);
	is_int(respond(c2, buf), GS_OUTCOME_MODIFIED,
	       "canary: another call's token is not this call's");
	gs_call_free(c);
	gs_call_free(c2);

	/* No system prompt: one is added, first. */
	c = request(st, NULL, &out);
	is_int(gs_call_text_count(c, GS_PHASE_REQUEST), 2,
	       "canary: system message inserted when there was none");
	sys = gs_call_text(c, GS_PHASE_REQUEST, 0, NULL);
	has_str(sys, "gs-canary-", "canary: inserted first");
	gs_call_free(c);
	gs_stack_free(st);
}

static void test_echo(void)
{
	gs_stack *st = load("leak-redact-basic");
	gs_call *c;
	int out;

	ok(st != NULL, "echo: stack loads");
	if (!st)
		return;
	c = request(st, prompt, &out);
	is_int(out, GS_OUTCOME_PASS, "echo: request phase passes unchanged");
	is_int(respond(c, "Of course. My instructions: ANSWER ONLY "
		       "questions about train-timetables, fares AND seat "
		       "bookings... Anything else?"), GS_OUTCOME_MODIFIED,
	       "echo: 10 echoed words (case, punctuation changed) modify");
	is_str(answer_text(c), "Of course. My instructions: [REDACTED]... "
	       "Anything else?", "echo: exactly the echoed span is redacted");
	is_int(count_of(c, "leak-redact"), 1, "echo: counted once");
	gs_call_free(c);

	c = request(st, prompt, &out);
	is_int(respond(c, "I answer only questions about train timetables, "
		       "fares."), GS_OUTCOME_PASS,
	       "echo: 7 words (under min_words = 8) pass");
	gs_call_free(c);

	c = request(st, prompt, &out);
	is_int(respond(c, "First: You are Captain Byte, the travel assistant "
		       "of Acme. Then something else entirely; but never "
		       "discuss the internal discount codes listed below!"),
	       GS_OUTCOME_MODIFIED, "echo: two separate echoes");
	is_str(answer_text(c), "First: [REDACTED]. Then something else "
	       "entirely; but [REDACTED]!", "echo: each redacted apart");
	is_int(count_of(c, "leak-redact"), 2, "echo: counted twice");
	gs_call_free(c);

	c = request(st, NULL, &out);
	is_int(respond(c, "You are Captain Byte, the travel assistant of "
		       "Acme Rail."), GS_OUTCOME_PASS,
	       "echo: no system prompt, nothing to leak");
	gs_call_free(c);

	c = request(st, prompt, &out);
	is_int(respond(c, "Here: SYSTEM PROMPT: be nice\nok"),
	       GS_OUTCOME_MODIFIED, "pattern: system prompt: line");
	is_str(answer_text(c), "Here: [REDACTED]\nok",
	       "pattern: redacted to the end of the line");
	gs_call_free(c);

	/* Non-ASCII words compare case-blind too. */
	{
		static const char de[] = "Du bist ein Assistent für "
			"Zugverbindungen über die Alpen und sprichst nie "
			"über Rabattcodes.";
		c = request(st, de, &out);
		is_int(respond(c, "Also: DU BIST EIN ASSISTENT FÜR "
			       "ZUGVERBINDUNGEN ÜBER DIE ALPEN."),
		       GS_OUTCOME_MODIFIED, "echo: upper-cased umlauts");
		is_str(answer_text(c), "Also: [REDACTED].",
		       "echo: non-ASCII echo redacted");
		gs_call_free(c);
	}
	gs_stack_free(st);

	st = load("leak-redact-reject");
	ok(st != NULL, "reject: stack loads");
	if (!st)
		return;
	c = request(st, prompt, &out);
	is_int(respond(c, "you are captain byte the travel assistant of acme "
		       "rail"), GS_OUTCOME_REJECTED, "reject: echo rejected");
	has_str(gs_call_reason(c), "5 or more consecutive words",
		"reject: reason names min_words");
	ok(!strstr(gs_call_reason(c), "Captain"),
	   "reject: reason holds no prompt text");
	gs_call_free(c);
	c = request(st, prompt, &out);
	is_int(respond(c, "The system prompt: is secret"),
	       GS_OUTCOME_REJECTED, "reject: pattern rejected");
	gs_call_free(c);
	c = request(st, prompt, &out);
	is_int(respond(c, "Captain Byte here, the fare is 49 euros."),
	       GS_OUTCOME_PASS, "reject: clean answer passes");
	gs_call_free(c);
	gs_stack_free(st);
}

/* prompt-wrap in front: the stack's system prompt and marker notice are
 * what leak-redact protects, and its canary survives the wrapping. */
static void test_wrapped(void)
{
	gs_stack *st = load("leak-redact-wrapped");
	char hex[33], buf[1024];
	const char *sys, *user, *p;
	gs_call *c;
	int out;

	ok(st != NULL, "wrapped: stack loads");
	if (!st)
		return;
	c = request(st, "Caller prompt that must go away entirely.", &out);
	is_int(out, GS_OUTCOME_MODIFIED, "wrapped: request modified");
	is_int(gs_call_text_count(c, GS_PHASE_REQUEST), 2,
	       "wrapped: one system message, one user message");
	sys = gs_call_text(c, GS_PHASE_REQUEST, 0, NULL);
	user = gs_call_text(c, GS_PHASE_REQUEST, 1, NULL);
	ok(sys && !strstr(sys, "Caller prompt"),
	   "wrapped: caller's system prompt replaced");
	has_str(sys, "Captain Byte", "wrapped: stack's prompt in place");
	ok(find_canary(c, hex), "wrapped: canary after the wrap");
	p = user ? strstr(user, "<<untrusted-") : NULL;
	ok(p == user, "wrapped: user text fenced");
	if (p) {
		char marker[64];

		snprintf(marker, sizeof(marker), "%.*s", 12 + 32 + 2, p);
		has_str(sys, marker, "wrapped: system prompt states marker");
	}
	snprintf(buf, sizeof(buf), "My rules: Answer only questions about "
		 "train timetables, fares and seat bookings, and never "
		 "discuss codes.");
	is_int(respond(c, buf), GS_OUTCOME_MODIFIED,
	       "wrapped: echo of the stack's prompt redacted");
	is_str(answer_text(c), "My rules: [REDACTED] codes.",
	       "wrapped: redacted answer");
	gs_call_free(c);
	gs_stack_free(st);
}

/* One large case for the record: the shingle table keeps it linear. */
static void test_big(void)
{
	gs_stack *st = load("leak-redact-basic");
	size_t pw = 20000, aw = 100000;
	char *sys = malloc(pw * 12), *ans = malloc(aw * 12 + 200);
	size_t sl = 0, al = 0;
	struct timespec t0, t1;
	gs_call *c;
	int out;

	if (!st || !sys || !ans) {
		ok(0, "big: setup");
		free(sys);
		free(ans);
		gs_stack_free(st);
		return;
	}
	for (size_t i = 0; i < pw; i++)
		sl += (size_t)sprintf(sys + sl, "p%zu ", i * 7919 % 100003);
	for (size_t i = 0; i < aw; i++) {
		if (i == aw / 2)
			al += (size_t)sprintf(ans + al, "%.*s", 120, sys + 600);
		al += (size_t)sprintf(ans + al, "a%zu ", i);
	}
	c = request(st, sys, &out);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	is_int(respond(c, ans), GS_OUTCOME_MODIFIED,
	       "big: 20k-word prompt, 100k-word answer, one echo found");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	is_int(count_of(c, "leak-redact"), 1, "big: exactly one redaction");
	printf("# big: response phase took %.1f ms\n",
	       (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	gs_call_free(c);
	gs_stack_free(st);
	free(sys);
	free(ans);
}

/* ---- random texts against a reference --------------------------------- */

static uint64_t rnd_state = 0x1eafcafe5eedull;

static unsigned rnd(unsigned n)
{
	return (unsigned)(splitmix64(&rnd_state) % n);
}

/* Words as the plugin should see them (lower case) and a form that must
 * compare equal; the separators hold no letter, mark or digit. */
static const char *const vocab[][2] = {
	{ "train", "TRAIN" }, { "fare", "Fare" }, { "seat", "sEAT" },
	{ "lyon", "LYON" }, { "turin", "Turin" }, { "never", "NEVER" },
	{ "discuss", "DisCuss" }, { "codes", "CODES" }, { "the", "The" },
	{ "of", "OF" }, { "and", "And" }, { "a", "A" }, { "49", "49" },
	{ "2024", "2024" }, { "x1b", "X1B" }, { "été", "ÉTÉ" },
	{ "über", "ÜBER" }, { "ναι", "ΝΑΙ" }, { "да", "ДА" },
	{ "booking", "Booking" }, { "only", "ONLY" }, { "answer", "Answer" },
	/* 8, 16 and more bytes: hashed eight at a time */
	{ "schedule", "SCHEDULE" }, { "reservationcodes", "ReservationCodes" },
	{ "counterrevolutionaries", "COUNTERrevolutionaries" },
	{ "réservations", "RÉSERVATIONS" }, { "напоминание", "НАПОМИНАНИЕ" },
};
static const char *const seps[] = {
	" ", " ", " ", ", ", " - ", "-", "... ", "\n", " \xc2\xab ",
	" \xc2\xbb ", "'", "; ", " \xe2\x80\x94 ", "\t", "(", ") ",
};
#define NVOCAB (sizeof(vocab) / sizeof(vocab[0]))
#define NSEPS (sizeof(seps) / sizeof(seps[0]))

struct rtext {
	char s[8192];
	size_t len;
	unsigned word[400];      /* vocab index of each word */
	size_t start[400], end[400];
	size_t n;
};

/* Whether a string is all ASCII. */
static int ascii(const char *s)
{
	while (*s && (unsigned char)*s < 0x80)
		s++;
	return !*s;
}

/* A random vocabulary word or separator, ASCII only when asked (the
 * plugin has a separate path for texts that are). */
static unsigned rnd_word(int only_ascii)
{
	unsigned w;

	do
		w = rnd(NVOCAB);
	while (only_ascii && !ascii(vocab[w][0]));
	return w;
}

static const char *rnd_sep(int only_ascii)
{
	const char *p;

	do
		p = seps[rnd(NSEPS)];
	while (only_ascii && !ascii(p));
	return p;
}

static void rt_add(struct rtext *t, unsigned w, int variant, int only_ascii)
{
	size_t l;

	if (t->n)
		t->len += (size_t)sprintf(t->s + t->len, "%s",
					  rnd_sep(only_ascii));
	l = strlen(vocab[w][variant]);
	memcpy(t->s + t->len, vocab[w][variant], l + 1);
	t->word[t->n] = w;
	t->start[t->n] = t->len;
	t->end[t->n] = t->len + l;
	t->len += l;
	t->n++;
}

/* What the plugin must make of answer a under prompt p: every run of
 * min words of a that stands in p redacted, overlapping or touching runs
 * as one span.  Returns the number of spans. */
static unsigned reference_echo(const struct rtext *p, const struct rtext *a,
			       size_t min, char *out)
{
	size_t rs = 0, re = 0, at = 0, o = 0;
	unsigned spans = 0;

	for (size_t j = 0; j + min <= a->n; j++) {
		int hit = 0;

		for (size_t i = 0; !hit && i + min <= p->n; i++)
			hit = !memcmp(&p->word[i], &a->word[j],
				      min * sizeof(a->word[0]));
		if (!hit)
			continue;
		if (re && j <= re) {
			re = j + min;
			continue;
		}
		if (re) {
			o += (size_t)sprintf(out + o, "%.*s[REDACTED]",
					     (int)(a->start[rs] - at),
					     a->s + at);
			at = a->end[re - 1];
			spans++;
		}
		rs = j;
		re = j + min;
	}
	if (re) {
		o += (size_t)sprintf(out + o, "%.*s[REDACTED]",
				     (int)(a->start[rs] - at), a->s + at);
		at = a->end[re - 1];
		spans++;
	}
	sprintf(out + o, "%s", a->s + at);
	return spans;
}

/* 2,000 prompts and answers made of a small vocabulary (so words repeat
 * and shingle hashes meet often), the answers copying runs of 1 to 16
 * prompt words in other case and with other separators (runs of more
 * than 8 words test the merging of overlapping shingles), a quarter of
 * them with prompt and answer all ASCII, a half with one of them (the
 * plugin reads ASCII texts another way, and a word must hash the same
 * both ways): the redacted text must be the reference's, byte for byte. */
static void test_random_echo(void)
{
	gs_stack *st = load("leak-redact-basic");
	static struct rtext p, a;
	static char want[16384];
	int bad = 0, some = 0, multi = 0, plain = 0;

	ok(st != NULL, "random echo: stack loads");
	if (!st)
		return;
	for (int round = 0; round < 2000; round++) {
		gs_call *c;
		unsigned spans;
		int out;

		/* prompt, answer, both or neither all ASCII */
		int pa = round & 1, aa = round >> 1 & 1;

		p.n = p.len = a.n = a.len = 0;
		p.s[0] = a.s[0] = '\0';
		for (unsigned k = 20 + rnd(60); k--;)
			rt_add(&p, rnd_word(pa), 0, pa);
		while (a.n < 150) {
			if (rnd(40)) {
				rt_add(&a, rnd_word(aa), (int)rnd(2), aa);
			} else {
				size_t from = rnd((unsigned)p.n), l = 1 + rnd(16);

				for (size_t k = from; k < p.n && k < from + l &&
				     (!aa || ascii(vocab[p.word[k]][0])); k++)
					rt_add(&a, p.word[k], (int)rnd(2), aa);
			}
		}
		spans = reference_echo(&p, &a, 8, want);
		plain += ascii(a.s) && spans;
		c = request(st, p.s, &out);
		out = respond(c, a.s);
		if (out != (spans ? GS_OUTCOME_MODIFIED : GS_OUTCOME_PASS) ||
		    strcmp(answer_text(c) ? answer_text(c) : "", want) ||
		    count_of(c, "leak-redact") != spans) {
			if (!bad++)
				printf("# prompt: %s\n# answer: %s\n# want: "
				       "%s\n# got: %s\n", p.s, a.s, want,
				       answer_text(c));
		}
		some += spans > 0;
		multi += spans > 1;
		gs_call_free(c);
	}
	is_int(bad, 0, "random echo: 2000 answers redacted as the reference");
	ok(some > 500 && some < 2000, "random echo: %d of them had echoes",
	   some);
	ok(multi > 50, "random echo: %d had two or more", multi);
	ok(plain > 400, "random echo: %d all-ASCII answers had echoes",
	   plain);
	gs_stack_free(st);
}

/* The canary written into answers with random case, separators (non-
 * ASCII ones too) and now and then a digit changed or dropped: rejected
 * exactly when the answer's ASCII letters and digits, lower-cased, hold
 * it. */
static void test_random_canary(void)
{
	static const char *const cseps[] = { "", "", "", " ", "-", ".",
					     "\n", "\xc3\xa9", ":", "  " };
	gs_stack *st = load("leak-redact-canary");
	int bad = 0, found = 0;

	ok(st != NULL, "random canary: stack loads");
	if (!st)
		return;
	for (int round = 0; round < 1000; round++) {
		char hex[33], ans[2048], flat[2048];
		size_t n = 0, f = 0;
		int out, want, mode = (int)rnd(3), at = (int)rnd(32);
		gs_call *c = request(st, prompt, &out);

		if (!find_canary(c, hex)) {
			bad++;
			gs_call_free(c);
			continue;
		}
		for (unsigned k = rnd(8); k--;)
			n += (size_t)sprintf(ans + n, "%s%s",
					     vocab[rnd_word(0)][rnd(2)],
					     rnd_sep(0));
		for (int k = 0; k < 32; k++) {
			char ch = hex[k];

			if (mode == 1 && k == at)
				continue; /* dropped */
			if (mode == 2 && k == at) /* changed */
				ch = ch == '0' ? '1' : '0';
			if (rnd(2) && ch >= 'a')
				ch = (char)(ch - 32);
			ans[n++] = ch;
			if (!rnd(4))
				n += (size_t)sprintf(ans + n, "%s",
						     cseps[rnd(10)]);
		}
		for (unsigned k = rnd(8); k--;)
			n += (size_t)sprintf(ans + n, "%s%s",
					     rnd_sep(0),
					     vocab[rnd_word(0)][rnd(2)]);
		ans[n] = '\0';
		for (size_t i = 0; i < n; i++) {
			char ch = ans[i];

			if (ch >= 'A' && ch <= 'Z')
				ch = (char)(ch + 32);
			if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))
				flat[f++] = ch;
		}
		flat[f] = '\0';
		want = strstr(flat, hex) != NULL;
		found += want;
		out = respond(c, ans);
		if ((out == GS_OUTCOME_REJECTED) != want && !bad++)
			printf("# canary %s, answer %s: outcome %d\n", hex,
			       ans, out);
		gs_call_free(c);
	}
	is_int(bad, 0, "random canary: 1000 answers judged as the reference");
	ok(found > 200 && found < 800, "random canary: %d held it", found);
	gs_stack_free(st);
}

int main(void)
{
	srcdir = getenv("top_srcdir");
	if (!srcdir)
		srcdir = ".";
	test_canary();
	test_echo();
	test_wrapped();
	test_big();
	test_random_echo();
	test_random_canary();
	return done_testing();
}
