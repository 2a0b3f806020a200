/* SPDX-License-Identifier: MIT */
/* cmd_check.c - `guardstack check`: load, validate, print resolved. */
#include "config.h"
#include "cli.h"

static const char *phase_str(unsigned p)
{
	switch (p) {
	case GS_PHASE_REQUEST: return "request";
	case GS_PHASE_RESPONSE: return "response";
	case GS_PHASE_REQUEST | GS_PHASE_RESPONSE: return "both";
	default: return "finish only";
	}
}

int cmd_check(const struct cli_opts *o)
{
	gs_stack *st;
	int rc = cli_load(o, &st);

	if (rc)
		return rc;
	printf("stack %s: %s\n", gs_stack_name(st), gs_stack_path(st));
	if (gs_stack_fell_back(st))
		printf("note: no stack file for '%s'; using the fallback "
		       "default.ini\n", gs_stack_name(st));
	printf("strict: %s\n", gs_stack_strict(st) ? "yes" :
	       "no (ownership and permission checks are off)");
	printf("filters, in run order: %zu\n", gs_stack_filter_count(st));
	for (size_t i = 0; i < gs_stack_filter_count(st); i++) {
		gs_filter_desc d;

		gs_stack_filter(st, i, &d);
		printf("%2zu. [%s] module %s (%s)\n", i + 1, d.name, d.module,
		       d.path);
		printf("    %s\n", d.description);
		printf("    control %s, on_error %s, phase %s, roles %s\n",
		       d.control, d.on_error, phase_str(d.phases),
		       d.roles ? d.roles : "default");
		printf("    defined at %s:%d\n", d.file, d.line);
		for (size_t k = 0; k < d.nsettings; k++)
			printf("    %s = %s\n", d.keys[k], d.values[k]);
	}
	if (!gs_stack_upstream(st))
		printf("upstream: offline (no model is called), model %s\n",
		       gs_stack_model(st));
	else
		/* Key sources only: a key is never read by check. */
		printf("upstream: %s, model %s, keys %s\n",
		       gs_upstream_url(gs_stack_upstream(st)),
		       gs_stack_model(st),
		       gs_upstream_key_sources(gs_stack_upstream(st)));
	printf("ok\n");
	gs_stack_free(st);
	return 0;
}
