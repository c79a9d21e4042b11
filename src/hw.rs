// SPDX-License-Identifier: GPL-2.0

//! The VE hardware as this project knows it: one description, shared by the kernel module, the
//! host-side engine emulator and the guest tests.
//!
//! This file uses `core` only. The module includes it as `mod hw`, the emulator and the guest tests
//! include it with `#[path]`, so the three cannot disagree through copied constants. A misreading
//! shared by all three is caught by the host golden-vector tests (`tests/host/src/hw_golden.rs`),
//! whose expected words are written out by hand from `docs/hardware.md`, "DMA descriptors".
//!
//! Sources: NEC's `libved` (`src/ve_hw_ve1.h`), `veos` (`ve1/src/veos/dma/ve1dma_hw.h`) and
//! `ve_drv-kmod` (`src/hw.h`, `src/hw_ve1.h`, `src/ve_drv_ve1.h`), as stated in `docs/hardware.md`.
//!
//! Why no `kernel::io::register!` here: the same layout must compile into the host emulator and
//! the guest tests, which cannot use kernel macros. The module reads and writes these registers
//! through `regs.rs`, which takes every offset and bit from this file.

/// PCI identities.
pub mod pci_id {
    /// NEC Corporation.
    pub const VENDOR_NEC: u16 = 0x1bcf;
    /// SX-Aurora TSUBASA VE1 (VE Type 10/20).
    pub const DEVICE_VE1: u16 = 0x001c;
    /// SX-Aurora TSUBASA VE3 (VE Type 30).
    pub const DEVICE_VE3: u16 = 0x0039;
    /// Red Hat (Qumranet): QEMU's ivshmem devices.
    pub const VENDOR_REDHAT_QUMRANET: u16 = 0x1af4;
    /// QEMU `ivshmem-doorbell` (and `ivshmem-plain`): the transport of the engine emulator.
    pub const DEVICE_IVSHMEM: u16 = 0x1110;
}

/// Where a variant's privileged DMA engine is in its system-common block, and how it interrupts:
/// one description that the driver's chip table (`src/chip.rs`) and the emulator both read.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PdmaRegs {
    /// Descriptor table ([`desc::NUM`] descriptors of [`desc::SIZE`]), relative to the block.
    pub desc: usize,
    /// DMACTL word 0, relative to the block; word 1 follows at +8 ([`dmactl`]).
    pub ctl: usize,
    /// MSI-X entry the engine raises.
    pub vector: u32,
    /// INTVEC register that holds the engine's interrupt bit, relative to the block.
    pub intvec: usize,
    /// The engine's bit in that register (write-one-to-clear on the cards).
    pub intvec_bit: u64,
}

/// One step of a card's chip reset sequence (`VE_VE_RESET` level 0), in the BAR that holds the
/// system-common registers.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ResetStep {
    /// Write the value to the register at the offset.
    Write(usize, u64),
    /// Read the register at the offset (NEC reads back between two groups of writes).
    Read(usize),
    /// Wait this many milliseconds.
    SleepMs(u32),
}

/// VE1 system-common register block (SCR): offsets relative to the start of the block.
///
/// On VE1 the block lives in BAR2 at [`ve1::SCR_OFFSET`]; the emulator mirrors that layout.
pub mod scr {
    /// Size of the system-common register block on VE1.
    pub const SIZE: usize = 0x20_0000;
    /// SYNC: a write serialises the card's earlier writes before a read that must see them (NEC
    /// writes it before reading a core's INTVEC bit in the unassign).
    pub const SYNC: usize = 0x8;
    /// Interrupt vector register (64 bit). Bit `63 - n` stands for MSI-X entry `n` ("the interrupt
    /// vector register is the reversed bit order of the MSI-X vector"); writing a 1 clears a bit.
    pub const INTVEC: usize = 0x2000;
    /// PCI access exception register.
    pub const PCIEXC: usize = 0x2400;
    /// Privileged ("system") DMA descriptor table: [`super::desc::NUM`] descriptors of
    /// [`super::desc::SIZE`] bytes.
    pub const PDMA_DESC: usize = 0x4_0000;
    /// Privileged DMA control, word 0: write [`super::dmactl::PERMIT`] to start, 0 to request a
    /// halt; reads return the status ([`super::dmactl::STATUS_HALT`] once halted).
    pub const PDMA_CTL0: usize = 0x4_2000;
    /// Privileged DMA control, word 1: bit 63 exception, bits 6:0 read pointer (next descriptor
    /// the engine will process). Writing the read pointer clears the exception.
    pub const PDMA_CTL1: usize = 0x4_2008;
    /// PCIATB attributes (PCIATBA): bit 0 selects the PCIATB page size (1: 64 MiB, 0: 2 MiB),
    /// which NEC's fault check reads at every fault in the VE memory window.
    pub const PCIATBA: usize = 0x7_0000;

    /// The pages of the block that a register mapping made without `user_pdma=1` withholds (a
    /// fault there is SIGBUS), relative to the block: INTVEC and PCIEXC (VEOS never touches them;
    /// a write would clear the privileged DMA interrupt under the kernel), the descriptor table,
    /// the reserved page after it, and DMACTL. Everything else VEOS uses is in other pages
    /// (docs/design.md, "Register mappings").
    pub const WITHHELD: [usize; 4] = [INTVEC, PDMA_DESC, PDMA_DESC + 0x1000, PDMA_CTL0];

    /// Bit of [`INTVEC`] that stands for MSI-X entry `vector` (0..=63).
    pub const fn intvec_bit(vector: u32) -> u64 {
        1u64 << (63 - vector)
    }

    /// [`intvec_bit`] for any entry: `None` from 64 on (VE1's one INTVEC register has no bit for
    /// the fault and error entries).
    pub const fn intvec_bit_of(vector: u32) -> Option<u64> {
        if vector < 64 {
            Some(intvec_bit(vector))
        } else {
            None
        }
    }

    /// How many times NEC's VE1 core-interrupt handler writes a core's INTVEC bit to clear it
    /// (`ve1_clear_intvec()` in ve_drv-kmod `src/main_ve1.c` loops 20 times; NEC gives no reason:
    /// this driver repeats it because the clear of a bit whose interrupt is re-raised at the same
    /// time is not otherwise known to stick on the real chip).
    pub const INTVEC_CORE_CLEAR_WRITES: u32 = 20;
}

/// VE1 PCI layout (docs/hardware.md, "PCI layout" and "Interrupts").
pub mod ve1 {
    /// BAR holding the system-common registers.
    pub const SCR_BAR: u32 = 2;
    /// Offset of the system-common registers in [`SCR_BAR`].
    pub const SCR_OFFSET: usize = 0x100_0000;
    /// MSI-X entry of the privileged DMA engine.
    pub const PDMA_VECTOR: u32 = 48;
    /// The privileged DMA engine: VE1's block layout ([`super::scr`]), its bit in the one INTVEC.
    pub const PDMA: super::PdmaRegs = super::PdmaRegs {
        desc: super::scr::PDMA_DESC,
        ctl: super::scr::PDMA_CTL0,
        vector: PDMA_VECTOR,
        intvec: super::scr::INTVEC,
        intvec_bit: super::scr::intvec_bit(PDMA_VECTOR),
    };

    /// BAR holding VE memory through the PCIATB.
    pub const VEMEM_BAR: u32 = 0;
    /// BAR holding the communication register (CR) pages.
    pub const CR_BAR: u32 = 3;
    /// Bytes of one CR page in [`CR_BAR`] (NEC's fault check names page `offset / CR_PAGE_SIZE`).
    pub const CR_PAGE_SIZE: usize = 0x2000;
    /// CR pages on a VE1.
    pub const CR_PAGES: usize = 32;
    /// PCIATB entries on a VE1 (NEC's `hw_ve1.h`): pages of the BAR0 window that
    /// `VEDRV_CMD_ASSIGN_VEMEM` can give a user.
    pub const PCIATB_ENTRIES: usize = 1024;
    /// Per-core register areas in [`SCR_BAR`]: core `c`'s at `c * CORE_AREA`.
    pub const CORE_AREA: usize = 0x10_0000;
    /// A core's user registers, from the start of its area.
    pub const UREG_OFFSET: usize = 0;
    /// Bytes of a core's user registers.
    pub const UREG_SIZE: usize = 0x8_0000;
    /// A core's system registers, from the start of its area.
    pub const SREG_OFFSET: usize = 0x8_0000;
    /// Bytes of a core's system registers.
    pub const SREG_SIZE: usize = 0x8_0000;

