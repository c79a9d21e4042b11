// SPDX-License-Identifier: GPL-2.0

//! One card: the state shared by its open files and its interrupt handler ([`Card`]), and what
//! the PCI binding owns ([`CardBinding`]).
//!
//! Lifetimes: a `Card` lives in an `Arc` held by the binding, the IRQ handler and every open file,
//! so a file may outlive the binding. Its register BARs are `Devres`: revoked when the device is
//! unbound, after which every register access fails with `ENODEV`.
//!
//! Lock order (outermost first):
//! - `mmap_lock` (mmap and munmap of the register mapping) -> `Card::dma` (mutex: the DMA
//!   manager; held for bookkeeping and register writes, never while pinning, also taken by the
//!   threaded IRQ handler) -> `i_mmap_rwsem` (zapping the register mapping) and -> `Card::events`
//!   (spinlock, interrupts off; also taken in the hard IRQ handler);
//! - `Card::ping` (mutex) -> `Card::events`;
//! - `Card::pins` (mutex) is taken alone: nothing else is locked while it is held, and pages are
//!   unpinned after it is released.
//! Register accesses run under the `Devres` RCU read lock and never sleep.

use kernel::{
    device::Bound,
    io::{
        poll::read_poll_timeout,
        Io, //
    },
    irq::{
        self,
        IrqReturn,
        ThreadedIrqReturn, //
    },
    new_condvar,
    new_mutex,
    new_poll_condvar,
    new_spinlock_irq,
    pci::{
        self,
        DevresBar, //
    },
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
        SpinLockIrq, //
    },
    time::{
        msecs_to_jiffies,
        Delta,
        Jiffies,
        Instant,
        Monotonic, //
    }, //
};

use crate::{
    chip::{
        self,
        Chip,
        Kick, //
    },
    dma::{
        engine::{
            self,
            HaltOutcome,
            Status, //
        },
        DmaState, //
    },
    hw::{
        self,
        emu, //
    },
    pin::lists::PinLists,
    regs::{
        self,
        Regs, //
    },
    sys::{
        self,
        MappedSpace,
        MiscNode,
        MsixIrq,
        RegisterFault,
        RegisterWindow,
        VmFault, //
    },
    uapi, //
};

/// How long the privileged DMA engine may take to report HALT (see [`Card::halt_pdma`]).
pub(crate) const HALT_TIMEOUT_MS: i64 = 200;

/// Cards one host may carry (NEC supports 8 VEs per VH).
pub(crate) const MAX_CARDS: usize = 16;

/// Device node names, `/dev/ve0` .. `/dev/ve15`.
const NODE_NAMES: [&CStr; MAX_CARDS] = [
    c"ve0", c"ve1", c"ve2", c"ve3", c"ve4", c"ve5", c"ve6", c"ve7", c"ve8", c"ve9", c"ve10",
    c"ve11", c"ve12", c"ve13", c"ve14", c"ve15",
];

/// Bitmap of card indices in use.
static CARD_INDICES: Atomic<u64> = Atomic::new(0);

/// A card index, reserved until dropped.
///
/// # Invariants
///
/// `self.0 < MAX_CARDS` and bit `self.0` of [`CARD_INDICES`] is set and owned by this value.
pub(crate) struct CardIndex(u32);

impl CardIndex {
    /// Reserves the lowest free index, or fails with `ENOSPC`.
    pub(crate) fn alloc() -> Result<Self> {
        let mut cur = CARD_INDICES.load(Relaxed);
        loop {
            let free = (!cur).trailing_zeros() as usize;
            if free >= MAX_CARDS {
                return Err(ENOSPC);
            }
            match CARD_INDICES.cmpxchg(cur, cur | (1 << free), kernel::sync::atomic::Full) {
                // INVARIANT: the bit was clear and this cmpxchg set it.
                Ok(_) => return Ok(Self(free as u32)),
                Err(now) => cur = now,
            }
        }
    }

    /// The index.
    pub(crate) fn get(&self) -> u32 {
        self.0
    }
}

impl Drop for CardIndex {
    fn drop(&mut self) {
        let bit = 1u64 << self.0;
        let mut cur = CARD_INDICES.load(Relaxed);
        while let Err(now) = CARD_INDICES.cmpxchg(cur, cur & !bit, kernel::sync::atomic::Full) {
            cur = now;
        }
    }
}

