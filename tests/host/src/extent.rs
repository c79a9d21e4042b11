// SPDX-License-Identifier: GPL-2.0

//! Host tests of `src/pin/extent.rs`: coalescing and NEC's block geometry and page-size rule.

use crate::extent::*;

#[test]
fn contiguous_prefix_of_frames_and_pointers() {
    assert_eq!(contiguous_prefix(&[10, 11, 12, 20, 21], 1, 100), 3);
    assert_eq!(contiguous_prefix(&[10, 11, 12], 1, 2), 2, "limit");
    assert_eq!(
        contiguous_prefix(&[7, 6], 1, 100),
        1,
        "backwards does not merge"
    );
    assert_eq!(
        contiguous_prefix(&[7, 7], 1, 100),
        1,
        "a repeat does not merge"
    );
    assert_eq!(contiguous_prefix(&[], 1, 100), 0);
    // struct page pointers: 64 bytes apart when the frames are consecutive.
    let base = 0xffff_ea00_0400_0000usize;
    let ptrs = [base, base + 64, base + 128, base + 4096, base + 4160];
    assert_eq!(contiguous_prefix(&ptrs, 64, 512), 3);
    assert_eq!(contiguous_prefix(&ptrs[3..], 64, 512), 2);
}

#[test]
fn boundaries() {
    assert_eq!(pages_to_boundary(0x40_0000, HPAGE_SIZE), 512);
    assert_eq!(pages_to_boundary(0x5f_f000, HPAGE_SIZE), 1);
    assert_eq!(pages_to_boundary(0x1000, PAGE_SIZE), 1);
    assert_eq!(pages_to_boundary(0x4000_1000, 1 << 30), (1 << 18) - 1);
    assert_eq!(pages_spanned(0x1ff8, 16), 2);
    assert_eq!(pages_spanned(0x1000, 0x1000), 1);
}

#[test]
fn plan_small_pages() {
    assert_eq!(plan(0x1000, 0x3000, 100, PAGE_SIZE), (3, 0x3000));
    // Unaligned: 0x1800..0x27ff touches pages 1 and 2.
    assert_eq!(plan(0x1800, 0x1000, 100, PAGE_SIZE), (2, 0x1000));
    assert_eq!(plan(0x1ff8, 8, 100, PAGE_SIZE), (1, 8));
    // Clamped to 100 pages: 0x1000 - 0x800 + 99 pages.
    assert_eq!(
        plan(0x800, 1 << 20, 100, PAGE_SIZE),
        (100, 0x800 + 99 * 0x1000)
    );
    assert_eq!(plan(0, 100 * 4096, 100, PAGE_SIZE), (100, 100 * 4096));
    assert_eq!(plan(0, 100 * 4096 + 1, 100, PAGE_SIZE), (100, 100 * 4096));
}

#[test]
fn plan_huge_pages() {
    // 1 MiB into a unit, 300 MiB: units 0..=150, cut to 100: 1 MiB + 99 * 2 MiB = 199 MiB.
    assert_eq!(plan(1 << 20, 300 << 20, 100, HPAGE_SIZE), (100, 199 << 20));
    assert_eq!(plan(0x20_0000, 0x40_0000, 100, HPAGE_SIZE), (2, 0x40_0000));
    assert_eq!(plan(0x20_0000, 0x40_0001, 100, HPAGE_SIZE), (3, 0x40_0001));
}

/// Feeds `n` pages from `va` with pfns from `pfn_of`.
fn scan(va: u64, n: u64, pfn_of: impl Fn(u64) -> u64) -> u64 {
    let mut s = HugeScan::new();
    for i in 0..n {
        let v = va + i * PAGE_SIZE;
        if !s.push(v, pfn_of(v)) {
            break;
        }
    }
    s.good_units()
}

#[test]
fn huge_scan_accepts_2m_and_1g_pages() {
    // Two 2 MiB pages at physical 0x4000_0000 and 0x1_2340_0000 (aligned, in either order).
    let pfn = |v: u64| {
        if v < 0x60_0000 {
            0x40000 + (v - 0x40_0000) / 4096
        } else {
            0x123400 + (v - 0x60_0000) / 4096
        }
    };
    assert_eq!(scan(0x40_0000, 1024, pfn), 2);
    // One 1 GiB page seen as 2 MiB units.
    assert_eq!(
        scan(0x4000_0000, 3 * 512, |v| 0x100000
            + (v - 0x4000_0000) / 4096),
        3
    );
    // Starting mid-unit, consistently.
    assert_eq!(scan(0x40_0000 + 0x8_0000, 512 - 128 + 10, pfn), 2);
}

#[test]
fn huge_scan_rejects_small_pages() {
    // Contiguous but not 2 MiB aligned physically.
    assert_eq!(
        scan(0x40_0000, 512, |v| 0x40001 + (v - 0x40_0000) / 4096),
        0
    );
    // Aligned start but a break inside the unit.
    assert_eq!(
        scan(0x40_0000, 512, |v| if v < 0x50_0000 {
            0x40000 + (v - 0x40_0000) / 4096
        } else {
            0x90000 + (v - 0x40_0000) / 4096
        }),
        0
    );
    // First unit good, second broken: one good unit.
    let pfn = |v: u64| {
        if v < 0x60_0000 {
            0x40000 + (v - 0x40_0000) / 4096
        } else {
            0x77777 + (v - 0x60_0000) / 4096
        }
    };
    assert_eq!(scan(0x40_0000, 1024, pfn), 1);
    // A single base page at the right offset passes (nothing else is touched).
    assert_eq!(scan(0x40_0000, 1, |_| 0x40000), 1);
}

#[test]
fn huge_scan_runs_match_pages() {
    // A run fed at once counts like its pages fed one by one.
    let mut a = HugeScan::new();
    let mut b = HugeScan::new();
    assert!(a.push_run(0x40_0000, 0x40000, 512));
    assert!(a.push_run(0x60_0000, 0x90000, 256));
    for i in 0..512 {
        assert!(b.push(0x40_0000 + i * 4096, 0x40000 + i));
    }
    for i in 0..256 {
        assert!(b.push(0x60_0000 + i * 4096, 0x90000 + i));
    }
    assert_eq!((a.good_units(), a.failed()), (b.good_units(), b.failed()));
    assert_eq!(a.good_units(), 2);
    // A second run in the same unit must continue the first.
    assert!(!a.push_run(0x62_0000, 0x12345, 1));
    assert!(a.failed());
    assert_eq!(a.good_units(), 1);
    // Misaligned first page of a run fails.
    let mut c = HugeScan::new();
    assert!(!c.push_run(0x40_0000, 0x40001, 4));
    assert_eq!(c.good_units(), 0);
}
