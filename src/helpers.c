// SPDX-License-Identifier: GPL-2.0
/*
 * C helpers for kernel interfaces that are macros or static inlines, which an out-of-tree Rust
 * module cannot reach through the kernel crate's bindings. Only src/sys/ calls them.
 */
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/sched/coredump.h>
#include <linux/sched/exec_state.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/security.h>
#include <linux/swiotlb.h>

/* Called from Rust only (src/sys/); declared here for -Wmissing-prototypes. */
unsigned long ve_page_to_pfn(struct page *page);
void ve_pages_to_pfns(struct page *const *pages, unsigned long n, u64 *pfns);
void ve_cond_resched(void);
bool ve_need_resched(void);
bool ve_fatal_signal_pending(void);
int ve_pinned_vm_charge(struct mm_struct *mm, unsigned long npages);
void ve_pinned_vm_uncharge(struct mm_struct *mm, unsigned long npages);
void ve_vma_make_uncached_pfnmap(struct vm_area_struct *vma);
unsigned long ve_fault_pgoff(struct vm_fault *vmf);
vm_fault_t ve_fault_insert_pfn(struct vm_fault *vmf, unsigned long pfn);
int ve_locked_down(void);
int ve_kuid_from_user(unsigned int uid, unsigned int *kuid);
unsigned int ve_current_kuid(void);

/* For src/sys/gup.rs: the ptrace check for pinning another process, the folio of a page. */
int ve_mm_access(struct task_struct *task, struct mm_struct **mmp);
unsigned long ve_page_folio_span(struct page *page, unsigned long *first_pfn);
void ve_put_page_range(struct page *page, unsigned long npages);

/* For src/sys/dma_map.rs: the DMA API's inline parts, and its IOVA calls (stubs without IOMMU_DMA). */
bool ve_dma_mapping_error(struct device *dev, dma_addr_t addr);
bool ve_dma_force_bounce(struct device *dev);
bool ve_dma_iova_try_alloc(struct device *dev, struct dma_iova_state *state, size_t size);
int ve_dma_iova_link(struct device *dev, struct dma_iova_state *state, phys_addr_t phys,
		     size_t offset, size_t size, enum dma_data_direction dir);
int ve_dma_iova_sync(struct device *dev, struct dma_iova_state *state, size_t offset, size_t size);
void ve_dma_iova_destroy(struct device *dev, struct dma_iova_state *state, size_t mapped_len,
			 enum dma_data_direction dir);

/* For src/sys/notifier.rs: the MMU interval notifier's sequence update. */
void ve_mmu_interval_set_seq(struct mmu_interval_notifier *sub, unsigned long seq);

unsigned long ve_page_to_pfn(struct page *page)
{
	return page_to_pfn(page);
}

void ve_pages_to_pfns(struct page *const *pages, unsigned long n, u64 *pfns)
{
	unsigned long i;

	for (i = 0; i < n; i++)
		pfns[i] = page_to_pfn(pages[i]);
}

void ve_cond_resched(void)
{
	cond_resched();
}

bool ve_need_resched(void)
{
	return need_resched();
}

bool ve_fatal_signal_pending(void)
{
	return fatal_signal_pending(current);
}

/*
 * Pinned-memory accounting, as RDMA and io_uring do it: pages are charged to the pinned mm's
 * pinned_vm, lock-free, against the caller's RLIMIT_MEMLOCK unless the caller has CAP_IPC_LOCK.
 * Over the limit nothing is charged and -ENOMEM is returned.
 */
int ve_pinned_vm_charge(struct mm_struct *mm, unsigned long npages)
{
	unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	s64 total = atomic64_add_return(npages, &mm->pinned_vm);

	if (total > limit && !capable(CAP_IPC_LOCK)) {
		atomic64_sub(npages, &mm->pinned_vm);
		return -ENOMEM;
	}
	return 0;
}

void ve_pinned_vm_uncharge(struct mm_struct *mm, unsigned long npages)
{
	atomic64_sub(npages, &mm->pinned_vm);
}

/*
 * src/sys/gup.rs reads physical contiguity off struct page pointers: consecutive page frames
 * must have consecutive struct pages, as with the vmemmap or the flat memory model.
 */
