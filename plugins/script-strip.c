/* SPDX-License-Identifier: MIT */
/*
 * script-strip - makes a text safe to render as HTML (or as Markdown that
 * passes raw HTML through): nothing in the output runs script.
 *
 * mode = strip walks the text with a small tokenizer that follows the
 * HTML5 tokenization rules for the data state, tags, attributes, comments
 * and the RCDATA and RAWTEXT elements, so that what a browser reads as a
 * tag is read as one here.  It removes active elements (with their content
 * when the content is code), event-handler and framework-gadget
 * attributes, URLs whose scheme is not on the allow-list (after decoding
 * character references and dropping the characters URL parsing ignores),
 * dangerous style attributes, and the same schemes in Markdown link and
 * image destinations.  The whole walk repeats until a round changes
 * nothing, so removals cannot reassemble into new markup.
 *
 * Two invariants make the output safe under concatenation and under
 * Markdown renderers that cut raw HTML differently from a browser: every
 * '<' left in the output starts a tag that was checked (or cannot start
 * anything), and no '<' survives inside an attribute value, RCDATA or a
 * comment, nor inside a tag's names unless what it starts is itself a
 * harmless tag ("HashMap<String, Vec<u8>>").  Constructs still open at
 * the end of the text are escaped rather than left open.
 *
 * mode = escape HTML-escapes & < > " ' and keeps no markup at all.
 *
 * Speed: clean text costs one memchr for '<' and one for ']'; nothing is
 * allocated unless something is changed.
 */
#include <guardstack/plugin.h>

#include <string.h>

#define SS_MAX_ROUNDS 16   /* past this the text is escaped whole */
#define SS_MAX_EDITS 32    /* per tag; past this the tag goes whole */
#define SS_SCHEME_MAX 32
#define SS_MAX_SCHEMES 16
#define SS_NAME_MAX 32     /* longer names match no list */
#define SS_MAX_INNER 8     /* '<' inside one tag's names worth a look */
#define SS_LABEL_MAX 1000  /* a Markdown link label's longest */

enum { SS_STRIP = 0, SS_ESCAPE };
static const char *const ss_modes[] = { "strip", "escape", NULL };

struct ss {
	int mode;
	int data_images;   /* data:image/<raster> URLs allowed */
	size_t nschemes;
	char schemes[SS_MAX_SCHEMES][SS_SCHEME_MAX + 1];
};

/* ---- character classes ----------------------------------------------- */

/* What ends a tag's name, an attribute's name or value, per byte: the
 * tag loops test one table entry a byte instead of seven compares (a
 * text of HTML is mostly tags).  The tokenizer's whitespace: CR counts
 * since input preprocessing turns it into LF. */
#define SS_C_WS 1
#define SS_C_SLASH 2
#define SS_C_GT 4
#define SS_C_EQ 8
#define SS_C_LT 16
static const uint8_t ss_cls[256] = {
	['\t'] = SS_C_WS, ['\n'] = SS_C_WS, ['\f'] = SS_C_WS,
	['\r'] = SS_C_WS, [' '] = SS_C_WS, ['/'] = SS_C_SLASH,
	['>'] = SS_C_GT, ['='] = SS_C_EQ, ['<'] = SS_C_LT,
};

/* c: a byte's value, 0..255 */
static int ss_ws(int c)
{
	return ss_cls[c] & SS_C_WS;
}

/* Whether s[0..n) holds a byte of class `cls`: values and names are
 * short, and two memchr calls each cost more than this loop. */
static int ss_has(const char *s, size_t n, unsigned cls)
{
	for (size_t i = 0; i < n; i++)
		if (ss_cls[(unsigned char)s[i]] & cls)
			return 1;
	return 0;
}

static int ss_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int ss_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int ss_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int ss_xdigit(int c)
{
	return ss_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int ss_punct(int c)
{
	return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') ||
	       (c >= '[' && c <= '`') || (c >= '{' && c <= '~');
}

/* s[0..n) equals the lower-case word w, ignoring ASCII case. */
static int ss_ieq(const char *s, size_t n, const char *w)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!w[i] || ss_lower((unsigned char)s[i]) != w[i])
			return 0;
	return !w[i];
}

/* Whether s[0..n) starts with w (lowercase), case folded.  The first
 * character first: most names start with none of a list's. */
static int ss_iprefix(const char *s, size_t n, const char *w)
{
	size_t k;

	if (!n || ss_lower((unsigned char)s[0]) != (unsigned char)w[0])
		return 0;
	k = strlen(w);
	return n >= k && ss_ieq(s, k, w);
}

/* A name's bit in a list's signature: by its length and first letter
 * (case folded), so that most names of a text (p, div, class, href) are
 * found in no list without comparing them with each of its names. */
static uint64_t ss_sig_bit(const char *s, size_t n)
{
	unsigned c = n ? ss_lower((unsigned char)s[0]) : 0;

	return 1ull << ((c * 7u + (unsigned)n) & 63u);
}

/* Position of s[0..n) in list (whose signature is sig), or -1. */
static int ss_index_sig(const char *s, size_t n, const char *const *list,
			uint64_t sig)
{
	int i;
	unsigned c;

	if (!(sig & ss_sig_bit(s, n)))
		return -1;
	c = n ? (unsigned)ss_lower((unsigned char)s[0]) : 0;
	for (i = 0; list[i]; i++)
		if ((unsigned char)list[i][0] == c && ss_ieq(s, n, list[i]))
			return i;
	return -1;
}

/* The lists below are searched through their signatures, made once when
 * the module is loaded (ss_sigs_make). */
#define ss_index(s, n, list) ss_index_sig((s), (n), (list), list##_sig)
#define ss_in(s, n, list) (ss_index((s), (n), list) >= 0)

/* ---- element and attribute lists --------------------------------------- */

/* Removed with everything up to their end tag: the content is code, or
 * is parsed in ways (foreign content, RAWTEXT, scripting-dependent) that
 * are the classic mutation-XSS vectors. */
static const char *const ss_drop_content[] = {
	"script", "style", "iframe", "noscript", "noembed", "noframes",
	"template", "svg", "math", "xml", NULL
};

