// SPDX-License-Identifier: GPL-2.0-only
/*
 * The guest's machine-check handler: what an OS does on #MC, cut down to
 * what the tests observe. Report everything as found, clear the banks,
 * retire a poisoned test page by remapping it to a spare one, clear
 * MCG_STATUS.MCIP (a second #MC while it is set shuts the vCPU down), and
 * resume the interrupted code, which retries its access on the spare page.
 * A vCPU's mode (rt_mce_set_mode()) can leave the clearing undone.
 */
#include "rt.h"

/* Per vCPU, indexed like the stacks. */
struct rt_mce_cpu {
	uint64_t count;			/* #MCs fully handled */
	uint64_t last_mcg_status;	/* MCG_STATUS of the last of them */
	unsigned int mode;		/* RT_MCE_KEEP_* */
};

static struct rt_mce_cpu rt_mce_cpus[MCEFWD_MAX_VCPUS];
/* Spare pages handed out, shared by all vCPUs; only ever grows. */
static uint32_t rt_mce_spares;

uint64_t rt_mce_count_of(unsigned int vcpu)
{
	return vcpu < MCEFWD_MAX_VCPUS ? READ_ONCE(rt_mce_cpus[vcpu].count) : 0;
}

static struct rt_mce_cpu *rt_mce_self(void)
{
	return &rt_mce_cpus[rt_vcpu_id() % MCEFWD_MAX_VCPUS];
}

uint64_t rt_mce_count(void)
{
	return READ_ONCE(rt_mce_self()->count);
}

uint64_t rt_mce_last_mcg_status(void)
{
	return READ_ONCE(rt_mce_self()->last_mcg_status);
}

void rt_mce_set_mode(unsigned int flags)
{
	WRITE_ONCE(rt_mce_self()->mode, flags);
}

uint64_t rt_test_page_backing(unsigned int i)
{
	const volatile uint64_t *pte = (const volatile uint64_t *)MCEFWD_GPA_PT1;

	if (i >= MCEFWD_TEST_PAGES)
		return 0;
	return pte[i] & X86_PTE_ADDR_MASK;
}

unsigned int rt_mce_spares_used(void)
{
	return READ_ONCE(rt_mce_spares);
}

static uint32_t rt_xadd32(uint32_t *p, uint32_t v)
{
	asm volatile("lock xaddl %0, %1" : "+r"(v), "+m"(*p) : : "memory");
	return v;
}

static bool rt_cmpxchg64(uint64_t *p, uint64_t old, uint64_t new)
{
	bool ok;

	asm volatile("lock cmpxchgq %3, %1"
		     : "=@ccz"(ok), "+m"(*p), "+a"(old)
		     : "r"(new)
		     : "memory");
	return ok;
}

/* A spare test page other than @page, from the top down; -1 if none left. */
static int rt_mce_take_spare(unsigned int page)
{
	uint32_t n;
	int spare;

	do {
		n = rt_xadd32(&rt_mce_spares, 1);
		if (n >= MCEFWD_TEST_PAGES)
			return -1;
		spare = MCEFWD_TEST_PAGES - 1 - n;
	} while ((unsigned int)spare == page);
	return spare;
}

/*
 * Test page i is identity mapped by PTE i of PT1. Several vCPUs may be told
 * about the same error: the first to swap the PTE retires the page, the
 * others see it already points elsewhere (a lost race costs one spare).
 */
static void rt_mce_retire(uint64_t addr)
{
	uint64_t gva, old, new, *pte;
	unsigned int page;
	int spare;

	if (addr < MCEFWD_GPA_TEST ||
	    addr >= MCEFWD_GPA_TEST + MCEFWD_TEST_PAGES * MCEFWD_PAGE_SIZE)
		return;
	page = (addr - MCEFWD_GPA_TEST) / MCEFWD_PAGE_SIZE;
	gva = MCEFWD_GPA_TEST + page * MCEFWD_PAGE_SIZE;
	pte = (uint64_t *)(MCEFWD_GPA_PT1 + 8 * page);

	old = READ_ONCE(*pte);
	if ((old & X86_PTE_ADDR_MASK) == gva) {
		spare = rt_mce_take_spare(page);
		if (spare < 0) {
			rt_printf("mce: no spare page left to retire %#lx", gva);
			return;
		}
		new = (old & ~X86_PTE_ADDR_MASK) |
		      (MCEFWD_GPA_TEST + spare * MCEFWD_PAGE_SIZE);
		rt_cmpxchg64(pte, old, new);
	}
	/* Also when another vCPU swapped it: our TLB may still hold the old one. */
	invlpg((void *)gva);
}

/*
 * Action optional: SRAO (UC, S, no AR: the SDM's "UCR error
 * classification"), or no UC at all (AMD's deferred error). AMD's AR has UC
 * without S.
 */
static bool rt_mce_is_ao(uint64_t status)
{
	return !(status & MCI_STATUS_UC) ||
	       ((status & MCI_STATUS_S) && !(status & MCI_STATUS_AR));
}

