// SPDX-License-Identifier: GPL-2.0-only
/*
 * The ucalls under QEMU (abi.h, "Under QEMU"): a record goes out as one line
 * of hex on the console port, and the answers to READY and WAIT come back
 * as a line on COM1, which the runtime turns into its own mailbox.
 */
#include "rt.h"

/* Set by the PVH entry (pvh.S); 0 under mcefwd, which enters at _start. */
unsigned int rt_qemu;

#define COM1_LSR	(MCEFWD_PORT_COM1 + 5)
#define LSR_DR		0x01	/* a received byte is waiting */

/*
 * rep outsb: KVM hands a whole string to QEMU in one exit where it can,
 * which matters where every exit is emulated (the lab).
 */
static void rt_qemu_write(const char *s, size_t n)
{
	asm volatile("rep outsb" : "+S"(s), "+c"(n) : "d"((uint16_t)MCEFWD_PORT_CONSOLE)
		     : "memory");
}

void rt_qemu_send(const struct mcefwd_ucall *u)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *b = (const uint8_t *)u;
	size_t n = sizeof(*u), i = 0;
	char buf[130];
	size_t used = 0;

	/* Trailing zero bytes stay behind: the host zero-fills. */
	while (n > offsetof(struct mcefwd_ucall, value) && !b[n - 1])
		n--;
	buf[used++] = '@';
	buf[used++] = MCEFWD_QEMU_LINE;
	for (; i < n; i++) {
		buf[used++] = hex[b[i] >> 4];
		buf[used++] = hex[b[i] & 15];
		if (used >= sizeof(buf) - 2) {
			rt_qemu_write(buf, used);
			used = 0;
		}
	}
	buf[used++] = '\n';
	rt_qemu_write(buf, used);
}

static char rt_qemu_getc(void)
{
	while (!(inb(COM1_LSR) & LSR_DR))
		pause();
	return (char)inb(MCEFWD_PORT_COM1);
}

static uint64_t rt_qemu_number(const char **p)
{
	uint64_t v = 0;

	while (**p == ' ')
		(*p)++;
	while (**p >= '0' && **p <= '9')
		v = v * 10 + (uint64_t)(*(*p)++ - '0');
	return v;
}

/*
 * Reads the host's "A DONE DELIVERED" line into this vCPU's mailbox; a line
 * that is not one is reported and leaves the mailbox as it was.
 */
void rt_qemu_ack(void)
{
	volatile struct mcefwd_mailbox *mb = rt_mailbox();
	char line[64];
	const char *p = line;
	size_t n = 0;
	char c;

	while ((c = rt_qemu_getc()) != '\n')
		if (n < sizeof(line) - 1)
			line[n++] = c;
	line[n] = '\0';
	if (line[0] != 'A') {
		rt_printf("rt: the host's answer is not an ack: '%s'", line);
		return;
	}
	p++;
	mb->events_done = rt_qemu_number(&p);
	mb->events_delivered = rt_qemu_number(&p);
}
