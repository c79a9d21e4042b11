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

/// Who may map a window of `/dev/veN`, and what a fault in it checks (NEC's rules, mmap_ve1.c).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum WindowKind {
    /// Communication register pages ([`Chip::cr_page_size`] each): anyone may map them; a page is
    /// mapped at fault time for a caller with `CAP_SYS_ADMIN` or whose uid `VEDRV_CMD_ASSIGN_CR`
    /// made an owner of its CR page (of [`Chip::cr_pages`]).
    Cr,
    /// Registers: `CAP_SYS_ADMIN` at mmap time (`EACCES`, NEC's), and this driver's gates of
    /// raw device access: `CAP_SYS_RAWIO` and no kernel lockdown (`EPERM`). Every page maps at
    /// fault time except the system-common pages [`Chip::scr_withheld`] (SIGBUS), which only a
    /// `user_pdma=1` mapping that holds the engine maps.
    Registers,
    /// VE memory through the PCIATB: anyone may map it; a page is mapped at fault time for
    /// `CAP_SYS_ADMIN` or a uid that `VEDRV_CMD_ASSIGN_VEMEM` made an owner of its PCIATB entry
    /// (of [`Chip::pciatb_entries`], each a PCIATB page: [`Chip::pciatba`]).
    VeMemory,
}

/// One window of NEC's mmap file-offset space: a region of a BAR.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Window {
    /// Where the window starts in the file offset space.
    pub(crate) file_offset: u64,
    /// The BAR it maps.
    pub(crate) bar: u32,
    /// Where the window starts in the BAR.
    pub(crate) bar_offset: u64,
    /// Bytes; `None`: to the end of the BAR (NEC's windows are whole BARs).
    pub(crate) size: Option<u64>,
    /// Who may map it.
    pub(crate) kind: WindowKind,
}

/// Where a variant's cores' registers and interrupt bits are.
#[derive(Copy, Clone, Debug)]
pub(crate) struct CoreRegs {
    /// Physical cores the variant's MSI-X map names: core `c` interrupts on entry `c`.
    pub(crate) max: usize,
    /// Offset in the register BAR ([`Chip::scr_bar`]) of core `c`'s EXS.
    pub(crate) exs: fn(usize) -> usize,
    /// Offset in the register BAR of core `c`'s EXSRAR.
    pub(crate) exsrar: fn(usize) -> usize,
    /// The INTVEC register with the cores' bits (core `c` at bit `63 - c`), relative to the SCR.
    pub(crate) intvec: usize,
    /// How many times the core handler writes a core's bit to clear it: NEC's VE1 handler 20
    /// ([`hw::scr::INTVEC_CORE_CLEAR_WRITES`]), its VE3 handler once.
    pub(crate) clear_writes: u32,
}

/// NEC's node path: how an interrupt that is neither a core's nor the privileged DMA engine's is
/// recorded for `VEDRV_CMD_WAIT_INTR`, and what reporting it clears.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum NodePath {
    /// VE1: the entry's own bit of the 128-bit mask ([`hw::ve1::wait_intr_bit`]); reporting a
    /// DMA entry (16-48) clears the reported lower word's bits in INTVEC, bit-reversed.
    Ve1,
    /// VE3: the entry's INTVEC register, bit-reversed into its word of `intvec[4]`
    /// ([`hw::ve3::node_report`]); reporting the privileged DMA bit or a user DMA bit clears the
    /// reported words 1 and 2 in INTVEC1 and INTVEC2, bit-reversed.
    Ve3,
}

