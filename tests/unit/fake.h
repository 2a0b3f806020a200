/* SPDX-License-Identifier: MIT */
/*
 * fake.h - starts tests/fake-mistral/fake-mistral for a C test: on
 * loopback, its port file and request log in the test's directory.  The
 * server exits with the test (it watches its parent) or after `lifetime`
 * seconds.
 */
#ifndef GS_TEST_FAKE_H
#define GS_TEST_FAKE_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t fake_pid;

static void fake_stop(void)
{
	if (fake_pid > 0) {
		kill(fake_pid, SIGTERM);
		waitpid(fake_pid, NULL, 0);
		fake_pid = 0;
	}
}

/* Starts the server with its files in dir; base gets
 * "http://127.0.0.1:PORT" and logpath the request log.  0, or -1 when it
 * did not come up within 20 s. */
static int fake_start(const char *dir, char *base, size_t nbase,
		      char *logpath, size_t nlog, int lifetime)
{
	char bin[1024], portf[512], port[16] = "", life[16];
	const char *top = getenv("top_builddir");

	snprintf(bin, sizeof bin, "%s/tests/fake-mistral/fake-mistral",
		 top ? top : ".");
	snprintf(portf, sizeof portf, "%s/port", dir);
	snprintf(logpath, nlog, "%s/requests.log", dir);
	snprintf(life, sizeof life, "%d", lifetime);
	fake_pid = fork();
	if (fake_pid == 0) {
		execl(bin, bin, "--port-file", portf, "--log", logpath,
		      "--lifetime", life, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 400 && !*port; i++) {
		FILE *f = fopen(portf, "r");
		struct timespec ts = { 0, 50000000 };

		if (f) {
			if (!fgets(port, sizeof port, f))
				port[0] = '\0';
			fclose(f);
		}
		if (!*port)
			nanosleep(&ts, NULL);
	}
	unlink(portf);
	port[strcspn(port, "\n")] = '\0';
	snprintf(base, nbase, "http://127.0.0.1:%s", port);
	return *port ? 0 : -1;
}

#endif
