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
 *   gs-jsonq recv SOCKET N
 *                       binds a Unix datagram socket (a stand-in for
 *                       /dev/log) and prints up to N datagrams, one a
 *                       line, giving up after 20 s of silence
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

static int recv_dgrams(const char *path, long n)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 20 };
	static char buf[65536];
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

	if (fd < 0 || strlen(path) >= sizeof(a.sun_path))
		return 1;
	strcpy(a.sun_path, path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror(path);
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (n-- > 0) {
		ssize_t len = recv(fd, buf, sizeof(buf) - 1, 0);

		if (len < 0)
			break;
		buf[len] = '\0';
		printf("%s\n", buf);
		fflush(stdout);
	}
	close(fd);
	unlink(path);
	return 0;
}

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

	if (argc < 2 || (strcmp(argv[1], "get") == 0 && argc < 3) ||
	    (strcmp(argv[1], "recv") == 0 && argc < 4)) {
		fprintf(stderr, "usage: gs-jsonq check|keys|get PATH|"
			"recv SOCKET N\n");
		return 2;
	}
	if (!strcmp(argv[1], "recv"))
		return recv_dgrams(argv[2], atol(argv[3]));
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
