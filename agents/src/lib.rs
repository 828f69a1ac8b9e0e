//! QED agents and client library (being written).
