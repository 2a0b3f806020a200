/* SPDX-License-Identifier: MIT */
/*
 * test-ip-literals - input-patterns' prefilter parts on their own: the
 * key words literals.c derives from a pattern, that every rule of the
 * shipped rule set gets usable ones, the punctuation need.c finds every
 * match consumes, and that scan.c finds key words through the tricks the
 * views undo (case, spacing, separators, digits, fullwidth, look-alikes,
 * invisible and tag characters) and marks punctuation where a view would
 * hold it.
 *
 * Usage: test-ip-literals [RULES-FILE] | -p PATTERN
 * (default: $top_srcdir/etc/guardstack/injection.rules)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/input-patterns/ip.h"
#include "../tap.h"

/* Appends v[0..n) to out (of size cap), the first after `lead`, the
 * others after ','. */
static void join(char *out, size_t cap, const char *lead, char **v,
		 size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		strncat(out, i ? "," : lead, cap - strlen(out) - 1);
		strncat(out, v[i], cap - strlen(out) - 1);
	}
}

/* The key words of pat, sorted and joined with ',', or "-" for none;
 * with_pre: led by "PRE:", how far into a match they start (-1: no
 * bound), and "w" when a key word starts a word. */
static const char *keys_pre(const char *pat, int with_pre)
{
	static char out[4096];
	ip_lits l;
	size_t i, j;
	int rc = ip_lit_extract(pat, &l);

	if (rc <= 0)
		return rc < 0 ? "ENOMEM" : "-";
	for (i = 0; i < l.n; i++) /* sort for a stable answer */
		for (j = i + 1; j < l.n; j++)
			if (strcmp(l.v[j], l.v[i]) < 0) {
				char *t = l.v[i];
				l.v[i] = l.v[j];
				l.v[j] = t;
			}
	out[0] = '\0';
	if (with_pre)
		snprintf(out, sizeof out, "%s%ld:", l.wstart ? "w" : "",
			 l.pre == IP_PRE_UNKNOWN ? -1L : (long)l.pre);
	join(out, sizeof out, "", l.v, l.n);
	ip_lits_free(&l);
	return out;
}

/* The second key words of pat (sorted, joined with ','), led by
 * "SPAN:", the most letters a match holds, and followed by " unpaired:"
 * and the key words that need none, " third:" and the third key words;
 * "-" for none. */
static const char *keys2(const char *pat)
{
	static char out[4096];
	ip_lits l;
	int rc = ip_lit_extract(pat, &l);

	if (rc <= 0 || !l.n2) {
		if (rc > 0)
			ip_lits_free(&l);
		return rc < 0 ? "ENOMEM" : "-";
	}
	snprintf(out, sizeof out, "%s%zu:", l.wstart2 ? "w" : "", l.span);
	join(out, sizeof out, "", l.v2, l.n2);
	join(out, sizeof out, " unpaired:", l.vu, l.nu);
	join(out, sizeof out, " third:", l.v3, l.n3);
	ip_lits_free(&l);
	return out;
}

static const char *keys(const char *pat)
{
	return keys_pre(pat, 0);
}

/* Where pat's second key words lie next to its first in every match:
 * "after", "before", "either", or "-" when it has none; then, for third
 * key words, "/" and where they lie; then " SPAN2 SPAN3" (see
 * ip_lits) when with_spans. */
static const char *order2_spans(const char *pat, int with_spans)
{
	static char out[64];
	ip_lits l;
	int rc = ip_lit_extract(pat, &l), o, o3;
	size_t s2, s3;

	if (rc <= 0 || !l.n2) {
		if (rc > 0)
			ip_lits_free(&l);
		return rc < 0 ? "ENOMEM" : "-";
	}
	o = l.order2;
	o3 = l.n3 ? l.order3 : 2;
	s2 = l.span2;
	s3 = l.n3 ? l.span3 : 0;
	ip_lits_free(&l);
	snprintf(out, sizeof out, "%s%s",
		 o > 0 ? "after" : o < 0 ? "before" : "either",
		 o3 == 2 ? "" : o3 > 0 ? "/after" : o3 < 0 ? "/before"
		 : "/either");
	if (with_spans)
		snprintf(out + strlen(out), sizeof out - strlen(out),
			 " %zu %zu", s2, s3);
	return out;
}

