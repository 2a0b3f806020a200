/* SPDX-License-Identifier: MIT */
/*
 * email-redact - replaces e-mail addresses.
 *
 *   replacement = TEXT      what an address becomes (default "[EMAIL]")
 *   keep_domain = yes|no    keep the domain: "[EMAIL]@example.com"
 *                           (default no)
 *
 * It finds what mail software accepts (RFC 5322 addr-spec as used, RFC
 * 6531/6532 UTF-8): dot-atom local parts of every atext character,
 * quoted local parts, address literals [192.0.2.1] and [IPv6:...], and
 * internationalised or punycode domains.  A domain needs a dot and a
 * top-level label of two or more letters (or xn--), so "@mention",
 * "user@host", "pkg@1.2.3" and "logo@2x.png" are left alone.  An address
 * is replaced whole or not at all; punctuation around it stays.
 *
 * Hand-written scanner: memchr() jumps from '@' to '@', so text without
 * one costs a memchr, and the parser works outwards from each '@'.
 */
#include <guardstack/plugin.h>
#include <stdint.h>
#include <string.h>

#define MAX_LOCAL 256   /* RFC 5321 says 64 octets; generous for UTF-8 */
#define MAX_LABEL 63    /* code points per domain label */
#define MAX_DOMAIN 253  /* code points per domain */
#define MAX_LABELS 128
#define NONE ((size_t)-1)

struct em {
	char *replacement;
	size_t replen;
	int keep_domain;
};

/* ---- character classes ------------------------------------------------- */

static int is_digit(unsigned c)
{
	return c - '0' < 10;
}

static int is_alpha(unsigned c)
{
	return (c | 0x20) - 'a' < 26;
}

static int is_alnum(unsigned c)
{
	return is_digit(c) || is_alpha(c);
}

/* RFC 5322 atext, the characters of a dot-atom besides '.'. */
static int is_atext(unsigned c)
{
	if (is_alnum(c))
		return 1;
	switch (c) {
	case '!': case '#': case '$': case '%': case '&': case '\'':
	case '*': case '+': case '-': case '/': case '=': case '?':
	case '^': case '_': case '`': case '{': case '|': case '}':
	case '~':
		return 1;
	default:
		return 0;
	}
}

struct range {
	uint32_t lo, hi;
};

/* Spaces and punctuation outside ASCII: they end an address, as ',' and
 * ' ' do ("“a@b.com”", "a@b.com。").  Letters in these blocks (ª µ º
 * 々 〆 〇) are left out of the ranges. */
static const struct range punct[] = {
	{ 0x80, 0xA9 }, { 0xAB, 0xB4 }, { 0xB6, 0xB9 }, { 0xBB, 0xBF },
	{ 0xD7, 0xD7 }, { 0xF7, 0xF7 }, { 0x37E, 0x37E }, { 0x387, 0x387 },
	{ 0x55A, 0x55F }, { 0x589, 0x58A }, { 0x5BE, 0x5BE },
	{ 0x5C0, 0x5C0 }, { 0x5C3, 0x5C3 }, { 0x5C6, 0x5C6 },
	{ 0x5F3, 0x5F4 }, { 0x60C, 0x60D }, { 0x61B, 0x61B },
	{ 0x61D, 0x61F }, { 0x66A, 0x66D }, { 0x6D4, 0x6D4 },
	{ 0x964, 0x965 }, { 0xE4F, 0xE4F }, { 0xE5A, 0xE5B },
	{ 0x104A, 0x104B }, { 0x1360, 0x1368 }, { 0x1680, 0x1680 },
	{ 0x17D4, 0x17DA }, { 0x1800, 0x180A }, { 0x2000, 0x200B },
	{ 0x200E, 0x206F }, { 0x2E00, 0x2E7F }, { 0x3000, 0x3004 },
	{ 0x3008, 0x3020 }, { 0x3030, 0x3030 }, { 0x303D, 0x303D },
	{ 0x30FB, 0x30FB }, { 0xFD3E, 0xFD3F }, { 0xFE10, 0xFE1F },
	{ 0xFE30, 0xFE6F }, { 0xFEFF, 0xFEFF }, { 0xFF01, 0xFF0F },
	{ 0xFF1A, 0xFF20 }, { 0xFF3B, 0xFF40 }, { 0xFF5B, 0xFF65 },
	{ 0xFFF0, 0xFFFF },
};

/* Symbols, emoji and joiners: RFC 6532 lets them into a local part
 * ("I❤️CHOCOLATE@example.com") but IDNA keeps them out of domains. */