impl NodePath {
    /// INTVEC registers (relative to the SCR) that probe, `ve_state` ONLINE/AVAILABLE and a
    /// reset clear besides the cores' ([`CoreRegs::intvec`]): none on VE1 (its one INTVEC is
    /// the cores'), INTVEC1 and INTVEC2 on VE3 (NEC clears INTVEC0-2 and leaves INTVEC3 to its
    /// management agent).
    pub(crate) const fn also_cleared(self) -> &'static [usize] {
        match self {
            Self::Ve1 => &[],
            Self::Ve3 => &[hw::ve3::INTVEC1, hw::ve3::INTVEC2],
        }
    }

    /// The INTVEC writes (register relative to the SCR, bits to clear) that reporting `caught`
    /// calls for, NEC's rule of each variant (reference 6.4).
    pub(crate) fn clears(self, caught: &[u64; 4]) -> [(usize, u64); 2] {
        match self {
            // `DMA_INTERRUPT_VECTOR_MASK`: user DMA 16-47 and the privileged DMA 48.
            Self::Ve1 if caught[1] & 0x1_ffff_ffff_0000 != 0 => [
                (hw::scr::INTVEC, caught[1].reverse_bits()),
                (hw::scr::INTVEC, 0),
            ],
            Self::Ve3 if caught[1] & 1 != 0 || caught[2] != 0 => [
                (hw::ve3::INTVEC1, caught[1].reverse_bits()),
                (hw::ve3::INTVEC2, caught[2].reverse_bits()),
            ],
            Self::Ve1 => [(hw::scr::INTVEC, 0); 2],
            Self::Ve3 => [(hw::ve3::INTVEC1, 0); 2],
        }
    }
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
    /// The privileged DMA engine: descriptors and DMACTL relative to the SCR, its MSI-X entry,
    /// and the INTVEC bit its handler acknowledges.
    pub(crate) pdma: hw::PdmaRegs,
    /// The ordering-attribute bit of ID-based ordering in a descriptor
    /// ([`hw::desc::ORDER_IDO_VE1`] or [`hw::desc::ORDER_IDO_VE3`]).
    pub(crate) order_ido: u8,
    /// How entries other than the cores' and the engine's reach `VEDRV_CMD_WAIT_INTR` (NEC's
    /// node path), and what reporting them clears in INTVEC.
    pub(crate) node: NodePath,
    /// Whether INTVEC is write-one-to-clear (real cards) or plain memory (the emulator: cleared
    /// by read-modify-write, [`crate::regs::Regs::intvec_clear`]).
    pub(crate) intvec_w1c: bool,
    /// MSI-X vectors asked for: every entry the variant's handler dispatches (at least
    /// [`Chip::msix_vectors`] must be granted).
    pub(crate) msix_max: u32,
    /// What an MSI-X entry stands for; a hard handler is registered on every entry that is not
    /// [`hw::ve1::Entry::Unused`] (the privileged DMA entry has its threaded one).
    pub(crate) irq_entry: fn(u32) -> hw::ve1::Entry,
    /// The cores: EXS, EXSRAR, their INTVEC bits.
    pub(crate) cores: CoreRegs,
    /// How to make the engine look at its control registers.
    pub(crate) kick: Kick,
    /// File offset at which NEC's driver lets VEOS mmap the system-common registers (inside the
    /// [`WindowKind::Registers`] window of [`Chip::scr_bar`]).
    pub(crate) mmap_scr: u64,
    /// NEC's mmap windows of `/dev/veN`: a mapping must lie inside one of them.
    pub(crate) windows: &'static [Window],
    /// Pages of the system-common block (offsets from its start) that a register mapping maps
    /// only when it holds the engine (`user_pdma=1`): the privileged DMA descriptors and DMACTL,
    /// the reserved page between them, and INTVEC.
    pub(crate) scr_withheld: &'static [usize],
    /// The type word of NEC's typed `VEDRV_CMD_WAIT_INTR` mask for this variant.
    pub(crate) wait_irq_type: u64,
    /// The privileged DMA interrupt in `VEDRV_CMD_WAIT_INTR`'s mask: `(word, bit)`, words as the
    /// card's pending mask keeps them (VE1 `[upper, lower]`, VE3 NEC's `intvec[4]`).
    pub(crate) wait_irq: (usize, u32),
    /// CR pages `VEDRV_CMD_ASSIGN_CR` can give a user.
    pub(crate) cr_pages: u32,
    /// Bytes of one CR page of a [`WindowKind::Cr`] window.
    pub(crate) cr_page_size: u64,
    /// PCIATB entries `VEDRV_CMD_ASSIGN_VEMEM` can give a user.
    pub(crate) pciatb_entries: u32,
    /// The PCIATBA register relative to the system-common block, whose bit 0 gives the PCIATB
    /// page size (read at every fault in the VE memory window, as NEC does); `None` where it is
    /// not in [`Chip::scr_bar`] (VE3: then the size VEOS programs for the window's size).
    pub(crate) pciatba: Option<usize>,
    /// End of the VE addresses the engine can reach: a VE range must end at or below it. The
    /// engine's address fields are 48 bits wide; the card's memory is smaller, where known.
    pub(crate) ve_addr_limit: u64,
    /// End of the VE register addresses (VERAA) a request may name. NEC does not publish the
    /// register space's size: on a real card the engine's 48 bits, and an address outside it
    /// ends the request with the engine's exception.
    pub(crate) veraa_limit: u64,
    /// The chip reset (`VE_VE_RESET` level 0) as steps in [`Chip::scr_bar`], in order (on the
    /// emulated VE3 BAR4's offsets hold, its BAR4 image starting at 0); `None` where the driver
    /// does not know it.
    pub(crate) chip_reset: Option<&'static [hw::ResetStep]>,
}