    /// NEC's mmap windows of `/dev/veN` (file offsets): BAR3 (CR pages), BAR2 (every register),
    /// BAR0 (VE memory), each as long as its BAR.
    pub const MAP_CR: u64 = 0;
    /// The BAR2 window.
    pub const MAP_REGS: u64 = 0x1000_0000;
    /// The BAR0 window.
    pub const MAP_VEMEM: u64 = 0x2000_0000;

    /// Physical cores a VE1 numbers (MSI-X entries 0..=15 are theirs; NEC's `max_core_num` is
    /// 10, the per-core state here is sized for the whole entry range).
    pub const CORES_MAX: usize = 16;
    /// EXS, the core's execution status register, in its user registers (libved `ve_hw_ve1.h`).
    /// Bits 1:0 are the run state ([`super::exs`]); a write of [`super::exs::STOP`] or
    /// [`super::exs::RUN`] stops or starts the core.
    pub const UREG_EXS: usize = 0x1008;
    /// EXSRAR, the execution status report address register, in the core's system registers:
    /// where the core DMA-writes its EXS when it stops ([`super::exsrar`]).
    pub const SREG_EXSRAR: usize = 0x1_0900;

    /// BAR2 offset of core `core`'s EXS.
    pub const fn exs_offset(core: usize) -> usize {
        core * CORE_AREA + UREG_OFFSET + UREG_EXS
    }

    /// BAR2 offset of core `core`'s EXSRAR (`core` MiB + 0x90900).
    pub const fn exsrar_offset(core: usize) -> usize {
        core * CORE_AREA + SREG_OFFSET + SREG_EXSRAR
    }

    /// MSI-X entries NEC's VE1 handler dispatches (0..=95; it ignores the rest).
    pub const MSIX_ENTRIES: u32 = 96;
    /// First MSI-X entry of the cores' user DMA engines (core `c`: host side `16 + 2c`, VE side
    /// `17 + 2c`).
    pub const UDMA_VECTOR_FIRST: u32 = 16;
    /// MSI-X entry of the PCI access exception.
    pub const PCI_EXC_VECTOR: u32 = 56;
    /// First MSI-X entry of the core faults (core `c` at `64 + c`).
    pub const CORE_FAULT_VECTOR_FIRST: u32 = 64;
    /// The hardware error entries NEC names: FAULT, FAULT_DIAG, FAULT_ENV, HMC_ERR, LLC_ERR,
    /// MCU_ERR, DP_ERR, VR_ERR, WARN_ENV, DIAG_INFO (libved `libved_ve1.c`).
    pub const HW_ERROR_VECTORS: [u32; 10] = [80, 81, 82, 84, 85, 86, 87, 88, 91, 92];

    /// A VE1 chip reset (`VE_VE_RESET` level 0; reference 4.5, NEC's `main_ve1.c`): BAR2 writes
    /// in this order, the interrupt settings cancelled first, then the card reset command (the
    /// last). Afterwards the card does not answer configuration reads (vendor ID all ones) until
    /// it is out of reset; the engine is halted, the cores stopped.
    pub const CHIP_RESET: [(usize, u64); 4] = [
        (0x142_0090, 0xffc0_ffff_f000_8080),
        (0x142_00a8, 0xffc0_ef98_0000_0000),
        (0x140_0198, 0x0000_0200_0000_0200),
        (CHIP_RESET_COMMAND, CHIP_RESET_GO),
    ];
    /// [`CHIP_RESET`] as the driver runs it.
    pub const CHIP_RESET_STEPS: [super::ResetStep; 4] = [
        super::ResetStep::Write(CHIP_RESET[0].0, CHIP_RESET[0].1),
        super::ResetStep::Write(CHIP_RESET[1].0, CHIP_RESET[1].1),
        super::ResetStep::Write(CHIP_RESET[2].0, CHIP_RESET[2].1),
        super::ResetStep::Write(CHIP_RESET[3].0, CHIP_RESET[3].1),
    ];
    /// The register of [`CHIP_RESET`]'s last write, the card reset command.
    pub const CHIP_RESET_COMMAND: usize = 0x140_0190;
    /// The value that starts the reset.
    pub const CHIP_RESET_GO: u64 = 0x8800_0000_0020_0052;

    /// What a VE1 MSI-X entry stands for (reference 6.2, NEC's `ve1_intr()`).
    #[derive(Copy, Clone, Debug, PartialEq, Eq)]
    pub enum Entry {
        /// Core `n` stopped (an exception or a `MONC`): the core path.
        Core(u32),
        /// A core's user DMA engine (host side even, VE side odd).
        UserDma(u32),
        /// The privileged DMA engine.
        Pdma,
        /// PCI access exception.
        PciAccessException,
        /// Core `n` fault.
        CoreFault(u32),
        /// A hardware error or warning of the card, by entry.
        HwError(u32),
        /// NEC names nothing here: its handler still records entries below 96 in the pending
        /// mask; this driver registers no handler on them.
        Unused,
    }

    /// Classifies MSI-X entry `e`.
    pub const fn entry(e: u32) -> Entry {
        match e {
            0..=15 => Entry::Core(e),
            16..=47 => Entry::UserDma(e),
            48 => Entry::Pdma,
            56 => Entry::PciAccessException,
            64..=79 => Entry::CoreFault(e - CORE_FAULT_VECTOR_FIRST),
            80 | 81 | 82 | 84 | 85 | 86 | 87 | 88 | 91 | 92 => Entry::HwError(e),
            _ => Entry::Unused,
        }
    }

    /// The bit of `VEDRV_CMD_WAIT_INTR`'s 128-bit mask (`[upper, lower]`) that entry `e` sets on
    /// NEC's node path: `(upper, bit)`: bit `e` of `lower` below 64, bit `e - 64` of `upper`
    /// from 64 to 95. `None` for entries NEC ignores (above 95).
    pub const fn wait_intr_bit(e: u32) -> Option<(bool, u32)> {
        if e < 64 {
            Some((false, e))
        } else if e < MSIX_ENTRIES {
            Some((true, e - 64))
        } else {
            None
        }
    }
}

/// EXS, a core's execution status (VE1 user register [`ve1::UREG_EXS`]). Sources: libved
/// `ve_hw_ve1.h` (`EXS_STOP`, `EXS_RUN`), ve_drv-kmod `src/fops.c` (the run-state poll), VEOS
/// `libvepseudo/psm/ve_signal.h` (`NO_EXS`).
pub mod exs {
    /// Write: stop the core (libved `EXS_STOP`).
    pub const STOP: u64 = 0x1;
    /// Write: run the core (libved `EXS_RUN`).
    pub const RUN: u64 = 0xEE;
    /// Bits 1:0: the run state.
    pub const STATE_MASK: u64 = 0x3;
    /// Bits 63:8: exception and stop causes; a value with none set is "nothing to do" for the
    /// pseudo process (`NO_EXS`).
    pub const CAUSE_MASK: u64 = 0xFFFF_FFFF_FFFF_FF00;

    /// The run state in bits 1:0.
    #[derive(Copy, Clone, Debug, PartialEq, Eq)]
    pub enum RunState {
        /// `00b`: not described by NEC (a core out of reset reads 0 on the emulator).
        Idle,
        /// `01b`: halted.
        Halted,
        /// `10b`: running.
        Running,
        /// `11b`: halting ("before halt"): read again.
        BeforeHalt,
    }

    /// Decodes bits 1:0 of `exs`.
    pub const fn run_state(exs: u64) -> RunState {
        match exs & STATE_MASK {
            0 => RunState::Idle,
            1 => RunState::Halted,
            2 => RunState::Running,
            _ => RunState::BeforeHalt,
        }
    }

    /// EXS as a core leaves it when it stops with `cause`: the cause bits, run state halted.
    pub const fn halted(cause: u64) -> u64 {
        (cause & !STATE_MASK) | 1
    }
}

