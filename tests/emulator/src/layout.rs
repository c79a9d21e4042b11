// SPDX-License-Identifier: GPL-2.0

//! Which card the emulator presents (`ve-emu --variant ve1|ve3`), and where that card's registers
//! are in BAR2: everything variant-specific of the emulator is a method here, read from the
//! driver's own description of the hardware (`hw`).
//!
//! VE1: BAR2 is a VE1's BAR2 (per-core areas, the system-common block at 16 MiB,
//! [`hw::ve1::PDMA`]). VE3: BAR2 starts with a VE3's BAR4 ([`emu::VE3_BAR4_IMAGE`]: per-core
//! areas of 64 KiB, the system-common block at 2 MiB, [`hw::ve3::PDMA`], the CR pages) and holds
//! its BAR2/3 at [`emu::VE3_BAR2_IMAGE`]. The identification block, the CR stand-in of VE1 and the
//! VE memory window are where they are for both.

use crate::hw::{
    self,
    desc,
    emu,
    PdmaRegs, //
};

/// A card variant the emulator can present.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum Variant {
    /// SX-Aurora VE1 (the default).
    #[default]
    Ve1,
    /// SX-Aurora VE3.
    Ve3,
}

impl Variant {
    /// From the command line: `ve1` or `ve3`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ve1" => Some(Self::Ve1),
            "ve3" => Some(Self::Ve3),
            _ => None,
        }
    }

    /// The value of [`emu::OFF_VARIANT`].
    pub const fn id(self) -> u32 {
        match self {
            Self::Ve1 => emu::VARIANT_VE1,
            Self::Ve3 => emu::VARIANT_VE3,
        }
    }

    /// Offset in BAR2 of the system-common block that holds the privileged DMA engine.
    pub const fn scr(self) -> usize {
        match self {
            Self::Ve1 => hw::ve1::SCR_OFFSET,
            Self::Ve3 => emu::VE3_BAR4_IMAGE + hw::ve3::SCR_OFFSET,
        }
    }

    /// The privileged DMA engine's registers and interrupt.
    pub const fn pdma(self) -> PdmaRegs {
        match self {
            Self::Ve1 => hw::ve1::PDMA,
            Self::Ve3 => hw::ve3::PDMA,
        }
    }

    /// Offset in BAR2 of DMACTL word 0.
    pub const fn ctl0(self) -> usize {
        self.scr() + self.pdma().ctl
    }

    /// Offset in BAR2 of DMACTL word 1.
    pub const fn ctl1(self) -> usize {
        self.ctl0() + 8
    }

    /// Offset in BAR2 of word `w` of descriptor `i`.
    pub const fn desc_word(self, i: usize, w: usize) -> usize {
        self.scr() + self.pdma().desc + i * desc::SIZE + w * 8
    }

    /// The INTVEC register (offset in BAR2) and bit that MSI-X entry `vector` sets, where the
    /// variant has one: VE1 entries 0-63 in its one INTVEC (bit `63 - e`); VE3 cores 0-31 in
    /// INTVEC0 (bit `63 - n`) and the privileged DMA engine in INTVEC1 (bit 63). Others: none.
    pub const fn intvec_of(self, vector: u32) -> Option<(usize, u64)> {
        match self {
            Self::Ve1 => match hw::scr::intvec_bit_of(vector) {
                Some(bit) => Some((self.scr() + hw::scr::INTVEC, bit)),
                None => None,
            },
            Self::Ve3 if (vector as usize) < hw::ve3::CORES_MAX => {
                Some((self.scr() + hw::ve3::INTVEC0, 1 << (63 - vector)))
            }
            Self::Ve3 if vector == hw::ve3::PDMA_VECTOR => {
                Some((self.scr() + hw::ve3::PDMA.intvec, hw::ve3::PDMA.intvec_bit))
            }
            Self::Ve3 => None,
        }
    }

    /// For a VE3's user DMA, PCI exception and hardware error entries: the INTVEC register
    /// (offset in BAR2) whose bits say what happened, and the bits set when a test names none.
    pub const fn node_intvec(self, vector: u32) -> Option<(usize, u64)> {
        match (self, hw::ve3::node_intvec(vector)) {
            (Self::Ve3, Some(reg)) => Some((
                self.scr() + reg,
                if vector == hw::ve3::PCI_EXC_VECTOR {
                    1 << 31
                } else {
                    1 << 63
                },
            )),
            _ => None,
        }
    }

    /// Every INTVEC register of the variant (offsets in BAR2), for a reset.
    pub const fn intvecs(self) -> &'static [usize] {
        match self {
            Self::Ve1 => &[hw::ve1::SCR_OFFSET + hw::scr::INTVEC],
            Self::Ve3 => &[
                emu::VE3_BAR4_IMAGE + hw::ve3::SCR_OFFSET + hw::ve3::INTVEC0,
                emu::VE3_BAR4_IMAGE + hw::ve3::SCR_OFFSET + hw::ve3::INTVEC1,
                emu::VE3_BAR4_IMAGE + hw::ve3::SCR_OFFSET + hw::ve3::INTVEC2,
                emu::VE3_BAR4_IMAGE + hw::ve3::SCR_OFFSET + hw::ve3::INTVEC3,
            ],
        }
    }

    /// Offset in BAR2 of core `core`'s EXS.
    pub const fn exs_offset(self, core: usize) -> usize {
        match self {
            Self::Ve1 => hw::ve1::exs_offset(core),
            Self::Ve3 => emu::VE3_BAR4_IMAGE + hw::ve3::exs_offset(core),
        }
    }

    /// Offset in BAR2 of core `core`'s EXSRAR.
    pub const fn exsrar_offset(self, core: usize) -> usize {
        match self {
            Self::Ve1 => hw::ve1::exsrar_offset(core),
            Self::Ve3 => emu::VE3_BAR4_IMAGE + hw::ve3::exsrar_offset(core),
        }
    }

    /// The ordering-attribute bit of ID-based ordering in a descriptor's word 1.
    pub const fn order_ido(self) -> u8 {
        match self {
            Self::Ve1 => desc::ORDER_IDO_VE1,
            Self::Ve3 => desc::ORDER_IDO_VE3,
        }
    }

    /// VE3's clock gating registers (offsets in BAR2): on, off, state.
    pub const fn clock_gating(self) -> Option<(usize, usize, usize)> {
        match self {
            Self::Ve1 => None,
            Self::Ve3 => Some((
                emu::VE3_BAR4_IMAGE + hw::ve3::CLOCK_GATING_ON,
                emu::VE3_BAR4_IMAGE + hw::ve3::CLOCK_GATING_OFF,
                emu::VE3_BAR4_IMAGE + hw::ve3::CLOCK_GATING_STATE,
            )),
        }
    }

    /// The register (offset in BAR2) and value that reset the card: the last write of its chip
    /// reset sequence.
    pub const fn chip_reset_command(self) -> (usize, u64) {
        match self {
            Self::Ve1 => (hw::ve1::CHIP_RESET_COMMAND, hw::ve1::CHIP_RESET_GO),
            Self::Ve3 => (
                emu::VE3_BAR4_IMAGE + hw::ve3::CHIP_RESET_COMMAND,
                hw::ve3::CHIP_RESET_GO,
            ),
        }
    }

    /// Every register (offset in BAR2) the chip reset sequence writes: clear after the reset.
    pub fn chip_reset_registers(self) -> &'static [usize] {
        static VE1: std::sync::OnceLock<Vec<usize>> = std::sync::OnceLock::new();
        static VE3: std::sync::OnceLock<Vec<usize>> = std::sync::OnceLock::new();
        let (cell, steps): (_, &[hw::ResetStep]) = match self {
            Self::Ve1 => (&VE1, &hw::ve1::CHIP_RESET_STEPS),
            Self::Ve3 => (&VE3, &hw::ve3::CHIP_RESET),
        };
        let base = match self {
            Self::Ve1 => 0,
            Self::Ve3 => emu::VE3_BAR4_IMAGE,
        };
        cell.get_or_init(|| {
            let mut regs: Vec<usize> = steps
                .iter()
                .filter_map(|s| match *s {
                    hw::ResetStep::Write(off, _) => Some(base + off),
                    _ => None,
                })
                .collect();
            regs.dedup();
            regs
        })
    }

    /// VCR word 0: layout 1; VE1: NEC's QEMU model 0xfe; VE3: model 3, CPU version 1, as NEC's
    /// VE3 probe wants.
    pub const fn vcr_word0(self) -> u32 {
        match self {
            Self::Ve1 => 0xfe00_0101,
            Self::Ve3 => 0x0300_0101,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The VE3 image fits below the identification block, its registers do not overlap the
    /// block, and both variants' engines are where the driver's chip table looks.
    #[test]
    fn layouts() {
        const { assert!(emu::VE3_BAR4_IMAGE + hw::ve3::BAR4_SIZE <= emu::BLOCK) };
        const { assert!(emu::VE3_BAR2_IMAGE >= emu::BLOCK + emu::BLOCK_SIZE) };
        const { assert!(emu::VE3_BAR2_IMAGE >= emu::CR_AREA + emu::CR_AREA_SIZE) };
        const { assert!(emu::VE3_BAR2_IMAGE + hw::ve3::BAR2_SIZE <= emu::VEMEM_AREA) };
        for v in [Variant::Ve1, Variant::Ve3] {
            assert!(v.desc_word(desc::NUM - 1, 3) < v.ctl0());
            assert_eq!(v.intvec_of(v.pdma().vector).unwrap().1, v.pdma().intvec_bit);
            assert!(v
                .intvecs()
                .contains(&v.intvec_of(v.pdma().vector).unwrap().0));
            assert!(v.exsrar_offset(7) < v.scr());
        }
        assert_eq!(Variant::Ve1.ctl1(), 0x104_2008);
        assert_eq!(Variant::Ve3.ctl1(), 0x20_A008);
        assert_eq!(Variant::Ve3.intvec_of(0), Some((0x20_2000, 1 << 63)));
        assert_eq!(Variant::Ve3.intvec_of(32), Some((0x20_2008, 1 << 63)));
        assert_eq!(Variant::Ve3.intvec_of(33), None);
        assert_eq!(Variant::Ve3.node_intvec(33), Some((0x20_2010, 1 << 63)));
        assert_eq!(Variant::Ve3.node_intvec(34), Some((0x20_2008, 1 << 31)));
        assert_eq!(Variant::Ve3.node_intvec(35), Some((0x20_2018, 1 << 63)));
        assert_eq!(Variant::Ve1.node_intvec(33), None);
        for v in [Variant::Ve1, Variant::Ve3] {
            let (command, _) = v.chip_reset_command();
            assert!(v.chip_reset_registers().contains(&command));
            for &r in v.chip_reset_registers() {
                assert!(r + 8 <= emu::BLOCK && (r < v.scr() || r >= v.scr() + hw::scr::SIZE));
            }
        }
        let (on, off, state) = Variant::Ve3.clock_gating().unwrap();
        const { assert!(hw::ve3::CLOCK_GATING_ON < hw::ve3::BAR4_SIZE) };
        assert!(on.max(off).max(state) < emu::VE3_BAR4_IMAGE + hw::ve3::BAR4_SIZE);
        assert!(state + 8 <= Variant::Ve3.scr() || state >= Variant::Ve3.scr() + hw::ve3::SCR_SIZE);
        assert_eq!(Variant::Ve1.intvec_of(48), Some((0x100_2000, 1 << 15)));
        assert!(
            hw::vcr::Vcr([Variant::Ve3.vcr_word0(), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).is_ve3()
        );
        assert!(
            hw::vcr::Vcr([Variant::Ve1.vcr_word0(), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).is_ve1()
        );
    }
}
