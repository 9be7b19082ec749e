// SPDX-License-Identifier: GPL-2.0
/*
 * Set a loaded model's scheduling priority (MCAI_IOC_MODEL_POLICY), for
 * the guest scripts that need a HIGH model next to a NORMAL one
 * (tests/bench/preempt_bench.sh).
 *
 * usage: model_policy NAME low|normal|high
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "uapi/mcai.h"

int main(int argc, char **argv)
{
	static const char *const prio[] = { "low", "normal", "high" };
	struct mcai_model_policy p = { .size = sizeof(p) };
	unsigned int i;
	int fd;

	if (argc != 3 || strlen(argv[1]) >= sizeof(p.ref.name)) {
		fprintf(stderr, "usage: %s NAME low|normal|high\n", argv[0]);
		return 2;
	}
	for (i = 0; i < 3 && strcmp(argv[2], prio[i]); i++)
		;
	if (i == 3) {
		fprintf(stderr, "%s: unknown priority %s\n", argv[0], argv[2]);
		return 2;
	}
	strcpy(p.ref.name, argv[1]);
	p.priority = i;		/* MCAI_PRIO_LOW, _NORMAL, _HIGH */
	fd = open("/dev/mcai", O_RDWR);
	if (fd < 0 || ioctl(fd, MCAI_IOC_MODEL_POLICY, &p)) {
		fprintf(stderr, "%s: %s: %s\n", argv[0], argv[1],
			strerror(errno));
		return 1;
	}
	close(fd);
	return 0;
}
