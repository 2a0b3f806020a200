/* SPDX-License-Identifier: MIT */
/*
 * inifile.c - reads one stack file into sections with line numbers.
 *
 * inih does the key = value syntax.  It cannot report line numbers to the
 * handler (Debian builds it without INI_HANDLER_LINENO), silently cuts
 * lines over 200 bytes, merges repeated sections and glues indented lines
 * onto the previous value.  So inih reads through our line reader, which
 * counts lines and refuses each of those cases with FILE:LINE, as it does
 * NUL bytes and bytes that are not UTF-8.
 */
#include "internal.h"
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <string.h>

struct pstate {
	FILE *fp;
	const char *path;
	int line;
	char *err;
	int code;
	struct gs__section **secs;
	size_t *nsecs;
	size_t first;       /* first section of this file */
	long cur;           /* current section, -1 before the first */
	int have_key;       /* current section has a key: indents glue on */
};

static int perr(struct pstate *ps, int code, const char *fmt, ...)
	GS_PRINTF(3, 4);
static int perr(struct pstate *ps, int code, const char *fmt, ...)
{
	va_list ap;
	char *m;

	/* The code, not the message, says a parse failed: the message
	 * needs memory too and may be missing. */
	if (ps->code)
		return 0;
	va_start(ap, fmt);
	m = gs__vfmt(fmt, ap);
	va_end(ap);
	ps->err = gs__fmt("%s:%d: %s", ps->path, ps->line,
			  m ? m : "out of memory");
	gs_free(m);
	ps->code = code;
	return 0;
}

static const char *skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	return s;
}

static int add_section(struct pstate *ps, const char *name, size_t n)
{
	struct gs__section *s;

	for (size_t i = ps->first; i < *ps->nsecs; i++) {
		s = &(*ps->secs)[i];
		if (strlen(s->name) == n && !memcmp(s->name, name, n))
			return perr(ps, GS_EINVAL,
				    "duplicate section [%s] (first at line "
				    "%d); give the second instance its own "
				    "name and set module =", s->name,
				    s->line);
	}
	s = gs_realloc(*ps->secs, (*ps->nsecs + 1) * sizeof *s);
	if (!s)
		return perr(ps, GS_ENOMEM, "out of memory");
	*ps->secs = s;
	s = &s[*ps->nsecs];
	memset(s, 0, sizeof *s);
	s->name = gs_strndup(name, n);
	if (!s->name)
		return perr(ps, GS_ENOMEM, "out of memory");
	s->file = ps->path;
	s->line = ps->line;
	ps->cur = (long)(*ps->nsecs)++;
	ps->have_key = 0;
	return 1;
}

/* Reads one line for inih, checking what inih cannot. */
static char *reader(char *str, int num, void *stream)
{
	struct pstate *ps = stream;
	int c, n = 0;
	size_t ok;

	if (ps->code)
		return NULL;
	c = getc(ps->fp);
	if (c == EOF)
		return NULL;
	ps->line++;
	for (; c != EOF; c = getc(ps->fp)) {
		if (c == '\0') {
			perr(ps, GS_EINVAL, "NUL byte in stack file");
			return NULL;
		}
		if (n >= num - 2) {
			perr(ps, GS_EINVAL,
			     "line longer than %d bytes (the INI parser's "
			     "limit); move long values into a file that "
			     "the stack names", num - 2);
			return NULL;
		}
		str[n++] = (char)c;
		if (c == '\n')
			break;
	}
	str[n] = '\0';
	/* values reach plugins, logs and the upstream's JSON as they are */
	if ((ok = gs_utf8_check(str, (size_t)n)) != (size_t)n) {
		perr(ps, GS_EINVAL, "not valid UTF-8 (byte %zu of the line); "
		     "save the stack file as UTF-8", ok + 1);
		return NULL;
	}

	const char *p = skip_ws(str);
	if (*p == '[') {
		const char *end = strchr(p, ']');
		if (end && end > p + 1) {
			const char *after = skip_ws(end + 1);
			if (*after == '\0' || *after == '\n' ||
			    *after == ';' || *after == '#')
				if (!add_section(ps, p + 1,
						 (size_t)(end - p - 1)))
					return NULL;
		}
	} else if (p != str && *p && *p != '\n' && *p != ';' && *p != '#' &&
		   ps->have_key) {
		perr(ps, GS_EINVAL,
		     "indented line would continue the previous value; "
		     "remove the indentation");
		return NULL;
	}
	return str;
}

static int handler(void *user, const char *section, const char *name,
		   const char *value)
{
	struct pstate *ps = user;
	struct gs__section *s;
	struct gs__kv *kv;

	if (ps->code)
		return 0;
	if (ps->cur < 0 || !*section)
		return perr(ps, GS_EINVAL, "key '%s' outside of any section",
			    name);
	s = &(*ps->secs)[ps->cur];
	if (strcmp(s->name, section))
		return perr(ps, GS_EINVAL, "malformed section header");
	for (size_t i = 0; i < s->nkv; i++)
		if (!strcmp(s->kv[i].key, name))
			return perr(ps, GS_EINVAL,
				    "key '%s' set twice in [%s] (first at "
				    "line %d)", name, s->name,
				    s->kv[i].line);
	kv = gs_realloc(s->kv, (s->nkv + 1) * sizeof *kv);
	if (!kv)
		return perr(ps, GS_ENOMEM, "out of memory");
	s->kv = kv;
	kv = &kv[s->nkv];
	kv->key = gs_strndup(name, strlen(name));
	kv->value = gs_strndup(value, strlen(value));
	kv->line = ps->line;
	kv->used = 0;
	if (!kv->key || !kv->value) {
		gs_free(kv->key);
		gs_free(kv->value);
		return perr(ps, GS_ENOMEM, "out of memory");
	}
	s->nkv++;
	ps->have_key = 1;
	return 1;
}

int gs__parse_file(const char *path, struct gs__section **secs,
		   size_t *nsecs, char **err)
{
	struct pstate ps = { 0 };
	int rc;

	ps.fp = fopen(path, "re");
	if (!ps.fp)
		return gs__err(err, GS_EIO, "%s: cannot open: %s", path,
			       strerror(errno));
	ps.path = path;
	ps.secs = secs;
	ps.nsecs = nsecs;
	ps.first = *nsecs;
	ps.cur = -1;
	rc = ini_parse_stream(reader, &ps, handler, &ps);
	if (!ps.code && ferror(ps.fp)) {
		ps.line++;
		perr(&ps, GS_EIO, "read error");
	}
	fclose(ps.fp);
	if (ps.code) {
		if (err && !*err)
			*err = ps.err;
		else
			gs_free(ps.err);
		return ps.code;
	}
	if (rc == -2)
		return gs__err(err, GS_ENOMEM, "%s: out of memory", path);
	if (rc != 0)
		return gs__err(err, GS_EINVAL,
			       "%s:%d: syntax error: expected [section], "
			       "key = value, or a comment", path, rc);
	return GS_OK;
}

void gs__sections_free(struct gs__section *secs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < secs[i].nkv; k++) {
			gs_free(secs[i].kv[k].key);
			gs_free(secs[i].kv[k].value);
		}
		gs_free(secs[i].kv);
		gs_free(secs[i].name);
	}
	gs_free(secs);
}
