//! `Prefetcher`: runs batch preparation on a worker thread ahead of the consumer.

use std::sync::mpsc::{Receiver, sync_channel};
use std::thread::JoinHandle;

/// Prepares items (e.g. sample a batch and gather its features) on a worker thread, at most
/// `capacity` finished items ahead of the consumer, and yields them in input order.
///
/// The work closure runs on one dedicated thread, one item at a time, so results come back in
/// order; sampling and gathering parallelise inside each item on the rayon pool. Dropping the
/// prefetcher early stops the worker after the item it is working on. If the work panics, the
/// panic is re-raised in the consumer when it reaches that item.
#[derive(Debug)]
pub struct Prefetcher<T> {
    rx: Option<Receiver<T>>,
    worker: Option<JoinHandle<()>>,
}

/// A good default for [`Prefetcher::new`]'s `capacity`: enough to hide sampling jitter, small
/// enough for memory.
pub const PREFETCH_CAPACITY: usize = 4;

impl<T: Send + 'static> Prefetcher<T> {
    /// Starts preparing `work(item)` for each of `items`, keeping at most `capacity` results
    /// waiting.
    pub fn new<I, F>(items: I, capacity: usize, mut work: F) -> Self
    where
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        F: FnMut(I::Item) -> T + Send + 'static,
    {
        let (tx, rx) = sync_channel(capacity);
        let items = items.into_iter();
        let worker = std::thread::Builder::new()
            .name("gs-prefetch".to_string())
            .spawn(move || {
                for item in items {
                    if tx.send(work(item)).is_err() {
                        break; // the consumer is gone
                    }
                }
            })
            .expect("the OS refused to start the prefetch thread");
        Prefetcher {
            rx: Some(rx),
            worker: Some(worker),
        }
    }
}

impl<T> Iterator for Prefetcher<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        match self.rx.as_ref()?.recv() {
            Ok(v) => Some(v),
            Err(_) => {
                self.rx = None;
                if let Some(Err(panic)) = self.worker.take().map(JoinHandle::join) {
                    std::panic::resume_unwind(panic);
                }
                None
            }
        }
    }
}

impl<T> Drop for Prefetcher<T> {
    fn drop(&mut self) {
        drop(self.rx.take()); // unblocks a worker waiting to send
        if let Some(w) = self.worker.take() {
            let _ = w.join(); // a panic in the work is not re-raised while dropping
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[test]
    fn yields_in_order() {
        let p = Prefetcher::new(0..50u64, 3, |i| {
            std::thread::sleep(Duration::from_micros((i * 7919) % 500));
            i * 2
        });
        assert_eq!(
            p.collect::<Vec<_>>(),
            (0..50).map(|i| i * 2).collect::<Vec<_>>()
        );
    }

    #[test]
    fn stops_when_dropped_early() {
        let done = Arc::new(AtomicUsize::new(0));
        let d = Arc::clone(&done);
        let mut p = Prefetcher::new(0..1_000_000u64, 2, move |i| {
            d.fetch_add(1, Ordering::SeqCst);
            i
        });
        assert_eq!(p.by_ref().take(3).collect::<Vec<_>>(), [0, 1, 2]);
        drop(p); // must return, not wait for a million items
        let n = done.load(Ordering::SeqCst);
        assert!(
            n <= 3 + 2 + 1,
            "worker ran {n} items ahead of a consumer that took 3"
        );
    }

    #[test]
    fn a_panic_in_the_work_reaches_the_consumer() {
        let mut p = Prefetcher::new(0..10u32, 1, |i| {
            assert!(i != 2, "boom at 2");
            i
        });
        assert_eq!(p.next(), Some(0));
        assert_eq!(p.next(), Some(1));
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| p.next()));
        assert!(caught.is_err());
    }
}
