/* SPDX-License-Identifier: MIT */
/*
 * audit.c - `guardstack audit`: is this stack safe to deploy?
 *
 * The audit must say what is wrong with a stack that does not load, so it
 * does not start from gs_stack_load: it walks the stack files itself (the
 * same include rules, depth and loop limits as stack.c), reads the raw
 * sections, and checks each concern on its own.  gs_stack_load is tried
 * too, and its verdict is one check among the others.
 *
 * Nothing here reads a key, runs a key command or opens a connection: an
 * audit runs in CI and on operators' machines, where a cmd: helper may
 * prompt or a secret manager may log the access.  A source "resolves"
 * when it could be read: the variable is set, the file is there, the
 * program is executable, the gcp: name is well formed.
 *
 * No detail ever carries a key-shaped string: every detail goes through
 * redact() before it is stored, so even a loader message that echoes a
 * value cannot leak one.
 */
#include "upstream.h"
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define TIMEOUT_WARN 300        /* s: longer and a hung upstream holds a
				 * worker for minutes per attempt */
#define CONNECT_WARN 60
#define MM_DEFAULT_URL "https://api.mistral.ai/v1/chat/moderations"

/* What one filter section turned out to be. */
struct afilt {
	const struct gs__section *s;
	const char *module;
	const char *control;  /* as written, or "required" */
	int ignore;           /* on_error = ignore */
	unsigned phases;
	int loaded;
	char *path;           /* resolved plugin file, or NULL */
	char *load_err;
};

struct audit {
	char **files;             /* every stack file read (owned) */
	size_t nfiles;
	struct gs__section *secs; /* every section, includes first */
	size_t nsecs;
	char *real[GS__MAX_INCLUDE_DEPTH];
	size_t depth;
	int strict;
	const char *strict_file;
	int strict_line;
	char *walk_err;
	struct afilt *f;
	size_t nf;
	const struct gs__section *up; /* effective [upstream], or NULL */
	int offline;
	cJSON *checks;
	int nfail, nwarn;
	int oom;
};

/* First problem of a kind and how many more there were. */
struct acc {
	char *first;
	int n;
};

static void acc_add(struct audit *a, struct acc *c, const char *fmt, ...)
	GS_PRINTF(3, 4);
static void acc_add(struct audit *a, struct acc *c, const char *fmt, ...)
{
	va_list ap;

	if (c->n++ > 0)
		return;
	va_start(ap, fmt);
	c->first = gs__vfmt(fmt, ap);
	va_end(ap);
	if (!c->first)
		a->oom = 1;
}

/* ---- key-shaped strings ---------------------------------------------- */

static int tok_char(int c)
{
	return isalnum(c) || c == '_' || c == '-';
}

/* log2 of x >= 1, by halving and squaring (the library does not link
 * libm for this one use); about 6 significant digits. */
static double lg2(double x)
{
	double r = 0, bit = 0.5;

	while (x >= 2) {
		x /= 2;
		r += 1;
	}
	for (int i = 0; i < 20; i++, bit /= 2) {
		x *= x;
		if (x >= 2) {
			x /= 2;
			r += bit;
		}
	}
	return r;
}

/* Shannon entropy of s[0..n) in bits per character:
 * log2(n) - sum(c * log2(c)) / n over the symbol counts c. */
static double entropy(const char *s, size_t n)
{
	size_t count[256] = { 0 };
	double sum = 0;

	for (size_t i = 0; i < n; i++)
		count[(unsigned char)s[i]]++;
	for (int c = 0; c < 256; c++)
		if (count[c] > 1)
			sum += (double)count[c] * lg2((double)count[c]);
	return lg2((double)n) - sum / (double)n;
}

/* Why the token s[0..n) looks like a secret, or NULL. */
static const char *key_shaped(const char *s, size_t n)
{
	static const struct {
		const char *prefix;
		size_t min;
		const char *why;
	} pre[] = {
		{ "sk-", 20, "an sk- key" },
		{ "AIza", 30, "a Google API key" },
		{ "ghp_", 20, "a GitHub token" },
		{ "gho_", 20, "a GitHub token" },
		{ "ghs_", 20, "a GitHub token" },
		{ "ghu_", 20, "a GitHub token" },
		{ "github_pat_", 30, "a GitHub token" },
		{ "xoxb-", 15, "a Slack token" },
		{ "xoxp-", 15, "a Slack token" },
		{ "xoxa-", 15, "a Slack token" },
		{ "xoxs-", 15, "a Slack token" },
	};
	int lower = 0, upper = 0, digit = 0;

	for (size_t i = 0; i < sizeof pre / sizeof pre[0]; i++) {
		size_t pl = strlen(pre[i].prefix);

		if (n >= pre[i].min && !strncmp(s, pre[i].prefix, pl))
			return pre[i].why;
	}
	if (n == 20 && (!strncmp(s, "AKIA", 4) || !strncmp(s, "ASIA", 4))) {
		size_t i;
		for (i = 4; i < n && (isupper((unsigned char)s[i]) ||
				      isdigit((unsigned char)s[i])); i++)
			;
		if (i == n)
			return "an AWS access key id";
	}
	if (n < 32)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		lower |= islower((unsigned char)s[i]) != 0;
		upper |= isupper((unsigned char)s[i]) != 0;
		digit |= isdigit((unsigned char)s[i]) != 0;
	}
	/* Long identifiers are words joined by '-' or '_': no digits, low
	 * entropy.  Random tokens mix classes and spread their symbols. */
	if (digit && lower + upper + digit >= 2 && entropy(s, n) >= 3.5)
		return "a long random token";
	return NULL;
}

