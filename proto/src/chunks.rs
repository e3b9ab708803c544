//! Streaming an aggregate answer: cells in chunks, the member statuses last.
//!
//! Node and hub answer `Aggregate` the same way, so a client reads either
//! alike: every chunk holds at most [`CHUNK`] cells, and only the last one
//! carries the statuses (an empty answer is one chunk with the statuses).

use tokio::sync::mpsc;
use tonic::Status;

use crate::pb;

/// Cells per streamed aggregate chunk.
pub const CHUNK: usize = 500;

/// Streams chunks of cells, then the statuses, into `tx`.
pub async fn send_chunks(
    tx: &mpsc::Sender<Result<pb::AggregateChunk, Status>>,
    cells: Vec<pb::Cell>,
    members: Vec<pb::MemberStatus>,
) {
    let mut cells = cells.into_iter().peekable();
    loop {
        let chunk: Vec<pb::Cell> = cells.by_ref().take(CHUNK).collect();
        let last = cells.peek().is_none();
        let message = pb::AggregateChunk {
            cells: chunk,
            members: if last { members.clone() } else { Vec::new() },
        };
        // A client that went away ends the stream; nothing else to do.
        if tx.send(Ok(message)).await.is_err() || last {
            return;
        }
    }
}
