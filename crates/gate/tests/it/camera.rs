//! The camera service, without a camera: recorded and scripted sources through the same
//! threads, mailbox, de-duplication and previews as a webcam, on a manual clock; and nokhwa
//! itself up to "no camera found" (CI has none).

use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use gerbang_gate::camera::{
    list_cameras, CameraChoice, CameraConfig, CameraService, CameraStatus, Clock, Frame,
    FrameReader, FrameSource, ManualClock, NokhwaSource, Pace, PreviewConfig, ReplayFrame,
    ReplaySource, SourceError, SourceInfo,
};
use gerbang_gate::decode::corpus::{sample, Case};
use gerbang_gate::decode::{Decoder, Found, LumaFrame};

/// Waits for `condition`, checking every millisecond, failing after 20 s.
fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn wait_status(
    service: &CameraService,
    what: &str,
    mut matches: impl FnMut(&CameraStatus) -> bool,
) -> CameraStatus {
    let status = service.status();
    wait_for(what, || matches(&status.borrow()));
    let now = status.borrow().clone();
    now
}

const FRAME: Duration = Duration::from_nanos(33_333_334);

/// A small frame filled with `value`: scripted readers tell frames apart by it.
fn flat(value: u8) -> ReplayFrame {
    ReplayFrame::Luma {
        width: 64,
        height: 36,
        pixels: vec![value; 64 * 36],
    }
}

/// Reads "codes" from flat frames: value 0 is no code, value v is code "T-v" (two codes for
/// values over 200: "T-v" and "B"). Records every value it saw.
#[derive(Clone, Default)]
struct Scripted {
    seen: Arc<Mutex<Vec<u8>>>,
}

impl FrameReader for Scripted {
    fn read(&mut self, frame: &LumaFrame<'_>) -> Vec<Found> {
        let v = frame.row(0)[0];
        self.seen.lock().unwrap().push(v);
        let code = |text: String| Found {
            text,
            corners: [(8.0, 4.0), (24.0, 4.0), (24.0, 20.0), (8.0, 20.0)],
        };
        match v {
            0 => vec![],
            v if v > 200 => vec![code(format!("T-{v}")), code("B".into())],
            v => vec![code(format!("T-{v}"))],
        }
    }
}

/// A reader that holds each frame until the test lets it go.
struct Gated {
    seen: Arc<Mutex<Vec<u8>>>,
    go: mpsc::Receiver<()>,
}

impl FrameReader for Gated {
    fn read(&mut self, frame: &LumaFrame<'_>) -> Vec<Found> {
        self.seen.lock().unwrap().push(frame.row(0)[0]);
        let _ = self.go.recv();
        Vec::new()
    }
}

fn manual_config() -> CameraConfig {
    CameraConfig {
        retry_every: Duration::from_secs(2),
        ..CameraConfig::default()
    }
}

/// Moves the manual clock once the capture thread waits on it (for its next frame or retry).
fn step(clock: &ManualClock, by: Duration) {
    wait_for("the capture thread to wait on the clock", || {
        clock.sleepers() >= 1
    });
    clock.advance(by);
}

#[test]
fn a_slow_decoder_reads_the_newest_frame_and_never_a_backlog() {
    let clock = ManualClock::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (go, gate) = mpsc::channel();
    let frames = (1..=8).map(flat).collect();
    let service = CameraService::start_with(
        manual_config(),
        move || ReplaySource::new("recording", frames),
        Box::new(Gated {
            seen: seen.clone(),
            go: gate,
        }),
        Clock::manual(&clock),
    )
    .unwrap();
    // Frame 1 comes at once and the decoder sits on it.
    wait_for("the first frame in the decoder", || {
        seen.lock().unwrap().len() == 1
    });
    // Five more frames arrive while it is busy.
    for captured in 2..=6 {
        step(&clock, FRAME);
        wait_for("a frame captured", || service.stats().captured == captured);
    }
    go.send(()).unwrap();
    wait_for("the decoder's next frame", || {
        seen.lock().unwrap().len() == 2
    });
    // It went straight to the newest; frames 2 to 5 were dropped, never queued.
    assert_eq!(*seen.lock().unwrap(), [1, 6]);
    assert_eq!(service.stats().dropped, 4);
    go.send(()).unwrap();
    drop(go);
    service.stop();
}

