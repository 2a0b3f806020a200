/* SPDX-License-Identifier: MIT */
/*
 * loader.c - finds a filter's plugin, checks it and binds it.
 *
 * Bare module names resolve only in the plugin directory (or the
 * directories of GUARDSTACK_PLUGIN_PATH when not setuid); a name with '/'
 * is a path, relative to the stack file.  The descriptor is checked field
 * by field before anything in it is called: a plugin built for another
 * ABI is refused, never half-used.
 */
#include "internal.h"
#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *gs_default_plugin_path(void)
{
	const char *env = gs__secure_getenv("GUARDSTACK_PLUGIN_PATH");

	return env && *env ? env : GS_PLUGINDIR;
}

static int valid_module_name(const char *s)
{
	if (!*s || *s == '.' || strlen(s) > 64)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
		      *s == '.'))
			return 0;
	return 1;
}

/* Sets f->path. */
static int resolve(struct gs__filter *f, char **err)
{
	const char *list = gs_default_plugin_path();
	size_t ml = strlen(f->module);
	struct stat sb;

	if (strchr(f->module, '/')) {
		char *dir = gs__dirname(f->file);
		f->path = dir ? gs__join(dir, f->module) : NULL;
		gs_free(dir);
		if (!f->path)
			return gs__err(err, GS_ENOMEM, "out of memory");
		if (stat(f->path, &sb) < 0)
			return gs__err(err, GS_EPLUGIN,
				       "%s:%d: [%s]: plugin %s: %s", f->file,
				       f->line, f->name, f->path,
				       strerror(errno));
		return GS_OK;
	}
	if (!valid_module_name(f->module))
		return gs__err(err, GS_EINVAL,
			       "%s:%d: [%s]: module '%s' is not a plugin "
			       "name (letters, digits, '-', '_'; or a path "
			       "with '/')", f->file, f->line, f->name,
			       f->module);
	for (const char *p = list; *p;) {
		const char *colon = strchr(p, ':');
		size_t n = colon ? (size_t)(colon - p) : strlen(p);

		if (n) {
			char *cand = gs__fmt("%.*s/%s.so", (int)n, p,
					     f->module);
			if (!cand)
				return gs__err(err, GS_ENOMEM,
					       "out of memory");
			if (stat(cand, &sb) == 0) {
				f->path = cand;
				return GS_OK;
			}
			gs_free(cand);
		}
		p += n + (colon != NULL);
	}
	/* "logger.so" is the commonest slip: names go without it */
	if (ml > 3 && !strcmp(f->module + ml - 3, ".so"))
		return gs__err(err, GS_EPLUGIN,
			       "%s:%d: [%s]: plugin '%s' not found: a module "
			       "name goes without .so (module = %.*s)",
			       f->file, f->line, f->name, f->module,
			       (int)(ml - 3), f->module);
	return gs__err(err, GS_EPLUGIN,
		       "%s:%d: [%s]: plugin '%s' not found: no %s.so in %s "
		       "(bare module names are looked up only in the "
		       "plugin directory; is it installed?)", f->file,
		       f->line, f->name, f->module, f->module, list);
}

