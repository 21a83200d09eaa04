//! Test-only: an allocator that tells whether a secret's bytes were left behind in
//! freed memory by the code that owned them. While [`count`] runs its closure, every
//! block freed (or moved away from by a reallocation) is scanned for a marker before
//! the process's allocator ([`crate::zeroing`]) zeroes it: a zeroing the code forgot
//! shows up as a count above zero, even though the allocator would catch it. Only
//! the tests of this crate's library use it.

use std::alloc::{GlobalAlloc, Layout, System};

use crate::zeroing::Zeroing;
use std::cell::Cell;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

struct Watching;

thread_local! {
    /// Whether this thread is inside [`count`]: only its own frees are scanned, not
    /// those of the tests running beside it on other threads, which may free blocks
    /// holding the marker at any moment.
    static ARMED: Cell<bool> = const { Cell::new(false) };
}
static FOUND: AtomicUsize = AtomicUsize::new(0);
/// The marker looked for; fixed, so the allocator needs no allocation of its own.
pub const MARK: &str = "FREED-MARK-7c1e9b";
/// One counting at a time (the tests run in parallel).
static ONE: Mutex<()> = Mutex::new(());

// SAFETY: every call is passed on to the process's allocator unchanged; `dealloc`
// only reads the block it is about to free, which is still valid then.
unsafe impl GlobalAlloc for Watching {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        unsafe { Zeroing(System).alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ARMED.with(Cell::get) {
            // SAFETY: the block is valid for `layout.size()` bytes until freed below.
            let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
            if block.windows(MARK.len()).any(|w| w == MARK.as_bytes()) {
                FOUND.fetch_add(1, Ordering::Relaxed);
            }
        }
        // SAFETY: the caller's contract, passed on.
        unsafe { Zeroing(System).dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Watching = Watching;

/// Runs `f` and returns how many blocks it freed (on this thread) still held [`MARK`].
pub fn count(f: impl FnOnce()) -> usize {
    let _one = ONE.lock().unwrap_or_else(|e| e.into_inner());
    FOUND.store(0, Ordering::SeqCst);
    ARMED.with(|armed| armed.set(true));
    f();
    ARMED.with(|armed| armed.set(false));
    FOUND.load(Ordering::SeqCst)
}

#[test]
fn a_forgotten_zeroing_is_seen() {
    // The control: a plain String holding the mark, freed as it is.
    assert!(count(|| drop(MARK.repeat(2))) > 0);
    assert_eq!(count(|| drop("nothing to see".repeat(2))), 0);
}
