//! `Prefetcher`: runs batch preparation on worker threads ahead of the consumer.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Prepares items (e.g. sample a batch and gather its features) on worker threads, at most
/// `capacity` items ahead of the consumer, and yields them in input order.
///
/// With one worker ([`Prefetcher::new`]), items are prepared one at a time and sampling
/// parallelises inside each item on the rayon pool. With several
/// ([`Prefetcher::with_workers`], GraphStorm's `--num-samplers`), that many items are prepared
/// at once, which keeps more cores busy when one item's work does not spread well (deep
/// fanouts, small batches); results are still yielded in input order, so a run's batches do
/// not depend on the number of workers. Dropping the prefetcher early stops the workers after
/// the items they are working on. If the work panics, the panic is re-raised in the consumer
/// when it reaches that item.
#[derive(Debug)]
pub struct Prefetcher<T> {
    results: Option<Receiver<(usize, thread::Result<T>)>>,
    /// Finished items that arrived before the one due next.
    early: BTreeMap<usize, thread::Result<T>>,
    next_due: usize,
    window: Arc<Window>,
    workers: Vec<JoinHandle<()>>,
    /// Nanoseconds the workers spent in `work`, summed over items.
    work_nanos: Arc<AtomicU64>,
}

/// A good default for [`Prefetcher::new`]'s `capacity`: enough to hide sampling jitter, small
/// enough for memory.
pub const PREFETCH_CAPACITY: usize = 4;

/// How far the workers may run ahead: item `i` may start once `i < consumed + capacity`.
#[derive(Debug)]
struct Window {
    state: Mutex<WindowState>,
    moved: Condvar,
    capacity: usize,
}

#[derive(Debug)]
struct WindowState {
    consumed: usize,
    closed: bool,
}

impl Window {
    fn lock(&self) -> MutexGuard<'_, WindowState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Blocks until item `i` may start; false when the prefetcher was dropped.
    fn wait_for_room(&self, i: usize) -> bool {
        let mut s = self.lock();
        while !s.closed && i >= s.consumed + self.capacity {
            s = self.moved.wait(s).unwrap_or_else(PoisonError::into_inner);
        }
        !s.closed
    }

    fn advance(&self) {
        self.lock().consumed += 1;
        self.moved.notify_all();
    }

    fn close(&self) {
        self.lock().closed = true;
        self.moved.notify_all();
    }
}

impl<T: Send + 'static> Prefetcher<T> {
    /// One worker thread preparing `items` with `work`, at most `capacity` (at least 1) ahead.
    pub fn new<I, F>(items: I, capacity: usize, work: F) -> Self
    where
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        F: Fn(I::Item) -> T + Send + Sync + 'static,
    {
        Self::with_workers(items, capacity, 1, work)
    }

    /// `workers` threads (at least 1) preparing `items` with `work` concurrently, at most
    /// `capacity` (at least `workers`) items ahead of the consumer, yielded in input order.
    pub fn with_workers<I, F>(items: I, capacity: usize, workers: usize, work: F) -> Self
    where
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        F: Fn(I::Item) -> T + Send + Sync + 'static,
    {
        let workers = workers.max(1);
        let window = Arc::new(Window {
            state: Mutex::new(WindowState {
                consumed: 0,
                closed: false,
            }),
            moved: Condvar::new(),
            capacity: capacity.max(workers),
        });
        let items = Arc::new(Mutex::new(items.into_iter().enumerate()));
        let work = Arc::new(work);
        let work_nanos = Arc::new(AtomicU64::new(0));
        let (tx, rx) = channel();
        let workers = (0..workers)
            .map(|k| {
                let (items, work, window, tx, nanos) = (
                    Arc::clone(&items),
                    Arc::clone(&work),
                    Arc::clone(&window),
                    tx.clone(),
                    Arc::clone(&work_nanos),
                );
                thread::Builder::new()
                    .name(format!("gs-prefetch-{k}"))
                    .spawn(move || {
                        loop {
                            // Take the next item only once it is inside the window.
                            let mut items = items.lock().unwrap_or_else(PoisonError::into_inner);
                            let Some((i, item)) = items.next() else {
                                return;
                            };
                            if !window.wait_for_room(i) {
                                return;
                            }
                            drop(items);
                            let started = Instant::now();
                            let result = catch_unwind(AssertUnwindSafe(|| work(item)));
                            let spent = started.elapsed().as_nanos();
                            nanos
                                .fetch_add(spent.try_into().unwrap_or(u64::MAX), Ordering::Relaxed);
                            if tx.send((i, result)).is_err() {
                                return; // the consumer is gone
                            }
                        }
                    })
                    .expect("the OS refused to start a prefetch thread")
            })
            .collect();
        Prefetcher {
            results: Some(rx),
            early: BTreeMap::new(),
            next_due: 0,
            window,
            workers,
            work_nanos,
        }
    }

    /// Wall time the workers have spent preparing items so far, summed over items (items
    /// prepared at once by several workers count each).
    pub fn work_time(&self) -> Duration {
        Duration::from_nanos(self.work_nanos.load(Ordering::Relaxed))
    }
}

