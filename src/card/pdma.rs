// SPDX-License-Identifier: GPL-2.0

//! The privileged DMA engine of a card: halt, start and kick, its interrupt (hard handler and
//! thread), `VEDRV_CMD_WAIT_INTR`, and the [`Engine`](crate::dma::Engine) the DMA manager drives.

use kernel::{
    io::poll::read_poll_timeout,
    irq::{
        self,
        IrqReturn,
        ThreadedIrqReturn, //
    },
    prelude::*,
    sync::{
        Arc,
        CondVarTimeoutResult, //
    },
    time::{
        Delta,
        Jiffies, //
    },
};

use super::Card;
use crate::dma::Channel as _;
use crate::{
    dma::engine::{
        self,
        HaltOutcome,
        Status, //
    },
    regs, //
};

/// How long the privileged DMA engine may take to report HALT (see [`Card::halt_pdma`]).
pub(crate) const HALT_TIMEOUT_MS: i64 = 200;

/// The halt protocol, for the card ([`Card::halt_pdma`]) and for probe before the card exists
/// ([`super::halt_before_master`]): clear the permit bit, kick, and wait until DMACTL word 0
/// (`ctl0`) no longer reads as running. A failed register access is a device that is gone.
pub(super) fn halt_engine(
    permit_off: impl FnOnce() -> Result,
    kick: impl FnOnce() -> Result,
    mut ctl0: impl FnMut() -> Result<u64>,
) -> HaltOutcome {
    if permit_off().is_err() || kick().is_err() {
        return HaltOutcome::Gone;
    }
    // TIMEOUT: the engine halts once the descriptor it is on is done: a 64 MiB descriptor takes
    // about 6 ms at PCIe 3.0 x16 speed, and the emulator answers a doorbell within milliseconds
    // even under TCG. NEC's ve_drv gives up after 40 ms; here giving up declares the engine dead
    // (its pages pinned for good, the card out of service), so it waits longer before concluding
    // that. Only failure paths and probe wait here.
    let status = read_poll_timeout(
        || ctl0().map(engine::classify_status),
        |status| *status != Status::Running,
        Delta::from_micros(100),
        Delta::from_millis(HALT_TIMEOUT_MS),
    );
    match status {
        Ok(Status::Halted) => HaltOutcome::Halted,
        Err(e) if e == ETIMEDOUT => HaltOutcome::TimedOut,
        // All ones, or the registers went away while polling.
        Ok(_) | Err(_) => HaltOutcome::Gone,
    }
}

