// SPDX-License-Identifier: GPL-2.0

//! Host tests of `src/dma/poll.rs`.

use crate::poll::*;

#[test]
fn off_never_polls() {
    let p = PollPolicy::off();
    assert_eq!(p.budget_ns(8), None);
    assert_eq!(p.budget_ns(4096), None);
}

#[test]
fn short_requests_poll_for_the_allowance_plus_their_engine_time() {
    let mut p = PollPolicy::off();
    p.set_allowance_us(100);
    // 1000 ns per KiB until measured: 8 bytes round up to one KiB.
    assert_eq!(p.budget_ns(8), Some(100_000 + 1000));
    assert_eq!(p.budget_ns(32 << 10), Some(100_000 + 32_000));
    // Expected engine time exactly the allowance: still polled, for twice the allowance.
    assert_eq!(p.budget_ns(100 << 10), Some(200_000));
    // Longer: sleeps at once.
    assert_eq!(p.budget_ns((100 << 10) + 1), None);
    assert_eq!(p.budget_ns(1 << 30), None);
    // Nothing left to complete: nothing to wait for.
    assert_eq!(p.budget_ns(0), None);
}

#[test]
fn the_rate_is_measured_by_long_requests_only() {
    let mut p = PollPolicy::off();
    p.set_allowance_us(100);
    // Short requests say nothing of the rate.
    p.observe(64 << 10, 10_000_000);
    assert_eq!(p.ns_per_kib(), INITIAL_NS_PER_KIB);
    p.observe(RATE_MIN_BYTES, 0);
    assert_eq!(p.ns_per_kib(), INITIAL_NS_PER_KIB);
    // A fast engine: 64 MiB in 16 ms is 244 ns per KiB; the average moves an eighth of the way
    // each time and settles within 4 ns of it.
    for _ in 0..200 {
        p.observe(64 << 20, 16_000_000);
    }
    let settled = p.ns_per_kib();
    assert!((240..=248).contains(&settled), "{settled}");
    // So longer requests are polled now.
    assert_eq!(p.budget_ns(400 << 10), Some(100_000 + 400 * settled));
    // One slow sample (1 MiB in 1 s: 1 ms per KiB) moves it an eighth of the way only.
    p.observe(1 << 20, 1_000_000_000);
    let after = p.ns_per_kib();
    assert_eq!(after, (settled * 7 + 976_562 + 4) / 8);
}

#[test]
fn the_rate_never_reaches_zero() {
    let mut p = PollPolicy::off();
    for _ in 0..1000 {
        p.observe(1 << 30, 1);
    }
    let floor = p.ns_per_kib();
    assert!((1..=5).contains(&floor), "{floor}");
    p.set_allowance_us(1);
    assert_eq!(p.budget_ns(200 << 10), Some(1000 + 200 * floor));
}