#if !defined(CONFIG_SPARSEMEM_VMEMMAP) && !defined(CONFIG_FLATMEM)
#error "ve_drv needs CONFIG_SPARSEMEM_VMEMMAP or CONFIG_FLATMEM"
#endif

/*
 * Sets @vma (being set up by mmap, shared, not executable: checked in Rust) up as a mapping of
 * device registers, uncached, as NEC's driver maps them for VEOS: no copy on fork, no growth, not
 * dumped. The flags and protections are those io_remap_pfn_range() would set (as vfio-pci's
 * fault-driven BAR mappings do); no page is mapped here (src/sys/mapping.rs sets the VMA's
 * operations, whose fault handler maps pages).
 */
void ve_vma_make_uncached_pfnmap(struct vm_area_struct *vma)
{
	vma->vm_page_prot = pgprot_noncached(vma->vm_page_prot);
	vma->vm_page_prot = pgprot_decrypted(vma->vm_page_prot);
	vm_flags_set(vma, VM_IO | VM_PFNMAP | VM_DONTCOPY | VM_DONTEXPAND | VM_DONTDUMP);
}

/* The file page offset of the faulting address (the VMA's vm_pgoff plus its page in the VMA). */
unsigned long ve_fault_pgoff(struct vm_fault *vmf)
{
	return vmf->pgoff;
}

/* Maps page frame @pfn (a register page Rust checked) at the faulting address. */
vm_fault_t ve_fault_insert_pfn(struct vm_fault *vmf, unsigned long pfn)
{
	return vmf_insert_pfn(vmf->vma, vmf->address & PAGE_MASK, pfn);
}

/*
 * 0, or -EPERM when kernel lockdown forbids raw memory access (as /dev/mem: LOCKDOWN_DEV_MEM) or
 * direct PCI device access (as sysfs resourceN mmap: LOCKDOWN_PCI_ACCESS); a user-space DMA
 * manager does both.
 */
/* make_kuid() in the caller's user namespace; -EINVAL for a uid that maps to no kuid. */
int ve_kuid_from_user(unsigned int uid, unsigned int *kuid)
{
	kuid_t k = make_kuid(current_user_ns(), uid);

	if (!uid_valid(k))
		return -EINVAL;
	*kuid = __kuid_val(k);
	return 0;
}

/* current_uid(): the caller's real uid, as NEC's fault check compares it. */
unsigned int ve_current_kuid(void)
{
	return __kuid_val(current_uid());
}

int ve_locked_down(void)
{
	int ret = security_locked_down(LOCKDOWN_DEV_MEM);

	return ret ? ret : security_locked_down(LOCKDOWN_PCI_ACCESS);
}

/*
 * May the caller attach to @task as ptrace would (PTRACE_MODE_ATTACH_REALCREDS)? The rules of
 * __ptrace_may_access() (kernel/ptrace.c): the same thread group; or the caller's real uid and
 * gid equal every uid and gid of the target, or CAP_SYS_PTRACE in the target's user namespace;
 * then the target must be dumpable by its owner (not prctl(PR_SET_DUMPABLE, 0), not set-id), or
 * the caller needs CAP_SYS_PTRACE in the namespace of its exec state. Called with the target's
 * exec_update_lock held for reading, as mm_access() calls ptrace_may_access().
 */
static bool ve_may_attach(struct task_struct *task)
{
	const struct cred *cred = current_cred(), *tcred;
	const struct task_exec_state *es;
	bool ok;

	if (same_thread_group(task, current))
		return true;
	task_lock(task);
	rcu_read_lock();
	tcred = __task_cred(task);
	ok = (uid_eq(cred->uid, tcred->euid) && uid_eq(cred->uid, tcred->suid) &&
	      uid_eq(cred->uid, tcred->uid) && gid_eq(cred->gid, tcred->egid) &&
	      gid_eq(cred->gid, tcred->sgid) && gid_eq(cred->gid, tcred->gid)) ||
	     ns_capable(tcred->user_ns, CAP_SYS_PTRACE);
	rcu_read_unlock();
	if (ok) {
		/* Dumpability after the credentials: pairs with commit_creds(), as in ptrace.c. */
		smp_rmb();
		rcu_read_lock();
		es = rcu_dereference(task->exec_state);
		ok = READ_ONCE(es->dumpable) == TASK_DUMPABLE_OWNER ||
		     ns_capable(es->user_ns, CAP_SYS_PTRACE);
		rcu_read_unlock();
	}
	task_unlock(task);
	return ok;
}

