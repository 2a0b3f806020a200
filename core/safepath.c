/* SPDX-License-Identifier: MIT */
/* safepath.c - ownership and permission checks for the files guardstack
 * trusts (stack files, plugins, rule files), as OpenSSH's safe_path: the
 * file and every directory above it must be owned by root or the user and
 * not writable by group or others.  Otherwise anyone who can write there
 * can swap in a filter that lets everything through. */
#include "internal.h"
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *gs__secure_getenv(const char *name)
{
#ifdef HAVE_SECURE_GETENV
	return secure_getenv(name);
#else
	if (getuid() != geteuid() || getgid() != getegid())
		return NULL;
	return getenv(name);
#endif
}

static int check_one(const char *path, const char *shown, int is_file,
		     char **err)
{
	struct stat sb;
	uid_t me = geteuid();

	if (stat(path, &sb) < 0)
		return gs__err(err, GS_EIO, "%s: %s", path, strerror(errno));
	if (sb.st_uid != 0 && sb.st_uid != me)
		return gs__err(err, GS_EPERM,
			       "%s: owned by uid %ld, not by root or you "
			       "(refused: %s%s); fix ownership or set "
			       "strict = no in [stack]", path,
			       (long)sb.st_uid, is_file ? "" : "directory of ",
			       shown);
	if (sb.st_mode & (S_IWGRP | S_IWOTH)) {
		/* /tmp and the like: others cannot rename what we own. */
		if (!is_file && (sb.st_mode & S_ISVTX) && sb.st_uid == 0)
			return GS_OK;
		return gs__err(err, GS_EPERM,
			       "%s: writable by %s (refused: %s%s); run "
			       "chmod go-w %s or set strict = no in [stack]",
			       path, sb.st_mode & S_IWOTH ? "others" : "group",
			       is_file ? "" : "directory of ", shown, path);
	}
	return GS_OK;
}

int gs__check_safe(const char *path, char **err)
{
	char *real = realpath(path, NULL);
	int rc;

	if (!real)
		return gs__err(err, GS_EIO, "%s: %s", path, strerror(errno));
	rc = check_one(real, path, 1, err);
	for (char *slash = strrchr(real, '/'); rc == GS_OK && slash;
	     slash = strrchr(real, '/')) {
		if (slash == real) {
			rc = check_one("/", path, 0, err);
			break;
		}
		*slash = '\0';
		rc = check_one(real, path, 0, err);
	}
	free(real);
	return rc;
}

char *gs__dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return gs_strndup(".", 1);
	if (slash == path)
		return gs_strndup("/", 1);
	return gs_strndup(path, (size_t)(slash - path));
}

char *gs__join(const char *dir, const char *rel)
{
	if (rel[0] == '/' || !dir)
		return gs_strndup(rel, strlen(rel));
	return gs__fmt("%s/%s", dir, rel);
}