/// EXSRAR, the execution status report address register (VE1 system register
/// [`ve1::SREG_EXSRAR`]): bit 0 enables the report, bits 63:2 are the host DMA address of an
/// 8-byte slot the core writes its EXS to when it stops. NEC's driver programs
/// `(slot_address & !3) | 1` for every core at probe (ve_drv-kmod `src/main.c`, `ve_init_exsrar`).
pub mod exsrar {
    /// Bit 0: the core reports its EXS to the slot.
    pub const ENABLE: u64 = 1;
    /// The slot address bits.
    pub const ADDR_MASK: u64 = !3;

    /// The register value that reports to the slot at DMA address `slot`.
    pub const fn enabled(slot: u64) -> u64 {
        (slot & ADDR_MASK) | ENABLE
    }

    /// The slot a register value reports to, if reporting is enabled.
    pub const fn slot(reg: u64) -> Option<u64> {
        if reg & ENABLE != 0 {
            Some(reg & ADDR_MASK)
        } else {
            None
        }
    }
}

/// VE3 PCI layout (docs/hardware.md, "PCI layout" and "Interrupts"; NEC's libved `ve_hw_ve3.h`,
/// VEOS `ve3/src/veos/dma/ve3dma_hw.h`). BAR4 (8 MiB, non-prefetchable) holds the per-core areas
/// and the system-common block with the privileged DMA engine; BAR2/3 (64 MiB, prefetchable) the
/// cores' register files and a second system-common block (PCIATB, DMAATB); BAR0/1 is VE memory
/// through the PCIATB. The emulator presents this layout with `--variant ve3`
/// ([`super::emu::VE3_BAR4_IMAGE`]).
pub mod ve3 {
    /// BAR holding the non-prefetchable system-common registers.
    pub const SCR_BAR: u32 = 4;
    /// Bytes of BAR4.
    pub const BAR4_SIZE: usize = 8 << 20;
    /// Offset of the system-common registers in [`SCR_BAR`].
    pub const SCR_OFFSET: usize = 0x20_0000;
    /// Size of the VE3 non-prefetchable system-common block.
    pub const SCR_SIZE: usize = 0x10_0000;
    /// Privileged DMA descriptor table (`DMADESP`), relative to the SCR.
    pub const PDMA_DESC: usize = 0x8000;
    /// Privileged DMA control (`DMACTLP`), relative to the SCR.
    pub const PDMA_CTL0: usize = 0xA000;
    /// MSI-X entry of the privileged DMA engine.
    pub const PDMA_VECTOR: u32 = 32;
    /// INTVEC0, relative to the SCR: core `n`'s interrupt at bit `63 - n`.
    pub const INTVEC0: usize = 0x2000;
    /// INTVEC1, relative to the SCR: the privileged DMA interrupt at bit 63 (NEC's software bit
    /// 0, bit-reversed), PCI access exceptions in bits 31:16.
    pub const INTVEC1: usize = 0x2008;
    /// The privileged DMA engine: VE3's offsets, its interrupt on MSI-X 32 and INTVEC1 bit 63.
    pub const PDMA: super::PdmaRegs = super::PdmaRegs {
        desc: PDMA_DESC,
        ctl: PDMA_CTL0,
        vector: PDMA_VECTOR,
        intvec: INTVEC1,
        intvec_bit: 1 << 63,
    };
    /// INTVEC2, relative to the SCR: the user DMA engines, engine `k` at bit `63 - k`.
    pub const INTVEC2: usize = 0x2010;
    /// INTVEC3, relative to the SCR: core faults and card errors.
    pub const INTVEC3: usize = 0x2018;
    /// MSI-X entry of every user DMA engine.
    pub const UDMA_VECTOR: u32 = 33;
    /// MSI-X entry of the PCI access exception.
    pub const PCI_EXC_VECTOR: u32 = 34;
    /// MSI-X entry of the hardware errors.
    pub const HW_ERROR_VECTOR: u32 = 35;
    /// MSI-X entries NEC's VE3 handler dispatches: cores 0-31, privileged DMA 32, user DMA 33,
    /// PCI access exception 34, hardware error 35.
    pub const MSIX_ENTRIES: u32 = 36;
    /// The hardware bits of INTVEC1 that are PCI access exceptions (31:16).
    pub const INTVEC1_PCI_EXC: u64 = 0xffff_0000;

    /// NEC's VE3 node path (`ve3_intr()`): the INTVEC register (relative to the SCR) whose bits
    /// entry `e` reports, for the user DMA, PCI exception and hardware error entries.
    pub const fn node_intvec(e: u32) -> Option<usize> {
        match e {
            UDMA_VECTOR => Some(INTVEC2),
            PCI_EXC_VECTOR => Some(INTVEC1),
            HW_ERROR_VECTOR => Some(INTVEC3),
            _ => None,
        }
    }

    /// What entry `e` adds to `VEDRV_CMD_WAIT_INTR`'s pending `intvec[4]` when its register
    /// ([`node_intvec`]) reads `value`: `(word, bits)`, the register bit-reversed into NEC's
    /// software order (user DMA engine `k` at bit `k` of word 2; the PCI exception bits 31:16 at
    /// 47:32 of word 1; errors into word 3).
    pub const fn node_report(e: u32, value: u64) -> Option<(usize, u64)> {
        match e {
            UDMA_VECTOR => Some((2, value.reverse_bits())),
            PCI_EXC_VECTOR => Some((1, (value & INTVEC1_PCI_EXC).reverse_bits())),
            HW_ERROR_VECTOR => Some((3, value.reverse_bits())),
            _ => None,
        }
    }
    /// PCIATB entries on a VE3 (NEC's `hw_ve3.h`).
    pub const PCIATB_ENTRIES: usize = 4096;
    /// Pages withheld from a register mapping without `user_pdma=1`, relative to the SCR:
    /// INTVEC0-3, `DMADESP`, the reserved page after it, `DMACTLP` (as VE1's
    /// [`super::scr::WITHHELD`]).
    pub const WITHHELD: [usize; 4] = [INTVEC0, PDMA_DESC, PDMA_DESC + 0x1000, PDMA_CTL0];
    /// The communication registers in BAR4: 32 pages of 8 KiB at SCR + 0x80000, the part of
    /// BAR4 NEC lets any user map.
    pub const CR_OFFSET: usize = SCR_OFFSET + 0x8_0000;
    /// Bytes of one CR page.
    pub const CR_PAGE_SIZE: usize = 0x2000;
    /// CR pages.
    pub const CR_PAGES: usize = 32;
    /// Bytes of BAR2/3, the prefetchable registers.
    pub const BAR2_SIZE: usize = 64 << 20;
    /// Offset of the prefetchable system-common block (PCIATB, PCIATBA, DMAATB) in BAR2.
    pub const BAR2_SCR_OFFSET: usize = 0x200_0000;
    /// PCIATBA relative to the prefetchable block: bit 0 selects the PCIATB page size.
    pub const PCIATBA: usize = 0x1_0000;
    /// Per-core areas in BAR4: core `c`'s at `c * CORE_AREA` (a page of user registers with EXS
    /// at +0, then system registers with EXSRAR at +0x1000; libved's VE3 area 1).
    pub const CORE_AREA: usize = 0x1_0000;
    /// Physical cores a VE3 can have (INTVEC0 bits, MSI-X entries 0-31).
    pub const CORES_MAX: usize = 32;

    /// Offset in BAR4 of core `core`'s EXS.
    pub const fn exs_offset(core: usize) -> usize {
        core * CORE_AREA
    }

    /// Offset in BAR4 of core `core`'s EXSRAR.
    pub const fn exsrar_offset(core: usize) -> usize {
        core * CORE_AREA + 0x1000
    }

