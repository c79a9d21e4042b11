// SPDX-License-Identifier: GPL-2.0

//! Host tests of the kernel module's `core`-only files, compiled here exactly as they are
//! compiled into the module (`#[path]` includes, no copies).

#[path = "../../../src/dma/cache_index.rs"]
pub mod cache_index;
#[path = "../../../src/dma/engine.rs"]
pub mod engine;
#[path = "../../../src/extent.rs"]
pub mod extent;
#[path = "../../../src/hw.rs"]
pub mod hw;
#[path = "../../../src/owner_lists.rs"]
pub mod owner_lists;
#[path = "../../../src/pin_table.rs"]
pub mod pin_table;
#[path = "../../../src/dma/poll.rs"]
pub mod poll;
#[path = "../../../src/dma/ring.rs"]
pub mod ring;
#[path = "../../../src/sensors.rs"]
pub mod sensors;
#[path = "../../../src/sysfs_rules.rs"]
pub mod sysfs_rules;
#[path = "../../../src/task_rules.rs"]
pub mod task_rules;
#[path = "../../../src/uapi.rs"]
pub mod uapi;
#[path = "../../../src/dma/velist.rs"]
pub mod velist;

#[cfg(test)]
mod abi;
#[cfg(test)]
#[path = "cache_index.rs"]
mod cache_index_tests;
#[cfg(test)]
#[path = "engine.rs"]
mod engine_tests;
#[cfg(test)]
#[path = "extent.rs"]
mod extent_tests;
#[cfg(test)]
mod hw_golden;
#[cfg(test)]
#[path = "owner_lists.rs"]
mod owner_lists_tests;
#[cfg(test)]
#[path = "pin_table.rs"]
mod pin_table_tests;
#[cfg(test)]
#[path = "poll.rs"]
mod poll_tests;
#[cfg(test)]
#[path = "ring.rs"]
mod ring_tests;
#[cfg(test)]
#[path = "sensors.rs"]
mod sensors_tests;
#[cfg(test)]
#[path = "sysfs_rules.rs"]
mod sysfs_rules_tests;
#[cfg(test)]
#[path = "task_rules.rs"]
mod task_rules_tests;
#[cfg(test)]
mod vcr;
#[cfg(test)]
#[path = "velist.rs"]
mod velist_tests;