/// What probe learnt from the emulator's identification block.
#[derive(Copy, Clone, Debug)]
pub(crate) struct EmuIdent {
    pub(crate) abi_version: u32,
    pub(crate) emu_peer: u32,
    pub(crate) ve_mem_size: u64,
    pub(crate) nonce: u64,
}

/// Checks that `bar2` really is the VE engine emulator, before the driver touches anything else:
/// magic, ABI version, and peer ids consistent with this VM's IVPosition. `ENODEV` otherwise, so a
/// plain ivshmem device is never claimed.
pub(crate) fn identify_emulator(bar2: &pci::Bar<'_>, bar0: &pci::Bar<'_>) -> Result<EmuIdent> {
    let regs = Regs::new(bar2, &chip::EMULATOR);
    if regs.emu_read64(emu::OFF_MAGIC)? != emu::MAGIC {
        return Err(ENODEV);
    }
    let abi_version = regs.emu_read32(emu::OFF_ABI_VERSION)?;
    if abi_version != emu::ABI_VERSION {
        return Err(ENODEV);
    }
    let emu_peer = regs.emu_read32(emu::OFF_EMU_PEER)?;
    let guest_peer = regs.emu_read32(emu::OFF_GUEST_PEER)?;
    let ivposition = bar0.try_read32(chip::IVSHMEM_IVPOSITION)?;
    if ivposition == u32::MAX || ivposition != guest_peer || emu_peer == guest_peer {
        return Err(ENODEV);
    }
    if regs.emu_read32(emu::OFF_VECTORS)? < chip::EMULATOR.msix_vectors() {
        return Err(ENODEV);
    }
    Ok(EmuIdent {
        abi_version,
        emu_peer,
        ve_mem_size: regs.emu_read64(emu::OFF_VE_MEM_SIZE)?,
        nonce: regs.emu_read64(emu::OFF_NONCE)?,
    })
}

/// Interrupt bookkeeping, protected by [`Card::events`].
struct Events {
    /// Privileged DMA interrupts handled.
    irq_count: u64,
    /// `VEDRV_CMD_WAIT_INTR` bits caught and not yet reported: `[upper, lower]`.
    pending: [u64; 2],
    /// The card was unbound: waiters must give up.
    removed: bool,
}

/// Fixed facts about a card, gathered at probe.
pub(crate) struct CardFacts {
    pub(crate) chip: &'static Chip,
    /// The system-common registers, for NEC's mmap (user_pdma=1).
    pub(crate) scr_window: RegisterWindow,
    pub(crate) index: u32,
    pub(crate) vendor_id: u16,
    pub(crate) device_id: u16,
    pub(crate) scr_bar_size: u64,
    pub(crate) emu: Option<EmuIdent>,
    /// Probe checked that DMA addresses of this device are physical addresses.
    pub(crate) dma_is_phys: bool,
    /// The PCI device, for messages.
    pub(crate) dev: ARef<kernel::device::Device>,
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
    /// NEC's pin lists: entries pinned by `*_PIN_DOWN`, released by address or all at once.
    /// Dropped (and so unpinned) with the card.
    #[pin]
    pins: Mutex<PinLists>,
}

impl Card {
    /// A card whose registers are `regs` (and `doorbell` on the emulator).
    pub(crate) fn new(
        facts: CardFacts,
        regs: DevresBar,
        doorbell: Option<DevresBar>,
    ) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            facts,
            regs,
            doorbell,
            events <- new_spinlock_irq!(Events { irq_count: 0, pending: [0; 2], removed: false }, "ve_drv::Card::events"),
            event_wait <- new_condvar!("ve_drv::Card::event_wait"),
            ping <- new_mutex!(0, "ve_drv::Card::ping"),
            pins <- new_mutex!(PinLists::new(), "ve_drv::Card::pins"),
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

    /// Tells the engine to look at its control registers (see [`regs::kick`]).
    pub(crate) fn kick(&self) -> Result {
        let chip = self.facts.chip;
        let emu_peer = self.facts.emu.map_or(0, |e| e.emu_peer);
        match &self.doorbell {
            None => regs::kick(chip, None, emu_peer),
            Some(db) => db
                .try_access_with(|bar| regs::kick(chip, Some(bar), emu_peer))
                .ok_or(ENODEV)?,
        }
    }

