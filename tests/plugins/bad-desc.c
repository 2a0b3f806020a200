/* SPDX-License-Identifier: MIT */
/*
 * bad-desc - descriptors that are wrong in one way each, built three
 * times (see Makefile.am): BAD_MINOR asks for a newer minor ABI than the
 * core has, BAD_SIZE claims a descriptor smaller than its ABI needs (a
 * mangled or truncated one), and otherwise it lists the response phase
 * without a response callback.  The loader must refuse each, naming why.
 */
#include <guardstack/plugin.h>

static gs_result run(void *inst, gs_ctx *ctx)
{
	(void)inst;
	(void)ctx;
	return GS_RESULT_OK;
}

#if defined(BAD_MINOR)
GS_PLUGIN_EXPORT const gs_plugin gs_plugin_entry = {
	.abi_major = GS_PLUGIN_ABI_MAJOR,
	.abi_minor = GS_PLUGIN_ABI_MINOR + 1,
	.size = sizeof(gs_plugin),
	.name = "bad-minor",
	.description = "test plugin built for a newer minor ABI",
	.phases = GS_PHASE_REQUEST,
	.request = run,
};
#elif defined(BAD_SIZE)
GS_PLUGIN_EXPORT const gs_plugin gs_plugin_entry = {
	.abi_major = GS_PLUGIN_ABI_MAJOR,
	.abi_minor = GS_PLUGIN_ABI_MINOR,
	.size = 16,
	.name = "bad-size",
	.description = "test plugin with a truncated descriptor",
	.phases = GS_PHASE_REQUEST,
	.request = run,
};
#else
GS_PLUGIN_EXPORT const gs_plugin gs_plugin_entry = {
	GS_PLUGIN_HEADER,
	.name = "no-callback",
	.description = "test plugin listing a phase it cannot run",
	.phases = GS_PHASE_REQUEST | GS_PHASE_RESPONSE,
	.request = run,
};
#endif