/* The checks, in the order a broken plugin most likely fails them. */
static int check_descriptor(struct gs__filter *f, const gs_plugin *p,
			    char **err)
{
	const char *why = NULL;
	char base[80];
	const char *slash = strrchr(f->path, '/');
	const char *b = slash ? slash + 1 : f->path;
	size_t n = strlen(b);

	if (n > 3 && !strcmp(b + n - 3, ".so"))
		n -= 3;
	if (n >= sizeof base)
		n = sizeof base - 1;
	memcpy(base, b, n);
	base[n] = '\0';

	if (p->abi_major != GS_PLUGIN_ABI_MAJOR)
		return gs__err(err, GS_EPLUGIN,
			       "%s:%d: [%s]: plugin %s is not binary "
			       "compatible: built for plugin ABI %u.%u, this "
			       "guardstack loads %d.x; rebuild it against "
			       "this version's <guardstack/plugin.h>",
			       f->file, f->line, f->name, f->path,
			       p->abi_major, p->abi_minor,
			       GS_PLUGIN_ABI_MAJOR);
	if (p->abi_minor > GS_PLUGIN_ABI_MINOR)
		return gs__err(err, GS_EPLUGIN,
			       "%s:%d: [%s]: plugin %s needs plugin ABI "
			       "%u.%u, this guardstack has %d.%d; upgrade "
			       "guardstack", f->file, f->line, f->name,
			       f->path, p->abi_major, p->abi_minor,
			       GS_PLUGIN_ABI_MAJOR, GS_PLUGIN_ABI_MINOR);
	if (p->size < offsetof(gs_plugin, reserved))
		why = "descriptor smaller than its ABI version requires "
		      "(mangled)";
	else if (!p->name || !*p->name)
		why = "descriptor has no name";
	else if (strcmp(p->name, base))
		why = "descriptor's name differs from its file name";
	else if (!p->description)
		why = "descriptor has no description";
	else if (p->phases & ~(unsigned)(GS_PHASE_REQUEST | GS_PHASE_RESPONSE))
		why = "descriptor lists unknown phases";
	else if ((p->phases & GS_PHASE_REQUEST) && !p->request)
		why = "supports the request phase but has no request callback";
	else if ((p->phases & GS_PHASE_RESPONSE) && !p->response)
		why = "supports the response phase but has no response "
		      "callback";
	else if (!p->phases && !p->finish)
		why = "has neither phases nor a finish callback: it would "
		      "never run";
	else if (p->create && !p->destroy)
		why = "has create but no destroy";
	if (why)
		return gs__err(err, GS_EPLUGIN,
			       "%s:%d: [%s]: plugin %s refused: %s%s%s%s",
			       f->file, f->line, f->name, f->path, why,
			       p->name && strcmp(p->name, base) ? " ('" : "",
			       p->name && strcmp(p->name, base) ? p->name :
			       "", p->name && strcmp(p->name, base) ?
			       "')" : "");
	return GS_OK;
}

int gs__load_plugin(gs_stack *st, struct gs__filter *f, char **err)
{
	const gs_plugin *p;
	int rc;

	rc = resolve(f, err);
	if (rc < 0)
		return rc;
	if (st->strict) {
		char *m = NULL;
		rc = gs__check_safe(f->path, &m);
		if (rc < 0) {
			gs__err(err, rc, "%s:%d: [%s]: %s", f->file, f->line,
				f->name, m ? m : "out of memory");
			gs_free(m);
			return rc;
		}
	}
	/* RTLD_LOCAL: plugins cannot see, or clash with, each other. */
	f->dl = dlopen(f->path, RTLD_NOW | RTLD_LOCAL);
	if (!f->dl)
		return gs__err(err, GS_EPLUGIN,
			       "%s:%d: [%s]: cannot load plugin: %s",
			       f->file, f->line, f->name, dlerror());
	p = dlsym(f->dl, GS_PLUGIN_SYMBOL);
	if (!p)
		return gs__err(err, GS_EPLUGIN,
			       "%s:%d: [%s]: %s is not a guardstack plugin "
			       "(it exports no %s)", f->file, f->line,
			       f->name, f->path, GS_PLUGIN_SYMBOL);
	rc = check_descriptor(f, p, err);
	if (rc < 0)
		return rc;
	f->plugin = p;
	return GS_OK;
}

void gs__unload_plugin(struct gs__filter *f)
{
	if (f->created && f->plugin->destroy)
		f->plugin->destroy(f->instance);
	f->created = 0;
	/* Under valgrind, unloaded code leaves leak reports without
	 * symbols; GUARDSTACK_NO_DLCLOSE keeps plugins mapped. */
	if (f->dl && !gs__secure_getenv("GUARDSTACK_NO_DLCLOSE"))
		dlclose(f->dl);
	f->dl = NULL;
}
