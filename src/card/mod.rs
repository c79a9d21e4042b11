// SPDX-License-Identifier: GPL-2.0

//! One card: the state shared by its open files and its interrupt handler ([`Card`]), and what
//! the PCI binding owns ([`CardBinding`]). Split by concern:
//! - [`binding`]: probe's binding of a card (index, device node, interrupt) and unbind;
//! - [`pdma`]: the privileged DMA engine (halt, start, kick), its interrupt and
//!   `VEDRV_CMD_WAIT_INTR`, and the engine the DMA manager drives;
//! - [`lending`]: the engine lent to a user-space DMA manager through a register mapping;
//! - [`windows`]: NEC's mmap windows and the mappings that do not take the engine;
//! - [`owners`]: NEC's owners by uid of CR pages and PCIATB entries, and `VEDRV_CMD_UNMAP`;
//! - [`emulator`]: the engine emulator's identification block and ping;
//! - [`tasks`]: NEC's task objects, one per open file;
//! - [`cores`]: the VE cores (interrupt counts, assigned task, EXS, EXSRAR) and the handlers of
//!   every MSI-X entry but the privileged DMA one;
//! - [`reset`]: NEC's card reset (`VE_VE_RESET`) and firmware update;
//! - [`sysfs`]: NEC's sysfs attributes.
//!
//! Lifetimes: a `Card` lives in an `Arc` held by the binding, the IRQ handler and every open file,
//! so a file may outlive the binding. Its register BARs are `Devres`: revoked when the device is
//! unbound, after which every register access fails with `ENODEV`.
//!
//! Lock order (outermost first), the driver's only statement of it:
//! - `mmap_lock` (mmap, munmap and faults of the register mapping) -> `Card::dma` (mutex: the DMA
//!   manager; held for bookkeeping and register writes, never while pinning, also taken by the
//!   threaded IRQ handler) -> `i_mmap_rwsem` (zapping the register mapping) and -> `Card::events`
//!   (spinlock, interrupts off; also taken in the hard IRQ handler);
//! - `mmap_lock` -> `Card::maps` (mutex: the mappings that do not take the engine; held while a
//!   fault decides and inserts a page and while unbind or `VEDRV_CMD_UNMAP` zap them) ->
//!   `i_mmap_rwsem`; `Card::maps` is never held with `Card::dma`;
//! - `Card::maps` -> `Card::owners` (mutex: the owners by uid of CR pages and PCIATB entries;
//!   taken by a fault in the CR or VE memory window inside `Card::maps`, and alone by the
//!   `ASSIGN`/`UNASSIGN` ioctls, which allocate under it);
//! - `Card::ping` (mutex) -> `Card::events`;
//! - `Card::pins` (mutex) is taken alone: nothing else is locked while it is held, and pages are
//!   unpinned after it is released.
//! - `Card::tasks` (mutex) is taken alone or -> `Card::cores`; a sysfs notification (`kernfs`
//!   locks) may be sent under it, and a closing file waits on `Card::task_released` with it.
//! - the sysfs state's `ve1` (mutex) -> `Card::cores` (`ve_state` ONLINE resets the counts), and
//!   -> `Card::dma`, -> `Card::ping` (a card reset holds `ve1` from its `os_state` check to its
//!   end; unbind takes it before it marks the card removed, so that a reset under way finishes
//!   first);
//! - `Card::cores` (spinlock, interrupts off; also taken in the hard IRQ handlers of the core
//!   entries) is innermost: register accesses (no sleeping) are made under it, nothing is locked
//!   inside it; `WAIT_EXCEPTION` sleeps on `Card::core_event` with it.
//! - `Card::exsrar` (spinlock: the report slots while the card is bound) is innermost too,
//!   taken alone or inside `ve1`; register writes are made under it.
//! - The registration cache: `RegCache::removal` (mutex) -> `RegCache::index` (mutex), neither
//!   ever with `Card::dma`. `index` is held briefly, never across an allocation or a sleep
//!   (reclaim takes it: the cache's shrinker); entries taken out are unwatched
//!   (`mmu_interval_notifier_remove`, which may wait for an invalidation in progress: the
//!   notifier takes none of the driver's locks), unmapped and unpinned after it, under `removal`.
//!   A `CachedRange`'s `held` (mutex) is innermost: taken alone, or under `Card::dma`.
//!   `RegCache::shrinker` (mutex) is taken alone.
//!
//! Register accesses run under the `Devres` RCU read lock and never sleep.

mod binding;
pub(crate) mod cores;
mod emulator;
mod lending;
mod owners;
mod pdma;
mod reset;
mod sysfs;
mod tasks;
mod ve3;
pub(crate) mod windows;

