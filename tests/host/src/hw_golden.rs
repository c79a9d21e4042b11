// SPDX-License-Identifier: GPL-2.0

//! Golden vectors for the shared hardware description. Every expected word below was worked out
//! by hand from docs/hardware.md, "DMA descriptors" (word 1: source space in bits 42:40,
//! destination space in 38:36, control in 35:32, length in 31:0; word 0: exception code in
//! 63:48, status in 3:0), not produced by the code under test: a misreading shared by the driver
//! and the emulator fails here.

use crate::hw::{
    desc::{
        self,
        AddrSpace::*,
        Desc,
        DescError, //
    },
    dmactl,
    emu,
    scr,
    ve1, //
};

#[test]
fn host_to_ve_with_sync_and_completion_interrupt() {
    let d = Desc {
        src_space: Vhsaa,
        src: 0x1234_5678,
        dst_space: Vemaa,
        dst: 0x4000_0000,
        len: 0x1000,
        control: 9,
        order: 0,
    };
    // 2 << 40 | 6 << 36 | 9 << 32 | 0x1000
    assert_eq!(
        d.encode(),
        Ok([0x1, 0x0000_0269_0000_1000, 0x1234_5678, 0x4000_0000])
    );
}

/// The PCIe ordering attributes sit at bits 47:45 of word 1 (VE1: IDO 1, RO 2) and decode back.
#[test]
fn ordering_attributes_in_word_1() {
    let d = Desc {
        src_space: Vemaa,
        src: 0x1000,
        dst_space: Vhsaa,
        dst: 0x2000,
        len: 8,
        control: 1,
        order: crate::hw::desc::ORDER_RO | crate::hw::desc::ORDER_IDO_VE1,
    };
    // 3 << 45 | 6 << 40 | 2 << 36 | 1 << 32 | 8
    assert_eq!(d.word1(), 0x0000_6621_0000_0008);
    assert_eq!(Desc::decode(d.word1(), 0x1000, 0x2000), Some(d));
}

#[test]
fn ve_to_host_64_mib() {
    let d = Desc {
        src_space: Vemaa,
        src: 0x8_0000_0000,
        dst_space: Vhsaa,
        dst: 0x1_0000_0000,
        len: 64 << 20,
        control: 1,
        order: 0,
    };
    // 6 << 40 | 2 << 36 | 1 << 32 | 0x0400_0000
    assert_eq!(
        d.encode(),
        Ok([0x1, 0x0000_0621_0400_0000, 0x8_0000_0000, 0x1_0000_0000])
    );
}

#[test]
fn register_space_all_control_bits() {
    let d = Desc {
        src_space: Veraa,
        src: 0x100,
        dst_space: Vhsaa,
        dst: 0x2000,
        len: 8,
        control: 0xf,
        order: 0,
    };
    // 4 << 40 | 2 << 36 | 0xf << 32 | 8
    assert_eq!(d.encode(), Ok([0x1, 0x0000_042f_0000_0008, 0x100, 0x2000]));
}

#[test]
fn decode_is_the_inverse_of_encode() {
    let d = Desc {
        src_space: Vemaa,
        src: 0xffff_ffff_fff0,
        dst_space: Vhsaa,
        dst: 0x1000,
        len: 8,
        control: 1,
        order: 0,
    };
    let w = d.encode().unwrap();
    assert_eq!(Desc::decode(w[1], w[2], w[3]), Some(d));
    // Unknown address spaces (0, 1, 3, 5, 7) do not decode.
    assert_eq!(Desc::decode(0x0000_0160_0000_0008, 0, 0), None);
    assert_eq!(Desc::decode(0x0000_0270_0000_0008, 0, 0), None);
}

