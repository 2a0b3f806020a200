/* SPDX-License-Identifier: MIT */
/* bad-abi - a plugin built for a future ABI major: must be refused. */
#include <guardstack/plugin.h>

static gs_result run(void *inst, gs_ctx *ctx)
{
	(void)inst;
	(void)ctx;
	return GS_RESULT_OK;
}

GS_PLUGIN_EXPORT const gs_plugin gs_plugin_entry = {
	.abi_major = GS_PLUGIN_ABI_MAJOR + 1,
	.abi_minor = 0,
	.size = sizeof(gs_plugin),
	.name = "bad-abi",
	.description = "test plugin with a wrong ABI major",
	.phases = GS_PHASE_REQUEST,
	.request = run,
};