pub(crate) use binding::{
    halt_before_master,
    needs_doorbell,
    scr_bar_fits,
    CardBinding,
    CardIndex, //
    VE_CLASS,
};
pub(crate) use emulator::{
    identify_emulator,
    EmuIdent, //
};
pub(crate) use lending::lend_engine;
pub(crate) use owners::OwnerKind;
pub(crate) use sysfs::read_vcr;
pub(crate) use windows::{
    map_window,
    resolve_windows,
    window_at,
    CardWindow, //
};

use kernel::{
    new_condvar,
    new_mutex,
    new_poll_condvar,
    new_spinlock,
    new_spinlock_irq,
    pci::DevresBar,
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{
            Atomic,
            Relaxed, //
        },
        poll::PollCondVar,
        Arc,
        CondVar,
        CondVarTimeoutResult,
        Mutex,
        MutexGuard,
        SpinLock,
        SpinLockIrq, //
    },
    time::Jiffies, //
};

use crate::{
    chip::Chip,
    dma::{
        cache::RegCache,
        Channel,
        DmaState, //
    },
    hw::emu,
    pin::lists::PinLists,
    regs::Regs,
    sys::{
        copy_slots::{
            CopyBuffer,
            CpuSlot, //
        },
        dma_map::{
            DmaDevice,
            DmaMode, //
        },
        RegisterWindow,
    },
    uapi, //
};

/// Interrupt bookkeeping, protected by [`Card::events`].
struct Events {
    /// Privileged DMA interrupts handled.
    irq_count: u64,
    /// `VEDRV_CMD_WAIT_INTR` bits caught and not yet reported, in the variant's mask words
    /// ([`crate::chip::Chip::wait_irq`]): VE1 `[upper, lower, 0, 0]`, VE3 `intvec[0..4]`.
    pending: [u64; 4],
    /// The card was unbound: waiters must give up.
    removed: bool,
    /// Core fault and hardware error interrupts handled (for rate-limited logging).
    hw_errors: u64,
}

/// Fixed facts about a card, gathered at probe.
pub(crate) struct CardFacts {
    pub(crate) chip: &'static Chip,
    /// The system-common registers, for NEC's mmap (user_pdma=1).
    pub(crate) scr_window: RegisterWindow,
    /// NEC's mmap windows the card has.
    pub(crate) windows: KVec<CardWindow>,
    pub(crate) index: u32,
    pub(crate) vendor_id: u16,
    pub(crate) device_id: u16,
    pub(crate) scr_bar_size: u64,
    pub(crate) emu: Option<EmuIdent>,
    /// Probe saw a page's DMA address equal its physical address.
    pub(crate) dma_is_phys: bool,
    /// The device as the DMA API sees it, and how it maps.
    pub(crate) dma: DmaDevice,
    /// The VE Configuration Registers, read at probe.
    pub(crate) vcr: crate::hw::vcr::Vcr,
    /// The PCI device: for messages, and its configuration state around a reset.
    pub(crate) pdev: ARef<kernel::pci::Device>,
}

/// One card, shared by its binding, its IRQ handler and its open files.
#[pin_data]
pub(crate) struct Card {
    facts: CardFacts,
    /// The BAR with the system-common registers (and, on the emulator, its identification block).
    regs: DevresBar,
    /// The ivshmem register BAR (emulator only).
    doorbell: Option<DevresBar>,
    #[pin]
    events: SpinLockIrq<Events>,
    /// Notified by the IRQ handler and on removal.
    #[pin]
    event_wait: CondVar,
    /// Serialises pings; holds the last ping sequence number.
    #[pin]
    ping: Mutex<u64>,
    /// The privileged DMA manager: the ring and every request in flight.
    #[pin]
    dma: Mutex<DmaState>,
    /// Notified (with `dma` released) when requests progress or finish; pollers wait on it too.
    #[pin]
    dma_wait: PollCondVar,
    /// What sysfs stores (`os_state`, `ve_state`, ...).
    #[pin]
    sysfs: sysfs::SysfsState,
    /// NEC's pin lists: entries pinned by `*_PIN_DOWN`, released by address or all at once.
    /// Dropped (and so unpinned) with the card.
    #[pin]
    pins: Mutex<PinLists>,
    /// The register mappings that do not take the engine, zapped at unbind.
    #[pin]
    maps: Mutex<windows::MapRegistry>,
    /// NEC's owners by uid of CR pages and PCIATB entries, which the CR and VE memory windows'
    /// faults consult (inside `maps`).
    #[pin]
    owners: Mutex<owners::Owners>,
    /// NEC's task objects, one per open file.
    #[pin]
    tasks: Mutex<tasks::TaskTable>,
    /// Notified (with `tasks` released) when a closer waiting for VEOS may finish.
    #[pin]
    task_released: CondVar,
    /// The VE cores: interrupt counts, assigned tasks, wake-up generations.
    #[pin]
    cores: SpinLockIrq<cores::CoreTable>,
    /// Notified (after `cores` is released) by every core interrupt and at unbind:
    /// `WAIT_EXCEPTION` sleeps on it with `cores`.
    #[pin]
    core_event: CondVar,
    /// The cores' EXSRAR report slots (DMA memory): freed at unbind once every EXSRAR is
    /// disabled ([`Card::stop_cores`]) and bus mastering is off (the DMA API's memory ends with
    /// the binding); `None` after.
    #[pin]
    exsrar: SpinLock<Option<cores::Exsrar>>,
    /// The buffer short transfers are copied through rather than pinned (`dma_copy_max`; `None`
    /// when off, and after unbind: the DMA API's memory ends with the binding).
    #[pin]
    copy: Mutex<Option<CopyBuffer>>,
    /// VH ranges kept pinned and mapped after transfers (`dma_cache_mib`): drained at unbind
    /// (the DMA API's mappings end with the binding) and of an open file's entries at its close.
    cache: Arc<RegCache>,
    /// MSI-X vectors allocated (set once the interrupts are registered).
    msix_vectors: Atomic<u32>,
}

