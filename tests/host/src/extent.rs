// SPDX-License-Identifier: GPL-2.0

//! Host tests of `src/extent.rs`: coalescing and NEC's block geometry and page-size rule.

use crate::extent::*;

#[test]
fn contiguous_prefix_of_frames_and_pointers() {
    let frames = |k: usize| move |f: usize, n: usize| f.wrapping_add(n * k);
    assert_eq!(contiguous_prefix(&[10, 11, 12, 20, 21], frames(1), 100), 3);
    assert_eq!(contiguous_prefix(&[10, 11, 12], frames(1), 2), 2, "limit");
    assert_eq!(
        contiguous_prefix(&[7, 6], frames(1), 100),
        1,
        "backwards does not merge"
    );
    assert_eq!(
        contiguous_prefix(&[7, 7], frames(1), 100),
        1,
        "a repeat does not merge"
    );
    assert_eq!(contiguous_prefix::<usize>(&[], frames(1), 100), 0);
    assert_eq!(contiguous_prefix(&[5], frames(1), 0), 1, "at least 1");
    // struct page pointers: 64 bytes apart when the frames are consecutive.
    let base = 0xffff_ea00_0400_0000usize;
    let ptrs = [base, base + 64, base + 128, base + 4096, base + 4160];
    assert_eq!(contiguous_prefix(&ptrs, frames(64), 512), 3);
    assert_eq!(contiguous_prefix(&ptrs[3..], frames(64), 512), 2);
    // Real pointers step by their type's size.
    let arr = [0u64; 4];
    let p: Vec<*const u64> = (0..4).map(|i| std::ptr::from_ref(&arr[i])).collect();
    assert_eq!(contiguous_prefix(&p, |f, n| f.wrapping_add(n), 10), 4);
}

