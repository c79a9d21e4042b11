// SPDX-License-Identifier: GPL-2.0

//! VE1's sensor decoders (VE3 shows its sensors raw): what NEC's `sensor_0` .. `sensor_37` attributes show for the raw
//! 16-bit value NEC's management agent (MMM) wrote (docs/nec-abi.md, "sysfs"; ve_drv-kmod
//! `src/sensor_ve1.tbl` for which sensor uses which decoder, `src/decoder.c` for the decoders).
//!
//! Each decoder computes what NEC's C code computes, including two places where that is not what
//! its comments describe: type h (`(~v + 1) * -125000` in `int`) ignores its sign bit 11, and
//! type j with bit 9 set gives `(512 - v) * 250000`, a positive value. A drop-in driver shows
//! what NEC's shows.
//!
//! `core` only: compiled into the module and unit-tested on the host (`tests/host`).

/// Sensors of a VE1: `sensor_0` .. `sensor_37`.
pub const VE1_SENSORS: usize = 38;

/// What a VE1 sensor holds when nothing was written since `ve_state` became ONLINE: its show
/// answers `EAGAIN`.
pub const VE1_UNSET: u16 = 0xffff;

/// Sensors of a VE3: `sensor_1` .. `sensor_42`, every one shown raw (NEC's `sensor_ve3.tbl`:
/// decoder N throughout).
pub const VE3_SENSORS: usize = 42;

/// What a VE3 sensor holds when nothing was written: its show answers `EAGAIN`.
pub const VE3_UNSET: u32 = 0xffff_ffff;

/// NEC's decoder families (`ve_drv_sysfs_sensor_type_*`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Decoder {
    /// Bits 11:0 x 500 (µV).
    A,
    /// Bits 9:0 x 6250 (µV).
    B,
    /// Bits 9:0 x 2197 (µV).
    C,
    /// Bits 9:0 x 62500 (µV).
    D,
    /// Bits 9:0 x 17200 (µV).
    E,
    /// Bits 9:0 x 4394 (µV).
    F,
    /// All 16 bits x 2 (mA).
    G,
    /// Bits 10:0 x 125000 (µ°C); NEC's arithmetic cancels its sign bit 11.
    H,
    /// Bits 15:6 x 250000 - 64000000 (µ°C).
    I,
    /// Bit 9 clear: bits 8:0 x 250000; set: (512 - bits 8:0) x 250000 (µ°C), as NEC computes it.
    J,
    /// 5400000 / all 16 bits (rpm); 0 for 0.
    K,
    /// Bits 9:0 x 7800 (µV).
    L,
    /// Bits 9:0 x 6250, less 290000 when at least 290000 (µV).
    M,
    /// The raw value.
    N,
}

/// The decoder of each VE1 sensor, by number (NEC's `sensor_ve1.tbl`).
pub const VE1_DECODERS: [Decoder; VE1_SENSORS] = {
    use Decoder::*;
    [
        A, A, B, L, C, C, C, C, D, D, // 0-9
        E, F, G, G, H, H, H, H, H, H, // 10-19
        H, H, H, H, I, I, I, J, I, K, // 20-29
        M, C, N, N, N, N, N, N, // 30-37
    ]
};

impl Decoder {
    /// The value NEC's decoder of this family shows for `raw`.
    pub const fn decode(self, raw: u16) -> i64 {
        let r = raw as i64;
        let b10 = r & 0x3ff;
        match self {
            Self::A => (r & 0xfff) * 500,
            Self::B => b10 * 6250,
            Self::C => b10 * 2197,
            Self::D => b10 * 62500,
            Self::E => b10 * 17200,
            Self::F => b10 * 4394,
            Self::G => r * 2,
            // NEC: `v = raw & 0xfff; v & (1 << 11) ? (int64_t)(~(v & 0x7ff) + 1) * -125000 :
            // (int64_t)(v & 0x7ff) * 125000`: in `int`, `~x + 1` is `-x`, so both are x * 125000.
            Self::H => (r & 0x7ff) * 125_000,
            Self::I => ((r >> 6) & 0x3ff) * 250_000 - 64_000_000,
            // NEC: `v = raw & 0x3ff; v & (1 << 9) ? (int64_t)((v & 0x1ff) - 512) * -250000 :
            // (int64_t)(v & 0x1ff) * 250000`.
            Self::J => {
                if b10 & 0x200 != 0 {
                    ((b10 & 0x1ff) - 512) * -250_000
                } else {
                    (b10 & 0x1ff) * 250_000
                }
            }
            Self::K => {
                if r == 0 {
                    0
                } else {
                    5_400_000 / r
                }
            }
            Self::L => b10 * 7800,
            Self::M => {
                let v = b10 * 6250;
                if v >= 290_000 {
                    v - 290_000
                } else {
                    v
                }
            }
            Self::N => r,
        }
    }
}

/// What VE1 sensor `sensor` shows for `raw`; `None` for a sensor VE1 does not have.
pub const fn decode_ve1(sensor: usize, raw: u16) -> Option<i64> {
    if sensor < VE1_SENSORS {
        Some(VE1_DECODERS[sensor].decode(raw))
    } else {
        None
    }
}
