// SPDX-License-Identifier: GPL-2.0

//! `/dev/veN`: open files and ioctl dispatch. Argument decoding and permission checks only; the
//! work is done by [`Card`].
//!
//! Every ioctl number not listed in [`dispatch`], NEC's included, returns `ENOTTY`.

mod nec;
mod owners;
mod task;

use kernel::{
    fs::File,
    mm::virt::VmaNew,
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        poll::PollTable,
        Arc, //
    },
    uaccess::UserSlice, //
};

use crate::dma::Channel as _;
use crate::{
    card::{
        self,
        Card, //
    },
    chip::WindowKind,
    dma::{
        manager::Route,
        submit::{
            self,
            Submission,
            WaitEnd, //
        },
        velist, //
    },
    hw::{
        self,
        desc::AddrSpace, //
    },
    sys::{
        self,
        MappedSpace,
        NodeFile, //
    },
    uapi, //
};

/// Owner ids of open files, for the DMA manager's request table.
static NEXT_OWNER: Atomic<u64> = Atomic::new(1);

/// One open file of `/dev/veN`, and NEC's task object of the thread that opened it.
pub(crate) struct VeFile {
    card: Arc<Card>,
    /// Names this file's DMA requests (only it may wait for or cancel them) and its task.
    owner: u64,
    /// An mmap was attempted on this file: `WAIT_EXCEPTION` is refused (`EINVAL`), as NEC's.
    mapped: Atomic<bool>,
    /// `WAIT_EXCEPTION` was called on this file: mmap is refused (`EACCES`), as NEC's.
    waited: Atomic<bool>,
}

impl Drop for VeFile {
    /// Requests still running when the file goes (closed, or its process died) are cancelled:
    /// the engine stops touching their pages before they are unpinned. Then the task goes,
    /// once VEOS has deleted it if it was a VE program's ([`Card::release_task`]).
    fn drop(&mut self) {
        self.card
            .dma()
            .lock()
            .release_owner(&*self.card, self.owner);
        self.card.notify_dma();
        self.card.cache().drop_owner(self.owner);
        self.card.release_ownership(self.owner);
        self.card.release_task(self.owner);
    }
}

/// `poll` readiness bits (`include/uapi/linux/eventpoll.h`).
const EPOLLIN: u32 = 0x001;
const EPOLLERR: u32 = 0x008;
const EPOLLHUP: u32 = 0x010;
const EPOLLRDNORM: u32 = 0x040;

#[vtable]
impl NodeFile for VeFile {
    type Ptr = KBox<Self>;
    type Data = Arc<Card>;

    /// NEC's open: a new task for the calling thread, `EBUSY` if it has one on this card (one
    /// open file per thread; VEOS's threads share its file), `ENODEV` once the card is
    /// unbound.
    fn open(card: &Arc<Card>) -> Result<KBox<Self>> {
        let owner = NEXT_OWNER.fetch_add(1, Relaxed);
        // Before the file exists: its drop releases the task.
        let file = KBox::new(
            VeFile {
                card: card.clone(),
                owner,
                mapped: Atomic::new(false),
                waited: Atomic::new(false),
            },
            GFP_KERNEL,
        )?;
        // On failure the file is dropped: it has no requests and no task.
        card.open_task(owner)?;
        Ok(file)
    }

    fn ioctl(this: &Self, file: &File, cmd: u32, arg: usize) -> Result<isize> {
        dispatch(this, file, cmd, arg)
    }

    /// This driver's own ioctls (numbers from 0x40 on) have the same layout for 32-bit callers:
    /// fixed-width fields, pointers as u64. NEC's (0..31) hold pointers and `unsigned long`, so
    /// they are refused to 32-bit callers rather than misread.
    fn compat_ioctl(this: &Self, file: &File, cmd: u32, arg: usize) -> Result<isize> {
        if uapi::ioc_nr(cmd) < uapi::VE_DMA_NR_BASE {
            return Err(ENOTTY);
        }
        dispatch(this, file, cmd, arg)
    }

