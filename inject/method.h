/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Inside inject/: the method files each define one entry of the table
 * (method.c), and check the page they are given the same way.
 */
#ifndef MCEFWD_INJECT_METHOD_H
#define MCEFWD_INJECT_METHOD_H

#include "inject/inject.h"

extern const struct inject_method_ops inject_method_einj;
extern const struct inject_method_ops inject_method_hwpoison;
extern const struct inject_method_ops inject_method_pfn;
extern const struct inject_method_ops inject_method_soft_offline;
extern const struct inject_method_ops inject_method_uffd;
extern const struct inject_method_ops inject_method_signal;

/*
 * The rules of inject_method_ops.poison() for ops: whole pages, pid only
 * with INJECT_F_OTHER_PROCESS, one page and a pfn with INJECT_F_FRAME.
 * Zeroes *undo and sets its method. 0, or -EINVAL with error_get() saying
 * which rule.
 */
int method_check_page(const struct inject_method_ops *ops, const struct inject_page *pg,
		      struct inject_undo *undo);

/*
 * The unpoison() of every method that takes a frame out of service and
 * can give it back: debugfs hwpoison/unpoison-pfn of undo->pfn.
 */
int method_unpoison_frame(struct inject_undo *undo);

#endif /* MCEFWD_INJECT_METHOD_H */
