// SPDX-License-Identifier: GPL-2.0

//! The VE cores of a card, as NEC's driver sees them: per core an interrupt count, the task
//! assigned to it, and a wake-up generation; every MSI-X entry's handler (NEC's `ve1_intr()`
//! dispatch, reference 6.2); EXS reads; the EXSRAR report slots.
//!
//! **Core interrupts** (VE1 entries 0-15, entry = physical core): the hard handler, under
//! [`Card::cores`], counts the interrupt, bumps the core's wake-up generation if a task is
//! assigned, and clears the core's INTVEC bit (NEC's order, all under NEC's node lock: an
//! `UNASSIGN_TASK` that holds the lock sees either the count or the INTVEC bit still set, never
//! neither); then it notifies [`Card::core_event`].
//!
//! **Other entries** take NEC's node path: the entry's bit goes into `VEDRV_CMD_WAIT_INTR`'s
//! pending mask ([`crate::hw::ve1::wait_intr_bit`]) and its waiters are woken; faults and errors
//! are logged (rate-limited: the first of each power of two). The privileged DMA entry keeps its
//! threaded handler (`pdma.rs`).
//!
//! **EXSRAR**: at probe every enabled core's EXSRAR names its 8-byte slot of one coherent buffer
//! ([`Exsrar`]); unbind stops the cores, disables every EXSRAR and flushes, before the buffer can
//! go (docs/design.md, "Interrupts", the DMA-safety argument). Nothing reads the slots (NEC has
//! not since v3.0) but a test ioctl.

use kernel::{
    dma::Coherent,
    io::{
        io_read,
        io_write,
        poll::read_poll_timeout_atomic, //
    },
    irq::{
        self,
        IrqReturn, //
    },
    prelude::*,
    sync::Arc,
    time::Delta, //
};

use super::Card;
use crate::chip::NodePath;
use crate::hw::{
    self,
    exs::{
        self,
        RunState, //
    },
    ve1::{
        self,
        Entry, //
    },
};

/// Delay between two EXS reads while a core is halting. NEC waits 100 ns
/// (`exsrar_poll_delay_nsec`); the kernel crate's busy-wait has microsecond resolution, so 1 µs.
const EXS_POLL_DELAY_US: i64 = 1;
/// Reads of a halting core's EXS before giving up: NEC's 10 ms (`exsrar_poll_timeout_msec`) in
/// steps of [`EXS_POLL_DELAY_US`].
const EXS_POLL_RETRIES: usize = 10_000;

/// Cores the table keeps state for: every core an MSI-X entry of either variant can name (VE1 16,
/// VE3 32); a card's own bound is [`crate::chip::CoreRegs::max`].
pub(crate) const CORES: usize = hw::ve3::CORES_MAX;

/// One core's state, protected by [`Card::cores`].
#[derive(Copy, Clone, Debug, Default)]
pub(crate) struct CoreState {
    /// Core interrupts not yet collected (reset by `WAIT_EXCEPTION`, an unassign that finds a
    /// count, `ve_state` ONLINE): NEC's `count`.
    pub(crate) count: u64,
    /// The task assigned to the core: its file id (`VeFile::owner`). Set and cleared by
    /// `ASSIGN_TASK`/`UNASSIGN_TASK` (`tasks.rs`), never by the handlers.
    pub(crate) task: Option<u64>,
    /// Bumped by every interrupt of the core while a task is assigned: NEC's `wait_cond` as a
    /// generation, which `WAIT_EXCEPTION` compares with the one it saw last.
    pub(crate) wake: u64,
}

/// The cores of a card, protected by [`Card::cores`] (a spinlock with interrupts off, also taken
/// in the hard IRQ handler: innermost in the lock order).
pub(crate) struct CoreTable {
    pub(crate) cores: [CoreState; CORES],
    /// The card was unbound: `WAIT_EXCEPTION` gives up (`ENODEV`).
    pub(crate) removed: bool,
}

impl CoreTable {
    pub(crate) fn new() -> Self {
        Self {
            cores: [CoreState::default(); CORES],
            removed: false,
        }
    }