static const struct range symbol[] = {
	{ 0x200C, 0x200D }, { 0x20A0, 0x2BFF }, { 0xE000, 0xF8FF },
	{ 0xFE00, 0xFE0F }, { 0x1F000, 0x1FAFF }, { 0xE0000, 0xE01EF },
};

/* Scripts written without spaces between words.  Where one meets ASCII
 * letters inside a would-be address, the address ends: in "请联系john@
 * example.com获取" the Chinese is prose, not part of the address. */
static const struct range nospace[] = {
	{ 0xE00, 0xEFF }, { 0x1000, 0x109F }, { 0x1100, 0x11FF },
	{ 0x1780, 0x17FF }, { 0x2E80, 0x2FDF }, { 0x3005, 0x3007 },
	{ 0x3040, 0x30FF }, { 0x3100, 0x31FF }, { 0x3400, 0x4DBF },
	{ 0x4E00, 0x9FFF }, { 0xA000, 0xA4CF }, { 0xAC00, 0xD7AF },
	{ 0xF900, 0xFAFF }, { 0xFF00, 0xFFEF }, { 0x20000, 0x3FFFF },
};

#define NRANGES(r) (sizeof(r) / sizeof((r)[0]))

static int in(const struct range *r, size_t n, uint32_t cp)
{
	for (size_t i = 0; i < n; i++)
		if (cp >= r[i].lo && cp <= r[i].hi)
			return 1;
	return 0;
}

enum { CL_NEUTRAL, CL_LATIN, CL_NOSPACE };

/* Tracks the script of a run: returns 0 when cl breaks it (ASCII letters
 * next to a no-space script), else records cl. */
static int same_script(int *seen, int cl)
{
	if (cl == CL_NEUTRAL)
		return 1;
	if (*seen != CL_NEUTRAL && *seen != cl)
		return 0;
	*seen = cl;
	return 1;
}

/* Decodes the code point at s[i]; the text is valid UTF-8 (the core
 * checks), so the continuation bytes are there. */
static uint32_t decode(const unsigned char *s, size_t i, size_t *k)
{
	uint32_t c = s[i];

	if (c < 0x80) {
		*k = 1;
		return c;
	}
	if (c < 0xE0) {
		*k = 2;
		return (c & 0x1F) << 6 | (s[i + 1] & 0x3F);
	}
	if (c < 0xF0) {
		*k = 3;
		return (c & 0x0F) << 12 | (uint32_t)(s[i + 1] & 0x3F) << 6 |
		       (s[i + 2] & 0x3F);
	}
	*k = 4;
	return (c & 0x07) << 18 | (uint32_t)(s[i + 1] & 0x3F) << 12 |
	       (uint32_t)(s[i + 2] & 0x3F) << 6 | (s[i + 3] & 0x3F);
}

/* Class of a non-ASCII code point in a domain label (domain != 0) or a
 * local part: -1 when it may not appear there. */
static int cp_class(uint32_t cp, int domain)
{
	if (in(punct, NRANGES(punct), cp))
		return -1;
	if (in(symbol, NRANGES(symbol), cp))
		return domain ? -1 : CL_NEUTRAL;
	return in(nospace, NRANGES(nospace), cp) ? CL_NOSPACE : CL_NEUTRAL;
}

/* ---- domain ------------------------------------------------------------ */

/* End of an address literal [a.b.c.d] or [IPv6:...] at s[d], or 0. */
static size_t literal_end(const unsigned char *s, size_t d, size_t len)
{
	size_t i = d + 1, r = i, j;
	int parts = 0, colons = 0;

	while (r < len && r - i <= 64 && s[r] != ']')
		r++;
	if (r >= len || s[r] != ']')
		return 0;
	if (r - i > 5 && (s[i] | 0x20) == 'i' && (s[i + 1] | 0x20) == 'p' &&
	    (s[i + 2] | 0x20) == 'v' && s[i + 3] == '6' && s[i + 4] == ':') {
		for (j = i + 5; j < r; j++) {
			if (s[j] == ':')
				colons++;
			else if (!is_digit(s[j]) && s[j] != '.' &&
				 (unsigned)((s[j] | 0x20) - 'a') >= 6)
				return 0;
		}
		return colons >= 2 ? r + 1 : 0;
	}
	for (j = i;;) {
		unsigned v = 0, nd = 0;

		while (j < r && is_digit(s[j]) && nd < 4) {
			v = v * 10 + (s[j++] - '0');
			nd++;
		}
		if (nd == 0 || nd > 3 || v > 255)
			return 0;
		parts++;
		if (j == r)
			break;
		if (s[j] != '.' || parts == 4)
			return 0;
		j++;
	}
	return parts == 4 ? r + 1 : 0;
}

