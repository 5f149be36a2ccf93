//! Answering core NATS requests (no stream holds them) until shutdown:
//! the tracker's answer to ingest's upload-scope question, an ingest's
//! answer to a tracker's report lookup. Each request is handed to a
//! function that gives the reply's body, or `None` to stay silent (the
//! asker's bound then says "no answer").

use std::future::Future;

/// Subscribes to `subject` (in `queue`, so that one member answers each
/// request, or else every subscriber sees it) and replies to each request
/// with what `answer` gives for its payload, until `shutdown` completes.
/// A message without a reply subject is skipped; a reply that cannot be
/// sent is logged.
pub async fn answer_requests<F, Fut>(
    client: async_nats::Client,
    subject: &'static str,
    queue: Option<&'static str>,
    shutdown: impl Future<Output = ()> + Send,
    mut answer: F,
) -> Result<(), async_nats::SubscribeError>
where
    F: FnMut(bytes::Bytes) -> Fut + Send,
    Fut: Future<Output = Option<Vec<u8>>> + Send,
{
    use futures::StreamExt;
    let mut asked = match queue {
        Some(queue) => client.queue_subscribe(subject, queue.to_owned()).await?,
        None => client.subscribe(subject).await?,
    };
    tokio::pin!(shutdown);
    loop {
        let message = tokio::select! {
            () = &mut shutdown => return Ok(()),
            next = asked.next() => match next {
                Some(message) => message,
                None => return Ok(()),
            },
        };
        let Some(reply) = message.reply else {
            continue;
        };
        let Some(body) = answer(message.payload).await else {
            continue;
        };
        if let Err(error) = client.publish(reply, body.into()).await {
            tracing::warn!(%error, subject, "the answer to a request was not sent");
        }
    }
}
