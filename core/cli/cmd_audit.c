/* SPDX-License-Identifier: MIT */
/*
 * cmd_audit.c - `guardstack audit [-s STACK | --all] [--json]`: the
 * library's gs_audit as a table, or its JSON as is.  Exit 0 when no check
 * failed, 1 when one did, 2 when an audit could not run.
 */
#include "config.h"
#include "cli.h"
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Prints one audit as a table: check, status, detail. */
static int print_table(const char *js)
{
	cJSON *root = cJSON_Parse(js), *c;
	const cJSON *stack, *checks;
	int nfail = 0, nwarn = 0, n = 0;

	if (!root) {
		cli_err("audit: out of memory");
		return -1;
	}
	stack = cJSON_GetObjectItemCaseSensitive(root, "stack");
	checks = cJSON_GetObjectItemCaseSensitive(root, "checks");
	printf("audit of %s\n", cJSON_IsString(stack) ? stack->valuestring
						       : "?");
	printf("%-20s %-6s %s\n", "CHECK", "STATUS", "DETAIL");
	cJSON_ArrayForEach(c, checks) {
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(c, "status");
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(c, "detail");
		const char *s = cJSON_IsString(st) ? st->valuestring : "?";

		n++;
		nfail += !strcmp(s, "fail");
		nwarn += !strcmp(s, "warn");
		printf("%-20s %-6s %s\n", c->string, s,
		       cJSON_IsString(d) ? d->valuestring : "");
	}
	if (nfail)
		printf("FAILED: %d of %d checks failed, %d warning%s\n",
		       nfail, n, nwarn, nwarn == 1 ? "" : "s");
	else
		printf("passed: %d checks, %d warning%s\n", n, nwarn,
		       nwarn == 1 ? "" : "s");
	cJSON_Delete(root);
	return 0;
}

/* Audits one stack; EXIT_PASS, EXIT_REJECTED (a check failed) or
 * EXIT_CONFIG (the audit could not run). */
static int audit_one(const char *stack, int json)
{
	char *js = NULL, *err = NULL;
	int rc = gs_audit(stack, 0, &js, &err);

	if (rc < 0) {
		cli_err("audit: %s", err ? err : gs_strerror(rc));
		gs_free(err);
		return EXIT_CONFIG;
	}
	if (json)
		printf("%s\n", js);
	else if (print_table(js) < 0)
		rc = -1;
	gs_free(js);
	if (rc < 0)
		return EXIT_RUNTIME;
	return rc > 0 ? EXIT_REJECTED : EXIT_PASS;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every *.ini of the configuration directory, in name order. */
static int audit_all(int json)
{
	const char *dir = gs_default_confdir();
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;
	int worst = EXIT_PASS, rc = 0;

	if (!d) {
		cli_err("audit --all: %s: %s", dir, strerror(errno));
		return EXIT_CONFIG;
	}
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		char **v;

		if (l <= 4 || e->d_name[0] == '.' ||
		    strcmp(e->d_name + l - 4, ".ini"))
			continue;
		v = gs_realloc(names, (n + 1) * sizeof *v);
		if (!v || !(v[n] = gs_strndup(e->d_name, l))) {
			names = v ? v : names;
			rc = -1;
			break;
		}
		names = v;
		n++;
	}
	closedir(d);
	if (rc < 0) {
		cli_err("audit: out of memory");
		worst = EXIT_RUNTIME;
	} else if (!n) {
		cli_err("audit --all: no *.ini stack in %s", dir);
		worst = EXIT_CONFIG;
	}
	if (n)
		qsort(names, n, sizeof *names, by_name);
	for (size_t i = 0; worst != EXIT_RUNTIME && i < n; i++) {
		gs_buf b = GS_BUF_INIT;
		int r;

		if (gs_buf_printf(&b, "%s/%s", dir, names[i]) < 0) {
			cli_err("audit: out of memory");
			worst = EXIT_RUNTIME;
			gs_buf_free(&b);
			break;
		}
		if (i && !json)
			printf("\n");
		r = audit_one(b.data, json);
		gs_buf_free(&b);
		/* The worst outcome wins: 2 over 1 over 0. */
		if (r == EXIT_CONFIG || r == EXIT_RUNTIME ||
		    (r == EXIT_REJECTED && worst == EXIT_PASS))
			worst = r;
	}
	for (size_t i = 0; i < n; i++)
		gs_free(names[i]);
	gs_free(names);
	return worst;
}

int cmd_audit(const struct cli_opts *o, int all)
{
	if (o->jsonl) {
		cli_err("audit: --jsonl does not apply; use --json");
		return EXIT_CONFIG;
	}
	return all ? audit_all(o->json) : audit_one(o->stack, o->json);
}
