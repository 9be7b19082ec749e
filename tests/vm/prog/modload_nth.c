// SPDX-License-Identifier: GPL-2.0
/*
 * Load a module with the Nth fault-injection point of the loading task
 * failing (CONFIG_FAULT_INJECTION's /proc/thread-self/fail-nth): every
 * failslab, fail_page_alloc or fail_usercopy check this task makes counts
 * down N, whatever its probability or task filter, and the Nth fails.
 * Nothing else runs in the task between arming and finit_module(), so N
 * counts the same calls from one run to the next.
 *
 *   modload_nth KO N [PARAMS]
 *
 * prints "rc R errno E calls C fired F": finit_module()'s result, its
 * errno (0 on success), how many checks it made (when the Nth was not
 * reached; N-1 when it was) and whether the Nth was reached and failed
 * in it (F 0 when the Nth was one of this program's own reads or writes
 * of the count, after the load).
 * With a large N nothing fails and C is the number of checks a whole
 * load makes (tests/vm/guest/14-init-faults.sh).  Exit 0 when it ran,
 * 2 on a usage or set-up error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NTH "/proc/thread-self/fail-nth"

int main(int argc, char **argv)
{
	char buf[32];
	unsigned long n, left;
	int ko, nth, e, after = 0;
	long rc;
	ssize_t len;

	if (argc < 3) {
		fprintf(stderr, "usage: modload_nth KO N [PARAMS]\n");
		return 2;
	}
	n = strtoul(argv[2], NULL, 10);
	ko = open(argv[1], O_RDONLY | O_CLOEXEC);
	nth = open(NTH, O_RDWR | O_CLOEXEC);
	if (ko < 0 || nth < 0 || !n) {
		fprintf(stderr, "modload_nth: %s: %s\n", ko < 0 ? argv[1] : NTH,
			strerror(errno));
		return 2;
	}
	len = snprintf(buf, sizeof(buf), "%lu", n);
	if (write(nth, buf, len) != len) {
		fprintf(stderr, "modload_nth: arming %s: %s\n", NTH,
			strerror(errno));
		return 2;
	}
	rc = syscall(SYS_finit_module, ko, argc > 3 ? argv[3] : "", 0);
	e = rc ? errno : 0;
	/*
	 * What is left of the count: 0 once the Nth check failed.  The
	 * read's own copy to user space is a check too: when the load made
	 * exactly N-1, the Nth fails that copy (EFAULT), and a second read
	 * finds the count spent.
	 */
	len = pread(nth, buf, sizeof(buf) - 1, 0);
	if (len < 0 && errno == EFAULT) {
		after = 1;
		len = pread(nth, buf, sizeof(buf) - 1, 0);
	}
	if (len <= 0) {
		fprintf(stderr, "modload_nth: reading %s: %s\n", NTH,
			strerror(errno));
		return 2;
	}
	buf[len] = 0;
	left = strtoul(buf, NULL, 10);
	/*
	 * Disarm, so that nothing after this fails.  The write's own copy
	 * from user space counts too: if it was the Nth, it failed and the
	 * count is spent, which disarms as well.
	 */
	if (left && write(nth, "0", 1) < 0 && errno != EFAULT)
		return 2;
	printf("rc %ld errno %d calls %lu fired %d\n", rc, e,
	       left ? n - left : n - 1, !left && !after);
	return 0;
}
