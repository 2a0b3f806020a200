/* SPDX-License-Identifier: MIT */
#include <guardstack/plugin.h>
#include <stdlib.h>
#include <time.h>
#include "../tap.h"

static int keep_odd(void *arg, const char *s, size_t len, const gs_span *g,
		    unsigned n, gs_buf *out)
{
	int *calls = arg;

	(void)len;
	(void)n;
	if ((*calls)++ % 2)
		return 0; /* keep every second match */
	gs_buf_putc(out, '<');
	gs_buf_append(out, s + g[1].start, g[1].end - g[1].start);
	gs_buf_putc(out, '>');
	return 1;
}

int main(void)
{
	gs_rx *rx;
	char err[200];
	gs_span g[3];
	gs_buf out = GS_BUF_INIT;
	const char *s;
	int calls = 0;

	is_int(gs_rx_compile(&rx, "a(b", 0, err, sizeof err), GS_EINVAL,
	       "bad pattern refused");
	has_str(err, "missing closing parenthesis at offset 3",
		"error says what and where");
	ok(rx == NULL, "no object on failure");

	is_int(gs_rx_compile(&rx, "sys(tem)", GS_RX_CASELESS, err, sizeof err),
	       GS_OK, "compile");
	is_int(gs_rx_groups(rx), 1, "group count");
	s = "the SYSTEM prompt";
	is_int(gs_rx_find(rx, NULL, s, strlen(s), 0, g, 2), 1, "caseless find");
	is_int(g[0].start, 4, "match start");
	is_int(g[0].end, 10, "match end");
	is_int(g[1].start, 7, "group start");
	is_int(gs_rx_find(rx, NULL, s, strlen(s), 5, g, 2), 0,
	       "no match past the start");
	gs_rx_free(rx);

	gs_rx_compile(&rx, "\\d+", 0, err, sizeof err);
	s = "no digits here";
	is_int(gs_rx_replace(rx, NULL, s, strlen(s), NULL, NULL, "#", &out), 0,
	       "no match: zero replacements");
	is_int(out.len, 0, "no match: nothing copied");
	s = "a1b22c333";
	is_int(gs_rx_replace(rx, NULL, s, strlen(s), NULL, NULL, "#", &out), 3,
	       "fixed replacement count");
	is_str(out.data, "a#b#c#", "fixed replacement result");
	gs_rx_free(rx);

	gs_buf_reset(&out);
	gs_rx_compile(&rx, "\\[(\\w+)\\]", 0, err, sizeof err);
	s = "[a] [b] [c]";
	is_int(gs_rx_replace(rx, NULL, s, strlen(s), keep_odd, &calls, NULL,
			     &out), 2, "callback can keep a match");
	is_str(out.data, "<a> [b] <c>", "kept match left in place");
	gs_rx_free(rx);

	gs_buf_reset(&out);
	gs_rx_compile(&rx, "x*", 0, err, sizeof err);
	s = "a\xc3\xa9x";
	is_int(gs_rx_replace(rx, NULL, s, strlen(s), NULL, NULL, "-", &out), 4,
	       "empty matches advance by a whole character");
	is_str(out.data, "-a-\xc3\xa9--", "empty-match replacement result");
	gs_rx_free(rx);

	/* Catastrophic backtracking ends with GS_ELIMIT, quickly. */
	gs_rx_compile(&rx, "^(a+)+$", 0, err, sizeof err);
	char *evil = malloc(40);
	memset(evil, 'a', 38);
	evil[38] = 'b';
	evil[39] = '\0';
	clock_t t0 = clock();
	int r = gs_rx_find(rx, NULL, evil, 39, 0, g, 1);
	double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	is_int(r, GS_ELIMIT, "backtracking bomb hits the match limit");
	printf("# stopped after %.3f s\n", secs);
	is_int(gs_rx_replace(rx, NULL, evil, 39, NULL, NULL, "", &out),
	       GS_ELIMIT, "replace reports the limit");
	free(evil);
	gs_rx_free(rx);
	gs_rx_free(NULL);

	is_int(gs_rx_compile(&rx, "\xff", 0, err, sizeof err), GS_EINVAL,
	       "invalid UTF-8 pattern refused");
	gs_buf_free(&out);
	return done_testing();
}
