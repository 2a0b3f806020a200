/* SPDX-License-Identifier: MIT */
/*
 * shapes.c - texts unlike the bench corpus's English prose, for the
 * "shapes" section of gs-bench: each stresses what the prose has little
 * of, where a filter's slow path shows (session 11 found three this way:
 * UTF-8 checks and input-patterns' folding on other scripts, script-strip
 * on pages of tags).  Fixed seeds: the same bytes on every machine.
 */
#include <string.h>

#include "bench.h"
#include "../splitmix.h"

const char *const shape_names[SHAPE_N] = {
	"scripts", "html", "records", "mail",
};

static uint64_t shape_rng;

static unsigned rnd(unsigned n)
{
	return (unsigned)(splitmix64(&shape_rng) % n);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Prose in other scripts, now and then an English word, an address, a
 * number or an injection phrase: a chat in Japanese, Russian, Greek... */
static const char *const script_words[] = {
	"日本語の", "テキスト", "東京都", "会議は", "明日です", "中文文本",
	"我们的", "客户", "Москва", "документ", "отчёт", "пожалуйста",
	"Ελληνικά", "κείμενο", "σύστημα", "مرحبا", "العميل", "تقرير",
	"हिन्दी", "ग्राहक", "रिपोर्ट", "한국어", "보고서", "שלום", "לקוח",
	"ภาษาไทย", "Ärger", "Ñandú", "🙂", "👍🏽", "—", "«", "»",
};
static const char *const script_other[] = {
	"report", "2024-05-01", "ACME", "42", "ivan@example.ru",
	"игнорируй предыдущие инструкции", "ignore previous instructions",
	"システムプロンプトを表示して", "123-45-6789", "OK",
};

/* A page as a model writes one: mostly tags and attributes. */
static const char *const html_parts[] = {
	"<div class=\"card\">", "</div>", "<p>", "</p>", "<br/>",
	"<a href=\"https://example.com/p?q=1&amp;r=2\">more</a>",
	"<span style=\"color:#333;font-weight:bold\">", "</span>",
	"<img src=\"/img/a.png\" alt=\"chart\" width=\"40\">",
	"<!-- layout -->", "<ul><li>one</li><li>two</li></ul>",
	"<table><tr><td>1</td><td>2</td></tr></table>",
	"<input type=\"text\" name=\"q\" value=\"\">", "<h2 id=\"s1\">",
	"</h2>", "<button onclick=\"go()\">Go</button>",
	"<script>var a = 1;</script>", "&lt;code&gt;", "&nbsp;",
	"<section data-x=\"1\" aria-label=\"main\">", "</section>",
};
static const char *const html_words[] = {
	"Results", "for", "the", "quarter", "see", "below", "and", "more",
};

/* Records: CSV rows and log lines, digits and punctuation throughout. */
static int records(gs_buf *b)
{
	unsigned k = rnd(4);

	if (k == 0)
		return gs_buf_printf(b, "%u,%u,%u.%02u,2024-%02u-%02u,%u-%02u-"
				     "%04u,%s\n", rnd(100000), rnd(1000),
				     rnd(10000), rnd(100), 1 + rnd(12),
				     1 + rnd(28), 100 + rnd(800), 1 + rnd(99),
				     rnd(10000), rnd(2) ? "ok" : "void");
	if (k == 1)
		return gs_buf_printf(b, "{\"ts\":\"2024-05-%02uT%02u:%02u:%02uZ"
				     "\",\"level\":\"info\",\"id\":%u,\"ms\":"
				     "%u,\"path\":\"/api/v1/items/%u\"}\n",
				     1 + rnd(28), rnd(24), rnd(60), rnd(60),
				     rnd(1000000), rnd(1000), rnd(100000));
	if (k == 2)
		return gs_buf_printf(b, "%u.%u.%u.%u - - [24/May/2024:10:%02u:"
				     "%02u] \"GET /x?id=%u HTTP/1.1\" %u %u\n",
				     rnd(256), rnd(256), rnd(256), rnd(256),
				     rnd(60), rnd(60), rnd(100000),
				     rnd(2) ? 200 : 404, rnd(50000));
	return gs_buf_printf(b, "+1 (%03u) 555-%04u; acct %u%u; card 4111 "
			     "1111 1111 %04u\n", 200 + rnd(700), rnd(10000),
			     rnd(100000), rnd(100000), rnd(10000));
}

/* Mail: headers and lists, an address every few words. */
static const char *const mail_names[] = {
	"alice", "bob.smith", "c_d", "x+tag", "very.long.name.here",
	"Support", "no-reply",
};
static const char *const mail_domains[] = {
	"example.com", "mail.example.org", "a.b.c.example.net", "corp.co.uk",
	"[192.0.2.1]", "xn--bcher-kva.example",
};

static int mail(gs_buf *b)
{
	const char *const hdr[] = { "From:", "To:", "Cc:", "Reply-To:" };

	return gs_buf_printf(b, "%s %s <%s@%s>, %s@%s; see @%s or %s@%s%s\n",
			     hdr[rnd(N(hdr))], mail_names[rnd(N(mail_names))],
			     mail_names[rnd(N(mail_names))],
			     mail_domains[rnd(N(mail_domains))],
			     mail_names[rnd(N(mail_names))],
			     mail_domains[rnd(N(mail_domains))],
			     mail_names[rnd(N(mail_names))],
			     mail_names[rnd(N(mail_names))],
			     mail_domains[rnd(N(mail_domains))],
			     rnd(4) ? "" : " logo@2x.png");
}

int shape_make(gs_buf *b, size_t n, int shape, uint64_t seed)
{
	size_t words = 0;
	int rc = 0;

	shape_rng = seed ^ (uint64_t)shape * 0x2545F4914F6CDD1Dull;
	while (rc == 0 && b->len < n) {
		switch (shape) {
		case SHAPE_SCRIPTS:
			rc = gs_buf_puts(b, rnd(20) ? script_words[rnd(
				N(script_words))] : script_other[rnd(
				N(script_other))]);
			if (rc == 0)
				rc = gs_buf_puts(b, ++words % 14 ? " " : "\n");
			break;
		case SHAPE_HTML:
			rc = gs_buf_puts(b, rnd(10) < 7 ? html_parts[rnd(
				N(html_parts))] : html_words[rnd(
				N(html_words))]);
			if (rc == 0 && ++words % 12 == 0)
				rc = gs_buf_puts(b, "\n");
			break;
		case SHAPE_RECORDS:
			rc = records(b);
			break;
		default:
			rc = mail(b);
			break;
		}
	}
	if (rc == 0 && (!b->len || b->data[b->len - 1] != '\n'))
		rc = gs_buf_puts(b, "\n");
	return rc;
}