/* Reads MCG_CAP, MCG_STATUS and every bank into r, before anything is cleared. */
static void rt_mce_snapshot(struct mcefwd_mce_record *r)
{
	unsigned int i;

	r->mcg_cap = rdmsr(MCEFWD_MSR_IA32_MCG_CAP);
	r->mcg_status = rdmsr(MCEFWD_MSR_IA32_MCG_STATUS);
	r->nr_banks = r->mcg_cap & MCG_CAP_COUNT_MASK;
	if (r->nr_banks > MCEFWD_MAX_BANKS)
		r->nr_banks = MCEFWD_MAX_BANKS;
	/* ADDR and MISC too when not flagged valid: KVM returns what it holds. */
	for (i = 0; i < r->nr_banks; i++) {
		r->bank[i].ctl = rdmsr(rt_msr_mc_ctl(i));
		r->bank[i].status = rdmsr(rt_msr_mc_status(i));
		r->bank[i].addr = rdmsr(rt_msr_mc_addr(i));
		r->bank[i].misc = rdmsr(rt_msr_mc_misc(i));
	}
}

unsigned int rt_mce_poll(void)
{
	struct mcefwd_ucall u;
	struct mcefwd_mce_record *r = &u.u.mce;
	unsigned int i, found = 0;

	memset(&u, 0, sizeof(u));
	u.type = MCEFWD_UCALL_MCE;
	rt_mce_snapshot(r);
	for (i = 0; i < r->nr_banks; i++)
		found += !!(r->bank[i].status & MCI_STATUS_VAL);
	if (!found)
		return 0;
	/* seq 0: found by polling, no #MC was raised. */
	rt_ucall(&u);
	for (i = 0; i < r->nr_banks; i++) {
		if (!(r->bank[i].status & MCI_STATUS_VAL))
			continue;
		wrmsr(rt_msr_mc_status(i), 0);
		if ((r->bank[i].status & MCI_STATUS_ADDRV) &&
		    !((rt_mce_self()->mode & RT_MCE_LOG_AO) && rt_mce_is_ao(r->bank[i].status)))
			rt_mce_retire(r->bank[i].addr);
	}
	return found;
}

void rt_mce_report_delivered(void)
{
	unsigned int polled = rt_mce_count() ? 0 : rt_mce_poll();
	volatile struct mcefwd_mailbox *mb = rt_mailbox();

	/* QEMU's events name no CPU: with more than one, the host judges each vCPU's records. */
	if (rt_qemu && rt_nr_vcpus() > 1) {
		rt_printf("%lu #MCs taken and %u found by polling; QEMU injected %lu in all",
			  rt_mce_count(), polled, mb->events_delivered);
		return;
	}
	report(rt_mce_count() + polled == mb->events_delivered,
	       "%lu #MCs taken and %u found by polling, the host delivered %lu",
	       rt_mce_count(), polled, mb->events_delivered);
}

static void rt_mce_handler(struct rt_frame *f)
{
	struct mcefwd_ucall u;
	struct mcefwd_mce_record *r = &u.u.mce;
	struct rt_mce_cpu *self = rt_mce_self();
	unsigned int i, mode = READ_ONCE(self->mode);

	memset(&u, 0, sizeof(u));
	u.type = MCEFWD_UCALL_MCE;
	r->seq = self->count + 1;
	r->rip = f->rip;
	r->cs = f->cs;
	r->rflags = f->rflags;
	rt_mce_snapshot(r);
	rt_ucall(&u);

	for (i = 0; i < r->nr_banks; i++) {
		const struct mcefwd_mce_bank *b = &r->bank[i];

		if (!(b->status & MCI_STATUS_VAL))
			continue;
		if (!(mode & RT_MCE_KEEP_BANKS))
			wrmsr(rt_msr_mc_status(i), 0);
		/* Even when kept: the interrupted load must not hit the page again. */
		if ((b->status & MCI_STATUS_ADDRV) &&
		    !((mode & RT_MCE_LOG_AO) && rt_mce_is_ao(b->status)))
			rt_mce_retire(b->addr);
	}
	if (!(mode & RT_MCE_KEEP_MCIP))
		wrmsr(MCEFWD_MSR_IA32_MCG_STATUS, 0);
	WRITE_ONCE(self->last_mcg_status, r->mcg_status);
	/* Last: a payload waiting on the count may touch the page right away. */
	WRITE_ONCE(self->count, r->seq);
}

void rt_mce_install(void)
{
	uint64_t cap = rdmsr(MCEFWD_MSR_IA32_MCG_CAP);
	unsigned int i, nr = cap & MCG_CAP_COUNT_MASK;

	/*
	 * As an OS does: KVM drops an uncorrected error for a bank whose
	 * MCi_CTL (or an MCG_CTL, if present) is not all ones.
	 */
	if (cap & MCG_CAP_CTL_P)
		wrmsr(MCEFWD_MSR_IA32_MCG_CTL, ~0ULL);
	for (i = 0; i < nr; i++)
		wrmsr(rt_msr_mc_ctl(i), ~0ULL);
	rt_set_handler(X86_VEC_MC, rt_mce_handler);
}

void rt_mce_install_all(void)
{
	rt_mce_install();
	rt_barrier();
}
