// SPDX-License-Identifier: GPL-2.0-only
/*
 * A guest that floods the host with output, one way per run: vCPU 0 plays
 * case number nr_vcpus (mcefwd run build/guest-payloads/tests/bad-console.elf
 * --vcpus N), the other vCPUs exit 0 at once. The host must stop it with an error once it has printed
 * 64 KiB, whatever the shape of the flood, well before any watchdog.
 *
 *   1 console bytes without a newline	4 failing reports, each a line
 *   2 console newlines, each a line	5 full-length PRINT records
 *   3 empty PRINT records, each a line
 */
#include "rt.h"

int guest_main(unsigned int vcpu, unsigned int nr_vcpus)
{
	char line[MCEFWD_TEXT_MAX];

	if (vcpu != 0)
		return 0;
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	for (;;) {
		switch (nr_vcpus) {
		case 1:
			outb(MCEFWD_PORT_CONSOLE, 'x');
			break;
		case 2:
			outb(MCEFWD_PORT_CONSOLE, '\n');
			break;
		case 3:
			rt_printf("%s", "");
			break;
		case 4:
			report(false, "%s", line);
			break;
		case 5:
			rt_printf("%s", line);
			break;
		default:
			return 0;
		}
	}
}