    /// Stops the privileged DMA engine and waits until it reports HALT, as NEC's driver does on
    /// remove and VEOS does before it takes over the engine. Only the DMA manager's state
    /// machine ([`crate::dma::engine`]) decides what an outcome other than `Halted` means.
    pub(crate) fn halt_pdma(&self) -> HaltOutcome {
        if self.with_regs(|r| r.pdma_set_permit(false)).is_err() || self.kick().is_err() {
            // The registers are gone (unbound).
            return HaltOutcome::Gone;
        }
        // TIMEOUT: the engine halts once the descriptor it is on is done: a 64 MiB descriptor
        // takes about 6 ms at PCIe 3.0 x16 speed, and the emulator answers a doorbell within
        // milliseconds even under TCG. NEC's ve_drv gives up after 40 ms; here giving up
        // declares the engine dead (its pages pinned for good, the card out of service), so it
        // waits longer before concluding that. Only failure paths wait here.
        let status = read_poll_timeout(
            || self.with_regs(|r| r.pdma_ctl0()).map(engine::classify_status),
            |status| *status != Status::Running,
            Delta::from_micros(100),
            Delta::from_millis(HALT_TIMEOUT_MS),
        );
        match status {
            Ok(Status::Halted) => HaltOutcome::Halted,
            Ok(_) => HaltOutcome::Gone,
            Err(e) if e == ETIMEDOUT => HaltOutcome::TimedOut,
            Err(_) => HaltOutcome::Gone,
        }
    }

    /// The card's device, for messages.
    pub(crate) fn dev(&self) -> &kernel::device::Device {
        &self.facts.dev
    }

    /// NEC's pin lists.
    pub(crate) fn pins(&self) -> &Mutex<PinLists> {
        &self.pins
    }

    /// The DMA manager.
    pub(crate) fn dma(&self) -> &Mutex<DmaState> {
        &self.dma
    }

    /// Releases `dma` and sleeps until the DMA manager is notified, at most `jiffies`. Waiters
    /// re-read the engine whatever woke them; only a pending signal (`ERESTARTSYS`) is told
    /// apart.
    pub(crate) fn wait_dma(&self, dma: &mut MutexGuard<'_, DmaState>, jiffies: Jiffies) -> Result {
        match self.dma_wait.wait_interruptible_timeout(dma, jiffies) {
            CondVarTimeoutResult::Signal { .. } => Err(ERESTARTSYS),
            CondVarTimeoutResult::Timeout | CondVarTimeoutResult::Woken { .. } => Ok(()),
        }
    }

    /// What pollers of the card's files wait on.
    pub(crate) fn dma_poll(&self) -> &PollCondVar {
        &self.dma_wait
    }

    /// Wakes everyone waiting on the DMA manager.
    pub(crate) fn notify_dma(&self) {
        self.dma_wait.notify_all();
    }

    /// Permits the privileged DMA engine to run what is posted: the real protocol (DMACTL word 0
    /// = PERMIT), then the kick.
    pub(crate) fn start_pdma(&self) -> Result {
        self.with_regs(|r| r.pdma_set_permit(true))?;
        self.kick()
    }

    /// `VEDRV_CMD_WAIT_INTR`: waits up to `timeout` jiffies until one of the `want` bits
    /// (`[upper, lower]`) is caught, then returns and clears the caught ones.
    pub(crate) fn wait_intr(&self, want: [u64; 2], timeout: u64) -> Result<[u64; 2]> {
        let mut events = self.events.lock();
        let mut remaining = timeout;
        loop {
            if events.removed {
                return Err(ENODEV);
            }
            let caught = [events.pending[0] & want[0], events.pending[1] & want[1]];
            if caught != [0, 0] {
                events.pending[0] &= !caught[0];
                events.pending[1] &= !caught[1];
                return Ok(caught);
            }
            if remaining == 0 {
                return Err(ETIMEDOUT);
            }
            match self
                .event_wait
                .wait_interruptible_timeout(&mut events, remaining as _)
            {
                CondVarTimeoutResult::Timeout => remaining = 0,
                // Restarted with the same arguments after a handler with SA_RESTART (the
                // timeout starts again), EINTR otherwise.
                CondVarTimeoutResult::Signal { .. } => return Err(ERESTARTSYS),
                CondVarTimeoutResult::Woken { jiffies } => remaining = jiffies as u64,
            }
        }
    }