/* Removed as tags; their content, if any, stays and is checked as HTML. */
static const char *const ss_drop_tag[] = {
	"object", "applet", "embed", "param", "frame", "frameset", "base",
	"meta", "link", "portal", "fencedframe", "bgsound", "layer",
	"ilayer", "import", "xmp", "plaintext", "isindex", NULL
};

/* Kept; their content is text up to the end tag (RCDATA). */
static const char *const ss_rcdata[] = { "title", "textarea", NULL };
#define SS_NENDS 12 /* ss_drop_content and ss_rcdata together */

/* Attributes that hold one URL. */
static const char *const ss_url_attrs[] = {
	"href", "src", "action", "formaction", "xlink:href", "poster",
	"background", "lowsrc", "dynsrc", "data", "codebase", "cite",
	"longdesc", "usemap", "profile", "manifest", "icon", "classid",
	"code", "datasrc", "xml:base", "xmlns", "to", "from", "values", "by",
	NULL
};

/* Attributes that hold a list of URLs. */
static const char *const ss_url_list_attrs[] = {
	"srcset", "imagesrcset", "ping", "archive", NULL
};

/* Attributes removed whatever their value: srcdoc is a whole document;
 * the prefixes run code through the page's own framework (htmx, Alpine,
 * Vue, Angular, Knockout) if it loads one. */
static const char *const ss_drop_attrs[] = { "srcdoc", "data-bind", NULL };
static const char *const ss_drop_attr_prefixes[] = {
	"on", "hx-", "data-hx-", "x-", "v-", "ng-", "data-ng-", ":", "@",
	NULL
};

/* Raster types allowed in data: URLs (data_images = yes). */
static const char *const ss_data_types[] = {
	"image/png", "image/gif", "image/jpeg", "image/jpg", "image/webp",
	"image/avif", "image/bmp", NULL
};

static uint64_t ss_drop_content_sig, ss_drop_tag_sig, ss_rcdata_sig,
	ss_url_attrs_sig, ss_url_list_attrs_sig, ss_drop_attrs_sig,
	ss_data_types_sig;

static uint64_t ss_sig(const char *const *list)
{
	uint64_t sig = 0;

	for (; *list; list++)
		sig |= ss_sig_bit(*list, strlen(*list));
	return sig;
}

/* Before any instance exists, so that no two threads make them. */
__attribute__((constructor)) static void ss_sigs_make(void)
{
	ss_drop_content_sig = ss_sig(ss_drop_content);
	ss_drop_tag_sig = ss_sig(ss_drop_tag);
	ss_rcdata_sig = ss_sig(ss_rcdata);
	ss_url_attrs_sig = ss_sig(ss_url_attrs);
	ss_url_list_attrs_sig = ss_sig(ss_url_list_attrs);
	ss_drop_attrs_sig = ss_sig(ss_drop_attrs);
	ss_data_types_sig = ss_sig(ss_data_types);
}

/* ---- character references ------------------------------------------- */

/* Every named reference that decodes to ASCII (the HTML5 table has no
 * others), so that anything decoding to a URL or CSS character is seen;
 * an unknown name decodes to something non-ASCII, which is never part of
 * a scheme or keyword, the same verdict as keeping the '&'. */
static const struct { const char *name; const char *val; } ss_refs[] = {
	{ "Tab", "\t" }, { "NewLine", "\n" }, { "excl", "!" },
	{ "quot", "\"" }, { "QUOT", "\"" }, { "num", "#" },
	{ "dollar", "$" }, { "percnt", "%" }, { "amp", "&" },
	{ "AMP", "&" }, { "apos", "'" }, { "lpar", "(" }, { "rpar", ")" },
	{ "ast", "*" }, { "midast", "*" }, { "plus", "+" },
	{ "comma", "," }, { "period", "." }, { "sol", "/" },
	{ "colon", ":" }, { "semi", ";" }, { "lt", "<" }, { "LT", "<" },
	{ "equals", "=" }, { "gt", ">" }, { "GT", ">" }, { "quest", "?" },
	{ "commat", "@" }, { "lbrack", "[" }, { "lsqb", "[" },
	{ "bsol", "\\" }, { "rbrack", "]" }, { "rsqb", "]" },
	{ "Hat", "^" }, { "UnderBar", "_" }, { "lowbar", "_" },
	{ "DiacriticalGrave", "`" }, { "grave", "`" }, { "lbrace", "{" },
	{ "lcub", "{" }, { "VerticalLine", "|" }, { "verbar", "|" },
	{ "vert", "|" }, { "rbrace", "}" }, { "rcub", "}" },
	{ "fjlig", "fj" },
};

/* Decodes an attribute value (or, with md, a Markdown link destination:
 * backslash escapes too, and a reference that yields '&' is decoded
 * again in case a renderer forgets to re-escape it).  Characters come
 * out one at a time; non-ASCII ones as some value >= 0x80. */
struct ss_dec {
	const char *s;
	size_t n, pos;
	int md;
	int pending; /* second character of fjlig, or -1 */
};

static void ss_dec_init(struct ss_dec *d, const char *s, size_t n, int md)
{
	d->s = s;
	d->n = n;
	d->pos = 0;
	d->md = md;
	d->pending = -1;
}

/* The reference after an '&' at d->pos - 1: its value, with d->pos moved
 * past it, or -1 (d->pos unchanged) when there is none. */
