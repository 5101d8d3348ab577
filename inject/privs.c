// SPDX-License-Identifier: GPL-2.0-only
/* Privilege checks for the poison methods, through libcap. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>

#include "inject/inject.h"

bool inject_has_cap(cap_value_t cap)
{
	cap_flag_value_t v = CAP_CLEAR;
	cap_t caps;

	if (!CAP_IS_SUPPORTED(cap))
		return false;
	caps = cap_get_proc();
	if (!caps)
		return false;
	if (cap_get_flag(caps, cap, CAP_EFFECTIVE, &v))
		v = CAP_CLEAR;
	cap_free(caps);
	return v == CAP_SET;
}

bool inject_has_cap_sys_admin(void)
{
	return inject_has_cap(CAP_SYS_ADMIN);
}

int inject_caps_describe(char *buf, size_t len)
{
	cap_t caps;
	char *text;
	int ret = 0, n;

	if (!buf || !len)
		return -EINVAL;
	buf[0] = '\0';
	caps = cap_get_proc();
	if (!caps)
		return -errno;
	text = cap_to_text(caps, NULL);
	if (!text) {
		ret = -errno;
		goto err_free_caps;
	}
	/* cap_to_text() says "=" for an empty set, which reads as nothing. */
	n = snprintf(buf, len, "%s", strcmp(text, "=") ? text : "none");
	if (n < 0 || (size_t)n >= len)
		ret = -ENOSPC;
	cap_free(text);
err_free_caps:
	cap_free(caps);
	return ret;
}

int inject_caps_keep(const cap_value_t *keep, int n)
{
	cap_t cur, next;
	int ret = 0;

	cur = cap_get_proc();
	if (!cur)
		return -errno;
	next = cap_init();
	if (!next) {
		ret = -errno;
		goto err_free_cur;
	}
	/* Keep only what we hold now: never grant, only give up. */
	for (int i = 0; i < n; i++) {
		cap_flag_value_t v = CAP_CLEAR;

		if (cap_get_flag(cur, keep[i], CAP_PERMITTED, &v) || v != CAP_SET)
			continue;
		if (cap_set_flag(next, CAP_PERMITTED, 1, &keep[i], CAP_SET) ||
		    cap_set_flag(next, CAP_EFFECTIVE, 1, &keep[i], CAP_SET)) {
			ret = -errno;
			goto err_free_next;
		}
	}
	if (cap_set_proc(next))
		ret = -errno;
err_free_next:
	cap_free(next);
err_free_cur:
	cap_free(cur);
	return ret;
}