    /// Clock gating (NEC's `HANDLE_CLOCK_GATING`): writing [`CLOCK_GATING_BIT`] here turns the
    /// cores' clock gating on (BAR4 offset).
    pub const CLOCK_GATING_ON: usize = 0x58_0010;
    /// Writing [`CLOCK_GATING_BIT`] here turns it off (BAR4 offset).
    pub const CLOCK_GATING_OFF: usize = 0x58_0020;
    /// The clock gating state register (BAR4 offset): [`CLOCK_GATING_BIT`] set while on. VEOS
    /// polls it after a change until it matches.
    pub const CLOCK_GATING_STATE: usize = 0x53_0000;
    /// The clock gating bit (bit 11) of the three registers above.
    pub const CLOCK_GATING_BIT: u64 = 0x800;
    /// NEC's `COMPLETE_MEMCLEAR`: what tells the memory controllers that VEOS has cleared VE
    /// memory, in order: `(BAR4 offset, value, read back)`. NEC does not document the
    /// registers; the sequence is its driver's (reference 4.5).
    pub const MEMCLEAR_DONE: [(usize, u64, bool); 12] = [
        (0x5C_9010, 0x00C0_FF00_0000_0000, true),
        (0x5C_9020, 0x00C0_FF00_0000_0000, true),
        (0x59_CA08, 0, false),
        (0x59_8810, 0x000F_E000_0000_0000, false),
        (0x59_90C0, 0, false),
        (0x59_92C0, 0, false),
        (0x59_94C0, 0, false),
        (0x59_96C0, 0, false),
        (0x59_98C0, 0, false),
        (0x59_9AC0, 0, false),
        (0x59_9CC0, 0, false),
        (0x59_9EC0, 0, false),
    ];

    /// The card reset command register (BAR4 offset): [`CHIP_RESET_REQUEST`], then
    /// [`CHIP_RESET_GO`].
    pub const CHIP_RESET_COMMAND: usize = 0x50_0190;
    /// The command that announces the reset.
    pub const CHIP_RESET_REQUEST: u64 = 0x8800_0000_0020_0002;
    /// The command that resets the card (VE1's value at VE3's register).
    pub const CHIP_RESET_GO: u64 = 0x8800_0000_0020_0052;
    /// NEC's VE3 card reset (`VE_VE_RESET` level 0, reference 4.5), in BAR4: the reset request
    /// and a read-back, the interrupt settings cancelled, one second for the request to take
    /// effect ("stop (1) from overtaking"), then the reset. Afterwards the card does not answer
    /// configuration reads until it is out of reset; the engine is halted, the cores stopped.
    pub const CHIP_RESET: [super::ResetStep; 10] = [
        super::ResetStep::Write(0x50_0198, 0x0000_00D8_0000_00C0),
        super::ResetStep::Write(CHIP_RESET_COMMAND, CHIP_RESET_REQUEST),
        super::ResetStep::Read(0x50_0000),
        super::ResetStep::Write(0x51_0050, 0xffff_c000_0000_0000),
        super::ResetStep::Write(0x51_0070, 0x8000_0000_8000_0000),
        super::ResetStep::Write(0x51_0090, 0xffff_ffff_f000_0000),
        super::ResetStep::Write(0x51_00b0, 0xffff_c000_eff8_0000),
        super::ResetStep::SleepMs(1000),
        super::ResetStep::Write(0x50_0198, 0x0000_0200_0000_0200),
        super::ResetStep::Write(CHIP_RESET_COMMAND, CHIP_RESET_GO),
    ];

    /// NEC's mmap file offset of BAR4.
    pub const MAP_BAR4: u64 = 0;
    /// NEC's mmap file offset of BAR2/3.
    pub const MAP_BAR2: u64 = 0x0800_0000;
    /// NEC's mmap file offset of BAR0/1 (VE memory).
    pub const MAP_VEMEM: u64 = 0x8800_0000;
}

/// Privileged DMA control register bits.
pub mod dmactl {
    /// Word 0, write: permit the engine to run ("PERM_START").
    pub const PERMIT: u64 = 1;
    /// Word 0, write: request a halt ("DMACTL_DISABLE_PERMIT").
    pub const DISABLE: u64 = 0;
    /// Word 0, read: status field.
    pub const STATUS_MASK: u64 = 0x3;
    /// Word 0, read: the engine has halted ("DMACTL_HALT_MASK").
    pub const STATUS_HALT: u64 = 0x2;
    /// Word 1: an exception stopped the engine.
    pub const EXCEPTION: u64 = 1 << 63;
    /// Word 1: read pointer, the index of the next descriptor the engine will process.
    pub const READPTR_MASK: u64 = 0x7f;
}

/// Privileged DMA descriptors: four 64-bit words each.
///
/// | word | bits  | field                                                  |
/// |------|-------|--------------------------------------------------------|
/// | 0    | 63:48 | exception code                                         |
/// | 0    | 3:0   | status: 8 STARTED, 4 EARLY, 2 COMPLETED, 1 PREPARED    |
/// | 1    | 42:40 | source address space                                   |
/// | 1    | 38:36 | destination address space                              |
/// | 1    | 35:32 | control: 8 SYNC, 4 INTR_ERR, 2 INTR_EARLY, 1 INTR_COMPLETION |
/// | 1    | 31:0  | length in bytes                                        |
/// | 2    | 47:0  | source address                                         |
/// | 3    | 47:0  | destination address                                    |
///
/// Software writes words 1, 2, 3, then word 0 = PREPARED last: the engine never sees a
/// half-written descriptor as ready.
pub mod desc {
    /// Descriptors in the ring.
    pub const NUM: usize = 128;
    /// At most this many descriptors may be outstanding (one slot stays free, as in VEOS).
    pub const MAX_IN_FLIGHT: usize = NUM - 1;
    /// Size of one descriptor.
    pub const SIZE: usize = 32;
    /// Longest transfer one descriptor may carry (VE_DMA_DESC_LEN_MAX).
    pub const LEN_MAX: u64 = 64 << 20;
    /// Length and both addresses must be multiples of this (NEC's DMA manager rule).
    pub const ALIGN: u64 = 8;
    /// Addresses are 48 bits wide.
    pub const ADDR_MASK: u64 = (1 << 48) - 1;

    /// Word 0 status: the engine is copying this descriptor.
    pub const STATUS_STARTED: u64 = 8;
    /// Word 0 status: early completion was signalled.
    pub const STATUS_EARLY: u64 = 4;
    /// Word 0 status: the copy finished.
    pub const STATUS_COMPLETED: u64 = 2;
    /// Word 0 status: ready for the engine.
    pub const STATUS_PREPARED: u64 = 1;
    /// Word 0: status field.
    pub const STATUS_MASK: u64 = 0xf;
    /// Word 0: exception code field shift (bits 63:48).
    pub const EXCEPTION_SHIFT: u32 = 48;

    /// Control: the engine must finish this descriptor before starting the next.
    pub const CTL_SYNC: u8 = 8;
    /// Control: raise the interrupt on an error.
    pub const CTL_INTR_ERR: u8 = 4;
    /// Control: raise the interrupt on early completion.
    pub const CTL_INTR_EARLY: u8 = 2;
    /// Control: raise the interrupt when this descriptor completes.
    pub const CTL_INTR_COMPLETION: u8 = 1;

    /// Word 1: shift of the PCIe ordering attributes of the host side's transactions.
    pub const ORDER_SHIFT: u32 = 45;
    /// Ordering attribute: relaxed ordering.
    pub const ORDER_RO: u8 = 2;
    /// Ordering attribute: ID-based ordering, VE1's encoding.
    pub const ORDER_IDO_VE1: u8 = 1;
    /// Ordering attribute: ID-based ordering, VE3's encoding (`VE_DMA_DESC_CTL_PCI_IDO`).
    pub const ORDER_IDO_VE3: u8 = 4;
    /// Every ordering attribute bit word 1 has room for.
    pub const ORDER_MASK: u8 = 7;

    /// Address spaces the engine understands (virtual types never reach the hardware).
    #[derive(Copy, Clone, Debug, PartialEq, Eq)]
    #[repr(u8)]
    pub enum AddrSpace {
        /// VE host system absolute address: host (guest) physical memory.
        Vhsaa = 2,
        /// VE register absolute address.
        Veraa = 4,
        /// VE memory absolute address: physical VE memory.
        Vemaa = 6,
    }

    impl AddrSpace {
        /// Decodes a 3-bit address-space field.
        pub const fn from_bits(bits: u64) -> Option<Self> {
            match bits {
                2 => Some(Self::Vhsaa),
                4 => Some(Self::Veraa),
                6 => Some(Self::Vemaa),
                _ => None,
            }
        }
    }