#[test]
fn a_code_held_in_view_is_one_scan_until_it_has_been_gone_for_the_window() {
    let clock = ManualClock::new();
    let reader = Scripted::default();
    // Code 7, then codes 207 and B, code 7, nothing, code 7, and code 7 after a long gap.
    let frames = vec![
        flat(7),
        flat(7),
        flat(207),
        flat(7),
        flat(0),
        flat(7),
        flat(7),
    ];
    let service = CameraService::start_with(
        manual_config(),
        move || ReplaySource::new("recording", frames),
        Box::new(reader),
        Clock::manual(&clock),
    )
    .unwrap();
    let mut codes = service.codes();
    wait_for("frame 1 decoded", || service.stats().decoded == 1);
    let gaps = [FRAME, FRAME, FRAME, FRAME, FRAME, Duration::from_secs(4)];
    for (decoded, gap) in (2..).zip(gaps) {
        step(&clock, gap);
        wait_for("the frame decoded", || service.stats().decoded == decoded);
    }
    let mut got = Vec::new();
    while let Ok(code) = codes.try_recv() {
        got.push((code.text, code.frame));
    }
    // Frames 2, 4 and 6 are the same sighting of code 7 (the empty frame 5 does not end it);
    // frame 7 came 4 s after it was last seen (frame 6): a new scan.
    assert_eq!(
        got,
        [
            ("T-7".to_owned(), 1),
            ("T-207".to_owned(), 3),
            ("B".to_owned(), 3),
            ("T-7".to_owned(), 7)
        ]
    );
    service.stop();
}

#[test]
fn previews_are_limited_to_max_fps_and_made_only_when_watched() {
    let clock = ManualClock::new();
    let frames: Vec<ReplayFrame> = (1..=31).map(|v| flat(v as u8)).collect();
    let run = |watch: bool| {
        let clock = clock.clone();
        let frames = frames.clone();
        let service = CameraService::start_with(
            CameraConfig {
                preview: PreviewConfig {
                    max_fps: 15,
                    ..PreviewConfig::default()
                },
                ..manual_config()
            },
            move || ReplaySource::new("recording", frames),
            Box::new(Scripted::default()),
            Clock::manual(&clock),
        )
        .unwrap();
        // Watched from frame 2 on (frame 1 may come before anyone watches).
        wait_for("frame 1 decoded", || service.stats().decoded == 1);
        let previews = watch.then(|| service.previews());
        for n in 2..=31 {
            step(&clock, FRAME);
            wait_for("the frame decoded", || service.stats().decoded == n);
        }
        let stats = service.stats();
        let last = previews.map(|p| p.borrow().clone().unwrap());
        service.stop();
        (stats.previews, last)
    };
    // 30 frames a second for a second: 15 previews (frames 2, 4, ... 30).
    let (made, last) = run(true);
    assert_eq!(made, 15);
    let last = last.unwrap();
    assert_eq!((last.width, last.height, last.frame), (64, 36, 30));
    assert_eq!(last.codes[0].text, "T-30");
    let (made, _) = run(false);
    assert_eq!(made, 0);
}

/// A source that follows a script of what each `open` returns, and delivers frames (or
/// failures) the test sends it.
struct Flaky {
    opens: Arc<Mutex<Vec<Result<(), SourceError>>>>,
    opened: Arc<Mutex<u32>>,
    closed: Arc<Mutex<u32>>,
    frames: mpsc::Receiver<Result<u8, SourceError>>,
}

impl FrameSource for Flaky {
    fn open(&mut self) -> Result<SourceInfo, SourceError> {
        *self.opened.lock().unwrap() += 1;
        let mut script = self.opens.lock().unwrap();
        let next = if script.is_empty() {
            Ok(())
        } else {
            script.remove(0)
        };
        next.map(|()| SourceInfo {
            name: "Flaky Cam".into(),
            width: 64,
            height: 36,
            fps: 30,
            format: gerbang_gate::camera::PixelFormat::Yuyv,
        })
    }

    fn next_frame(&mut self, frame: &mut Frame, _pace: &Pace) -> Result<(), SourceError> {
        match self.frames.recv() {
            Ok(Ok(v)) => frame
                .set_luma(&[v; 64 * 36], 64, 36)
                .map_err(|e| SourceError::BadFrame(e.to_string())),
            Ok(Err(e)) => Err(e),
            // The test is done with it.
            Err(_) => Err(SourceError::Stopped),
        }
    }

