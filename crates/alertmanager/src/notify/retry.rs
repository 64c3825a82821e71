//! The per-integration stages of a flush: dedup against the notification log, delivery with
//! exponential backoff until the group's next flush, and recording what was sent.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::{debug, error, info, warn};
use vigil_model::Timestamp;

use super::{GroupCtx, IntegrationStatus};
use crate::alert::Alert;
use crate::alertmanager::Core;
use crate::fingerprint::Fingerprint;
use crate::nflog::NflogEntry;
use crate::receivers::{is_resolved, Integration, NotifyCtx};

/// Alertmanager's `DedupStage.needsUpdate`: whether this integration must be notified of a group
/// whose alerts are `firing` and `resolved` now, given the last notification `entry`.
pub(crate) fn needs_update(
    entry: Option<&NflogEntry>,
    firing: &HashSet<Fingerprint>,
    resolved: &HashSet<Fingerprint>,
    send_resolved: bool,
    repeat_interval_ms: u64,
    now: Timestamp,
) -> bool {
    // Never notified: only when something fires.
    let Some(entry) = entry else {
        return !firing.is_empty();
    };
    // New firing alerts.
    if !entry.is_firing_subset(firing) {
        return true;
    }
    // Everything resolved: notify (whatever send_resolved says, so that the log forgets the
    // firing set) unless the receiver never heard of firing alerts.
    if firing.is_empty() {
        return !entry.firing.is_empty();
    }
    if send_resolved && !entry.is_resolved_subset(resolved) {
        return true;
    }
    let repeat = i64::try_from(repeat_interval_ms).unwrap_or(i64::MAX);
    entry.timestamp < now.saturating_sub(repeat)
}

/// `cenkalti/backoff`'s exponential backoff as Alertmanager uses it: 500 ms, ×1.5 per attempt,
/// ±50 % jitter, at most 60 s between attempts.
#[derive(Debug)]
pub(crate) struct Backoff {
    current: Duration,
}

impl Backoff {
    const INITIAL: Duration = Duration::from_millis(500);
    const MAX: Duration = Duration::from_secs(60);

    pub fn new() -> Self {
        Backoff {
            current: Self::INITIAL,
        }
    }

    /// The wait before the next attempt.
    pub fn next_wait(&mut self) -> Duration {
        let mut b = [0u8; 8];
        let r = match getrandom::fill(&mut b) {
            Ok(()) => (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64,
            Err(_) => 0.5,
        };
        let base = self.current.as_secs_f64();
        let wait = base * (0.5 + r);
        self.current = Self::MAX.min(self.current.mul_f64(1.5));
        Duration::from_secs_f64(wait)
    }
}

/// Dedup, delivery and logging for one integration; `true` when nothing is left to do
/// (notified, or nothing new), `false` when the notification failed.
pub(crate) async fn integration_stage(
    core: Arc<Core>,
    group: Arc<GroupCtx>,
    notify: Arc<NotifyCtx>,
    integration: Arc<Integration>,
    alerts: Arc<[Alert]>,
    deadline: Instant,
) -> bool {
    let mut firing = Vec::new();
    let mut resolved = Vec::new();
    for a in alerts.iter() {
        if is_resolved(a) {
            resolved.push(a.fingerprint());
        } else {
            firing.push(a.fingerprint());
        }
    }
    let firing_set: HashSet<Fingerprint> = firing.iter().copied().collect();
    let resolved_set: HashSet<Fingerprint> = resolved.iter().copied().collect();
    let entry = core
        .nflog
        .query(&group.group_key, &integration.nflog_receiver);
    let now = core.clock.now_ms();
    let repeat = group.opts.repeat_interval_ms;
    if !needs_update(
        entry.as_ref(),
        &firing_set,
        &resolved_set,
        integration.send_resolved,
        repeat,
        now,
    ) {
        return true;
    }
    core.metrics.notification(integration.name);
    let log = |core: &Core| {
        core.nflog.log(
            &integration.nflog_receiver,
            &group.group_key,
            firing.clone(),
            resolved.clone(),
            repeat.saturating_mul(2),
        );
    };
    // Without send_resolved, resolved alerts are left out; a notification of only resolved
    // alerts is not sent but still logged, so that dedup sees the group as cleared.
    let sent: Cow<'_, [Alert]> = if integration.send_resolved || resolved.is_empty() {
        Cow::Borrowed(&alerts)
    } else {
        if firing.is_empty() {
            log(&core);
            return true;
        }
        alerts.iter().filter(|a| !is_resolved(a)).cloned().collect()
    };
    if deliver(&core, &group, &notify, &integration, &sent, deadline).await {
        log(&core);
        true
    } else {
        core.metrics.failed(&group.receiver, integration.name);
        false
    }
}