    /// The card's variant.
    pub(crate) fn facts_chip(&self) -> &'static Chip {
        self.facts.chip
    }

    /// The card's index (`/dev/ve<index>`).
    pub(crate) fn index(&self) -> u32 {
        self.facts.index
    }

    /// The system-common register window for NEC's mmap.
    pub(crate) fn scr_window(&self) -> &RegisterWindow {
        &self.facts.scr_window
    }

    /// Where VE memory ends for the engine: the size the card reports (the emulator does),
    /// never past the engine's address width.
    pub(crate) fn ve_mem_limit(&self) -> u64 {
        let bound = self.facts.chip.ve_addr_limit;
        self.facts.emu.map_or(bound, |e| e.ve_mem_size.min(bound))
    }

    /// Interrupts handled so far.
    pub(crate) fn irq_count(&self) -> u64 {
        self.events.lock().irq_count
    }

    /// The hard IRQ handler's work: acknowledge INTVEC, count, wake `VEDRV_CMD_WAIT_INTR` and
    /// ping waiters, wake the thread. Never counts on the number of
    /// interrupts matching the number of events: the thread and waiters re-read the registers.
    fn handle_pdma_irq(&self) -> ThreadedIrqReturn {
        // A failure here means the card is being removed; the count still moves so waiters wake.
        let _ = self.with_regs(|r| r.intvec_test_and_clear(self.facts.chip.pdma_vector));
        let (upper, bit) = self.facts.chip.wait_irq;
        let mut events = self.events.lock();
        events.irq_count += 1;
        events.pending[usize::from(!upper)] |= 1 << bit;
        drop(events);
        self.event_wait.notify_all();
        // The thread does nothing while user space owns the engine.
        ThreadedIrqReturn::WakeThread
    }

    /// The IRQ thread's work: reap what the engine finished (unpinning it), refill the ring, wake
    /// the waiters.
    fn handle_pdma_thread(&self) -> IrqReturn {
        // An error means the card is going away; unbind fails every request.
        let _ = self.dma.lock().service(self);
        self.notify_dma();
        IrqReturn::Handled
    }

    /// Whether the card has been unbound.
    pub(crate) fn is_removed(&self) -> bool {
        self.events.lock().removed
    }

    /// Marks the card removed and wakes every waiter: they return `ENODEV`.
    fn mark_removed(&self) {
        self.events.lock().removed = true;
        self.event_wait.notify_all();
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
            pdma_vector: f.chip.pdma_vector,
            msix_vectors: f.chip.msix_vectors(),
            scr_bar_size: f.scr_bar_size,
            irq_count: self.irq_count(),
            dma_is_phys: f.dma_is_phys.into(),
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

    /// `VE_DRV_IOC_PING`: one round trip through the emulator's ping mailbox. Returns the checked
    /// response and the doorbell-to-interrupt time.
    pub(crate) fn ping(&self, value: u64) -> Result<(u64, u64)> {
        let Some(emu_ident) = self.facts.emu else {
            return Err(EOPNOTSUPP);
        };
        let nonce = emu_ident.nonce;
        let mut last_seq = self.ping.lock();
        let seq = *last_seq + 1;
        *last_seq = seq;

        let irqs_before = self.irq_count();
        self.with_regs(|r| {
            r.emu_write64(value, emu::OFF_PING_VALUE)?;
            r.emu_write64(emu::ping_check(nonce, seq, value), emu::OFF_PING_CHECK)?;
            // The sequence number last: it publishes the request.
            r.emu_write64(seq, emu::OFF_PING_SEQ)
        })?;
        let start = Instant::<Monotonic>::now();
        self.kick()?;

        // TIMEOUT: the emulator answers in microseconds; under TCG on a loaded 2-core host the
        // doorbell-to-interrupt round trip was seen up to 4 ms at p99 (shared/docs/emulator.md).
        // Two seconds means the emulator is gone, not slow.
        let mut remaining = msecs_to_jiffies(2000);
        let mut events = self.events.lock();
        loop {
            if events.removed {
                return Err(ENODEV);
            }
            if events.irq_count > irqs_before
                && self.with_regs(|r| r.emu_read64(emu::OFF_PING_ACK))? == seq
            {
                break;
            }
            match self
                .event_wait
                .wait_interruptible_timeout(&mut events, remaining)
            {
                CondVarTimeoutResult::Timeout => return Err(ETIMEDOUT),
                CondVarTimeoutResult::Signal { .. } => return Err(EINTR),
                CondVarTimeoutResult::Woken { jiffies } => remaining = jiffies,
            }
        }
        drop(events);
        let rtt_ns = u64::try_from(start.elapsed().as_nanos()).unwrap_or(0);

        let (status, response) = self.with_regs(|r| {
            Ok((
                r.emu_read64(emu::OFF_PING_STATUS)?,
                r.emu_read64(emu::OFF_PING_RESPONSE)?,
            ))
        })?;
        if status != emu::PING_OK || response != emu::ping_response(nonce, value) {
            return Err(EIO);
        }
        Ok((response, rtt_ns))
    }
}

