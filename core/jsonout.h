/* SPDX-License-Identifier: MIT */
/*
 * jsonout.h - JSON text written straight into a gs_buf, byte for byte as
 * cJSON_PrintUnformatted writes it.  Internal: compiled into the library
 * and into the CLI (core/cli/jsonl.c), not exported.
 */
#ifndef GS_JSONOUT_H
#define GS_JSONOUT_H

#include <cjson/cJSON.h>
#include <guardstack/plugin.h>

/* Appends s (NUL-terminated; NULL reads as "") as a JSON string, quotes
 * included, escaped as cJSON escapes: '"', '\\' and control characters
 * (the short forms where JSON has them), every other byte as it is.
 * 0, or -1 when out of memory (b keeps what was appended). */
int gs__json_str(gs_buf *b, const char *s);

/* Appends v in decimal: what cJSON prints for an integral number of
 * magnitude below 10^15 (larger ones it prints with an exponent).  0, or
 * -1 when out of memory. */
int gs__json_int(gs_buf *b, long long v);

/* Appends item (and what it holds; not its siblings) as JSON.  0, or -1
 * when out of memory or the tree holds what cJSON would not print either
 * (an invalid item, raw JSON without text). */
int gs__json_value(gs_buf *b, const cJSON *item);

/* item as JSON in a new string the caller frees with gs_free; NULL when
 * gs__json_value fails. */
char *gs__json_print(const cJSON *item);

#endif
