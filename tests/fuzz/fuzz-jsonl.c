/* SPDX-License-Identifier: MIT */
/*
 * fuzz-jsonl - `guardstack filter --jsonl` without its stdin and stdout:
 * the input is read as stdin is, line by line with the CLI's reader
 * (lines over 256 bytes are cut), and each line goes through the CLI's
 * own per-line code (core/cli/jsonl.c).  Every input line must produce
 * exactly one output line, a JSON object with a known verdict and a text
 * that is a string exactly when the verdict lets content through.
 */
#include "fuzz.h"
#include "cli/cli.h"
#include <cjson/cJSON.h>

static gs_stack *st;

static void check_line(const gs_buf *line)
{
	static const char *const verdicts[] = { "pass", "modified",
						"rejected", "error", NULL };
	cJSON *o, *v, *t;
	int i;

	fz_assert(line->len > 0 && line->data[line->len - 1] == '\n');
	fz_assert(memchr(line->data, '\n', line->len) ==
		  line->data + line->len - 1);
	o = cJSON_ParseWithLength(line->data, line->len);
	fz_assert(cJSON_IsObject(o));
	v = cJSON_GetObjectItemCaseSensitive(o, "verdict");
	fz_assert(cJSON_IsString(v));
	for (i = 0; verdicts[i] && strcmp(verdicts[i], v->valuestring); i++)
		;
	fz_assert(verdicts[i]);
	t = cJSON_GetObjectItemCaseSensitive(o, "text");
	fz_assert(i < 2 ? cJSON_IsString(t) : cJSON_IsNull(t));
	fz_assert(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(o,
								 "filters")));
	cJSON_Delete(o);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_setup();
	st = fz_stack("edit.ini", FZ_EDIT_STACK);
	return 0;
}

static void run(const uint8_t *data, size_t size, gs_phase phase)
{
	gs_buf in = GS_BUF_INIT, line = GS_BUF_INIT;
	struct cli_lines lines;
	unsigned long n = 0, newlines = 0;
	int r, too_long;
	FILE *fp;

	for (size_t i = 0; i < size; i++)
		newlines += data[i] == '\n';
	fp = fmemopen((void *)data, size, "r");
	fz_assert(fp);
	cli_lines_init(&lines, fp);
	while ((r = cli_read_line(&lines, &in, 256, &too_long)) > 0) {
		fz_assert(too_long || in.len <= 256);
		fz_assert(cli_jsonl_line(st, phase, in.data ? in.data : "",
					 in.len, too_long, 256, ++n,
					 &line) == 0);
		check_line(&line);
	}
	fz_assert(r == 0);
	/* one answer per line, the last one with or without its newline */
	fz_assert(n == newlines + (data[size - 1] != '\n'));
	cli_lines_free(&lines);
	fclose(fp);
	gs_buf_free(&in);
	gs_buf_free(&line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	run(data, size, GS_PHASE_REQUEST);
	run(data, size, GS_PHASE_RESPONSE);
	return 0;
}
