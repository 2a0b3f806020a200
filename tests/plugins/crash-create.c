/* SPDX-License-Identifier: MIT */
/*
 * crash-create - a plugin that crashes: in create() (the default, so the
 * stack cannot even load) or, with `at = request`, in the request phase.
 * Plugins run inside the guardstack process, as PAM modules do, so a
 * crash cannot be survived; tests/cli/hostile.sh checks that it takes the
 * process down with nothing passed on and a word on stderr.
 */
#include <guardstack/plugin.h>
#include <stdlib.h>
#include <string.h>

static void crash(void)
{
	/* A NULL store the compiler cannot see coming. */
	volatile int *p = (int *)getenv("GS_CRASH_CREATE_NEVER_SET");

	*p = 1;
}

static int cc_create(gs_config *cfg, void **out)
{
	static const char *const at[] = { "create", "request", NULL };
	int where;
	int rc = gs_config_enum(cfg, "at", at, 0, &where);

	if (rc < 0)
		return rc;
	if (where == 0)
		crash();
	*out = NULL;
	return GS_OK;
}

static gs_result cc_request(void *inst, gs_ctx *ctx)
{
	(void)inst;
	(void)ctx;
	crash();
	return GS_RESULT_OK;
}

static void cc_destroy(void *inst)
{
	(void)inst;
}

GS_PLUGIN_EXPORT const gs_plugin gs_plugin_entry = {
	GS_PLUGIN_HEADER,
	.name = "crash-create",
	.description = "test plugin that crashes on purpose",
	.phases = GS_PHASE_REQUEST,
	.create = cc_create,
	.request = cc_request,
	.destroy = cc_destroy,
};
