//! The single-slot mailbox between the capture thread and the decode thread.
//!
//! **Invariant: the decoder always reads the newest frame, and nothing queues.** The capture
//! thread puts each frame in the one slot, replacing a frame the decoder has not taken yet (that
//! one is dropped and counted); the decoder takes whatever is in the slot when it is free. A slow
//! decode therefore never builds a backlog: the frame it reads next is at most one frame
//! interval old. Buffers go round (the capture thread fills a spare, the replaced or decoded
//! frame becomes a spare), so three buffers serve the whole stream.

use std::sync::{Condvar, Mutex};

use super::frame::Frame;

/// Spare buffers kept for reuse: one being filled, one in the slot and one being decoded are
/// all the stream needs.
const SPARES: usize = 2;

#[derive(Debug, Default)]
pub(crate) struct Mailbox {
    state: Mutex<State>,
    /// Signalled when a frame is put in the slot or the mailbox closes.
    filled: Condvar,
}

#[derive(Debug, Default)]
struct State {
    slot: Option<Frame>,
    spares: Vec<Frame>,
    /// No more frames will come: the decode thread ends once the slot is empty.
    closed: bool,
    /// Frames replaced in the slot before the decoder took them.
    dropped: u64,
}

impl Mailbox {
    /// A buffer to fill: a spare if there is one.
    pub fn spare(&self) -> Frame {
        self.lock().spares.pop().unwrap_or_default()
    }

    /// Puts `frame` in the slot, replacing (and recycling) one the decoder did not take.
    pub fn put(&self, frame: Frame) {
        let mut state = self.lock();
        if let Some(old) = state.slot.replace(frame) {
            state.dropped += 1;
            recycle(&mut state, old);
        }
        drop(state);
        self.filled.notify_one();
    }

    /// Waits for a frame; `None` once the mailbox is closed and empty.
    pub fn take(&self) -> Option<Frame> {
        let mut state = self.lock();
        loop {
            if let Some(frame) = state.slot.take() {
                return Some(frame);
            }
            if state.closed {
                return None;
            }
            state = self
                .filled
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    /// Gives a frame's buffer back for reuse.
    pub fn recycle(&self, frame: Frame) {
        recycle(&mut self.lock(), frame);
    }

    /// Ends the stream: `take` returns what is in the slot, then `None`.
    pub fn close(&self) {
        self.lock().closed = true;
        self.filled.notify_all();
    }

    /// Frames dropped so far because a newer one replaced them.
    pub fn dropped(&self) -> u64 {
        self.lock().dropped
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the state half-changed (every change is
        // one assignment), so a poisoned lock is still good.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn recycle(state: &mut State, frame: Frame) {
    if state.spares.len() < SPARES {
        state.spares.push(frame);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(seq: u64) -> Frame {
        let mut f = Frame::new();
        f.seq = seq;
        f
    }

    #[test]
    fn the_decoder_gets_the_newest_frame_and_older_ones_are_dropped() {
        let mailbox = Mailbox::default();
        for seq in 1..=5 {
            mailbox.put(frame(seq));
        }
        assert_eq!(mailbox.take().unwrap().seq, 5);
        assert_eq!(mailbox.dropped(), 4);
        mailbox.put(frame(6));
        mailbox.close();
        // What is in the slot is still delivered after closing, then nothing.
        assert_eq!(mailbox.take().unwrap().seq, 6);
        assert!(mailbox.take().is_none());
    }

    #[test]
    fn buffers_are_reused_and_spares_are_bounded() {
        let mailbox = Mailbox::default();
        let mut big = Frame::new();
        big.set_luma(&[7; 64], 8, 8).unwrap();
        mailbox.recycle(big);
        // The spare comes back with its allocation.
        let spare = mailbox.spare();
        assert!(spare.data_capacity() >= 64);
        for _ in 0..10 {
            mailbox.recycle(Frame::new());
        }
        assert_eq!(mailbox.lock().spares.len(), SPARES);
    }

    #[test]
    fn a_waiting_decoder_wakes_for_a_frame_and_for_close() {
        let mailbox = std::sync::Arc::new(Mailbox::default());
        let taker = {
            let mailbox = mailbox.clone();
            std::thread::spawn(move || {
                let first = mailbox.take().map(|f| f.seq);
                let second = mailbox.take().map(|f| f.seq);
                (first, second)
            })
        };
        mailbox.put(frame(1));
        // The taker either took frame 1 or is about to; closing must not lose it.
        mailbox.close();
        assert_eq!(taker.join().unwrap(), (Some(1), None));
    }
}