    /// NEC's mmap windows (`src/chip.rs`): `ENODEV` once the card is unbound; `EINVAL` for a
    /// private or executable mapping, or one that does not lie inside one window. The register
    /// window needs CAP_SYS_ADMIN (`EACCES`, NEC's), and, as raw device access, CAP_SYS_RAWIO and
    /// no kernel lockdown (`EPERM`); the CR and VE memory windows map for anyone and check at
    /// each fault for CAP_SYS_ADMIN or an owner by uid of the page's CR page or PCIATB entry
    /// (`VEDRV_CMD_ASSIGN_CR`, `_ASSIGN_VEMEM`; SIGBUS otherwise). Pages are mapped uncached, at
    /// fault time.
    ///
    /// Without `user_pdma=1` a register mapping never maps the privileged DMA engine's pages
    /// (descriptors, DMACTL, INTVEC: SIGBUS): the kernel manager keeps the engine. With it, a
    /// mapping at the system-common registers' file offset (at most their size, `EINVAL`) is the
    /// user-space DMA manager's (VEOS): it maps them all and takes the engine from the kernel
    /// manager (`EBUSY` while it has requests). While the engine is lent, further such mappings
    /// through the same open file in the same process share the grant (VEOS maps the registers
    /// twice, in `veos_init` and `ve_dma_open_p`); from another process or another open file
    /// they get `EBUSY`. The engine returns to the kernel when the last mapping of the grant is
    /// unmapped, or at once (every mapping of the grant zapped: SIGBUS) on `VE_DRV_IOC_RECLAIM`
    /// or unbind. The first such mapping taints the kernel (`U`): user space can now make the
    /// device write any host memory, as with vfio's no-IOMMU mode.
    fn mmap(this: &Self, vma: &VmaNew) -> Result {
        let card = &this.card;
        if card.is_removed() {
            return Err(ENODEV);
        }
        // NEC's exclusion: a file is either a pseudo process's (it waits for exceptions) or
        // VEOS's (it maps registers); even a failed mmap makes it VEOS's.
        if this.waited.load(Relaxed) {
            return Err(EACCES);
        }
        this.mapped.store(true, Relaxed);
        sys::mapping::check_register_vma(vma)?;
        let offset = sys::mapping::vma_file_offset(vma);
        let len = (vma.end() - vma.start()) as u64;
        let index = card::window_at(card.windows(), offset, len).ok_or(EINVAL)?;
        let kind = card.windows().get(index).ok_or(EINVAL)?.window.kind;
        if kind == WindowKind::Registers {
            if !sys::capable_sys_admin() {
                return Err(EACCES);
            }
            if !sys::capable_sys_rawio() {
                return Err(EPERM);
            }
            sys::check_lockdown()?;
            let chip = card.facts_chip();
            if crate::module_parameters::user_pdma.value() && offset == chip.mmap_scr {
                if len > chip.scr_size as u64 {
                    return Err(EINVAL);
                }
                let grant = card::lend_engine(card, MappedSpace::of(vma)?)?;
                sys::taint_user_dma(card.dev());
                return sys::mapping::map_registers(vma, grant);
            }
        }
        let holder = card::map_window(card, index, MappedSpace::of(vma)?)?;
        sys::mapping::map_registers(vma, holder)
    }

    /// Readable (`EPOLLIN`) when a request of this file has finished and waits to be collected
    /// with `VE_DMA_IOC_WAIT`; `EPOLLHUP | EPOLLERR` once the card is gone. Readiness follows the
    /// interrupt thread's notifications (a poller sleeps through lost interrupts, a WAIT does
    /// not).
    fn poll(this: &Self, file: &File, table: PollTable<'_>) -> u32 {
        table.register_wait(file, this.card.dma_poll());
        let mut mask = 0;
        if this.card.dma().lock().has_finished(this.owner) {
            mask |= EPOLLIN | EPOLLRDNORM;
        }
        if this.card.is_removed() {
            mask |= EPOLLHUP | EPOLLERR;
        }
        mask
    }
}