/// VE3's MSI-X entries (reference 6.3, NEC's `ve3_intr()`): the cores (0-31), the privileged
/// DMA engine (32), every user DMA engine (33), the PCI access exception (34) and the hardware
/// errors (35).
const fn ve3_irq_entry(e: u32) -> hw::ve1::Entry {
    match e {
        _ if (e as usize) < hw::ve3::CORES_MAX => hw::ve1::Entry::Core(e),
        hw::ve3::PDMA_VECTOR => hw::ve1::Entry::Pdma,
        hw::ve3::UDMA_VECTOR => hw::ve1::Entry::UserDma(e),
        hw::ve3::PCI_EXC_VECTOR => hw::ve1::Entry::PciAccessException,
        hw::ve3::HW_ERROR_VECTOR => hw::ve1::Entry::HwError(e),
        _ => hw::ve1::Entry::Unused,
    }
}

impl Chip {
    /// Whether the card is a VE3 (or the emulator presenting one): NEC's VE3 sysfs and
    /// management state.
    pub(crate) const fn is_ve3(&self) -> bool {
        matches!(self.variant, Variant::Ve3 | Variant::EmulatorVe3)
    }

    /// MSI-X vectors to allocate at least, so that the privileged DMA engine's entry exists.
    pub(crate) const fn msix_vectors(&self) -> u32 {
        self.pdma.vector + 1
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
    pdma: hw::ve1::PDMA,
    order_ido: hw::desc::ORDER_IDO_VE1,
    node: NodePath::Ve1,
    intvec_w1c: true,
    msix_max: hw::ve1::MSIX_ENTRIES,
    irq_entry: hw::ve1::entry,
    cores: CoreRegs {
        max: hw::ve1::CORES_MAX,
        exs: hw::ve1::exs_offset,
        exsrar: hw::ve1::exsrar_offset,
        intvec: hw::scr::INTVEC,
        clear_writes: hw::scr::INTVEC_CORE_CLEAR_WRITES,
    },
    kick: Kick::None,
    // NEC VE1: BAR2 at file offset 0x10000000, the SCR at +0x1000000 in it.
    mmap_scr: hw::ve1::MAP_REGS + hw::ve1::SCR_OFFSET as u64,
    windows: &[
        Window {
            file_offset: hw::ve1::MAP_CR,
            bar: hw::ve1::CR_BAR,
            bar_offset: 0,
            size: None,
            kind: WindowKind::Cr,
        },
        Window {
            file_offset: hw::ve1::MAP_REGS,
            bar: hw::ve1::SCR_BAR,
            bar_offset: 0,
            size: None,
            kind: WindowKind::Registers,
        },
        Window {
            file_offset: hw::ve1::MAP_VEMEM,
            bar: hw::ve1::VEMEM_BAR,
            bar_offset: 0,
            size: None,
            kind: WindowKind::VeMemory,
        },
    ],
    scr_withheld: &hw::scr::WITHHELD,
    // libved's VE_INTR_P_DMA: bit 48 of the lower word.
    wait_irq: (1, hw::ve1::PDMA_VECTOR),
    cr_pages: hw::ve1::CR_PAGES as u32,
    cr_page_size: hw::ve1::CR_PAGE_SIZE as u64,
    pciatb_entries: hw::ve1::PCIATB_ENTRIES as u32,
    pciatba: Some(hw::scr::PCIATBA),
    ve_addr_limit: hw::desc::ADDR_MASK + 1,
    veraa_limit: hw::desc::ADDR_MASK + 1,
    chip_reset: Some(&hw::ve1::CHIP_RESET_STEPS),
};

/// SX-Aurora VE3 (Type 30). Its privileged DMA registers have VE1's layout at other offsets
/// (BAR4's SCR), its descriptors VE1's format with ID-based ordering as bit 4. Its privileged DMA
/// interrupt (MSI-X 32) is acknowledged in INTVEC1 bit 63 by the handler, as on VE1 (NEC's VE3
/// handler only records it and leaves the bit to `WAIT_INTR`, which clears it when it reports
/// it: docs/hardware.md, "Interrupts"). Tested on the emulator's VE3 (`EMULATOR_VE3`).
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
    pdma: hw::ve3::PDMA,
    order_ido: hw::desc::ORDER_IDO_VE3,
    node: NodePath::Ve3,
    intvec_w1c: true,
    msix_max: hw::ve3::MSIX_ENTRIES,
    irq_entry: ve3_irq_entry,
    // BAR4's per-core areas; the emulator's VE3 image of BAR4 starts at 0 of its BAR
    // ([`hw::emu::VE3_BAR4_IMAGE`]), so the same offsets serve it.
    cores: CoreRegs {
        max: hw::ve3::CORES_MAX,
        exs: hw::ve3::exs_offset,
        exsrar: hw::ve3::exsrar_offset,
        intvec: hw::ve3::INTVEC0,
        clear_writes: 1,
    },
    kick: Kick::None,
    // NEC VE3: BAR4 at file offset 0, the SCR at +0x200000 in it.
    mmap_scr: hw::ve3::SCR_OFFSET as u64,
    // NEC's VE3 windows: BAR4 (8 MiB) at 0, BAR2/3 at 0x08000000, BAR0/1 at 0x88000000. A
    // mapping wholly inside BAR4's CR part (SCR + 0x80000, 256 KiB) is anyone's, its pages
    // mapped for their CR owners: that window comes first, so that it is the one found.
    windows: &[
        Window {
            file_offset: hw::ve3::MAP_BAR4 + hw::ve3::CR_OFFSET as u64,
            bar: hw::ve3::SCR_BAR,
            bar_offset: hw::ve3::CR_OFFSET as u64,
            size: Some((hw::ve3::CR_PAGES * hw::ve3::CR_PAGE_SIZE) as u64),
            kind: WindowKind::Cr,
        },
        Window {
            file_offset: hw::ve3::MAP_BAR4,
            bar: hw::ve3::SCR_BAR,
            bar_offset: 0,
            size: None,
            kind: WindowKind::Registers,
        },
        Window {
            file_offset: hw::ve3::MAP_BAR2,
            bar: 2,
            bar_offset: 0,
            size: None,
            kind: WindowKind::Registers,
        },
        Window {
            file_offset: hw::ve3::MAP_VEMEM,
            bar: 0,
            bar_offset: 0,
            size: None,
            kind: WindowKind::VeMemory,
        },
    ],
    scr_withheld: &hw::ve3::WITHHELD,
    // libved VE3's VE_INTR_P_DMA (bit 64): bit 0 of `intvec[1]`.
    wait_irq: (1, 0),
    // NEC's VE3: 32 CR pages of 8 KiB in BAR4's CR part.
    cr_pages: hw::ve3::CR_PAGES as u32,
    cr_page_size: hw::ve3::CR_PAGE_SIZE as u64,
    pciatb_entries: hw::ve3::PCIATB_ENTRIES as u32,
    // In BAR2's SCR, not in `scr_bar` (BAR4).
    pciatba: None,
    ve_addr_limit: hw::desc::ADDR_MASK + 1,
    veraa_limit: hw::desc::ADDR_MASK + 1,
    chip_reset: Some(&hw::ve3::CHIP_RESET),
};