#[test]
fn nec_rules_are_enforced() {
    let ok = Desc {
        src_space: Vhsaa,
        src: 0,
        dst_space: Vemaa,
        dst: 0,
        len: 8,
        control: 1,
        order: 0,
    };
    assert_eq!(Desc { len: 12, ..ok }.encode(), Err(DescError::Misaligned));
    assert_eq!(Desc { src: 4, ..ok }.encode(), Err(DescError::Misaligned));
    assert_eq!(
        Desc { dst: 0x1004, ..ok }.encode(),
        Err(DescError::Misaligned)
    );
    assert_eq!(
        Desc {
            len: (64 << 20) + 8,
            ..ok
        }
        .encode(),
        Err(DescError::TooLong)
    );
    // The last 8 bytes of the 48-bit space are reachable, one more byte is not.
    assert!(Desc {
        src: 0xffff_ffff_fff8,
        ..ok
    }
    .encode()
    .is_ok());
    assert_eq!(
        Desc {
            src: 0x1_0000_0000_0000,
            ..ok
        }
        .encode(),
        Err(DescError::AddressRange)
    );
    assert_eq!(
        Desc {
            dst: 0xffff_ffff_fff8,
            len: 16,
            ..ok
        }
        .encode(),
        Err(DescError::AddressRange)
    );
    // Length 0 is how a descriptor is neutralised.
    assert!(Desc { len: 0, ..ok }.encode().is_ok());
}

#[test]
fn emulator_exception_codes_are_distinct_and_nonzero() {
    let codes = [
        desc::EXC_ADDR_SPACE,
        desc::EXC_MISALIGNED,
        desc::EXC_LENGTH,
        desc::EXC_ADDR_RANGE,
        desc::EXC_IOMMU_FAULT,
        desc::EXC_INJECTED,
    ];
    assert_eq!(desc::EXC_IOMMU_FAULT, 5);
    for (i, a) in codes.iter().enumerate() {
        assert_ne!(*a, 0);
        assert!(codes[i + 1..].iter().all(|b| b != a));
    }
}

#[test]
fn word0_status_and_exception() {
    assert_eq!(desc::status(0x0123_0000_0000_0002), 2);
    assert_eq!(desc::exception(0x0123_0000_0000_0002), 0x0123);
    assert_eq!(
        desc::word0(desc::STATUS_COMPLETED, 0xbeef),
        0xbeef_0000_0000_0002
    );
    assert_eq!(
        [
            desc::STATUS_STARTED,
            desc::STATUS_EARLY,
            desc::STATUS_COMPLETED,
            desc::STATUS_PREPARED
        ],
        [8, 4, 2, 1]
    );
}

#[test]
fn register_offsets_in_ve1_bar2() {
    assert_eq!(ve1::SCR_OFFSET + scr::PDMA_DESC, 0x104_0000);
    assert_eq!(ve1::SCR_OFFSET + scr::PDMA_CTL0, 0x104_2000);
    assert_eq!(ve1::SCR_OFFSET + scr::PDMA_CTL1, 0x104_2008);
    assert_eq!(ve1::SCR_OFFSET + scr::INTVEC, 0x100_2000);
    assert_eq!(
        desc::NUM * desc::SIZE,
        0x1000,
        "the table fills 0x40000-0x40fff"
    );
    assert_eq!(ve1::PDMA_VECTOR, 48);
    const { assert!(ve1::SCR_OFFSET + scr::SIZE <= emu::BAR2_SIZE) };
    assert!(
        emu::BAR2_SIZE.is_power_of_two(),
        "ivshmem BAR2 must be a power of two"
    );
}

#[test]
fn dmactl_and_intvec_bits() {
    assert_eq!(dmactl::EXCEPTION, 0x8000_0000_0000_0000);
    assert_eq!(dmactl::READPTR_MASK, 0x7f);
    assert_eq!(
        (dmactl::PERMIT, dmactl::DISABLE, dmactl::STATUS_HALT),
        (1, 0, 2)
    );
    // INTVEC is the bit-reversed MSI-X vector: entry 48 is bit 15, entry 0 bit 63.
    assert_eq!(scr::intvec_bit(48), 0x8000);
    assert_eq!(scr::intvec_bit(0), 0x8000_0000_0000_0000);
    assert_eq!(scr::intvec_bit(63), 1);
}

