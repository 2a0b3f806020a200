/* SPDX-License-Identifier: MIT */
/*
 * stack.c - turns stack files into a loaded stack: name resolution with
 * the default.ini fallback, includes (depth-limited, loop-detected), the
 * core's own keys, then one plugin instance per section.  Any problem
 * fails the whole load: a stack with a missing filter must not run.
 */
#include "upstream.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *const gs__control_names[] = { "required", "requisite",
					  "sufficient", "optional", NULL };

const char *gs_default_confdir(void)
{
	const char *env = gs__secure_getenv("GUARDSTACK_CONFDIR");

	return env && *env ? env : GS_CONFDIR;
}

struct loadctx {
	gs_stack *st;
	struct gs__section *secs;  /* filter sections, in run order */
	size_t nsecs;
	char **real;               /* realpaths on the include chain */
	size_t depth;
};

static int valid_stack_name(const char *s)
{
	if (!*s || *s == '.')
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
		      *s == '.'))
			return 0;
	return 1;
}

static int add_file(gs_stack *st, char *path)
{
	char **f = gs_realloc(st->files, (st->nfiles + 1) * sizeof *f);

	if (!f) {
		gs_free(path);
		return GS_ENOMEM;
	}
	st->files = f;
	f[st->nfiles++] = path;
	return GS_OK;
}

static int parse_stack_keys(struct loadctx *lc, struct gs__section *s,
			    int top, char ***includes, size_t *ninc,
			    char **err);

/* Loads one file (and what it includes, first) into lc->secs. */
static int load_file(struct loadctx *lc, const char *path, int top,
		     char **err)
{
	struct gs__section *secs = NULL;
	size_t nsecs = 0;
	char **inc = NULL;
	size_t ninc = 0;
	char *real = NULL, *dir = NULL;
	const char *fpath;
	int rc;

	if (lc->depth >= GS__MAX_INCLUDE_DEPTH)
		return gs__err(err, GS_EINVAL, "%s: includes nested deeper "
			       "than %d", path, GS__MAX_INCLUDE_DEPTH);
	/* Depth alone does not bound the work: each level may include the
	 * next many times over. */
	if (lc->st->nfiles >= GS__MAX_STACK_FILES)
		return gs__err(err, GS_EINVAL, "%s: more than %d stack files "
			       "read for one stack; includes fan out too far",
			       path, GS__MAX_STACK_FILES);
	real = realpath(path, NULL);
	if (!real)
		return gs__err(err, GS_EIO, "%s: %s", path, strerror(errno));
	for (size_t i = 0; i < lc->depth; i++)
		if (!strcmp(lc->real[i], real)) {
			gs_free(real);
			return gs__err(err, GS_EINVAL, "%s: include loop: "
				       "this file includes itself through "
				       "its includes", path);
		}
	rc = add_file(lc->st, gs_strndup(path, strlen(path)));
	if (rc < 0 || !lc->st->files[lc->st->nfiles - 1]) {
		gs_free(real);
		return gs__err(err, GS_ENOMEM, "out of memory");
	}
	fpath = lc->st->files[lc->st->nfiles - 1];
	lc->real[lc->depth++] = real;

	rc = gs__parse_file(fpath, &secs, &nsecs, err);
	/* strict comes from the top file, and governs its own check. */
	for (size_t i = 0; rc >= 0 && i < nsecs; i++)
		if (!strcmp(secs[i].name, "stack"))
			rc = parse_stack_keys(lc, &secs[i], top, &inc, &ninc,
					      err);
	if (rc >= 0 && lc->st->strict) {
		char *m = NULL;
		rc = gs__check_safe(fpath, &m);
		if (rc < 0)
			gs__err(err, rc, "%s", m ? m : "out of memory");
		gs_free(m);
	}
	dir = rc >= 0 ? gs__dirname(fpath) : NULL;
	if (rc >= 0 && !dir)
		rc = gs__err(err, GS_ENOMEM, "out of memory");
	for (size_t i = 0; rc >= 0 && i < ninc; i++) {
		const char *name = inc[i];
		char *p;

		size_t nl = strlen(name);

		/* A path (with '/' or ending in .ini) is taken from the
		 * including file's directory; a bare name is a stack in the
		 * configuration directory, as with -s. */
		if (strchr(name, '/') ||
		    (nl > 4 && !strcmp(name + nl - 4, ".ini")))
			p = gs__join(dir, name);
		else if (valid_stack_name(name))
			p = gs__fmt("%s/%s.ini", gs_default_confdir(), name);
		else {
			rc = gs__err(err, GS_EINVAL, "%s: include '%s' is "
				     "not a stack name or path", fpath, name);
			break;
		}
		if (!p) {
			rc = gs__err(err, GS_ENOMEM, "out of memory");
			break;
		}
		rc = load_file(lc, p, 0, err);
		gs_free(p);
	}
	/* This file's filters come after those of the files it includes. */
	for (size_t i = 0; rc >= 0 && i < nsecs; i++) {
		struct gs__section *s = &secs[i], *n;

		if (!strcmp(s->name, "stack"))
			continue;
		if (!strcmp(s->name, "upstream")) {
			/* Whole sections, not keys, replace each other: a
			 * file's own [upstream] comes after those of the
			 * files it includes, so the including file's wins. */
			n = gs_calloc(1, sizeof *n);
			if (!n) {
				rc = gs__err(err, GS_ENOMEM, "out of memory");
				break;
			}
			*n = *s;
			memset(s, 0, sizeof *s);
			if (lc->st->upstream)
				gs__sections_free(lc->st->upstream, 1);
			lc->st->upstream = n;
			continue;
		}
		for (size_t k = 0; k < lc->nsecs; k++)
			if (!strcmp(lc->secs[k].name, s->name)) {
				rc = gs__err(err, GS_EINVAL, "%s:%d: filter "
					     "[%s] already defined at %s:%d; "
					     "instance names must be unique "
					     "across included stacks",
					     s->file, s->line, s->name,
					     lc->secs[k].file,
					     lc->secs[k].line);
				break;
			}
		if (rc < 0)
			break;
		n = gs_realloc(lc->secs, (lc->nsecs + 1) * sizeof *n);
		if (!n) {
			rc = gs__err(err, GS_ENOMEM, "out of memory");
			break;
		}
		lc->secs = n;
		lc->secs[lc->nsecs++] = *s;
		memset(s, 0, sizeof *s);
	}
	for (size_t i = 0; i < ninc; i++)
		gs_free(inc[i]);
	gs_free(inc);
	gs_free(dir);
	gs__sections_free(secs, nsecs);
	gs_free(lc->real[--lc->depth]);
	return rc;
}