static const char *order2(const char *pat)
{
	return order2_spans(pat, 0);
}

/* Whether pat's key words end a word in every match (ip_lits.wend):
 * "end", "-" for no claim, or "none" without key words. */
static const char *wend(const char *pat)
{
	ip_lits l;
	int rc = ip_lit_extract(pat, &l), w;

	if (rc <= 0)
		return rc < 0 ? "ENOMEM" : "none";
	w = l.wend;
	ip_lits_free(&l);
	return w ? "end" : "-";
}

static void extraction(void)
{
	is_str(keys("\\bignore\\s+previous\\b"), "ignoreprevious",
	       "spaces vanish: two words are one key");
	is_str(keys("IGNORE"), "ignore", "caseless: lower case keys");
	is_str(keys("forg[eo]t"), "forget,forgot", "a small class");
	is_str(keys("colou?r"), "color,colour", "an optional letter");
	is_str(keys("\\byou(?:\\s+are|'re)\\s+now"), "youarenow,yourenow",
	       "apostrophe and space stand for nothing");
	is_str(keys("h4ck3r"), "hacker", "digits read as letters");
	is_str(keys("(?<!not\\s)(?<![^\\n])ignore(?=\\s)"), "ignore",
	       "lookarounds add nothing");
	is_str(keys("(?:ignore|disregard)\\s+(?:all\\s+)?previous"),
	       "disregardallprevious,disregardprevious,"
	       "ignoreallprevious,ignoreprevious",
	       "alternatives and an optional word multiply");
	is_str(keys("(?:a|b)[\\w-]+\\s+instructions"), "instructions",
	       "an unknown part: the best set elsewhere");
	is_str(keys("\\Qsystem\\E\\s*:"), "system", "\\Q...\\E");
	is_str(keys("\\x49gnore"), "ignore", "\\x escapes");
	is_str(keys("(?i:dan)\\s+mode"), "danmode", "inline options");
	is_str(keys("ab(?:defg)+"), "defg", "at least once: kept");
	is_str(keys("xyzw(?:def)*uvw"), "xyzw", "a star breaks the chain");
	is_str(keys("[^a]bcd"), "bcd", "negated class is unknown");
	is_str(keys(".*"), "-", "nothing to key on");
	is_str(keys("a|bc"), "-", "keys shorter than three letters");
	is_str(keys("(?x) ignore"), "-", "extended mode is not parsed");
	is_str(keys("ab(c"), "-", "unbalanced: no keys");
	is_str(keys("\\d{3}-\\d{2}"), "-", "digits alone");
	is_str(keys("<\\|\\s*im_start\\s*\\|>"), "imstart",
	       "punctuation vanishes");
	/* where before the key word a match can start */
	is_str(keys_pre("\\bignore\\s+previous", 1), "w0:ignoreprevious",
	       "a leading key after \\b: matches start at it, at a word");
	is_str(keys_pre("ignore\\s+previous", 1), "0:ignoreprevious",
	       "no \\b: the key may start inside a word");
	is_str(keys_pre("\\b(?:ignore|forget)\\s+(?:all\\s+)*rules", 1),
	       "w0:forget,ignore", "\\b before a group of words");
	is_str(keys_pre("(?:\\bignore|forget)\\s+(?:all\\s+)*rules", 1),
	       "0:forget,ignore", "one branch without \\b: not a word start");
	is_str(keys_pre("\\b(?<!not\\s)ignore\\s+(?:all\\s+)*rules", 1),
	       "w0:ignore", "a lookbehind between \\b and the key");
	is_str(keys_pre("\\b@dmin\\s+(?:all\\s+)*rules", 1), "0:admin",
	       "a key starting with a symbol read as a letter");
	is_str(keys_pre("(?<![^\\n])\\s*#+\\s*system", 1), "w-1:system",
	       "after punctuation (#, spaces): a word start");
	is_str(keys_pre("<\\|\\s*(?:end|im_start)\\s*\\|>", 1),
	       "w3:end,imstart", "after <| and optional spaces");
	is_str(keys_pre("x?\\s*ending", 1), "2:ending,xending",
	       "after an optional word character: no claim");
	is_str(keys_pre("[-.]?ending", 1), "1:ending",
	       "after only an optional separator: as before it (none)");
	is_str(keys_pre("^system\\s*:", 1), "w0:system", "after ^");
	is_str(keys_pre("(?<!not\\s)\\s*#\\s*system", 1), "w3:system",
	       "lookbehinds count nothing, runs of space one");
	is_str(keys_pre("(?<![^\\n])\\s*dan\\s*:", 1), "w1:dan",
	       "after a lookbehind for a line start: a word start");
	is_str(keys_pre("(?:(?<![^\\n.!?;])\\s*|(?<=[.!?;]\\s))never", 1),
	       "w1:never", "after either of two such lookbehinds");
	is_str(keys_pre("(?<![^a])dan", 1), "0:dan",
	       "a lookbehind that lets a letter before: no claim");
	is_str(keys_pre("(?<![^\\n\\w])dan", 1), "0:dan",
	       "... nor one that lets any word character before");
	is_str(keys_pre("(?<=x\\s)dan", 1), "0:dan",
	       "a lookbehind that holds a word character: no claim");
	is_str(keys_pre("\\bai\\s+(?:[\\w-]{1,40}\\s+){0,2}?dan", 1),
	       "w85:dan", "after words that each end with a space");
	is_str(keys_pre("x(?:[\\w-]{1,40}\\s+){0,2}?dan", 1), "83:dan",
	       "... that may be none, after a letter: no claim");
	is_str(keys_pre("(?:\\byou\\s+now|\\bnow\\s+you)", 1),
	       "w0:nowyou,younow", "\\b inside the group that starts the key");
	is_str(keys_pre("(?:the\\s+)?instructions", 1),
	       "4:instructions,theinstructions", "an optional lead word");
	is_str(keys_pre("[^x]{0,4}disregard", 1), "4:disregard",
	       "a bounded unknown before the key");
	is_str(keys_pre("\\w+\\s+disregard", 1), "w-1:disregard",
	       "an unbounded one");
	is_str(keys_pre("(?:a.|bbx)\\s*zzzz", 1), "4:zzzz",
	       "the longest alternative counts");
	is_str(keys("instructions?|instr"), "instr",
	       "a key that starts with another adds nothing");

	/* second key words: in another part of every match, with the
	 * most letters a match holds */
	is_str(keys2("\\bignore\\s+(?:all\\s+)?previous\\s+instructions"),
	       "-", "an exact rule needs no second key words");
	is_str(keys2("\\b(?:ignore|forget)\\s+[\\w'-]{1,40}\\s+"
		     "(?:instructions|rules)"), "w58:instructions,rules",
	       "second key words after a bounded word: 6 + 40 + 12 letters");
	is_str(keys2("\\bignore\\s+[\\w'-]+\\s+instructions"), "-",
	       "no bound on the letters of a match: none");
	is_str(keys2("\\bignore\\s*(?:\\s*(?:all|any))*\\s*instructions"),
	       "-", "a repeat of words without bound: none");
	is_str(keys2("\\bignore\\s+\\d+\\s+instructions"), "-",
	       "digits are letters in the stream: \\d+ has no bound");
	is_str(keys2("\\bignore\\s+.{0,20}\\s+instructions"),
	       "w38:instructions", "any character may be a letter");
	is_str(keys2("\\bignore\\s{1,99}[,;:]{0,50}[\\w-]{1,4}\\s+"
		     "instructions"), "w22:instructions",
	       "space and punctuation hold no letters");
	is_str(keys2("\\b(?:ignore\\s+[\\w-]{1,10}\\s+rules|overrideall)"),
	       "w21:rules unpaired:overrideall",
	       "an alternative without a second part: its key words need "
	       "none");
	is_str(keys_pre("\\bact\\s+[\\w-]{1,9}\\s+(?:unrestricted|"
			"free\\s+[\\w-]{1,9}\\s+rules)", 1),
	       "w14:free,unrestricted", "a common word loses the first set...");
	is_str(keys2("\\bact\\s+[\\w-]{1,9}\\s+(?:unrestricted|"
		     "free\\s+[\\w-]{1,9}\\s+rules)"), "w30:act",
	       "... and, from another part, pairs every key word");
	/* third key words: a rule that is one sequence, from a third part */
	is_str(keys2("\\bignore\\s+[\\w-]{1,10}\\s+your\\s+[\\w-]{1,10}\\s+"
		     "instructions"), "w42:instructions third:your",
	       "three parts: a third key word");
	is_str(keys2("\\bignore\\s+[\\w-]{1,10}\\s+your\\s+[\\w-]{1,10}\\s+"
		     "instructions|\\bforget\\s+it"),
	       "w42:instructions unpaired:forgetit",
	       "... not with alternatives at the top");
	is_str(keys2("\\bignore\\s+(?:[\\w-]{1,10}\\s+)?(?:your\\s+)?"
		     "[\\w-]{1,10}\\s+instructions"), "w42:instructions",
	       "... nor from an optional part");
	/* "w": every match holds a second key word that starts a word */
	is_str(keys2("\\bignore\\s*[\\w-]{0,10}\\s*instructions"),
	       "28:instructions", "second key words maybe inside a word");
	is_str(keys2("\\bignore\\s+[\\w-]{1,10}rules"), "21:rules",
	       "... right after word characters");
	is_str(keys2("\\bignore\\s+[\\w-]{1,10}\\s+(?:\\brules|x?laws)"),
	       "21:laws,rules,xlaws", "... in one alternative");
	is_str(keys2("\\bignore\\s+[\\w-]{1,10}\\s+(?:\\brules|\\blaws)"),
	       "w21:laws,rules", "... in none");
	/* the order of the first and second key words in every match */
	is_str(order2("\\b(?:ignore|forget)\\s+[\\w'-]{1,40}\\s+"
		      "(?:instructions|rules)"), "after",
	       "order: the second key words from a later part");
	is_str(order2("\\bact\\s+[\\w-]{1,9}\\s+(?:unrestricted|"
		      "free\\s+[\\w-]{1,9}\\s+rules)"), "before",
	       "order: ... from an earlier part");
	is_str(order2("(?:\\bignore\\s+[\\w-]{1,10}\\s+rules|"
		      "\\brules\\s+[\\w-]{1,10}\\s+ignore)"), "either",
	       "order: alternatives that differ");
	is_str(order2("(?:\\bignore\\s+[\\w-]{1,10}\\s+rules|"
		      "\\bforget\\s+[\\w-]{1,10}\\s+laws)"), "after",
	       "order: alternatives that agree");
	is_str(order2("(?:\\brules\\s+[\\w-]{1,10}\\s+ignore)\\s+"
		      "[\\w-]{1,5}"), "before",
	       "order: a group's own pair, kept as the rule's");
	is_str(order2("(?:\\brules\\s+[\\w-]{1,10}\\s+ignore|overrideall)"
		      "\\s+[\\w-]{1,5}"), "before",
	       "order: ... with key words that need none");
	is_str(order2("(?:\\brules\\s+[\\w-]{1,10}\\s+ignore){1,3}"), "before",
	       "order: a repeat's, as its atom's");
	is_str(order2("\\bignore\\s+[\\w-]{1,10}\\s+your\\s+[\\w-]{1,10}\\s+"
		      "instructions"), "after/after",
	       "order: a third key word's, from a later part");
	is_str(order2("\\brules\\s+[\\w-]{1,10}\\s+your\\s+"
		      "[\\w-]{1,10}\\s+disregarding"), "before/before",
	       "order: ... from an earlier part");
	/* key words that end a word in every match */
	is_str(wend("\\bjailbroken\\b"), "end", "end: a \\b after the key word");
	is_str(wend("\\bjailbroken"), "-", "end: not at the rule's end");
	is_str(wend("\\bjailbroken_\\b"), "-", "end: not after _ (a word character)");
	is_str(wend("\\bjailbroken\\s+[\\w-]{1,20}"), "end",
	       "end: white space the rule needs, then anything");
	is_str(wend("\\bjailbroken\\s*[\\w-]{1,20}"), "-",
	       "end: not where the white space may be absent");
	is_str(wend("\\bjailbroken\\s+now"), "-",
	       "end: a key word that goes on over the space ends with it");
	is_str(wend("\\b(?:two|both)\\s+(?:ways|responses|answers)\\b"
		    "[^\\n]{0,40}\\bdan"), "end",
	       "end: a group of words, then \\b (dual-answer's shape)");
	is_str(wend("\\bignorier(?:e|en|st)?\\b"), "-",
	       "end: not when a key word stands for longer ones");
	is_str(wend("\\bjailbroken(?=\\s)"), "-",
	       "end: a lookahead is not read for it");
	is_str(wend("\\babcdefghijabcdefghijabcdefghijabcdefghij"
		    "abcdefghijxyz\\b"), "-", "end: not for a key word cut short");
	/* how far apart: the letters of the two parts and those between */
	is_str(order2_spans("\\bignore\\s+[\\w-]{1,10}\\s+your\\s+"
			    "[\\w-]{1,10}\\s+instructions", 1),
	       "after/after 42 20",
	       "span: first to second, the whole; first to third, 6+10+4");
	is_str(order2_spans("\\bignore\\s+[\\w-]{1,10}\\s+instructions"
			    "\\s+[\\w-]{1,20}\\s+regardless", 1),
	       "after/after 28 58",
	       "span: not the parts after both; the third's, 6+10+12+20+10");
	is_str(order2_spans("(?:\\bignore\\s+[\\w-]{1,4}\\s+rules|"
			    "\\bforget\\s+[\\w-]{1,9}\\s+rules)\\s+"
			    "[\\w-]{1,30}", 1), "after 20 0",
	       "span: a group's own pair, its branches' largest");
}

