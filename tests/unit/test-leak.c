/* SPDX-License-Identifier: MIT */
/*
 * test-leak - request->response flows of leak-redact (and prompt-wrap in
 * front of it) through the embedding API: `guardstack filter` runs one
 * phase per invocation, so a canary added in the request phase and looked
 * for in the response phase can only be tested here.
 */
#include <guardstack.h>
#include <stdlib.h>
#include <time.h>

#include "../tap.h"

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

int main(void)
{
	srcdir = getenv("top_srcdir");
	if (!srcdir)
		srcdir = ".";
	test_canary();
	test_echo();
	test_wrapped();
	test_big();
	return done_testing();
}
