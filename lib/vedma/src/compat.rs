// SPDX-License-Identifier: GPL-2.0

//! Link compatibility with VEOS's architecture tables.
//!
//! VEOS's build generates each architecture's operations table (`ve1/src/veos/main/arch_ops.c`,
//! `ve3/...`, by `generate-arch_ops.py` over every `.c` file of the architecture's tree) with
//! the DMA hooks of its own manager's architecture part (`ve1/src/veos/dma`: `arch_dma_intr` ->
//! `ve1_dma_intr`, ...). Only VEOS's generic DMA code (`src/veos/dma`, which this library
//! replaces) calls them, so once VEOS links this library instead of both DMA archives, nothing
//! calls them, but the tables still name them. These definitions let that link succeed with no
//! source change; each aborts if it is ever called, as that would mean a VEOS caller this
//! library does not know about.

macro_rules! unreachable_hooks {
    ($($name:ident),* $(,)?) => {
        $(
            /// VEOS architecture DMA hook of VEOS's own manager: never called with this library.
            #[no_mangle]
            pub extern "C" fn $name() -> usize {
                eprintln!(concat!("libvedma: VEOS called ", stringify!($name), ", which it replaces"));
                std::process::abort()
            }
        )*
    };
}

unreachable_hooks!(
    ve1_dma_addr_type_is_valid,
    ve1_dma_cancel_all_posted,
    ve1_dma_alloc_usage,
    ve1_dma_init_usage,
    ve1_dma_free_usage,
    ve1_dma_engine_is_busy,
    ve1_dma_hw_start,
    ve1_dma_hw_post_stop,
    ve1_dma_hw_clear_dma,
    ve1_dma_hw_engine_is_halt,
    ve1_dma_intr,
    ve1_dma_addrtype_to_pagesize,
    ve1_dma_addrtype_to_hwtype,
    ve1_dma_pin_blk,
    ve1_dma_request_mergeable,
    ve1_dma_reqlist__entry_post,
    ve1_dma_reqlist__cancel,
    ve3_dma_addr_type_is_valid,
    ve3_dma_cancel_all_posted,
    ve3_dma_alloc_usage,
    ve3_dma_init_usage,
    ve3_dma_free_usage,
    ve3_dma_engine_is_busy,
    ve3_dma_hw_start,
    ve3_dma_hw_post_stop,
    ve3_dma_hw_clear_dma,
    ve3_dma_hw_engine_is_halt,
    ve3_dma_intr,
    ve3_dma_addrtype_to_pagesize,
    ve3_dma_addrtype_to_hwtype,
    ve3_dma_pin_blk,
    ve3_dma_request_mergeable,
    ve3_dma_reqlist__entry_post,
    ve3_dma_reqlist__cancel,
);