/* The first key-shaped token of s (or the token after "Bearer "): why it
 * looks like a key, with its offset and length; NULL when there is none. */
static const char *find_key(const char *s, size_t *at, size_t *len)
{
	size_t i = 0, n = strlen(s);

	while (i < n) {
		size_t b, e;
		const char *why;

		while (i < n && !tok_char((unsigned char)s[i]))
			i++;
		b = i;
		while (i < n && tok_char((unsigned char)s[i]))
			i++;
		e = i;
		if (e == b)
			break;
		why = key_shaped(s + b, e - b);
		if (!why && b >= 7 && !strncasecmp(s + b - 7, "bearer ", 7) &&
		    e - b >= 16)
			why = "a bearer token";
		if (why) {
			*at = b;
			*len = e - b;
			return why;
		}
	}
	return NULL;
}

/* Replaces key-shaped tokens of an allocated string in place. */
static void redact(char *s)
{
	size_t at, len, off = 0;

	while (s && find_key(s + off, &at, &len)) {
		static const char mark[] = "[redacted]";
		size_t k = sizeof mark - 1 < len ? sizeof mark - 1 : len;

		memcpy(s + off + at, mark, k);
		memmove(s + off + at + k, s + off + at + len,
			strlen(s + off + at + len) + 1);
		off += at + k;
	}
}

/* ---- results --------------------------------------------------------- */

static void add(struct audit *a, const char *name, const char *status,
		const char *fmt, ...) GS_PRINTF(4, 5);
static void add(struct audit *a, const char *name, const char *status,
		const char *fmt, ...)
{
	cJSON *o = cJSON_CreateObject();
	va_list ap;
	char *d;

	va_start(ap, fmt);
	d = gs__vfmt(fmt, ap);
	va_end(ap);
	if (!o || !d) {
		a->oom = 1;
		cJSON_Delete(o);
		gs_free(d);
		return;
	}
	redact(d);
	if (!cJSON_AddStringToObject(o, "status", status) ||
	    !cJSON_AddStringToObject(o, "detail", d) ||
	    !cJSON_AddItemToObject(a->checks, name, o)) {
		a->oom = 1;
		cJSON_Delete(o);
	}
	gs_free(d);
	a->nfail += !strcmp(status, "fail");
	a->nwarn += !strcmp(status, "warn");
}

/* Adds a check from an accumulator: fail (or warn) with its first entry,
 * or pass with ok_detail. */
static void add_acc(struct audit *a, const char *name, struct acc *c,
		    const char *bad, const char *ok_detail)
{
	if (c->n > 1)
		add(a, name, bad, "%s (and %d more)", c->first ? c->first
		    : "out of memory", c->n - 1);
	else if (c->n)
		add(a, name, bad, "%s", c->first ? c->first : "out of memory");
	else
		add(a, name, "pass", "%s", ok_detail);
	gs_free(c->first);
	c->first = NULL;
	c->n = 0;
}

/* ---- walking the stack files ----------------------------------------- */

static int valid_stack_name(const char *s)
{
	if (!*s || *s == '.')
		return 0;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '-' || *s == '_' ||
		      *s == '.'))
			return 0;
	return 1;
}

static const struct gs__kv *kv_get(const struct gs__section *s,
				   const char *key)
{
	for (size_t i = 0; s && i < s->nkv; i++)
		if (!strcmp(s->kv[i].key, key))
			return &s->kv[i];
	return NULL;
}

static const char *val(const struct gs__section *s, const char *key,
		       const char *def)
{
	const struct gs__kv *kv = kv_get(s, key);

	return kv ? kv->value : def;
}

static int walk(struct audit *a, const char *path, int top);

/* The files named by one [stack] include = value. */
static int walk_includes(struct audit *a, const char *fpath,
			 const struct gs__section *s)
{
	const struct gs__kv *kv = kv_get(s, "include");
	const char *p = kv ? kv->value : "";
	char *dir = gs__dirname(fpath);
	int rc = dir ? GS_OK : GS_ENOMEM;

	while (rc >= 0 && *p) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		const char *b = p, *end = p + n;
		char *name, *inc = NULL;
		size_t nl;

		while (b < end && (*b == ' ' || *b == '\t'))
			b++;
		while (end > b && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		p += n + (e != NULL);
		if (b == end)
			continue;
		name = gs_strndup(b, (size_t)(end - b));
		if (!name)
			return gs__err(&a->walk_err, GS_ENOMEM,
				       "out of memory");
		nl = strlen(name);
		if (strchr(name, '/') ||
		    (nl > 4 && !strcmp(name + nl - 4, ".ini")))
			inc = gs__join(dir, name);
		else if (valid_stack_name(name))
			inc = gs__fmt("%s/%s.ini", gs_default_confdir(), name);
		else
			rc = gs__err(&a->walk_err, GS_EINVAL, "%s:%d: include "
				     "'%s' is not a stack name or path",
				     fpath, kv->line, name);
		if (rc >= 0 && !inc)
			rc = GS_ENOMEM;
		if (rc >= 0)
			rc = walk(a, inc, 0);
		gs_free(inc);
		gs_free(name);
	}
	gs_free(dir);
	return rc;
}