    fn close(&mut self) {
        *self.closed.lock().unwrap() += 1;
    }
}

#[test]
fn a_missing_busy_or_unplugged_camera_is_reported_and_retried() {
    let clock = ManualClock::new();
    let opens = Arc::new(Mutex::new(vec![
        Err(SourceError::NoCamera("No camera is connected.".into())),
        Err(SourceError::Busy("In use by another program.".into())),
    ]));
    let opened = Arc::new(Mutex::new(0));
    let closed = Arc::new(Mutex::new(0));
    let (frames_tx, frames) = mpsc::channel();
    let source = Flaky {
        opens,
        opened: opened.clone(),
        closed: closed.clone(),
        frames,
    };
    let service = CameraService::start_with(
        manual_config(),
        move || source,
        Box::new(Scripted::default()),
        Clock::manual(&clock),
    )
    .unwrap();
    wait_status(
        &service,
        "no camera",
        |s| matches!(s, CameraStatus::NoCamera { message } if message == "No camera is connected."),
    );
    // Waiting for the retry, on the clock: not a second attempt before it moves.
    wait_for("the retry wait", || clock.sleepers() == 1);
    assert_eq!(*opened.lock().unwrap(), 1);
    clock.advance(Duration::from_millis(1999));
    assert_eq!(*opened.lock().unwrap(), 1);
    clock.advance(Duration::from_millis(1));
    wait_status(&service, "busy", |s| matches!(s, CameraStatus::Busy { .. }));
    step(&clock, Duration::from_secs(2));
    let running = wait_status(&service, "running", |s| {
        matches!(s, CameraStatus::Running { .. })
    });
    assert_eq!(
        serde_json::to_value(&running).unwrap(),
        serde_json::json!({"state": "running", "camera": "Flaky Cam", "width": 64, "height": 36,
                           "format": "yuyv", "fps": 0.0})
    );
    // Frames flow; a second of them gives the measured rate.
    for _ in 0..30 {
        frames_tx.send(Ok(9)).unwrap();
    }
    wait_for("30 frames", || service.stats().captured == 30);
    clock.advance(Duration::from_secs(1));
    frames_tx.send(Ok(9)).unwrap();
    wait_status(
        &service,
        "the frame rate",
        |s| matches!(s, CameraStatus::Running { fps, .. } if *fps == 31.0),
    );
    // Unplugged: reported, the device closed, and opened again after the wait.
    frames_tx
        .send(Err(SourceError::Disconnected("It went away.".into())))
        .unwrap();
    wait_status(
        &service,
        "disconnected",
        |s| matches!(s, CameraStatus::Disconnected { message } if message == "It went away."),
    );
    assert_eq!(*closed.lock().unwrap(), 3);
    step(&clock, Duration::from_secs(2));
    wait_status(&service, "running again", |s| {
        matches!(s, CameraStatus::Running { .. })
    });
    assert_eq!(*opened.lock().unwrap(), 4);
    drop(frames_tx);
    service.stop();
}

#[test]
fn unreadable_frames_are_skipped_and_too_many_reopen_the_camera() {
    let clock = ManualClock::new();
    let opened = Arc::new(Mutex::new(0));
    let (frames_tx, frames) = mpsc::channel();
    let source = Flaky {
        opens: Arc::default(),
        opened: opened.clone(),
        closed: Arc::default(),
        frames,
    };
    let service = CameraService::start_with(
        manual_config(),
        move || source,
        Box::new(Scripted::default()),
        Clock::manual(&clock),
    )
    .unwrap();
    for _ in 0..59 {
        frames_tx
            .send(Err(SourceError::BadFrame("cut short".into())))
            .unwrap();
    }
    frames_tx.send(Ok(5)).unwrap();
    wait_for("the good frame decoded", || service.stats().decoded == 1);
    assert_eq!(service.stats().bad, 59);
    assert!(matches!(
        *service.status().borrow(),
        CameraStatus::Running { .. }
    ));
    for _ in 0..60 {
        frames_tx
            .send(Err(SourceError::BadFrame("cut short".into())))
            .unwrap();
    }
    let status = wait_status(&service, "an error", |s| {
        matches!(s, CameraStatus::Error { .. })
    });
    let CameraStatus::Error { message } = status else {
        unreachable!()
    };
    assert!(message.contains("cannot be read (cut short)"), "{message}");
    step(&clock, Duration::from_secs(2));
    wait_for("reopened", || *opened.lock().unwrap() == 2);
    drop(frames_tx);
    service.stop();
}

