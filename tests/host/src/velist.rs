// SPDX-License-Identifier: GPL-2.0

//! Host tests of `src/dma/velist.rs`.

use crate::velist::*;

#[test]
fn check_rejects_bad_lists() {
    assert_eq!(check(&[], None), None, "empty");
    assert_eq!(check(&[(0, 0)], None), None, "zero length");
    assert_eq!(check(&[(4, 8)], None), None, "misaligned address");
    assert_eq!(check(&[(8, 12)], None), None, "misaligned length");
    assert_eq!(check(&[(u64::MAX - 7, 16)], None), None, "wraps");
    assert_eq!(
        check(&[(0, 64), (64, 64)], Some(127)),
        None,
        "beyond VE memory"
    );
    assert_eq!(check(&[(0, 64), (64, 64)], Some(128)), Some(128));
    assert_eq!(
        check(
            &[(0, 1 << 62), (0, 1 << 62), (0, 1 << 62), (0, 1 << 62)],
            None
        ),
        None,
        "total overflows"
    );
    assert_eq!(check(&[(1 << 40, 8), (0, 16)], None), Some(24), "any order");
}

/// Pieces follow the list, join adjacent extents, and never exceed the asked size.
#[test]
fn cursor_walks_and_joins() {
    let list = [
        (0x1000, 0x100),
        (0x1100, 0x100),
        (0x8000, 0x40),
        (0x100, 0x10),
    ];
    let mut c = VeCursor::new(&list);
    assert_eq!(c.remaining(), 0x250);
    assert_eq!(c.take(0x80), Some((0x1000, 0x80)));
    assert_eq!(
        c.take(0x1000),
        Some((0x1080, 0x180)),
        "two adjacent extents as one"
    );
    assert_eq!(c.take(0x1000), Some((0x8000, 0x40)));
    assert_eq!(c.remaining(), 0x10);
    assert_eq!(c.take(8), Some((0x100, 8)));
    assert_eq!(c.take(8), Some((0x108, 8)));
    assert_eq!(c.take(8), None);
    assert_eq!(c.remaining(), 0);
}

/// Cutting a sequence of VH runs by the VE list covers both sides exactly once, in order.
#[test]
fn cursor_covers_runs_exactly() {
    let list: Vec<(u64, u64)> = (0..50u64)
        .map(|i| ((i * 7919 % 64) << 16, 8 * (1 + i % 9) * 512))
        .collect();
    let total = check(&list, None).unwrap();
    let mut c = VeCursor::new(&list);
    let mut ve_bytes = Vec::new();
    let mut left = total;
    let mut run = 0u64;
    while left > 0 {
        // VH runs of varied sizes.
        let run_len = (8 * (1 + run % 1000)).min(left);
        run += 1;
        let mut in_run = 0;
        while in_run < run_len {
            let (addr, len) = c.take(run_len - in_run).unwrap();
            assert!(len > 0 && len <= run_len - in_run);
            ve_bytes.push((addr, len));
            in_run += len;
        }
        left -= run_len;
    }
    assert_eq!(c.take(8), None);
    // Every byte of the list appears once, in order.
    let flat = |v: &[(u64, u64)]| -> Vec<u64> {
        v.iter().flat_map(|&(a, l)| (a..a + l).step_by(8)).collect()
    };
    assert_eq!(flat(&ve_bytes), flat(&list));
}