/* Parses path (its includes first) and appends its sections. */
static int walk(struct audit *a, const char *path, int top)
{
	struct gs__section *secs = NULL, *n;
	size_t nsecs = 0;
	char *real, **fl;
	const char *fpath;
	int rc = GS_OK;

	if (a->depth >= GS__MAX_INCLUDE_DEPTH)
		return gs__err(&a->walk_err, GS_EINVAL, "%s: includes nested "
			       "deeper than %d", path, GS__MAX_INCLUDE_DEPTH);
	if (a->nfiles >= GS__MAX_STACK_FILES)
		return gs__err(&a->walk_err, GS_EINVAL, "%s: more than %d "
			       "stack files; includes fan out too far", path,
			       GS__MAX_STACK_FILES);
	real = realpath(path, NULL);
	if (!real)
		return gs__err(&a->walk_err, GS_EIO, "%s: %s", path,
			       strerror(errno));
	for (size_t i = 0; i < a->depth; i++)
		if (!strcmp(a->real[i], real)) {
			free(real);
			return gs__err(&a->walk_err, GS_EINVAL, "%s: include "
				       "loop", path);
		}
	fl = gs_realloc(a->files, (a->nfiles + 1) * sizeof *fl);
	if (!fl) {
		free(real);
		return GS_ENOMEM;
	}
	a->files = fl;
	fl[a->nfiles] = gs_strndup(path, strlen(path));
	if (!fl[a->nfiles]) {
		free(real);
		return GS_ENOMEM;
	}
	fpath = fl[a->nfiles++];
	a->real[a->depth++] = real;

	/* A parse error ends this file; what was read is still audited. */
	rc = gs__parse_file(fpath, &secs, &nsecs, &a->walk_err);
	if (rc == GS_ENOMEM)
		goto out;
	rc = GS_OK;
	for (size_t i = 0; i < nsecs && rc != GS_ENOMEM; i++) {
		const struct gs__kv *kv;

		if (strcmp(secs[i].name, "stack"))
			continue;
		if (top && (kv = kv_get(&secs[i], "strict"))) {
			a->strict = strcmp(kv->value, "no") != 0;
			a->strict_file = fpath;
			a->strict_line = kv->line;
		}
		rc = walk_includes(a, fpath, &secs[i]);
	}
	if (rc == GS_ENOMEM)
		goto out;
	rc = GS_OK;
	n = gs_realloc(a->secs, (a->nsecs + nsecs + 1) * sizeof *n);
	if (!n) {
		rc = GS_ENOMEM;
		goto out;
	}
	a->secs = n;
	/* Includes' sections first, as the loader runs them. */
	if (nsecs) /* a file with no sections has secs == NULL */
		memcpy(a->secs + a->nsecs, secs, nsecs * sizeof *secs);
	a->nsecs += nsecs;
	gs_free(secs);
	secs = NULL;
	nsecs = 0;
out:
	gs__sections_free(secs, nsecs);
	free(a->real[--a->depth]);
	return rc;
}

/* ---- plugins --------------------------------------------------------- */

static unsigned phase_bits(const char *p)
{
	if (!strcmp(p, "request"))
		return GS_PHASE_REQUEST;
	if (!strcmp(p, "response"))
		return GS_PHASE_RESPONSE;
	if (!strcmp(p, "both"))
		return GS_PHASE_REQUEST | GS_PHASE_RESPONSE;
	return 0;
}

/* The built-in plugins' phases, for a module that does not load. */
static unsigned known_phases(const char *m)
{
	if (!strcmp(m, "input-patterns") || !strcmp(m, "length-limit") ||
	    !strcmp(m, "prompt-wrap"))
		return GS_PHASE_REQUEST;
	if (!strcmp(m, "logger"))
		return 0;
	return GS_PHASE_REQUEST | GS_PHASE_RESPONSE;
}

/* Loads f's plugin with the loader's own resolution and descriptor
 * checks.  Permissions are the file-perms check's business, so this runs
 * as if strict = no: one problem, one failing check. */
static void load_plugin(struct audit *a, struct afilt *af)
{
	gs_stack scratch;
	struct gs__filter f;
	int rc;

	memset(&scratch, 0, sizeof scratch);
	memset(&f, 0, sizeof f);
	f.name = af->s->name;
	f.module = (char *)af->module;
	f.file = af->s->file;
	f.line = af->s->line;
	rc = gs__load_plugin(&scratch, &f, &af->load_err);
	if (rc >= 0) {
		af->loaded = 1;
		af->phases = f.plugin->phases;
	} else if (rc == GS_ENOMEM) {
		a->oom = 1;
	}
	af->path = f.path;
	gs__unload_plugin(&f);
}

static int setup_filters(struct audit *a)
{
	a->f = gs_calloc(a->nsecs + 1, sizeof *a->f);
	if (!a->f)
		return GS_ENOMEM;
	for (size_t i = 0; i < a->nsecs; i++) {
		const struct gs__section *s = &a->secs[i];
		struct afilt *af;
		const char *ph;

		if (!strcmp(s->name, "stack"))
			continue;
		if (!strcmp(s->name, "upstream")) {
			a->up = s; /* the last one read wins, as in stack.c */
			continue;
		}
		af = &a->f[a->nf++];
		af->s = s;
		af->module = val(s, "module", s->name);
		af->control = val(s, "control", "required");
		af->ignore = !strcmp(val(s, "on_error", "reject"), "ignore");
		load_plugin(a, af);
		if (!af->loaded)
			af->phases = known_phases(af->module);
		if ((ph = val(s, "phase", NULL)) && phase_bits(ph))
			af->phases = phase_bits(ph);
	}
	a->offline = a->up && !strcmp(val(a->up, "url", ""), "offline");
	return a->oom ? GS_ENOMEM : GS_OK;
}

