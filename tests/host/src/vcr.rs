// SPDX-License-Identifier: GPL-2.0

//! Host tests of `hw::vcr`: the VE Configuration Register fields sysfs shows, decoded from words
//! built here by hand from the layout in docs/hardware.md.

use crate::hw::vcr::*;

/// A VE1 as the emulator describes itself: model 0xfe (NEC's QEMU model), type 0x10, CPU
/// version 2, layout 1; 8 cores of 10 enabled (0x3fc: cores 2-9); chip serial, board serial;
/// firmware 0x0123; 48 GiB at 1600 MHz; cores at 1400 MHz, base 100 MHz.
fn sample() -> Vcr {
    Vcr([
        0xfe10_0201,
        0x0800_03fc,
        0x1111_2222,
        0x3333_4444,
        0x5555_6666,
        0x7777_8888,
        0x0102_0304,
        0x0506_0708,
        0x090a_0b0c,
        0x0d0e_0f10,
        0xabcd_0123,
        0x0030_0640,
        0x0578_0064,
    ])
}

#[test]
fn every_field_comes_from_its_bits() {
    let v = sample();
    assert_eq!(v.version(), 1);
    assert_eq!(v.model(), 0xfe);
    assert_eq!(v.product_type(), 0x10);
    assert_eq!(v.num_of_core(), 8);
    assert_eq!(v.cores_enable(), 0x3fc);
    assert_eq!(v.chip_id(), (0x1111_2222_3333_4444, 0x5555_6666_7777_8888));
    assert_eq!(v.serial(), (0x0102_0304_0506_0708, 0x090a_0b0c_0d0e_0f10));
    assert_eq!(v.fw_version(), 0x0123);
    assert_eq!(v.memory_size_gib(), 48);
    assert_eq!(v.clock_memory(), 1600);
    assert_eq!(v.clock_chip(), 1400);
    assert_eq!(v.clock_base(), 100);
}

#[test]
fn only_layout_1_with_a_ve1_model_is_a_ve1() {
    let mut v = sample();
    assert!(v.is_ve1());
    for model in [1u32, 2] {
        v.0[0] = (model << 24) | 0x0201;
        assert!(v.is_ve1(), "model {model}");
    }
    v.0[0] = (3 << 24) | 0x0201; // a VE3
    assert!(!v.is_ve1());
    v.0[0] = 0xfe10_0202; // layout 2
    assert!(!v.is_ve1());
    // All ones: a card that is gone.
    assert!(!Vcr([u32::MAX; WORDS]).is_ve1());
    // All zeroes: nothing published.
    assert!(!Vcr::default().is_ve1());
}

#[test]
fn a_ve3_is_model_3_cpu_1_layout_1_or_2() {
    let mut v = sample();
    assert!(!v.is_ve3());
    for w0 in [0x0300_0101, 0x0310_0102] {
        v.0[0] = w0;
        assert!(v.is_ve3(), "{w0:#x}");
        assert!(!v.is_ve1(), "{w0:#x}");
    }
    v.0[0] = 0x0300_0201; // CPU version 2
    assert!(!v.is_ve3());
    v.0[0] = 0x0300_0103; // layout 3
    assert!(!v.is_ve3());
}

/// NUMA partitioning's halves in layout 1: cores 0-4 and 5-9 (VE1's five and five).
#[test]
fn layout_1_numa_halves_are_five_cores_each() {
    let v = sample(); // cores 2-9
    assert_eq!(v.numa_cores(0), 0x1c);
    assert_eq!(v.numa_cores(1), 0x3e0);
    assert_eq!(v.numa_cores(2), 0);
}

/// A VE3 of layout 2: the enabled cores are all of word 5, word 1's bitmap is not read, and the
/// NUMA halves are nine cores each (NEC's `0x1ff`, `0x3fe00`); `core_fls` follows word 5.
#[test]
fn layout_2_takes_the_cores_from_word_5_and_splits_them_nine_and_nine() {
    let mut v = sample();
    v.0[0] = 0x0310_0102;
    v.0[1] = 0x1000_0003; // 16 cores; a bitmap of two that layout 2 ignores
    v.0[5] = 0x0003_c0ff; // cores 0-7 and 14-17
    assert!(v.is_ve3());
    assert_eq!(v.num_of_core(), 16);
    assert_eq!(v.cores_enable(), 0x3_c0ff);
    assert_eq!(v.numa_cores(0), 0xff);
    assert_eq!(v.numa_cores(1), 0x3_c000);
    assert_eq!(v.core_fls(), 18);
    // Layout 1 on the same words reads word 1.
    v.0[0] = 0x0310_0101;
    assert_eq!(v.cores_enable(), 0x3);
    assert_eq!(v.numa_cores(1), 0);
}
