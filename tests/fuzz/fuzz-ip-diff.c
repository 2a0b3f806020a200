/* SPDX-License-Identifier: MIT */
/*
 * fuzz-ip-diff - input-patterns with its key-word prefilter against
 * input-patterns without it (`prefilter = no`, every rule on every whole
 * text), on the shipped rule set.  The fuzz input, made valid UTF-8 (and
 * with one escape for long runs, see repair), is one user message; for
 * each action (reject, redact, flag) both stacks
 * run the request phase and must agree on the outcome, the reason, the
 * count and the text that goes on.  Any difference aborts, with both
 * results on stderr.
 *
 * The rules file is copied into the fuzz directory (mode 0700, ours) at
 * start, from FZ_RULES (set by Makefile.am to the source tree's
 * etc/guardstack/injection.rules).
 */
#include "fuzz.h"

#ifndef FZ_RULES
#error "FZ_RULES must name the rules file"
#endif

static const char *const actions[] = { "reject", "redact", "flag" };
#define NACT (sizeof actions / sizeof *actions)
static gs_stack *with[NACT], *without[NACT];

/* Links input-patterns.so into the fuzz plugin directory, which fz_setup
 * fills only with the plugins the other targets may load. */
static void link_plugin(const char *list)
{
	for (const char *p = list; *p;) {
		const char *colon = strchr(p, ':');
		int n = colon ? (int)(colon - p) : (int)strlen(p);
		char src[PATH_MAX], dst[PATH_MAX + 48];

		snprintf(src, sizeof src, "%.*s/input-patterns.so", n, p);
		if (access(src, R_OK) == 0) {
			char *real = realpath(src, NULL);

			snprintf(dst, sizeof dst,
				 "%s/plugins/input-patterns.so", fz_dir);
			fz_assert(real && symlink(real, dst) == 0);
			free(real);
			return;
		}
		p += n + (colon != NULL);
	}
	fprintf(stderr, "fuzz: input-patterns.so not in %s\n", list);
	exit(2);
}

static void copy_rules(void)
{
	FILE *fp = fopen(FZ_RULES, "rb");
	static char text[1 << 20];
	size_t n;

	if (!fp) {
		perror(FZ_RULES);
		exit(2);
	}
	n = fread(text, 1, sizeof text, fp);
	fclose(fp);
	fz_write("injection.rules", text, n);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *env = getenv("GUARDSTACK_PLUGIN_PATH");
	char *list = env ? strdup(env) : NULL;

	(void)argc;
	(void)argv;
	fz_setup(); /* exits when GUARDSTACK_PLUGIN_PATH is not set */
	fz_assert(list);
	link_plugin(list);
	free(list);
	copy_rules();
	for (size_t a = 0; a < NACT; a++) {
		char name[64], text[256];

		snprintf(text, sizeof text, "[input-patterns]\nrules = "
			 "injection.rules\naction = %s\n", actions[a]);
		snprintf(name, sizeof name, "%s-yes.ini", actions[a]);
		with[a] = fz_stack(name, text);
		snprintf(text, sizeof text, "[input-patterns]\nrules = "
			 "injection.rules\naction = %s\nprefilter = no\n",
			 actions[a]);
		snprintf(name, sizeof name, "%s-no.ini", actions[a]);
		without[a] = fz_stack(name, text);
	}
	return 0;
}

/* What one stack made of the text. */
typedef struct result {
	int outcome;
	unsigned long count;
	const char *reason;
	gs_buf text;
} result;

static gs_call *run(const gs_stack *st, const char *s, size_t len,
		    result *r)
{
	gs_call *c = gs_call_new(st);
	const gs_filter_report *rep;
	const char *t;
	size_t l;

	fz_assert(c);
	fz_assert(gs_call_add_message(c, "user", s, len, NULL) == GS_OK);
	r->outcome = gs_call_run(c, GS_PHASE_REQUEST);
	fz_assert(gs_call_reports(c, &rep) == 1);
	r->count = rep[0].count;
	r->reason = gs_call_reason(c);
	t = gs_call_text(c, GS_PHASE_REQUEST, 0, &l);
	fz_assert(t);
	fz_assert(gs_buf_append(&r->text, t, l) == GS_OK);
	return c;
}

