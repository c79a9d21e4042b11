// SPDX-License-Identifier: GPL-2.0

//! The VE engine emulator's identification block (checked at probe before anything else) and
//! its ping mailbox, the transport's self-test.

use kernel::{
    io::Io,
    pci,
    prelude::*,
    sync::CondVarTimeoutResult,
    time::{
        msecs_to_jiffies,
        Instant,
        Monotonic, //
    }, //
};

use super::Card;
use crate::{
    chip,
    hw::emu,
    regs::Regs, //
};

/// What probe learnt from the emulator's identification block.
#[derive(Copy, Clone, Debug)]
pub(crate) struct EmuIdent {
    pub(crate) abi_version: u32,
    pub(crate) emu_peer: u32,
    pub(crate) ve_mem_size: u64,
    pub(crate) nonce: u64,
    /// The card the emulator presents: [`chip::EMULATOR`] or [`chip::EMULATOR_VE3`].
    pub(crate) chip: &'static chip::Chip,
}

/// Checks that `bar2` really is the VE engine emulator, before the driver touches anything else:
/// magic, ABI version, and peer ids consistent with this VM's IVPosition; learns which card it
/// presents. `ENODEV` otherwise, so a plain ivshmem device is never claimed.
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
    let chip = match regs.emu_read32(emu::OFF_VARIANT)? {
        emu::VARIANT_VE1 => &chip::EMULATOR,
        emu::VARIANT_VE3 => &chip::EMULATOR_VE3,
        _ => return Err(ENODEV),
    };
    if regs.emu_read32(emu::OFF_VECTORS)? < chip.msix_vectors() {
        return Err(ENODEV);
    }
    Ok(EmuIdent {
        abi_version,
        emu_peer,
        ve_mem_size: regs.emu_read64(emu::OFF_VE_MEM_SIZE)?,
        nonce: regs.emu_read64(emu::OFF_NONCE)?,
        chip,
    })
}

impl Card {
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
        // doorbell-to-interrupt round trip was seen up to 4 ms at p99 (docs/emulator.md).
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
