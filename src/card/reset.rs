// SPDX-License-Identifier: GPL-2.0

//! `VEDRV_CMD_VE_VE_RESET` and `VEDRV_CMD_VE1_UPDATE_FIRMWARE`: NEC's card reset as far as it is
//! the driver's job (reference 4.5), and the firmware update, which is not done here.
//!
//! A chip reset (level 0) runs with VEOS offline and `ve_state`/`os_state` locked, like NEC's:
//! 1. the cores stop and their EXS reports are disabled;
//! 2. the DMA manager lets go of the engine: taken back from a user-space manager (its register
//!    mapping zapped), every request failed with `EIO`, the engine halted with its ring empty,
//!    so that no page a descriptor could reach is pinned when the card resets; until the reset
//!    ends nothing opens, posts or borrows the engine (`EBUSY`);
//! 3. the PCI core saves the function's configuration state;
//! 4. the chip's reset sequence is written ([`crate::chip::Chip::chip_reset`]); the emulator is
//!    pinged, whose answer says it has done everything asked before, the reset included;
//! 5. the driver waits until the card answers configuration reads again, and the configuration
//!    state (MSI-X included) is restored;
//! 6. the engine is the kernel's again if it reads HALT (it is dead otherwise), with its
//!    descriptors cleared and the ring at its read pointer; every enabled core's EXSRAR is
//!    programmed again and INTVEC cleared.
//!
//! Unlike NEC's, the interrupts stay requested (the configuration restore brings MSI-X back), and
//! EXSRAR and INTVEC are redone at once rather than when the management agent next sets
//! `ve_state` ONLINE. Tasks, their cores and interrupt counts, NEC's pin lists and `ve_state` are
//! left as they are, as NEC's reset leaves them. A secondary bus reset (level 1) needs the real
//! card's upstream port and is not done (`EOPNOTSUPP`), nor is VE3's function-level reset
//! (level 2). On a VE3 the sequence is NEC's VE3 card reset (a request, a read-back, the
//! interrupt settings cancelled, one second, the reset: [`crate::hw::ve3::CHIP_RESET`]); NEC's
//! VE3 driver then also sleeps ten seconds and runs its configuration check in user space to
//! set `ve_state`, which this driver does not (`ve_state` stays as it was).

use kernel::{
    prelude::*,
    time::{
        delay::fsleep,
        Delta, //
    }, //
};

use super::Card;
use crate::{
    dma::Channel as _,
    hw::ResetStep,
    sys::pci_state::{
        self,
        SavedState, //
    },
    sysfs_rules::OsState,
};

/// `VE_VE_RESET` level 0: the chip reset.
const LEVEL_CHIP: u64 = 0;
/// `VE_VE_RESET` level 1: a secondary bus reset from the upstream port.
const LEVEL_SECONDARY_BUS: u64 = 1;
/// Vendor ID read from a function that does not answer.
const NO_ANSWER: u16 = 0xffff;
// TIMEOUT: NEC's `wait_after_vereset_sec` (16): a VE1 answers configuration reads again well
// within 16 s of a chip reset; polled once a second, as NEC does. The emulator answers at once.
const ANSWER_POLLS: u32 = 16;
const ANSWER_POLL_MS: i64 = 1000;