/* Whether a domain label can start at s[i]: a letter or digit. */
static int label_start(const unsigned char *s, size_t i, size_t len)
{
	size_t k;

	if (i >= len)
		return 0;
	if (s[i] < 0x80)
		return is_alnum(s[i]);
	return cp_class(decode(s, i, &k), 1) >= 0;
}

/* Whether s[a..b) can be a top-level label: two or more letters, or an
 * xn-- label.  Digits rule out version numbers ("pkg@1.2.3"). */
static int tld_ok(const unsigned char *s, size_t a, size_t b)
{
	size_t n = 0, k;

	if (b - a > 4 && (s[a] | 0x20) == 'x' && (s[a + 1] | 0x20) == 'n' &&
	    s[a + 2] == '-' && s[a + 3] == '-')
		return 1;
	for (size_t i = a; i < b; i += k, n++) {
		decode(s, i, &k);
		if (s[i] < 0x80 && !is_alpha(s[i]))
			return 0;
	}
	return n >= 2;
}

/* File name extensions that are not top-level domains: "logo@2x.png",
 * "styles@media.css" and "po/ca@valencia.po" are files. */
static int file_ext(const unsigned char *s, size_t a, size_t b)
{
	/* Fixed eight-byte entries: each test is one 64-bit compare. */
	static const char ext[][8] = {
		"png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico",
		"tif", "tiff", "js", "mjs", "cjs", "ts", "tsx", "jsx", "css",
		"scss", "json", "yaml", "yml", "toml", "ini", "cfg", "txt",
		"log", "csv", "tsv", "html", "htm", "xml", "pdf", "doc",
		"docx", "xls", "xlsx", "ppt", "pptx", "exe", "dll", "dylib",
		"lock", "tmp", "bak", "cpp", "hpp", "java", "class", "pyc",
		"po", "pot", "rb", "php", "sql", "tar", "gz", "tgz", "woff",
		"ttf", "map",
	};
	char low[8] = { 0 };

	if (b - a >= sizeof low)
		return 0;
	for (size_t i = a; i < b; i++)
		low[i - a] = (char)(s[i] | 0x20);
	for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
		if (!memcmp(low, ext[i], sizeof low))
			return 1;
	return 0;
}

/* End of the domain that starts at s[d], or 0 when there is none.  Labels
 * run while they may; a trailing '.' or '-' is punctuation, not domain.
 * When the last label cannot be a top-level one ("a@b.com.123"), earlier
 * labels are tried. */
static size_t domain_end(const unsigned char *s, size_t d, size_t len)
{
	size_t ends[MAX_LABELS], nl = 0, total = 0, i = d;

	if (d < len && s[d] == '[')
		return literal_end(s, d, len);
	if (!label_start(s, d, len))
		return 0;
	for (;;) {
		size_t ls = i, cps = 0, e, scripted = i;
		int seen = CL_NEUTRAL;

		while (i < len) {
			size_t k = 1;
			int cl;

			if (s[i] < 0x80) {
				if (!is_alnum(s[i]) && s[i] != '-')
					break;
				cl = is_alpha(s[i]) ? CL_LATIN : CL_NEUTRAL;
			} else if ((cl = cp_class(decode(s, i, &k), 1)) < 0) {
				break;
			}
			if (!same_script(&seen, cl)) {
				/* Digits before the change of script go
				 * with what follows, as a local part takes
				 * them ("例子.广告123john@"). */
				i = scripted;
				break;
			}
			i += k;
			if (cl != CL_NEUTRAL)
				scripted = i;
			if (++cps > MAX_LABEL)
				return 0;
		}
		for (e = i; e > ls && s[e - 1] == '-'; e--)
			cps--;
		ends[nl++] = e;
		total += cps + 1;
		if (total > MAX_DOMAIN + 1 || nl == MAX_LABELS)
			return 0;
		if (e != i || i >= len || s[i] != '.' ||
		    !label_start(s, i + 1, len))
			break;
		i++;
	}
	for (size_t k = nl - 1; k >= 1; k--) {
		if (tld_ok(s, ends[k - 1] + 1, ends[k]))
			return file_ext(s, ends[k - 1] + 1, ends[k]) ?
				       0 : ends[k];
	}
	return 0;
}

/* ---- local part -------------------------------------------------------- */

/* Start of the run of dot-atom characters (atext, '.', non-ASCII letters
 * and symbols) that ends at s[p], no lower than lim. */