    /// Why a descriptor cannot be encoded.
    #[derive(Copy, Clone, Debug, PartialEq, Eq)]
    pub enum DescError {
        /// Length or an address is not a multiple of [`ALIGN`].
        Misaligned,
        /// Length is over [`LEN_MAX`].
        TooLong,
        /// An address does not fit in 48 bits, or the range wraps.
        AddressRange,
    }

    /// One privileged DMA descriptor, as software describes it.
    #[derive(Copy, Clone, Debug, PartialEq, Eq)]
    pub struct Desc {
        /// Source address space.
        pub src_space: AddrSpace,
        /// Source address.
        pub src: u64,
        /// Destination address space.
        pub dst_space: AddrSpace,
        /// Destination address.
        pub dst: u64,
        /// Bytes to copy; 0 neutralises a descriptor (the engine skips it).
        pub len: u32,
        /// `CTL_*` bits.
        pub control: u8,
        /// `ORDER_*` bits: PCIe ordering attributes of the host side's transactions.
        pub order: u8,
    }

    impl Desc {
        /// Checks NEC's rules: 8-byte alignment, at most 64 MiB, 48-bit addresses.
        pub const fn validate(&self) -> Result<(), DescError> {
            let len = self.len as u64;
            if len % ALIGN != 0 || self.src % ALIGN != 0 || self.dst % ALIGN != 0 {
                return Err(DescError::Misaligned);
            }
            if len > LEN_MAX {
                return Err(DescError::TooLong);
            }
            let src_end = match self.src.checked_add(len) {
                Some(e) => e,
                None => return Err(DescError::AddressRange),
            };
            let dst_end = match self.dst.checked_add(len) {
                Some(e) => e,
                None => return Err(DescError::AddressRange),
            };
            if src_end > ADDR_MASK + 1 || dst_end > ADDR_MASK + 1 {
                return Err(DescError::AddressRange);
            }
            Ok(())
        }

        /// Word 1: ordering attributes, spaces, control and length.
        pub const fn word1(&self) -> u64 {
            ((self.src_space as u64) << 40)
                | ((self.dst_space as u64) << 36)
                | (((self.order & ORDER_MASK) as u64) << ORDER_SHIFT)
                | (((self.control & 0xf) as u64) << 32)
                | self.len as u64
        }

        /// The four words, word 0 already PREPARED. Callers must store word 0 last.
        pub const fn encode(&self) -> Result<[u64; 4], DescError> {
            match self.validate() {
                Ok(()) => Ok([
                    STATUS_PREPARED,
                    self.word1(),
                    self.src & ADDR_MASK,
                    self.dst & ADDR_MASK,
                ]),
                Err(e) => Err(e),
            }
        }

        /// Decodes words 1..=3 (what the engine reads). `None` if an address space is unknown.
        pub const fn decode(w1: u64, w2: u64, w3: u64) -> Option<Self> {
            let src_space = match AddrSpace::from_bits((w1 >> 40) & 7) {
                Some(s) => s,
                None => return None,
            };
            let dst_space = match AddrSpace::from_bits((w1 >> 36) & 7) {
                Some(s) => s,
                None => return None,
            };
            Some(Self {
                src_space,
                src: w2 & ADDR_MASK,
                dst_space,
                dst: w3 & ADDR_MASK,
                len: w1 as u32,
                control: ((w1 >> 32) & 0xf) as u8,
                order: ((w1 >> ORDER_SHIFT) as u8) & ORDER_MASK,
            })
        }
    }

    /// Exception codes the emulator reports in word 0 (bits 63:48). NEC does not publish the real
    /// engine's codes; these are the emulator's, one per cause.
    /// An address space the engine does not know.
    pub const EXC_ADDR_SPACE: u16 = 0x0001;
    /// Length or an address not 8-byte aligned.
    pub const EXC_MISALIGNED: u16 = 0x0002;
    /// Length over [`LEN_MAX`].
    pub const EXC_LENGTH: u16 = 0x0003;
    /// An address outside the memory of its space (guest RAM, the PCI hole, VE memory).
    pub const EXC_ADDR_RANGE: u16 = 0x0004;
    /// The emulator's VT-d translation refused a host-side (VHSAA) address: no root table handed
    /// over yet ([`super::emu::OFF_CTL_IOMMU_ENABLE`]), a non-present root, context or page-table
    /// entry, an address beyond the context's address width, or a missing read (source) or write
    /// (destination) permission. Nothing of the descriptor was copied; the faulting IOVA is in
    /// [`super::emu::OFF_IOMMU_LAST_FAULT`]. Only with the emulator's `--iommu`.
    pub const EXC_IOMMU_FAULT: u16 = 0x0005;
    /// Injected by the emulator's test controls.
    pub const EXC_INJECTED: u16 = 0x00ff;

    /// Status field of word 0.
    pub const fn status(word0: u64) -> u64 {
        word0 & STATUS_MASK
    }

    /// Exception code of word 0.
    pub const fn exception(word0: u64) -> u16 {
        (word0 >> EXCEPTION_SHIFT) as u16
    }

    /// Word 0 as the engine leaves it: a status and an exception code.
    pub const fn word0(status: u64, exception: u16) -> u64 {
        ((exception as u64) << EXCEPTION_SHIFT) | (status & STATUS_MASK)
    }
}

/// The VE Configuration Registers (VCR): 13 words a VE1 or VE3 card publishes in its PCI
/// extended configuration space at [`vcr::CONFIG_OFFSET`], read once at probe. They give the card's
/// model, cores, memory, clocks and serial numbers, which sysfs shows (docs/hardware.md, "VE
/// Configuration Registers"). The emulator publishes the same words in its identification block
/// ([`emu::OFF_VCR`]).
pub mod vcr {
    /// Where word 0 is in PCI configuration space.
    pub const CONFIG_OFFSET: usize = 0xf00;
    /// Words.
    pub const WORDS: usize = 13;
    /// The layout version (word 0, bits 7:0) of every VE1 and of earlier VE3s.
    pub const VERSION: u32 = 1;
    /// The layout version of later VE3s: the enabled cores are all of word 5 (word 1's bitmap is
    /// not read), and NUMA partitioning splits them nine and nine.
    pub const VERSION_WIDE: u32 = 2;
    /// Cores of NUMA node 0 and 1 in partitioning mode: five each in layout 1, nine each in
    /// layout 2 (NEC's masks).
    const NUMA_CORES: [u32; 2] = [0x1f, 0x3e0];
    const NUMA_CORES_WIDE: [u32; 2] = [0x1ff, 0x3_fe00];
    /// VE1 models NEC's driver accepts: 1 and 2, and 0xfe for a QEMU model.
    pub const VE1_MODELS: [u32; 3] = [1, 2, 0xfe];

    /// The 13 words as read.
    #[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
    pub struct Vcr(pub [u32; WORDS]);

    impl Vcr {
        const fn field(&self, word: usize, hi: u32, lo: u32) -> u32 {
            (self.0[word] >> lo) & (u32::MAX >> (31 - (hi - lo)))
        }

        /// Layout version (word 0, bits 7:0).
        pub const fn version(&self) -> u32 {
            self.field(0, 7, 0)
        }

        /// Model (word 0, bits 31:24).
        pub const fn model(&self) -> u32 {
            self.field(0, 31, 24)
        }

        /// Product type (word 0, bits 23:16).
        pub const fn product_type(&self) -> u32 {
            self.field(0, 23, 16)
        }

        /// Cores on the chip (word 1, bits 31:24).
        pub const fn num_of_core(&self) -> u32 {
            self.field(1, 31, 24)
        }

        /// Bitmap of the enabled physical cores: word 1, bits 23:0; all of word 5 in layout 2
        /// (a VE3's: no VE1 with it binds).
        pub const fn cores_enable(&self) -> u32 {
            if self.version() == VERSION_WIDE {
                self.0[5]
            } else {
                self.field(1, 23, 0)
            }
        }