/* The punctuation need.c says every match of pat consumes, in code
 * order, or "none". */
static const char *needs(const char *pat)
{
	static char out[130];
	uint64_t m[2];
	int c, n = 0;

	if (!ip_need_extract(pat, m))
		return m[0] | m[1] ? "a set, yet 0" : "none";
	for (c = 0; c < 128; c++)
		if (m[c >> 6] >> (c & 63) & 1)
			out[n++] = (char)c;
	out[n] = '\0';
	return out;
}

static void needing(void)
{
	is_str(needs("<\\|\\s*im_start\\s*\\|>"), "<",
	       "chat token: one of its rarest characters");
	is_str(needs("\\[\\s*inst\\s*\\]|<<\\s*sys\\s*>>"), "<[",
	       "alternatives unite their sets");
	is_str(needs("(?<![^\\n])\\s*#{1,6}\\s*system"), "#",
	       "a repeat that runs at least once keeps its set");
	is_str(needs("system\\s*:\\s*#"), "#", "the rarer of two");
	is_str(needs("system\\s*:"), ":", "a common one when it is all");
	is_str(needs("#?\\s*system"), "none", "an optional one: none");
	is_str(needs("#*system"), "none", "a repeat that may run zero times");
	is_str(needs("#{0}system"), "none", "... or must");
	is_str(needs("#{2,}system"), "#", "{2,}");
	is_str(needs("(?:#|-)+system"), "#-", "a group of alternatives");
	is_str(needs("sys|#tem"), "none", "an alternative without one: none");
	is_str(needs("(?=#)system"), "none", "a lookahead consumes nothing");
	is_str(needs("(?<=#)system"), "none", "nor does a lookbehind");
	is_str(needs("[<\\[]system"), "<[", "a class of punctuation");
	is_str(needs("[:#]x"), "#:", "a class starting with a colon");
	is_str(needs("[<a]system"), "none", "a class with a letter: none");
	is_str(needs("[^<]system"), "none", "a negated class: none");
	is_str(needs("[[:punct:]]x"), "none", "a POSIX class: none");
	is_str(needs("[!-#]x"), "!\"#", "a range of punctuation");
	is_str(needs("\\x23x"), "#", "\\x escape");
	is_str(needs("\\x{3c}x"), "<", "\\x{...} escape");
	is_str(needs("\\#x"), "#", "an escaped character");
	is_str(needs("(?i)system:"), ":", "an options group");
	is_str(needs("(?<tag>#)x"), "#", "a named group");
	is_str(needs(".#"), "#", "after any character");
	is_str(needs("@x|$y"), "none", "@ and $ may become letters: never");
	is_str(needs("system\\K:"), "none", "\\K: not read");
	is_str(needs("(#)\\1x"), "none", "a back reference: not read");
	is_str(needs("(?x)# comment\nsystem:"), "none",
	       "extended mode: not read");
	is_str(needs("x(*ACCEPT):"), "none", "a verb: not read");
	is_str(needs("\\Q#\\Ex"), "none", "\\Q...\\E: not read");
	is_str(needs("(?(1)#|<)x"), "none", "a condition: not read");
	is_str(needs("[<"), "none", "unterminated class");
	is_str(needs("(<"), "none", "unbalanced group");
}

