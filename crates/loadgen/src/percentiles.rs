//! The summary of a set of durations: p50, p99, p99.9 and max.

use std::time::Duration;

/// Percentiles of a set of durations (nearest rank).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Percentiles {
    pub count: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub p999: Duration,
    pub max: Duration,
}

impl Percentiles {
    /// Summarises `micros` (microseconds; sorted here).
    pub fn of_micros(micros: &mut [u64]) -> Percentiles {
        micros.sort_unstable();
        let at = |q: f64| -> Duration {
            if micros.is_empty() {
                return Duration::ZERO;
            }
            let rank = ((q * micros.len() as f64).ceil() as usize).clamp(1, micros.len());
            Duration::from_micros(micros[rank - 1])
        };
        Percentiles {
            count: micros.len(),
            p50: at(0.50),
            p99: at(0.99),
            p999: at(0.999),
            max: micros
                .last()
                .map_or(Duration::ZERO, |m| Duration::from_micros(*m)),
        }
    }
}

impl std::fmt::Display for Percentiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        write!(
            f,
            "p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms ({} samples)",
            ms(self.p50),
            ms(self.p99),
            ms(self.p999),
            ms(self.max),
            self.count
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let mut v: Vec<u64> = (1..=1000).rev().collect();
        let p = Percentiles::of_micros(&mut v);
        assert_eq!(p.count, 1000);
        assert_eq!(p.p50, Duration::from_micros(500));
        assert_eq!(p.p99, Duration::from_micros(990));
        assert_eq!(p.p999, Duration::from_micros(999));
        assert_eq!(p.max, Duration::from_micros(1000));
        assert_eq!(Percentiles::of_micros(&mut []), Percentiles::default());
    }
}