/* A filter that enforces: it runs, and its failure counts. */
static const char *weakness(const struct afilt *f)
{
	if (!strcmp(f->control, "optional"))
		return "is optional: its rejection is ignored";
	if (!strcmp(f->control, "sufficient"))
		return "is sufficient: its rejection is ignored";
	if (f->ignore)
		return "has on_error = ignore: when it fails, content passes";
	return NULL;
}

static int has_user_role(const struct afilt *f)
{
	const char *r = val(f->s, "roles", NULL);

	return !r || strstr(r, "user") != NULL;
}

/* ---- the checks ------------------------------------------------------ */

static void check_loads(struct audit *a, const char *path)
{
	gs_stack *st = NULL;
	char *err = NULL;
	int rc = gs_stack_load(&st, path, 0, &err);

	if (rc >= 0)
		add(a, "stack-loads", "pass", "loads: %zu filters",
		    gs_stack_filter_count(st));
	else
		add(a, "stack-loads", "fail", "%s", err ? err
		    : gs_strerror(rc));
	gs_stack_free(st);
	gs_free(err);
}

static void check_parse(struct audit *a)
{
	if (a->walk_err)
		add(a, "stack-parse", "fail", "%s", a->walk_err);
	else
		add(a, "stack-parse", "pass", "%zu file%s, %zu filter%s",
		    a->nfiles, a->nfiles == 1 ? "" : "s", a->nf,
		    a->nf == 1 ? "" : "s");
}

static void check_plugins(struct audit *a)
{
	struct acc c = { 0 };
	char *ok;

	for (size_t i = 0; i < a->nf; i++)
		if (!a->f[i].loaded)
			acc_add(a, &c, "%s", a->f[i].load_err ?
				a->f[i].load_err : "cannot load");
	ok = a->nf == 1 ? gs__fmt("1 plugin loads and passes the ABI checks")
			: gs__fmt("%zu plugins load and pass the ABI checks",
				  a->nf);
	add_acc(a, "plugins-load", &c, "fail", ok ? ok : "");
	gs_free(ok);
}

/* Every line of every stack file, comments included: a key commented
 * out is as leaked as one in use. */
static void check_literal(struct audit *a)
{
	struct acc c = { 0 };

	for (size_t i = 0; i < a->nfiles; i++) {
		FILE *fp = fopen(a->files[i], "re");
		char *line = NULL;
		size_t cap = 0;
		int no = 0;

		if (!fp)
			continue; /* stack-parse says why */
		while (getline(&line, &cap, fp) >= 0) {
			const char *p = line, *why, *eq;
			size_t at, len;
			char name[48];

			no++;
			if (!(why = find_key(line, &at, &len)))
				continue;
			while (*p == ' ' || *p == '\t')
				p++;
			eq = strchr(p, '=');
			if (*p == '#' || *p == ';')
				snprintf(name, sizeof name, "a comment");
			else if (*p == '[')
				snprintf(name, sizeof name, "a section name");
			else if (eq && (size_t)(eq - line) < at) {
				size_t k = (size_t)(eq - p);

				while (k && strchr(" \t", p[k - 1]))
					k--;
				snprintf(name, sizeof name, "%.*s",
					 (int)(k < 40 ? k : 40), p);
			} else
				snprintf(name, sizeof name, "a key name");
			acc_add(a, &c, "%s:%d: %s holds what looks like %s; "
				"remove it, rotate that secret and name a "
				"source (env:NAME, file:PATH) in keys",
				a->files[i], no, name, why);
		}
		gs__wipe(line, cap);
		free(line);
		fclose(fp);
	}
	add_acc(a, "key-literal", &c, "fail",
		"no key-shaped value in the stack files");
}

/* A key source list, where it was written and the directory its
 * relative file: paths are taken from. */
struct ksrc {
	const char *spec;
	const char *file;  /* NULL: the built-in default */
	int line;
	const char *what;  /* "[upstream]", "[mod]" */
};

static int valid_env(const char *s)
{
	if (!*s || isdigit((unsigned char)*s))
		return 0;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_'))
			return 0;
	return 1;
}

static int valid_gcp(const char *s)
{
	static const char *const parts[] = { "projects/", "/secrets/",
					     "/versions/" };

	for (int k = 0; k < 3; k++) {
		size_t pl = strlen(parts[k]), n = 0;

		if (strncmp(s, parts[k], pl))
			return 0;
		s += pl;
		while (isalnum((unsigned char)s[n]) || s[n] == '_' ||
		       s[n] == '-' || s[n] == '.')
			n++;
		if (!n)
			return 0;
		s += n;
	}
	return !*s;
}

/* The program of a cmd: entry, found as posix_spawnp would; NULL when it
 * is not there.  Allocated. */
static char *find_program(const char *cmd)
{
	const char *p = cmd, *path;
	char *word, *found = NULL;
	size_t n;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\'' || *p == '"') {
		const char *q = strchr(p + 1, *p);
		n = q ? (size_t)(q - p - 1) : strlen(p + 1);
		p++;
	} else {
		n = strcspn(p, " \t");
	}
	word = gs_strndup(p, n);
	if (!word || !*word) {
		gs_free(word);
		return NULL;
	}
	if (strchr(word, '/'))
		return access(word, X_OK) == 0 ? word : (gs_free(word), NULL);
	path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path && !found) {
		size_t dl = strcspn(path, ":");
		char *cand = gs__fmt("%.*s/%s", (int)(dl ? dl : 1),
				     dl ? path : ".", word);
		struct stat sb;

		if (cand && stat(cand, &sb) == 0 && S_ISREG(sb.st_mode) &&
		    access(cand, X_OK) == 0)
			found = cand;
		else
			gs_free(cand);
		path += dl + (path[dl] == ':');
	}
	gs_free(word);
	return found;
}