/// Attempts delivery until success, a permanent failure, or `deadline` (the group's next
/// flush). Returns whether it was delivered.
async fn deliver(
    core: &Core,
    group: &GroupCtx,
    notify: &NotifyCtx,
    integration: &Integration,
    alerts: &[Alert],
    deadline: Instant,
) -> bool {
    let label = integration.label();
    let mut backoff = Backoff::new();
    let mut last_error: Option<String> = None;
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let started = Instant::now();
        let remaining = deadline.saturating_duration_since(started);
        let outcome = if remaining.is_zero() {
            Err(crate::receivers::Failure::retryable("deadline reached"))
        } else {
            match tokio::time::timeout(remaining, integration.notify(notify, alerts)).await {
                Ok(r) => r,
                Err(_) => Err(crate::receivers::Failure::retryable(
                    "timed out before the group's next flush",
                )),
            }
        };
        core.metrics.request(
            integration.name,
            started.elapsed().as_secs_f64(),
            outcome.is_ok(),
        );
        let now = core.clock.now_ms();
        match outcome {
            Ok(()) => {
                core.record_status(&integration.nflog_receiver, now, None);
                if attempts > 1 {
                    info!(receiver = %group.receiver, integration = %label, attempts, "notify success");
                } else {
                    debug!(receiver = %group.receiver, integration = %label, "notify success");
                }
                return true;
            }
            Err(f) => {
                core.record_status(&integration.nflog_receiver, now, Some(f.reason.clone()));
                if !f.retryable {
                    error!(
                        receiver = %group.receiver,
                        integration = %label,
                        attempts,
                        error = %f.reason,
                        "notify failed with an unrecoverable error"
                    );
                    return false;
                }
                if last_error.as_deref() != Some(f.reason.as_str()) {
                    warn!(
                        receiver = %group.receiver,
                        integration = %label,
                        attempts,
                        error = %f.reason,
                        "notify attempt failed, will retry"
                    );
                }
                last_error = Some(f.reason);
            }
        }
        let wait = backoff.next_wait();
        if Instant::now() + wait >= deadline {
            error!(
                receiver = %group.receiver,
                integration = %label,
                attempts,
                error = last_error.as_deref().unwrap_or(""),
                "notify retry canceled at the group's next flush"
            );
            return false;
        }
        tokio::time::sleep(wait).await;
    }
}

impl Core {
    /// Remembers the outcome of an attempt for [`crate::Alertmanager::integration_status`].
    pub(crate) fn record_status(
        &self,
        key: &crate::nflog::NflogReceiver,
        now: Timestamp,
        error: Option<String>,
    ) {
        let mut m = self.integration_status.lock();
        let s = m.entry(key.clone()).or_insert_with(|| IntegrationStatus {
            receiver: key.receiver.clone(),
            integration: key.integration.clone(),
            index: key.index,
            last_attempt: None,
            last_success: None,
            last_error: None,
        });
        s.last_attempt = Some(now);
        match error {
            None => {
                s.last_success = Some(now);
                s.last_error = None;
            }
            Some(e) => s.last_error = Some(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nflog::NflogReceiver;

    fn entry(firing: &[u64], resolved: &[u64], ts: Timestamp) -> NflogEntry {
        NflogEntry {
            group_key: "g".into(),
            receiver: NflogReceiver {
                receiver: "r".into(),
                integration: "webhook".into(),
                index: 0,
            },
            timestamp: ts,
            firing: firing.iter().map(|f| Fingerprint(*f)).collect(),
            resolved: resolved.iter().map(|f| Fingerprint(*f)).collect(),
            expires_at: i64::MAX,
        }
    }

    fn set(v: &[u64]) -> HashSet<Fingerprint> {
        v.iter().map(|f| Fingerprint(*f)).collect()
    }

    /// The cases of Alertmanager's `TestDedupStageNeedsUpdate`.
    #[test]
    fn needs_update_matches_alertmanager() {
        let now: Timestamp = 1_000_000;
        let r: u64 = 10_000;
        assert!(needs_update(
            None,
            &set(&[2, 3, 4]),
            &set(&[]),
            false,
            r,
            now
        ));
        assert!(!needs_update(None, &set(&[]), &set(&[2]), true, r, now));
        // New firing alert.
        let e = entry(&[1, 2, 3], &[], now);
        assert!(needs_update(
            Some(&e),
            &set(&[2, 3, 4]),
            &set(&[]),
            false,
            r,
            now
        ));
        // Same firing set within the repeat interval.
        assert!(!needs_update(
            Some(&e),
            &set(&[1, 2, 3]),
            &set(&[]),
            false,
            r,
            now
        ));
        // Fewer firing: nothing new to say.
        assert!(!needs_update(
            Some(&e),
            &set(&[1, 2]),
            &set(&[3]),
            false,
            r,
            now
        ));
        // ... unless resolved alerts are sent.
        assert!(needs_update(
            Some(&e),
            &set(&[1, 2]),
            &set(&[3]),
            true,
            r,
            now
        ));
        // Repeat interval elapsed.
        let old = entry(&[1, 2, 3], &[], now - 10_001);
        assert!(needs_update(
            Some(&old),
            &set(&[1, 2, 3]),
            &set(&[]),
            false,
            r,
            now
        ));
        // All resolved: notify once, whatever send_resolved says.
        assert!(needs_update(
            Some(&e),
            &set(&[]),
            &set(&[1, 2, 3]),
            false,
            r,
            now
        ));
        let cleared = entry(&[], &[1, 2, 3], now);
        assert!(!needs_update(
            Some(&cleared),
            &set(&[]),
            &set(&[1, 2, 3]),
            true,
            r,
            now
        ));
        // Resolved already reported.
        let partial = entry(&[1, 2], &[3], now);
        assert!(!needs_update(
            Some(&partial),
            &set(&[1, 2]),
            &set(&[3]),
            true,
            r,
            now
        ));
    }

    #[test]
    fn backoff_grows_with_jitter() {
        let mut b = Backoff::new();
        let first = b.next_wait();
        assert!(first >= Duration::from_millis(250) && first <= Duration::from_millis(750));
        for _ in 0..30 {
            assert!(b.next_wait() <= Duration::from_secs(90));
        }
    }
}
