/* SPDX-License-Identifier: GPL-2.0-only */
/* What the lab needs of a kernel's configuration, checked before it boots. Pure. */
#ifndef MCEFWD_LAB_KCONFIG_H
#define MCEFWD_LAB_KCONFIG_H

#include <stddef.h>

/* An option's value in a .config text: "y", "m", a string, or "" if not set. */
void kconfig_value(const char *config, const char *option, char *val, size_t len);

/*
 * The options config lacks of what the lab needs: 0 if none, else how many,
 * with why[] naming each, its value and what it is for, one after another
 * with sep between them.
 */
int kconfig_check(const char *config, const char *sep, char *why, size_t len);

/* The same options by name only ("CONFIG_X86_MCE, CONFIG_KVM_AMD"): how many. */
int kconfig_missing_names(const char *config, char *names, size_t len);

#endif
