// SPDX-License-Identifier: GPL-2.0-only
#include "mcefwd/util/diag.h"

void diag_init(struct diag *d, FILE *out)
{
	d->out = out;
	pthread_mutex_init(&d->lock, NULL);
}

void diag_destroy(struct diag *d)
{
	pthread_mutex_destroy(&d->lock);
}

void diag_vsay(struct diag *d, const char *fmt, va_list ap)
{
	pthread_mutex_lock(&d->lock);
	fputs("# ", d->out);
	vfprintf(d->out, fmt, ap);
	fputc('\n', d->out);
	fflush(d->out);
	pthread_mutex_unlock(&d->lock);
}

void diag_say(struct diag *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vsay(d, fmt, ap);
	va_end(ap);
}
