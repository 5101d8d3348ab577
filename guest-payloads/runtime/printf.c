// SPDX-License-Identifier: GPL-2.0-only
/*
 * A small vsnprintf: enough for test messages, nothing locale or floating
 * point. Output that does not fit is counted but dropped, as C's does.
 */
#include "rt.h"

struct pf_out {
	char *buf;
	size_t size;
	size_t len;
};

struct pf_spec {
	bool left;		/* '-' */
	bool zero;		/* '0' */
	bool alt;		/* '#': 0x before hex */
	int width;
	int precision;		/* -1: none */
};

static void pf_putc(struct pf_out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void pf_pad(struct pf_out *o, char c, int n)
{
	while (n-- > 0)
		pf_putc(o, c);
}

static void pf_str(struct pf_out *o, const struct pf_spec *sp, const char *s)
{
	size_t n;
	int pad;

	if (!s)
		s = "(null)";
	n = strnlen(s, sp->precision >= 0 ? (size_t)sp->precision : (size_t)-1);
	pad = sp->width > (int)n ? sp->width - (int)n : 0;
	if (!sp->left)
		pf_pad(o, ' ', pad);
	while (n--)
		pf_putc(o, *s++);
	if (sp->left)
		pf_pad(o, ' ', pad);
}

static void pf_num(struct pf_out *o, const struct pf_spec *sp, uint64_t v,
		   unsigned int base, bool negative, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	const char *prefix = "";
	int n = 0, pad;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);

	if (negative)
		prefix = "-";
	else if (sp->alt && base == 16)
		prefix = upper ? "0X" : "0x";

	pad = sp->width - n - (int)strlen(prefix);
	if (pad < 0)
		pad = 0;
	if (!sp->left && !sp->zero)
		pf_pad(o, ' ', pad);
	while (*prefix)
		pf_putc(o, *prefix++);
	if (!sp->left && sp->zero)
		pf_pad(o, '0', pad);
	while (n)
		pf_putc(o, tmp[--n]);
	if (sp->left)
		pf_pad(o, ' ', pad);
}

/* 'H' hh, 'h' h, 0 none, 'l' l, 'L' ll, 'z' z */
static uint64_t pf_arg_unsigned(va_list *ap, char len)
{
	switch (len) {
	case 'H':
		return (unsigned char)va_arg(*ap, unsigned int);
	case 'h':
		return (unsigned short)va_arg(*ap, unsigned int);
	case 'l':
		return va_arg(*ap, unsigned long);
	case 'L':
		return va_arg(*ap, unsigned long long);
	case 'z':
		return va_arg(*ap, size_t);
	default:
		return va_arg(*ap, unsigned int);
	}
}

static int64_t pf_arg_signed(va_list *ap, char len)
{
	switch (len) {
	case 'H':
		return (signed char)va_arg(*ap, int);
	case 'h':
		return (short)va_arg(*ap, int);
	case 'l':
		return va_arg(*ap, long);
	case 'L':
		return va_arg(*ap, long long);
	case 'z':
		return va_arg(*ap, long);	/* ssize_t */
	default:
		return va_arg(*ap, int);
	}
}

static int pf_int(const char **fmt, va_list *ap)
{
	int n = 0;

	if (**fmt == '*') {
		(*fmt)++;
		return va_arg(*ap, int);
	}
	while (**fmt >= '0' && **fmt <= '9')
		n = n * 10 + *(*fmt)++ - '0';
	return n;
}

int rt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap_in)
{
	struct pf_out o = { .buf = buf, .size = size };
	struct pf_spec sp;
	const char *start;
	va_list ap;
	char len;

	/* A copy, so helpers can take its address on any ABI. */
	va_copy(ap, ap_in);
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			pf_putc(&o, *fmt);
			continue;
		}
		start = fmt++;
		sp = (struct pf_spec){ .precision = -1 };
		for (;; fmt++) {
			if (*fmt == '-')
				sp.left = true;
			else if (*fmt == '0')
				sp.zero = true;
			else if (*fmt == '#')
				sp.alt = true;
			else
				break;
		}
		sp.width = pf_int(&fmt, &ap);
		if (sp.width < 0) {
			sp.left = true;
			sp.width = -sp.width;
		}
		if (*fmt == '.') {
			fmt++;
			sp.precision = pf_int(&fmt, &ap);
		}

		len = 0;
		if (*fmt == 'h') {
			len = *++fmt == 'h' ? (fmt++, 'H') : 'h';
		} else if (*fmt == 'l') {
			len = *++fmt == 'l' ? (fmt++, 'L') : 'l';
		} else if (*fmt == 'z') {
			len = 'z';
			fmt++;
		}

		switch (*fmt) {
		case 'd':
		case 'i': {
			int64_t v = pf_arg_signed(&ap, len);

			pf_num(&o, &sp, v < 0 ? -(uint64_t)v : (uint64_t)v, 10,
			       v < 0, false);
			break;
		}
		case 'u':
			pf_num(&o, &sp, pf_arg_unsigned(&ap, len), 10, false, false);
			break;
		case 'x':
		case 'X':
			pf_num(&o, &sp, pf_arg_unsigned(&ap, len), 16, false,
			       *fmt == 'X');
			break;
		case 'p':
			sp.alt = true;
			pf_num(&o, &sp, (uintptr_t)va_arg(ap, void *), 16, false,
			       false);
			break;
		case 's':
			pf_str(&o, &sp, va_arg(ap, const char *));
			break;
		case 'c':
			sp.precision = -1;
			pf_pad(&o, ' ', sp.left ? 0 : sp.width - 1);
			pf_putc(&o, (char)va_arg(ap, int));
			pf_pad(&o, ' ', sp.left ? sp.width - 1 : 0);
			break;
		case '%':
			pf_putc(&o, '%');
			break;
		default:
			/* Unknown: print it as written, and stop if the string ended. */
			while (start <= fmt && *start)
				pf_putc(&o, *start++);
			if (!*fmt)
				fmt--;
			break;
		}
	}
	va_end(ap);

	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return o.len > INT32_MAX ? INT32_MAX : (int)o.len;
}

int rt_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = rt_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