/// Routes one ioctl. The permission rule is NEC's: every command, known or not, needs
/// `CAP_SYS_ADMIN` (`EPERM`), except the ones NEC lets a pseudo process (an ordinary user) issue
/// (`WAIT_EXCEPTION`; `GET_EXS_REG` on a VE3); an unknown command is then `EINVAL`, as NEC
/// answers it (VEOS treats other errnos as failures of the command).
fn dispatch(file: &VeFile, vfs: &File, cmd: u32, arg: usize) -> Result<isize> {
    let card = &*file.card;
    let ve3 = card.facts_chip().is_ve3();
    // NEC lets an ordinary user (the pseudo process) wait on its own task, and on a VE3 read its
    // exception status.
    if cmd == uapi::VEDRV_CMD_WAIT_EXCEPTION {
        return wait_exception(file, vfs, arg);
    }
    if cmd == uapi::VEDRV_CMD_GET_EXS_REG && ve3 {
        let exs = card.task_exs(file.owner)?;
        write_user(arg, &exs)?;
        return Ok(0);
    }
    if !sys::capable_sys_admin() {
        return Err(EPERM);
    }
    match cmd {
        uapi::VE_DRV_IOC_INFO => info(card, arg),
        uapi::VE_DRV_IOC_PING => ping(card, arg),
        uapi::VE_DRV_IOC_PIN_BENCH if crate::module_parameters::test_ioctls.value() => {
            pin_bench(arg)
        }
        uapi::VE_DRV_IOC_CORE_STATE if crate::module_parameters::test_ioctls.value() => {
            core_state(card, arg)
        }
        uapi::VE_DMA_IOC_XFER => dma_xfer(file, arg),
        uapi::VE_DMA_IOC_SUBMIT => dma_submit(file, arg),
        uapi::VE_DMA_IOC_WAIT => dma_wait(file, arg),
        uapi::VE_DMA_IOC_CANCEL => dma_cancel(file, arg),
        uapi::VE_DMA_IOC_CACHE => dma_cache(file, arg),
        uapi::VEDRV_CMD_WAIT_INTR => wait_intr(card, arg, false),
        uapi::VEDRV_CMD_COMPAT_VE1_WAIT_INTR => wait_intr(card, arg, true),
        uapi::VE_DRV_IOC_KICK => card.kick().map(|()| 0),
        uapi::VE_DRV_IOC_RECLAIM => Ok(card.reclaim_engine().into()),
        uapi::VEDRV_CMD_VHVA_TO_VSAA => nec::vhva_to_vsaa(card, arg, false),
        uapi::VEDRV_CMD_VHVA_TO_VSAA_PIN_DOWN => nec::vhva_to_vsaa(card, arg, true),
        uapi::VEDRV_CMD_VHVA_TO_VSAA_BLK => nec::vhva_to_vsaa_blk(card, arg, false),
        uapi::VEDRV_CMD_VHVA_TO_VSAA_BLK_PIN_DOWN => nec::vhva_to_vsaa_blk(card, arg, true),
        uapi::VEDRV_CMD_RELEASE_PD_PAGE => nec::release_pd_page(card, arg),
        uapi::VEDRV_CMD_RELEASE_PD_PAGE_BLK => nec::release_pd_page_blk(card, arg),
        uapi::VEDRV_CMD_RELEASE_PD_PAGE_ALL => nec::release_pd_page_all(card, arg),
        uapi::VEDRV_CMD_COUNT_PD_PAGE_ALL => nec::count_pd_page_all(card, arg),
        uapi::VEDRV_CMD_CREATE_TASK => task::create(card, arg),
        uapi::VEDRV_CMD_ASSIGN_TASK => task::assign(card, arg),
        uapi::VEDRV_CMD_UNASSIGN_TASK => task::unassign(card, arg),
        uapi::VEDRV_CMD_DELETE_TASK => task::delete(card, arg),
        uapi::VEDRV_CMD_REVIVE_TASK => task::revive(card, arg),
        uapi::VEDRV_CMD_DELETE_ALL_TASK => task::delete_all(card),
        uapi::VEDRV_CMD_RST_INTR_COUNT => task::reset_interrupt_count(),
        uapi::VEDRV_CMD_RST_EXSRAR_MEM => task::reset_exsrar(card, arg),
        uapi::VEDRV_CMD_HOST_PID => task::host_pid(arg),
        uapi::VEDRV_CMD_ASSIGN_CR => owners::cr(card, arg, true),
        uapi::VEDRV_CMD_UNASSIGN_CR => owners::cr(card, arg, false),
        uapi::VEDRV_CMD_ASSIGN_VEMEM => owners::vemem(card, arg, true),
        uapi::VEDRV_CMD_UNASSIGN_VEMEM => owners::vemem(card, arg, false),
        uapi::VEDRV_CMD_UNMAP => owners::unmap(card, arg),
        // The level by value, as libved passes it.
        uapi::VEDRV_CMD_VE_VE_RESET => card.reset_card(arg as u64).map(|()| 0),
        uapi::VEDRV_CMD_VE1_UPDATE_FIRMWARE => card.update_firmware().map(|()| 0),
        // VE3's own commands, by value or with a `u64` out; on a VE1 they are unknown
        // (`EINVAL`), as NEC's VE1 driver answers them.
        uapi::VEDRV_CMD_OWNERSHIP if ve3 => card.ownership(file.owner, arg as u64).map(|()| 0),
        uapi::VEDRV_CMD_NOTIFY_FAULT if ve3 => card.notify_fault(file.owner).map(|()| 0),
        uapi::VEDRV_CMD_HANDLE_CLOCK_GATING if ve3 => card.set_clock_gating(arg as u64).map(|()| 0),
        uapi::VEDRV_CMD_GET_CLOCK_GATING_STATE if ve3 => {
            write_user(arg, &card.clock_gating_state()?)?;
            Ok(0)
        }
        uapi::VEDRV_CMD_COMPLETE_MEMCLEAR if ve3 => card.memclear_done().map(|()| 0),
        _ => Err(EINVAL),
    }
}