        /// The enabled cores of NUMA node `node` (0 or 1) in partitioning mode, as NEC's
        /// `numa0_cores`/`numa1_cores` show them; 0 for any other node.
        pub const fn numa_cores(&self, node: usize) -> u32 {
            let masks = if self.version() == VERSION_WIDE {
                NUMA_CORES_WIDE
            } else {
                NUMA_CORES
            };
            if node < masks.len() {
                self.cores_enable() & masks[node]
            } else {
                0
            }
        }

        /// One past the highest enabled physical core (0 with none): the cores NEC's driver
        /// keeps per-core state for (its `core_fls`).
        pub const fn core_fls(&self) -> u32 {
            u32::BITS - self.cores_enable().leading_zeros()
        }

        /// Chip serial number: `(w2 << 32 | w3, w4 << 32 | w5)` (a VE3 shows only the first
        /// three words: in layout 2 word 5 holds the cores).
        pub const fn chip_id(&self) -> (u64, u64) {
            (self.pair(2), self.pair(4))
        }

        /// Board serial number: `(w6 << 32 | w7, w8 << 32 | w9)`.
        pub const fn serial(&self) -> (u64, u64) {
            (self.pair(6), self.pair(8))
        }

        const fn pair(&self, word: usize) -> u64 {
            ((self.0[word] as u64) << 32) | self.0[word + 1] as u64
        }

        /// Firmware version of the VE's management controller (word 10, bits 15:0).
        pub const fn fw_version(&self) -> u32 {
            self.field(10, 15, 0)
        }

        /// VE3: the card is set up for NUMA partitioning (word 10, bit 31, NEC's
        /// `VE3_HWIDENT_NUMA`), which NEC's VE3 driver shows as `partitioning_mode`.
        pub const fn ve3_numa(&self) -> bool {
            self.field(10, 31, 31) != 0
        }

        /// VE memory in GiB (word 11, bits 31:16).
        pub const fn memory_size_gib(&self) -> u32 {
            self.field(11, 31, 16)
        }

        /// Memory clock in MHz (word 11, bits 15:0).
        pub const fn clock_memory(&self) -> u32 {
            self.field(11, 15, 0)
        }

        /// Core clock in MHz (word 12, bits 31:16).
        pub const fn clock_chip(&self) -> u32 {
            self.field(12, 31, 16)
        }

        /// Base clock in MHz (word 12, bits 15:0).
        pub const fn clock_base(&self) -> u32 {
            self.field(12, 15, 0)
        }

        /// Whether a VE1 driver may bind a card that publishes these words: layout version 1 and
        /// a VE1 model.
        pub fn is_ve1(&self) -> bool {
            self.version() == VERSION && VE1_MODELS.contains(&self.model())
        }

        /// CPU version (word 0, bits 15:8).
        pub const fn cpu_version(&self) -> u32 {
            self.field(0, 15, 8)
        }

        /// Whether these words describe a VE3 as NEC's VE3 probe accepts it: layout 1 or 2,
        /// model 3, CPU version 1.
        pub const fn is_ve3(&self) -> bool {
            matches!(self.version(), VERSION | VERSION_WIDE)
                && self.model() == 3
                && self.cpu_version() == 1
        }
    }
}

/// The engine emulator's BAR2 and its identification block and mailboxes.
///
/// BAR2 (256 MiB) holds, in this order: VE1's BAR2 image (32 MiB: per-core register areas, core
/// `n` at `n` MiB, inert memory here; the system-common registers at 16 MiB), the identification
/// block ([`BLOCK`]), a stand-in for VE1's BAR3 CR pages ([`CR_AREA`]) and, in the upper half, a
/// stand-in for the 128 MiB BAR0 VE memory window ([`VEMEM_AREA`]). The driver's mmap windows point at these (`src/chip.rs`,
/// `EMULATOR`); the block is in none of them, so VEOS's writes to core 0's user registers cannot
/// reach it. The driver trusts the emulator only after it has checked [`MAGIC`] and
/// [`ABI_VERSION`] (and its peer id) at probe.
///
/// The `OFF_*` constants are offsets in the block. Who writes what: fields marked (emu) are
/// written by the emulator only, (drv) by the driver only. All are little-endian, naturally
/// aligned.
pub mod emu {
    /// "VEEMU1\0\0" as a little-endian u64 (emu).
    pub const MAGIC: u64 = u64::from_le_bytes(*b"VEEMU1\0\0");
    /// Layout version of this block; bumped on any incompatible change (emu). 2: the block moved
    /// from BAR2 offset 0 to [`BLOCK`], BAR2 grew to 64 MiB. 3: BAR2 grew to 256 MiB, the VE
    /// memory window to 128 MiB at 128 MiB (VEOS needs `bar0_size` of at least 128 MiB). 4: 96
    /// MSI-X vectors (VE1's whole map), the cores' exception path and the raise controls
    /// ([`OFF_CTL_RAISE`]). 5: VE1's chip reset ([`super::ve1::CHIP_RESET`]) and
    /// [`OFF_CNT_RESETS`], the ordering-attribute counters. 6: the emulated VT-d translation of
    /// host-side addresses (`--iommu`; [`OFF_CTL_IOMMU_ENABLE`] and its fields, counters and
    /// [`super::desc::EXC_IOMMU_FAULT`]) and [`OFF_LAST_VH_ADDR`]. 7: [`OFF_VARIANT`], the VE3
    /// layout ([`VE3_BAR4_IMAGE`]).
    pub const ABI_VERSION: u32 = 7;
    /// Size of BAR2 the emulator creates (a power of two, as PCI BARs are). The memfd behind it
    /// is sparse: untouched pages cost nothing.
    pub const BAR2_SIZE: usize = 256 << 20;
    /// Bytes of BAR2 that mirror a VE1's BAR2 (the driver's register window).
    pub const VE1_BAR2_SIZE: usize = 32 << 20;
    /// Where the identification block starts in BAR2.
    pub const BLOCK: usize = VE1_BAR2_SIZE;
    /// Bytes of the identification block.
    pub const BLOCK_SIZE: usize = 0x1000;
    /// The stand-in for VE1's BAR3: [`super::ve1::CR_PAGES`] CR pages of
    /// [`super::ve1::CR_PAGE_SIZE`]. Plain memory.
    pub const CR_AREA: usize = 40 << 20;
    /// Bytes of [`CR_AREA`].
    pub const CR_AREA_SIZE: usize = super::ve1::CR_PAGES * super::ve1::CR_PAGE_SIZE;
    /// The stand-in for VE1's BAR0 (VE memory through the PCIATB): plain memory, not the
    /// emulator's VE memory (the emulator has no PCIATB).
    pub const VEMEM_AREA: usize = 128 << 20;
    /// Bytes of [`VEMEM_AREA`]: 128 MiB, the least VEOS accepts as `bar0_size` (its PCIATB then
    /// uses 2 MiB pages).
    pub const VEMEM_AREA_SIZE: usize = 128 << 20;
    /// With [`VARIANT_VE3`]: where VE3's BAR4 image starts in BAR2 (8 MiB: the per-core areas,
    /// the system-common block at [`super::ve3::SCR_OFFSET`] with the privileged DMA engine, the
    /// CR pages). The VE1 image is not there then: the same bytes are VE3's.
    pub const VE3_BAR4_IMAGE: usize = 0;
    /// With [`VARIANT_VE3`]: where VE3's BAR2/3 image (64 MiB, the prefetchable registers)
    /// starts in BAR2. Plain memory.
    pub const VE3_BAR2_IMAGE: usize = 64 << 20;
    /// Size of the emulated VE register space (VERAA addresses 0..this).
    pub const VERAA_SIZE: usize = 64 << 10;
    /// MSI-X vectors the emulator serves: VE1's whole map as NEC's handler dispatches it
    /// (entries 0..=95: cores 0-15, user DMA 16-47, privileged DMA 48, PCI access exception 56,
    /// core faults 64-79, hardware errors 80-92).
    pub const VECTORS: u32 = super::ve1::MSIX_ENTRIES;
    /// Physical cores the emulator models (its VCR enables cores 0-7).
    pub const CORES: usize = 8;