#[test]
fn corpus_frames_go_through_the_whole_path_as_jpeg_and_luma() {
    let clock = ManualClock::new();
    let code = sample(Case::Plain, 0);
    let empty = sample(Case::NoCode, 0);
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 85)
        .encode(&code.pixels, 1280, 720, image::ExtendedColorType::L8)
        .unwrap();
    let frames = vec![
        ReplayFrame::Luma {
            width: 1280,
            height: 720,
            pixels: empty.pixels,
        },
        ReplayFrame::Jpeg {
            width: 1280,
            height: 720,
            bytes: jpeg,
        },
    ];
    let service = CameraService::start_with(
        manual_config(),
        move || ReplaySource::new("corpus", frames),
        Box::new(Decoder::default()),
        Clock::manual(&clock),
    )
    .unwrap();
    let mut codes = service.codes();
    let previews = service.previews();
    wait_for("the empty frame decoded", || service.stats().decoded == 1);
    // Late enough for the next preview (at most 15 a second).
    step(&clock, Duration::from_millis(100));
    wait_for("the code frame decoded", || service.stats().decoded == 2);
    let scanned = codes.try_recv().unwrap();
    assert_eq!(scanned.text, code.texts[0]);
    assert_eq!(scanned.frame, 2);
    assert!(codes.try_recv().is_err(), "one code, once");
    // The preview is 640 px wide with the outline at half the frame's coordinates.
    let preview = previews.borrow().clone().unwrap();
    assert_eq!(
        (preview.width, preview.height, preview.frame),
        (640, 360, 2)
    );
    assert_eq!(preview.codes.len(), 1);
    for (p, f) in preview.codes[0].corners.iter().zip(scanned.corners) {
        assert!((p.0 - f.0 / 2.0).abs() < 0.01 && (p.1 - f.1 / 2.0).abs() < 0.01);
    }
    let image = image::load_from_memory(&preview.jpeg).unwrap();
    assert_eq!((image.width(), image.height()), (640, 360));
    // The recording ends, and says so.
    wait_status(&service, "ended", |s| *s == CameraStatus::Ended);
    service.stop();
}

#[test]
fn image_files_replay_through_the_service() {
    let dir = tempfile::tempdir().unwrap();
    let code = sample(Case::Plain, 1);
    let (png, jpg) = (dir.path().join("a.png"), dir.path().join("b.jpg"));
    image::GrayImage::from_raw(1280, 720, code.pixels.clone())
        .unwrap()
        .save(&png)
        .unwrap();
    image::GrayImage::from_raw(1280, 720, code.pixels.clone())
        .unwrap()
        .save(&jpg)
        .unwrap();
    let source = ReplaySource::from_files("files", &[&png, &jpg]).unwrap();
    let clock = ManualClock::new();
    let service = CameraService::start_with(
        CameraConfig {
            duplicate_window: Duration::ZERO,
            ..manual_config()
        },
        move || source,
        Box::new(Decoder::default()),
        Clock::manual(&clock),
    )
    .unwrap();
    let mut codes = service.codes();
    wait_for("the PNG decoded", || service.stats().decoded == 1);
    step(&clock, FRAME);
    wait_for("the JPEG decoded", || service.stats().decoded == 2);
    for _ in 0..2 {
        assert_eq!(codes.try_recv().unwrap().text, code.texts[0]);
    }
    service.stop();

    let missing = ReplaySource::from_files("files", &[dir.path().join("nope.png")]).unwrap_err();
    assert!(missing.to_string().contains("nope.png"), "{missing}");
}

#[test]
fn stopping_joins_the_threads_and_closes_the_streams() {
    // A looping recording on the real clock, stopped mid-stream.
    let frames = vec![flat(3), flat(0)];
    let service = CameraService::start_with(
        CameraConfig::default(),
        move || ReplaySource::new("loop", frames).looping(true).fps(100),
        Box::new(Scripted::default()),
        Clock::system(),
    )
    .unwrap();
    let mut codes = service.codes();
    let status = service.status();
    wait_for("a few frames", || service.stats().decoded >= 3);
    service.stop();
    assert_eq!(*status.borrow(), CameraStatus::Stopped);
    // The first sighting, then nothing more: the stream is closed.
    assert_eq!(codes.blocking_recv().unwrap().text, "T-3");
    assert!(matches!(
        codes.blocking_recv(),
        Err(tokio::sync::broadcast::error::RecvError::Closed)
    ));
}