    /// Core `core`'s state, if the table has it.
    pub(crate) fn core(&self, core: usize) -> Option<&CoreState> {
        self.cores.get(core)
    }

    /// Core `core`'s state, mutable, if the table has it.
    pub(crate) fn core_mut(&mut self, core: usize) -> Option<&mut CoreState> {
        self.cores.get_mut(core)
    }
}

/// The EXSRAR report slots: one coherent DMA buffer, 8 bytes per core, zeroed at allocation.
pub(crate) struct Exsrar {
    slots: Coherent<[u64]>,
}

impl Exsrar {
    /// Allocates the slots for [`CORES`] cores.
    pub(crate) fn new(dev: &kernel::device::Device<kernel::device::Bound>) -> Result<Self> {
        Ok(Self {
            slots: Coherent::zeroed_slice(dev, CORES, GFP_KERNEL)?,
        })
    }

    /// The DMA address of core `core`'s slot.
    fn slot_addr(&self, core: usize) -> u64 {
        self.slots.dma_address() + (8 * core) as u64
    }

    /// Zeroes core `core`'s slot (`RST_EXSRAR_MEM`).
    fn zero(&self, core: usize) -> Result {
        io_write!(&self.slots, [try: core], 0u64);
        Ok(())
    }

    /// Reads core `core`'s slot: what the card last reported.
    fn read(&self, core: usize) -> Result<u64> {
        Ok(io_read!(&self.slots, [try: core]))
    }
}

impl Card {
    /// The most cores this card's MSI-X map names.
    fn cores_max(&self) -> usize {
        self.facts.chip.cores.max.min(CORES)
    }