    /// u64 magic (emu). Written last at start-up, after every other field.
    pub const OFF_MAGIC: usize = 0x00;
    /// u32 [`ABI_VERSION`] (emu).
    pub const OFF_ABI_VERSION: usize = 0x08;
    /// u32 ivshmem peer id of the emulator: the doorbell target (emu).
    pub const OFF_EMU_PEER: usize = 0x0c;
    /// u32 ivshmem peer id the emulator gave the guest; equals the guest's IVPosition (emu).
    pub const OFF_GUEST_PEER: usize = 0x10;
    /// u32 MSI-X vectors served (emu).
    pub const OFF_VECTORS: usize = 0x14;
    /// u64 size of emulated VE memory (VEMAA space) in bytes (emu).
    pub const OFF_VE_MEM_SIZE: usize = 0x18;
    /// u64 guest RAM size the emulator maps (emu).
    pub const OFF_GUEST_RAM_SIZE: usize = 0x20;
    /// u64 nonce chosen by whoever started the emulator; proves the guest reads this block (emu).
    pub const OFF_NONCE: usize = 0x28;
    /// u32 the card variant whose layout BAR2 presents: [`VARIANT_VE1`] or [`VARIANT_VE3`] (emu).
    pub const OFF_VARIANT: usize = 0x30;
    /// [`OFF_VARIANT`]: a VE1 (BAR2 as VE1's BAR2, [`VE1_BAR2_SIZE`]).
    pub const VARIANT_VE1: u32 = 1;
    /// [`OFF_VARIANT`]: a VE3 (VE3's BAR4 at [`VE3_BAR4_IMAGE`], BAR2/3 at [`VE3_BAR2_IMAGE`]).
    pub const VARIANT_VE3: u32 = 3;

    /// Counters, all u64 (emu).
    /// Doorbell wake-ups seen (one wake-up may carry several doorbells: eventfds coalesce).
    pub const OFF_CNT_WAKEUPS: usize = 0x100;
    /// MSI-X interrupts raised (eventfd writes to the guest).
    pub const OFF_CNT_IRQS: usize = 0x108;
    /// Bytes copied by the DMA engine.
    pub const OFF_CNT_BYTES: usize = 0x110;
    /// Descriptors completed.
    pub const OFF_CNT_DESCS: usize = 0x118;
    /// Nanoseconds the engine spent copying.
    pub const OFF_CNT_BUSY_NS: usize = 0x120;
    /// Ping requests answered, and those whose check word was wrong.
    pub const OFF_CNT_PINGS: usize = 0x128;
    /// Ping requests whose check word was wrong.
    pub const OFF_CNT_PING_BAD: usize = 0x130;

    /// Descriptors the engine has started, ever (a sequence number: the n-th started has n).
    pub const OFF_CNT_STARTED: usize = 0x138;
    /// Exceptions raised.
    pub const OFF_CNT_EXCEPTIONS: usize = 0x140;
    /// Interrupts the test controls suppressed.
    pub const OFF_CNT_IRQS_DROPPED: usize = 0x148;
    /// Spurious interrupts raised by [`OFF_CTL_IRQ_STORM`] (not in [`OFF_CNT_IRQS`]).
    pub const OFF_CNT_IRQS_SPURIOUS: usize = 0x150;
    /// Halts: times the engine reported HALT after its permit bit was cleared.
    pub const OFF_CNT_HALTS: usize = 0x158;
    /// Core exceptions raised ([`RAISE_EXCEPTION`]).
    pub const OFF_CNT_CORE_EXCEPTIONS: usize = 0x160;
    /// EXS values DMA-written to an EXSRAR slot in guest memory.
    pub const OFF_CNT_EXSRAR_WRITES: usize = 0x168;
    /// Raise requests served ([`OFF_CTL_RAISE`]); a test waits for this to move.
    pub const OFF_CNT_RAISED: usize = 0x170;
    /// Raise requests refused (an entry outside [`VECTORS`], a core outside [`CORES`], an EXSRAR
    /// slot outside guest RAM).
    pub const OFF_CNT_RAISE_BAD: usize = 0x178;

    /// Test controls, all u64, written by tests (through the driver or a mapping of BAR2), read by
    /// the engine before every descriptor. 0 means off.
    /// Fail the descriptor whose start sequence number ([`OFF_CNT_STARTED`] after it starts)
    /// equals this value with [`super::desc::EXC_INJECTED`].
    pub const OFF_CTL_EXC_AT: usize = 0x180;
    /// Nonzero: the engine stops processing (a hung engine).
    pub const OFF_CTL_STALL: usize = 0x188;
    /// Microseconds to wait before completing each descriptor.
    pub const OFF_CTL_DELAY_US: usize = 0x190;
    /// Bandwidth cap in MiB/s.
    pub const OFF_CTL_BW_MIBS: usize = 0x198;
    /// Raise the completion interrupt only for every N-th completion that asks for one.
    pub const OFF_CTL_IRQ_COALESCE: usize = 0x1a0;
    /// Suppress this many completion interrupts (counted down).
    pub const OFF_CTL_IRQ_DROP: usize = 0x1a8;
    /// At the next doorbell, start raising this many spurious privileged DMA interrupts (INTVEC
    /// bit not set, nothing completed), [`STORM_GAP_US`] apart, from a thread of their own; the
    /// control is cleared and [`OFF_CNT_IRQS_SPURIOUS`] counts them at the start.
    pub const OFF_CTL_IRQ_STORM: usize = 0x1b0;
    /// Nonzero: at the next doorbell the emulator writes its counters and exits without looking at
    /// anything (its death, as a test: QEMU cannot reconnect it).
    pub const OFF_CTL_DIE: usize = 0x1b8;
    /// Microseconds the engine takes to report HALT once its permit bit is cleared (as a card
    /// finishing the descriptor it is on); `u64::MAX`: it never halts (a wedged engine).
    pub const OFF_CTL_HALT_DELAY_US: usize = 0x1c0;
    /// u64: chip resets done ([`super::ve1::CHIP_RESET`]), counted when the card is out of reset.
    pub const OFF_CNT_RESETS: usize = 0x1c8;
    /// u64: descriptors run with the relaxed-ordering attribute ([`super::desc::ORDER_RO`]).
    pub const OFF_CNT_DESCS_RO: usize = 0x1d0;
    /// u64: descriptors run with the ID-based-ordering attribute
    /// ([`super::desc::ORDER_IDO_VE1`]).
    pub const OFF_CNT_DESCS_IDO: usize = 0x1d8;
    /// u64: the host-side (VHSAA) address of the last descriptor the engine went to copy (one
    /// that passed the alignment and length checks, with a nonzero length, whether its copy
    /// then succeeded or not): its source if that is VHSAA, else its destination if that is;
    /// untouched by descriptors with no VHSAA side. The address as the descriptor holds it, before any IOMMU
    /// translation: a DMA address (an IOVA behind an IOMMU, a bounce buffer under swiotlb) that a
    /// test can compare with its buffer's physical address.
    pub const OFF_LAST_VH_ADDR: usize = 0x1e0;
    /// Microseconds between the interrupts of a storm: long enough for each to be delivered on
    /// its own (eventfd signals that pile up are delivered as one).
    pub const STORM_GAP_US: u64 = 20;

    /// Raise request (tests write it, through a mapping of BAR2, after [`OFF_CTL_RAISE_ENTRY`],
    /// [`OFF_CTL_RAISE_EXS`] and [`OFF_CTL_RAISE_COUNT`], then ring the doorbell; the emulator
    /// clears it to 0 and counts [`OFF_CNT_RAISED`] when it has acted): one of [`RAISE_EXCEPTION`],
    /// [`RAISE_INTERRUPT`], [`RAISE_SPURIOUS`].
    pub const OFF_CTL_RAISE: usize = 0x400;
    /// u64 MSI-X entry the request is for (tests).
    pub const OFF_CTL_RAISE_ENTRY: usize = 0x408;
    /// u64 EXS cause bits of a [`RAISE_EXCEPTION`]; for a [`RAISE_INTERRUPT`] on a VE3's user
    /// DMA, PCI exception or hardware error entry, the bits to set in its INTVEC register
    /// ([`super::ve3::node_intvec`]; 0: bit 63, for the PCI exception bit 31) (tests).
    pub const OFF_CTL_RAISE_EXS: usize = 0x410;
    /// u64 interrupts of a [`RAISE_SPURIOUS`] storm (0 counts as 1) (tests).
    pub const OFF_CTL_RAISE_COUNT: usize = 0x418;