static void check_one_source(struct audit *a, const struct ksrc *k,
			     const char *e, size_t n, size_t entry,
			     struct acc *src, struct acc *perm,
			     size_t *nfiles)
{
	char *v = gs_strndup(e, n), *where;
	char *dir = k->file ? gs__dirname(k->file) : NULL;

	where = k->file ? gs__fmt("%s:%d: %s keys", k->file, k->line,
				  k->what)
			: gs__fmt("%s keys (default)", k->what);
	if (!v || !where || (k->file && !dir)) {
		a->oom = 1;
		goto out;
	}
	if (!strncmp(v, "env:", 4)) {
		const char *x;

		if (!valid_env(v + 4))
			acc_add(a, src, "%s: entry %zu: env: needs a variable "
				"name", where, entry);
		else if (!(x = gs__secure_getenv(v + 4)) || !*x)
			acc_add(a, src, "%s: %s is not set here; export it "
				"where the application runs", where, v + 4);
	} else if (!strncmp(v, "file:", 5) && v[5]) {
		char *p = gs__join(dir, v + 5), *m = NULL, *pd = NULL;
		struct stat sb;

		if (!p)
			a->oom = 1;
		else if (lstat(p, &sb) < 0)
			acc_add(a, src, "%s: file:%s: %s", where, p,
				strerror(errno));
		else if (S_ISLNK(sb.st_mode))
			acc_add(a, src, "%s: file:%s is a symbolic link, "
				"which is refused; name the file itself", where,
				p);
		else if (!S_ISREG(sb.st_mode))
			acc_add(a, src, "%s: file:%s is not a regular file",
				where, p);
		else if (++*nfiles && sb.st_uid != geteuid())
			acc_add(a, perm, "%s: file:%s is owned by uid %ld, "
				"not by you (uid %ld); chown it", where, p,
				(long)sb.st_uid, (long)geteuid());
		else if ((sb.st_mode & 07777) != 0600 &&
			 (sb.st_mode & 07777) != 0400)
			acc_add(a, perm, "%s: file:%s has mode %04o; run "
				"chmod 600 %s", where, p,
				(unsigned)(sb.st_mode & 07777), p);
		else if (!(pd = gs__dirname(p)))
			a->oom = 1;
		else if (gs__check_safe(pd, &m) == GS_EPERM)
			/* Whoever can write there can swap the key. */
			acc_add(a, perm, "%s: file:%s: %s", where, p, m);
		gs_free(pd);
		gs_free(m);
		gs_free(p);
	} else if (!strncmp(v, "cmd:", 4)) {
		char *prog = find_program(v + 4), *m = NULL;

		if (!prog)
			acc_add(a, src, "%s: entry %zu: cmd: program not "
				"found or not executable", where, entry);
		else if (gs__check_safe(prog, &m) == GS_EPERM)
			acc_add(a, perm, "%s: cmd: %s", where, m);
		gs_free(m);
		gs_free(prog);
	} else if (!strncmp(v, "gcp:", 4)) {
		if (!valid_gcp(v + 4))
			acc_add(a, src, "%s: entry %zu: gcp: needs projects/P/"
				"secrets/S/versions/V", where, entry);
	} else {
		/* Never echo it: it may be the key itself. */
		acc_add(a, src, "%s: entry %zu is not a key source (a "
			"literal key?); write env:NAME, file:PATH, "
			"cmd:PROGRAM or gcp:projects/P/secrets/S/versions/V",
			where, entry);
	}
out:
	gs__wipe(v, n);
	gs_free(v);
	gs_free(where);
	gs_free(dir);
}

static void check_keys(struct audit *a)
{
	struct ksrc ks[GS__MAX_STACK_FILES * 4];
	size_t nks = 0, nsrc = 0, nfiles = 0;
	struct acc src = { 0 }, perm = { 0 };
	char *ok;

	if (a->up && !a->offline) {
		const struct gs__kv *kv = kv_get(a->up, "keys");
		ks[nks++] = (struct ksrc){ kv ? kv->value : GS__DEFAULT_KEYS,
					   a->up->file, kv ? kv->line : 0,
					   "[upstream]" };
		if (!kv)
			ks[nks - 1].file = NULL;
	} else if (!a->up) {
		ks[nks++] = (struct ksrc){ GS__DEFAULT_KEYS, NULL, 0,
					   "[upstream]" };
	}
	for (size_t i = 0; i < a->nf && nks < sizeof ks / sizeof ks[0]; i++) {
		const struct gs__kv *kv;

		if (strcmp(a->f[i].module, "mistral-moderation"))
			continue;
		kv = kv_get(a->f[i].s, "keys");
		ks[nks++] = (struct ksrc){ kv ? kv->value : GS__DEFAULT_KEYS,
					   kv ? a->f[i].s->file : NULL,
					   kv ? kv->line : 0, "mistral-"
					   "moderation" };
	}
	if (!nks) {
		add(a, "key-source", "pass", "offline backend: no key");
		add(a, "key-file-perms", "pass", "offline backend: no key");
		return;
	}
	for (size_t k = 0; k < nks; k++) {
		const char *p = ks[k].spec;
		size_t entry = 0;

		for (;;) {
			const char *c = strchr(p, ','), *b = p;
			const char *e = c ? c : p + strlen(p);

			entry++;
			while (b < e && (*b == ' ' || *b == '\t'))
				b++;
			while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			if (e > b) {
				nsrc++;
				check_one_source(a, &ks[k], b, (size_t)(e - b),
						 entry, &src, &perm, &nfiles);
			}
			if (!c)
				break;
			p = c + 1;
		}
	}
	ok = gs__fmt("%zu key source%s, each resolves (cmd: programs are "
		     "found, not run; gcp: names are checked, not fetched)",
		     nsrc, nsrc == 1 ? "" : "s");
	add_acc(a, "key-source", &src, "fail", ok ? ok : "");
	gs_free(ok);
	ok = nfiles ? gs__fmt("%zu key file%s: yours, mode 0600 or 0400",
			      nfiles, nfiles == 1 ? "" : "s")
		    : gs__fmt("no key file");
	add_acc(a, "key-file-perms", &perm, "fail", ok ? ok : "");
	gs_free(ok);
}

