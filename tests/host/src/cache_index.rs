// SPDX-License-Identifier: GPL-2.0

//! Host tests of `src/dma/cache_index.rs`.

use crate::cache_index::*;

const MIB: u64 = 1 << 20;

fn key(owner: u64, mm: usize, write: bool) -> CacheKey {
    CacheKey { owner, mm, write }
}

/// Inserts entry `id` and returns what was taken out to make room.
fn insert<const N: usize>(
    ix: &mut CacheIndex<u32, N>,
    k: CacheKey,
    start: u64,
    end: u64,
    id: u32,
) -> Vec<u32> {
    let mut out = Vec::new();
    let bytes = (end.next_multiple_of(4096)) - (start & !4095);
    assert_eq!(ix.insert(k, start, end, bytes, id, |e| out.push(e)), Ok(()));
    out
}

#[test]
fn finds_only_entries_of_the_same_key_that_cover_the_request() {
    let mut ix = CacheIndex::<u32, 8>::new(64 * MIB);
    let k = key(1, 0x1000, false);
    assert!(insert(&mut ix, k, 0x10_0000, 0x20_0000, 7).is_empty());
    assert_eq!(ix.find(k, 0x10_0000, 0x20_0000, |_| true), Some(&7));
    assert_eq!(ix.find(k, 0x12_3408, 0x18_0000, |_| true), Some(&7));
    // Partly outside.
    assert_eq!(ix.find(k, 0x0f_f000, 0x11_0000, |_| true), None);
    assert_eq!(ix.find(k, 0x1f_f000, 0x20_0008, |_| true), None);
    // Another file, address space or direction.
    assert_eq!(
        ix.find(key(2, 0x1000, false), 0x10_0000, 0x20_0000, |_| true),
        None
    );
    assert_eq!(
        ix.find(key(1, 0x2000, false), 0x10_0000, 0x20_0000, |_| true),
        None
    );
    assert_eq!(
        ix.find(key(1, 0x1000, true), 0x10_0000, 0x20_0000, |_| true),
        None
    );
    // Stale.
    assert_eq!(ix.find(k, 0x10_0000, 0x20_0000, |_| false), None);
    assert_eq!(ix.held(), MIB);
    assert_eq!(ix.entries(), 1);
}

#[test]
fn the_cap_evicts_least_recently_used_first() {
    let mut ix = CacheIndex::<u32, 8>::new(3 * MIB);
    let k = key(1, 0x1000, false);
    for i in 0..3u32 {
        let at = u64::from(i) * 16 * MIB;
        assert!(insert(&mut ix, k, at, at + MIB, i).is_empty());
    }
    // Entry 0 used last: 1 is the least recently used.
    assert!(ix.find(k, 0, MIB, |_| true).is_some());
    assert_eq!(insert(&mut ix, k, 64 * MIB, 65 * MIB, 3), vec![1]);
    assert_eq!(ix.stats.evictions, 1);
    assert_eq!(ix.held(), 3 * MIB);
    // Two MiB more: 2 and then 0 go.
    assert_eq!(insert(&mut ix, k, 80 * MIB, 82 * MIB, 4), vec![2, 0]);
    assert_eq!(ix.held(), 3 * MIB);
    assert_eq!(ix.entries(), 2);
    // Larger than the cap: never admitted, nothing taken out.
    assert!(!ix.admits(4 * MIB));
    assert_eq!(
        ix.insert(k, 0, 4 * MIB, 4 * MIB, 9, |_| panic!("evicted")),
        Err(9)
    );
    assert_eq!(ix.entries(), 2);
}

#[test]
fn a_full_table_evicts_even_under_the_cap() {
    let mut ix = CacheIndex::<u32, 2>::new(64 * MIB);
    let k = key(1, 0x1000, true);
    assert!(insert(&mut ix, k, 0, 4096, 0).is_empty());
    assert!(insert(&mut ix, k, 8192, 12288, 1).is_empty());
    assert_eq!(insert(&mut ix, k, 16384, 20480, 2), vec![0]);
    assert_eq!(ix.entries(), 2);
}

#[test]
fn an_overlapping_entry_of_the_same_key_is_replaced() {
    let mut ix = CacheIndex::<u32, 8>::new(64 * MIB);
    let k = key(1, 0x1000, false);
    let other = key(1, 0x1000, true);
    assert!(insert(&mut ix, k, 0, MIB, 0).is_empty());
    assert!(insert(&mut ix, other, 0, MIB, 1).is_empty());
    assert!(insert(&mut ix, k, 4 * MIB, 5 * MIB, 2).is_empty());
    // Overlaps entry 0 only (entry 1 is the other direction, entry 2 is apart).
    assert_eq!(insert(&mut ix, k, MIB / 2, 2 * MIB, 3), vec![0]);
    assert_eq!(ix.stats.evictions, 1);
    assert_eq!(ix.find(k, MIB / 2, MIB, |_| true), Some(&3));
    assert_eq!(ix.find(other, 0, MIB, |_| true), Some(&1));
    // Adjacent is not overlapping.
    assert!(insert(&mut ix, k, 2 * MIB, 3 * MIB, 4).is_empty());
}

#[test]
fn removal_by_owner_and_by_address_space_returns_the_bytes() {
    let mut ix = CacheIndex::<u32, 8>::new(64 * MIB);
    insert(&mut ix, key(1, 0x1000, false), 0, MIB, 0);
    insert(&mut ix, key(2, 0x1000, false), 0, MIB, 1);
    insert(&mut ix, key(1, 0x2000, false), 0, 2 * MIB, 2);
    let mut out = Vec::new();
    assert_eq!(ix.remove_where(|s| s.key.owner == 1, |e| out.push(e)), 2);
    out.sort();
    assert_eq!(out, vec![0, 2]);
    assert_eq!(ix.held(), MIB);
    let mut victim = None;
    assert!(!ix.evict_lru(|s| s.key.mm == 0x2000, |e| victim = Some(e)));
    assert!(ix.evict_lru(|s| s.key.mm == 0x1000, |e| victim = Some(e)));
    assert_eq!(victim, Some(1));
    assert_eq!((ix.held(), ix.entries()), (0, 0));
}

#[test]
fn a_zero_cap_caches_nothing() {
    let mut ix = CacheIndex::<u32, 8>::new(0);
    assert!(!ix.admits(4096));
    assert_eq!(
        ix.insert(key(1, 1, false), 0, 8, 4096, 5, |_| panic!("evicted")),
        Err(5)
    );
}

#[test]
fn oldest_skips_what_the_predicate_refuses() {
    let mut ix = CacheIndex::<u32, 8>::new(64 * MIB);
    let k = key(1, 0x1000, false);
    for i in 0..3u32 {
        let at = u64::from(i) * 4 * MIB;
        insert(&mut ix, k, at, at + MIB, i);
    }
    // 0 used last: 1 is the oldest, then 2.
    assert!(ix.find(k, 0, MIB, |_| true).is_some());
    assert_eq!(ix.oldest(|_| true).map(|s| s.entry), Some(1));
    assert_eq!(ix.oldest(|s| s.entry != 1).map(|s| s.entry), Some(2));
    assert!(ix.oldest(|_| false).is_none());
    let mut all = Vec::new();
    ix.for_each(|s| all.push(s.entry));
    all.sort();
    assert_eq!(all, vec![0, 1, 2]);
}
