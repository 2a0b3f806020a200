/* SPDX-License-Identifier: MIT */
/* fuzz-response - chat-completions response JSON in and out
 * (fuzz-json.h). */
#define FZ_PHASE GS_PHASE_RESPONSE
#include "fuzz-json.h"