static void check_input(struct audit *a)
{
	const struct afilt *weak = NULL;
	const char *why = NULL;
	gs_buf names = GS_BUF_INIT;
	size_t n = 0;

	for (size_t i = 0; i < a->nf; i++) {
		const struct afilt *f = &a->f[i];

		if ((strcmp(f->module, "input-patterns") &&
		     strcmp(f->module, "length-limit")) ||
		    !(f->phases & GS_PHASE_REQUEST))
			continue;
		if (!has_user_role(f)) {
			weak = f;
			why = "does not read the user's messages (roles)";
			continue;
		}
		if (weakness(f)) {
			weak = f;
			why = weakness(f);
			continue;
		}
		if (gs_buf_printf(&names, "%s[%s]", n++ ? ", " : "",
				  f->s->name) < 0)
			a->oom = 1;
	}
	if (n)
		add(a, "input-validation", "pass", "%s check%s the request",
		    names.data ? names.data : "", n > 1 ? "" : "s");
	else if (weak)
		add(a, "input-validation", "fail", "%s:%d: [%s] %s; make it "
		    "required, with on_error = reject", weak->s->file,
		    weak->s->line, weak->s->name, why);
	else
		add(a, "input-validation", "fail", "no input-patterns or "
		    "length-limit in the request phase; add [input-patterns] "
		    "and [length-limit] (see default.ini)");
	gs_buf_free(&names);
}

static void check_output(struct audit *a)
{
	const struct afilt *script = NULL, *pii = NULL, *weak = NULL;
	const char *why = NULL;

	for (size_t i = 0; i < a->nf; i++) {
		const struct afilt *f = &a->f[i];
		int is_script = !strcmp(f->module, "script-strip");
		int is_pii = !strcmp(f->module, "ssn-redact") ||
			     !strcmp(f->module, "email-redact");

		if ((!is_script && !is_pii) ||
		    !(f->phases & GS_PHASE_RESPONSE))
			continue;
		if (weakness(f)) {
			weak = f;
			why = weakness(f);
			continue;
		}
		if (is_script && !script)
			script = f;
		if (is_pii && !pii)
			pii = f;
	}
	if (script && pii)
		add(a, "output-sanitisation", "pass", "[%s] and [%s] clean the "
		    "answer", script->s->name, pii->s->name);
	else if (weak)
		add(a, "output-sanitisation", "fail", "%s:%d: [%s] %s; make "
		    "it required, with on_error = reject", weak->s->file,
		    weak->s->line, weak->s->name, why);
	else
		add(a, "output-sanitisation", "fail", "the response phase has "
		    "no %s; add %s", script ? "PII redactor" : "script-strip",
		    script ? "[ssn-redact] or [email-redact] with phase = both"
			   : "[script-strip] with phase = response");
}

static void check_logger(struct audit *a)
{
	struct acc c = { 0 };
	const struct afilt *lg = NULL;

	for (size_t i = 0; i < a->nf; i++) {
		const struct afilt *f = &a->f[i];
		const char *file;
		char *p, *dir;
		struct stat sb;

		if (strcmp(f->module, "logger"))
			continue;
		if (!lg)
			lg = f;
		if (!(file = val(f->s, "file", NULL)) || !*file)
			continue;
		dir = gs__dirname(f->s->file);
		p = dir ? gs__join(dir, file) : NULL;
		gs_free(dir);
		dir = p ? gs__dirname(p) : NULL;
		if (!p || !dir) {
			a->oom = 1;
		} else if (lstat(p, &sb) == 0 && (sb.st_mode & 077)) {
			acc_add(a, &c, "%s:%d: [%s] file %s has mode %04o: "
				"others may read who called which model when; "
				"run chmod 600 %s", f->s->file, f->s->line,
				f->s->name, p, (unsigned)(sb.st_mode & 07777),
				p);
		} else if (stat(dir, &sb) == 0 && (sb.st_mode & S_IWOTH) &&
			   !(sb.st_mode & S_ISVTX)) {
			acc_add(a, &c, "%s:%d: [%s] file %s is in a directory "
				"anyone may write: the log can be swapped; "
				"move it", f->s->file, f->s->line, f->s->name,
				p);
		}
		gs_free(p);
		gs_free(dir);
	}
	if (lg)
		add(a, "logger", "pass", "[%s] writes one metadata line per "
		    "call", lg->s->name);
	else
		add(a, "logger", "fail", "no logger: add a [logger] section "
		    "so every call leaves a record");
	add_acc(a, "logger-content", &c, "fail", lg ? "the logger writes "
		"metadata only (no content, no keys) to a private sink"
		: "no logger");
}

