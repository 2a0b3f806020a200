/* SPDX-License-Identifier: MIT */
/*
 * fuzz.h - what the fuzz targets share: a private directory (mode 0700)
 * for their stack files, holding links to the only plugins a target may
 * load (gs-debug, length-limit and the broken test plugins), so a fuzzed
 * stack file can never make guardstack dlopen anything else.
 *
 * The plugins are looked up in GUARDSTACK_PLUGIN_PATH, as `make check`
 * and tests/fuzz/run.sh set it.  Each target defines
 * LLVMFuzzerTestOneInput (and LLVMFuzzerInitialize, which calls
 * fz_setup); replay.c runs the same entry points over files without
 * libFuzzer.
 */
#ifndef GS_FUZZ_H
#define GS_FUZZ_H

#include <guardstack.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fz_dir[PATH_MAX];

/* An oracle failed: a crash libFuzzer (and replay.c) reports. */
#define fz_assert(cond) do { if (!(cond)) { \
	fprintf(stderr, "fuzz: %s:%d: check failed: %s\n", __FILE__, \
		__LINE__, #cond); abort(); } } while (0)

static void fz_cleanup(void)
{
	char cmd[PATH_MAX + 16];

	if (!fz_dir[0])
		return;
	/* The directory is ours and its name has no quote. */
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", fz_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz: could not remove %s\n", fz_dir);
}

/* Writes len bytes to fz_dir/name; returns the path (static buffer). */
static const char *fz_write(const char *name, const void *data, size_t len)
{
	static char path[PATH_MAX];
	FILE *fp;

	snprintf(path, sizeof path, "%s/%s", fz_dir, name);
	fp = fopen(path, "wb");
	fz_assert(fp);
	fz_assert(fwrite(data, 1, len, fp) == len || len == 0);
	fz_assert(fclose(fp) == 0);
	return path;
}

static void fz_setup(void)
{
	static const char *const plugins[] = { "gs-debug", "length-limit",
					       "bad-abi", "no-entry",
					       "bad-name", NULL };
	const char *list = getenv("GUARDSTACK_PLUGIN_PATH");
	char pdir[PATH_MAX + 16];

	if (fz_dir[0])
		return;
	if (!list) {
		fprintf(stderr, "fuzz: set GUARDSTACK_PLUGIN_PATH to the "
			"build's plugins/.libs:tests/plugins/.libs\n");
		exit(2);
	}
	snprintf(fz_dir, sizeof fz_dir, "%s/gs-fuzz.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	fz_assert(mkdtemp(fz_dir));
	atexit(fz_cleanup);
	snprintf(pdir, sizeof pdir, "%s/plugins", fz_dir);
	fz_assert(mkdir(pdir, 0700) == 0);
	for (int i = 0; plugins[i]; i++) {
		for (const char *p = list; *p;) {
			const char *colon = strchr(p, ':');
			int n = colon ? (int)(colon - p) : (int)strlen(p);
			char src[PATH_MAX], dst[PATH_MAX + 32];

			snprintf(src, sizeof src, "%.*s/%s.so", n, p,
				 plugins[i]);
			snprintf(dst, sizeof dst, "%s/%s.so", pdir,
				 plugins[i]);
			if (access(src, R_OK) == 0) {
				char *real = realpath(src, NULL);
				fz_assert(real && symlink(real, dst) == 0);
				free(real);
				break;
			}
			p += n + (colon != NULL);
		}
	}
	setenv("GUARDSTACK_PLUGIN_PATH", pdir, 1);
	setenv("GUARDSTACK_CONFDIR", fz_dir, 1);
	/* dlopen/dlclose on every input is slow and leaves leak reports
	 * without symbols. */
	setenv("GUARDSTACK_NO_DLCLOSE", "1", 1);
}

/* Loads a stack written from text; any failure is a broken setup. */
static __attribute__((unused)) gs_stack *fz_stack(const char *name,
						  const char *text)
{
	gs_stack *st;
	char *err = NULL;

	if (gs_stack_load(&st, fz_write(name, text, strlen(text)), 0,
			  &err) < 0) {
		fprintf(stderr, "fuzz: %s: %s\n", name, err ? err : "?");
		exit(2);
	}
	return st;
}

/* The stacks the JSON targets run: one that passes everything through
 * unchanged, one that changes every text it may (both phases, every
 * role) and truncates. */
#define FZ_PASS_STACK "[pass]\nmodule = gs-debug\n"
#define FZ_EDIT_STACK \
	"[mark]\nmodule = gs-debug\nappend = +\xc3\xa9\\\"\n" \
	"roles = system, developer, user, assistant, tool\n" \
	"[cut]\nmodule = length-limit\nmax = 24\n" \
	"roles = system, developer, user, assistant, tool\n" \
	"[carry]\nmodule = gs-debug\ndata = yes\ncontrol = optional\n"

#endif