impl Card {
    /// `VEDRV_CMD_VE_VE_RESET`: `EAGAIN` unless `os_state` is OFFLINE (checked first, as NEC's);
    /// `EINVAL` for a level above 1; `EOPNOTSUPP` for level 1 (secondary bus reset) and on a chip
    /// whose reset the driver does not know; `ENODEV` once unbound. A chip reset that ran returns
    /// `ETIMEDOUT` if the card never answered again and `EIO` if its engine did not come out
    /// halted (then it stays out of service until unbind); otherwise 0.
    pub(crate) fn reset_card(&self, level: u64) -> Result {
        let _management = self.sysfs.lock_management();
        if self.sysfs.os_state() != Some(OsState::Offline) {
            return Err(EAGAIN);
        }
        if level > LEVEL_SECONDARY_BUS {
            return Err(EINVAL);
        }
        // Unbind takes the management lock before it marks the card removed: a card seen bound
        // here stays bound (and its configuration space the driver's) until the reset ends.
        if self.is_removed() {
            return Err(ENODEV);
        }
        if level != LEVEL_CHIP {
            return Err(EOPNOTSUPP);
        }
        let sequence = self.facts.chip.chip_reset.ok_or(EOPNOTSUPP)?;
        dev_info!(self.dev(), "chip reset\n");

        if let Err(e) = self.stop_cores() {
            dev_warn!(self.dev(), "cores not stopped before the reset: {:?}\n", e);
        }
        // `EIO` here: the engine is dead and takes no part; the card is reset all the same.
        let _ = self.dma.lock().begin_reset(self);
        // Waiters see their requests fail; submitters stop.
        self.notify_dma();

        let reset = self.run_chip_reset(sequence);
        let engine = self.dma.lock().end_reset(self);
        self.notify_dma();
        let cores = self.reports_again();
        if let Err(e) = cores {
            dev_warn!(self.dev(), "cores not restored after the reset: {:?}\n", e);
        }
        reset.and(engine).and(cores)
    }

    /// Steps 3 to 5: the configuration state saved, the reset written, the card waited for and
    /// its configuration restored.
    fn run_chip_reset(&self, sequence: &[ResetStep]) -> Result {
        let pdev = &*self.facts.pdev;
        let saved = SavedState::save(pdev)?;
        let written = sequence.iter().try_for_each(|step| match *step {
            ResetStep::Write(off, value) => self.with_regs(|r| r.bar_write64(value, off)),
            ResetStep::Read(off) => self.with_regs(|r| r.bar_read64(off)).map(drop),
            // TIMEOUT: NEC's VE3 waits one second between the reset request and the reset
            // ("stop (1) from overtaking"); the card documents no completion to poll for.
            ResetStep::SleepMs(ms) => {
                fsleep(Delta::from_millis(ms.into()));
                Ok(())
            }
        });
        if written.is_ok() && self.facts.emu.is_some() {
            // The ping's answer comes after everything asked before it was done.
            if let Err(e) = self.ping(0) {
                dev_err!(
                    self.dev(),
                    "emulator did not answer after the reset: {:?}\n",
                    e
                );
            }
        }
        let answered = self.wait_for_answer();
        // Whatever happened, the configuration goes back (a card that never answered reads as
        // all ones either way).
        saved.restore();
        written.and(answered)
    }

    /// Polls the vendor ID until the card answers configuration reads again. `ETIMEDOUT` if it
    /// did not within [`ANSWER_POLLS`] seconds.
    fn wait_for_answer(&self) -> Result {
        let pdev = &*self.facts.pdev;
        for _ in 0..ANSWER_POLLS {
            if pci_state::read_vendor_id(pdev)? != NO_ANSWER {
                return Ok(());
            }
            fsleep(Delta::from_millis(ANSWER_POLL_MS));
        }
        dev_err!(self.dev(), "card did not answer after the reset\n");
        Err(ETIMEDOUT)
    }

    /// `VEDRV_CMD_VE1_UPDATE_FIRMWARE`: `EAGAIN` unless `os_state` is OFFLINE (as NEC's);
    /// otherwise `EOPNOTSUPP`: programming the PCIe SerDes firmware needs a real VE1 (and NEC's
    /// firmware files), and NEC ships with the update skipped.
    pub(crate) fn update_firmware(&self) -> Result {
        let _management = self.sysfs.lock_management();
        if self.sysfs.os_state() != Some(OsState::Offline) {
            return Err(EAGAIN);
        }
        Err(EOPNOTSUPP)
    }
}