/*
 * mm_access(@task, PTRACE_MODE_ATTACH_REALCREDS), the check process_vm_writev() makes before it
 * touches another process's memory: on success *@mmp is @task's mm with mm_users raised (the
 * caller mmput()s it). Errors: -ESRCH (no mm: a kernel thread or an exiting task), -EINTR (fatal
 * signal while waiting for an exec in progress), -EPERM (the caller may not ptrace @task;
 * mm_access() says -EACCES there and process_vm_writev() turns it into EPERM, as here).
 *
 * Neither mm_access() nor ptrace_may_access() is exported to modules in 7.3, and neither is the
 * LSM hook security_ptrace_access_check(). So this is mm_access() built from exported and inline
 * pieces (down_read_killable() on exec_update_lock, get_task_mm(), ns_capable()) with the
 * credential and dumpability rules of __ptrace_may_access() in ve_may_attach(); what it cannot do
 * is ask the LSMs (Yama ptrace_scope, SELinux/AppArmor ptrace rules), which an in-tree driver
 * would get by calling mm_access() itself. The caller's own mm needs no check, as in mm_access().
 */
int ve_mm_access(struct task_struct *task, struct mm_struct **mmp)
{
	struct mm_struct *mm;
	int err;

	err = down_read_killable(&task->signal->exec_update_lock);
	if (err)
		return err;
	mm = get_task_mm(task);
	if (!mm) {
		err = -ESRCH;
	} else if (mm != current->mm && !ve_may_attach(task)) {
		mmput(mm);
		err = -EPERM;
	}
	up_read(&task->signal->exec_update_lock);
	if (!err)
		*mmp = mm;
	return err;
}

/*
 * The folio that holds @page (pinned by the caller, so the folio can be neither split nor freed):
 * its number of pages, and its first page frame in *@first_pfn.
 */
unsigned long ve_page_folio_span(struct page *page, unsigned long *first_pfn)
{
	struct folio *folio = page_folio(page);

	*first_pfn = folio_pfn(folio);
	return folio_nr_pages(folio);
}

/*
 * Drops the reference (FOLL_GET) held on each of the @npages physically contiguous pages from
 * @page (consecutive struct pages: see the memory model check above).
 */
void ve_put_page_range(struct page *page, unsigned long npages)
{
	unsigned long i;

	for (i = 0; i < npages; i++)
		put_page(page + i);
}

bool ve_dma_mapping_error(struct device *dev, dma_addr_t addr)
{
	return dma_mapping_error(dev, addr) != 0;
}

/* swiotlb=force, or a confidential guest: every streaming mapping bounces. */
bool ve_dma_force_bounce(struct device *dev)
{
	return is_swiotlb_force_bounce(dev);
}

/* Page-aligned transfers only: the physical address that sets the IOVA's alignment is 0. */
bool ve_dma_iova_try_alloc(struct device *dev, struct dma_iova_state *state, size_t size)
{
	return dma_iova_try_alloc(dev, state, 0, size);
}

int ve_dma_iova_link(struct device *dev, struct dma_iova_state *state, phys_addr_t phys,
		     size_t offset, size_t size, enum dma_data_direction dir)
{
	return dma_iova_link(dev, state, phys, offset, size, dir, 0);
}

int ve_dma_iova_sync(struct device *dev, struct dma_iova_state *state, size_t offset, size_t size)
{
	return dma_iova_sync(dev, state, offset, size);
}

void ve_dma_iova_destroy(struct device *dev, struct dma_iova_state *state, size_t mapped_len,
			 enum dma_data_direction dir)
{
	dma_iova_destroy(dev, state, mapped_len, dir, 0);
}

void ve_mmu_interval_set_seq(struct mmu_interval_notifier *sub, unsigned long seq)
{
	mmu_interval_set_seq(sub, seq);
}