#[test]
fn emulator_identification_block() {
    // "VEEMU1\0\0" little-endian: 56 45 45 4d 55 31 00 00.
    assert_eq!(emu::MAGIC, 0x0000_3155_4d45_4556);
    assert_eq!(emu::VECTORS, 96);
    // The counters, test controls and mailbox stay clear of each other and inside the block.
    const { assert!(emu::OFF_NONCE + 8 <= emu::OFF_CNT_WAKEUPS) };
    const { assert!(emu::OFF_CNT_IRQS_DROPPED + 8 <= emu::OFF_CTL_EXC_AT) };
    const { assert!(emu::OFF_CTL_IRQ_DROP + 8 <= emu::OFF_PING_SEQ) };
    const { assert!(emu::OFF_PING_STATUS + 8 <= emu::OFF_VCR) };
    const { assert!(emu::OFF_VCR + 4 * crate::hw::vcr::WORDS <= emu::OFF_CTL_RAISE) };
    const { assert!(emu::OFF_CNT_RAISE_BAD + 8 <= emu::OFF_CTL_EXC_AT) };
    const { assert!(emu::OFF_CTL_RAISE_COUNT + 8 <= emu::BLOCK_SIZE) };
}

/// The cores' registers and VE1's MSI-X map, from docs/hardware.md ("Cores", "Interrupts"),
/// written out by hand.
#[test]
fn ve1_cores_and_msix_map() {
    use crate::hw::{
        exs,
        exsrar,
        ve1::{
            self,
            Entry, //
        }, //
    };
    // EXS of core n at n MiB + 0x1008, EXSRAR at n MiB + 512 KiB + 0x10900.
    assert_eq!(ve1::exs_offset(0), 0x1008);
    assert_eq!(ve1::exs_offset(3), 0x30_1008);
    assert_eq!(ve1::exsrar_offset(0), 0x9_0900);
    assert_eq!(ve1::exsrar_offset(7), 0x79_0900);
    // Every core's registers are below the SCR.
    assert!(ve1::exsrar_offset(ve1::CORES_MAX - 1) + 8 <= ve1::SCR_OFFSET);
    // INTVEC: core n is bit 63 - n; the fault and error entries have no bit.
    assert_eq!(scr::intvec_bit_of(0), Some(1 << 63));
    assert_eq!(scr::intvec_bit_of(15), Some(1 << 48));
    assert_eq!(scr::intvec_bit_of(56), Some(1 << 7));
    assert_eq!(scr::intvec_bit_of(64), None);
    assert_eq!(scr::INTVEC_CORE_CLEAR_WRITES, 20);
    // EXS: STOP 1, RUN 0xEE, the run state in bits 1:0.
    assert_eq!((exs::STOP, exs::RUN), (1, 0xee));
    assert_eq!(exs::run_state(exs::STOP), exs::RunState::Halted);
    assert_eq!(exs::run_state(exs::RUN), exs::RunState::Running);
    assert_eq!(exs::run_state(0x1_0003), exs::RunState::BeforeHalt);
    assert_eq!(exs::run_state(0), exs::RunState::Idle);
    assert_eq!(exs::halted(0xdead_beef_0000_0102), 0xdead_beef_0000_0101);
    assert_eq!(exs::halted(0x1_0002) & exs::CAUSE_MASK, 0x1_0000);
    // EXSRAR: (slot & !3) | 1.
    assert_eq!(exsrar::enabled(0x1234_5678), 0x1234_5679);
    assert_eq!(exsrar::enabled(0x1000_0007), 0x1000_0005);
    assert_eq!(exsrar::slot(0x1234_5679), Some(0x1234_5678));
    assert_eq!(exsrar::slot(0x1234_5678), None);
    // MSI-X map (reference 6.2).
    assert_eq!(ve1::entry(0), Entry::Core(0));
    assert_eq!(ve1::entry(15), Entry::Core(15));
    assert_eq!(ve1::entry(16), Entry::UserDma(16));
    assert_eq!(ve1::entry(47), Entry::UserDma(47));
    assert_eq!(ve1::entry(48), Entry::Pdma);
    assert_eq!(ve1::entry(49), Entry::Unused);
    assert_eq!(ve1::entry(56), Entry::PciAccessException);
    assert_eq!(ve1::entry(64), Entry::CoreFault(0));
    assert_eq!(ve1::entry(79), Entry::CoreFault(15));
    assert_eq!(ve1::entry(83), Entry::Unused);
    assert_eq!(ve1::entry(92), Entry::HwError(92));
    assert_eq!(ve1::entry(95), Entry::Unused);
    for e in ve1::HW_ERROR_VECTORS {
        assert_eq!(ve1::entry(e), Entry::HwError(e));
    }
    assert_eq!(ve1::wait_intr_bit(48), Some((false, 48)));
    assert_eq!(ve1::wait_intr_bit(56), Some((false, 56)));
    assert_eq!(ve1::wait_intr_bit(64), Some((true, 0)));
    assert_eq!(ve1::wait_intr_bit(92), Some((true, 28)));
    assert_eq!(ve1::wait_intr_bit(96), None);
    assert_eq!(ve1::MSIX_ENTRIES, emu::VECTORS);
}