/// The run ends at every possible place, inside and between the chunks compared at once, and at
/// the limit wherever it falls.
#[test]
fn contiguous_prefix_breaks_anywhere() {
    for len in 0..3 * PREFIX_CHUNK + 3 {
        for brk in 1..=len {
            // Contiguous up to `brk`, then a jump.
            let items: Vec<u64> = (0..len as u64)
                .map(|i| if i < brk as u64 { 100 + i } else { 500 + i })
                .collect();
            for limit in 0..len + 2 {
                let want = brk.min(limit.max(1));
                assert_eq!(
                    contiguous_prefix(&items, |f, k| f + k as u64, limit),
                    want,
                    "len {len} break {brk} limit {limit}"
                );
            }
        }
    }
    // A backward step inside a chunk, and a repeat, end the run there.
    let mut items: Vec<u64> = (0..20).map(|i| 100 + i).collect();
    items[13] = 112;
    assert_eq!(contiguous_prefix(&items, |f, k| f + k as u64, 100), 13);
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

/// The folio of a frame when memory comes in 2 MiB folios (THP, hugetlb 2 MiB).
fn folio_2m(pfn: u64) -> Folio {
    Folio {
        pfn: pfn & !(PAGES_PER_HPAGE - 1),
        pages: PAGES_PER_HPAGE,
    }
}

/// Feeds `n` pages from `va` with pfns from `pfn_of`, in 2 MiB folios.
fn scan(va: u64, n: u64, pfn_of: impl Fn(u64) -> u64) -> u64 {
    scan_folios(va, n, pfn_of, folio_2m)
}

/// Feeds `n` pages from `va` with pfns from `pfn_of` and folios from `folio_of`.
fn scan_folios(
    va: u64,
    n: u64,
    pfn_of: impl Fn(u64) -> u64,
    folio_of: impl Fn(u64) -> Folio,
) -> u64 {
    let mut s = HugeScan::new();
    for i in 0..n {
        let v = va + i * PAGE_SIZE;
        let pfn = pfn_of(v);
        if !s.push(v, pfn, folio_of(pfn)) {
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
        scan_folios(
            0x4000_0000,
            3 * 512,
            |v| 0x100000 + (v - 0x4000_0000) / 4096,
            |_| Folio {
                pfn: 0x100000,
                pages: 1 << 18
            }
        ),
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
    assert!(a.push_run(0x40_0000, 0x40000, 512, folio_2m(0x40000)));
    assert!(a.push_run(0x60_0000, 0x90000, 256, folio_2m(0x90000)));
    for i in 0..512 {
        assert!(b.push(0x40_0000 + i * 4096, 0x40000 + i, folio_2m(0x40000)));
    }
    for i in 0..256 {
        assert!(b.push(0x60_0000 + i * 4096, 0x90000 + i, folio_2m(0x90000)));
    }
    assert_eq!((a.good_units(), a.failed()), (b.good_units(), b.failed()));
    assert_eq!(a.good_units(), 2);
    // A second run in the same unit must continue the first.
    assert!(!a.push_run(0x62_0000, 0x12345, 1, folio_2m(0x12345)));
    assert!(a.failed());
    assert_eq!(a.good_units(), 1);
    // Misaligned first page of a run fails.
    let mut c = HugeScan::new();
    assert!(!c.push_run(0x40_0000, 0x40001, 4, folio_2m(0x40001)));
    assert_eq!(c.good_units(), 0);
}

#[test]
fn huge_scan_needs_one_folio() {
    let pfn = |v: u64| 0x40000 + (v - 0x40_0000) / 4096;
    // A split THP: the same frames, aligned and contiguous, but 512 order-0 folios.
    let order0 = |p: u64| Folio { pfn: p, pages: 1 };
    assert_eq!(scan_folios(0x40_0000, 512, pfn, order0), 0);
    // Even one pinned page of such a unit does not make a 2 MiB entry.
    assert_eq!(scan_folios(0x40_0000 + 0x1000, 1, pfn, order0), 0);
    // 64 KiB mTHP folios, contiguous and aligned: not 2 MiB either.
    let mthp = |p: u64| Folio {
        pfn: p & !15,
        pages: 16,
    };
    assert_eq!(scan_folios(0x40_0000, 512, pfn, mthp), 0);
    // A 2 MiB folio for the first unit, order-0 pages behind it: one good unit.
    let mixed = |p: u64| {
        if p < 0x40200 {
            folio_2m(p)
        } else {
            order0(p)
        }
    };
    assert_eq!(scan_folios(0x40_0000, 1024, pfn, mixed), 1);
    // A 4 MiB folio holds both of its units.
    let big = |_| Folio {
        pfn: 0x40000,
        pages: 1024,
    };
    assert_eq!(scan_folios(0x40_0000, 1024, pfn, big), 2);
    // The same through runs.
    let mut s = HugeScan::new();
    assert!(!s.push_run(0x40_0000, 0x40000, 512, order0(0x40000)));
    assert_eq!(s.good_units(), 0);
}

#[test]
fn folio_holds_unit() {
    let f = Folio {
        pfn: 0x40000,
        pages: 512,
    };
    assert!(f.holds_unit(0x40000));
    assert!(!f.holds_unit(0x40200), "the unit after the folio");
    assert!(!f.holds_unit(0x3fe00), "the unit before the folio");
    let g = Folio {
        pfn: 0x100000,
        pages: 1 << 18,
    };
    assert!(g.holds_unit(0x100000));
    assert!(
        g.holds_unit(0x100000 + (1 << 18) - 512),
        "last unit of a 1 GiB folio"
    );
    assert!(!g.holds_unit(0x100000 + (1 << 18)), "first unit after it");
    assert!(
        !Folio { pfn: 0, pages: 256 }.holds_unit(0),
        "a folio under 2 MiB"
    );
    assert!(
        !Folio {
            pfn: u64::MAX - 511,
            pages: 512
        }
        .holds_unit(u64::MAX),
        "no overflow"
    );
}