impl<T> Iterator for Prefetcher<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        let result = match self.early.remove(&self.next_due) {
            Some(r) => r,
            None => loop {
                match self.results.as_ref()?.recv() {
                    Ok((i, r)) if i == self.next_due => break r,
                    Ok((i, r)) => {
                        self.early.insert(i, r);
                    }
                    Err(_) => {
                        // Every worker has finished: the items ran out.
                        self.results = None;
                        return None;
                    }
                }
            },
        };
        self.next_due += 1;
        self.window.advance();
        match result {
            Ok(v) => Some(v),
            Err(panic) => {
                self.window.close();
                self.results = None;
                resume_unwind(panic)
            }
        }
    }
}

impl<T> Drop for Prefetcher<T> {
    fn drop(&mut self) {
        self.window.close(); // wakes workers waiting for room
        drop(self.results.take()); // a worker that finishes an item then stops
        for w in self.workers.drain(..) {
            let _ = w.join(); // panics in the work were caught and sent
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[test]
    fn yields_in_order() {
        for workers in [1, 3] {
            let p = Prefetcher::with_workers(0..50u64, 4, workers, |i| {
                thread::sleep(Duration::from_micros((i * 7919) % 500));
                i * 2
            });
            assert_eq!(
                p.collect::<Vec<_>>(),
                (0..50).map(|i| i * 2).collect::<Vec<_>>(),
                "{workers} workers"
            );
        }
    }

    #[test]
    fn several_workers_run_items_at_once_within_the_window() {
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let started = Arc::new(AtomicUsize::new(0));
        let (r, m, s) = (running.clone(), most.clone(), started.clone());
        let mut p = Prefetcher::with_workers(0..40u64, 3, 3, move |i| {
            s.fetch_add(1, Ordering::SeqCst);
            let now = r.fetch_add(1, Ordering::SeqCst) + 1;
            m.fetch_max(now, Ordering::SeqCst);
            thread::sleep(Duration::from_millis(5));
            r.fetch_sub(1, Ordering::SeqCst);
            i
        });
        assert_eq!(p.next(), Some(0));
        thread::sleep(Duration::from_millis(50));
        // One item consumed and a window of 3: items 0..4 at most have started.
        assert!(started.load(Ordering::SeqCst) <= 4);
        assert_eq!(p.by_ref().count(), 39);
        assert!(most.load(Ordering::SeqCst) >= 2, "items overlapped");
        assert!(
            most.load(Ordering::SeqCst) <= 3,
            "at most one item per worker"
        );
    }

    #[test]
    fn work_time_sums_the_time_of_every_item() {
        for workers in [1, 2] {
            let mut p = Prefetcher::with_workers(0..6u64, 2, workers, |i| {
                thread::sleep(Duration::from_millis(5));
                i
            });
            assert_eq!(p.by_ref().count(), 6);
            let spent = p.work_time();
            assert!(
                spent >= Duration::from_millis(30) && spent < Duration::from_secs(5),
                "{workers} workers: {spent:?}"
            );
        }
    }

    #[test]
    fn stops_when_dropped_early() {
        for workers in [1, 2] {
            let done = Arc::new(AtomicUsize::new(0));
            let d = Arc::clone(&done);
            let mut p = Prefetcher::with_workers(0..1_000_000u64, 2, workers, move |i| {
                d.fetch_add(1, Ordering::SeqCst);
                i
            });
            assert_eq!(p.by_ref().take(3).collect::<Vec<_>>(), [0, 1, 2]);
            drop(p); // must return, not wait for a million items
            let n = done.load(Ordering::SeqCst);
            assert!(
                n <= 3 + 2 + workers,
                "workers ran {n} items ahead of a consumer that took 3"
            );
        }
    }

    #[test]
    fn a_panic_in_the_work_reaches_the_consumer_at_its_item() {
        for workers in [1, 2] {
            let mut p = Prefetcher::with_workers(0..10u32, 2, workers, |i| {
                assert!(i != 2, "boom at 2");
                i
            });
            assert_eq!(p.next(), Some(0));
            assert_eq!(p.next(), Some(1));
            let caught = catch_unwind(AssertUnwindSafe(|| p.next()));
            assert!(caught.is_err(), "{workers} workers");
        }
    }
}