impl Card {
    /// A card whose registers are `regs` (and `doorbell` on the emulator).
    pub(crate) fn new(
        facts: CardFacts,
        regs: DevresBar,
        doorbell: Option<DevresBar>,
        exsrar: cores::Exsrar,
        copy: Option<CopyBuffer>,
        cache: Arc<RegCache>,
    ) -> impl PinInit<Self, Error> {
        let chip = facts.chip;
        let sysfs_state = sysfs::SysfsState::new(chip, &facts.vcr);
        try_pin_init!(Self {
            facts,
            regs,
            doorbell,
            exsrar <- new_spinlock!(Some(exsrar), "ve_drv::Card::exsrar"),
            copy <- new_mutex!(copy, "ve_drv::Card::copy"),
            cache,
            msix_vectors: Atomic::new(0),
            cores <- new_spinlock_irq!(cores::CoreTable::new(), "ve_drv::Card::cores"),
            core_event <- new_condvar!("ve_drv::Card::core_event"),
            sysfs <- sysfs_state,
            events <- new_spinlock_irq!(Events { irq_count: 0, pending: [0; 4], removed: false, hw_errors: 0 }, "ve_drv::Card::events"),
            event_wait <- new_condvar!("ve_drv::Card::event_wait"),
            ping <- new_mutex!(0, "ve_drv::Card::ping"),
            pins <- new_mutex!(PinLists::new(), "ve_drv::Card::pins"),
            maps <- new_mutex!(windows::MapRegistry::new(), "ve_drv::Card::maps"),
            owners <- new_mutex!(
                owners::Owners::new(chip.cr_pages, chip.pciatb_entries),
                "ve_drv::Card::owners"
            ),
            tasks <- new_mutex!(tasks::TaskTable::new(), "ve_drv::Card::tasks"),
            task_released <- new_condvar!("ve_drv::Card::task_released"),
            dma <- new_mutex!(DmaState::new(), "ve_drv::Card::dma"),
            dma_wait <- new_poll_condvar!("ve_drv::Card::dma_wait"),
        })
    }

    /// Runs `f` with the card's registers, or fails with `ENODEV` once the card is gone.
    /// `f` runs under an RCU read lock: it must not sleep.
    pub(crate) fn with_regs<R>(&self, f: impl FnOnce(&Regs<'_>) -> Result<R>) -> Result<R> {
        let chip = self.facts.chip;
        self.regs
            .try_access_with(|bar| f(&Regs::new(bar, chip)))
            .ok_or(ENODEV)?
    }

    /// The card's device, for messages.
    pub(crate) fn dev(&self) -> &kernel::device::Device {
        self.facts.pdev.as_ref()
    }

    /// The card's device as the DMA API sees it.
    pub(crate) fn dma_device(&self) -> &DmaDevice {
        &self.facts.dma
    }

    /// A copy slot for a transfer of `len` bytes, if it is short enough and one is free.
    pub(crate) fn copy_slot(&self, len: u64) -> Option<CpuSlot> {
        let copy = self.copy.lock();
        let buf = copy.as_ref()?;
        if len > buf.slot_len() as u64 {
            return None;
        }
        buf.take()
    }

    /// Copies `len` bytes from user address `addr` into `slot` (not yet lent); `ENODEV` once
    /// the card is unbound.
    pub(crate) fn copy_in(&self, slot: &CpuSlot, addr: u64, len: usize) -> Result {
        let copy = self.copy.lock();
        copy.as_ref().ok_or(ENODEV)?.fill_from_user(slot, addr, len)
    }

    /// Copies `slot`'s first `len` bytes to user address `addr` (its device side gone);
    /// `ENODEV` once the card is unbound.
    pub(crate) fn copy_out(&self, slot: &CpuSlot, addr: u64, len: usize) -> Result {
        let copy = self.copy.lock();
        copy.as_ref().ok_or(ENODEV)?.copy_to_user(slot, addr, len)
    }

    /// The copy buffer, taken at unbind.
    pub(crate) fn take_copy_buffer(&self) -> Option<CopyBuffer> {
        self.copy.lock().take()
    }

    /// NEC's pin lists.
    pub(crate) fn pins(&self) -> &Mutex<PinLists> {
        &self.pins
    }

    /// What pollers of the card's files wait on.
    pub(crate) fn dma_poll(&self) -> &PollCondVar {
        &self.dma_wait
    }

    /// The card's variant.
    pub(crate) fn facts_chip(&self) -> &'static Chip {
        self.facts.chip
    }

