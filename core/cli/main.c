/* SPDX-License-Identifier: MIT */
/* main.c - the guardstack command: option parsing and dispatch. */
#include "config.h"
#include "cli.h"
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *fp)
{
	fprintf(fp,
"Usage: guardstack COMMAND [OPTIONS]\n"
"\n"
"Runs LLM requests and answers through a stack of filter plugins.\n"
"\n"
"Commands:\n"
"  check  -s STACK          load and validate a stack, print it resolved\n"
"  audit  [-s STACK | --all] [--json]\n"
"                           security audit of a stack (keys, filters,\n"
"                           logging, upstream, permissions); exit 1 when\n"
"                           a check fails\n"
"  filter -s STACK [-p PHASE] [--json | --jsonl | --stream]\n"
"                           filter stdin through one phase of the stack\n"
"  run    -s STACK [-m MODEL] [--json] [PROMPT | -]\n"
"                           the whole trip: request phase, upstream,\n"
"                           response phase; prints the answer\n"
"\n"
"Options:\n"
"  -s, --stack STACK   application stack: NAME reads CONFDIR/NAME.ini\n"
"                      (default.ini when missing); a value with '/' is a\n"
"                      path (default: default)\n"
"  -p, --phase PHASE   request (default) or response\n"
"  -m, --model MODEL   run: the model to ask (default: the stack's)\n"
"      --json          stdin is a whole chat-completions request (or\n"
"                      response) JSON; stdout the filtered JSON (run:\n"
"                      the whole response JSON)\n"
"      --jsonl         each stdin line is {\"text\": \"...\"}; each stdout\n"
"                      line {\"text\",\"verdict\",\"reason\",\"filters\"}\n"
"      --stream        plain text, cut into chunks of about 1 MiB after\n"
"                      a line break outside any HTML tag; each chunk is\n"
"                      a text of its own (limits apply per chunk),\n"
"                      written before the next is read: constant memory.\n"
"                      Stops at the first chunk not passed, when earlier\n"
"                      ones are out already: check the exit status\n"
"      --max-bytes N   largest input (or --jsonl line, or --stream\n"
"                      chunk) accepted (default 67108864)\n"
"  -v, --verbose       report each filter's verdict and count on stderr\n"
"  -h, --help          this help\n"
"  -V, --version       version and plugin ABI\n"
"\n"
"Exit status: 0 passed (possibly modified), 1 rejected, 2 usage or\n"
"configuration error (run: also no API key), 3 runtime error (a filter\n"
"or the upstream failed; nothing passed), 4 malformed input (JSON,\n"
"UTF-8, NUL byte, size).  With --jsonl, 0 once every line is answered;\n"
"with --stream, 0 once every chunk passed.\n"
"\n"
"Environment: GUARDSTACK_CONFDIR (default %s) and\n"
"GUARDSTACK_PLUGIN_PATH (default %s), both ignored when setuid.\n"
"See guardstack(1), guardstack.ini(5), guardstack-plugin(3).\n",
		GS_CONFDIR, GS_PLUGINDIR);
}

int cli_load(const struct cli_opts *o, gs_stack **st)
{
	char *err = NULL;
	int rc = gs_stack_load(st, o->stack, 0, &err);

	if (rc < 0) {
		cli_err("%s", err ? err : gs_strerror(rc));
		gs_free(err);
		return rc == GS_ENOMEM ? EXIT_RUNTIME : EXIT_CONFIG;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "stack", required_argument, NULL, 's' },
		{ "phase", required_argument, NULL, 'p' },
		{ "model", required_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'J' },
		{ "jsonl", no_argument, NULL, 'L' },
		{ "stream", no_argument, NULL, 'S' },
		{ "max-bytes", required_argument, NULL, 'M' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "all", no_argument, NULL, 'A' },
		{ NULL, 0, NULL, 0 }
	};
	struct cli_opts o = { .stack = "default", .phase = GS_PHASE_REQUEST,
			      .max_bytes = GS_MAX_BODY_DEFAULT };
	const char *cmd = NULL;
	int c, all = 0, stack_set = 0;

	cli_on_crash();
	/* Past a file size limit (ulimit -f) a write fails with EFBIG and
	 * is reported (exit 3; the logger says so for its file) instead of
	 * SIGXFSZ ending the process without a word. */
	signal(SIGXFSZ, SIG_IGN);
	/* Options may come before or after the command. */
	while ((c = getopt_long(argc, argv, "s:p:m:vhV", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			o.stack = optarg;
			stack_set = 1;
			break;
		case 'p':
			if (!strcmp(optarg, "request"))
				o.phase = GS_PHASE_REQUEST;
			else if (!strcmp(optarg, "response"))
				o.phase = GS_PHASE_RESPONSE;
			else {
				cli_err("-p %s: expected request or response",
					optarg);
				return EXIT_CONFIG;
			}
			break;
		case 'm':
			o.model = optarg;
			break;
		case 'J':
			o.json = 1;
			break;
		case 'L':
			o.jsonl = 1;
			break;
		case 'S':
			o.stream = 1;
			break;
		case 'M': {
			char *end;
			unsigned long long v = strtoull(optarg, &end, 10);
			if (!*optarg || *end || v == 0 || v > (1ull << 32)) {
				cli_err("--max-bytes %s: expected 1 to "
					"4294967296", optarg);
				return EXIT_CONFIG;
			}
			o.max_bytes = (size_t)v;
			break;
		}
		case 'A':
			all = 1;
			break;
		case 'v':
			o.verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("guardstack %s (plugin ABI %d.%d)\n",
			       gs_version(), GS_PLUGIN_ABI_MAJOR,
			       GS_PLUGIN_ABI_MINOR);
			return 0;
		default:
			fprintf(stderr, "Try 'guardstack --help'.\n");
			return EXIT_CONFIG;
		}
	}
	if (optind < argc)
		cmd = argv[optind++];
	if (!cmd) {
		usage(stderr);
		return EXIT_CONFIG;
	}
	if (!strcmp(cmd, "run") && optind < argc)
		o.prompt = argv[optind++];
	if (optind < argc) {
		cli_err("%s: unexpected argument '%s'", cmd, argv[optind]);
		return EXIT_CONFIG;
	}
	if (o.json && o.jsonl) {
		cli_err("--json and --jsonl exclude each other");
		return EXIT_CONFIG;
	}
	if (o.stream && strcmp(cmd, "filter")) {
		cli_err("%s: --stream applies only to filter", cmd);
		return EXIT_CONFIG;
	}
	if (o.stream && (o.json || o.jsonl)) {
		cli_err("--stream is for plain text: it excludes --json and "
			"--jsonl");
		return EXIT_CONFIG;
	}
	if (all && strcmp(cmd, "audit")) {
		cli_err("%s: --all applies only to audit", cmd);
		return EXIT_CONFIG;
	}
	if (!strcmp(cmd, "check"))
		return cmd_check(&o);
	if (!strcmp(cmd, "audit")) {
		if (all && stack_set) {
			cli_err("audit: -s and --all exclude each other");
			return EXIT_CONFIG;
		}
		return cmd_audit(&o, all);
	}
	if (!strcmp(cmd, "filter")) {
		cli_no_core_dumps(); /* mistral-moderation holds a key */
		return cmd_filter(&o);
	}
	if (!strcmp(cmd, "run"))
		return cmd_run(&o);
	cli_err("unknown command '%s' (check, audit, filter, run); see "
		"--help", cmd);
	return EXIT_CONFIG;
}