    /// The emulated VT-d (Intel IOMMU) translation, on with the emulator's `--iommu` only: every
    /// host-side (VHSAA) address the engine uses, descriptor sources and destinations and the
    /// cores' EXSRAR report writes, is then an IOVA that the emulator translates through the
    /// guest's VT-d tables (legacy mode: root table, context table, second-level page tables),
    /// read from guest RAM at every access, for requester id [`OFF_CTL_IOMMU_SID`]. Until a test
    /// has written [`OFF_CTL_IOMMU_RTADDR`], [`OFF_CTL_IOMMU_SID`] and then (last) a nonzero
    /// [`OFF_CTL_IOMMU_ENABLE`], every VHSAA access faults ([`super::desc::EXC_IOMMU_FAULT`]).
    /// Tests write these three through a mapping of BAR2 (`ve_iommu_attach` in the guest).
    /// u64 guest-physical address of the root table, as the IOMMU's RTADDR register holds it
    /// (bits 11:10, the table mode, must be 0: legacy mode) (tests).
    pub const OFF_CTL_IOMMU_RTADDR: usize = 0x420;
    /// u64 requester id (source id) of the emulator's PCI device: `bus << 8 | devfn` (tests).
    pub const OFF_CTL_IOMMU_SID: usize = 0x428;
    /// u64 nonzero: translate through the tables [`OFF_CTL_IOMMU_RTADDR`] names; written last
    /// (tests).
    pub const OFF_CTL_IOMMU_ENABLE: usize = 0x430;
    /// u64 [`IOMMU_MODE_OFF`] or [`IOMMU_MODE_VTD`]: how the emulator was started (emu).
    pub const OFF_IOMMU_MODE: usize = 0x438;
    /// u64: translation faults: descriptors failed with [`super::desc::EXC_IOMMU_FAULT`] and
    /// EXSRAR report writes dropped (emu).
    pub const OFF_CNT_IOMMU_FAULTS: usize = 0x440;
    /// u64: IOVA pages translated through second-level page tables, one per successful walk (a
    /// 4 KiB page, or a 2 MiB or 1 GiB super page) (emu).
    pub const OFF_CNT_IOMMU_PAGES: usize = 0x448;
    /// u64: 4 KiB pages passed through untranslated by a pass-through context entry (TT = 2)
    /// (emu).
    pub const OFF_CNT_IOMMU_PASSTHROUGH: usize = 0x450;
    /// u64: the IOVA of the last translation fault (emu).
    pub const OFF_IOMMU_LAST_FAULT: usize = 0x458;
    /// u64: why the last translation fault happened, one of the `IOMMU_FAULT_*` codes (emu).
    pub const OFF_IOMMU_LAST_FAULT_REASON: usize = 0x460;

    /// [`OFF_IOMMU_MODE`]: host-side addresses are guest-physical (no `--iommu`).
    pub const IOMMU_MODE_OFF: u64 = 0;
    /// [`OFF_IOMMU_MODE`]: host-side addresses are IOVAs translated through the guest's VT-d
    /// tables (`--iommu`).
    pub const IOMMU_MODE_VTD: u64 = 1;

    /// Fault reason: no tables handed over ([`OFF_CTL_IOMMU_ENABLE`] is 0).
    pub const IOMMU_FAULT_NOT_ENABLED: u64 = 1;
    /// Fault reason: RTADDR's table mode (bits 11:10) is not legacy.
    pub const IOMMU_FAULT_TABLE_MODE: u64 = 2;
    /// Fault reason: a root, context or page-table entry lies outside guest RAM.
    pub const IOMMU_FAULT_TABLE_ADDR: u64 = 3;
    /// Fault reason: the root entry of the requester's bus is not present.
    pub const IOMMU_FAULT_ROOT: u64 = 4;
    /// Fault reason: the context entry of the requester's devfn is not present.
    pub const IOMMU_FAULT_CONTEXT: u64 = 5;
    /// Fault reason: the context entry's translation type is reserved (3).
    pub const IOMMU_FAULT_TRANSLATION_TYPE: u64 = 6;
    /// Fault reason: the context entry's address width is not 1, 2 or 3 (39, 48, 57 bits).
    pub const IOMMU_FAULT_ADDRESS_WIDTH: u64 = 7;
    /// Fault reason: the IOVA is beyond the context entry's address width.
    pub const IOMMU_FAULT_BEYOND_WIDTH: u64 = 8;
    /// Fault reason: a second-level entry on the walk is not present (neither R nor W).
    pub const IOMMU_FAULT_NOT_PRESENT: u64 = 9;
    /// Fault reason: a read (descriptor source) without R on every level of the walk.
    pub const IOMMU_FAULT_READ: u64 = 10;
    /// Fault reason: a write (destination, EXSRAR report) without W on every level of the walk.
    pub const IOMMU_FAULT_WRITE: u64 = 11;

    /// Core `entry` (0..[`CORES`]) raises an exception with cause [`OFF_CTL_RAISE_EXS`], as a VE1
    /// core does when it stops: EXS becomes [`super::exs::halted`]`(cause)`, the value is
    /// DMA-written to the slot its EXSRAR names if bit 0 is set ([`super::exsrar`]), then the
    /// core's INTVEC bit is set and its MSI-X entry raised.
    pub const RAISE_EXCEPTION: u64 = 1;
    /// A plain interrupt on `entry` (a user DMA, PCI access exception, core fault or hardware
    /// error entry): its INTVEC bit set where it has one (VE1: entries below 64; VE3: the bits
    /// of [`OFF_CTL_RAISE_EXS`] in the entry's register), the entry raised.
    pub const RAISE_INTERRUPT: u64 = 2;
    /// A storm of [`OFF_CTL_RAISE_COUNT`] spurious interrupts on `entry`: no INTVEC bit, no state
    /// change, [`STORM_GAP_US`] apart, from a thread of their own; counted in
    /// [`OFF_CNT_IRQS_SPURIOUS`] when it starts.
    pub const RAISE_SPURIOUS: u64 = 3;

    /// Ping mailbox: the transport self-test. The driver writes [`OFF_PING_VALUE`] and
    /// [`OFF_PING_CHECK`] = [`ping_check`]`(nonce, seq, value)`, then [`OFF_PING_SEQ`] = seq (last),
    /// then rings the doorbell. The emulator verifies the check word, writes
    /// [`OFF_PING_RESPONSE`] = [`ping_response`]`(nonce, value)` (or 0 with status BAD),
    /// [`OFF_PING_STATUS`], then [`OFF_PING_ACK`] = seq, and raises the privileged DMA vector.
    pub const OFF_PING_SEQ: usize = 0x200;
    /// u64 value to transform (drv).
    pub const OFF_PING_VALUE: usize = 0x208;
    /// u64 check word (drv).
    pub const OFF_PING_CHECK: usize = 0x210;
    /// u64 sequence number answered (emu).
    pub const OFF_PING_ACK: usize = 0x218;
    /// u64 transformed value (emu).
    pub const OFF_PING_RESPONSE: usize = 0x220;
    /// u64 [`PING_OK`] or [`PING_BAD_CHECK`] (emu).
    pub const OFF_PING_STATUS: usize = 0x228;

    /// The VE Configuration Registers, [`super::vcr::WORDS`] u32 words as a VE1 publishes them
    /// in PCI configuration space (emu; a test may write other values before it binds the
    /// driver, which reads them once at probe).
    pub const OFF_VCR: usize = 0x300;

    /// Ping answered.
    pub const PING_OK: u64 = 1;
    /// The check word did not match: the driver does not know the nonce or wrote a torn request.
    pub const PING_BAD_CHECK: u64 = 2;

    /// The check word the driver must send with a ping.
    pub const fn ping_check(nonce: u64, seq: u64, value: u64) -> u64 {
        (value ^ nonce).rotate_left(17) ^ seq.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    /// The emulator's answer to a ping of `value`.
    pub const fn ping_response(nonce: u64, value: u64) -> u64 {
        value.swap_bytes() ^ !nonce
    }
}