#[test]
fn emulator_bar2_layout() {
    // VE1's BAR2 image (32 MiB), then the block, the CR stand-in and the VE memory stand-in,
    // each page aligned, none overlapping, all inside BAR2; the block in no mmap window.
    assert_eq!(emu::VE1_BAR2_SIZE, 0x200_0000);
    assert_eq!(emu::BLOCK, 0x200_0000);
    assert_eq!(emu::CR_AREA, 0x280_0000);
    assert_eq!(emu::CR_AREA_SIZE, 32 * 0x2000);
    assert_eq!(emu::VEMEM_AREA, 0x800_0000);
    assert_eq!(emu::VEMEM_AREA_SIZE, 0x800_0000);
    assert_eq!(emu::BAR2_SIZE, 0x1000_0000);
    assert_eq!(emu::ABI_VERSION, 7);
    // NEC's VE1 chip reset writes (reference 4.5), between the SCR and the block.
    assert_eq!(
        ve1::CHIP_RESET,
        [
            (0x0142_0090, 0xffc0_ffff_f000_8080),
            (0x0142_00a8, 0xffc0_ef98_0000_0000),
            (0x0140_0198, 0x0000_0200_0000_0200),
            (0x0140_0190, 0x8800_0000_0020_0052),
        ]
    );
    for (off, _) in ve1::CHIP_RESET {
        assert!(off >= ve1::SCR_OFFSET + scr::SIZE && off + 8 <= emu::BLOCK);
    }
    // The counters after the controls, before the ping mailbox.
    const { assert!(emu::OFF_CTL_HALT_DELAY_US < emu::OFF_CNT_RESETS) };
    const { assert!(emu::OFF_CNT_RESETS < emu::OFF_CNT_DESCS_RO) };
    const { assert!(emu::OFF_CNT_DESCS_RO < emu::OFF_CNT_DESCS_IDO) };
    const { assert!(emu::OFF_CNT_DESCS_IDO < emu::OFF_LAST_VH_ADDR) };
    const { assert!(emu::OFF_LAST_VH_ADDR + 8 <= emu::OFF_PING_SEQ) };
    // ABI 6: the VT-d controls and counters after the raise controls, inside the block.
    assert_eq!(emu::OFF_LAST_VH_ADDR, 0x1e0);
    assert_eq!(
        [
            emu::OFF_CTL_IOMMU_RTADDR,
            emu::OFF_CTL_IOMMU_SID,
            emu::OFF_CTL_IOMMU_ENABLE,
            emu::OFF_IOMMU_MODE,
            emu::OFF_CNT_IOMMU_FAULTS,
            emu::OFF_CNT_IOMMU_PAGES,
            emu::OFF_CNT_IOMMU_PASSTHROUGH,
            emu::OFF_IOMMU_LAST_FAULT,
            emu::OFF_IOMMU_LAST_FAULT_REASON,
        ],
        [0x420, 0x428, 0x430, 0x438, 0x440, 0x448, 0x450, 0x458, 0x460]
    );
    const { assert!(emu::OFF_CTL_RAISE_COUNT + 8 <= emu::OFF_CTL_IOMMU_RTADDR) };
    const { assert!(emu::OFF_IOMMU_LAST_FAULT_REASON + 8 <= emu::BLOCK_SIZE) };
    // VEOS refuses a BAR0 (here: the VE memory window) under 128 MiB.
    const { assert!(emu::VEMEM_AREA_SIZE >= 128 << 20) };
    const { assert!(ve1::SCR_OFFSET + scr::SIZE <= emu::VE1_BAR2_SIZE) };
    const { assert!(emu::BLOCK + emu::BLOCK_SIZE <= emu::CR_AREA) };
    const { assert!(emu::CR_AREA + emu::CR_AREA_SIZE <= emu::VEMEM_AREA) };
    const { assert!(emu::VEMEM_AREA + emu::VEMEM_AREA_SIZE <= emu::BAR2_SIZE) };
    // NEC's VE1 windows and register areas (ve_drv-kmod ve_drv_ve1.h, libved register_ve1.c).
    assert_eq!(
        (ve1::MAP_CR, ve1::MAP_REGS, ve1::MAP_VEMEM),
        (0, 0x1000_0000, 0x2000_0000)
    );
    assert_eq!(ve1::MAP_REGS + 3 * ve1::CORE_AREA as u64, 0x1030_0000);
    assert_eq!(
        ve1::MAP_REGS + (3 * ve1::CORE_AREA + ve1::SREG_OFFSET) as u64,
        0x1038_0000
    );
    assert_eq!((ve1::UREG_SIZE, ve1::SREG_SIZE), (0x8_0000, 0x8_0000));
    assert_eq!(ve1::MAP_REGS + ve1::SCR_OFFSET as u64, 0x1100_0000);
    // The withheld SCR pages (reference 5.6): 0x11002000, 0x11040000-0x11042fff.
    assert_eq!(scr::WITHHELD, [0x2000, 0x4_0000, 0x4_1000, 0x4_2000]);
}

