//! The tracker's clock, injectable so that tests can move time (the one
//! mock the project allows).

use std::sync::{Arc, Mutex};
use time::OffsetDateTime;

/// Where "now" comes from.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time, UTC.
    fn now(&self) -> OffsetDateTime;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that stands still until told to move; for tests.
#[derive(Clone, Debug)]
pub struct MockClock {
    /// The time it shows.
    now: Arc<Mutex<OffsetDateTime>>,
}

impl MockClock {
    /// A clock showing `at`.
    pub fn at(at: OffsetDateTime) -> MockClock {
        MockClock {
            now: Arc::new(Mutex::new(at)),
        }
    }

    /// Sets the time.
    pub fn set(&self, at: OffsetDateTime) {
        if let Ok(mut now) = self.now.lock() {
            *now = at;
        }
    }

    /// Moves the time forward by `by`.
    pub fn advance(&self, by: time::Duration) {
        if let Ok(mut now) = self.now.lock() {
            *now += by;
        }
    }
}

impl Clock for MockClock {
    fn now(&self) -> OffsetDateTime {
        self.now
            .lock()
            .map(|t| *t)
            .unwrap_or_else(|e| *e.into_inner())
    }
}
