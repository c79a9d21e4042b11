// SPDX-License-Identifier: GPL-2.0

//! Register access for one card: the system-common block of its [`Chip`], the doorbell, and the
//! emulator's identification block. Offsets and bits come from [`crate::hw`] only.
//!
//! # 64-bit registers: one decision, made here
//!
//! The descriptor words, DMACTL and INTVEC are 64-bit registers. Every access to them is a single
//! 64-bit MMIO access: `Bar::try_read64`/`try_write64`, i.e. `readq`/`writeq` behind the kernel
//! crate's runtime bounds and alignment check (the compile-time checked `read64`/`write64` do not
//! build on a PCI BAR in 7.3, whose `Region` only promises 4-byte alignment).
//!
//! Why this is right on real hardware: on x86-64, `writeq` to an uncached BAR mapping is one 8-byte
//! store that the root complex forwards as one PCIe memory-write TLP with all eight byte enables,
//! so the VE sees the whole word at once. That is also what VEOS does today: its user-space DMA
//! manager stores 64-bit words through its mmap of these registers. Two 32-bit accesses would
//! double the MMIO cost, and a read of DMACTL word 1 could tear, pairing the exception bit (high
//! half) with a stale read pointer (low half). The driver therefore requires a 64-bit kernel
//! (`readq`/`writeq` exist only there), which every VE host is.
//!
//! Ordering: a descriptor is written as words 1, 2, 3 and then word 0 (status PREPARED). x86 does
//! not reorder stores to an uncached mapping, and `writeq` (unlike `writeq_relaxed` on other
//! architectures) is ordered after earlier memory writes and carries a compiler barrier, so the
//! engine never finds PREPARED next to stale words. The doorbell (emulator only) comes last.
//!
//! The emulator sees BAR2 as shared memory: an 8-byte aligned store is atomic on its x86-64 host.
//! It defines a 32-bit store to either half of a register as changing just that half, and acts on
//! a descriptor only when the status in the low half of word 0 reads PREPARED, so a stray half
//! write never starts a transfer (tests/emulator/src/engine.rs).

use kernel::{
    io::Io,
    pci,
    prelude::*, //
};

use crate::{
    chip::{
        Chip,
        Kick,
        IVSHMEM_DOORBELL, //
    },
    hw, //
};

/// A card's register window: the BAR holding the system-common registers.
pub(crate) struct Regs<'a> {
    bar: &'a pci::Bar<'a>,
    chip: &'static Chip,
}

impl<'a> Regs<'a> {
    /// Register access through `bar`, the [`Chip::scr_bar`] of a `chip` card. Probe has checked
    /// that the BAR covers the whole system-common block.
    pub(crate) fn new(bar: &'a pci::Bar<'a>, chip: &'static Chip) -> Self {
        Self { bar, chip }
    }

    /// Reads the 64-bit register at `off` in the system-common block.
    pub(crate) fn scr_read64(&self, off: usize) -> Result<u64> {
        self.bar.try_read64(self.chip.scr_offset + off)
    }

    /// Writes the 64-bit register at `off` in the system-common block.
    pub(crate) fn scr_write64(&self, value: u64, off: usize) -> Result {
        self.bar.try_write64(value, self.chip.scr_offset + off)
    }

    /// Reads DMACTL word 0 as it is (status bits; all ones if the device is gone).
    pub(crate) fn pdma_ctl0(&self) -> Result<u64> {
        self.scr_read64(self.chip.pdma.ctl)
    }

    /// Zeroes word 0 of every privileged DMA descriptor (no status: nothing the engine would run),
    /// as VEOS does before it takes over the engine. Only while the engine is halted.
    pub(crate) fn pdma_clear_descriptors(&self) -> Result {
        for i in 0..hw::desc::NUM {
            self.scr_write64(0, self.chip.pdma.desc + i * hw::desc::SIZE)?;
        }
        Ok(())
    }

    /// Reads DMACTL word 1: exception bit and read pointer.
    pub(crate) fn pdma_ctl1(&self) -> Result<u64> {
        self.scr_read64(self.chip.pdma.ctl + 8)
    }

    /// Writes the read pointer (DMACTL word 1); clears an exception. Only while halted.
    pub(crate) fn pdma_set_readptr(&self, slot: usize) -> Result {
        self.scr_write64(
            slot as u64 & hw::dmactl::READPTR_MASK,
            self.chip.pdma.ctl + 8,
        )
    }

    /// Posts descriptor `slot`: words 1, 2, 3, then word 0 (PREPARED) last.
    pub(crate) fn pdma_post(&self, slot: usize, words: [u64; 4]) -> Result {
        let base = self.chip.pdma.desc + slot * hw::desc::SIZE;
        self.scr_write64(words[1], base + 8)?;
        self.scr_write64(words[2], base + 16)?;
        self.scr_write64(words[3], base + 24)?;
        self.scr_write64(words[0], base)
    }

    /// Reads word 0 (status, exception code) of descriptor `slot`.
    pub(crate) fn pdma_word0(&self, slot: usize) -> Result<u64> {
        self.scr_read64(self.chip.pdma.desc + slot * hw::desc::SIZE)
    }

    /// Neutralises descriptor `slot`: word 0 without a status, so the engine never runs it.
    pub(crate) fn pdma_neutralise(&self, slot: usize) -> Result {
        self.scr_write64(0, self.chip.pdma.desc + slot * hw::desc::SIZE)
    }

    /// Writes DMACTL word 0: [`hw::dmactl::PERMIT`] or [`hw::dmactl::DISABLE`].
    pub(crate) fn pdma_set_permit(&self, permit: bool) -> Result {
        let v = if permit {
            hw::dmactl::PERMIT
        } else {
            hw::dmactl::DISABLE
        };
        self.scr_write64(v, self.chip.pdma.ctl)
    }