/// The VE1 engine emulator on QEMU ivshmem-doorbell: VE1's BAR2 layout in the emulator's memfd,
/// and NEC's three VE1 windows mapped onto regions of that one BAR ([`hw::emu`]): the VE1 image
/// as the register window, plain-memory stand-ins for the CR pages and the VE memory window.
pub(crate) static EMULATOR: Chip = Chip {
    variant: Variant::Emulator,
    name: "VE1 emulator",
    kick: Kick::IvshmemDoorbell,
    // BAR2 is shared memory: a store replaces the word.
    intvec_w1c: false,
    vcr: VcrSource::Emulator,
    windows: &[
        Window {
            file_offset: hw::ve1::MAP_CR,
            bar: hw::ve1::SCR_BAR,
            bar_offset: hw::emu::CR_AREA as u64,
            size: Some(hw::emu::CR_AREA_SIZE as u64),
            kind: WindowKind::Cr,
        },
        Window {
            file_offset: hw::ve1::MAP_REGS,
            bar: hw::ve1::SCR_BAR,
            bar_offset: 0,
            size: Some(hw::emu::VE1_BAR2_SIZE as u64),
            kind: WindowKind::Registers,
        },
        Window {
            file_offset: hw::ve1::MAP_VEMEM,
            bar: hw::ve1::SCR_BAR,
            bar_offset: hw::emu::VEMEM_AREA as u64,
            size: Some(hw::emu::VEMEM_AREA_SIZE as u64),
            kind: WindowKind::VeMemory,
        },
    ],
    // The emulator's VE register space.
    veraa_limit: hw::emu::VERAA_SIZE as u64,
    ..VE1
};

