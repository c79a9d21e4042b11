// SPDX-License-Identifier: GPL-2.0

//! Host tests of `src/dma/ring.rs`.

use crate::ring::*;

#[test]
fn post_until_full_then_complete() {
    let mut r = Ring::new(5);
    assert_eq!(r.room(), 127);
    let slots: Vec<usize> = (0..127).map(|_| r.post().unwrap()).collect();
    assert_eq!(slots[0], 5);
    assert_eq!(slots[122], 127);
    assert_eq!(slots[123], 0, "wraps");
    assert_eq!(*slots.last().unwrap(), 3);
    assert_eq!(r.post(), None, "one slot always stays free");
    assert_eq!(r.head(), 4);
    assert_eq!(r.complete_to(10), Some(5));
    assert_eq!(r.inflight(), 122);
    assert_eq!(r.complete_to(4), Some(122));
    assert_eq!(r.inflight(), 0);
    assert_eq!(r.room(), 127);
}

#[test]
fn read_pointer_outside_the_slots_in_flight_is_rejected() {
    let mut r = Ring::new(0);
    r.post();
    r.post();
    assert_eq!(r.complete_to(3), None);
    assert_eq!(r.complete_to(0), Some(0), "nothing done yet");
    assert_eq!(r.complete_to(1), Some(1));
    assert_eq!(r.complete_to(0), None, "backwards");
    assert_eq!(r.complete_to(2), Some(1));
}

#[test]
fn reset_forgets_everything() {
    let mut r = Ring::new(120);
    for _ in 0..20 {
        r.post();
    }
    r.reset(12);
    assert_eq!((r.head(), r.tail(), r.inflight()), (12, 12, 0));
}

/// Removing one request's slots packs the others from the tail, in order, across the wrap.
#[test]
fn retain_packs_survivors_in_order() {
    let mut r = Ring::new(124);
    // Owners of the slots 124..=127, 0..=5: a request "A" interleaved with "B".
    let owner: Vec<char> = "ABABBAAB AB".chars().filter(|c| *c != ' ').collect();
    let mut ring_owner = [' '; NUM];
    for o in &owner {
        let slot = r.post().unwrap();
        ring_owner[slot] = *o;
    }
    r.complete_to(125); // the first A is done
    let mut moves = Vec::new();
    let old_head = r.retain(|from, to| {
        assert!((from + NUM - to) % NUM < NUM / 2, "never moves forward");
        let keep = ring_owner[from] != 'A';
        if keep && from != to {
            ring_owner[to] = ring_owner[from];
            moves.push((from, to));
        }
        keep
    });
    assert_eq!(old_head, 6);
    assert_eq!(r.tail(), 125);
    assert_eq!(r.inflight(), 5);
    assert_eq!(r.head(), 2);
    // Slots 125.. were B A B B A A B A B: the Bs at 125, 127, 0, 3, 5 go to 125, 126, 127, 0, 1.
    assert_eq!(moves, vec![(127, 126), (0, 127), (3, 0), (5, 1)]);
    for slot in [125, 126, 127, 0, 1] {
        assert_eq!(ring_owner[slot], 'B');
    }
    assert_eq!(r.room(), MAX_IN_FLIGHT - 5);
    assert_eq!(r.complete_to(2), Some(5));
}

/// Keeping everything moves nothing; keeping nothing empties the ring at its tail.
#[test]
fn retain_all_or_nothing() {
    let mut r = Ring::new(10);
    for _ in 0..7 {
        r.post();
    }
    let before = r;
    assert_eq!(
        r.retain(|from, to| {
            assert_eq!(from, to);
            true
        }),
        17
    );
    assert_eq!(r, before);
    assert_eq!(r.retain(|_, _| false), 17);
    assert_eq!((r.tail(), r.head(), r.inflight()), (10, 10, 0));
}
