//! QED server library (being written).