static struct gs__kv *take(struct gs__section *s, const char *key)
{
	for (size_t i = 0; i < s->nkv; i++)
		if (!strcmp(s->kv[i].key, key)) {
			s->kv[i].used = 1;
			return &s->kv[i];
		}
	return NULL;
}

static int parse_stack_keys(struct loadctx *lc, struct gs__section *s,
			    int top, char ***includes, size_t *ninc,
			    char **err)
{
	struct gs__kv *kv;

	if ((kv = take(s, "strict"))) {
		if (!top)
			return gs__err(err, GS_EINVAL, "%s:%d: strict may "
				       "only be set in the top-level stack "
				       "file", s->file, kv->line);
		if (!strcmp(kv->value, "yes"))
			lc->st->strict = 1;
		else if (!strcmp(kv->value, "no"))
			lc->st->strict = 0;
		else
			return gs__err(err, GS_EINVAL, "%s:%d: strict = "
				       "'%s': expected yes or no", s->file,
				       kv->line, kv->value);
	}
	if ((kv = take(s, "include"))) {
		const char *p = kv->value;

		while (*p) {
			const char *e = strchr(p, ',');
			size_t n = e ? (size_t)(e - p) : strlen(p);
			const char *a = p, *b = p + n;
			char **v;

			while (a < b && (*a == ' ' || *a == '\t'))
				a++;
			while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
				b--;
			if (a == b)
				return gs__err(err, GS_EINVAL, "%s:%d: "
					       "include: empty name",
					       s->file, kv->line);
			v = gs_realloc(*includes, (*ninc + 1) * sizeof *v);
			if (!v)
				return gs__err(err, GS_ENOMEM,
					       "out of memory");
			*includes = v;
			v[*ninc] = gs_strndup(a, (size_t)(b - a));
			if (!v[*ninc])
				return gs__err(err, GS_ENOMEM,
					       "out of memory");
			(*ninc)++;
			p += n + (e != NULL);
		}
	}
	for (size_t i = 0; i < s->nkv; i++)
		if (!s->kv[i].used)
			return gs__err(err, GS_EINVAL, "%s:%d: [stack]: "
				       "unknown key '%s' (known: include, "
				       "strict)", s->file, s->kv[i].line,
				       s->kv[i].key);
	return GS_OK;
}

