/* SPDX-License-Identifier: MIT */
/* err.c - error codes, messages and the names of enums. */
#include "internal.h"
#include <stdio.h>
#include <string.h>

const char *gs_version(void)
{
	return PACKAGE_VERSION;
}

const char *gs_strerror(int code)
{
	switch (code) {
	case GS_OK: return "success";
	case GS_ENOMEM: return "out of memory";
	case GS_EINVAL: return "invalid argument or configuration";
	case GS_EIO: return "file could not be read";
	case GS_ELIMIT: return "limit reached";
	case GS_EPLUGIN: return "plugin missing or incompatible";
	case GS_EPERM: return "unsafe ownership or permissions";
	case GS_EINPUT: return "malformed input";
	case GS_ESTATE: return "call used out of order";
	case GS_EUPSTREAM: return "upstream failed";
	default: return "unknown error";
	}
}

const char *gs_outcome_name(gs_outcome o)
{
	static const char *const n[] = { "none", "pass", "modified",
					 "rejected", "error" };

	return (unsigned)o < sizeof n / sizeof *n ? n[o] : "unknown";
}

const char *gs_verdict_name(gs_verdict v)
{
	static const char *const n[] = { "skipped", "pass", "modified",
					 "ignored", "rejected", "error" };

	return (unsigned)v < sizeof n / sizeof *n ? n[v] : "unknown";
}

char *gs__vfmt(const char *fmt, va_list ap)
{
	gs_buf b = GS_BUF_INIT;
	va_list cp;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0 || gs_buf_reserve(&b, (size_t)n) < 0)
		return NULL;
	vsnprintf(b.data, (size_t)n + 1, fmt, ap);
	return b.data;
}

char *gs__fmt(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = gs__vfmt(fmt, ap);
	va_end(ap);
	return s;
}

int gs__err(char **err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err && !*err) {
		va_start(ap, fmt);
		*err = gs__vfmt(fmt, ap);
		va_end(ap);
	}
	return code;
}