    /// The system-common register window for NEC's mmap.
    pub(crate) fn scr_window(&self) -> &RegisterWindow {
        &self.facts.scr_window
    }

    /// The card's VE Configuration Registers, read at probe.
    pub(crate) fn vcr(&self) -> &crate::hw::vcr::Vcr {
        &self.facts.vcr
    }

    /// Where VE memory ends for the engine: the size the card reports (the emulator does),
    /// never past the engine's address width.
    pub(crate) fn ve_mem_limit(&self) -> u64 {
        let bound = self.facts.chip.ve_addr_limit;
        self.facts.emu.map_or(bound, |e| e.ve_mem_size.min(bound))
    }

    /// Where the VE register space (VERAA) ends for a request.
    pub(crate) fn ve_regs_limit(&self) -> u64 {
        self.facts.chip.veraa_limit
    }

    /// Records how many MSI-X vectors the binding got.
    fn set_msix_vectors(&self, n: u32) {
        self.msix_vectors.store(n, Relaxed);
    }

    /// Interrupts handled so far.
    pub(crate) fn irq_count(&self) -> u64 {
        self.events.lock().irq_count
    }

    /// Whether the card has been unbound.
    pub(crate) fn is_removed(&self) -> bool {
        self.events.lock().removed
    }

    /// Marks the card removed and wakes every waiter: they return `ENODEV`.
    fn mark_removed(&self) {
        self.events.lock().removed = true;
        self.cores.lock().removed = true;
        self.event_wait.notify_all();
        self.core_event.notify_all();
    }

    /// The cores' table: lock it for the assigned tasks and wake-up generations.
    pub(crate) fn cores(&self) -> &SpinLockIrq<cores::CoreTable> {
        &self.cores
    }

    /// Fills `VE_DRV_IOC_INFO`.
    pub(crate) fn info(&self) -> Result<uapi::VeDrvInfo> {
        let f = &self.facts;
        let mut info = uapi::VeDrvInfo {
            abi_version: uapi::VE_DRV_ABI_VERSION,
            variant: f.chip.variant as u32,
            card_index: f.index,
            vendor_id: f.vendor_id,
            device_id: f.device_id,
            pdma_vector: f.chip.pdma.vector,
            msix_vectors: self.msix_vectors.load(Relaxed),
            scr_bar_size: f.scr_bar_size,
            irq_count: self.irq_count(),
            dma_is_phys: f.dma_is_phys.into(),
            tasks: self.task_count() as u64,
            dma_mode: match f.dma.mode() {
                DmaMode::Direct => uapi::VE_DRV_DMA_DIRECT,
                DmaMode::Iommu => uapi::VE_DRV_DMA_IOMMU,
                DmaMode::Bounce => uapi::VE_DRV_DMA_BOUNCE,
            },
            ..Default::default()
        };
        if let Some(e) = f.emu {
            info.emu_abi_version = e.abi_version;
            info.ve_mem_size = e.ve_mem_size;
            info.emu_nonce = e.nonce;
            info.emu_irqs_raised = self.with_regs(|r| r.emu_read64(emu::OFF_CNT_IRQS))?;
        }
        Ok(info)
    }
}

impl Channel for Card {
    fn dma(&self) -> &Mutex<DmaState> {
        &self.dma
    }

    fn dma_device(&self) -> &DmaDevice {
        &self.facts.dma
    }

    fn wait_dma(&self, dma: &mut MutexGuard<'_, DmaState>, jiffies: Jiffies) -> Result {
        match self.dma_wait.wait_interruptible_timeout(dma, jiffies) {
            CondVarTimeoutResult::Signal { .. } => Err(ERESTARTSYS),
            CondVarTimeoutResult::Timeout | CondVarTimeoutResult::Woken { .. } => Ok(()),
        }
    }

    fn notify_dma(&self) {
        self.dma_wait.notify_all();
    }

    fn cache(&self) -> &Arc<RegCache> {
        &self.cache
    }
}