impl Card {
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
        halt_engine(
            || self.with_regs(|r| r.pdma_set_permit(false)),
            || self.kick(),
            || self.with_regs(|r| r.pdma_ctl0()),
        )
    }

    /// Permits the privileged DMA engine to run what is posted: the real protocol (DMACTL word 0
    /// = PERMIT), then the kick.
    pub(crate) fn start_pdma(&self) -> Result {
        self.with_regs(|r| r.pdma_set_permit(true))?;
        self.kick()
    }

    /// `VEDRV_CMD_WAIT_INTR`: waits up to `timeout` jiffies until one of the `want` bits (the
    /// variant's mask words: VE1 `[upper, lower, 0, 0]`, VE3 `intvec[0..4]`) is caught, then
    /// returns and clears the caught ones.
    pub(crate) fn wait_intr(&self, want: [u64; 4], timeout: u64) -> Result<[u64; 4]> {
        let mut events = self.events.lock();
        let mut remaining = timeout;
        loop {
            if events.removed {
                return Err(ENODEV);
            }
            let caught: [u64; 4] = core::array::from_fn(|i| events.pending[i] & want[i]);
            if caught != [0; 4] {
                for (p, c) in events.pending.iter_mut().zip(caught) {
                    *p &= !c;
                }
                // NEC's rule of the variant: reporting a DMA interrupt clears the reported bits
                // in INTVEC (VE1: the lower word's, if a DMA entry 16-48 was caught; VE3: words
                // 1 and 2 in INTVEC1 and INTVEC2, if the privileged or a user DMA bit was). The
                // privileged DMA handler has cleared its own bit already.
                if let Err(e) = self.with_regs(|r| r.intvec_clear_reported(&caught)) {
                    if e != ENODEV {
                        dev_warn!(self.dev(), "INTVEC not cleared: {:?}\n", e);
                    }
                }
                return Ok(caught);
            }
            if remaining == 0 {
                return Err(ETIMEDOUT);
            }
            match self
                .event_wait
                .wait_interruptible_timeout(&mut events, remaining as Jiffies)
            {
                CondVarTimeoutResult::Timeout => remaining = 0,
                // Restarted with the same arguments after a handler with SA_RESTART (the
                // timeout starts again), EINTR otherwise.
                CondVarTimeoutResult::Signal { .. } => return Err(ERESTARTSYS),
                CondVarTimeoutResult::Woken { jiffies } => remaining = jiffies as u64,
            }
        }
    }

    /// The hard IRQ handler's work: acknowledge INTVEC, count, wake `VEDRV_CMD_WAIT_INTR` and
    /// ping waiters, wake the thread. Never counts on the number of
    /// interrupts matching the number of events: the thread and waiters re-read the registers.
    fn handle_pdma_irq(&self) -> ThreadedIrqReturn {
        let (word, bit) = self.facts.chip.wait_irq;
        let mut events = self.events.lock();
        // The count moves whatever happens, so that waiters wake and re-read the registers.
        events.irq_count += 1;
        // Under `events`, as the first lend acknowledges: an interrupt whose INTVEC bit is not
        // set was acknowledged already (a kernel transfer's, late, after the engine was lent) or
        // is spurious, and is not reported to WAIT_INTR. `ENODEV` means the card is being
        // removed.
        let acked = self.with_regs(|r| r.pdma_intvec_test_and_clear());
        if let Err(e) = &acked {
            if *e != ENODEV {
                dev_warn!(
                    self.dev(),
                    "privileged DMA interrupt not acknowledged: {:?}\n",
                    e
                );
            }
        }
        if !matches!(acked, Ok(false)) {
            events.pending[word] |= 1 << bit;
        }
        drop(events);
        self.event_wait.notify_all();
        // The thread does nothing while user space owns the engine.
        ThreadedIrqReturn::WakeThread
    }

    /// The first mapping of a grant takes the engine: what the kernel manager's transfers raised
    /// is not the new owner's to wait for. Acknowledges the privileged DMA interrupt in INTVEC and
    /// forgets the caught bits, under `events` as the handler reports: a completion interrupt of
    /// the kernel's last transfer that arrives afterwards finds its INTVEC bit clear.
    pub(crate) fn forget_kernel_interrupts(&self) {
        let mut events = self.events.lock();
        if let Err(e) = self.with_regs(|r| r.pdma_intvec_test_and_clear()) {
            if e != ENODEV {
                dev_warn!(self.dev(), "INTVEC not cleared: {:?}\n", e);
            }
        }
        events.pending = [0; 4];
    }

    /// The IRQ thread's work: reap what the engine finished (unpinning it), refill the ring, wake
    /// the waiters.
    fn handle_pdma_thread(&self) -> IrqReturn {
        self.dma.lock().service_and_report(self);
        self.notify_dma();
        IrqReturn::Handled
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

    fn ctl0(&self) -> Result<u64> {
        self.with_regs(|r| r.pdma_ctl0())
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
/// The privileged DMA interrupt handler.
pub(crate) struct PdmaIrq {
    pub(super) card: Arc<Card>,
}

impl irq::ThreadedHandler for PdmaIrq {
    fn handle(&self) -> ThreadedIrqReturn {
        self.card.handle_pdma_irq()
    }

    fn handle_threaded(&self) -> IrqReturn {
        self.card.handle_pdma_thread()
    }
}