/// `VEDRV_CMD_WAIT_EXCEPTION`, for anyone on their own file: `EINVAL` if the file was ever
/// mmapped; then it is a waiting file for good (mmap `EACCES`). Out: the exception status.
fn wait_exception(file: &VeFile, vfs: &File, arg: usize) -> Result<isize> {
    if file.mapped.load(Relaxed) {
        return Err(EINVAL);
    }
    file.waited.store(true, Relaxed);
    let nonblock = vfs.flags() & kernel::fs::file::flags::O_NONBLOCK != 0;
    let exs = file.card.wait_exception(file.owner, nonblock)?;
    UserSlice::new(UserPtr::from_addr(arg), size_of::<u64>())
        .writer()
        .write(&exs)?;
    Ok(0)
}

/// `VE_DRV_IOC_INFO`.
fn info(card: &Card, arg: usize) -> Result<isize> {
    let (mut reader, mut writer) =
        UserSlice::new(UserPtr::from_addr(arg), size_of::<uapi::VeDrvInfo>()).reader_writer();
    let req: uapi::VeDrvInfo = reader.read()?;
    if !req.input_valid() {
        return Err(EINVAL);
    }
    writer.write(&card.info()?)?;
    Ok(0)
}

/// `VE_DRV_IOC_PING`.
fn ping(card: &Card, arg: usize) -> Result<isize> {
    let (mut reader, mut writer) =
        UserSlice::new(UserPtr::from_addr(arg), size_of::<uapi::VeDrvPing>()).reader_writer();
    let mut req: uapi::VeDrvPing = reader.read()?;
    if !req.input_valid() {
        return Err(EINVAL);
    }
    let (response, rtt_ns) = card.ping(req.value)?;
    req.response = response;
    req.rtt_ns = rtt_ns;
    writer.write(&req)?;
    Ok(0)
}

/// `VE_DRV_IOC_CORE_STATE` (test only).
fn core_state(card: &Card, arg: usize) -> Result<isize> {
    let (mut reader, mut writer) =
        UserSlice::new(UserPtr::from_addr(arg), size_of::<uapi::VeDrvCoreState>()).reader_writer();
    let mut req: uapi::VeDrvCoreState = reader.read()?;
    if !req.input_valid() {
        return Err(EINVAL);
    }
    let core = req.core as usize;
    let state = *card.cores().lock().core(core).ok_or(EINVAL)?;
    req.count = state.count;
    req.wake = state.wake;
    req.exs = card.read_exs(core)?;
    req.exsrar_slot = card.exsrar_slot(core)?;
    req.intvec = card.with_regs(|r| r.intvec())?;
    writer.write(&req)?;
    Ok(0)
}

/// `VE_DRV_IOC_PIN_BENCH` (test only).
fn pin_bench(arg: usize) -> Result<isize> {
    let (mut reader, mut writer) =
        UserSlice::new(UserPtr::from_addr(arg), size_of::<uapi::VeDrvPinBench>()).reader_writer();
    let mut req: uapi::VeDrvPinBench = reader.read()?;
    if !req.input_valid() {
        return Err(EINVAL);
    }
    let r = crate::pin::bench(
        req.addr,
        req.len,
        req.flags & uapi::VE_DRV_PIN_BENCH_WRITE != 0,
        req.flags & uapi::VE_DRV_PIN_BENCH_LONGTERM != 0,
    )?;
    req.pin_ns = r.pin_ns;
    req.unpin_ns = r.unpin_ns;
    req.pages = r.pages;
    req.runs = r.runs;
    writer.write(&req)?;
    Ok(0)
}

