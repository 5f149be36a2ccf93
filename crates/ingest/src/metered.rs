//! A request body that takes its share of the [`UploadBudget`] as its bytes
//! arrive: each chunk acquires its KiB before it is handed on, so a client
//! that declares a huge `Content-Length` and sends nothing holds nothing.
//!
//! [`UploadBudget::meter`] wraps a body and returns the [`UploadMeter`]
//! that holds what the body took; the handler keeps the meter until its
//! work on the body is done (photos decoded and stored), and the budget is
//! given back when the meter and the body are both dropped.
//!
//! A meter may start unarmed ([`UploadBudget::meter_unarmed`]): it counts
//! bytes but takes nothing until [`UploadMeter::arm`] (after the client is
//! authenticated), which then takes the KiB already seen at once.

use crate::limit::{kib, UploadBudget, BUDGET_WAIT};
use crate::Error;
use axum::body::Body;
use bytes::Bytes;
use futures::{Stream, StreamExt};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{AcquireError, OwnedSemaphorePermit};

/// What one request holds of the upload budget.
#[derive(Clone, Debug)]
pub struct UploadMeter {
    /// The budget taken from.
    budget: UploadBudget,
    /// Shared with the metered body.
    held: Arc<Mutex<Held>>,
}

/// A meter's state. The reserve is given back before the lane.
#[derive(Debug, Default)]
struct Held {
    /// The permits taken from the shared part (one merged permit).
    permit: Option<OwnedSemaphorePermit>,
    /// The permits taken from the reserve (lane holder only).
    reserve: Option<OwnedSemaphorePermit>,
    /// The lane, once the shared part ran out while this body was read.
    lane: Option<OwnedSemaphorePermit>,
    /// KiB in `permit` and `reserve`.
    kib: u32,
    /// Body bytes seen so far.
    bytes: usize,
    /// Whether chunks take from the budget (after authentication).
    armed: bool,
    /// Set when the budget could not be had in time.
    busy: bool,
}

impl UploadBudget {
    /// `body`, taking from this budget as it is read, and its meter.
    pub fn meter(&self, body: Body) -> (Body, UploadMeter) {
        self.metered(body, true)
    }

    /// The same, counting bytes but taking nothing until
    /// [`UploadMeter::arm`].
    pub fn meter_unarmed(&self, body: Body) -> (Body, UploadMeter) {
        self.metered(body, false)
    }

    fn metered(&self, body: Body, armed: bool) -> (Body, UploadMeter) {
        let meter = UploadMeter {
            budget: self.clone(),
            held: Arc::new(Mutex::new(Held {
                armed,
                ..Held::default()
            })),
        };
        let stream = metered_stream(body.into_data_stream(), meter.clone());
        (Body::from_stream(stream), meter)
    }
}

/// Each chunk of `inner`, handed on once `meter` took its KiB.
fn metered_stream(
    inner: impl Stream<Item = Result<Bytes, axum::Error>> + Send + Unpin + 'static,
    meter: UploadMeter,
) -> impl Stream<Item = Result<Bytes, axum::Error>> + Send + 'static {
    futures::stream::unfold((inner, meter), |(mut inner, meter)| async move {
        let chunk = match inner.next().await? {
            Ok(chunk) => chunk,
            Err(e) => return Some((Err(e), (inner, meter))),
        };
        let taken = meter.take(chunk.len()).await;
        Some((
            taken.map(|()| chunk).map_err(axum::Error::new),
            (inner, meter),
        ))
    })
}

impl UploadMeter {
    /// Starts taking from the budget: the KiB seen so far at once (waiting
    /// in turn up to 30 s, then [`Error::Busy`]), then every chunk's.
    pub async fn arm(&self) -> Result<(), Error> {
        self.lock().armed = true;
        self.take(0).await
    }

    /// KiB held right now.
    pub fn held_kib(&self) -> u32 {
        self.lock().kib
    }

    /// Body bytes seen so far.
    pub fn bytes_seen(&self) -> usize {
        self.lock().bytes
    }

    /// Whether the budget could not be had in time (reading the body then
    /// fails; answer [`Error::Busy`]).
    pub fn busy(&self) -> bool {
        self.lock().busy
    }