/// A camera that never sends a frame: it waits on the service's clock, which a stop ends.
struct Waiting {
    closed: Arc<Mutex<u32>>,
}

impl FrameSource for Waiting {
    fn open(&mut self) -> Result<SourceInfo, SourceError> {
        Ok(SourceInfo {
            name: "Waiting Cam".into(),
            width: 64,
            height: 36,
            fps: 30,
            format: gerbang_gate::camera::PixelFormat::Mjpeg,
        })
    }

    fn next_frame(&mut self, _frame: &mut Frame, pace: &Pace) -> Result<(), SourceError> {
        pace.wait_until(Duration::MAX)?;
        Err(SourceError::Ended)
    }

    fn close(&mut self) {
        *self.closed.lock().unwrap() += 1;
    }
}

#[test]
fn dropping_the_service_closes_the_source_and_a_stuck_driver_does_not_hang_stop() {
    let closed = Arc::new(Mutex::new(0));
    let source = Waiting {
        closed: closed.clone(),
    };
    let service = CameraService::start_with(
        CameraConfig::default(),
        move || source,
        Box::new(Scripted::default()),
        Clock::system(),
    )
    .unwrap();
    wait_status(&service, "running", |s| {
        matches!(s, CameraStatus::Running { .. })
    });
    // Dropping stops and joins: by the time drop returns, the source was closed.
    drop(service);
    assert!(*closed.lock().unwrap() >= 1);

    // A driver that never returns a frame: stop waits `stop_wait`, then leaves the thread.
    let (stuck_tx, stuck) = mpsc::channel();
    let source = Flaky {
        opens: Arc::default(),
        opened: Arc::default(),
        closed: Arc::default(),
        frames: stuck,
    };
    let service = CameraService::start_with(
        CameraConfig {
            stop_wait: Duration::from_millis(20),
            ..CameraConfig::default()
        },
        move || source,
        Box::new(Scripted::default()),
        Clock::system(),
    )
    .unwrap();
    wait_status(&service, "running", |s| {
        matches!(s, CameraStatus::Running { .. })
    });
    let status = service.status();
    service.stop();
    assert_eq!(*status.borrow(), CameraStatus::Stopped);
    // The driver returns at last; the thread ends on its own without touching the status.
    drop(stuck_tx);
    assert_eq!(*status.borrow(), CameraStatus::Stopped);
}

#[test]
fn without_a_camera_nokhwa_reports_no_camera_and_keeps_looking() {
    // CI has no camera; a developer's machine may. Listing works either way.
    let cameras = list_cameras().unwrap();
    for camera in &cameras {
        assert!(!camera.name.is_empty());
    }
    // Camera number 9999 exists nowhere.
    let clock = ManualClock::new();
    let service = CameraService::start_with(
        manual_config(),
        || NokhwaSource::new(Some(CameraChoice::index(9999))),
        Box::new(Decoder::default()),
        Clock::manual(&clock),
    )
    .unwrap();
    let status = wait_status(&service, "no camera", |s| {
        matches!(s, CameraStatus::NoCamera { .. })
    });
    assert_eq!(
        serde_json::to_value(&status).unwrap(),
        serde_json::json!({"state": "no_camera", "message":
            "There is no camera number 9999. Plug it in or choose another camera; the gate keeps looking."})
    );
    // It looks again when the clock says so.
    step(&clock, Duration::from_secs(2));
    let status = service.status();
    service.stop();
    assert_eq!(*status.borrow(), CameraStatus::Stopped);
}

#[test]
fn the_chosen_camera_is_kept_in_the_gates_settings() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gate.sqlite3");
    let choice = CameraChoice {
        index: 2,
        name: Some("USB Cam".into()),
    };
    {
        let store = gerbang_gate::Store::open(&path).unwrap();
        assert_eq!(store.camera().unwrap(), None);
        store.set_camera(Some(&choice)).unwrap();
    }
    let store = gerbang_gate::Store::open(&path).unwrap();
    assert_eq!(store.camera().unwrap(), Some(choice));
    store.set_camera(None).unwrap();
    assert_eq!(store.camera().unwrap(), None);
}