/* Every shipped rule has key words of three letters or more. */
static void shipped(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[70000];
	int n = 0, keyed = 0, bounded = 0, paired = 0, needy = 0;

	if (!ok(f != NULL, "open %s", path))
		return;
	while (fgets(line, sizeof line, f)) {
		char *p = line, *name, *pat;
		ip_lits l;
		size_t k, shortest = 99;
		int rc;

		line[strcspn(line, "\r\n")] = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#')
			continue;
		name = p;
		p += strcspn(p, " \t");
		*p++ = '\0';
		pat = p + strspn(p, " \t");
		n++;
		if (strcmp(needs(pat), "none")) {
			printf("# %-22s needs one of %s\n", name, needs(pat));
			needy++;
		}
		rc = ip_lit_extract(pat, &l);
		if (rc == 1) {
			for (k = 0; k < l.n; k++)
				if (strlen(l.v[k]) < shortest)
					shortest = strlen(l.v[k]);
			printf("# %-22s %3zu keys, shortest %zu:", name, l.n,
			       shortest);
			for (k = 0; k < l.n && k < 6; k++)
				printf(" %s", l.v[k]);
			printf("%s\n", l.n > 6 ? " ..." : "");
			keyed += shortest >= IP_LIT_MIN;
			bounded += l.pre != IP_PRE_UNKNOWN;
			paired += l.n2 > 0;
			ip_lits_free(&l);
		} else {
			printf("# %-22s NO KEYS\n", name);
		}
	}
	fclose(f);
	ok(n >= 40, "%d rules read", n);
	is_int(keyed, n, "every shipped rule has key words");
	/* so the prefilter's 256-letter reach (guardstack.ini(5)) never
	 * applies to the shipped set: it equals the whole-text reference */
	is_int(bounded, n, "every shipped rule bounds how far before its key "
	       "words a match starts");
	/* the rules keyed on common words keep them for texts that also
	 * hold a second key word near enough (38 when this was written) */
	ok(paired >= 35, "%d of %d shipped rules have second key words",
	   paired, n);
	/* the chat-template, heading and "system:" rules, keyed on common
	 * words, need their punctuation (7 when this was written) */
	ok(needy >= 6, "%d of %d shipped rules need punctuation", needy, n);
}