/// The card is the engine the DMA manager drives: its privileged DMA registers, the start and
/// the halt, and its device for messages.
impl crate::dma::Engine for Card {
    fn post(&self, slot: usize, words: [u64; 4]) -> Result {
        self.with_regs(|r| r.pdma_post(slot, words))
    }

    fn neutralise(&self, slot: usize) -> Result {
        self.with_regs(|r| r.pdma_neutralise(slot))
    }

    fn clear_descriptors(&self) -> Result {
        self.with_regs(|r| r.pdma_clear_descriptors())
    }

    fn ctl1(&self) -> Result<u64> {
        self.with_regs(|r| r.pdma_ctl1())
    }

    fn word0(&self, slot: usize) -> Result<u64> {
        self.with_regs(|r| r.pdma_word0(slot))
    }

    fn set_readptr(&self, slot: usize) -> Result {
        self.with_regs(|r| r.pdma_set_readptr(slot))
    }

    fn start(&self) -> Result {
        self.start_pdma()
    }

    fn halt(&self) -> HaltOutcome {
        self.halt_pdma()
    }

    fn removed(&self) -> bool {
        self.is_removed()
    }

    fn report(&self, what: core::fmt::Arguments<'_>) {
        dev_err!(self.dev(), "privileged DMA: {}\n", what);
    }
}

/// The engine lent to a user-space DMA manager for the life of its register mapping (NEC's
/// mmap): every VMA of the mapping holds a reference. When the last goes, the engine returns to
/// the kernel, unless the kernel took it back already ([`Card::reclaim_engine`], unbind).
pub(crate) struct ScrGrant {
    card: Arc<Card>,
    /// The grant's generation in the DMA manager.
    grant: u64,
}

impl Drop for ScrGrant {
    fn drop(&mut self) {
        let card = &self.card;
        card.dma.lock().take_back(&**card, Some(self.grant));
        card.notify_dma();
    }
}

impl ScrGrant {
    /// A fault in the grant's register mapping: the page is mapped only while this grant still
    /// has the engine and the card is bound (its register BAR not yet released: unbind marks the
    /// card removed under `dma`, and the BAR is revoked after unbind returns). Otherwise
    /// `SIGBUS`. The page is inserted with `dma` held, so a take-back (which zaps under `dma`)
    /// either comes first, and this maps nothing, or comes after and removes what this mapped.
    pub(crate) fn fault(&self, fault: &RegisterFault<'_>) -> VmFault {
        let card = &self.card;
        // Held until the page is inserted.
        let dma = card.dma.lock();
        if !dma.engine().lent_to(Some(self.grant)) || card.is_removed() {
            return VmFault::SIGBUS;
        }
        fault.insert(card.scr_window())
    }
}

/// Lends `card`'s engine to the user-space manager mapping its registers at `space`; `EBUSY`
/// while the kernel manager has requests or another mapping holds the engine, `ENODEV` once the
/// card is unbound.
pub(crate) fn lend_engine(card: &Arc<Card>, space: MappedSpace) -> Result<Arc<ScrGrant>> {
    let mut dma = card.dma.lock();
    // Under `dma`, where unbind marks it: no engine is lent after unbind took it back.
    if card.is_removed() {
        return Err(ENODEV);
    }
    let grant = dma.lend(&**card, space)?;
    drop(dma);
    // Interrupts of the kernel manager's transfers are not the new owner's to wait for.
    card.events.lock().pending = [0; 2];
    // On failure the grant is dropped and gives the engine back.
    Arc::new(
        ScrGrant {
            card: card.clone(),
            grant,
        },
        GFP_KERNEL,
    )
    .inspect_err(|_| {
        card.dma.lock().take_back(&**card, Some(grant));
    })
    .map_err(Into::into)
}

