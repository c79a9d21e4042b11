// SPDX-License-Identifier: GPL-2.0

//! Host tests of `src/sensors.rs`: VE1's sensor decoders, each family at a few raw values worked
//! out here by hand from NEC's `decoder.c` (C integer arithmetic), and NEC's sensor table.

use crate::sensors::{
    Decoder::{self, *},
    *,
};

/// `(family, raw, shown)`.
const CASES: &[(Decoder, u16, i64)] = &[
    // a: bits 11:0 x 500; bits above 11 ignored.
    (A, 0, 0),
    (A, 1, 500),
    (A, 0xfff, 4095 * 500),
    (A, 0xf123, 0x123 * 500),
    // b, c, d, e, f, l: bits 9:0 times their factor.
    (B, 0x3ff, 1023 * 6250),
    (B, 0xfc01, 6250),
    (C, 100, 219_700),
    (C, 0x7ff, 1023 * 2197),
    (D, 2, 125_000),
    (E, 0x400 | 3, 3 * 17200),
    (F, 10, 43_940),
    (L, 1000, 7_800_000),
    // g: all 16 bits x 2.
    (G, 0xfffe, 0x1fffc),
    (G, 7, 14),
    // h: bits 10:0 x 125000; NEC's sign branch computes the same (bit 11 has no effect).
    (H, 0x001, 125_000),
    (H, 0x7ff, 2047 * 125_000),
    (H, 0x801, 125_000),
    (H, 0xfff, 2047 * 125_000),
    (H, 0x800, 0),
    (H, 0xf064, 100 * 125_000),
    // i: bits 15:6 x 250000 - 64000000 (negative below 256).
    (I, 0, -64_000_000),
    (I, 256 << 6, 0),
    (I, (300 << 6) | 0x3f, 44 * 250_000),
    (I, 0xffff, 1023 * 250_000 - 64_000_000),
    // j: bit 9 clear: bits 8:0 x 250000; set: (bits 8:0 - 512) x -250000.
    (J, 10, 2_500_000),
    (J, 0x1ff, 511 * 250_000),
    (J, 0x200, 512 * 250_000),
    (J, 0x3ff, 250_000),
    (J, 0x20a, 502 * 250_000),
    (J, 0xfc0a, 2_500_000),
    // k: 5400000 / raw, truncated; 0 for 0.
    (K, 0, 0),
    (K, 1, 5_400_000),
    (K, 1800, 3000),
    (K, 7, 771_428),
    (K, 0xffff, 82),
    // m: bits 9:0 x 6250, less 290000 from 290000 on.
    (M, 0, 0),
    (M, 46, 287_500),
    (M, 47, 3_750),
    (M, 0x3ff, 1023 * 6250 - 290_000),
    (M, 0xfc00 | 47, 3_750),
    // n: raw.
    (N, 0, 0),
    (N, 0xfffe, 0xfffe),
];

#[test]
fn every_family_decodes_as_necs_code() {
    for &(d, raw, want) in CASES {
        assert_eq!(d.decode(raw), want, "{d:?}({raw:#x})");
    }
    // Every family is tested.
    for d in [A, B, C, D, E, F, G, H, I, J, K, L, M, N] {
        assert!(CASES.iter().any(|c| c.0 == d), "{d:?} untested");
    }
}

#[test]
fn sensors_use_necs_table() {
    let table = [
        (0..=1, A),
        (2..=2, B),
        (3..=3, L),
        (4..=7, C),
        (8..=9, D),
        (10..=10, E),
        (11..=11, F),
        (12..=13, G),
        (14..=23, H),
        (24..=26, I),
        (27..=27, J),
        (28..=28, I),
        (29..=29, K),
        (30..=30, M),
        (31..=31, C),
        (32..=37, N),
    ];
    let mut n = 0;
    for (range, d) in table {
        for s in range {
            assert_eq!(s, n);
            assert_eq!(VE1_DECODERS[s], d, "sensor_{s}");
            assert_eq!(decode_ve1(s, 0x123), Some(d.decode(0x123)));
            n += 1;
        }
    }
    assert_eq!(n, VE1_SENSORS);
    assert_eq!(VE1_SENSORS, 38);
    assert_eq!(decode_ve1(38, 1), None);
    assert_eq!(VE1_UNSET, 0xffff);
}
