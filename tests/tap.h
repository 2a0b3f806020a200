/* SPDX-License-Identifier: MIT */
/* tap.h - the few TAP helpers the C unit tests need.  Each check prints
 * one "ok N - name" or "not ok N - name" line; done_testing() prints the
 * plan and makes the exit status say whether everything passed. */
#ifndef GS_TAP_H
#define GS_TAP_H
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

static int tap_ok(int cond, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5), unused));
#include <stdarg.h>
static int tap_ok(int cond, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	printf("%sok %d - ", cond ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond) {
		tap_failed++;
		printf("#   failed at %s:%d\n", file, line);
	}
	fflush(stdout);
	return cond;
}

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...) do { \
	long long g_ = (long long)(got), w_ = (long long)(want); \
	if (!tap_ok(g_ == w_, __FILE__, __LINE__, __VA_ARGS__)) \
		printf("#   got %lld, want %lld\n", g_, w_); } while (0)
#define is_str(got, want, ...) do { \
	const char *g_ = (got), *w_ = (want); \
	int c_ = (g_ && w_) ? strcmp(g_, w_) == 0 : g_ == w_; \
	if (!tap_ok(c_, __FILE__, __LINE__, __VA_ARGS__)) \
		printf("#   got \"%s\"\n#  want \"%s\"\n", g_ ? g_ : "(null)", \
		       w_ ? w_ : "(null)"); } while (0)
#define has_str(hay, needle, ...) do { \
	const char *h_ = (hay), *n_ = (needle); \
	if (!tap_ok(h_ && strstr(h_, n_), __FILE__, __LINE__, __VA_ARGS__)) \
		printf("#   \"%s\"\n#   does not contain \"%s\"\n", \
		       h_ ? h_ : "(null)", n_); } while (0)

static int done_testing(void) __attribute__((unused));
static int done_testing(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
#endif