/// `VEDRV_CMD_WAIT_INTR` with NEC's typed mask behind `bits` (`struct ve1_wait_irq` or
/// `struct ve3_wait_irq`, whichever the card is: `EINVAL` for another type word), or VE1's compat
/// form (`compat`: the untyped mask inline in the argument, NEC's v1 and v2; `EINVAL` on a VE3).
/// Waits for any of the bits, writes back the bits caught.
fn wait_intr(card: &Card, arg: usize, compat: bool) -> Result<isize> {
    let card_type = card.facts_chip().wait_irq_type;
    // Where the caught bits go, and the timeout.
    let (out, timeout_ptr, want) = if compat {
        if card_type != uapi::VEDRV_IRQ_TYPE_VE1 {
            return Err(EINVAL);
        }
        let a: uapi::Ve1CompatWaitIrqArg = read_user(arg)?;
        (None, a.timeout, [a.bits.upper, a.bits.lower, 0, 0])
    } else {
        let a: uapi::VeWaitIrqArg = read_user(arg)?;
        let head: uapi::VeWaitIrqHead = read_user(a.bits as usize)?;
        if head.ve_irq_type != card_type {
            return Err(EINVAL);
        }
        let want = if card_type == uapi::VEDRV_IRQ_TYPE_VE3 {
            read_user::<uapi::Ve3WaitIrq>(a.bits as usize)?.intvec
        } else {
            let cond: uapi::Ve1WaitIrq = read_user(a.bits as usize)?;
            [cond.upper, cond.lower, 0, 0]
        };
        (Some(a.bits as usize), a.timeout, want)
    };
    let ts: uapi::Timespec = read_user(timeout_ptr as usize)?;
    if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
        return Err(EINVAL);
    }
    let ms = (ts.tv_sec as u64)
        .saturating_mul(1000)
        .saturating_add(ts.tv_nsec as u64 / 1_000_000);
    let jiffies = kernel::time::msecs_to_jiffies(ms.min(u64::from(u32::MAX)) as u32);
    let caught = card.wait_intr(want, jiffies as u64)?;
    match out {
        Some(bits) if card_type == uapi::VEDRV_IRQ_TYPE_VE3 => write_user(
            bits,
            &uapi::Ve3WaitIrq {
                ve_wait_irq_type: card_type,
                intvec: caught,
            },
        )?,
        Some(bits) => write_user(
            bits,
            &uapi::Ve1WaitIrq {
                ve_wait_irq_type: card_type,
                upper: caught[0],
                lower: caught[1],
            },
        )?,
        // The compat form's mask is inline in the argument.
        None => write_user(
            arg,
            &uapi::Ve1CompatWaitIrq {
                upper: caught[0],
                lower: caught[1],
            },
        )?,
    }
    Ok(0)
}

/// The VE side of a request: `ve_addr` and `len`, or `num_extents` extents read from user
/// address `ve_addr`; checked against `limit` (where the card's VE memory or register space
/// ends), and against `len`.
fn ve_side(limit: u64, ve_addr: u64, len: u64, list: Option<u32>) -> Result<KVec<(u64, u64)>> {
    let mut extents = KVec::new();
    match list {
        None => extents.push((ve_addr, len), GFP_KERNEL)?,
        Some(n) => {
            let n = n as usize;
            let size = n
                .checked_mul(size_of::<uapi::VeDmaExtent>())
                .ok_or(EINVAL)?;
            let mut reader = UserSlice::new(UserPtr::from_addr(ve_addr as usize), size).reader();
            extents.reserve(n, GFP_KERNEL)?;
            for _ in 0..n {
                let e: uapi::VeDmaExtent = reader.read()?;
                extents.push((e.addr, e.len), GFP_KERNEL)?;
            }
        }
    }
    match velist::check(&extents, Some(limit)) {
        Some(total) if total == len => Ok(extents),
        _ => Err(EINVAL),
    }
}