/* Whether the scanner, built for the one key word "ignore", finds it in
 * text (and where the hit ends); last_ascii: what it said of the text. */
static int last_ascii;

static long finds(const char *text)
{
	ip_lits l;
	ip_scanner *sc = NULL;
	ip_hits h;
	long end = -1;

	memset(&l, 0, sizeof l);
	memset(&h, 0, sizeof h);
	if (ip_lits_add(&l, "ignore") < 0 ||
	    ip_scanner_new(&l, 1, NULL, &sc) < 0 ||
	    ip_scanner_run(sc, text, strlen(text), &h) < 0)
		end = -2;
	else if (h.n)
		end = (long)h.v[0].end;
	last_ascii = h.ascii;
	ip_lits_free(&l);
	ip_scanner_free(sc);
	ip_hits_free(&h);
	return end;
}

/* The marks a scanner (key word "ignore") asked for # : ( leaves in a
 * text: "N" letters before each, "+M" when its code point gives M more,
 * then the character; space-separated. */
static const char *marks(const char *text)
{
	static char out[256];
	uint64_t ask[2] = { 0, 0 };
	ip_lits l;
	ip_scanner *sc = NULL;
	ip_hits h;
	size_t i;

	memset(&l, 0, sizeof l);
	memset(&h, 0, sizeof h);
	ask['#' >> 6] |= 1ull << ('#' & 63);
	ask[':' >> 6] |= 1ull << (':' & 63);
	ask['(' >> 6] |= 1ull << ('(' & 63);
	out[0] = '\0';
	if (ip_lits_add(&l, "ignore") < 0 ||
	    ip_scanner_new(&l, 1, NULL, &sc) < 0) {
		strcpy(out, "ENOMEM");
	} else {
		ip_scanner_mark(sc, ask);
		if (ip_scanner_run(sc, text, strlen(text), &h) < 0)
			strcpy(out, "ENOMEM");
	}
	for (i = 0; i < h.nm; i++) {
		size_t n = strlen(out);

		snprintf(out + n, sizeof out - n, "%s%lu", n ? " " : "",
			 (unsigned long)h.m[i].n);
		n = strlen(out);
		if (h.m[i].more)
			snprintf(out + n, sizeof out - n, "+%u",
				 (unsigned)h.m[i].more);
		n = strlen(out);
		snprintf(out + n, sizeof out - n, "%c", h.m[i].c);
	}
	ip_lits_free(&l);
	ip_scanner_free(sc);
	ip_hits_free(&h);
	return out;
}

