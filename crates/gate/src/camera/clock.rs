//! The camera service's clock: the system's monotonic clock, or a manual one that tests move by
//! hand, so that retries, frame pacing, the duplicate hold-off and the preview rate are tested
//! without sleeping.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

/// A monotonic clock: time since it was made.
#[derive(Debug, Clone)]
pub struct Clock(Kind);

#[derive(Debug, Clone)]
enum Kind {
    System(Instant),
    Manual(Arc<ManualClock>),
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

impl Clock {
    /// The system's monotonic clock.
    pub fn system() -> Clock {
        Clock(Kind::System(Instant::now()))
    }

    /// A clock that moves only when told to ([`ManualClock::advance`]).
    pub fn manual(clock: &Arc<ManualClock>) -> Clock {
        Clock(Kind::Manual(Arc::clone(clock)))
    }

    pub fn now(&self) -> Duration {
        match &self.0 {
            Kind::System(origin) => origin.elapsed(),
            Kind::Manual(clock) => clock.now(),
        }
    }

    /// Waits until this clock reads `deadline` or `stop` is raised; true if stopped.
    pub(crate) fn wait_until(&self, stop: &Arc<StopSignal>, deadline: Duration) -> bool {
        let _sleeping = match &self.0 {
            Kind::Manual(clock) => {
                clock.register(stop);
                Some(Sleeping::new(clock))
            }
            Kind::System(_) => None,
        };
        let mut stopped = stop.lock();
        loop {
            if *stopped {
                return true;
            }
            let now = self.now();
            if now >= deadline {
                return false;
            }
            stopped = match &self.0 {
                Kind::System(_) => {
                    stop.changed
                        .wait_timeout(stopped, deadline - now)
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .0
                }
                // Woken by `advance` (which takes this lock before notifying, so a wake-up
                // between reading the time and waiting is not lost) or by a stop.
                Kind::Manual(_) => stop
                    .changed
                    .wait(stopped)
                    .unwrap_or_else(|poisoned| poisoned.into_inner()),
            };
        }
    }
}

/// Counts a thread as waiting on a manual clock while it lives.
struct Sleeping<'a>(&'a ManualClock);

impl<'a> Sleeping<'a> {
    fn new(clock: &'a ManualClock) -> Sleeping<'a> {
        clock.sleepers.fetch_add(1, Ordering::SeqCst);
        Sleeping(clock)
    }
}

impl Drop for Sleeping<'_> {
    fn drop(&mut self) {
        self.0.sleepers.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A flag that threads wait on (through [`Clock::wait_until`]) and that stops their waits.
#[derive(Debug, Default)]
pub(crate) struct StopSignal {
    stopped: Mutex<bool>,
    changed: Condvar,
}

impl StopSignal {
    pub fn raise(&self) {
        *self.lock() = true;
        self.changed.notify_all();
    }

    pub fn is_raised(&self) -> bool {
        *self.lock()
    }

    fn lock(&self) -> MutexGuard<'_, bool> {
        self.stopped
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Wakes the waiters so they look at the clock again.
    fn wake(&self) {
        let _held = self.lock();
        self.changed.notify_all();
    }
}

/// A clock for tests: starts at zero and moves only by [`ManualClock::advance`], which wakes
/// every thread waiting on it.
#[derive(Debug, Default)]
pub struct ManualClock {
    now: Mutex<Duration>,
    /// The signals of threads that wait on this clock, to wake when it moves.
    waiters: Mutex<Vec<Weak<StopSignal>>>,
    /// Threads waiting on this clock right now.
    sleepers: AtomicUsize,
}

impl ManualClock {
    pub fn new() -> Arc<ManualClock> {
        Arc::new(ManualClock::default())
    }

    pub fn now(&self) -> Duration {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many threads are waiting on this clock now: a test advances it once the thread it
    /// drives is waiting, so no deadline is computed from a time the test already moved past.
    pub fn sleepers(&self) -> usize {
        self.sleepers.load(Ordering::SeqCst)
    }

    /// Moves the clock forward and wakes the threads waiting on it.
    pub fn advance(&self, by: Duration) {
        *self.now.lock().unwrap_or_else(|p| p.into_inner()) += by;
        let mut waiters = self.waiters.lock().unwrap_or_else(|p| p.into_inner());
        waiters.retain(|w| w.strong_count() > 0);
        for waiter in waiters.iter().filter_map(Weak::upgrade) {
            waiter.wake();
        }
    }

    fn register(&self, signal: &Arc<StopSignal>) {
        let mut waiters = self.waiters.lock().unwrap_or_else(|p| p.into_inner());
        if !waiters
            .iter()
            .any(|w| std::ptr::eq(w.as_ptr(), Arc::as_ptr(signal)))
        {
            waiters.push(Arc::downgrade(signal));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_wait_ends_when_the_clock_is_advanced_past_the_deadline() {
        let manual = ManualClock::new();
        let clock = Clock::manual(&manual);
        let stop = Arc::new(StopSignal::default());
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn(move || {
            tx.send(()).unwrap();
            clock.wait_until(&stop, Duration::from_secs(2))
        });
        rx.recv().unwrap();
        manual.advance(Duration::from_secs(1));
        manual.advance(Duration::from_secs(1));
        assert!(!waiter.join().unwrap(), "not stopped, the deadline passed");
    }

    #[test]
    fn a_stop_ends_any_wait() {
        let stop = Arc::new(StopSignal::default());
        for clock in [Clock::system(), Clock::manual(&ManualClock::new())] {
            let waiter = {
                let stop = stop.clone();
                std::thread::spawn(move || clock.wait_until(&stop, Duration::from_secs(3600)))
            };
            stop.raise();
            assert!(waiter.join().unwrap());
        }
    }
}