static int ss_charref(struct ss_dec *d)
{
	const char *s = d->s;
	size_t i = d->pos, n = d->n, k, j;

	if (i < n && s[i] == '#') {
		unsigned long v = 0;
		int hex = 0, digits = 0;

		i++;
		if (i < n && (s[i] == 'x' || s[i] == 'X')) {
			hex = 1;
			i++;
		}
		for (; i < n && (hex ? ss_xdigit((unsigned char)s[i])
				     : ss_digit((unsigned char)s[i])); i++) {
			int c = ss_lower((unsigned char)s[i]);

			c = ss_digit(c) ? c - '0' : c - 'a' + 10;
			v = v * (hex ? 16 : 10) + (unsigned long)c;
			if (v > 0x10FFFF)
				v = 0x110000; /* saturate */
			digits = 1;
		}
		if (!digits)
			return -1;
		if (i < n && s[i] == ';')
			i++;
		d->pos = i;
		if (v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
			return 0xFFFD;
		/* 0x80-0x9F map to windows-1252, never to ASCII. */
		return (int)v;
	}
	for (k = i; k < n && k - i < 32 &&
	     (ss_alpha((unsigned char)s[k]) || ss_digit((unsigned char)s[k]));
	     k++)
		;
	if (k == i || k >= n || s[k] != ';')
		return -1;
	for (j = 0; j < sizeof ss_refs / sizeof ss_refs[0]; j++)
		if (ss_refs[j].name[0] == s[i] &&
		    strlen(ss_refs[j].name) == k - i &&
		    !memcmp(ss_refs[j].name, s + i, k - i)) {
			d->pos = k + 1;
			if (ss_refs[j].val[1])
				d->pending = (unsigned char)ss_refs[j].val[1];
			return (unsigned char)ss_refs[j].val[0];
		}
	return -1;
}

/* The next decoded character, or -1 at the end. */
static int ss_dec_next(struct ss_dec *d)
{
	int c, r;

	if (d->pending >= 0) {
		c = d->pending;
		d->pending = -1;
		return c;
	}
	if (d->pos >= d->n)
		return -1;
	c = (unsigned char)d->s[d->pos++];
	if (d->md && c == '\\' && d->pos < d->n &&
	    ss_punct((unsigned char)d->s[d->pos]))
		return (unsigned char)d->s[d->pos++];
	if (c != '&')
		return c;
	r = ss_charref(d);
	if (r < 0)
		return '&';
	while (r == '&' && d->md) {
		int again = ss_charref(d);

		if (again < 0)
			break;
		r = again;
	}
	return r;
}

/* ---- URL schemes ------------------------------------------------------ */

/* Follows the URL parser over decoded characters: leading C0 controls
 * and spaces are skipped, tab/LF/CR are ignored everywhere, and a scheme
 * is a letter, then letters, digits, '+', '-', '.', then ':'. */
enum { SS_U_LEAD, SS_U_SCHEME, SS_U_PEEK, SS_U_DATA, SS_U_OK, SS_U_BAD };

struct ss_url {
	int st;
	size_t k;
	char b[SS_SCHEME_MAX + 1];
};

static void ss_url_init(struct ss_url *u)
{
	u->st = SS_U_LEAD;
	u->k = 0;
}

static int ss_scheme_ok(const struct ss *cf, const char *b, size_t k)
{
	size_t i;

	if (k > SS_SCHEME_MAX)
		return 0;
	for (i = 0; i < cf->nschemes; i++)
		if (strlen(cf->schemes[i]) == k &&
		    !memcmp(cf->schemes[i], b, k))
			return 1;
	return 0;
}

static int ss_url_feed(const struct ss *cf, struct ss_url *u, int c)
{
	switch (u->st) {
	case SS_U_LEAD:
		if (c >= 0 && c <= 0x20)
			return u->st;
		u->st = SS_U_SCHEME;
		/* fall through */
	case SS_U_SCHEME:
		if (c == '\t' || c == '\n' || c == '\r')
			return u->st;
		if (c == ':' && u->k) {
			if (ss_scheme_ok(cf, u->b, u->k))
				u->st = SS_U_OK;
			else if (cf->data_images && u->k == 4 &&
				 !memcmp(u->b, "data", 4)) {
				u->st = SS_U_DATA;
				u->k = 0;
			} else
				u->st = SS_U_PEEK;
		} else if (c < 0x80 && (u->k ? ss_alpha(c) || ss_digit(c) ||
					c == '+' || c == '-' || c == '.'
					: ss_alpha(c))) {
			if (u->k < SS_SCHEME_MAX)
				u->b[u->k] = (char)ss_lower(c);
			u->k += u->k <= SS_SCHEME_MAX;
		} else
			u->st = SS_U_OK; /* no scheme: a relative URL */
		return u->st;
	case SS_U_PEEK:
		/* "std::string", "Foo::bar": a namespace, not a URL to
		 * fear.  No script scheme can follow with ':' (a script
		 * cannot start with one; nor can a data: media type). */
		if (c == '\t' || c == '\n' || c == '\r')
			return u->st;
		u->st = c == ':' ? SS_U_OK : SS_U_BAD;
		return u->st;
	case SS_U_DATA:
		if (c == '\t' || c == '\n' || c == '\r')
			return u->st;
		if (c == ';' || c == ',') {
			u->st = ss_in(u->b, u->k, ss_data_types) ? SS_U_OK
								 : SS_U_BAD;
		} else if (u->k >= SS_SCHEME_MAX || c < 0 || c >= 0x80) {
			u->st = SS_U_BAD;
		} else
			u->b[u->k++] = (char)ss_lower(c);
		return u->st;
	default:
		return u->st;
	}
}

/* At the end of the URL: no colon means no scheme. */
static int ss_url_end(struct ss_url *u)
{
	if (u->st == SS_U_LEAD || u->st == SS_U_SCHEME)
		u->st = SS_U_OK;
	else if (u->st == SS_U_DATA || u->st == SS_U_PEEK)
		u->st = SS_U_BAD;
	return u->st;
}

/* Whether the URL in s[0..n) has a scheme the instance refuses.  *cut is
 * then the offset just past the scheme's ':', so a Markdown destination
 * can lose its scheme and become a harmless relative URL. */
static int ss_url_bad(const struct ss *cf, const char *s, size_t n, int md,
		      size_t *cut)
{
	struct ss_dec d;
	struct ss_url u;
	int c, st = SS_U_LEAD;

	ss_dec_init(&d, s, n, md);
	ss_url_init(&u);
	*cut = 0;
	while ((c = ss_dec_next(&d)) >= 0) {
		int was = u.st;

		st = ss_url_feed(cf, &u, c);
		if (was == SS_U_SCHEME && st != SS_U_SCHEME)
			*cut = d.pos;
		if (st == SS_U_OK || st == SS_U_BAD)
			break;
	}
	if (c < 0)
		st = ss_url_end(&u);
	return st == SS_U_BAD;
}

/* Same for a list of URLs (srcset, ping): every word is checked. */
static int ss_url_list_bad(const struct ss *cf, const char *s, size_t n)
{
	struct ss_dec d;
	struct ss_url u;
	int c;

	ss_dec_init(&d, s, n, 0);
	ss_url_init(&u);
	while ((c = ss_dec_next(&d)) >= 0) {
		if ((c >= 0 && c <= 0x20) || c == ',') {
			if (ss_url_end(&u) == SS_U_BAD)
				return 1;
			ss_url_init(&u);
			continue;
		}
		if (ss_url_feed(cf, &u, c) == SS_U_BAD)
			return 1;
	}
	return ss_url_end(&u) == SS_U_BAD;
}

/* ---- style attributes -------------------------------------------------- */

/* CSS that can load or run something: IE's expression() and behaviors,
 * Mozilla bindings, script URLs, and any url()/image() (loads, tracking).
 * Escapes and comments are refused outright: they only hide keywords. */
static const char *const ss_css_bad[] = {
	"expression", "script", "url(", "image(", "image-set(", "src(",
	"element(", "paint(", "cross-fade(", "behavior", "binding",
	"import", "\\", "/*", NULL
};

/* The last characters of ss_css_bad's strings (ASCII): a window can end
 * in one of them only after one of these.  Made as the module loads. */
static uint64_t ss_css_last[2];

__attribute__((constructor)) static void ss_css_make(void)
{
	for (const char *const *b = ss_css_bad; *b; b++) {
		unsigned c = (unsigned char)(*b)[strlen(*b) - 1];

		ss_css_last[c >> 6 & 1] |= 1ull << (c & 63);
	}
}

static int ss_style_bad(const char *s, size_t n)
{
	struct ss_dec d;
	char win[16];
	size_t w = 0;
	int c;

	ss_dec_init(&d, s, n, 0);
	while ((c = ss_dec_next(&d)) >= 0) {
		size_t i;

		if (c >= 0 && c <= 0x20)
			continue; /* CSS ignores it inside most tokens */
		if (w == sizeof win) {
			memmove(win, win + 1, sizeof win - 1);
			w--;
		}
		win[w++] = (char)(c < 0x80 ? ss_lower(c) : 0x7f);
		c = (unsigned char)win[w - 1];
		if (!(ss_css_last[c >> 6] >> (c & 63) & 1))
			continue;
		for (i = 0; ss_css_bad[i]; i++) {
			size_t k = strlen(ss_css_bad[i]);

			if (k <= w && !memcmp(win + w - k, ss_css_bad[i], k))
				return 1;
		}
	}
	return 0;
}

/* ---- output ------------------------------------------------------------ */

/* The output is built lazily: until the first edit nothing is copied,
 * and an unchanged text costs no allocation. */
struct ss_out {
	const char *s;
	size_t n;
	gs_buf *b;
	size_t done;          /* s[0..done) is accounted for */
	int changed;
	int err;
	unsigned long count;
	/* Per element with an end tag to find: from where on there is
	 * none (0: not known yet), so that many unclosed "<script>" cost
	 * one search, not one each. */
	size_t noend[SS_NENDS];
};

/* Copies s[done..upto) and drops s[upto..skip). */
static void ss_cut(struct ss_out *o, size_t upto, size_t skip)
{
	/* at the first edit, room for the whole text: doubling from
	 * nothing copied a 64 KiB one about twice over */
	if (!o->changed && !o->err &&
	    gs_buf_reserve(o->b, o->n + o->n / 16 + 64) < 0)
		o->err = GS_ENOMEM;
	o->changed = 1;
	if (!o->err && gs_buf_append(o->b, o->s + o->done, upto - o->done) < 0)
		o->err = GS_ENOMEM;
	o->done = skip;
}

static void ss_put(struct ss_out *o, const char *str)
{
	if (!o->err && gs_buf_puts(o->b, str) < 0)
		o->err = GS_ENOMEM;
}

/* Replaces the '<' at p with "&lt;". */
static void ss_escape_lt(struct ss_out *o, size_t p)
{
	ss_cut(o, p, p + 1);
	ss_put(o, "&lt;");
	o->count++;
}

/* Escapes '<' (and '>' when gt) in s[a..b), counting one edit if any. */
static void ss_escape_range(struct ss_out *o, size_t a, size_t b, int gt)
{
	size_t i;
	int any = 0;

	for (i = a; i < b; i++) {
		if (o->s[i] == '<' || (gt && o->s[i] == '>')) {
			ss_cut(o, i, i + 1);
			ss_put(o, o->s[i] == '<' ? "&lt;" : "&gt;");
			any = 1;
		}
	}
	o->count += (unsigned long)any;
}

/* A construct the text ends inside (a tag cut off, a comment never
 * closed): a browser would hide the rest, and text appended later could
 * complete it.  Everything from its '<' on becomes text, and no '<' is
 * left to rescan (which would make such texts quadratic). */
static size_t ss_open_at_end(struct ss_out *o, size_t p)
{
	ss_escape_range(o, p, o->n, 0);
	return o->n;
}

static int ss_finish(struct ss_out *o)
{
	if (o->changed && !o->err) {
		ss_cut(o, o->n, o->n);
		if (!o->err && gs_buf_append(o->b, "", 0) < 0)
			o->err = GS_ENOMEM;
	}
	return o->err ? o->err : o->changed;
}

/* ---- tags ------------------------------------------------------------- */

enum { SS_E_DELETE, SS_E_ESCAPE };

struct ss_edit {
	size_t a, b;
	int kind;
};

struct ss_tag {
	size_t start, end;        /* '<' .. one past '>' */
	int endtag;
	size_t name, name_end;
	size_t nedits;
	int overflow;
	struct ss_edit edits[SS_MAX_EDITS];
	size_t ninner;            /* '<' in the tag's or attributes' names */
	size_t inner[SS_MAX_INNER + 1];
};

static void ss_edit(struct ss_tag *t, size_t a, size_t b, int kind)
{
	if (t->nedits == SS_MAX_EDITS) {
		t->overflow = 1;
		return;
	}
	t->edits[t->nedits].a = a;
	t->edits[t->nedits].b = b;
	t->edits[t->nedits].kind = kind;
	t->nedits++;
}

/* Remembers each '<' in a name s[a..b), to be judged once the tag is
 * complete (a '<' in a value is simply escaped: the value is the same to
 * the DOM, and no other parser can find a tag there). */
static void ss_note_inner(struct ss_tag *t, const char *s, size_t a,
			  size_t b)
{
	for (; a < b; a++)
		if (s[a] == '<' && t->ninner <= SS_MAX_INNER)
			t->inner[t->ninner++] = a;
}

/* Decides one attribute: name s[ns..ne), value s[vs..ve) (has_value),
 * the whole attribute ending at `end`. */
static void ss_attr(const struct ss *cf, const char *s, size_t n,
		    struct ss_tag *t, size_t ns, size_t ne, int has_value,
		    size_t vs, size_t ve, size_t end)
{
	const char *name = s + ns, *v = s + vs;
	size_t len = ne - ns, vlen = has_value ? ve - vs : 0, cut;
	int drop = 0, i;

	for (i = 0; ss_drop_attr_prefixes[i]; i++)
		if (ss_iprefix(name, len, ss_drop_attr_prefixes[i]))
			drop = 1;
	if (!drop && len <= SS_NAME_MAX) {
		if (ss_in(name, len, ss_drop_attrs))
			drop = 1;
		else if (ss_ieq(name, len, "style"))
			drop = ss_style_bad(v, vlen);
		else if (ss_in(name, len, ss_url_attrs))
			drop = ss_url_bad(cf, v, vlen, 0, &cut);
		else if (ss_in(name, len, ss_url_list_attrs))
			drop = ss_url_list_bad(cf, v, vlen);
	}
	if (drop) {
		size_t a = ns;

		/* Take the whitespace before it too when what follows is
		 * whitespace or '>', which still separates the neighbours. */
		if (end < n && (ss_ws((unsigned char)s[end]) || s[end] == '>'))
			while (a > t->name_end &&
			       ss_ws((unsigned char)s[a - 1]))
				a--;
		ss_edit(t, a, end, SS_E_DELETE);
		return;
	}
	ss_note_inner(t, s, ns, ne);
	if (ss_has(v, vlen, SS_C_LT | SS_C_GT))
		ss_edit(t, vs, ve, SS_E_ESCAPE);
}

/* Tokenizes the tag whose '<' is at p (followed by a letter, or by '/'
 * and a letter) as the HTML5 tag, attribute name and attribute value
 * states do, recording the edits its attributes need.  Returns 1 when
 * the tag is closed by '>', 0 when the text ends inside it. */
static int ss_parse_tag(const struct ss *cf, const char *s, size_t n,
			size_t p, struct ss_tag *t)
{
	size_t i = p + 1;

	t->start = p;
	t->end = 0;
	t->nedits = 0;
	t->overflow = 0;
	t->ninner = 0;
	t->endtag = s[i] == '/';
	i += (size_t)t->endtag;
	t->name = i;
	while (i < n && !(ss_cls[(unsigned char)s[i]] &
			  (SS_C_WS | SS_C_SLASH | SS_C_GT)))
		i++;
	t->name_end = i;
	ss_note_inner(t, s, t->name, i);
	for (;;) {
		size_t ns, ne, vs = 0, ve = 0, end, j;
		int has_value = 0;

		/* before attribute name */
		while (i < n && ss_ws((unsigned char)s[i]))
			i++;
		if (i >= n)
			return 0;
		if (s[i] == '>') {
			t->end = i + 1;
			return 1;
		}
		if (s[i] == '/') { /* self-closing start tag state */
			i++;
			if (i < n && s[i] == '>') {
				t->end = i + 1;
				return 1;
			}
			continue;
		}
		/* attribute name: a leading '=' belongs to it */
		ns = i;
		if (s[i] == '=')
			i++;
		while (i < n && !(ss_cls[(unsigned char)s[i]] &
				  (SS_C_WS | SS_C_SLASH | SS_C_GT | SS_C_EQ)))
			i++;
		ne = end = i;
		/* after attribute name */
		j = i;
		while (j < n && ss_ws((unsigned char)s[j]))
			j++;
		if (j < n && s[j] == '=') {
			j++;
			while (j < n && ss_ws((unsigned char)s[j]))
				j++;
			if (j >= n)
				return 0;
			has_value = 1;
			if (s[j] == '"' || s[j] == '\'') {
				const char *q = memchr(s + j + 1, s[j],
						       n - j - 1);

				if (!q)
					return 0;
				vs = j + 1;
				ve = (size_t)(q - s);
				end = ve + 1;
			} else if (s[j] == '>') {
				vs = ve = end = j; /* missing value */
			} else {
				vs = j;
				while (j < n && !(ss_cls[(unsigned char)s[j]] &
						  (SS_C_WS | SS_C_GT)))
					j++;
				if (j >= n)
					return 0;
				ve = end = j;
			}
			i = end;
		}
		ss_attr(cf, s, n, t, ns, ne, has_value, vs, ve, end);
	}
}

/* Finds the end tag of `name` at or after `from`, as RCDATA and RAWTEXT
 * end: "</" + name + whitespace, '/' or '>'.  Returns 1 with the end tag
 * parsed into *et, 0 when there is none or the text ends inside it.
 * `slot` indexes o->noend. */
static int ss_find_end(const struct ss *cf, struct ss_out *o, int slot,
		       size_t from, const char *name, size_t len,
		       struct ss_tag *et)
{
	const char *s = o->s;
	size_t i = from, n = o->n;

	if (o->noend[slot] && o->noend[slot] <= from)
		return 0;
	for (;; i++) {
		const char *lt = i < n ? memchr(s + i, '<', n - i) : NULL;

		if (!lt) {
			o->noend[slot] = from;
			return 0;
		}
		i = (size_t)(lt - s);
		if (i + 2 + len < n && s[i + 1] == '/') {
			size_t k;
			int match = 1;

			for (k = 0; k < len; k++)
				if (ss_lower((unsigned char)s[i + 2 + k]) !=
				    ss_lower((unsigned char)name[k]))
					match = 0;
			if (match && (ss_ws((unsigned char)s[i + 2 + len]) ||
				      s[i + 2 + len] == '/' ||
				      s[i + 2 + len] == '>')) {
				if (ss_parse_tag(cf, s, n, i, et))
					return 1;
				o->noend[slot] = from; /* the text ends in it */
				return 0;
			}
		}
	}
}

/* A tag that is also a Markdown autolink (<scheme:no-spaces>), which a
 * renderer turns into a link: its scheme is checked like any URL's. */
static int ss_autolink_bad(const struct ss *cf, const struct ss_tag *t,
			   const char *s)
{
	struct ss_url u;
	size_t i, k;

	for (k = t->name; k < t->name_end && s[k] != ':'; k++)
		if (!ss_alpha((unsigned char)s[k]) &&
		    !(k > t->name && (ss_digit((unsigned char)s[k]) ||
				      s[k] == '+' || s[k] == '-' ||
				      s[k] == '.')))
			return 0;
	if (k == t->name_end || k - t->name < 2 || k - t->name > 32)
		return 0;
	for (i = k; i < t->end - 1; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == '<')
			return 0;
	ss_url_init(&u);
	for (i = t->name; i < t->end - 1; i++) {
		int st = ss_url_feed(cf, &u, (unsigned char)s[i]);

		if (st == SS_U_OK)
			return 0;
		if (st == SS_U_BAD)
			return 1;
	}
	return ss_url_end(&u) == SS_U_BAD;
}

static int ss_special(const char *name, size_t len)
{
	return ss_in(name, len, ss_drop_content) ||
	       ss_in(name, len, ss_drop_tag) || ss_in(name, len, ss_rcdata);
}

/* Whether what starts at the '<' at q, inside the tag `outer`, is
 * harmless to a parser that starts a tag there (a Markdown renderer sees
 * "<u8>" in "HashMap<String, Vec<u8>>" and "<script>" in
 * "<x<script>"): plain text, or a complete tag inside the outer one
 * that needs no removal. */
static int ss_inner_clean(const struct ss *cf, const char *s, size_t q,
			  const struct ss_tag *outer)
{
	struct ss_tag it;
	size_t i, n = outer->end; /* it must end inside the outer tag */
	int c = (unsigned char)s[q + 1];

	if (!ss_alpha(c) && !(c == '/' && q + 2 < n &&
			      ss_alpha((unsigned char)s[q + 2])))
		return c != '!' && c != '?' && c != '/';
	if (!ss_parse_tag(cf, s, n, q, &it) || it.overflow ||
	    ss_special(s + it.name, it.name_end - it.name) ||
	    (!it.endtag && ss_autolink_bad(cf, &it, s)))
		return 0;
	for (i = 0; i < it.nedits; i++)
		if (it.edits[i].kind == SS_E_DELETE)
			return 0;
	return 1;
}

/* Turns the noted '<' in names into edits: escaped unless clean, and
 * ignored inside attributes already deleted.  Edits are then sorted. */
static void ss_resolve_inner(const struct ss *cf, const char *s,
			     struct ss_tag *t)
{
	size_t i, j, nd = t->nedits;

	for (i = 0; i < t->ninner; i++) {
		size_t q = t->inner[i];
		int gone = 0;

		for (j = 0; j < nd; j++)
			if (t->edits[j].kind == SS_E_DELETE &&
			    q >= t->edits[j].a && q < t->edits[j].b)
				gone = 1;
		if (!gone && (t->ninner > SS_MAX_INNER ||
			      !ss_inner_clean(cf, s, q, t)))
			ss_edit(t, q, q + 1, SS_E_ESCAPE);
	}
	for (i = 1; i < t->nedits; i++) /* insertion sort: a few edits */
		for (j = i; j > 0 && t->edits[j - 1].a > t->edits[j].a; j--) {
			struct ss_edit e = t->edits[j];

			t->edits[j] = t->edits[j - 1];
			t->edits[j - 1] = e;
		}
}

static void ss_apply(struct ss_out *o, const struct ss_tag *t)
{
	size_t i;

	for (i = 0; i < t->nedits; i++) {
		const struct ss_edit *e = &t->edits[i];

		if (e->kind == SS_E_DELETE) {
			ss_cut(o, e->a, e->b);
			o->count++;
		} else
			ss_escape_range(o, e->a, e->b, 1);
	}
}

/* Handles the tag at p; returns where scanning goes on. */
static size_t ss_tag(const struct ss *cf, struct ss_out *o, size_t p)
{
	const char *s = o->s;
	size_t n = o->n, len;
	struct ss_tag t, et;
	const char *name;
	int k;

	if (!ss_parse_tag(cf, s, n, p, &t))
		return ss_open_at_end(o, p);
	name = s + t.name;
	len = t.name_end - t.name;
	ss_resolve_inner(cf, s, &t);
	if (t.overflow) {
		ss_cut(o, p, t.end);
		o->count++;
		return t.end;
	}
	if (t.endtag) {
		if (ss_in(name, len, ss_drop_content) ||
		    ss_in(name, len, ss_drop_tag)) {
			ss_cut(o, p, t.end);
			o->count++;
		} else
			ss_apply(o, &t);
		return t.end;
	}
	if (ss_autolink_bad(cf, &t, s) || ss_in(name, len, ss_drop_tag)) {
		ss_cut(o, p, t.end);
		o->count++;
		return t.end;
	}
	if ((k = ss_index(name, len, ss_drop_content)) >= 0) {
		if (!ss_find_end(cf, o, k, t.end, name, len, &et)) {
			/* Never closed: a browser would swallow the rest;
			 * keep the rest as text instead. */
			ss_escape_lt(o, p);
			return p + 1;
		}
		ss_cut(o, p, et.end);
		o->count++;
		return et.end;
	}
	if ((k = ss_index(name, len, ss_rcdata)) >= 0) {
		if (!ss_find_end(cf, o, SS_NENDS - 2 + k, t.end, name, len,
				 &et)) {
			ss_escape_lt(o, p);
			return p + 1;
		}
		ss_apply(o, &t);
		/* Text to a browser; still no '<' in case something
		 * downstream parses it as markup. */
		ss_escape_range(o, t.end, et.start, 0);
		return et.start;
	}
	ss_apply(o, &t);
	return t.end;
}

/* A comment-like construct (<!--, <!x, <?, </x) from p with its body
 * s[b..e) and its end: kept when nothing in it could be markup to
 * anyone, removed otherwise, escaped when it never closes. */
static size_t ss_comment_like(struct ss_out *o, size_t p, size_t b, size_t e,
			      size_t end)
{
	if (!end)
		return ss_open_at_end(o, p);
	if (memchr(o->s + b, '<', e - b)) {
		ss_cut(o, p, end);
		o->count++;
	}
	return end;
}

/* The comment starting "<!--" at p, ended as the comment states end it:
 * "<!-->", "<!--->", "-->" or "--!>", any dashes before the '>'. */
static size_t ss_comment(struct ss_out *o, size_t p)
{
	const char *s = o->s;
	size_t n = o->n, q = p + 4, i;

	if (q < n && s[q] == '>')
		return ss_comment_like(o, p, q, q, q + 1);
	if (q + 1 < n && s[q] == '-' && s[q + 1] == '>')
		return ss_comment_like(o, p, q, q, q + 2);
	for (i = q; i + 1 < n;) {
		const char *d = memchr(s + i, '-', n - i - 1);
		size_t j;

		if (!d)
			break;
		i = (size_t)(d - s);
		if (s[i + 1] != '-') {
			i++;
			continue;
		}
		j = i + 2;
		while (j < n && s[j] == '-')
			j++;
		if (j < n && s[j] == '>')
			return ss_comment_like(o, p, q, i, j + 1);
		if (j + 1 < n && s[j] == '!' && s[j + 1] == '>')
			return ss_comment_like(o, p, q, i, j + 2);
		i = j;
	}
	return ss_comment_like(o, p, q, n, 0);
}

/* Bogus comments, doctypes and (outside foreign content, which never
 * survives here) CDATA all end at the first '>'. */
static size_t ss_bogus(struct ss_out *o, size_t p, size_t b)
{
	const char *gt = memchr(o->s + b, '>', o->n - b);
	size_t e = gt ? (size_t)(gt - o->s) : o->n;

	return ss_comment_like(o, p, b, e, gt ? e + 1 : 0);
}

/* The markup starting with the '<' at p, as the data state sees it. */
static size_t ss_markup(const struct ss *cf, struct ss_out *o, size_t p)
{
	const char *s = o->s;
	size_t n = o->n;
	int c;

	if (p + 1 >= n) {
		/* A '<' at the very end is text, but the start of a tag
		 * once something is appended. */
		ss_escape_lt(o, p);
		return p + 1;
	}
	c = (unsigned char)s[p + 1];
	if (ss_alpha(c))
		return ss_tag(cf, o, p);
	if (c == '/') {
		if (p + 2 >= n) {
			ss_escape_lt(o, p);
			return p + 1;
		}
		if (ss_alpha((unsigned char)s[p + 2]))
			return ss_tag(cf, o, p);
		if (s[p + 2] == '>')
			return p + 3; /* "</>" is dropped by browsers */
		return ss_bogus(o, p, p + 2);
	}
	if (c == '!') {
		if (p + 3 < n && s[p + 2] == '-' && s[p + 3] == '-')
			return ss_comment(o, p);
		return ss_bogus(o, p, p + 2);
	}
	if (c == '?')
		return ss_bogus(o, p, p + 1);
	return p + 1; /* "a < b", "x <3 y": text */
}

/* One HTML round.  Returns 1 (result in out), 0 (unchanged) or < 0. */
static int ss_html_pass(const struct ss *cf, const char *s, size_t n,
			gs_buf *out, unsigned long *count)
{
	struct ss_out o = { .s = s, .n = n, .b = out };
	size_t p = 0;

	while (p < n && !o.err) {
		const char *lt = memchr(s + p, '<', n - p);

		if (!lt)
			break;
		p = ss_markup(cf, &o, (size_t)(lt - s));
	}
	*count += o.count;
	return ss_finish(&o);
}

/* ---- Markdown ----------------------------------------------------------- */

/* Whether the ']' at i closes a footnote label "[^...", which is not a
 * link and whose text may well start with "Note:". */
static int ss_footnote(const char *s, size_t i)
{
	size_t stop = i > SS_LABEL_MAX ? i - SS_LABEL_MAX : 0;

	while (i > stop) {
		i--;
		if (s[i] == '\n' || s[i] == ']')
			return 0;
		if (s[i] == '[')
			return s[i + 1] == '^';
	}
	return 0;
}

/* One Markdown round: every link or image destination "](dest" (spaces
 * allowed before '(' for lax renderers) and every reference definition
 * "]: dest", wherever it appears (a renderer may see Markdown where the
 * HTML tokenizer saw an attribute value), loses a refused scheme. */
static int ss_md_pass(const struct ss *cf, const char *s, size_t n,
		      gs_buf *out, unsigned long *count)
{
	struct ss_out o = { .s = s, .n = n, .b = out };
	size_t p = 0;

	while (p < n && !o.err) {
		const char *rb = memchr(s + p, ']', n - p);
		size_t i, j, cut;

		if (!rb)
			break;
		i = (size_t)(rb - s);
		p = i + 1;
		j = i + 1;
		while (j < n && (s[j] == ' ' || s[j] == '\t'))
			j++;
		if (j < n && s[j] == '(')
			j++;
		else if (j == i + 1 && j < n && s[j] == ':' &&
			 !ss_footnote(s, i))
			j++;
		else
			continue;
		while (j < n && ss_ws((unsigned char)s[j]))
			j++;
		if (j < n && s[j] == '<')
			j++;
		/* Loop: "javascript:javascript:x" loses both. */
		while (j < n && ss_url_bad(cf, s + j, n - j, 1, &cut) && cut) {
			ss_cut(&o, j, j + cut);
			o.count++;
			j += cut;
		}
		p = j > p ? j : p;
	}
	*count += o.count;
	return ss_finish(&o);
}

/* ---- modes ------------------------------------------------------------- */

static int ss_escape_all(const char *s, size_t n, gs_buf *out,
			 unsigned long *count)
{
	struct ss_out o = { .s = s, .n = n, .b = out };
	size_t i;

	for (i = 0; i < n; i++) {
		const char *rep;

		switch (s[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default: continue;
		}
		ss_cut(&o, i, i + 1);
		ss_put(&o, rep);
		o.count++;
	}
	*count += o.count;
	return ss_finish(&o);
}

/* Strips until a round changes nothing.  The result is in bufs[*which]
 * (*which is -1 when unchanged); returns 1 changed, 0 unchanged, < 0. */
static int ss_strip(const struct ss *cf, const char *s, size_t n,
		    gs_buf *bufs, int *which, unsigned long *count)
{
	const char *cur = s;
	size_t len = n;
	int w = 0, round, changed = 0;

	*which = -1;
	for (round = 0; round < SS_MAX_ROUNDS; round++) {
		int any = 0, pass;

		for (pass = 0; pass < 2; pass++) {
			int rc;

			gs_buf_reset(&bufs[w]);
			rc = pass ? ss_md_pass(cf, cur, len, &bufs[w], count)
				  : ss_html_pass(cf, cur, len, &bufs[w], count);
			if (rc < 0)
				return rc;
			if (rc > 0) {
				cur = bufs[w].data;
				len = bufs[w].len;
				*which = w;
				w ^= 1;
				any = changed = 1;
			}
		}
		if (!any)
			return changed;
	}
	/* Still changing: adversarial nesting.  Escape it all, which is
	 * safe by construction. */
	gs_buf_reset(&bufs[w]);
	{
		int rc = ss_escape_all(cur, len, &bufs[w], count);

		if (rc < 0)
			return rc;
		if (rc > 0)
			*which = w;
	}
	return 1;
}

/* ---- plugin ------------------------------------------------------------ */

static int ss_parse_schemes(gs_config *cfg, struct ss *cf, const char *v)
{
	const char *p = v;

	cf->nschemes = 0;
	while (*p) {
		size_t k = 0;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		while (p[k] && p[k] != ' ' && p[k] != '\t' && p[k] != ',')
			k++;
		if (k > SS_SCHEME_MAX || cf->nschemes == SS_MAX_SCHEMES) {
			gs_config_error(cfg, "schemes", "at most %d schemes of "
					"at most %d characters", SS_MAX_SCHEMES,
					SS_SCHEME_MAX);
			return GS_EINVAL;
		}
		for (size_t i = 0; i < k; i++) {
			int c = (unsigned char)p[i];

			if (!(i ? ss_alpha(c) || ss_digit(c) || c == '+' ||
			      c == '-' || c == '.' : ss_alpha(c))) {
				gs_config_error(cfg, "schemes", "'%.*s' is not "
						"a URL scheme", (int)k, p);
				return GS_EINVAL;
			}
			cf->schemes[cf->nschemes][i] = (char)ss_lower(c);
		}
		cf->schemes[cf->nschemes][k] = '\0';
		if (!strcmp(cf->schemes[cf->nschemes], "javascript") ||
		    !strcmp(cf->schemes[cf->nschemes], "vbscript") ||
		    !strcmp(cf->schemes[cf->nschemes], "data")) {
			gs_config_error(cfg, "schemes", "'%.*s' runs or "
					"embeds code and cannot be allowed",
					(int)k, p);
			return GS_EINVAL;
		}
		cf->nschemes++;
		p += k;
	}
	return GS_OK;
}

static int ss_create(gs_config *cfg, void **instance)
{
	struct ss *cf = gs_calloc(1, sizeof *cf);
	const char *schemes = NULL;
	int rc;

	if (!cf)
		return GS_ENOMEM;
	if ((rc = gs_config_enum(cfg, "mode", ss_modes, SS_STRIP,
				 &cf->mode)) < 0 ||
	    (rc = gs_config_bool(cfg, "data_images", 1,
				 &cf->data_images)) < 0 ||
	    (rc = gs_config_str(cfg, "schemes", "http https mailto tel ftp",
				&schemes)) < 0 ||
	    (rc = ss_parse_schemes(cfg, cf, schemes)) < 0) {
		gs_free(cf);
		return rc;
	}
	*instance = cf;
	return GS_OK;
}

static void ss_destroy(void *instance)
{
	gs_free(instance);
}

static gs_result ss_run(void *instance, gs_ctx *ctx)
{
	const struct ss *cf = instance;
	size_t i, nt = gs_text_count(ctx);

	for (i = 0; i < nt; i++) {
		gs_buf bufs[2] = { GS_BUF_INIT, GS_BUF_INIT };
		unsigned long count = 0;
		size_t len;
		const char *s = gs_text_get(ctx, i, &len);
		int rc, which = 0;

		if (cf->mode == SS_ESCAPE)
			rc = ss_escape_all(s, len, &bufs[0], &count);
		else
			rc = ss_strip(cf, s, len, bufs, &which, &count);
		if (rc > 0 && which >= 0)
			rc = gs_text_replace_buf(ctx, i, &bufs[which]);
		gs_buf_free(&bufs[0]);
		gs_buf_free(&bufs[1]);
		if (rc < 0) {
			gs_reject(ctx, "%s", gs_strerror(rc));
			return GS_RESULT_ERROR;
		}
		gs_count(ctx, count);
	}
	return GS_RESULT_OK;
}

GS_PLUGIN_EXPORT const gs_plugin gs_plugin_entry = {
	GS_PLUGIN_HEADER,
	.name = "script-strip",
	.description = "removes everything that would run script when the "
		       "text is rendered as HTML or Markdown",
	.version = "1.0",
	.phases = GS_PHASE_REQUEST | GS_PHASE_RESPONSE,
	.flags = GS_PLUGIN_MODIFIES,
	.count_unit = "removals",
	.create = ss_create,
	.request = ss_run,
	.response = ss_run,
	.destroy = ss_destroy,
};
