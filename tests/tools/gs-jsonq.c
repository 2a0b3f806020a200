/* SPDX-License-Identifier: MIT */
/*
 * gs-jsonq - reads JSON lines on stdin, for the shell tests (no jq on
 * a bare build machine).
 *
 *   gs-jsonq check      every line is one JSON object: prints the count,
 *                       or fails naming the first bad line
 *   gs-jsonq get PATH   prints PATH of each line ("filters.0.verdict"):
 *                       strings raw, other values as JSON, "(missing)"
 *   gs-jsonq keys       prints each line's top-level keys, comma-separated
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cJSON *walk(const cJSON *v, const char *path)
{
	char *copy = strdup(path), *save = NULL;

	for (char *t = strtok_r(copy, ".", &save); v && t;
	     t = strtok_r(NULL, ".", &save)) {
		char *end;
		long i = strtol(t, &end, 10);

		if (cJSON_IsArray(v) && *t && !*end)
			v = cJSON_GetArrayItem(v, (int)i);
		else
			v = cJSON_GetObjectItemCaseSensitive(v, t);
	}
	free(copy);
	return v;
}

int main(int argc, char **argv)
{
	char *line = NULL;
	size_t cap = 0;
	long n = 0;
	ssize_t len;
	int rc = 0;

	if (argc < 2 || (strcmp(argv[1], "get") == 0 && argc < 3)) {
		fprintf(stderr, "usage: gs-jsonq check|keys|get PATH\n");
		return 2;
	}
	while ((len = getline(&line, &cap, stdin)) >= 0) {
		cJSON *root;

		n++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		root = cJSON_ParseWithLength(line, (size_t)len);
		if (!cJSON_IsObject(root)) {
			fprintf(stderr, "line %ld: not a JSON object\n", n);
			cJSON_Delete(root);
			rc = 1;
			break;
		}
		if (!strcmp(argv[1], "get")) {
			const cJSON *v = walk(root, argv[2]);
			char *s;

			if (!v) {
				puts("(missing)");
			} else if (cJSON_IsString(v)) {
				puts(v->valuestring);
			} else {
				s = cJSON_PrintUnformatted(v);
				puts(s ? s : "?");
				free(s);
			}
		} else if (!strcmp(argv[1], "keys")) {
			const cJSON *k;
			int first = 1;

			cJSON_ArrayForEach(k, root) {
				printf("%s%s", first ? "" : ",", k->string);
				first = 0;
			}
			putchar('\n');
		}
		cJSON_Delete(root);
	}
	free(line);
	if (rc == 0 && !strcmp(argv[1], "check"))
		printf("%ld\n", n);
	return rc;
}