static int loopback(const char *h, size_t n)
{
	return (n == 9 && !strncmp(h, "localhost", 9)) ||
	       (n >= 4 && !strncmp(h, "127.", 4)) ||
	       (n == 5 && !strncmp(h, "[::1]", 5));
}

static void check_url(struct audit *a, struct acc *c, const char *url,
		      const char *where)
{
	const char *h, *e;

	if (!strncmp(url, "https://", 8))
		return;
	if (strncmp(url, "http://", 7)) {
		acc_add(a, c, "%s: url is neither https:// nor http://; use "
			"https://", where);
		return;
	}
	h = url + 7;
	e = *h == '[' ? strchr(h, ']') : NULL;
	e = e ? e + 1 : h + strcspn(h, ":/");
	if (!loopback(h, (size_t)(e - h)))
		acc_add(a, c, "%s: plain http to %.*s: keys and prompts "
			"travel unencrypted; use https://", where,
			(int)(e - h), h);
}

/* One client's settings: [upstream] or a mistral-moderation section. */
static void check_client(struct audit *a, const struct gs__section *s,
			 const char *what, const char *def_url,
			 long def_timeout, struct acc *tls, struct acc *tmo)
{
	static const char *const names[] = { "timeout", "connect_timeout",
					     "key_timeout" };
	const long defs[] = { def_timeout, 10, 10 };
	const long warn[] = { TIMEOUT_WARN, CONNECT_WARN, CONNECT_WARN };
	const struct gs__kv *kv = kv_get(s, "url");
	char *where = s ? gs__fmt("%s:%d: %s", s->file,
				  kv ? kv->line : s->line, what)
			: gs__fmt("%s (default)", what);

	if (!where) {
		a->oom = 1;
		return;
	}
	check_url(a, tls, kv ? kv->value : def_url, where);
	if (kv_get(s, "keys") && strstr(kv_get(s, "keys")->value, "gcp:"))
		check_url(a, tls, val(s, "gcp_endpoint", GS__GCP_ENDPOINT),
			  where);
	for (int i = 0; i < 3; i++) {
		const struct gs__kv *t = kv_get(s, names[i]);
		char *end;
		long v;

		if (!t)
			continue;
		errno = 0;
		v = strtol(t->value, &end, 10);
		if (!*t->value || *end || errno || v < 1)
			acc_add(a, tmo, "%s:%d: %s %s = '%s': not a number of "
				"seconds", s->file, t->line, what, names[i],
				t->value);
		else if (v > warn[i])
			acc_add(a, tmo, "%s:%d: %s %s = %ld s: a hung upstream "
				"holds a worker that long per attempt; keep it "
				"at most %ld (default %ld)", s->file, t->line,
				what, names[i], v, warn[i], defs[i]);
	}
	gs_free(where);
}

static void check_upstream(struct audit *a)
{
	struct acc tls = { 0 }, tmo = { 0 };
	int bad_tmo = 0, any = 0;

	if (!a->offline) {
		check_client(a, a->up, "[upstream]", GS__DEFAULT_URL, 60,
			     &tls, &tmo);
		any = 1;
	}
	for (size_t i = 0; i < a->nf; i++)
		if (!strcmp(a->f[i].module, "mistral-moderation")) {
			char *w = gs__fmt("[%s]", a->f[i].s->name);
			if (!w) {
				a->oom = 1;
				continue;
			}
			check_client(a, a->f[i].s, w, MM_DEFAULT_URL, 10,
				     &tls, &tmo);
			gs_free(w);
			any = 1;
		}
	add_acc(a, "upstream-tls", &tls, "fail", !any ? "offline backend: "
		"no network" : "https with certificate verification (always "
		"on) or loopback");
	/* A bad number fails the load; a long wait is a choice. */
	bad_tmo = tmo.first && strstr(tmo.first, "not a number");
	add_acc(a, "upstream-timeouts", &tmo, bad_tmo ? "fail" : "warn",
		!any ? "offline backend: no network" : "timeouts set "
		"(explicit or default) within bounds");
}

static void check_fail_closed(struct audit *a)
{
	static const char *const sec[] = {
		"input-patterns", "length-limit", "script-strip",
		"ssn-redact", "email-redact", "leak-redact",
		"mistral-moderation", NULL
	};
	struct acc c = { 0 };

	for (size_t i = 0; i < a->nf; i++) {
		const struct afilt *f = &a->f[i];

		if (!f->ignore)
			continue;
		for (int k = 0; sec[k]; k++)
			if (!strcmp(f->module, sec[k])) {
				const struct gs__kv *kv =
					kv_get(f->s, "on_error");
				acc_add(a, &c, "%s:%d: [%s] on_error = ignore: "
					"when it fails, content passes "
					"unchecked; remove the line",
					f->s->file, kv->line, f->s->name);
				break;
			}
	}
	add_acc(a, "fail-closed", &c, "fail", "every security filter fails "
		"closed (on_error = reject)");
	if (!a->strict)
		add(a, "strict", "warn", "%s:%d: strict = no turns off the "
		    "ownership and permission checks; remove it",
		    a->strict_file, a->strict_line);
	else
		add(a, "strict", "pass", "strict (ownership and permission "
		    "checks on)");
}

static void perm_check(struct audit *a, struct acc *c, const char *path,
		       const char *what)
{
	char *m = NULL;
	int rc = gs__check_safe(path, &m);

	/* A missing file is stack-loads' to report. */
	if (rc == GS_EPERM)
		acc_add(a, c, "%s%s", what, m ? m : "unsafe");
	else if (rc == GS_ENOMEM)
		a->oom = 1;
	gs_free(m);
}