static size_t run_start(const unsigned char *s, size_t p, size_t lim)
{
	int seen = CL_NEUTRAL;

	while (p > lim) {
		size_t j = p - 1, k;
		int cl;

		if (s[j] == '.') {
			seen = CL_NEUTRAL; /* scripts may change per atom */
			p = j;
			continue;
		}
		if (s[j] < 0x80) {
			if (!is_atext(s[j]))
				break;
			cl = is_alpha(s[j]) ? CL_LATIN : CL_NEUTRAL;
		} else {
			while (j > 0 && (s[j] & 0xC0) == 0x80)
				j--;
			if ((cl = cp_class(decode(s, j, &k), 0)) < 0)
				break;
		}
		if (!same_script(&seen, cl))
			break;
		p = j;
	}
	return p;
}

/* Whether s[0..n) contains r[0..rn) (rn > 0).  A quoted string that holds
 * a replacement spans an address redacted before: not a local part. */
static int contains(const unsigned char *s, size_t n, const char *r,
		    size_t rn)
{
	for (size_t i = 0; rn && i + rn <= n; i++)
		if (s[i] == (unsigned char)r[0] && !memcmp(s + i, r, rn))
			return 1;
	return 0;
}

/* Start of the quoted string whose closing quote is s[q], or NONE.  A
 * quote after an odd number of backslashes is escaped. */
static size_t quoted_start(const unsigned char *s, size_t q, size_t lim)
{
	size_t j;

	for (j = q; j > lim && s[j - 1] == '\\'; j--)
		;
	if ((q - j) & 1)
		return NONE;
	for (size_t i = q; i-- > lim;) {
		if (s[i] == '\n' || s[i] == '\r')
			return NONE;
		if (s[i] != '"')
			continue;
		for (j = i; j > lim && s[j - 1] == '\\'; j--)
			;
		if (!((i - j) & 1))
			return i;
	}
	return NONE;
}

/* Cuts what the dot-atom run s[p..a) picked up from around it: a URL
 * before the address ("https://host/u/john@..." keeps "john"), a
 * "key=" ("?email=john@..." keeps "john"; SRS and BATV addresses, whose
 * '=' follow no key, stay whole), and wrapping marks (** ` ' ~ | { }).
 * Only the marks are cut (cut == 0) when quoted strings follow. */
static size_t trim_local(const unsigned char *s, size_t p, size_t a,
			 size_t de, size_t len, int cut)
{
	size_t i, eq = NONE, k;

	for (i = p; cut && i + 1 < a; i++)
		if (s[i] == '/' && s[i + 1] == '/')
			break;
	if (cut && i + 1 < a) {
		for (i = a; i > p; i--)
			if (strchr("/?&=#", s[i - 1]))
				break;
		p = i;
	}
	for (i = p; cut && i < a; i++)
		if (s[i] == '=')
			eq = i;
	if (eq != NONE && eq + 1 < a) {
		for (k = eq; k > p && (is_alnum(s[k - 1]) || s[k - 1] == '_' ||
				       s[k - 1] == '-');
		     k--)
			;
		if (k < eq && (is_alpha(s[k]) || s[k] == '_') &&
		    (k == p || s[k - 1] == '?' || s[k - 1] == '&'))
			p = eq + 1;
	}
	while (p < a && (strchr(".'`*~|{}", s[p]) ||
			 (s[p] == '_' && de < len && s[de] == '_')))
		p++;
	return p;
}

/* Whether c can end a local part: then the '@' after it is worth a look. */
static int local_end(unsigned c)
{
	return is_atext(c) || c == '.' || c == '"' || c >= 0x80;
}

/* Start of the local part that ends at the '@' s[a], or NONE: dot-atoms
 * and quoted strings joined by dots, no lower than lo (the end of the
 * last replacement). */
static size_t local_start(const struct em *c, const unsigned char *s,
			  size_t a, size_t lo, size_t de, size_t len)
{
	size_t lim = a > MAX_LOCAL + 1 ? a - MAX_LOCAL - 1 : 0, p = a, q;
	int quote, quoted = 0, word = 0;

	if (lim < lo)
		lim = lo;
	quote = p > lim && s[p - 1] == '"';
	for (;;) {
		if (quote) {
			if ((q = quoted_start(s, p - 1, lim)) == NONE ||
			    contains(s + q, p - q, c->replacement, c->replen))
				break;
			p = q;
			quoted = 1;
			if (p <= lim || s[p - 1] != '.')
				break;
			quote = 0;
		} else {
			if ((q = run_start(s, p, lim)) == p)
				break;
			p = q;
			if (s[p] != '.' || p <= lim || s[p - 1] != '"')
				break;
			quote = 1;
		}
	}
	if (p == a || a - p > MAX_LOCAL)
		return NONE;
	/* Cut short by the last replacement ("x@a.io'y@b.io"): a second
	 * pass would see a longer local part, so take this one whole now. */
	if (!quoted && p == lo && lo > 0 && local_end(s[lo - 1]))
		return p;
	if (s[p] != '"')
		p = trim_local(s, p, a, de, len, !quoted);
	for (size_t i = p; i < a && !word; i++)
		word = is_alnum(s[i]) || s[i] >= 0x80;
	return word || quoted ? p : NONE;
}