static void scanning(void)
{
	is_int(finds("please ignore this"), 13, "plain: hit ends after it");
	is_int(last_ascii, 1, "the scan says an ASCII text is ASCII");
	is_int(finds("IGNORE"), 6, "upper case");
	is_int(finds("i g n o r e"), 11, "letter-spaced");
	is_int(finds("i.g-n_o*r/e"), 11, "separators");
	is_int(finds("1gn0r3"), 6, "digits as letters");
	is_int(finds("\xef\xbd\x89\xef\xbd\x87\xef\xbd\x8e\xef\xbd\x8f"
		     "\xef\xbd\x92\xef\xbd\x85"), 18, "fullwidth");
	is_int(finds("ign\xd0\xbe" "re"), 7, "Cyrillic o");
	is_int(last_ascii, 0, "... and that one is not");
	is_int(finds("ig\xe2\x80\x8bnore"), 9, "zero-width space inside");
	is_int(finds("\xf3\xa0\x81\xa9\xf3\xa0\x81\xa7\xf3\xa0\x81\xae"
		     "\xf3\xa0\x81\xaf\xf3\xa0\x81\xb2\xf3\xa0\x81\xa5"), 24,
	       "tag characters");
	is_int(finds("igno"), -1, "a prefix is no hit");
	is_int(finds("the ignition"), -1, "a near miss is no hit");
	is_int(finds(""), -1, "empty text");

	is_str(marks("ab #c-d: x < y"), "2# 4:",
	       "marks: the letters before each, only what was asked");
	is_str(marks("## system:\n"), "0# 0# 6:", "one each");
	is_str(marks("a \xef\xbc\x83 b"), "1#", "a fullwidth # is one");
	is_str(marks("a\xf3\xa0\x80\xa3" "b"), "1#", "so is a tag #");
	is_str(marks("a\xe2\x91\xb4" "b"), "1+1(",
	       "a parenthesised digit: ( and the letter it gives");
	is_str(marks("abc"), "", "none");
}

int main(int argc, char **argv)
{
	char path[4096];
	const char *top = getenv("top_srcdir");

	if (argc > 2 && !strcmp(argv[1], "-p")) { /* for rule writers */
		printf("%s\n", keys_pre(argv[2], 1));
		printf("and %s\n", keys2(argv[2]));
		return 0;
	}
	extraction();
	needing();
	snprintf(path, sizeof path, "%s/etc/guardstack/injection.rules",
		 top ? top : ".");
	shipped(argc > 1 ? argv[1] : path);
	scanning();
	return done_testing();
}