    /// Why reading the body failed, if the meter is the reason
    /// ([`Error::Busy`]); otherwise `read_error` as it is.
    pub fn explain(&self, read_error: Error) -> Error {
        if self.busy() {
            Error::Busy
        } else {
            read_error
        }
    }

    /// Counts `n` more bytes and, if armed, tops the permits up to them
    /// (never beyond one request's most: the body limit refuses the rest).
    async fn take(&self, n: usize) -> Result<(), Error> {
        let want = {
            let mut held = self.lock();
            held.bytes = held.bytes.saturating_add(n);
            if !held.armed {
                return Ok(());
            }
            let target = kib(held.bytes).min(self.budget.max_request_kib);
            target.saturating_sub(held.kib)
        };
        if want == 0 {
            return Ok(());
        }
        match tokio::time::timeout(BUDGET_WAIT, self.acquire(want)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) | Err(_) => {
                self.lock().busy = true;
                metrics::counter!("civicprobe_ingest_upload_budget_timeouts_total").increment(1);
                Err(Error::Busy)
            }
        }
    }

    /// `want` KiB: from the shared part, or else from the reserve once
    /// this upload holds the lane (waiting in turn for it).
    async fn acquire(&self, want: u32) -> Result<(), AcquireError> {
        let budget = &self.budget;
        if self.lock().lane.is_none() {
            tokio::select! {
                biased;
                shared = budget.permits.clone().acquire_many_owned(want) => {
                    let mut held = self.lock();
                    held.kib += want;
                    merge(&mut held.permit, shared?);
                    return Ok(());
                }
                lane = budget.lane.clone().acquire_owned() => self.lock().lane = Some(lane?),
            }
        }
        let reserve = budget.reserve.clone().acquire_many_owned(want).await?;
        let mut held = self.lock();
        held.kib += want;
        merge(&mut held.reserve, reserve);
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, Held> {
        self.held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn merge(into: &mut Option<OwnedSemaphorePermit>, permit: OwnedSemaphorePermit) {
    match into {
        Some(p) => p.merge(permit),
        None => *into = Some(permit),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::channel::mpsc;
    use std::time::Duration;

    type Sender = mpsc::UnboundedSender<Result<Bytes, std::io::Error>>;

    /// A body fed by hand, metered from `budget`.
    fn fed(budget: &UploadBudget, armed: bool) -> (Sender, Body, UploadMeter) {
        let (tx, rx) = mpsc::unbounded();
        let body = Body::from_stream(rx);
        let (body, meter) = if armed {
            budget.meter(body)
        } else {
            budget.meter_unarmed(body)
        };
        (tx, body, meter)
    }

    async fn next(stream: &mut axum::body::BodyDataStream) -> Option<Result<Bytes, axum::Error>> {
        tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("a chunk in time")
    }

    #[tokio::test]
    async fn a_declared_length_takes_nothing_only_arriving_bytes_do() {
        let budget = UploadBudget::new(64 * 1024, 32 * 1024);
        let (tx, body, meter) = fed(&budget, true);
        let mut stream = body.into_data_stream();
        assert_eq!(budget.available_kib(), 64, "nothing taken before a byte");
        tx.unbounded_send(Ok(Bytes::from(vec![1; 1500]))).unwrap();
        assert_eq!(next(&mut stream).await.unwrap().unwrap().len(), 1500);
        assert_eq!((meter.held_kib(), budget.available_kib()), (2, 62));
        tx.unbounded_send(Ok(Bytes::from(vec![1; 548]))).unwrap();
        next(&mut stream).await.unwrap().unwrap();
        assert_eq!(meter.held_kib(), 2, "2048 bytes are still 2 KiB");
        tx.unbounded_send(Ok(Bytes::from(vec![1; 1]))).unwrap();
        next(&mut stream).await.unwrap().unwrap();
        assert_eq!(meter.held_kib(), 3);
        drop((tx, stream));
        assert_eq!(budget.available_kib(), 61, "held while the meter lives");
        drop(meter);
        assert_eq!(budget.available_kib(), 64);
    }

    #[tokio::test]
    async fn a_chunk_waits_for_room_before_it_is_handed_on() {
        let budget = UploadBudget::new(8 * 1024, 8 * 1024);
        let (tx1, body1, meter1) = fed(&budget, true);
        let mut first = body1.into_data_stream();
        tx1.unbounded_send(Ok(Bytes::from(vec![0; 6 * 1024])))
            .unwrap();
        next(&mut first).await.unwrap().unwrap();
        let (tx2, body2, meter2) = fed(&budget, true);
        let mut second = body2.into_data_stream();
        tx2.unbounded_send(Ok(Bytes::from(vec![0; 4 * 1024])))
            .unwrap();
        let waiting = tokio::spawn(async move { (second.next().await, second) });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "only 2 KiB are free");
        drop((first, meter1, tx1));
        let (chunk, _second) = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("in time")
            .unwrap();
        assert_eq!(chunk.unwrap().unwrap().len(), 4096);
        assert_eq!(meter2.held_kib(), 4);
        assert_eq!(budget.available_kib(), 4);
    }

    #[tokio::test]
    async fn partly_received_uploads_cannot_wait_on_each_other_for_ever() {
        // 4 KiB shared, a 4 KiB reserve.
        let budget = UploadBudget::new(8 * 1024, 4 * 1024);
        let (tx_a, body_a, meter_a) = fed(&budget, true);
        let (tx_b, body_b, meter_b) = fed(&budget, true);
        let (mut a, mut b) = (body_a.into_data_stream(), body_b.into_data_stream());
        let send =
            |tx: &Sender, kib: usize| tx.unbounded_send(Ok(Bytes::from(vec![0; kib * 1024])));
        send(&tx_a, 3).unwrap();
        next(&mut a).await.unwrap().unwrap();
        send(&tx_b, 1).unwrap();
        next(&mut b).await.unwrap().unwrap();
        // The shared part is gone; A finishes on the reserve.
        send(&tx_a, 1).unwrap();
        next(&mut a).await.unwrap().unwrap();
        assert_eq!((meter_a.held_kib(), budget.available_kib()), (4, 3));
        send(&tx_b, 3).unwrap();
        let waiting = tokio::spawn(async move { (b.next().await, b) });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "the reserve is A's");
        drop((a, meter_a, tx_a));
        let (chunk, _b) = waiting.await.unwrap();
        chunk.unwrap().unwrap();
        assert_eq!((meter_b.held_kib(), budget.available_kib()), (4, 4));
        drop(tx_b);
    }

    #[tokio::test]
    async fn an_unarmed_meter_counts_and_takes_what_it_saw_when_armed() {
        let budget = UploadBudget::new(64 * 1024, 16 * 1024);
        let (tx, body, meter) = fed(&budget, false);
        let mut stream = body.into_data_stream();
        tx.unbounded_send(Ok(Bytes::from(vec![0; 3000]))).unwrap();
        next(&mut stream).await.unwrap().unwrap();
        assert_eq!((meter.bytes_seen(), budget.available_kib()), (3000, 64));
        meter.arm().await.unwrap();
        assert_eq!(budget.available_kib(), 61);
        tx.unbounded_send(Ok(Bytes::from(vec![0; 1024]))).unwrap();
        next(&mut stream).await.unwrap().unwrap();
        assert_eq!(meter.held_kib(), 4);
    }

    #[tokio::test]
    async fn one_request_never_holds_more_than_the_body_limit() {
        let budget = UploadBudget::new(64 * 1024, 4 * 1024);
        let (tx, body, meter) = fed(&budget, true);
        let mut stream = body.into_data_stream();
        for _ in 0..3 {
            tx.unbounded_send(Ok(Bytes::from(vec![0; 3 * 1024])))
                .unwrap();
            next(&mut stream).await.unwrap().unwrap();
        }
        assert_eq!(meter.held_kib(), 4);
    }

    #[tokio::test]
    async fn a_body_error_is_passed_on_and_nothing_is_taken_for_it() {
        let budget = UploadBudget::new(64 * 1024, 16 * 1024);
        let (tx, body, meter) = fed(&budget, true);
        let mut stream = body.into_data_stream();
        tx.unbounded_send(Err(std::io::Error::other("reset")))
            .unwrap();
        assert!(next(&mut stream).await.unwrap().is_err());
        assert_eq!(meter.held_kib(), 0);
        assert!(matches!(
            meter.explain(Error::invalid("body", "x")),
            Error::InvalidField { .. }
        ));
    }
}