/// The PCIe ordering attributes `VE_DMA_SUBMIT_RO` and `VE_DMA_SUBMIT_IDO` ask for, as
/// descriptor bits of the card's variant.
fn ordering(card: &Card, opt: u32) -> u8 {
    let mut order = 0;
    if opt & uapi::VE_DMA_SUBMIT_RO != 0 {
        order |= hw::desc::ORDER_RO;
    }
    if opt & uapi::VE_DMA_SUBMIT_IDO != 0 {
        order |= card.facts_chip().order_ido;
    }
    order
}

/// A validated `VE_DMA_IOC_SUBMIT` as a [`Submission`]: the route its flags name, its sides
/// checked against the card. `EPERM` for a VH bus address without `CAP_SYS_RAWIO` or under
/// lockdown.
fn submission(card: &Card, req: &uapi::VeDmaSubmit) -> Result<Submission> {
    let order = ordering(card, req.opt);
    if req.direction() == uapi::VE_DMA_VE_TO_VE {
        // Both sides VE memory, one range each: the source checked as the destination is.
        if velist::check(&[(req.ve_addr, req.len)], Some(card.ve_mem_limit())) != Some(req.len) {
            return Err(EINVAL);
        }
        return Ok(Submission {
            route: Route {
                first: AddrSpace::Vemaa,
                second: AddrSpace::Vemaa,
                first_is_src: true,
                order,
            },
            first: req.ve_addr,
            pin: None,
            len: req.len,
            extents: ve_side(card.ve_mem_limit(), req.ve_dst_addr, req.len, None)?,
            cache: false,
        });
    }
    let (second, limit) = if req.has(uapi::VE_DMA_VE_REGS) {
        (AddrSpace::Veraa, card.ve_regs_limit())
    } else {
        (AddrSpace::Vemaa, card.ve_mem_limit())
    };
    let pin = if req.has(uapi::VE_DMA_VH_BUS) {
        // The engine writes or reads whatever the caller names: raw device access.
        if !sys::capable_sys_rawio() {
            return Err(EPERM);
        }
        sys::check_lockdown()?;
        None
    } else {
        Some(req.pid)
    };
    let list = req.has(uapi::VE_DMA_VE_LIST).then_some(req.num_extents);
    Ok(Submission {
        route: Route {
            first: AddrSpace::Vhsaa,
            second,
            first_is_src: req.direction() == uapi::VE_DMA_VH_TO_VE,
            order,
        },
        first: req.vh_addr,
        pin,
        len: req.len,
        extents: ve_side(limit, req.ve_addr, req.len, list)?,
        cache: !req.has(uapi::VE_DMA_NO_CACHE),
    })
}

/// `VE_DMA_IOC_XFER`: submit and wait.
fn dma_xfer(file: &VeFile, arg: usize) -> Result<isize> {
    let card = &*file.card;
    let (mut reader, mut writer) =
        UserSlice::new(UserPtr::from_addr(arg), size_of::<uapi::VeDmaXfer>()).reader_writer();
    let mut req: uapi::VeDmaXfer = reader.read()?;
    if !req.input_valid() {
        return Err(EINVAL);
    }
    let to_ve = req.direction() == uapi::VE_DMA_VH_TO_VE;
    let mut sub = Submission {
        route: Route::host_ve(to_ve),
        first: req.vh_addr,
        pin: Some(req.pid),
        len: req.len,
        extents: ve_side(card.ve_mem_limit(), req.ve_addr, req.len, None)?,
        cache: req.flags & uapi::VE_DMA_NO_CACHE == 0,
    };
    let poll = req.flags & uapi::VE_DMA_NO_POLL == 0;
    // A short transfer of the caller's own memory goes through a copy slot if one is free.
    let slot = if req.pid == 0 && req.flags & uapi::VE_DMA_NO_COPY == 0 {
        card.copy_slot(req.len)
    } else {
        None
    };
    let (out, res) = match slot {
        Some(mut slot) => {
            let len = req.len as usize;
            if to_ve {
                card.copy_in(&slot, req.vh_addr, len)?;
            }
            let dev = slot.lend()?;
            sub.first = dev.bus();
            sub.pin = None;
            let (mut out, mut res) = submit::transfer_through(card, file.owner, &sub, dev, poll);
            if res.is_ok() && !to_ve {
                // The data reached the VH buffer only if this copy did.
                if let Err(e) = card.copy_out(&slot, req.vh_addr, len) {
                    out.bytes_done = 0;
                    res = Err(e);
                }
            }
            (out, res)
        }
        None => submit::transfer(card, file.owner, &sub, poll),
    };
    req.bytes_done = out.bytes_done;
    req.descs = out.descs;
    req.exception = out.exception;
    writer.write(&req)?;
    res.map(|()| 0)
}