    /// Reads and clears the privileged DMA engine's INTVEC bit ([`hw::PdmaRegs::intvec_bit`]).
    /// Returns whether it was set.
    pub(crate) fn pdma_intvec_test_and_clear(&self) -> Result<bool> {
        let (off, bit) = (self.chip.pdma.intvec, self.chip.pdma.intvec_bit);
        let set = self.scr_read64(off)? & bit != 0;
        if set {
            self.intvec_clear_at(off, bit, 1)?;
        }
        Ok(set)
    }

    /// Clears what reporting `caught` to `VEDRV_CMD_WAIT_INTR` clears in INTVEC, the variant's
    /// rule ([`crate::chip::NodePath::clears`]), one write each.
    pub(crate) fn intvec_clear_reported(&self, caught: &[u64; 4]) -> Result {
        for (off, mask) in self.chip.node.clears(caught) {
            if mask != 0 {
                self.intvec_clear_at(off, mask, 1)?;
            }
        }
        Ok(())
    }

    /// Reads the INTVEC register at `off` (relative to the SCR).
    pub(crate) fn intvec_at(&self, off: usize) -> Result<u64> {
        self.scr_read64(off)
    }

    /// Clears the bits `mask` of the INTVEC register at `off` (relative to the SCR), writing the
    /// mask `writes` times where INTVEC is write-one-to-clear (docs/hardware.md, "Interrupts").
    /// On the emulator ([`Chip::intvec_w1c`] false) a store replaces the whole word, so the bits
    /// are cleared by a read-modify-write instead, once; a bit the emulator sets between the read
    /// and the write is lost there, which only the emulator's INTVEC read-back can see.
    fn intvec_clear_at(&self, off: usize, mask: u64, writes: u32) -> Result {
        if self.chip.intvec_w1c {
            for _ in 0..writes {
                self.scr_write64(mask, off)?;
            }
            Ok(())
        } else {
            let v = self.scr_read64(off)?;
            self.scr_write64(v & !mask, off)
        }
    }

    /// Clears core `core`'s INTVEC bit as NEC's core handler does: bit `63 - core` of the cores'
    /// INTVEC, written [`crate::chip::CoreRegs::clear_writes`] times.
    pub(crate) fn intvec_clear_core(&self, core: u32) -> Result {
        let cores = &self.chip.cores;
        if core as usize >= cores.max {
            return Err(EINVAL);
        }
        self.intvec_clear_at(cores.intvec, 1 << (63 - core), cores.clear_writes)
    }

    /// Clears the pending interrupt bits as NEC's probe does (all ones): the cores' INTVEC (VE1:
    /// the one INTVEC, 20 writes) and the variant's others ([`crate::chip::NodePath::also_cleared`]:
    /// VE3's INTVEC1 with the privileged DMA and PCI exception bits, INTVEC2 with the user DMA
    /// engines').
    pub(crate) fn intvec_clear_all(&self) -> Result {
        let cores = &self.chip.cores;
        self.intvec_clear_at(cores.intvec, !0, cores.clear_writes)?;
        for &off in self.chip.node.also_cleared() {
            self.intvec_clear_at(off, !0, 1)?;
        }
        Ok(())
    }

    /// Reads the cores' INTVEC (VE1: the one INTVEC).
    pub(crate) fn intvec(&self) -> Result<u64> {
        self.scr_read64(self.chip.cores.intvec)
    }

    /// The cores' INTVEC after a write to SCR SYNC, as NEC reads it where it must see every
    /// interrupt bit the card set before (the unassign's check for an interrupt on its way).
    pub(crate) fn intvec_synced(&self) -> Result<u64> {
        self.scr_write64(0, hw::scr::SYNC)?;
        self.intvec()
    }

    /// Reads the 64-bit register at `off` of the register BAR (the per-core registers, outside the
    /// system-common block).
    pub(crate) fn bar_read64(&self, off: usize) -> Result<u64> {
        self.bar.try_read64(off)
    }

    /// Writes the 64-bit register at `off` of the register BAR.
    pub(crate) fn bar_write64(&self, value: u64, off: usize) -> Result {
        self.bar.try_write64(value, off)
    }

    /// Reads a 64-bit field of the emulator's identification block (BAR offset, not SCR).
    pub(crate) fn emu_read64(&self, off: usize) -> Result<u64> {
        self.bar.try_read64(hw::emu::BLOCK + off)
    }

    /// Reads a 32-bit field of the emulator's identification block.
    pub(crate) fn emu_read32(&self, off: usize) -> Result<u32> {
        self.bar.try_read32(hw::emu::BLOCK + off)
    }

    /// Writes a 64-bit field of the emulator's identification block.
    pub(crate) fn emu_write64(&self, value: u64, off: usize) -> Result {
        self.bar.try_write64(value, hw::emu::BLOCK + off)
    }
}

/// Tells the engine to look at its control registers after a write to them: nothing on real
/// hardware, the ivshmem doorbell of the emulator's peer on the emulator. The only place that
/// rings the doorbell.
pub(crate) fn kick(chip: &Chip, doorbell: Option<&pci::Bar<'_>>, emu_peer: u32) -> Result {
    match chip.kick {
        Kick::None => Ok(()),
        Kick::IvshmemDoorbell => {
            let bar = doorbell.ok_or(ENODEV)?;
            // Vector 0 of the emulator's peer: the emulator polls only that eventfd.
            bar.try_write32(emu_peer << 16, IVSHMEM_DOORBELL)
        }
    }
}
