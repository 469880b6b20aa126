//! gerbang-relay: the relay server. Its own issue builds the event log, the WebSocket hub and the
//! HTTP API here; for now the crate only fixes its place in the workspace.
