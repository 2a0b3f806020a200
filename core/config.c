/* SPDX-License-Identifier: MIT */
/*
 * config.c - a section's plugin settings as create() sees them.  Each
 * getter marks its key as read; whatever is left unread after create()
 * returns is an unknown key, reported with its line, so every plugin
 * rejects keys it does not know without writing that check itself.
 */
#include "internal.h"
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct gs_config {
	const gs_stack *st;
	const struct gs__filter *f;
	struct gs__kv *kv;
	size_t nkv;
	char *dir;
	char *err;
	int code;
};

static struct gs__kv *find(const gs_config *cfg, const char *key)
{
	for (size_t i = 0; i < cfg->nkv; i++)
		if (!strcmp(cfg->kv[i].key, key))
			return &cfg->kv[i];
	return NULL;
}

static int verr(gs_config *cfg, int line, const char *file, int code,
		const char *fmt, va_list ap)
{
	char *m;

	if (cfg->err)
		return code;
	m = gs__vfmt(fmt, ap);
	cfg->err = gs__fmt("%s:%d: [%s]: %s", file, line, cfg->f->name,
			   m ? m : "out of memory");
	gs_free(m);
	cfg->code = code;
	return code;
}

int gs_config_error(gs_config *cfg, const char *key, const char *fmt, ...)
{
	struct gs__kv *kv = key ? find(cfg, key) : NULL;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = verr(cfg, kv ? kv->line : cfg->f->line, cfg->f->file, GS_EINVAL,
		  fmt, ap);
	va_end(ap);
	return rc;
}

int gs_config_error_at(gs_config *cfg, const char *file, long line,
		       const char *fmt, ...)
{
	va_list ap;
	char *m;

	if (cfg->err)
		return GS_EINVAL;
	va_start(ap, fmt);
	m = gs__vfmt(fmt, ap);
	va_end(ap);
	cfg->err = gs__fmt("%s:%ld: [%s]: %s", file, line, cfg->f->name,
			   m ? m : "out of memory");
	gs_free(m);
	cfg->code = GS_EINVAL;
	return GS_EINVAL;
}

int gs_config_has(const gs_config *cfg, const char *key)
{
	return find(cfg, key) != NULL;
}

const char *gs_config_dir(const gs_config *cfg)
{
	return cfg->dir;
}

const char *gs_config_instance(const gs_config *cfg)
{
	return cfg->f->name;
}

int gs_config_strict(const gs_config *cfg)
{
	return cfg->st->strict;
}

int gs_config_str(gs_config *cfg, const char *key, const char *def,
		  const char **out)
{
	struct gs__kv *kv = find(cfg, key);

	if (!kv) {
		*out = def;
		return GS_OK;
	}
	kv->used = 1;
	*out = kv->value;
	return GS_OK;
}

int gs_config_long(gs_config *cfg, const char *key, long min, long max,
		   long def, long *out)
{
	struct gs__kv *kv = find(cfg, key);
	char *end;
	long v;

	if (!kv) {
		*out = def;
		return GS_OK;
	}
	kv->used = 1;
	errno = 0;
	v = strtol(kv->value, &end, 10);
	if (!*kv->value || *end || errno)
		return gs_config_error(cfg, key, "%s = '%s': not a whole "
				       "number", key, kv->value);
	if (v < min || v > max)
		return gs_config_error(cfg, key, "%s = %ld: out of range "
				       "(%ld to %ld)", key, v, min, max);
	*out = v;
	return GS_OK;
}

int gs_config_bool(gs_config *cfg, const char *key, int def, int *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1", NULL };
	static const char *const no[] = { "no", "false", "off", "0", NULL };
	struct gs__kv *kv = find(cfg, key);

	if (!kv) {
		*out = def;
		return GS_OK;
	}
	kv->used = 1;
	for (int i = 0; yes[i]; i++) {
		if (!strcasecmp(kv->value, yes[i])) {
			*out = 1;
			return GS_OK;
		}
		if (!strcasecmp(kv->value, no[i])) {
			*out = 0;
			return GS_OK;
		}
	}
	return gs_config_error(cfg, key, "%s = '%s': expected yes or no",
			       key, kv->value);
}

int gs_config_enum(gs_config *cfg, const char *key,
		   const char *const *choices, int def, int *out)
{
	struct gs__kv *kv = find(cfg, key);
	gs_buf list = GS_BUF_INIT;
	int rc;

	if (!kv) {
		*out = def;
		return GS_OK;
	}
	kv->used = 1;
	for (int i = 0; choices[i]; i++)
		if (!strcmp(kv->value, choices[i])) {
			*out = i;
			return GS_OK;
		}
	for (int i = 0; choices[i]; i++)
		gs_buf_printf(&list, "%s%s", i ? ", " : "", choices[i]);
	rc = gs_config_error(cfg, key, "%s = '%s': expected one of: %s", key,
			     kv->value, list.data ? list.data : "");
	gs_buf_free(&list);
	return rc;
}

int gs_config_path(gs_config *cfg, const char *key, char **out)
{
	struct gs__kv *kv = find(cfg, key);

	*out = NULL;
	if (!kv)
		return GS_OK;
	kv->used = 1;
	if (!*kv->value)
		return gs_config_error(cfg, key, "%s: empty path", key);
	*out = gs__join(cfg->dir, kv->value);
	return *out ? GS_OK : GS_ENOMEM;
}

int gs_config_check_file(gs_config *cfg, const char *key, const char *path)
{
	char *m = NULL;
	int rc;

	if (!cfg->st->strict)
		return GS_OK;
	rc = gs__check_safe(path, &m);
	if (rc < 0) {
		gs_config_error(cfg, key, "%s", m ? m : "out of memory");
		cfg->code = rc;
	}
	gs_free(m);
	return rc;
}

int gs__create_instance(gs_stack *st, struct gs__filter *f,
			struct gs__kv *kv, size_t nkv, char **err)
{
	gs_config cfg = { .st = st, .f = f, .kv = kv, .nkv = nkv };
	const gs_plugin *p = f->plugin;
	int rc = GS_OK;

	cfg.dir = gs__dirname(f->file);
	if (!cfg.dir)
		return gs__err(err, GS_ENOMEM, "out of memory");
	if (p->create) {
		rc = p->create(&cfg, &f->instance);
		if (rc >= 0)
			f->created = 1;
		else if (!cfg.err) {
			gs_config_error(&cfg, NULL, "plugin %s failed to "
					"start: %s", p->name,
					gs_strerror(rc));
			cfg.code = rc; /* out of memory is not bad config */
		}
	}
	for (size_t i = 0; rc >= 0 && i < nkv; i++)
		if (!kv[i].used) {
			rc = GS_EINVAL;
			gs__err(err, rc, "%s:%d: [%s]: unknown key '%s' for "
				"plugin %s (see guardstack.ini(5))", f->file,
				kv[i].line, f->name, kv[i].key, p->name);
		}
	if (rc < 0 && cfg.err) {
		if (err && !*err)
			*err = cfg.err, cfg.err = NULL;
		rc = cfg.code ? cfg.code : rc;
	}
	if (rc < 0 && f->created) {
		if (p->destroy)
			p->destroy(f->instance);
		f->created = 0;
		f->instance = NULL;
	}
	gs_free(cfg.err);
	gs_free(cfg.dir);
	return rc;
}