unsigned gs__role_bit(const char *r)
{
	static const char *const names[] = { "system", "developer", "user",
					     "assistant", "tool" };

	for (unsigned i = 0; i < 5; i++)
		if (!strcmp(r, names[i]))
			return 1u << i;
	return 0;
}

const char *gs__role_name(unsigned bit)
{
	static const char *const names[] = { "system", "developer", "user",
					     "assistant", "tool" };

	for (unsigned i = 0; i < 5; i++)
		if (bit == 1u << i)
			return names[i];
	return "unknown";
}

unsigned gs__default_roles(gs_phase phase)
{
	return phase == GS_PHASE_REQUEST ? GS__ROLE_USER | GS__ROLE_TOOL
					 : GS__ROLE_ASSISTANT;
}

static int parse_roles(struct gs__filter *f, struct gs__kv *kv, char **err)
{
	unsigned bits = 0;
	const char *p = kv->value;

	while (*p) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		char name[16];
		const char *a = p, *b = p + n;
		unsigned bit;

		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		bit = 0;
		if ((size_t)(b - a) < sizeof name) {
			memcpy(name, a, (size_t)(b - a));
			name[b - a] = '\0';
			bit = gs__role_bit(name);
		}
		if (!bit)
			return gs__err(err, GS_EINVAL, "%s:%d: [%s]: roles: "
				       "'%.*s' is not a role (system, "
				       "developer, user, assistant, tool)",
				       f->file, kv->line, f->name,
				       (int)(b - a), a);
		bits |= bit;
		p += n + (e != NULL);
	}
	if (!bits)
		return gs__err(err, GS_EINVAL, "%s:%d: [%s]: roles: empty",
			       f->file, kv->line, f->name);
	/* The response document holds only the assistant's answer. */
	f->roles[GS_PHASE_REQUEST] = bits;
	f->roles[GS_PHASE_RESPONSE] = GS__ROLE_ASSISTANT;
	if ((f->phases & GS_PHASE_RESPONSE) && !(bits & GS__ROLE_ASSISTANT) &&
	    !(f->phases & GS_PHASE_REQUEST))
		return gs__err(err, GS_EINVAL, "%s:%d: [%s]: roles: the "
			       "response phase has only the assistant's "
			       "answer", f->file, kv->line, f->name);
	f->roles_str = gs_strndup(kv->value, strlen(kv->value));
	return f->roles_str ? GS_OK : GS_ENOMEM;
}

static int valid_instance_name(const char *s)
{
	if (!*s || strlen(s) > 64)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
		      *s == '.' || *s == ':'))
			return 0;
	return 1;
}

/* The core's keys of a filter section; the rest stays for the plugin. */
static int setup_filter(gs_stack *st, struct gs__filter *f,
			struct gs__section *s, char **err)
{
	static const char *const phases[] = { "request", "response", "both",
					      NULL };
	struct gs__kv *kv;
	int rc;

	f->file = s->file;
	f->line = s->line;
	f->name = gs_strndup(s->name, strlen(s->name));
	if (!f->name)
		return gs__err(err, GS_ENOMEM, "out of memory");
	if (!valid_instance_name(s->name))
		return gs__err(err, GS_EINVAL, "%s:%d: [%s]: section names "
			       "are letters, digits, '-', '_', '.', ':'",
			       s->file, s->line, s->name);
	kv = take(s, "module");
	f->module = gs_strndup(kv ? kv->value : s->name,
			       strlen(kv ? kv->value : s->name));
	if (!f->module)
		return gs__err(err, GS_ENOMEM, "out of memory");
	if ((kv = take(s, "control"))) {
		int i;
		for (i = 0; gs__control_names[i]; i++)
			if (!strcmp(kv->value, gs__control_names[i]))
				break;
		if (!gs__control_names[i])
			return gs__err(err, GS_EINVAL, "%s:%d: [%s]: control "
				       "= '%s': expected required, requisite, "
				       "sufficient or optional", s->file,
				       kv->line, s->name, kv->value);
		f->control = (enum gs__control)i;
	}
	if ((kv = take(s, "on_error"))) {
		if (!strcmp(kv->value, "ignore"))
			f->on_error_ignore = 1;
		else if (strcmp(kv->value, "reject"))
			return gs__err(err, GS_EINVAL, "%s:%d: [%s]: on_error "
				       "= '%s': expected reject or ignore",
				       s->file, kv->line, s->name, kv->value);
	}
	rc = gs__load_plugin(st, f, err);
	if (rc < 0)
		return rc;
	f->phases = f->plugin->phases;
	if ((kv = take(s, "phase"))) {
		int i;
		for (i = 0; phases[i]; i++)
			if (!strcmp(kv->value, phases[i]))
				break;
		if (!phases[i])
			return gs__err(err, GS_EINVAL, "%s:%d: [%s]: phase = "
				       "'%s': expected request, response or "
				       "both", s->file, kv->line, s->name,
				       kv->value);
		unsigned want = i == 2 ? GS_PHASE_REQUEST | GS_PHASE_RESPONSE
				       : (unsigned)(i + 1);
		if ((want & f->plugin->phases) != want)
			return gs__err(err, GS_EINVAL, "%s:%d: [%s]: phase = "
				       "%s: plugin %s does not run in %s",
				       s->file, kv->line, s->name, kv->value,
				       f->plugin->name,
				       (want & ~f->plugin->phases) ==
				       GS_PHASE_REQUEST ? "the request phase"
				       : "the response phase");
		f->phases = want;
	}
	f->roles[GS_PHASE_REQUEST] = gs__default_roles(GS_PHASE_REQUEST);
	f->roles[GS_PHASE_RESPONSE] = gs__default_roles(GS_PHASE_RESPONSE);
	if ((kv = take(s, "roles")) && (rc = parse_roles(f, kv, err)) < 0)
		return rc;

