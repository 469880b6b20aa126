//! End-to-end: gate stores on real SQLite files and a real relay over real sockets.

mod offline_gates;
