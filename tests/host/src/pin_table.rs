// SPDX-License-Identifier: GPL-2.0

//! Host tests of `src/pin_table.rs`: NEC's pin list semantics (newest first per key, duplicates,
//! sizes apart) on the index of key buckets and chained nodes, its growth, and a random run against a model.

use crate::pin_table::*;

struct VecItems<T>(Vec<T>);

impl<T> Items<T> for VecItems<T> {
    fn none() -> Self {
        Self(Vec::new())
    }

    fn filled(n: usize, f: impl FnMut(usize) -> T) -> Result<Self, OutOfMemory> {
        Ok(Self((0..n).map(f).collect()))
    }

    fn items(&self) -> &[T] {
        &self.0
    }

    fn items_mut(&mut self) -> &mut [T] {
        &mut self.0
    }
}

struct VecStorage;

impl Storage for VecStorage {
    type Of<T> = VecItems<T>;
}

type Table = PinTable<u32, VecStorage>;

fn held(s: VecItems<Node<u32>>) -> Vec<u32> {
    let mut v: Vec<u32> = s.0.into_iter().filter_map(Node::into_value).collect();
    v.sort();
    v
}

#[test]
fn insert_needs_room_and_reserve_makes_it() {
    let mut t = Table::new();
    assert_eq!(t.insert(1, 0, 10), Err(10), "no slots yet");
    assert_eq!(t.pop(1, 0), None);
    t.reserve(100).unwrap();
    for k in 0..100 {
        t.insert(k, 0, k as u32).unwrap();
    }
    assert_eq!(t.len(), 100);
    for k in (0..100).rev() {
        assert_eq!(t.pop(k, 0), Some(k as u32));
    }
    assert!(t.is_empty());
}

#[test]
fn newest_first_per_key_and_sizes_apart() {
    let mut t = Table::new();
    t.reserve(5).unwrap();
    t.insert(7, 0, 1).unwrap();
    t.insert(7, 1, 2).unwrap();
    t.insert(7, 0, 3).unwrap();
    t.insert(8, 0, 4).unwrap();
    t.insert(7, 0, 5).unwrap();
    assert_eq!(t.pop(7, 0), Some(5));
    assert_eq!(t.pop(7, 0), Some(3));
    assert_eq!(t.pop(7, 0), Some(1));
    assert_eq!(t.pop(7, 0), None);
    assert_eq!(t.pop(7, 1), Some(2));
    assert_eq!(t.pop(9, 0), None);
    assert_eq!(t.len(), 1);
    assert_eq!(held(t.take_all()), vec![4]);
    assert!(t.is_empty());
    assert_eq!(t.pop(8, 0), None);
}

/// Growth keeps every entry and the order of duplicates; released slots are reused and dropped at
/// the next growth.
#[test]
fn growth_keeps_entries_and_order() {
    let mut t = Table::new();
    let mut v = 0u32;
    for round in 0..50u64 {
        t.reserve(64).unwrap();
        for k in 0..64u64 {
            t.insert(k % 20, 0, v).unwrap();
            v += 1;
        }
        for k in 0..32u64 {
            assert!(t.pop((k + round) % 20, 0).is_some());
        }
    }
    assert_eq!(t.len(), 50 * 32);
    // Per key, values come back in decreasing order (newest first).
    let mut total = 0;
    for k in 0..20 {
        let mut last = u32::MAX;
        while let Some(x) = t.pop(k, 0) {
            assert!(x < last);
            last = x;
            total += 1;
        }
    }
    assert_eq!(total, 50 * 32);
}

/// A pseudo-random sequence from `seed` (xorshift64).
fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}

/// A random run of inserts, pops and reserves against a plain model.
#[test]
fn random_run_matches_a_model() {
    let mut next = xorshift(0x1234_5678_9abc_def0);
    let mut t = Table::new();
    let mut model: Vec<(u64, u8, u32)> = Vec::new();
    for v in 0..20_000u32 {
        let frame = next() % 300;
        let size = (next() % 2) as u8;
        if next() % 3 == 0 {
            let got = t.pop(frame, size);
            let want = model
                .iter()
                .rposition(|&(f, s, _)| f == frame && s == size)
                .map(|i| model.remove(i).2);
            assert_eq!(got, want);
        } else {
            if t.insert(frame, size, v).is_err() {
                t.reserve(1 + (next() % 50) as usize).unwrap();
                t.insert(frame, size, v).unwrap();
            }
            model.push((frame, size, v));
        }
        assert_eq!(t.len(), model.len());
    }
    let mut all: Vec<u32> = model.iter().map(|m| m.2).collect();
    all.sort();
    assert_eq!(held(t.take_all()), all);
}