	/* What is left belongs to the plugin. */
	size_t n = 0;
	for (size_t i = 0; i < s->nkv; i++)
		n += !s->kv[i].used;
	f->keys = gs_calloc(n + 1, sizeof *f->keys);
	f->values = gs_calloc(n + 1, sizeof *f->values);
	if (!f->keys || !f->values)
		return gs__err(err, GS_ENOMEM, "out of memory");
	struct gs__kv *pkv = gs_calloc(n + 1, sizeof *pkv);
	if (!pkv)
		return gs__err(err, GS_ENOMEM, "out of memory");
	for (size_t i = 0, k = 0; i < s->nkv; i++) {
		if (s->kv[i].used)
			continue;
		pkv[k] = s->kv[i];
		f->keys[k] = gs_strndup(s->kv[i].key, strlen(s->kv[i].key));
		f->values[k] = gs_strndup(s->kv[i].value,
					  strlen(s->kv[i].value));
		f->nsettings = ++k; /* so gs_stack_free frees a half pair */
		if (!f->keys[k - 1] || !f->values[k - 1]) {
			gs_free(pkv);
			return gs__err(err, GS_ENOMEM, "out of memory");
		}
	}
	rc = gs__create_instance(st, f, pkv, n, err);
	gs_free(pkv);
	return rc;
}

