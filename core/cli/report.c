/* SPDX-License-Identifier: MIT */
/* report.c - what `filter` and `run` tell the user about a call: the
 * outcome as an exit status and message, and with -v each filter's part. */
#include "config.h"
#include "cli.h"
#include <errno.h>
#include <string.h>

int cli_outcome_exit(const gs_call *c, int oc, const char *what)
{
	const char *by = gs_call_rejected_by(c), *why = gs_call_reason(c);

	if (oc == GS_OUTCOME_REJECTED) {
		cli_err("%s%srejected%s%s: %s", what ? what : "",
			what ? " " : "", by ? " by " : "", by ? by : "",
			why ? why : "");
		return EXIT_REJECTED;
	}
	if (oc == GS_OUTCOME_ERROR) {
		cli_err("%s; nothing was passed on", why ? why : "error");
		return EXIT_RUNTIME;
	}
	return EXIT_PASS;
}

void cli_report(const gs_stack *st, const gs_call *c, unsigned phases)
{
	const gs_filter_report *r;
	size_t n = gs_call_reports(c, &r);

	for (size_t i = 0; i < n; i++) {
		gs_filter_desc d;

		gs_stack_filter(st, i, &d);
		if (phases && !(d.phases & phases))
			continue;
		fprintf(stderr, "guardstack: %s: %s", r[i].name,
			gs_verdict_name(r[i].verdict));
		if (r[i].count)
			fprintf(stderr, " (%lu %s)", r[i].count,
				r[i].count_unit);
		fputc('\n', stderr);
	}
}

int cli_stdout_failed(void)
{
	cli_err("writing stdout failed: %s", strerror(errno));
	return EXIT_RUNTIME;
}

int cli_print_json(char *js)
{
	if (!js) {
		cli_err("out of memory");
		return EXIT_RUNTIME;
	}
	fputs(js, stdout);
	fputc('\n', stdout);
	gs_free(js);
	return EXIT_PASS;
}