static void show(const char *which, const result *r)
{
	fprintf(stderr, "fuzz: %s: outcome %s, count %lu, reason %s\n"
		"fuzz: %s: text [%.*s]\n", which,
		r->outcome < 0 ? "(call failed)" :
		gs_outcome_name((gs_outcome)r->outcome), r->count,
		r->reason ? r->reason : "(none)", which,
		(int)(r->text.len > 2000 ? 2000 : r->text.len),
		r->text.data ? r->text.data : "");
}

/* Appends s[0..n) with NUL bytes dropped. */
static void put_nonul(gs_buf *out, const char *s, size_t n)
{
	while (n) {
		const char *z = memchr(s, '\0', n);
		size_t run = z ? (size_t)(z - s) : n;

		fz_assert(gs_buf_append(out, s, run) == GS_OK);
		run += z != NULL;
		s += run;
		n -= run;
	}
}

/* The fuzz input as a message text: NUL bytes dropped, bytes that are
 * not part of a valid UTF-8 sequence replaced by '?'.  One escape lets
 * the fuzzer make what the prefilter's windows and regions are about,
 * long runs: \x01 N C (C one character) stands for C repeated 4 * (N + 1)
 * times ("ignore" + 40 zero-width spaces + "previous" is a few bytes).
 * Control characters are invisible to the rules anyway. */
#define FZ_TEXT_MAX (256u << 10)

/* The escape at d[i - 1]: appends its run, returns where input goes on
 * (a broken escape is skipped). */
static size_t escape(const uint8_t *d, size_t n, size_t i, gs_buf *out)
{
	const char *c = (const char *)d + i + 1;
	size_t reps, len;

	if (i + 1 >= n)
		return n;
	reps = 4 * ((size_t)d[i] + 1);
	for (len = 1; len <= 4 && i + 1 + len <= n; len++)
		if (gs_utf8_check(c, len) == len)
			break;
	if (len > 4 || i + 1 + len > n || !*c)
		return i + 2;
	while (reps-- && out->len < FZ_TEXT_MAX)
		fz_assert(gs_buf_append(out, c, len) == GS_OK);
	return i + 1 + len;
}

static void repair(const uint8_t *d, size_t n, gs_buf *out)
{
	const char *s = (const char *)d;
	size_t i = 0;

	while (i < n) {
		size_t ok = gs_utf8_check(s + i, n - i);
		const char *esc = memchr(s + i, '\1', ok);

		if (esc)
			ok = (size_t)(esc - (s + i));
		put_nonul(out, s + i, ok);
		i += ok;
		if (i == n)
			break;
		if (esc) {
			i = escape(d, n, i + 1, out);
			continue;
		}
		if (d[i])
			fz_assert(gs_buf_putc(out, '?') == GS_OK);
		i++;
	}
	fz_assert(gs_buf_reserve(out, 0) == GS_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gs_buf in = GS_BUF_INIT;

	repair(data, size, &in);
	for (size_t a = 0; a < NACT; a++) {
		result y = { 0, 0, NULL, GS_BUF_INIT };
		result n = { 0, 0, NULL, GS_BUF_INIT };
		gs_call *cy = run(with[a], in.data, in.len, &y);
		gs_call *cn = run(without[a], in.data, in.len, &n);
		int same = y.outcome == n.outcome && y.count == n.count &&
			   !strcmp(y.reason ? y.reason : "",
				   n.reason ? n.reason : "") &&
			   y.text.len == n.text.len &&
			   (!y.text.len ||
			    !memcmp(y.text.data, n.text.data, y.text.len));

		if (!same) {
			fprintf(stderr, "fuzz: action = %s: prefilter = yes "
				"and prefilter = no differ\n", actions[a]);
			show("yes", &y);
			show("no", &n);
		}
		fz_assert(same);
		gs_call_free(cy);
		gs_call_free(cn);
		gs_buf_free(&y.text);
		gs_buf_free(&n.text);
	}
	gs_buf_free(&in);
	return 0;
}