    /// The physical cores probe programmed: enabled in the VCR, below the card's bound.
    pub(crate) fn cores_enabled(&self) -> impl Iterator<Item = usize> + '_ {
        let map = self.vcr().cores_enable();
        (0..self.cores_max()).filter(move |&c| map & (1 << c) != 0)
    }

    /// Whether `core` is an enabled physical core.
    pub(crate) fn core_enabled(&self, core: usize) -> bool {
        core < self.cores_max() && self.vcr().cores_enable() & (1 << core) != 0
    }

    /// Whether core `core`'s INTVEC bit is set: an interrupt raised and not yet handled
    /// (`UNASSIGN_TASK`'s `EAGAIN` test, NEC's). Call with [`Card::cores`] held, so that the
    /// handler's count and clear are seen together.
    pub(crate) fn core_intvec_pending(&self, core: usize) -> Result<bool> {
        if core >= self.cores_max() {
            return Err(EINVAL);
        }
        Ok(self.with_regs(|r| r.intvec_synced())? & (1 << (63 - core)) != 0)
    }

    /// `VEDRV_CMD_RST_EXSRAR_MEM`: zeroes core `core`'s EXSRAR slot. `EINVAL` for a core at or
    /// above the highest enabled one + 1 (NEC's `core_fls`).
    pub(crate) fn reset_exsrar(&self, core: usize) -> Result {
        if core >= self.vcr().core_fls() as usize || core >= self.cores_max() {
            return Err(EINVAL);
        }
        self.exsrar.lock().as_ref().ok_or(ENODEV)?.zero(core)
    }

    /// Core `core`'s EXSRAR slot as the card last wrote it (tests only: nothing else reads it,
    /// as NEC's driver has not since v3.0).
    pub(crate) fn exsrar_slot(&self, core: usize) -> Result<u64> {
        if core >= self.cores_max() {
            return Err(EINVAL);
        }
        self.exsrar.lock().as_ref().ok_or(ENODEV)?.read(core)
    }

    /// Unbind, once the cores are stopped (every EXSRAR disabled) and bus mastering is off: the
    /// report slots go, while the device is still bound.
    pub(crate) fn take_exsrar(&self) -> Option<Exsrar> {
        self.exsrar.lock().take()
    }

    /// Reads core `core`'s EXS over MMIO as NEC's driver does: a running (10b) or halted (01b)
    /// core's value at once; while it is halting (11b) reads again (NEC: every 100 ns, here every
    /// 1 µs) for up to 10 ms, then returns what it read (logged).
    pub(crate) fn read_exs(&self, core: usize) -> Result<u64> {
        if core >= self.cores_max() {
            return Err(EINVAL);
        }
        let off = (self.facts.chip.cores.exs)(core);
        let read = || self.with_regs(|r| r.bar_read64(off));
        // TIMEOUT: NEC's bound (`exsrar_poll_timeout_msec`, 10 ms), kept because VEOS was
        // written against it: NEC expects the "before halt" state to be brief (it polls every
        // 100 ns), so 10 ms means the core will not finish halting, and the caller gets the last
        // value as from NEC's driver. Busy polling (no sleep): callers may hold `Card::cores`, a
        // spinlock; the emulator's cores never read 11b, so this never spins there.
        match read_poll_timeout_atomic(
            read,
            |v| exs::run_state(*v) != RunState::BeforeHalt,
            Delta::from_micros(EXS_POLL_DELAY_US),
            EXS_POLL_RETRIES,
        ) {
            Ok(v) => Ok(v),
            Err(e) if e == ETIMEDOUT => {
                let v = read()?;
                dev_warn!(
                    self.dev(),
                    "core {} did not finish halting: EXS {:#x}\n",
                    core,
                    v
                );
                Ok(v)
            }
            Err(e) => Err(e),
        }
    }

    /// Probe: zeroes every enabled core's slot and points its EXSRAR at it, reporting enabled
    /// (`(slot & !3) | 1`, NEC's `ve_init_exsrar`).
    pub(super) fn program_exsrar(&self) -> Result {
        let exsrar = self.exsrar.lock();
        let exsrar = exsrar.as_ref().ok_or(ENODEV)?;
        for core in self.cores_enabled() {
            exsrar.zero(core)?;
            let value = hw::exsrar::enabled(exsrar.slot_addr(core));
            self.with_regs(|r| r.bar_write64(value, (self.facts.chip.cores.exsrar)(core)))?;
        }
        Ok(())
    }

    /// `ve_state` became ONLINE (NEC's VE1 store): every core's interrupt count to 0, the slots
    /// zeroed and every EXSRAR programmed again, INTVEC cleared.
    pub(super) fn cores_online(&self) -> Result {
        for c in self.cores.lock().cores.iter_mut() {
            c.count = 0;
        }
        self.reports_again()
    }

    /// Every enabled core's slot zeroed and EXSRAR programmed again, INTVEC cleared: after
    /// `ve_state` ONLINE and after a card reset.
    pub(super) fn reports_again(&self) -> Result {
        self.program_exsrar()?;
        self.with_regs(|r| r.intvec_clear_all())
    }

    /// Stops every enabled core (EXS = STOP, as NEC's removal does), disables its report
    /// (EXSRAR = 0), and reads EXSRAR back: on PCIe the read's completion cannot pass a DMA write
    /// the card issued before it, so once it returns no report is in flight. Before unbind frees
    /// the slots, and before a card reset. `EIO` if a report stayed enabled; the callers report a
    /// failure and go on (the card is going, or being reset). On the emulator the read-back
    /// proves nothing about a report it is making at that moment (docs/design.md, "Interrupts": a
    /// known gap, test-only).
    pub(super) fn stop_cores(&self) -> Result {
        let cores = &self.facts.chip.cores;
        self.with_regs(|r| {
            for core in self.cores_enabled() {
                r.bar_write64(exs::STOP, (cores.exs)(core))?;
                r.bar_write64(0, (cores.exsrar)(core))?;
            }
            for core in self.cores_enabled() {
                if r.bar_read64((cores.exsrar)(core))? & hw::exsrar::ENABLE != 0 {
                    return Err(EIO);
                }
            }
            Ok(())
        })
    }

    /// The hard IRQ handler of MSI-X entry `entry` (every entry but the privileged DMA one).
    fn handle_entry_irq(&self, entry: u32) -> IrqReturn {
        match (self.facts.chip.irq_entry)(entry) {
            Entry::Core(core) => self.handle_core_irq(core as usize),
            Entry::Pdma | Entry::Unused => {}
            kind => self.handle_node_irq(entry, kind),
        }
        // Handled whatever it was: a storm or a spurious interrupt changes a count, nothing else.
        IrqReturn::Handled
    }

    /// NEC's core path: count, wake the assigned task, clear the INTVEC bit, under the lock.
    fn handle_core_irq(&self, core: usize) {
        let mut cores = self.cores.lock();
        if let Some(c) = cores.core_mut(core) {
            c.count += 1;
            if c.task.is_some() {
                c.wake += 1;
            }
        }
        // `ENODEV`: the card is being removed.
        if let Err(e) = self.with_regs(|r| r.intvec_clear_core(core as u32)) {
            if e != ENODEV {
                dev_warn!(
                    self.dev(),
                    "core {} interrupt not acknowledged: {:?}\n",
                    core,
                    e
                );
            }
        }
        drop(cores);
        self.core_event.notify_all();
    }

    /// NEC's node path: the entry's pending bits for `VEDRV_CMD_WAIT_INTR`, its waiters woken.
    /// VE1: the entry's own bit. VE3: its INTVEC register read and bit-reversed into its word (a
    /// spurious interrupt, with no bit set there, reports nothing and wakes the waiters).
    fn handle_node_irq(&self, entry: u32, kind: Entry) {
        let report = match self.facts.chip.node {
            NodePath::Ve1 => {
                ve1::wait_intr_bit(entry).map(|(upper, bit)| (usize::from(!upper), 1 << bit))
            }
            NodePath::Ve3 => hw::ve3::node_intvec(entry).and_then(|reg| {
                let value = self.with_regs(|r| r.intvec_at(reg)).ok()?;
                hw::ve3::node_report(entry, value)
            }),
        };
        let Some((word, bits)) = report else {
            return;
        };
        let mut events = self.events.lock();
        events.pending[word] |= bits;
        let n = if matches!(kind, Entry::CoreFault(_) | Entry::HwError(_)) {
            events.hw_errors += 1;
            events.hw_errors
        } else {
            0
        };
        drop(events);
        self.event_wait.notify_all();
        if n.is_power_of_two() {
            dev_err!(
                self.dev(),
                "Hw Error: MSI-X {} ({:?}), {} so far\n",
                entry,
                kind,
                n
            );
        }
    }
}