/// A table filled and emptied again keeps its slots: the next fill of the same size reuses them
/// (the entries still come back right).
#[test]
fn emptied_table_is_reused() {
    let mut t = Table::new();
    for round in 0..3u32 {
        t.reserve(1000).unwrap();
        for k in 0..1000u64 {
            t.insert(k * 3, 0, round * 1000 + k as u32).unwrap();
        }
        for k in 0..1000u64 {
            assert_eq!(t.pop(k * 3, 0), Some(round * 1000 + k as u32));
        }
        assert!(t.is_empty());
    }
    assert_eq!(
        t.take_all().0.len(),
        2048,
        "grown once, to twice the first fill"
    );
}

/// Entries placed by `insert_seq` come back newest first by their given order, whatever the
/// order they were inserted in, and a later plain `insert` is newer than all of them.
#[test]
fn given_order_decides_the_newest() {
    let mut t = Table::new();
    t.reserve(8).unwrap();
    t.insert_seq(5, 0, 10, 100).unwrap();
    t.insert_seq(5, 0, 30, 300).unwrap();
    t.insert_seq(5, 0, 20, 200).unwrap();
    t.insert(5, 0, 400).unwrap();
    assert_eq!(t.pop(5, 0), Some(400));
    assert_eq!(t.pop(5, 0), Some(300));
    assert_eq!(t.pop(5, 0), Some(200));
    assert_eq!(t.pop(5, 0), Some(100));
    assert_eq!(t.pop(5, 0), None);
}

/// `pop_where` takes the newest entry of the key that the predicate accepts, and leaves the
/// others (of that key and of other keys) where they are.
#[test]
fn pop_where_takes_the_newest_accepted() {
    let mut t = Table::new();
    t.reserve(8).unwrap();
    for v in [1, 2, 3, 4] {
        t.insert(9, 0, v).unwrap();
    }
    t.insert(9, 1, 6).unwrap();
    assert_eq!(t.pop_where(9, 0, |v| v % 2 == 1), Some(3));
    assert_eq!(t.pop_where(9, 0, |v| *v > 10), None);
    assert_eq!(t.pop_where(9, 1, |v| v % 2 == 1), None);
    assert_eq!(t.len(), 4);
    assert_eq!(t.pop(9, 0), Some(4));
    assert_eq!(t.pop(9, 0), Some(2));
    assert_eq!(t.pop(9, 0), Some(1));
    assert_eq!(t.pop(9, 1), Some(6));
}

/// `values_mut` reaches every held entry and none that was released; changes stay in place
/// under their keys.
#[test]
fn values_mut_changes_held_entries_in_place() {
    let mut t = Table::new();
    t.reserve(8).unwrap();
    for (frame, v) in [(1, 10), (2, 20), (3, 30)] {
        t.insert(frame, 0, v).unwrap();
    }
    assert_eq!(t.pop(2, 0), Some(20));
    let mut seen: Vec<u32> = t.values_mut().map(|v| *v).collect();
    seen.sort();
    assert_eq!(seen, vec![10, 30]);
    for v in t.values_mut() {
        *v += 1;
    }
    assert_eq!(t.pop(1, 0), Some(11));
    assert_eq!(t.pop(3, 0), Some(31));
    assert!(t.is_empty());
}

/// Entries placed in random insertion order (`insert_seq`), taken by `pop_where` with a
/// predicate, through growths that re-file every chain: each take is the model's newest accepted
/// entry of the key.
#[test]
fn random_order_and_predicates_match_a_model() {
    let mut next = xorshift(0x0fed_cba9_8765_4321);
    let mut t = Table::new();
    // (frame, size, seq, value)
    let mut model: Vec<(u64, u8, u64, u32)> = Vec::new();
    for v in 0..20_000u32 {
        let frame = next() % 40;
        let size = (next() % 2) as u8;
        if next() % 3 == 0 {
            let odd = next() % 2 == 0;
            let accept = |x: &u32| !odd || x % 2 == 1;
            let got = t.pop_where(frame, size, accept);
            let want = model
                .iter()
                .enumerate()
                .filter(|(_, m)| m.0 == frame && m.1 == size && accept(&m.3))
                .max_by_key(|(_, m)| m.2)
                .map(|(i, _)| i)
                .map(|i| model.remove(i).3);
            assert_eq!(got, want);
        } else {
            // Distinct places in insertion order, given out of order.
            let seq = (next() % 1_000_000) * 32_768 + u64::from(v);
            if t.insert_seq(frame, size, seq, v).is_err() {
                t.reserve(1 + (next() % 50) as usize).unwrap();
                t.insert_seq(frame, size, seq, v).unwrap();
            }
            model.push((frame, size, seq, v));
        }
        assert_eq!(t.len(), model.len());
    }
    let mut all: Vec<u32> = model.iter().map(|m| m.3).collect();
    all.sort();
    assert_eq!(held(t.take_all()), all);
}