int gs_stack_load(gs_stack **out, const char *name, unsigned flags,
		  char **errmsg)
{
	struct loadctx lc = { 0 };
	char *real[GS__MAX_INCLUDE_DEPTH];
	gs_stack *st;
	char *path = NULL, *err = NULL;
	int rc = GS_OK;

	(void)flags;
	*out = NULL;
	if (errmsg)
		*errmsg = NULL;
	st = gs_calloc(1, sizeof *st);
	if (!st)
		return gs__err(errmsg, GS_ENOMEM, "out of memory");
	st->strict = 1;
	st->name = gs_strndup(name, strlen(name));
	if (!st->name) {
		rc = gs__err(&err, GS_ENOMEM, "out of memory");
		goto out;
	}
	if (strchr(name, '/')) {
		path = gs_strndup(name, strlen(name));
	} else if (!valid_stack_name(name)) {
		rc = gs__err(&err, GS_EINVAL, "'%s' is not a stack name "
			     "(letters, digits, '-', '_', '.'; or a path "
			     "with '/')", name);
		goto out;
	} else {
		const char *dir = gs_default_confdir();
		struct stat sb;

		path = gs__fmt("%s/%s.ini", dir, name);
		if (path && stat(path, &sb) < 0 && errno == ENOENT) {
			gs_free(path);
			path = gs__fmt("%s/default.ini", dir);
			st->fell_back = 1;
			if (path && stat(path, &sb) < 0 && errno == ENOENT) {
				rc = !strcmp(name, "default")
				? gs__err(&err, GS_EIO, "no stack 'default': "
					  "%s does not exist (is guardstack "
					  "installed? GUARDSTACK_CONFDIR "
					  "overrides the directory)", path)
				: gs__err(&err, GS_EIO, "no stack '%s': "
					  "neither %s/%s.ini nor the fallback "
					  "%s exists", name, dir, name, path);
				goto out;
			}
		}
	}
	if (!path) {
		rc = gs__err(&err, GS_ENOMEM, "out of memory");
		goto out;
	}
	st->path = path;
	lc.st = st;
	lc.real = real;
	rc = load_file(&lc, path, 1, &err);
	if (rc < 0)
		goto out;
	st->filters = gs_calloc(lc.nsecs + 1, sizeof *st->filters);
	if (!st->filters) {
		rc = gs__err(&err, GS_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < lc.nsecs && rc >= 0; i++) {
		st->nfilters = i + 1;
		rc = setup_filter(st, &st->filters[i], &lc.secs[i], &err);
	}
	if (rc >= 0)
		rc = gs__up_load(st, st->upstream, &err);
out:
	if (path != st->path)
		gs_free(path);
	gs__sections_free(lc.secs, lc.nsecs);
	if (rc < 0) {
		gs_stack_free(st);
		if (errmsg)
			*errmsg = err ? err : gs__fmt("%s", gs_strerror(rc));
		else
			gs_free(err);
		return rc;
	}
	*out = st;
	return GS_OK;
}

void gs_stack_free(gs_stack *st)
{
	if (!st)
		return;
	for (size_t i = st->nfilters; i-- > 0;) {
		struct gs__filter *f = &st->filters[i];

		gs__unload_plugin(f);
		for (size_t k = 0; k < f->nsettings; k++) {
			gs_free(f->keys[k]);
			gs_free(f->values[k]);
		}
		gs_free(f->keys);
		gs_free(f->values);
		gs_free(f->name);
		gs_free(f->module);
		gs_free(f->path);
		gs_free(f->roles_str);
	}
	gs_free(st->filters);
	if (st->upstream)
		gs__sections_free(st->upstream, 1);
	gs__up_free(st->up);
	for (size_t i = 0; i < st->nfiles; i++)
		gs_free(st->files[i]);
	gs_free(st->files);
	gs_free(st->name);
	gs_free(st->path);
	gs_free(st);
}

const char *gs_stack_name(const gs_stack *st) { return st->name; }
const char *gs_stack_path(const gs_stack *st) { return st->path; }
int gs_stack_fell_back(const gs_stack *st) { return st->fell_back; }
int gs_stack_strict(const gs_stack *st) { return st->strict; }
size_t gs_stack_filter_count(const gs_stack *st) { return st->nfilters; }

int gs_stack_filter(const gs_stack *st, size_t i, gs_filter_desc *d)
{
	const struct gs__filter *f;

	if (i >= st->nfilters)
		return GS_EINVAL;
	f = &st->filters[i];
	d->name = f->name;
	d->module = f->plugin->name;
	d->path = f->path;
	d->description = f->plugin->description;
	d->control = gs__control_names[f->control];
	d->on_error = f->on_error_ignore ? "ignore" : "reject";
	d->phases = f->phases;
	d->roles = f->roles_str;
	d->file = f->file;
	d->line = f->line;
	d->nsettings = f->nsettings;
	d->keys = (const char *const *)f->keys;
	d->values = (const char *const *)f->values;
	return GS_OK;
}

/* ---- [upstream] --------------------------------------------------------- */

#define GS__MAX_REPLY (1u << 20)

/* Reads reply_file: the offline backend's canned answer. */
static int read_reply(gs_stack *st, struct gs__up *up, const char *file,
		      int line, const char *rel, char **err)
{
	char *dir = gs__dirname(file), *path = NULL, *m = NULL;
	gs_buf b = GS_BUF_INIT;
	char chunk[8192];
	ssize_t r;
	int fd = -1, rc = GS_OK;

	path = dir ? gs__join(dir, rel) : NULL;
	if (!path) {
		rc = gs__err(err, GS_ENOMEM, "out of memory");
		goto out;
	}
	if (st->strict && (rc = gs__check_safe(path, &m)) < 0) {
		gs__err(err, rc, "%s:%d: [upstream]: reply_file: %s", file,
			line, m ? m : "out of memory");
		goto out;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = gs__err(err, GS_EIO, "%s:%d: [upstream]: reply_file: "
			     "%s: %s", file, line, path, strerror(errno));
		goto out;
	}
	while ((r = read(fd, chunk, sizeof chunk)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || b.len + (size_t)r > GS__MAX_REPLY) {
			rc = gs__err(err, GS_EIO, "%s:%d: [upstream]: "
				     "reply_file: %s: %s", file, line, path,
				     r < 0 ? strerror(errno)
				     : "larger than 1 MiB");
			goto out;
		}
		if (gs_buf_append(&b, chunk, (size_t)r) < 0) {
			rc = gs__err(err, GS_ENOMEM, "out of memory");
			goto out;
		}
	}
	if ((rc = gs__check_text(b.data ? b.data : "", b.len, path, &m)) < 0) {
		gs__err(err, rc, "%s:%d: [upstream]: reply_file: %s", file,
			line, m ? m : "out of memory");
		goto out;
	}
	up->reply = gs_buf_steal(&b, &up->reply_len);
	if (!up->reply)
		rc = gs__err(err, GS_ENOMEM, "out of memory");
out:
	if (fd >= 0)
		close(fd);
	gs_buf_free(&b);
	gs_free(m);
	gs_free(path);
	gs_free(dir);
	return rc;
}

int gs__up_load(gs_stack *st, struct gs__section *sec, char **err)
{
	struct gs__up *up = gs_calloc(1, sizeof *up);
	const char **keys = NULL, **values = NULL;
	struct gs__kv *model = NULL, *reply = NULL, *url = NULL;
	size_t n = 0, nkv = sec ? sec->nkv : 0;
	char *dir = NULL, *m = NULL;
	int rc = GS_OK;

	if (!up)
		return gs__err(err, GS_ENOMEM, "out of memory");
	st->up = up;
	if (sec) {
		up->file = sec->file;
		up->line = sec->line;
		model = take(sec, "model");
		reply = take(sec, "reply_file");
		url = take(sec, "url");
		if (url)
			url->used = 0; /* the client reads it too */
	}
	up->offline = url && !strcmp(url->value, "offline");
	up->model = gs_strndup(model ? model->value : GS__DEFAULT_MODEL,
			       strlen(model ? model->value
				      : GS__DEFAULT_MODEL));
	if (!up->model)
		return gs__err(err, GS_ENOMEM, "out of memory");
	if (model && !*model->value)
		return gs__err(err, GS_EINVAL, "%s:%d: [upstream]: model: "
			       "empty", sec->file, model->line);
	if (reply && !up->offline)
		return gs__err(err, GS_EINVAL, "%s:%d: [upstream]: reply_file "
			       "applies only to url = offline", sec->file,
			       reply->line);
	if (up->offline) {
		for (size_t i = 0; i < nkv; i++)
			if (!sec->kv[i].used && &sec->kv[i] != url)
				return gs__err(err, GS_EINVAL, "%s:%d: "
					       "[upstream]: %s has no effect "
					       "with url = offline (only "
					       "model and reply_file do)",
					       sec->file, sec->kv[i].line,
					       sec->kv[i].key);
		if (reply)
			return read_reply(st, up, sec->file, reply->line,
					  reply->value, err);
		return GS_OK;
	}
	keys = gs_calloc(nkv + 1, sizeof *keys);
	values = gs_calloc(nkv + 1, sizeof *values);
	dir = sec ? gs__dirname(sec->file) : NULL;
	if (!keys || !values || (sec && !dir)) {
		rc = gs__err(err, GS_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nkv; i++)
		if (!sec->kv[i].used) {
			keys[n] = sec->kv[i].key;
			values[n++] = sec->kv[i].value;
		}
	size_t bad = n;
	rc = gs_upstream_new(&up->client, n, keys, values, dir, &bad, &m);
	if (rc < 0) {
		int line = sec ? sec->line : 0;

		for (size_t i = 0, k = 0; sec && i < nkv; i++)
			if (!sec->kv[i].used && k++ == bad)
				line = sec->kv[i].line;
		if (sec)
			gs__err(err, rc, "%s:%d: [upstream]: %s", sec->file,
				line, m ? m : gs_strerror(rc));
		else
			gs__err(err, rc, "[upstream] defaults: %s",
				m ? m : gs_strerror(rc));
	}
out:
	gs_free(m);
	gs_free(dir);
	gs_free(keys);
	gs_free(values);
	return rc;
}

void gs__up_free(struct gs__up *up)
{
	if (!up)
		return;
	gs_upstream_free(up->client);
	gs_free(up->model);
	gs_free(up->reply);
	gs_free(up);
}

gs_upstream *gs_stack_upstream(const gs_stack *st)
{
	return st->up ? st->up->client : NULL;
}

const char *gs_stack_model(const gs_stack *st)
{
	return st->up && st->up->model ? st->up->model : GS__DEFAULT_MODEL;
}