/// The emulator presenting a VE3 (`ve-emu --variant ve3`, [`hw::emu::VARIANT_VE3`]): VE3's
/// register layout in the emulator's one BAR ([`hw::emu::VE3_BAR4_IMAGE`] for BAR4 with the
/// privileged DMA engine, [`hw::emu::VE3_BAR2_IMAGE`] for BAR2/3), NEC's VE3 windows (BAR4's CR
/// part first) mapped onto those regions and the VE memory stand-in.
pub(crate) static EMULATOR_VE3: Chip = Chip {
    variant: Variant::EmulatorVe3,
    name: "VE3 emulator",
    kick: Kick::IvshmemDoorbell,
    intvec_w1c: false,
    vcr: VcrSource::Emulator,
    scr_bar: hw::ve1::SCR_BAR,
    scr_offset: hw::emu::VE3_BAR4_IMAGE + hw::ve3::SCR_OFFSET,
    mmap_scr: hw::ve3::MAP_BAR4 + hw::ve3::SCR_OFFSET as u64,
    windows: &[
        Window {
            file_offset: hw::ve3::MAP_BAR4 + hw::ve3::CR_OFFSET as u64,
            bar: hw::ve1::SCR_BAR,
            bar_offset: (hw::emu::VE3_BAR4_IMAGE + hw::ve3::CR_OFFSET) as u64,
            size: Some((hw::ve3::CR_PAGES * hw::ve3::CR_PAGE_SIZE) as u64),
            kind: WindowKind::Cr,
        },
        Window {
            file_offset: hw::ve3::MAP_BAR4,
            bar: hw::ve1::SCR_BAR,
            bar_offset: hw::emu::VE3_BAR4_IMAGE as u64,
            size: Some(hw::ve3::BAR4_SIZE as u64),
            kind: WindowKind::Registers,
        },
        Window {
            file_offset: hw::ve3::MAP_BAR2,
            bar: hw::ve1::SCR_BAR,
            bar_offset: hw::emu::VE3_BAR2_IMAGE as u64,
            size: Some(hw::ve3::BAR2_SIZE as u64),
            kind: WindowKind::Registers,
        },
        Window {
            file_offset: hw::ve3::MAP_VEMEM,
            bar: hw::ve1::SCR_BAR,
            bar_offset: hw::emu::VEMEM_AREA as u64,
            size: Some(hw::emu::VEMEM_AREA_SIZE as u64),
            kind: WindowKind::VeMemory,
        },
    ],
    veraa_limit: hw::emu::VERAA_SIZE as u64,
    ..VE3
};
