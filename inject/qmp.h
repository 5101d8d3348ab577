/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Just enough of QEMU's QMP (docs/interop/qmp-spec.rst) to ask a running
 * QEMU where a guest physical address lives in its own memory: connect to
 * the unix socket of "-qmp unix:PATH,server=on,wait=off", check that the
 * process at the other end is the target, read the greeting, negotiate
 * (qmp_capabilities), then run the monitor command "gpa2hva GPA" through
 * human-monitor-command. Asynchronous events on the way are skipped.
 *
 * The parsers are pure; qmp_gpa2hva() is the client.
 */
#ifndef MCEFWD_INJECT_QMP_H
#define MCEFWD_INJECT_QMP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define QMP_TEXT_MAX 512
/*
 * Per read or write on the socket. Generous: a QEMU whose vCPUs keep taking
 * its big lock (several spinning on emulated ports in the lab, under TCG)
 * was measured to leave its monitor unanswered for more than 5 s.
 */
#define QMP_TIMEOUT_S 30

enum qmp_kind {
	QMP_GREETING,		/* {"QMP": {...}} */
	QMP_RETURN,		/* {"return": ...} */
	QMP_ERROR,		/* {"error": {"class": ..., "desc": ...}} */
	QMP_EVENT,		/* {"event": NAME, ...} */
};

struct qmp_reply {
	enum qmp_kind kind;
	/* return: the string returned, "" if it is not one; error: desc; event: its name */
	char text[QMP_TEXT_MAX];
};

/*
 * Pure: one line QEMU sent (a JSON object; the '\n' may be there). 0, or
 * -EINVAL with error_get() saying what is wrong with it. Strings are
 * unescaped; a \u escape outside ASCII becomes '?'; text is cut to fit.
 */
int qmp_parse(const char *line, struct qmp_reply *out);

/*
 * Pure: what gpa2hva printed ("Host virtual address for 0x1000 (pc.ram)
 * is 0x7f...\r\n") into the host address and the name of the RAM block.
 * Anything else is QEMU saying why not ("No memory is mapped at address
 * ..."): -EINVAL with error_get() quoting it.
 */
int qmp_parse_gpa2hva(const char *text, uint64_t gpa, uint64_t *hva, char *region,
		      size_t len);

/*
 * Asks the QEMU whose QMP socket is path where gpa is: *hva and the RAM
 * block's name. -EPERM if the socket's other end is not process pid
 * (SO_PEERCRED: the process that listens on it); -ETIMEDOUT if QEMU says
 * nothing for QMP_TIMEOUT_S seconds (another client holds the monitor?);
 * -errno otherwise; error_get() says which.
 */
int qmp_gpa2hva(const char *path, pid_t pid, uint64_t gpa, uint64_t *hva, char *region,
		size_t len);

#endif /* MCEFWD_INJECT_QMP_H */
