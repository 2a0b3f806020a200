/* SPDX-License-Identifier: MIT */
/*
 * replay.c - runs a fuzz target's entry point over files, without
 * libFuzzer, so `make check` (and its ASan and valgrind passes) replays
 * every seed and every regression input.  Arguments are files or
 * directories (their regular files, in name order).  Prints TAP: one line
 * per directory or file argument.
 */
#include "fuzz.h"
#include <dirent.h>

__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static long run_file(const char *path)
{
	FILE *fp = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!fp) {
		perror(path);
		return -1;
	}
	do {
		if (len == cap) {
			cap = cap ? cap * 2 : 4096;
			buf = realloc(buf, cap);
			if (!buf)
				abort();
		}
		n = fread(buf + len, 1, cap - len, fp);
		len += n;
	} while (n > 0);
	fclose(fp);
	/* An exact-size copy, so ASan sees reads past the input's end. */
	unsigned char *exact = malloc(len ? len : 1);
	if (!exact)
		abort();
	memcpy(exact, buf, len);
	free(buf);
	LLVMFuzzerTestOneInput(exact, len);
	free(exact);
	return 1;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int main(int argc, char **argv)
{
	int t = 0, failed = 0;

	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		struct stat sb;
		long n = 0;

		if (stat(argv[i], &sb) < 0) {
			printf("not ok %d - %s: missing\n", ++t, argv[i]);
			failed++;
			continue;
		}
		if (S_ISDIR(sb.st_mode)) {
			struct dirent **ents;
			int k = scandir(argv[i], &ents, NULL, by_name);

			for (int j = 0; j < k; j++) {
				char p[PATH_MAX];
				struct stat fs;

				snprintf(p, sizeof p, "%s/%s", argv[i],
					 ents[j]->d_name);
				if (stat(p, &fs) == 0 && S_ISREG(fs.st_mode) &&
				    ents[j]->d_name[0] != '.')
					n += run_file(p) > 0;
				free(ents[j]);
			}
			free(ents);
		} else {
			n = run_file(argv[i]);
		}
		/* Reaching here is the test: a failed check aborts. */
		printf("ok %d - %s: %ld inputs\n", ++t, argv[i], n);
	}
	printf("1..%d\n", t);
	return failed != 0;
}