impl Card {
    /// `VE_DRV_IOC_RECLAIM`: takes the engine back from user space, zapping its register
    /// mapping. Returns whether it was lent.
    pub(crate) fn reclaim_engine(&self) -> bool {
        let was = self.dma.lock().take_back(self, None);
        self.notify_dma();
        was
    }
}

/// The privileged DMA interrupt handler.
pub(crate) struct PdmaIrq {
    card: Arc<Card>,
}

impl irq::ThreadedHandler for PdmaIrq {
    fn handle(&self) -> ThreadedIrqReturn {
        self.card.handle_pdma_irq()
    }

    fn handle_threaded(&self) -> IrqReturn {
        self.card.handle_pdma_thread()
    }
}

/// What the PCI binding of one card owns. Fields drop in declaration order: the device node goes
/// first (no new opens), then the interrupt (no handler runs after `free_irq`), then the rest.
#[pin_data]
pub(crate) struct CardBinding<'bound> {
    #[pin]
    node: MiscNode,
    #[pin]
    irq: MsixIrq<'bound, PdmaIrq>,
    card: Arc<Card>,
    _index: CardIndex,
}

impl<'bound> CardBinding<'bound> {
    /// Brings up a probed card: its interrupt, then its device node `/dev/veN`.
    pub(crate) fn new(
        pdev: &'bound pci::Device<Bound>,
        facts: CardFacts,
        index: CardIndex,
        regs: DevresBar,
        doorbell: Option<DevresBar>,
    ) -> impl PinInit<Self, Error> + 'bound {
        pin_init::pin_init_scope(move || {
            let chip = facts.chip;
            let name = NODE_NAMES[index.get() as usize];
            let card = Arc::pin_init(Card::new(facts, regs, doorbell), GFP_KERNEL)?;
            // Probe halted the engine before it enabled bus mastering (`halt_before_master`);
            // halted again through the card, whose state machine starts from here.
            if card.halt_pdma() != HaltOutcome::Halted {
                dev_err!(pdev, "the privileged DMA engine does not halt: not binding\n");
                return Err(EIO);
            }
            card.with_regs(|r| r.pdma_clear_descriptors())?;
            let readptr = card.with_regs(|r| r.pdma_ctl1())? & hw::dmactl::READPTR_MASK;
            card.dma().lock().reset(readptr as usize)?;
            let handler = PdmaIrq { card: card.clone() };
            Ok(try_pin_init!(Self {
                irq <- MsixIrq::new(
                    pdev,
                    chip.msix_vectors(),
                    chip.pdma_vector,
                    c"ve_drv-pdma",
                    Ok::<_, Error>(handler),
                ),
                node <- MiscNode::new(name, card.clone()),
                card,
                _index: index,
            }))
        })
    }

    /// Called while the device is still bound, before the binding is dropped: the engine is
    /// taken back from a user-space manager (its register mapping zapped: a later access gets
    /// SIGBUS), halted, every request fails with `ENODEV` and its pages are unpinned (kept, if
    /// the engine will not halt); no request starts and no mapping gets the engine again; bus
    /// mastering is turned off.
    pub(crate) fn unbind(&self, pdev: &pci::Device<Bound>) {
        let mut dma = self.card.dma().lock();
        // Under `dma`: no request opens, no engine is lent and no register page is mapped after
        // this.
        self.card.mark_removed();
        dma.shut_down(&*self.card);
        if dma.engine().is_dead() {
            dev_warn!(pdev, "privileged DMA engine did not halt\n");
        }
        drop(dma);
        sys::clear_master(pdev);
        self.card.notify_dma();
    }
}