/// `VE_DMA_IOC_SUBMIT`.
fn dma_submit(file: &VeFile, arg: usize) -> Result<isize> {
    let card = &*file.card;
    let (mut reader, mut writer) =
        UserSlice::new(UserPtr::from_addr(arg), size_of::<uapi::VeDmaSubmit>()).reader_writer();
    let mut req: uapi::VeDmaSubmit = reader.read()?;
    if !req.input_valid() {
        return Err(EINVAL);
    }
    let sub = submission(card, &req)?;
    req.id = submit::submit(card, file.owner, &sub).map_err(|(e, _)| e)?;
    if let Err(e) = writer.write(&req) {
        // The caller cannot learn the id: stop the request rather than leave it unreachable
        // until close. What the cleanup meets (the request finished meanwhile, a dead engine the
        // manager reported) changes nothing for the caller, who gets `EFAULT`.
        let _ = submit::cancel(card, file.owner, req.id);
        let _ = submit::wait(card, file.owner, req.id, WaitEnd::After(0), false);
        return Err(e);
    }
    Ok(0)
}

/// `VE_DMA_IOC_WAIT`.
fn dma_wait(file: &VeFile, arg: usize) -> Result<isize> {
    let (mut reader, mut writer) =
        UserSlice::new(UserPtr::from_addr(arg), size_of::<uapi::VeDmaWait>()).reader_writer();
    let mut req: uapi::VeDmaWait = reader.read()?;
    if !req.input_valid() {
        return Err(EINVAL);
    }
    let c = submit::wait(
        &*file.card,
        file.owner,
        req.id,
        WaitEnd::After(req.timeout_ms),
        req.flags & uapi::VE_DMA_NO_POLL == 0,
    )?;
    req.id = c.id;
    req.bytes_done = c.out.bytes_done;
    req.descs = c.out.descs;
    req.exception = c.out.exception;
    req.status = match c.result {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    };
    // The request is collected: if this write fails, its report is lost with it.
    writer.write(&req)?;
    Ok(0)
}

/// `VE_DMA_IOC_CACHE`.
fn dma_cache(file: &VeFile, arg: usize) -> Result<isize> {
    let (mut reader, mut writer) =
        UserSlice::new(UserPtr::from_addr(arg), size_of::<uapi::VeDmaCache>()).reader_writer();
    let mut req: uapi::VeDmaCache = reader.read()?;
    if !req.input_valid() {
        return Err(EINVAL);
    }
    let cache = file.card.cache();
    if req.flags & uapi::VE_DMA_CACHE_DROP != 0 {
        cache.drop_owner(file.owner);
    }
    let r = cache.report();
    req.entries = r.entries as u32;
    req.hits = r.stats.hits;
    req.misses = r.stats.misses;
    req.bypasses = r.stats.bypasses;
    req.invalidations = r.stats.invalidations;
    req.evictions = r.stats.evictions;
    req.bytes = r.held;
    req.cap = r.cap;
    writer.write(&req)?;
    Ok(0)
}

/// `VE_DMA_IOC_CANCEL`.
fn dma_cancel(file: &VeFile, arg: usize) -> Result<isize> {
    let req: uapi::VeDmaCancel =
        UserSlice::new(UserPtr::from_addr(arg), size_of::<uapi::VeDmaCancel>())
            .reader()
            .read()?;
    if !req.input_valid() {
        return Err(EINVAL);
    }
    submit::cancel(&*file.card, file.owner, req.id)?;
    Ok(0)
}

/// Reads a `T` from user address `addr`.
fn read_user<T: kernel::transmute::FromBytes>(addr: usize) -> Result<T> {
    UserSlice::new(UserPtr::from_addr(addr), size_of::<T>())
        .reader()
        .read()
}

/// Writes `v` to user address `addr`.
fn write_user<T: kernel::transmute::AsBytes>(addr: usize, v: &T) -> Result {
    UserSlice::new(UserPtr::from_addr(addr), size_of::<T>())
        .writer()
        .write(v)
}
