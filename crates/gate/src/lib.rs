//! gerbang-gate (being written).
