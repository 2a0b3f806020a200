/* SPDX-License-Identifier: MIT */
/* bad-name - a descriptor whose name is not its file's, and which lists a
 * phase without its callback: the loader must refuse both. */
#include <guardstack/plugin.h>

GS_PLUGIN_EXPORT const gs_plugin gs_plugin_entry = {
	GS_PLUGIN_HEADER,
	.name = "something-else",
	.description = "test plugin with a wrong name",
	.phases = GS_PHASE_REQUEST,
};