/// The hard handler of one MSI-X entry other than the privileged DMA one.
pub(crate) struct EntryIrq {
    pub(super) card: Arc<Card>,
    pub(super) entry: u32,
}

impl irq::Handler for EntryIrq {
    fn handle(&self) -> IrqReturn {
        self.card.handle_entry_irq(self.entry)
    }
}

#[kunit_tests(ve_drv_cores)]
mod tests {
    use super::*;
    use crate::chip;

    /// The table covers every core entry of VE1's map and nothing beyond; a new table is idle.
    #[test]
    fn core_table() {
        let mut t = CoreTable::new();
        assert!(t.core(CORES - 1).is_some());
        assert!(t.core(CORES).is_none());
        assert!(t.core_mut(CORES).is_none());
        for c in &t.cores {
            assert_eq!((c.count, c.task, c.wake), (0, None, 0));
        }
        if let Some(c) = t.core_mut(3) {
            c.count += 1;
        }
        assert_eq!(t.core(3).map(|c| c.count), Some(1));
        for e in 0..ve1::MSIX_ENTRIES {
            if let Entry::Core(n) = ve1::entry(e) {
                assert!((n as usize) < CORES);
            }
        }
    }

    /// Which entries get a hard handler: on VE1 and the emulator every named entry but the
    /// privileged DMA one (75), on VE3 the 32 cores' and the three node entries.
    #[test]
    fn handled_entries() {
        let hard = |c: &chip::Chip| {
            (0..c.msix_max)
                .filter(|&e| !matches!((c.irq_entry)(e), Entry::Unused | Entry::Pdma))
                .count()
        };
        assert_eq!(hard(&chip::VE1), 16 + 32 + 1 + 16 + 10);
        assert_eq!(hard(&chip::EMULATOR), hard(&chip::VE1));
        assert_eq!(hard(&chip::VE3), 32 + 3);
        assert_eq!(hard(&chip::EMULATOR_VE3), hard(&chip::VE3));
    }
}