static void section_file(struct audit *a, struct acc *c,
			 const struct gs__section *s, const char *key,
			 const char *def)
{
	const char *v = val(s, key, def);
	char *dir, *p, *what;

	if (!v || !*v)
		return;
	dir = gs__dirname(s->file);
	p = dir ? gs__join(dir, v) : NULL;
	what = gs__fmt("%s:%d: [%s] %s: ", s->file, s->line, s->name, key);
	if (p && what)
		perm_check(a, c, p, what);
	else
		a->oom = 1;
	gs_free(dir);
	gs_free(p);
	gs_free(what);
}

static void check_perms(struct audit *a)
{
	struct acc c = { 0 };
	const char *list = gs_default_plugin_path();
	size_t n = 0;

	for (size_t i = 0; i < a->nfiles; i++, n++)
		perm_check(a, &c, a->files[i], "");
	for (size_t i = 0; i < a->nf; i++) {
		const struct afilt *f = &a->f[i];

		if (f->path) {
			perm_check(a, &c, f->path, "");
			n++;
		}
		if (!strcmp(f->module, "input-patterns"))
			section_file(a, &c, f->s, "rules", "injection.rules");
		if (!strcmp(f->module, "prompt-wrap")) {
			section_file(a, &c, f->s, "system_file", NULL);
			section_file(a, &c, f->s, "template_file", NULL);
		}
		section_file(a, &c, f->s, "ca_file", NULL);
	}
	if (a->up) {
		section_file(a, &c, a->up, "reply_file", NULL);
		section_file(a, &c, a->up, "ca_file", NULL);
	}
	/* The plugin directories themselves: a writable one lets anyone
	 * add a plugin a later stack names. */
	for (const char *p = list; *p;) {
		size_t l = strcspn(p, ":");
		char *d = l ? gs_strndup(p, l) : NULL;
		struct stat sb;

		if (d && stat(d, &sb) == 0 && S_ISDIR(sb.st_mode))
			perm_check(a, &c, d, "plugin directory ");
		gs_free(d);
		p += l + (p[l] == ':');
	}
	add_acc(a, "file-perms", &c, "fail", "stack, rule and plugin files "
		"and the plugin directory: owned by root or you, not "
		"writable by group or others");
}

/* ---- entry point ----------------------------------------------------- */

static char *stack_path(const char *name, char **errmsg, int *rc)
{
	const char *dir = gs_default_confdir();
	char *p;
	struct stat sb;

	*rc = GS_OK;
	if (strchr(name, '/'))
		p = gs_strndup(name, strlen(name));
	else if (!valid_stack_name(name)) {
		*rc = gs__err(errmsg, GS_EINVAL, "'%s' is not a stack name "
			      "(letters, digits, '-', '_', '.'; or a path "
			      "with '/')", name);
		return NULL;
	} else {
		p = gs__fmt("%s/%s.ini", dir, name);
		if (p && stat(p, &sb) < 0 && errno == ENOENT) {
			gs_free(p);
			p = gs__fmt("%s/default.ini", dir);
		}
	}
	if (!p) {
		*rc = gs__err(errmsg, GS_ENOMEM, "out of memory");
		return NULL;
	}
	if (access(p, R_OK) < 0) {
		*rc = gs__err(errmsg, GS_EIO, "no stack '%s': %s: %s", name,
			      p, strerror(errno));
		gs_free(p);
		return NULL;
	}
	return p;
}

int gs_audit(const char *stack, unsigned flags, char **json_out,
	     char **errmsg)
{
	struct audit a;
	cJSON *root = NULL;
	char *path, *js = NULL;
	int rc;

	(void)flags;
	memset(&a, 0, sizeof a);
	*json_out = NULL;
	if (errmsg)
		*errmsg = NULL;
	path = stack_path(stack, errmsg, &rc);
	if (!path)
		return rc;
	a.strict = 1;
	rc = walk(&a, path, 1);
	if (rc == GS_ENOMEM || (rc >= 0 && setup_filters(&a) < 0) ||
	    !(root = cJSON_CreateObject()) ||
	    !(a.checks = cJSON_CreateObject())) {
		rc = GS_ENOMEM;
		goto out;
	}
	check_parse(&a);
	check_loads(&a, path);
	check_plugins(&a);
	check_keys(&a);
	check_literal(&a);
	check_input(&a);
	check_output(&a);
	check_logger(&a);
	check_upstream(&a);
	check_fail_closed(&a);
	check_perms(&a);
	if (a.oom || !cJSON_AddStringToObject(root, "stack", path) ||
	    !cJSON_AddBoolToObject(root, "passed", a.nfail == 0)) {
		rc = GS_ENOMEM;
		goto out;
	}
	cJSON_AddItemToObject(root, "checks", a.checks);
	a.checks = NULL;
	js = cJSON_PrintUnformatted(root);
	rc = js ? a.nfail : GS_ENOMEM;
	*json_out = js;
out:
	if (rc == GS_ENOMEM)
		gs__err(errmsg, rc, "out of memory");
	cJSON_Delete(a.checks);
	cJSON_Delete(root);
	for (size_t i = 0; a.f && i < a.nf; i++) {
		gs_free(a.f[i].path);
		gs_free(a.f[i].load_err);
	}
	gs_free(a.f);
	gs__sections_free(a.secs, a.nsecs);
	for (size_t i = 0; i < a.nfiles; i++)
		gs_free(a.files[i]);
	gs_free(a.files);
	gs_free(a.walk_err);
	gs_free(path);
	return rc;
}
