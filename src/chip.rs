// SPDX-License-Identifier: GPL-2.0

//! Per-variant facts in one table: where the system-common registers are, which MSI-X entry the
//! privileged DMA engine raises, and how the engine is told to look at its registers.
//!
//! Everything variant-specific that the rest of the driver needs is a field here; code elsewhere
//! never matches on the variant.

use crate::{
    hw,
    uapi::Variant, //
};

/// How the engine learns that software wrote one of its control registers.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Kick {
    /// Real hardware: the register write itself is the signal.
    None,
    /// The emulator: BAR2 is shared memory and traps nothing, so after the register write the
    /// driver also rings the ivshmem doorbell (BAR0 + [`IVSHMEM_DOORBELL`]) of the emulator's peer.
    IvshmemDoorbell,
}

/// Where a card publishes its VE Configuration Registers ([`hw::vcr`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum VcrSource {
    /// PCI extended configuration space at [`hw::vcr::CONFIG_OFFSET`] (real cards).
    ConfigSpace,
    /// The emulator's identification block in BAR2 ([`hw::emu::OFF_VCR`]).
    Emulator,
}

/// ivshmem BAR0 register: this VM's peer id.
pub(crate) const IVSHMEM_IVPOSITION: usize = 8;
/// ivshmem BAR0 register: write `(peer << 16) | vector` to interrupt `peer`.
pub(crate) const IVSHMEM_DOORBELL: usize = 12;

/// One card variant.
#[derive(Debug)]
pub(crate) struct Chip {
    /// Reported through `VE_DRV_IOC_INFO`.
    pub(crate) variant: Variant,
    /// Human-readable name for the kernel log.
    pub(crate) name: &'static str,
    /// NEC's architecture class (sysfs `ve_arch_class`, which libved checks): `ve1` or `ve3`.
    pub(crate) arch_class: &'static str,
    /// Where the VE Configuration Registers are.
    pub(crate) vcr: VcrSource,
    /// Whether the VE Configuration Registers describe a card of this variant (probe refuses
    /// others, as NEC's does).
    pub(crate) vcr_accepts: fn(&hw::vcr::Vcr) -> bool,
    /// Cache sizes in KiB (sysfs `cache_l1i`, `cache_l1d`, `cache_l2`, `cache_llc`), NEC's
    /// constants per variant.
    pub(crate) cache_kib: [u32; 4],
    /// BAR that holds the system-common registers (SCR).
    pub(crate) scr_bar: u32,
    /// Offset of the SCR in that BAR.
    pub(crate) scr_offset: usize,
    /// Size of the SCR; probe checks the BAR covers `scr_offset + scr_size`.
    pub(crate) scr_size: usize,
    /// Privileged DMA descriptor table, relative to the SCR.
    pub(crate) pdma_desc: usize,
    /// Privileged DMA control word 0, relative to the SCR (word 1 follows at +8).
    pub(crate) pdma_ctl: usize,
    /// Interrupt vector register relative to the SCR, where its layout is known.
    pub(crate) intvec: Option<usize>,
    /// MSI-X entry of the privileged DMA engine.
    pub(crate) pdma_vector: u32,
    /// How to make the engine look at its control registers.
    pub(crate) kick: Kick,
    /// File offset at which NEC's driver lets VEOS mmap the system-common registers.
    pub(crate) mmap_scr: u64,
    /// The type word of NEC's typed `VEDRV_CMD_WAIT_INTR` mask for this variant.
    pub(crate) wait_irq_type: u64,
    /// The privileged DMA interrupt in `VEDRV_CMD_WAIT_INTR`'s 128-bit mask: `(upper, bit)`.
    pub(crate) wait_irq: (bool, u32),
    /// End of the VE addresses the engine can reach: a VE range must end at or below it. The
    /// engine's address fields are 48 bits wide; the card's memory is smaller, where known.
    pub(crate) ve_addr_limit: u64,
}

impl Chip {
    /// MSI-X vectors to allocate so that [`Chip::pdma_vector`] exists.
    pub(crate) const fn msix_vectors(&self) -> u32 {
        self.pdma_vector + 1
    }
}

/// SX-Aurora VE1 (Type 10/20).
pub(crate) static VE1: Chip = Chip {
    variant: Variant::Ve1,
    name: "VE1",
    arch_class: "ve1",
    wait_irq_type: crate::uapi::VEDRV_IRQ_TYPE_VE1,
    vcr: VcrSource::ConfigSpace,
    vcr_accepts: hw::vcr::Vcr::is_ve1,
    cache_kib: [32, 32, 256, 16384],
    scr_bar: hw::ve1::SCR_BAR,
    scr_offset: hw::ve1::SCR_OFFSET,
    scr_size: hw::scr::SIZE,
    pdma_desc: hw::scr::PDMA_DESC,
    pdma_ctl: hw::scr::PDMA_CTL0,
    intvec: Some(hw::scr::INTVEC),
    pdma_vector: hw::ve1::PDMA_VECTOR,
    kick: Kick::None,
    // NEC VE1: BAR2 at file offset 0x10000000, the SCR at +0x1000000 in it.
    mmap_scr: 0x1000_0000 + hw::ve1::SCR_OFFSET as u64,
    // libved's VE_INTR_P_DMA: bit 48 of the lower word.
    wait_irq: (false, hw::ve1::PDMA_VECTOR),
    ve_addr_limit: hw::desc::ADDR_MASK + 1,
};

/// SX-Aurora VE3 (Type 30). Its privileged DMA registers have VE1's layout at other offsets. Its
/// privileged DMA interrupt (MSI-X 32) is not acknowledged in the handler: NEC's VE3 handler
/// (`ve3_pdma_intr_cb`) only records it for `VEDRV_CMD_WAIT_INTR` (bit 64), and `WAIT_INTR` clears
/// it in INTVEC1 (SCR + 0x2008) when it reports it (docs/hardware.md, "Interrupts"). The handler's
/// acknowledgement is therefore left out here (`intvec: None`) until VE3 support is built and
/// tested.
pub(crate) static VE3: Chip = Chip {
    variant: Variant::Ve3,
    name: "VE3",
    arch_class: "ve3",
    wait_irq_type: crate::uapi::VEDRV_IRQ_TYPE_VE3,
    vcr: VcrSource::ConfigSpace,
    vcr_accepts: hw::vcr::Vcr::is_ve3,
    cache_kib: [64, 64, 512, 65536],
    scr_bar: hw::ve3::SCR_BAR,
    scr_offset: hw::ve3::SCR_OFFSET,
    scr_size: hw::ve3::SCR_SIZE,
    pdma_desc: hw::ve3::PDMA_DESC,
    pdma_ctl: hw::ve3::PDMA_CTL0,
    intvec: None,
    pdma_vector: hw::ve3::PDMA_VECTOR,
    kick: Kick::None,
    // NEC VE3: BAR4 at file offset 0, the SCR at +0x200000 in it.
    mmap_scr: hw::ve3::SCR_OFFSET as u64,
    // libved VE3: INTVEC bit 64, bit 0 of the upper word.
    wait_irq: (true, 0),
    ve_addr_limit: hw::desc::ADDR_MASK + 1,
};

/// The VE1 engine emulator on QEMU ivshmem-doorbell: VE1's BAR2 layout in the emulator's memfd.
pub(crate) static EMULATOR: Chip = Chip {
    variant: Variant::Emulator,
    name: "VE1 emulator",
    kick: Kick::IvshmemDoorbell,
    vcr: VcrSource::Emulator,
    ..VE1
};