#[test]
fn ping_transform_golden() {
    // Computed independently (Python, 64-bit wrapping arithmetic).
    assert_eq!(
        emu::ping_check(0x0123_4567_89ab_cdef, 1, 0xdead_beef_cafe_f00d),
        0x6927_ff13_048f_c308
    );
    assert_eq!(emu::ping_check(u64::MAX, 7, 0), 0xac7b_abed_84f6_9b6c);
    assert_eq!(
        emu::ping_response(0x0123_4567_89ab_cdef, 0xdead_beef_cafe_f00d),
        0xf32c_4452_99ea_9fce
    );
    assert_eq!(
        emu::ping_response(0, 0x0102_0304_0506_0708),
        0xf7f8_f9fa_fbfc_fdfe
    );
}

#[test]
fn ve3_layout() {
    use crate::hw::{
        desc,
        ve3, //
    };
    // NEC's VE3 layout (libved `ve_hw_ve3.h`, VEOS `ve3dma_hw.h`; reference 5.1, 5.5, 6.3).
    assert_eq!(
        (ve3::SCR_BAR, ve3::BAR4_SIZE, ve3::SCR_OFFSET),
        (4, 0x80_0000, 0x20_0000)
    );
    assert_eq!((ve3::PDMA_DESC, ve3::PDMA_CTL0), (0x8000, 0xa000));
    assert_eq!((ve3::INTVEC0, ve3::INTVEC1), (0x2000, 0x2008));
    assert_eq!(
        ve3::PDMA,
        crate::hw::PdmaRegs {
            desc: 0x8000,
            ctl: 0xa000,
            vector: 32,
            intvec: 0x2008,
            intvec_bit: 1 << 63,
        }
    );
    assert_eq!(ve3::CR_OFFSET, 0x28_0000);
    assert_eq!(ve3::CR_PAGES * ve3::CR_PAGE_SIZE, 0x4_0000);
    assert_eq!(
        (ve3::exs_offset(3), ve3::exsrar_offset(3)),
        (0x3_0000, 0x3_1000)
    );
    assert_eq!(
        (ve3::MAP_BAR4, ve3::MAP_BAR2, ve3::MAP_VEMEM),
        (0, 0x0800_0000, 0x8800_0000)
    );
    assert_eq!(
        (ve3::BAR2_SIZE, ve3::BAR2_SCR_OFFSET, ve3::PCIATBA),
        (0x400_0000, 0x200_0000, 0x1_0000)
    );
    // ID-based ordering: 4 << 45 on VE3 (`VE_DMA_DESC_CTL_PCI_IDO`), 1 << 45 on VE1.
    assert_eq!(u64::from(desc::ORDER_IDO_VE3) << desc::ORDER_SHIFT, 4 << 45);
    assert_eq!(ve1::PDMA.intvec_bit, 1 << 15);
    // The emulator's VE3: BAR4's image below the block, BAR2/3's between the CR stand-in and the
    // VE memory stand-in; which card it is in the block's variant word.
    assert_eq!((emu::VE3_BAR4_IMAGE, emu::VE3_BAR2_IMAGE), (0, 0x400_0000));
    const { assert!(emu::VE3_BAR4_IMAGE + ve3::BAR4_SIZE <= emu::BLOCK) };
    const { assert!(emu::CR_AREA + emu::CR_AREA_SIZE <= emu::VE3_BAR2_IMAGE) };
    const { assert!(emu::VE3_BAR2_IMAGE + ve3::BAR2_SIZE <= emu::VEMEM_AREA) };
    // NEC's VE3 node path (reference 6.3): INTVEC2/1/3 bit-reversed into intvec[2]/[1]/[3];
    // of INTVEC1 only the PCI exception bits 31:16, which land at 47:32.
    assert_eq!((ve3::INTVEC2, ve3::INTVEC3), (0x2010, 0x2018));
    assert_eq!(
        (ve3::UDMA_VECTOR, ve3::PCI_EXC_VECTOR, ve3::HW_ERROR_VECTOR),
        (33, 34, 35)
    );
    assert_eq!(ve3::node_intvec(33), Some(0x2010));
    assert_eq!(ve3::node_intvec(34), Some(0x2008));
    assert_eq!(ve3::node_intvec(35), Some(0x2018));
    assert_eq!(ve3::node_intvec(32), None);
    assert_eq!(ve3::node_report(33, 1 << 60), Some((2, 1 << 3)));
    assert_eq!(
        ve3::node_report(34, (1 << 63) | (1 << 20)),
        Some((1, 1 << 43))
    );
    assert_eq!(ve3::node_report(35, 1 << 58), Some((3, 1 << 5)));
    assert_eq!(ve3::node_report(0, 1), None);
    // NEC's VE3 card reset (reference 4.5), in order.
    use crate::hw::ResetStep::*;
    assert_eq!(
        ve3::CHIP_RESET,
        [
            Write(0x50_0198, 0x0000_00D8_0000_00C0),
            Write(0x50_0190, 0x8800_0000_0020_0002),
            Read(0x50_0000),
            Write(0x51_0050, 0xffff_c000_0000_0000),
            Write(0x51_0070, 0x8000_0000_8000_0000),
            Write(0x51_0090, 0xffff_ffff_f000_0000),
            Write(0x51_00b0, 0xffff_c000_eff8_0000),
            SleepMs(1000),
            Write(0x50_0198, 0x0000_0200_0000_0200),
            Write(0x50_0190, 0x8800_0000_0020_0052),
        ]
    );
    assert_eq!(emu::OFF_VARIANT, 0x30);
    assert_eq!((emu::VARIANT_VE1, emu::VARIANT_VE3), (1, 3));
}