/// Probe, before bus mastering is enabled: stops whatever ran the engine before (firmware,
/// a kernel before kexec, a driver that crashed) as [`Card::halt_pdma`] does, and clears its
/// descriptors, so that no stale descriptor can reach host memory once the device may master
/// the bus. Works on the BARs directly (`doorbell`: the emulator's, `emu_peer` its peer id).
pub(crate) fn halt_before_master(
    chip: &'static Chip,
    bar: &pci::Bar<'_>,
    doorbell: Option<&pci::Bar<'_>>,
    emu_peer: u32,
) -> Result {
    let r = Regs::new(bar, chip);
    r.pdma_set_permit(false)?;
    regs::kick(chip, doorbell, emu_peer)?;
    // TIMEOUT: as in `Card::halt_pdma`.
    let status = read_poll_timeout(
        || r.pdma_ctl0().map(engine::classify_status),
        |status| *status != Status::Running,
        Delta::from_micros(100),
        Delta::from_millis(HALT_TIMEOUT_MS),
    )?;
    if status != Status::Halted {
        return Err(ENODEV);
    }
    r.pdma_clear_descriptors()
}

/// Whether a chip rings a doorbell (the emulator), for probe.
pub(crate) fn needs_doorbell(chip: &Chip) -> bool {
    chip.kick == Kick::IvshmemDoorbell
}

/// Whether `len`, the size of the register BAR, covers the chip's system-common block.
pub(crate) fn scr_bar_fits(chip: &Chip, len: u64) -> bool {
    (chip.scr_offset + chip.scr_size) as u64 <= len
}

#[kunit_tests(ve_drv_card)]
mod tests {
    use super::*;

    /// Indices are handed out lowest-free-first, never twice, and come back when dropped. Cards
    /// bound while the test runs (the emulator at insmod) keep theirs: the test only assumes that
    /// nothing is probed concurrently.
    #[test]
    fn card_index_alloc_release() -> Result {
        let a = CardIndex::alloc()?;
        let b = CardIndex::alloc()?;
        assert_ne!(a.get(), b.get());
        assert!((a.get() as usize) < MAX_CARDS && (b.get() as usize) < MAX_CARDS);
        let freed = a.get();
        drop(a);
        let c = CardIndex::alloc()?;
        assert_eq!(c.get(), freed);

        let mut held = KVec::new();
        loop {
            match CardIndex::alloc() {
                Ok(i) => held.push(i, GFP_KERNEL)?,
                Err(e) => {
                    assert_eq!(e, ENOSPC);
                    break;
                }
            }
        }
        assert!(held.len() + 2 <= MAX_CARDS);
        let mut seen = 0u64;
        for i in Iterator::chain(held.iter(), [&b, &c]) {
            assert_eq!(seen & (1 << i.get()), 0);
            seen |= 1 << i.get();
        }
        drop(held);
        assert!(CardIndex::alloc().is_ok());
        Ok(())
    }

    /// Every node name is `ve<index>`.
    #[test]
    fn node_names_match_indices() -> Result {
        for (i, name) in NODE_NAMES.iter().enumerate() {
            let want = kernel::str::CString::try_from_fmt(fmt!("ve{i}"))?;
            assert_eq!(name.to_bytes(), want.to_bytes());
        }
        Ok(())
    }

    /// The variant table is self-consistent: the PDMA vector is allocated, the register block
    /// fits in the BAR size probe demands, and the emulator mirrors VE1's layout.
    #[test]
    fn chip_table() {
        for chip in [&chip::VE1, &chip::VE3, &chip::EMULATOR] {
            assert!(chip.msix_vectors() > chip.pdma_vector);
            assert!(chip.pdma_desc + hw::desc::NUM * hw::desc::SIZE <= chip.pdma_ctl);
            assert!(chip.pdma_ctl + 16 <= chip.scr_size);
            assert!(scr_bar_fits(chip, (chip.scr_offset + chip.scr_size) as u64));
            assert!(!scr_bar_fits(
                chip,
                (chip.scr_offset + chip.scr_size - 1) as u64
            ));
        }
        assert!(scr_bar_fits(&chip::EMULATOR, hw::emu::BAR2_SIZE as u64));
        assert_eq!(chip::EMULATOR.scr_offset, chip::VE1.scr_offset);
        assert_eq!(chip::EMULATOR.pdma_vector, chip::VE1.pdma_vector);
        assert_eq!(chip::EMULATOR.msix_vectors(), hw::emu::VECTORS);
        assert!(needs_doorbell(&chip::EMULATOR) && !needs_doorbell(&chip::VE1));
    }
}