/* ---- scanning ---------------------------------------------------------- */

/* Appends the redacted text to out once something matched; returns the
 * number of redactions (out untouched when 0) or GS_ENOMEM. */
/* A gs_rewrite_fn: appends the redacted text to out, returns the count. */
static long scan(void *inst, const char *text, size_t len, gs_buf *out)
{
	const struct em *c = inst;
	const unsigned char *s = (const unsigned char *)text, *hit;
	size_t from = 0, copied = 0;
	long n = 0;

	while (from < len && (hit = memchr(s + from, '@', len - from))) {
		size_t a = (size_t)(hit - s), de, ls;

		from = a + 1;
		if (a == copied || !local_end(s[a - 1]))
			continue;
		if (!(de = domain_end(s, a + 1, len)))
			continue;
		/* Not code ("a@np.linalg.inv(x)"), not the middle of
		 * "a@b.com@c.org" (whose address is "b.com@c.org"). */
		if (de < len && (s[de] == '(' || s[de] == '@'))
			continue;
		if ((ls = local_start(c, s, a, copied, de, len)) == NONE)
			continue;
		/* at the first, room for the whole text: doubling from
		 * nothing copied a 64 KiB one about twice over */
		if ((!n && gs_buf_reserve(out, len + len / 16 + 64) < 0) ||
		    gs_buf_append(out, text + copied, ls - copied) < 0 ||
		    gs_buf_append(out, c->replacement, c->replen) < 0 ||
		    (c->keep_domain &&
		     gs_buf_append(out, text + a, de - a) < 0))
			return GS_ENOMEM;
		n++;
		from = copied = de;
	}
	if (n && gs_buf_append(out, text + copied, len - copied) < 0)
		return GS_ENOMEM;
	return n;
}

/* ---- plugin ------------------------------------------------------------ */

static void em_destroy(void *inst)
{
	struct em *c = inst;

	gs_free(c->replacement);
	gs_free(c);
}

static int em_create(gs_config *cfg, void **out)
{
	struct em *c = gs_calloc(1, sizeof *c);
	const char *rep;
	int rc;

	if (!c)
		return GS_ENOMEM;
	if ((rc = gs_config_str(cfg, "replacement", "[EMAIL]", &rep)) < 0 ||
	    (rc = gs_config_bool(cfg, "keep_domain", 0,
				 &c->keep_domain)) < 0)
		goto fail;
	c->replen = strlen(rep);
	if (gs_utf8_check(rep, c->replen) != c->replen) {
		rc = gs_config_error(cfg, "replacement", "not valid UTF-8");
		goto fail;
	}
	/* "REDACTED@example.com" would be an address again. */
	if (c->keep_domain &&
	    (!c->replen || local_end((unsigned char)rep[c->replen - 1]))) {
		rc = gs_config_error(cfg, "keep_domain", "keep_domain = yes "
				     "needs a replacement that ends in a "
				     "character no address ends in, such "
				     "as ']'");
		goto fail;
	}
	if (!(c->replacement = gs_strndup(rep, c->replen))) {
		rc = GS_ENOMEM;
		goto fail;
	}
	*out = c;
	return GS_OK;
fail:
	em_destroy(c);
	return rc;
}

static gs_result em_run(void *inst, gs_ctx *ctx)
{
	return gs_text_rewrite(ctx, scan, inst);
}

GS_PLUGIN_EXPORT const gs_plugin gs_plugin_entry = {
	GS_PLUGIN_HEADER,
	.name = "email-redact",
	.description = "replaces e-mail addresses",
	.version = "1.0",
	.phases = GS_PHASE_REQUEST | GS_PHASE_RESPONSE,
	.flags = GS_PLUGIN_MODIFIES,
	.count_unit = "redactions",
	.create = em_create,
	.request = em_run,
	.response = em_run,
	.destroy = em_destroy,
};
