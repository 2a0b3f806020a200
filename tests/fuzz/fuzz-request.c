/* SPDX-License-Identifier: MIT */
/* fuzz-request - chat-completions request JSON in and out (fuzz-json.h). */
#define FZ_PHASE GS_PHASE_REQUEST
#include "fuzz-json.h"
