//! Sign-in throttling by client address and name together, instead of locking accounts:
//! an account lock lets anyone lock anyone out and tells which names exist. Here a
//! guesser at one address is slowed down on one name ([`PAIR_FAILURES`]) and on all
//! names together ([`ADDRESS_FAILURES`]); the clerk at another desk signs in as usual;
//! known and unknown names are counted and answered alike.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed sign-ins of one name from one address before it must wait.
pub const PAIR_FAILURES: u32 = 5;
/// Failed sign-ins from one address (any names) before it must wait.
pub const ADDRESS_FAILURES: u32 = 50;
/// How long failures are remembered, and how long a throttled client waits.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Entries kept at most; the oldest are dropped first (a flood of addresses cannot
/// exhaust memory).
const MAX_ENTRIES: usize = 100_000;

#[derive(Clone, Copy)]
struct Count {
    failures: u32,
    since: Instant,
}

impl Count {
    fn current(self, now: Instant) -> u32 {
        if now.duration_since(self.since) < WINDOW {
            self.failures
        } else {
            0
        }
    }
}

/// Failure counts per (address, name) and per address.
#[derive(Default)]
pub struct Throttle {
    counts: Mutex<HashMap<(IpAddr, Option<String>), Count>>,
}

impl Throttle {
    /// Whether `address` must wait before trying `name` again.
    pub fn blocked(&self, address: IpAddr, name: &str) -> bool {
        let now = Instant::now();
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let get = |key: (IpAddr, Option<String>)| counts.get(&key).map_or(0, |c| c.current(now));
        get((address, Some(name.to_string()))) >= PAIR_FAILURES
            || get((address, None)) >= ADDRESS_FAILURES
    }

    /// Counts a failed sign-in of `name` from `address`.
    pub fn failed(&self, address: IpAddr, name: &str) {
        let now = Instant::now();
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if counts.len() >= MAX_ENTRIES {
            counts.retain(|_, c| c.current(now) > 0);
            if counts.len() >= MAX_ENTRIES {
                counts.clear();
            }
        }
        for key in [(address, Some(name.to_string())), (address, None)] {
            let count = counts.entry(key).or_insert(Count {
                failures: 0,
                since: now,
            });
            if count.current(now) == 0 {
                *count = Count {
                    failures: 0,
                    since: now,
                };
            }
            count.failures += 1;
        }
    }

    /// Forgets the failures of `name` from `address` after a good sign-in.
    pub fn succeeded(&self, address: IpAddr, name: &str) {
        self.counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&(address, Some(name.to_string())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_and_name_is_throttled_not_the_account() {
        let throttle = Throttle::default();
        let (guesser, clerk): (IpAddr, IpAddr) =
            ("10.0.0.9".parse().unwrap(), "10.0.0.2".parse().unwrap());
        for _ in 0..PAIR_FAILURES {
            assert!(!throttle.blocked(guesser, "an"));
            throttle.failed(guesser, "an");
        }
        assert!(throttle.blocked(guesser, "an"));
        assert!(
            !throttle.blocked(clerk, "an"),
            "the clerk's desk is not locked out"
        );
        assert!(!throttle.blocked(guesser, "binh"));
        for i in 0..ADDRESS_FAILURES {
            throttle.failed(guesser, &format!("name{i}"));
        }
        assert!(
            throttle.blocked(guesser, "binh"),
            "spraying names is slowed too"
        );
        throttle.succeeded(clerk, "an");
        assert!(!throttle.blocked(clerk, "an"));
    }
}
